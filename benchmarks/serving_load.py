"""Serving under bounded loopback load: `mastery serve` vs `mlflow models serve` vs eager PyTorch.

The model: the vision pipeline's LeNet-5 on Fashion-MNIST (pipelines/vision.yaml with only
its lenet5 candidate, trained, gated and exported once into the work directory; `--workdir`
keeps it between runs). Contenders, each its own server process on 127.0.0.1, one at a time:

  mastery-onnx    `mastery serve -p vision` (fp32 ONNX, ONNX Runtime), the default
  mastery-int8    `mastery serve -p vision --int8`
  mastery-eager   the same FastAPI app (schema, checks, prediction log, metrics) with the
                  registry's eager PyTorch module in place of the ONNX session (1 thread)
  mlflow          `mlflow models serve -m models:/vision-fashion/N --env-manager local`, the
                  same version (its pt2 form), what users would pick instead

Load: `hey` (Debian package; `wrk` cannot stop after a number of requests) POSTs one test
image (batch 1) `--requests` times from `--concurrency` keep-alive workers on one core (the
machine has two, and the servers need one); the figures come from its per-request CSV.
Before each measured run, 200 warm-up requests. Then the same at concurrency 1 for the unloaded latency. Rounds interleave the
contenders (onnx, int8, eager, mlflow, onnx, ...) so machine noise falls on all of them; we
report medians over rounds of requests/s, p50 and p99, the 5xx and failed (not 200, or no
answer) counts, and the ratio of requests/s to mlflow's.

    python benchmarks/serving_load.py                          # 10,000 requests at c=32, 3 rounds
    python benchmarks/serving_load.py --rounds 1 --requests 2000 --workdir /tmp/serving-bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIPELINE, MODEL, CANDIDATE = "vision", "vision-fashion", "lenet5"
SELF = str(Path(__file__).resolve())
QUIET = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "ORT_DISABLE_TELEMETRY": "1",
}
# ---- the champion ------------------------------------------------------------------------


def prepare_champion(workdir: Path) -> dict:
    """Train, gate and export the vision LeNet-5 in `workdir` unless it is already there."""
    if not (workdir / "exports" / PIPELINE / "model.onnx").is_file():
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "params.yaml", workdir / "params.yaml")
        (workdir / "pipelines").mkdir(exist_ok=True)
        spec = yaml.safe_load((REPO / "pipelines" / f"{PIPELINE}.yaml").read_text())
        spec["candidates"] = [c for c in spec["candidates"] if c["name"] == CANDIDATE]
        (workdir / "pipelines" / f"{PIPELINE}.yaml").write_text(yaml.safe_dump(spec))
        steps = ["ingest", "validate", "prepare", "train", "evaluate", "promote", "export"]
        for step in steps:
            print(f"[prepare] mastery {step} -p {PIPELINE}", flush=True)
            extra = ["--no-progress"] if step == "train" else []
            subprocess.run([str(BIN / "mastery"), step, "-p", PIPELINE, *extra], cwd=workdir, env=_env(workdir), check=True)
    parity = json.loads((workdir / "exports" / PIPELINE / "parity.json").read_text())
    if parity["version"] is None:
        raise SystemExit(f"no champion in {workdir}: the gate refused LeNet-5 ({parity.get('note')})")
    return parity


def write_bodies(workdir: Path) -> dict[str, Path]:
    """One test image (batch 1) as each server's request body."""
    import numpy as np

    image = np.load(workdir / "data" / PIPELINE / "prepared" / "test_image.npy")[:1].astype(np.float32) / 255.0
    pixels = np.round(image, 6).tolist()
    bodies = {"mastery": {"image": pixels}, "mlflow": {"inputs": pixels}}
    paths = {}
    for name, body in bodies.items():
        paths[name] = workdir / f"body.{name}.json"
        paths[name].write_text(json.dumps(body))
    return paths


