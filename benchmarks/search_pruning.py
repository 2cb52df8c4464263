"""TPE with a pruner (successive halving, i.e. ASHA, or Hyperband) against random search without
pruning, on the same budget and seeds.

Both arms run the real `mastery tune` (SQLite study, one MLflow run per trial) on
Fashion-MNIST with the same MLP space and the same recipe: 27 short epochs of 10 batches,
validation accuracy reported after each. Each arm and seed gets the same wall-time budget
(`--minutes`) and runs as its own `mastery tune` process in one project copy; arms
interleave (tpe, random, tpe, random, ...) so machine noise falls on both. Reported per arm:
trials finished per hour (completed + pruned, over the span from the first trial's start
to the last one's end) and the best validation accuracy, as medians over seeds, and the ratio
of the pruned arm to random. Goal: >= 5x the trials per hour at equal or better accuracy.

    python benchmarks/search_pruning.py --minutes 6 --seeds 0 1 2 --pruner successive_halving
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = {
    "name": "bench",
    "dataset": "fashion_mnist",
    "registered_model": "bench",
    "split": {"val": 0.1},
    "train": {"epochs": 27, "max_batches": 10, "batch_size": 128, "optimizer": {"name": "adam", "lr": 1e-3}},
    "candidates": [{"name": "mlp", "model": "mlp", "params": {"hidden": [256], "dropout": 0.1}}],
    "nas": None,
    "tune": {
        "candidate": "mlp",
        "trials": 100_000,  # the wall-time budget ends the search
        "space": {
            "train.optimizer.name": {"choices": ["sgd", "momentum", "adam", "adamw"]},
            "train.optimizer.lr": {"low": 1e-5, "high": 1.0, "log": True},
            "train.optimizer.weight_decay": {"low": 1e-7, "high": 1e-2, "log": True},
            "layers": {"low": 1, "high": 3},
            "params.hidden": {"choices": [32, 64, 128, 256, 512], "per": "layers"},
            "params.dropout": {"low": 0.0, "high": 0.5},
        },
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="wall-time budget of each arm and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--pruner", choices=["successive_halving", "hyperband", "median"], default="successive_halving")
    parser.add_argument("--min-resource", type=int, default=1, help="epochs before a trial is first judged")
    parser.add_argument("--reduction-factor", type=int, default=3, help="a rung keeps 1 trial in this many")
    args = parser.parse_args()
    pruning = {"pruner": args.pruner, "min_resource": args.min_resource, "reduction_factor": args.reduction_factor}
    arms = {f"tpe+{args.pruner}": {"sampler": "tpe", **pruning}, "random": {"sampler": "random", "pruner": "none"}}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        root = make_project(Path(tmp))
        results = {arm: [] for arm in arms}
        for seed in args.seeds:
            for arm, search in arms.items():
                results[arm].append(run_arm(root, seed, search, args.minutes))
                print(arm, seed, results[arm][-1], flush=True)
    report(results, args)


def make_project(root: Path) -> Path:
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "bench.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    for step in ("ingest", "validate", "prepare"):
        mastery(root, step)
    return root


def mastery(root: Path, *args: str) -> None:
    env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}", "PATH": f"{BIN}:{os.environ['PATH']}",
                        "OMP_NUM_THREADS": "1"}  # small MLPs: one thread, and no thread fights on a shared box
    subprocess.run([BIN / "mastery", *args, "-p", "bench"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_arm(root: Path, seed: int, search: dict, minutes: float) -> dict:
    import optuna

    params = yaml.safe_load((root / "params.yaml").read_text()) | {"seed": seed}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    spec_path = root / "pipelines" / "bench.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["tune"] |= search | {"timeout_minutes": minutes}
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    mastery(root, "tune")
    record = json.loads((root / "search" / "bench" / "tune" / "result.json").read_text())
    study = optuna.load_study(study_name=record["study"], storage=f"sqlite:///{root / 'studies' / 'bench.db'}")
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    span = max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
    epochs = sum(len(t.intermediate_values) for t in done)
    return {"trials": len(done), "pruned": sum(t.state.name == "PRUNED" for t in done), "epochs": epochs,
            "hours": span.total_seconds() / 3600, "trials_per_hour": len(done) / (span.total_seconds() / 3600),
            "best_val_accuracy": record["value"]}


def report(results: dict, args) -> None:
    median = {arm: {k: statistics.median(r[k] for r in runs) for k in ("trials_per_hour", "best_val_accuracy")}
              for arm, runs in results.items()}
    pruned, baseline = list(results)
    ratio = median[pruned]["trials_per_hour"] / median[baseline]["trials_per_hour"]
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"budget {args.minutes} min per arm and seed; seeds {args.seeds}; {pruned}: min_resource "
          f"{args.min_resource}, reduction factor {args.reduction_factor}")
    print(f"{'arm':<24}{'trials/hour':>12}{'best val acc':>14}   per seed (trials, pruned, epochs, best)")
    for arm, runs in results.items():
        seeds = "; ".join(f"{r['trials']}, {r['pruned']}, {r['epochs']}, {r['best_val_accuracy']:.4f}" for r in runs)
        print(f"{arm:<24}{median[arm]['trials_per_hour']:>12.0f}{median[arm]['best_val_accuracy']:>14.4f}   {seeds}")
    gain = median[pruned]["best_val_accuracy"] - median[baseline]["best_val_accuracy"]
    print(f"ratio trials/hour: {ratio:.2f}x (goal >= 5x); best val accuracy difference: {gain:+.4f} (goal >= 0)")


if __name__ == "__main__":
    main()
