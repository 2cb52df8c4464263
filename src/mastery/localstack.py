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
    tools = postgres_binaries()
    with tempfile.TemporaryDirectory(prefix="mastery-postgres-") as directory:
        data, port = Path(directory) / "pgdata", free_port()
        data.mkdir()
        as_owner = _as_postgres_user(Path(directory), data)
        _run([*as_owner, tools / "initdb", "-D", str(data), "-U", "mastery", "--auth=trust", "-E", "UTF8"])
        _run([*as_owner, tools / "pg_ctl", "-D", str(data), "-w", "-l", str(data / "server.log"),
              "-o", f"-h 127.0.0.1 -p {port} -k {data}", "start"])
        try:
            for database in DATABASES:
                _run([*as_owner, tools / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mastery", database])
            yield {db: f"postgresql+psycopg://mastery@127.0.0.1:{port}/{db}" for db in DATABASES}
        finally:
            _run([*as_owner, tools / "pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop"])


def postgres_binaries() -> Path:
    """The server's binaries: on PATH, or where Debian's package puts them (not on PATH)."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not candidates:
        raise MasteryError("PostgreSQL's initdb not found: install Debian's postgresql (`make setup` does where apt exists)")
    return candidates[-1]


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
    with server_process(command, f"{url}/health") as _:
        yield url


@contextlib.contextmanager
def prefect_server(database: str, home: Path) -> Iterator[str]:
    """`prefect server start` on PostgreSQL (asyncpg), its API URL; the scheduler looks every 2 s."""
    port = free_port()
    env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": "", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": database.replace("+psycopg", "+asyncpg"),
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    url = f"http://127.0.0.1:{port}/api"
    with server_process([BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                  f"{url}/health", env) as _:
        yield url


@contextlib.contextmanager
def server_process(command: list, health: str, env: dict | None = None, timeout_s: float = 180) -> Iterator[subprocess.Popen]:
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
        raise MasteryError(f"{' '.join(map(str, command))} failed: {result.stderr.strip() or result.stdout.strip()}")


def demo(repo: Path, out: Path, tiny: bool = False, trials: int = 8, keep: bool = False) -> dict:
    """The distributed form end to end on this machine, then torn down; what happened.

    Two clones of `repo` stand for two machines: each has its own directory, dvc.lock and
    worker, and they share only the servers and a DVC remote. A scheduled run of the
    training deployment goes through the workers (each step on whichever takes it), then a
    PostgreSQL-backed Optuna study runs with four trial workers, two a machine, one of them
    killed mid-trial. `tiny` shrinks the quickstart spec to seconds (the tests); `keep`
    leaves everything up until Enter is pressed.
    """
    out = Path(out)
    with postgres() as db, mlflow_server(db["mlflow"], out / "artifacts") as mlflow_url, \
            prefect_server(db["prefect"], out / "prefect-home") as api:
        env = {"MLFLOW_TRACKING_URI": mlflow_url, "PREFECT_API_URL": api, "MASTERY_STUDY_STORAGE": db["optuna"]}
        machines = [_machine(repo, out / name, out / "dvc-remote", tiny, trials) for name in ("machine-a", "machine-b")]
        _mastery(machines[0], env, "deploy")
        workers = [_spawn(machine, env, "worker", "--pool", "cpu") for machine in machines]
        try:
            training = _first_scheduled_run(api, "quickstart")  # mastery-training/quickstart
            study = _study_on_both(machines, env, budget=2 * trials)
        finally:
            for worker in workers:
                stop(worker)
        report = {"mlflow": mlflow_url, "prefect": api.removesuffix("/api"), "training_run": training,
                  "registry": _registry(mlflow_url), **study}
        print(f"MLflow (on PostgreSQL): {mlflow_url}/#/experiments?workflowType=machine_learning\n"
              f"Prefect UI: {report['prefect']}  (flow runs: mastery-training, mastery-step)\n"
              f"PostgreSQL: {db['optuna'].rsplit('/', 1)[0]}/{{mlflow,prefect,optuna}}  machines: {out}")
        if keep:
            input("Everything is up; press Enter to tear it down. ")
        return report


def _machine(repo: Path, directory: Path, remote: Path, tiny: bool, trials: int) -> Path:
    """A clone of the committed repo whose DVC remote is the shared one; training every minute."""
    import yaml

    _run(["git", "clone", "-q", str(repo), str(directory)])
    remote.mkdir(parents=True, exist_ok=True)
    _run(["git", "-C", str(directory), "config", "user.email", "demo@localhost"])
    _run(["git", "-C", str(directory), "config", "user.name", "demo"])
    node_modules = Path(repo) / "web" / "node_modules"
    if node_modules.is_dir():
        (directory / "web" / "node_modules").symlink_to(node_modules)
    params = yaml.safe_load((directory / "params.yaml").read_text())
    params |= {"pipelines": ["quickstart"],
               "orchestration": {"training": {"interval_seconds": 60, "max_scheduled_runs": 1}}}
    (directory / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    spec_path = directory / "pipelines" / "quickstart.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["tune"] |= {"trials": trials, "pruner": "none", "heartbeat_seconds": 2, "grace_seconds": 8}
    if tiny:
        spec["train"] |= {"epochs": 2, "max_batches": 4}
        spec["tune"]["train"] = {"epochs": 1, "max_batches": 4}
        spec["gate"]["thresholds"] = {"test_accuracy": 0.2}
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    _run(["git", "-C", str(directory), "commit", "-q", "-am", "the demo's machine"])
    _run([str(BIN / "dvc"), "--cd", str(directory), "remote", "modify", "--local", "local", "url", str(remote)])
    return directory


def _environment(machine: Path, env: dict) -> dict:
    """The machine's own code first (the venv's editable install points elsewhere), one thread."""
    return os.environ | env | {"PYTHONPATH": f"{machine / 'src'}:{machine}", "OMP_NUM_THREADS": "1",
                               "PATH": f"{BIN}:{os.environ['PATH']}"}


def _mastery(machine: Path, env: dict, *args: str) -> None:
    result = subprocess.run([str(BIN / "mastery"), *args], cwd=machine, env=_environment(machine, env),
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MasteryError(f"mastery {' '.join(args)} on {machine.name}: {result.stderr[-2000:]}")


def _spawn(machine: Path, env: dict, *args: str) -> subprocess.Popen:
    log = open(machine / f"{args[0]}.log", "w")  # noqa: SIM115 - the process keeps it
    return subprocess.Popen([str(BIN / "mastery"), *args], cwd=machine, env=_environment(machine, env),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _first_scheduled_run(api: str, name: str, timeout_s: float = 1800) -> dict:
    """Wait for the first run of deployment `name`'s schedule to finish (pausing the schedule
    once it has started, so no more pile up)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + timeout_s
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
                flow_run_filter=FlowRunFilter(), sort=FlowRunSort.EXPECTED_START_TIME_ASC)
            started = [r for r in runs if r.state and r.state.type.value not in ("SCHEDULED", "PENDING")]
            if started:
                deployment_id = started[0].deployment_id
                for schedule in client.read_deployment(deployment_id).schedules:
                    client.update_deployment_schedule(deployment_id, schedule.id, active=False)
                if started[0].state.is_final():
                    run = started[0]
                    return {"id": str(run.id), "state": run.state.name, "auto_scheduled": run.auto_scheduled}
            time.sleep(3)
    raise MasteryError(f"no scheduled run of {name} finished in {timeout_s} s")