# ---- the contenders ----------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    body: str  # which request body
    path: str  # the prediction route

    def command(self, port: int, version: str) -> list[str]:
        mastery = [str(BIN / "mastery"), "serve", "-p", PIPELINE, "--port", str(port), "--poll-seconds", "0"]
        return {
            "mastery-onnx": mastery,
            "mastery-int8": [*mastery, "--int8"],
            "mastery-eager": [sys.executable, SELF, "--serve-eager", str(port)],
            "mlflow": [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}/{version}",
                       "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port)],
        }[self.name]

    @property
    def ready_path(self) -> str:
        return "/ping" if self.name == "mlflow" else "/ready"


CONTENDERS = (
    Contender("mastery-onnx", "mastery", "/predict"),
    Contender("mastery-int8", "mastery", "/predict"),
    Contender("mastery-eager", "mastery", "/predict"),
    Contender("mlflow", "mlflow", "/invocations"),
)


def serve_eager(port: int) -> None:
    """The app of `mastery serve`, its model run by the registry's eager PyTorch module."""
    import dataclasses

    import torch

    from mastery.serving.app import ServeConfig, create_app
    from mastery.serving.model import ModelSource, load_champion
    from mastery.serving.server import serve_app
    from mastery.steps.context import load_context
    from mastery.tracking.mlflow_runs import use_store
    from mastery.tracking.registry import load_version

    class EagerSession:  # ONNX Runtime's `run` over the module
        def __init__(self, module):
            self.module = module.eval()

        @torch.inference_mode()
        def run(self, names, feeds):
            return [self.module(torch.from_numpy(feeds["image"])).numpy()]

    # One thread, as ONNX Runtime has: the app runs one batch-1 request at a time, and with
    # torch's default (one per core) its OpenMP threads spin against the event loop (38 req/s here).
    torch.set_num_threads(1)
    ctx = load_context(PIPELINE)
    use_store(ctx.params.tracking)
    config = ServeConfig(ModelSource(ctx.spec.registered_model, ctx.paths.exports), ctx.paths.prediction_log, poll_seconds=0)
    served = load_champion(config.source)
    module, _, _ = load_version(served.name, served.version)
    eager = dataclasses.replace(served, session=EagerSession(module), origin=f"{served.origin} (eager PyTorch)")
    serve_app(create_app(config, eager), "127.0.0.1", port)


