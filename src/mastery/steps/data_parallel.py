"""Train one candidate on N processes (`train.processes` in the spec): the train step launches
them with torchrun, each rank rebuilds the same trainer (`build_trainer`) and fits its share
of every batch (`mastery.training.distributed`); rank 0 logs the epochs to the candidate's
MLflow run and writes the checkpoints, so a killed run resumes like a single-process one.

    torchrun --standalone --nproc_per_node N -m mastery.steps.data_parallel ...   (what the step runs)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mastery.errors import MasteryError

WEIGHTS, HISTORY = "model.safetensors", "history.json"


def fit_data_parallel(ctx, candidate, trainer, run_id: str, fingerprint: str) -> None:
    """Fit `candidate` on `candidate.train.processes` ranks; `trainer` adopts the result."""
    from safetensors.torch import load_file

    torchrun = Path(sys.executable).with_name("torchrun")
    with tempfile.TemporaryDirectory(prefix="mastery-ddp-") as out:
        command = [str(torchrun), "--standalone", f"--nproc_per_node={candidate.train.processes}",
                   "-m", "mastery.steps.data_parallel", "--root", str(ctx.paths.root), "--pipeline", ctx.spec.name,
                   "--candidate", candidate.name, "--run-id", run_id, "--fingerprint", fingerprint, "--out", out]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise MasteryError(f"{candidate.name}: data-parallel training failed "
                               f"({candidate.train.processes} processes):\n{result.stderr[-3000:]}")
        trainer.adopt(json.loads((Path(out) / HISTORY).read_text()), load_file(Path(out) / WEIGHTS))


def _rank(args: argparse.Namespace) -> None:
    from mastery.data.prepare import PreparedData
    from mastery.models.artifact import save_weights
    from mastery.steps.context import load_context
    from mastery.tracking.mlflow_runs import EpochLogger, use_store
    from mastery.training import distributed
    from mastery.training.build import build_trainer
    from mastery.training.device import resolve_device

    ctx = load_context(args.pipeline, args.root)
    candidate = next(c for c in ctx.candidates if c.name == args.candidate)
    device = resolve_device(ctx.params.device)
    world = distributed.join(device)
    use_store(ctx.params.tracking)
    data = PreparedData.load(ctx.paths.prepared)
    trainer, _ = build_trainer(candidate, ctx.task, data, device, ctx.params.seed, ctx.params.deterministic,
                               callbacks=[EpochLogger(args.run_id)] if world.is_main else [],
                               checkpoint_dir=ctx.paths.checkpoints(candidate.name), fingerprint=args.fingerprint,
                               name=f"{ctx.spec.name}/{candidate.name} (rank {world.rank})")
    history = trainer.fit(data.splits["train"], data.splits["val"])
    if world.is_main:
        out = Path(args.out)
        save_weights(out / WEIGHTS, trainer.model.state_dict())
        (out / HISTORY).write_text(json.dumps(history))
    distributed.barrier(world)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("root", "pipeline", "candidate", "run-id", "fingerprint", "out"):
        parser.add_argument(f"--{name}", required=True)
    _rank(parser.parse_args())


if __name__ == "__main__":
    main()
