"""How long the commands people type take to answer, against the interpreter's own start.

Each command runs as a fresh process in a project where `make run` has finished (a champion
in mlflow.db, a complete dvc.lock), interleaved with the others so machine noise falls on
all of them; we report the median wall time of `--repeats` runs, and its ratio to a bare
`python -c pass` and to `python -c "import torch"` (the floor for anything that builds a model).

Goals (issues 9 and 12): `mastery --help` <= 1 s, `mastery models` and `mastery lineage` < 2 s,
a no-op `dvc repro` <= 1.5 s.

    python benchmarks/cli_latency.py                 # in the repo, after `make run`
    python benchmarks/cli_latency.py --root /tmp/fresh --repeats 7
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "mastery --help": [BIN / "mastery", "--help"],
    "mastery models": [BIN / "mastery", "models"],
    "mastery lineage quickstart-digits": [BIN / "mastery", "lineage", "quickstart-digits"],
    "dvc repro export@quickstart (no-op)": [BIN / "dvc", "repro", "export@quickstart"],
}
GOALS = {"mastery --help": 1.0, "mastery models": 2.0, "mastery lineage quickstart-digits": 2.0,
         "dvc repro export@quickstart (no-op)": 1.5}


def timed(command: list, root: Path) -> float:
    started = time.perf_counter()
    env = os.environ | {"PATH": f"{BIN}:{os.environ['PATH']}"}
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command} failed ({result.returncode}): {result.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for name, command in COMMANDS.items():  # warm the page cache once
        timed(command, args.root)
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(timed(command, args.root))
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare, torch_floor = medians["python -c pass"], medians["python -c 'import torch'"]
    print(f"# {platform.node()} ({os.cpu_count()} cores), load {os.getloadavg()[0]:.2f}, "
          f"{args.repeats} runs each, median wall seconds")
    print("| command | median (s) | x bare python | x import torch | goal |")
    print("|---|---|---|---|---|")
    for name, median in medians.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"<= {goal} s: {'met' if median <= goal else 'missed'}"
        print(f"| `{name}` | {median:.2f} | {median / bare:.1f} | {median / torch_floor:.2f} | {verdict} |")


if __name__ == "__main__":
    main()