class Server:
    """A contender's server process, from start until it answers, then stopped."""

    def __init__(self, contender: Contender, workdir: Path, version: str):
        self.contender, self.port = contender, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(contender.command(self.port, version), cwd=workdir, env=_env(workdir),
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self):
        deadline = time.monotonic() + 180
        while not _answers(self.url + self.contender.ready_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"{self.contender.name} did not start:\n{self.log.read().decode()[-3000:]}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)  # the session holds the server's own workers too
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


def hey(url: str, body: Path, requests: int, concurrency: int) -> dict:
    """At least `requests` POSTs (a multiple of `concurrency`: hey splits them evenly) at
    `concurrency` workers on one core; figures from hey's per-request CSV."""
    requests = -(-requests // concurrency) * concurrency
    command = ["hey", "-n", str(requests), "-c", str(concurrency), "-cpus", "1", "-t", "30", "-m", "POST",
               "-T", "application/json", "-D", str(body), "-o", "csv", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [line.split(",") for line in output.splitlines()[1:] if line]
    seconds = [float(r[0]) for r in rows]
    status = [int(r[6]) for r in rows]
    wall = max(float(r[7]) + float(r[0]) for r in rows) - min(float(r[7]) for r in rows)
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "requests": requests,
        "answered": sum(s == 200 for s in status),
        "failed": requests - len(rows) + sum(s != 200 for s in status),  # no response at all, or not 200
        "status_5xx": sum(s >= 500 for s in status),
        "requests_per_s": len(rows) / wall,
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
    }


# ---- the run -----------------------------------------------------------------------------


def run(args) -> dict:
    workdir = Path(args.workdir).resolve()
    parity = prepare_champion(workdir)
    version = parity["version"]
    bodies = write_bodies(workdir)
    shutil.rmtree(workdir / "monitoring", ignore_errors=True)
    loads = {"loaded": (args.requests, args.concurrency), "unloaded": (args.requests_unloaded, 1)}
    results = {c.name: {load: [] for load in loads} for c in CONTENDERS}
    for round_ in range(args.rounds):
        for contender in CONTENDERS:
            with Server(contender, workdir, version) as server:
                url, body = server.url + contender.path, bodies[contender.body]
                hey(url, body, 200, min(8, args.concurrency))  # warm-up
                for load, (requests, concurrency) in loads.items():
                    figures = hey(url, body, requests, concurrency)
                    results[contender.name][load].append(figures)
                    print(f"[round {round_ + 1}] {contender.name:<14} {load:<9} {figures['requests_per_s']:8.1f} req/s  "
                          f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  "
                          f"5xx {figures['status_5xx']}  failed {figures['failed']}", flush=True)
    return {"version": version, "parity": parity, "results": results, "loads": loads}


def report(args, outcome: dict) -> str:
    medians = {
        name: {load: {k: statistics.median(r[k] for r in runs) for k in ("requests_per_s", "p50_ms", "p99_ms")}
               | {"status_5xx": sum(r["status_5xx"] for r in runs), "failed": sum(r["failed"] for r in runs)}
               for load, runs in loads.items()}
        for name, loads in outcome["results"].items()
    }
    base = medians["mlflow"]["loaded"]["requests_per_s"]
    lines = [
        (f"`python benchmarks/serving_load.py --requests {args.requests} --concurrency {args.concurrency} "
        f"--rounds {args.rounds}` ({date.today()}, load average {os.getloadavg()[0]:.1f} at the end)"),
        "",
        (f"{MODEL} v{outcome['version']} (LeNet-5, Fashion-MNIST), batch 1, loopback, hey on 1 core; "
        f"python {platform.python_version()}, onnxruntime {version('onnxruntime')}, torch {version('torch')}, "
        f"mlflow {version('mlflow')}, fastapi {version('fastapi')}, uvicorn {version('uvicorn')}; "
        f"{os.cpu_count()} cores. Medians of {args.rounds} rounds."),
        "",
        f"| server | req/s at c={args.concurrency} | p50 ms | p99 ms | x mlflow | req/s at c=1 | p50 ms | p99 ms | 5xx | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, loads in medians.items():
        loaded, unloaded = loads["loaded"], loads["unloaded"]
        lines.append(
            f"| {name} | {loaded['requests_per_s']:,.0f} | {loaded['p50_ms']:.2f} | {loaded['p99_ms']:.2f} | "
            f"{loaded['requests_per_s'] / base:.2f} | {unloaded['requests_per_s']:,.0f} | {unloaded['p50_ms']:.2f} | "
            f"{unloaded['p99_ms']:.2f} | {loaded['status_5xx'] + unloaded['status_5xx']} | "
            f"{loaded['failed'] + unloaded['failed']} |"
        )
    return "\n".join(lines)


def _env(workdir: Path) -> dict:
    return os.environ | QUIET | {"PATH": f"{BIN}:{os.environ['PATH']}", "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests-unloaded", type=int, default=2_000, help="requests at concurrency 1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default=str(REPO / "benchmarks" / ".serving-load"),
                        help="keeps the trained champion between runs")
    parser.add_argument("--prepare-only", action="store_true", help="train and export the champion, then stop")
    parser.add_argument("--serve-eager", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_eager:
        return serve_eager(args.serve_eager)
    if shutil.which("hey") is None:
        raise SystemExit("hey is missing: apt-get install hey")
    if args.prepare_only:
        print(json.dumps(prepare_champion(Path(args.workdir).resolve()), indent=2))
        return
    outcome = run(args)
    print()
    print(report(args, outcome))


if __name__ == "__main__":
    main()
