"""What each door adds over plain library calls, on the same quickstart work, in one run.

Doors, each run on a fresh copy of the project (dvc.yaml, params.yaml, .dvcignore, incoming/,
pipelines/, src/, .dvc/, flows/, `git init`) with its own MLflow SQLite store and Prefect
result storage, so every run starts from nothing and does the same seeded work:

  plain             every catalog step, `step.run(load_context("quickstart", root))`, in order
  dvc               `dvc repro export@quickstart` (one `mastery` CLI process per stage)
  prefect-server    `python flows/training.py quickstart` against a running Prefect server
  prefect-ephemeral the same with no PREFECT_API_URL: Prefect starts its ephemeral API, as
                    out of the box

Fairness: every door is one child process spawned from a fresh interpreter with the same
environment (telemetry off, the venv's bin first on PATH) and the project copy as cwd, and
is timed from spawn to exit; the plain door runs this script's `--plain ROOT` entry, so it
pays the same interpreter start and the same `mastery` imports as the others. Copying the
project and starting the server happen outside the timings. The server runs for the whole
benchmark, so its idle load falls on every door alike. Runs interleave (plain, dvc,
prefect-server, prefect-ephemeral, plain, ...) so machine noise hits all doors; we report
medians of wall seconds and, per door, overhead = median(door) - median(plain), ratio =
median(door) / median(plain), and the goal: door <= 1.05 * plain + 3 s. A run counts only
if the door exited 0 and left metrics/quickstart.json with a test_accuracy, the promotion
report and exports/quickstart/parity.json, so a broken door cannot look fast.

Prefect's fixed costs are reported on their own lines: the server's start until
/api/health answers, an empty flow under the ephemeral API and under the running server
(their difference is the ephemeral API's start-up per run), and the first empty flow in a
fresh PREFECT_HOME (which also creates the database). That first flow warms the one
PREFECT_HOME all ephemeral runs share, so the prefect-ephemeral door is a user's second and
later runs; the server has its own PREFECT_HOME. Both are temporary, like everything else.

    python benchmarks/orchestration_overhead.py                        # repo spec, 3 repeats
    python benchmarks/orchestration_overhead.py --repeats 1 --epochs 2 # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIPELINE = "quickstart"
COPIED = ("dvc.yaml", "params.yaml", ".dvcignore", "pipelines", "src", ".dvc", "flows", "bin", "incoming")
QUIET = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "ORT_DISABLE_TELEMETRY": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # as flows/training.py sets
}
GOAL_RATIO, GOAL_SECONDS = 1.05, 3.0
FLOW = [sys.executable, "flows/training.py", PIPELINE]
SELF = str(Path(__file__).resolve())


# ---- entries run in the child interpreter ----------------------------------------------

def run_plain(root: str) -> None:
    """The library door: every step of the catalog, in order, in this process."""
    from mastery.steps.catalog import STEPS
    from mastery.steps.context import load_context

    for step in STEPS:
        step.run(load_context(PIPELINE, root))


def run_empty_flow() -> None:
    """A flow that does nothing: what Prefect costs before any work."""
    from prefect import flow

    @flow(name="empty")
    def empty() -> None:
        return None

    empty()


# ---- set-up ----------------------------------------------------------------------------

def fresh_project(scratch: Path, epochs: int | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="project-", dir=scratch))
    skip = shutil.ignore_patterns("__pycache__", "tmp", "cache")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=skip)
        else:
            shutil.copy(source, root / name)
    if epochs is not None:
        spec_path = root / "pipelines" / f"{PIPELINE}.yaml"
        spec = yaml.safe_load(spec_path.read_text())
        spec["train"]["epochs"] = epochs
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def child_env(prefect_home: Path, root: Path | None = None, api: str | None = None) -> dict:
    """Telemetry off, the venv first on PATH, every store private to this run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    env |= QUIET | {"PATH": f"{BIN}:{os.environ['PATH']}", "PREFECT_HOME": str(prefect_home)}
    if root is not None:
        env |= {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
                "PREFECT_LOCAL_STORAGE_PATH": str(root / ".prefect-results"),
                "DVC_SITE_CACHE_DIR": str(root / ".dvc-site")}
    if api is not None:
        env["PREFECT_API_URL"] = api
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(home: Path) -> Iterator[tuple[str, float]]:
    """A `prefect server start` in the background; yields its API URL and start-up seconds."""
    home.mkdir()
    port = free_port()
    api, log = f"http://127.0.0.1:{port}/api", home / "server.log"
    command = [BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=child_env(home), stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(api, server, log)
        yield api, time.perf_counter() - started
    finally:
        stop(server)


def wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text()[-3000:]
            raise SystemExit(f"prefect server exited {server.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"prefect server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """SIGINT to the server's own process group (it started it), then SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
            server.wait(grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


# ---- timing ----------------------------------------------------------------------------

def timed(name: str, command: list, cwd: Path, env: dict) -> float:
    """Wall seconds from spawn to exit; a non-zero exit stops the benchmark with its output."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise SystemExit(f"{name} exited {result.returncode}:\n{output}")
    return wall


def check_work(name: str, root: Path) -> float:
    """The door ran every step: metrics, promotion and export reports exist. Test accuracy."""
    metrics = root / "metrics" / f"{PIPELINE}.json"
    accuracy = json.loads(metrics.read_text()).get("test_accuracy") if metrics.is_file() else None
    if accuracy is None:
        raise SystemExit(f"{name}: exited 0 but {metrics} has no test_accuracy")
    for out in (root / "reports" / "promotion" / f"{PIPELINE}.json",
                root / "exports" / PIPELINE / "parity.json"):
        if not out.is_file():
            raise SystemExit(f"{name}: exited 0 but {out} is missing")
    return accuracy


@dataclass
class Door:
    name: str
    command: list
    prefect_home: Path
    api: str | None = None  # None: a Prefect flow starts its ephemeral API
    walls: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)

    def run(self, scratch: Path, epochs: int | None) -> None:
        root = fresh_project(scratch, epochs)
        wall = timed(self.name, self.command, root, child_env(self.prefect_home, root, self.api))
        self.accuracies.append(check_work(self.name, root))
        self.walls.append(wall)
        shutil.rmtree(root)
        print(f"  {self.name:18s} {wall:7.2f} s  test_accuracy {self.accuracies[-1]:.4f}",
              file=sys.stderr)


def empty_flow(scratch: Path, prefect_home: Path, api: str | None = None) -> float:
    command = [sys.executable, SELF, "--empty-flow"]
    return timed("empty flow", command, scratch, child_env(prefect_home, api=api))


# ---- report ----------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor()  # empty on most Linux systems: fall back to /proc/cpuinfo
    if not cpu and Path("/proc/cpuinfo").is_file():
        names = [line.split(":", 1)[1].strip()
                 for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else ""
    usable = len(os.sched_getaffinity(0))
    return f"{os.cpu_count()} cores ({usable} usable), {cpu or platform.machine()}"


def table(doors: list[Door]) -> list[str]:
    plain = statistics.median(doors[0].walls)
    lines = [(f"| door | median wall s | runs s | overhead s | ratio "
              f"| <= {GOAL_RATIO} x plain + {GOAL_SECONDS:g} s |"),
             "|---|---:|---|---:|---:|---|"]
    for door in doors:
        median = statistics.median(door.walls)
        runs = ", ".join(f"{w:.1f}" for w in door.walls)
        meets = median <= GOAL_RATIO * plain + GOAL_SECONDS
        goal = "baseline" if door is doors[0] else ("yes" if meets else "**no**")
        lines.append(f"| {door.name} | {median:.1f} | {runs} | {median - plain:+.1f} "
                     f"| {median / plain:.3f} | {goal} |")
    return lines


def report(doors: list[Door], fixed: dict[str, list[float]], server_start: float,
           repeats: int, epochs: int) -> str:
    versions = ", ".join(f"{p} {version(p)}" for p in ("prefect", "dvc", "mlflow", "torch"))
    ephemeral, served = statistics.median(fixed["ephemeral"]), statistics.median(fixed["server"])
    accuracies = sorted({round(a, 4) for door in doors for a in door.accuracies})
    return "\n".join([
        f"### Orchestration overhead ({date.today()})",
        "",
        f"`{shlex.join(['python', *sys.argv])}`",
        "",
        f"Machine: {machine()}; Python {platform.python_version()}; {versions}.",
        (f"Work: `{PIPELINE}`, ingest to export, train.epochs {epochs}; {repeats} repeat(s), "
         "doors interleaved, a fresh project and MLflow store every run."),
        "",
        *table(doors),
        "",
        f"- Test accuracy, every door and run: {accuracies}.",
        (f"- Prefect server start until /api/health answers: {server_start:.1f} s "
         "(once, outside the door timings)."),
        (f"- Empty flow, median: ephemeral API {ephemeral:.1f} s, running server {served:.1f} s; "
         f"the ephemeral API's start-up: {ephemeral - served:.1f} s a run."),
        (f"- First empty flow in a fresh PREFECT_HOME (ephemeral, creates the database): "
         f"{fixed['first'][0]:.1f} s."),
    ])


# ---- main ------------------------------------------------------------------------------

def measure(repeats: int, epochs: int | None) -> str:
    with tempfile.TemporaryDirectory(prefix="orchestration-") as tmp:
        scratch = Path(tmp)
        ephemeral, served = scratch / "prefect-ephemeral", scratch / "prefect-server"
        fixed = {"first": [empty_flow(scratch, ephemeral)], "ephemeral": [], "server": []}
        with prefect_server(served) as (api, server_start):
            doors = [Door("plain", [sys.executable, SELF, "--plain", "."], ephemeral),
                     Door("dvc", [BIN / "dvc", "repro", f"export@{PIPELINE}"], ephemeral),
                     Door("prefect-server", FLOW, served, api),
                     Door("prefect-ephemeral", FLOW, ephemeral)]
            for repeat in range(repeats):
                print(f"repeat {repeat + 1}/{repeats}", file=sys.stderr)
                for door in doors:
                    door.run(scratch, epochs)
                fixed["ephemeral"].append(empty_flow(scratch, ephemeral))
                fixed["server"].append(empty_flow(scratch, served, api))
    spec = yaml.safe_load((REPO / "pipelines" / f"{PIPELINE}.yaml").read_text())
    return report(doors, fixed, server_start, repeats, epochs or spec["train"]["epochs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="override train.epochs in the copied spec")
    parser.add_argument("--plain", metavar="ROOT", help="internal: run the plain door on ROOT")
    parser.add_argument("--empty-flow", action="store_true", help="internal: run an empty flow")
    args = parser.parse_args()
    if args.plain:
        run_plain(args.plain)
    elif args.empty_flow:
        run_empty_flow()
    else:
        print(measure(args.repeats, args.epochs))


if __name__ == "__main__":
    main()
