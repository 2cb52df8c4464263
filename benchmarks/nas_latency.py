"""Does the searched net win the latency serving pays, or only the one the search times?
(issue 15, item 2)

The trained candidates of `pipelines/fashion_nas.yaml` (LeNet-5 and the NAS choice), timed at
batch 1 on one thread, side by side in interleaved rounds, in the two forms they run in: the
eager inference form `mastery nas` and the zoo time (PyTorch, batch-norm folded), and the fp32
ONNX export in the ONNX Runtime session `mastery serve` opens. Ratios are to the first candidate.

    mastery ingest|validate|prepare|nas|train -p fashion_nas
    python benchmarks/nas_latency.py [--rounds 30]
"""

from __future__ import annotations

import platform
import tempfile
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="fashion_nas")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    from mastery.data.prepare import PreparedData
    from mastery.evaluation.cost import (
        count_parameters,
        interleaved_medians_ms,
        measure_latencies_ms,
    )
    from mastery.models.artifact import load_trained
    from mastery.steps.context import load_context

    ctx = load_context(args.pipeline, REPO)
    names = [c.name for c in ctx.candidates]
    models = [load_trained(ctx.paths.candidate(name))[0] for name in names]
    test = PreparedData.load(ctx.paths.prepared).splits["test"]
    example = ctx.task.example(test)
    eager = measure_latencies_ms(models, example, rounds=args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        sessions = [served_session(ctx.task, model, test, Path(tmp) / f"{name}.onnx")
                    for name, model in zip(names, models, strict=True)]
        feeds = dict(zip(ctx.task.inputs, (x.numpy() for x in example), strict=True))
        served = interleaved_medians_ms([partial(s.run, None, feeds) for s in sessions], args.rounds, warmup=50)
    print(f"# Batch-1 latency, one thread, {args.rounds} interleaved rounds of 10 "
          f"({platform.processor() or platform.machine()}, torch {torch.__version__})")
    print("| candidate | parameters | eager, BN folded (ms) | ratio | ONNX Runtime fp32 (ms) | ratio |\n|---|---|---|---|---|---|")
    for name, model, e, s in zip(names, models, eager, served, strict=True):
        print(f"| {name} | {count_parameters(model):,} | {e:.3f} | {e / eager[0]:.2f} | {s:.3f} | {s / served[0]:.2f} |")


def served_session(task, model, split, path: Path):
    """The model exported as `mastery export` exports it, in the session `mastery serve` opens."""
    from mastery.export import export_onnx
    from mastery.serving.model import serving_session

    example = dict(zip(task.inputs, task.example(split, 5), strict=True))
    return serving_session(export_onnx(model, example, task.dynamic_dims(), task.output, path, {}).read_bytes())


if __name__ == "__main__":
    main()