def _registry(mlflow_url: str) -> dict:
    """Each registered model's versions and aliases, as the PostgreSQL-backed server holds them."""
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_url)
    return {model.name: {"versions": len(client.search_model_versions(f"name = '{model.name}'")),
                         "aliases": dict(model.aliases)}
            for model in client.search_registered_models()}


def _study_on_both(machines: list[Path], env: dict, budget: int) -> dict:
    """`mastery tune --workers 2` on both machines at once; one worker SIGKILLed mid-trial.
    The training run's tune step already finished the study, so its budget is raised to
    `budget` first: the same study continues (its finished trials stay) on four workers."""
    import optuna
    import yaml

    for machine in machines:
        spec_path = machine / "pipelines" / "quickstart.yaml"
        spec = yaml.safe_load(spec_path.read_text())
        spec["tune"]["trials"] = budget
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    searches = [_spawn(machine, env, "tune", "--pipeline", "quickstart", "--workers", "2") for machine in machines]
    victim = _kill_a_worker_mid_trial(searches[0], env["MASTERY_STUDY_STORAGE"])
    for search in searches:
        search.wait()
    _mastery(machines[0], env, "tune", "--pipeline", "quickstart")  # the killed machine's rerun writes its result
    (summary,) = optuna.get_all_study_summaries(env["MASTERY_STUDY_STORAGE"])
    trials = optuna.load_study(study_name=summary.study_name, storage=env["MASTERY_STUDY_STORAGE"]).trials
    return {"study": summary.study_name, "budget": budget, "killed_worker_pid": victim,
            "trials": [{"number": t.number, "state": t.state.name, "retry_of": t.system_attrs.get("failed_trial")}
                       for t in trials]}


def _kill_a_worker_mid_trial(search: subprocess.Popen, storage: str, timeout_s: float = 600) -> int:
    """Once a trial has completed, SIGKILL one of `search`'s worker processes in the middle of
    a trial (the trial's `worker` attribute names its process)."""
    import optuna

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        summaries = optuna.get_all_study_summaries(storage) if _has_tables(storage) else []
        if summaries:
            trials = optuna.load_study(study_name=summaries[0].study_name, storage=storage).trials
            ours = set(_trial_workers(search.pid))
            running = [int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials
                       if t.state.name == "RUNNING" and "worker" in t.user_attrs]
            victims = [pid for pid in running if pid in ours]
            if victims and any(t.state.name == "COMPLETE" for t in trials):
                os.kill(victims[0], 9)
                return victims[0]
        time.sleep(0.5)
    raise MasteryError("no worker of the search was ever mid-trial after a trial had completed")


def _has_tables(storage: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(storage)
    try:
        return "studies" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _trial_workers(pid: int) -> list[int]:
    """The search's spawned worker processes (not multiprocessing's resource tracker)."""
    result = subprocess.run(["pgrep", "-P", str(pid), "-f", "spawn_main"], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def main() -> None:
    """`make distributed`: the demo in a temporary directory, then where to look."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=demo.__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="shrink the quickstart spec to seconds")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="leave the stack up until Enter")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="mastery-distributed-") as out:
        report = demo(repo, Path(out), tiny=args.tiny, trials=args.trials, keep=args.keep)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
