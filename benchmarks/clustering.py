"""Clustering without labels over seeds (issue 14, deliverable 2): K-means on raw pixels, K-means
on an autoencoder's codes, K-means on their UMAP embedding (N2D), DEC, IDEC and DEC-DA from N2D's
clusters, in one harness.

For each dataset the two specs of its track: the autoencoder pipeline (`clustering_ae`,
`clustering_fashion_ae`: reconstruction, trained first) and the clustering pipeline
(`clustering`, `clustering_fashion`), whose candidates start from it. Each seed trains the
autoencoder, then every clustering candidate from it, in our trainer on the spec's split (the
split is the spec's, fixed; the seed moves the weights' draws, the shuffles, K-means and UMAP),
and scores the test split: Hungarian-matched accuracy and NMI. Reported: mean ± std over
seeds, and the training seconds of each model (closed-form fits included, evaluation
excluded). Goals: MNIST subset ACC >= 0.88 and NMI >= 0.85; Fashion-MNIST >= 0.63 / >= 0.65.

    OMP_NUM_THREADS=1 python benchmarks/clustering.py [--datasets mnist fashion] [--seeds 3]
        [--threads 1] [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRACKS = {"mnist": ("clustering_ae", "clustering"), "fashion": ("clustering_fashion_ae", "clustering_fashion")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(TRACKS), default=sorted(TRACKS, reverse=True))
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    parser.add_argument("--steps", type=int, default=None, help="cap every epoch at this many steps (a smoke run)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    for dataset in args.datasets:
        results = [run_seed(*TRACKS[dataset], seed, args.steps) for seed in range(args.seeds)]
        report(dataset, results)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def run_seed(autoencoder_pipeline: str, clustering_pipeline: str, seed: int, steps: int | None) -> dict[str, dict]:
    """Train the autoencoder, then each clustering candidate from it; their test scores and seconds."""
    import torch

    from mastery.config import load_params, load_spec
    from mastery.data.prepare import PreparedData, write_splits
    from mastery.data.registry import get_dataset
    from mastery.evaluation import score_model
    from mastery.tasks import build_task
    from mastery.training.build import build_trainer

    params = load_params(REPO / "params.yaml")
    pretrain, spec = load_spec(autoencoder_pipeline, REPO), load_spec(clustering_pipeline, REPO)
    info = get_dataset(spec.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        write_splits(info.load(params), info, spec, params.seed, Path(tmp))
        data = PreparedData.load(Path(tmp))

    def fit(candidate, task, start_from=None):
        candidate = dataclasses.replace(candidate, train=dataclasses.replace(candidate.train, max_batches=steps))
        trainer, _ = build_trainer(candidate, task, data, torch.device("cpu"), seed, start_from=start_from)
        history = trainer.fit(data.splits["train"], data.splits["val"], resume=False)
        seconds = sum(r["epoch_seconds"] - r["eval_seconds"] for r in history)
        return trainer.model, seconds, history

    source, ae_seconds, ae_history = fit(pretrain.candidates[0], build_task("reconstruction", info.modality, pretrain.task))
    task = build_task(spec.task.name, info.modality, spec.task)
    results = {f"autoencoder ({pretrain.candidates[0].name})": {"seconds": ae_seconds, "epochs": len(ae_history)}}
    for candidate in spec.candidates:
        model, seconds, history = fit(candidate, task, source if candidate.start_from else None)
        epochs = len(history)
        flat = score_model(model, task, data.splits["test"], data.stats).flat()
        results[candidate.name] = {"accuracy": flat["test_accuracy"], "nmi": flat["test_nmi"], "seconds": seconds,
                                   "epochs": epochs}
        print(f"  seed {seed} {candidate.name}: ACC {flat['test_accuracy']:.4f} NMI {flat['test_nmi']:.4f} "
              f"({seconds:.0f} s, {epochs} epochs incl. epoch 0) at {time.strftime('%H:%M:%S')}; val ACC by epoch "
              f"{[round(r['val_accuracy'], 3) for r in history]}", flush=True)
    results["_counts"] = data.stats["counts"]
    return results


def report(dataset: str, results: list[dict[str, dict]]) -> None:
    counts = results[0]["_counts"]
    print(f"\n{dataset}: {len(results)} seeds; {counts['train']:,} train / {counts['val']:,} val / "
          f"{counts['test']:,} test, scored on test\n")
    print("| model | test ACC | test NMI | training s (median) | epochs |")
    print("|---|---:|---:|---:|---:|")
    for name in results[0]:
        if name.startswith("_"):
            continue
        rows = [r[name] for r in results]
        scores = [mean_std([r[m] for r in rows]) if m in rows[0] else "" for m in ("accuracy", "nmi")]
        print(f"| {name} | {scores[0]} | {scores[1]} | {statistics.median(r['seconds'] for r in rows):.0f} | "
              f"{rows[0]['epochs']} |")


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


if __name__ == "__main__":
    main()
