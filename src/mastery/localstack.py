"""The distributed form's servers as local processes: PostgreSQL (Debian's binaries, a
temporary data directory), an MLflow tracking server and a Prefect server on it.

What `infra/compose.yaml` starts in containers, started here so it can be exercised for real
on a machine without a Docker engine (`make distributed`, the slow tests). Each is a context
manager that yields its URL once the server answers and stops it on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mastery.errors import MasteryError

DATABASES = ("mlflow", "prefect", "optuna")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL server on 127.0.0.1 in a temporary data directory, with one database per
    engine; their SQLAlchemy URLs. As root, it runs as the `postgres` user (PostgreSQL refuses
    root), so the directory lives where that user can reach it."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            raise MasteryError(f"{tool} not found: install Debian's postgresql (`make setup` does where apt exists)")
    with tempfile.TemporaryDirectory(prefix="mastery-postgres-") as directory:
        data, port = Path(directory) / "pgdata", free_port()
        data.mkdir()
        as_owner = _as_postgres_user(Path(directory), data)
        _run([*as_owner, "initdb", "-D", str(data), "-U", "mastery", "--auth=trust", "-E", "UTF8"])
        _run([*as_owner, "pg_ctl", "-D", str(data), "-w", "-l", str(data / "server.log"),
              "-o", f"-h 127.0.0.1 -p {port} -k {data}", "start"])
        try:
            for database in DATABASES:
                _run([*as_owner, "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mastery", database])
            yield {db: f"postgresql+psycopg://mastery@127.0.0.1:{port}/{db}" for db in DATABASES}
        finally:
            _run([*as_owner, "pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop"])


def _as_postgres_user(directory: Path, data: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    directory.chmod(0o755)
    shutil.chown(data, "postgres")
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def mlflow_server(backend: str, artifacts: Path) -> Iterator[str]:
    """`mlflow server` on a PostgreSQL backend with a local artifact store it serves."""
    port = free_port()
    command = [BIN / "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", backend, "--artifacts-destination", str(artifacts), "--serve-artifacts"]
    url = f"http://127.0.0.1:{port}"
    with _process(command, f"{url}/health") as _:
        yield url


@contextlib.contextmanager
def prefect_server(database: str, home: Path) -> Iterator[str]:
    """`prefect server start` on PostgreSQL (asyncpg), its API URL; the scheduler looks every 2 s."""
    port = free_port()
    env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": "", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": database.replace("+psycopg", "+asyncpg"),
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    url = f"http://127.0.0.1:{port}/api"
    with _process([BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                  f"{url}/health", env) as _:
        yield url


@contextlib.contextmanager
def _process(command: list, health: str, env: dict | None = None, timeout_s: float = 180) -> Iterator[subprocess.Popen]:
    """A server process in its own session, ready once `health` answers; stopped with its children."""
    process = subprocess.Popen([str(c) for c in command], env=os.environ | (env or {}), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise MasteryError(f"{command[0]} exited with {process.returncode} before answering {health}")
            try:
                with urllib.request.urlopen(health, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise MasteryError(f"{health} did not answer in {timeout_s} s") from None
                time.sleep(0.5)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM the process group (a Prefect worker wants two interrupts), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 15)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MasteryError(f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")
