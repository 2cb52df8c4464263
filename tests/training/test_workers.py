"""Side-by-side workers: their exit codes come back, and none outlives a killed parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from mastery.training.workers import run_workers


def test_each_workers_exit_code_comes_back_by_name():
    exits = run_workers(os._exit, [(0,), (3,)], ["fine", "failing"])
    assert exits == {"fine": 0, "failing": 3}


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL])
def test_a_worker_exits_when_its_parent_is_killed(kill):
    script = "import time; from mastery.training.workers import run_workers; run_workers(time.sleep, [(600,)], ['w'])"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        worker = _first_worker(psutil.Process(parent.pid))
        parent.send_signal(kill)
        parent.wait(timeout=10)
        worker.wait(timeout=10)  # gone, not 10 minutes on: psutil.TimeoutExpired while it lives
    finally:
        parent.kill()


def _first_worker(parent: psutil.Process, timeout: float = 30) -> psutil.Process:
    """The spawned worker (not multiprocessing's resource tracker, which runs no target)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = [p for p in parent.children() if "spawn_main" in " ".join(p.cmdline())]
        if workers:
            return workers[0]
        time.sleep(0.1)
    raise AssertionError(f"no worker spawned by {parent.pid} within {timeout} s")
