"""Is our Fréchet distance a usable judge of generated digits? Its floor, its sanity ladder, and
where the generative pipeline's champion sits between them (issue 14, deliverable 5).

In the features of the judge `pipelines/generative.yaml` names (the mnist pipeline's LeNet-5,
frozen), against the real training digits of the generative pipeline's prepared data:
the floor (the real test digits: two samples of real images are never at 0), the test digits
under each corruption of `mastery.evaluation.frechet.CORRUPTIONS` at rising levels (each rung
must sit above the last), and, when the pipeline has been run, its champion's samples, drawn
as evaluation draws them (seeded noise, one per test digit, asking for its class), with the
judge's accuracy on them beside its accuracy on the real test digits. Ratios are to the floor.

    mastery train -p mnist && mastery ingest|validate|prepare|train|evaluate|promote -p generative
    OMP_NUM_THREADS=1 python benchmarks/frechet.py
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="champion", help="the registered generator to place on the ladder")
    version = parser.parse_args().version

    from mastery.data.prepare import PreparedData
    from mastery.evaluation.frechet import CORRUPTIONS, Judge, frechet_distance
    from mastery.steps.context import load_context

    ctx = load_context("generative", REPO)
    judge = Judge(REPO / ctx.spec.task.judge)
    splits = PreparedData.load(ctx.paths.prepared).splits
    train, test = splits["train"]["image"], splits["test"]["image"]
    reference = judge.read(train)[0]
    floor = frechet_distance(reference, judge.read(test)[0])
    rows = [("real test digits (the floor)", "", floor)]
    for name, (corrupt, levels) in CORRUPTIONS.items():
        for level in levels:
            corrupted = corrupt(test, level, torch.Generator().manual_seed(0))
            rows.append((f"test digits, {name}", f"{level:g}", frechet_distance(reference, judge.read(corrupted)[0])))
    rows += generator_rows(ctx, reference, version)
    print(f"# Fréchet distance in {ctx.spec.task.judge}'s features, to {len(train):,} real training digits "
          f"({len(test):,} test digits; {platform.processor() or platform.machine()}, torch {torch.__version__})")
    print("| images | level | Fréchet distance | / floor |\n|---|---|---|---|")
    for name, level, value in rows:
        print(f"| {name} | {level} | {value:.2f} | {value / floor:.2f} |")
    ladders = {name: [v for n, _, v in rows if n == f"test digits, {name}"] for name in CORRUPTIONS}
    monotonic = {name: all(a < b for a, b in zip([floor, *values], values)) for name, values in ladders.items()}
    print(json.dumps({"floor": floor, "monotonic": monotonic}))


def generator_rows(ctx, reference, version: str) -> list[tuple[str, str, float]]:
    """A registered generator's samples (the champion's by default), scored as the gate scores
    them, per class too; none before the pipeline has registered one."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mastery.data.prepare import PreparedData
    from mastery.evaluation.frechet import frechet_distance
    from mastery.tracking import aliases
    from mastery.tracking.mlflow_runs import use_store
    from mastery.tracking.registry import load_version
    from mastery.training.inference import predict

    use_store(ctx.params.tracking)
    try:
        if version == aliases.CHAMPION and aliases.current_champion(MlflowClient(), ctx.spec.registered_model) is None:
            return []
    except MlflowException:  # not registered yet
        return []
    model, _, found = load_version(ctx.spec.registered_model, version)
    test = PreparedData.load(ctx.paths.prepared).splits["test"]
    samples = predict(model, ctx.task, test)
    scores = ctx.task.score(samples, test, {})
    flat = scores.flat()
    print(f"v{found.version}: judged accuracy {flat['test_judged_accuracy']:.4f} (the judge on real test digits "
          f"{flat['test_judge_accuracy']:.4f}), class spread {flat['test_class_spread']:.4f}; per class, judged / judge's:")
    print(", ".join(f"{name} {row['judged_accuracy']:.2f}/{row['judge_accuracy']:.2f}" for name, row in scores.per_class().items()))
    return [(f"v{found.version}'s samples", "", frechet_distance(reference, ctx.task.judge.read(samples)[0]))]


if __name__ == "__main__":
    main()
