"""The two doors agree: dvc.yaml and the step catalog (which the Prefect door uses) declare the
same pipeline, and what either door ran the other finds done, with no model registered twice."""

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import dvc, edit_yaml, ran, task_states
from flows.training import training_flow
from mlflow import MlflowClient
from safetensors.torch import load_file
from typer.testing import CliRunner

from mastery.cli import app
from mastery.paths import PipelinePaths
from mastery.steps.catalog import STAGES, STEPS

REPO = Path(__file__).resolve().parents[2]


def _stage(stage: dict, pipeline: str) -> dict:
    text = yaml.safe_dump(stage["do"]).replace("${item}", pipeline)
    return yaml.safe_load(text)


def test_every_dvc_stage_matches_its_catalog_step():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    stages = {name: stage for name, stage in stages.items() if "foreach" in stage}  # one-off experiments aside
    assert list(stages) == [step.name for step in STAGES]
    paths = PipelinePaths("quickstart", Path("."))
    for step in STAGES:
        stage = _stage(stages[step.name], "quickstart")
        assert stage["cmd"] == f"bin/mastery {step.name} --pipeline quickstart"
        spec_keys = next(p for p in stage["params"] if isinstance(p, dict))["pipelines/quickstart.yaml"]
        assert tuple(spec_keys) == step.spec, step.name
        assert tuple(p for p in stage["params"] if isinstance(p, str)) == step.params, step.name
        code = [d for d in stage["deps"] if d.startswith("src/")]
        assert code == [f"src/mastery/{c}" for c in step.code], step.name
        data = [d for d in stage["deps"] if not d.startswith("src/")]
        assert data == [str(p) for p in step.deps(paths)], step.name
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
        outs += [next(iter(m)) for key in ("metrics", "plots") for m in stage.get(key, [])]
        assert outs == [str(p) for p in step.outs(paths)], step.name
        assert stage.get("always_changed", False) == step.always_changed, step.name


@pytest.mark.long  # about 3 minutes: every stage of both doors, several times
@pytest.mark.usefixtures("prefect_api")
def test_dvc_then_the_flow_agree_on_what_is_done_and_register_no_duplicate(dvc_project):
    repro = dvc(dvc_project, "repro", "export@quickstart")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert ran(dvc(dvc_project, "repro", "export@quickstart")) == []  # a second repro does nothing
    weights = dvc_project / "models" / "quickstart" / "mlp" / "model.safetensors"
    dvc_weights = load_file(weights)
    client = MlflowClient()

    def versions() -> list[int]:
        return sorted(int(v.version) for v in client.search_model_versions("name='quickstart-digits'"))

    cli = CliRunner().invoke(app, ["flow", "run", "quickstart"])  # `mastery flow run`, in the project
    assert cli.exit_code == 0, cli.output
    clean = dvc(dvc_project, "status", "export@quickstart", "--with-deps")
    assert "up to date" in clean.stdout, clean.stdout

    # a lost output re-runs its step and what follows; the same seed gives the same weights,
    # and the same model is not registered twice
    shutil.rmtree(dvc_project / "models" / "quickstart")
    state = training_flow("quickstart", str(dvc_project), return_state=True)
    states = task_states(state)
    assert [states[s.name] for s in STEPS[:5]] == ["Cached"] * 5
    assert {states[s] for s in ("train", "evaluate", "promote", "export")} == {"Completed"}
    flow_weights = load_file(weights)
    assert all(torch.equal(flow_weights[k], dvc_weights[k]) for k in dvc_weights)
    assert versions() == [1]
    evaluation = json.loads((dvc_project / "reports" / "quickstart" / "evaluation.json").read_text())
    assert "reused, not registered again" in evaluation["registration"]
    promotion = json.loads((dvc_project / "reports" / "promotion" / "quickstart.json").read_text())
    assert "is the champion already" in promotion["summary"]

    # an experiment that re-evaluates the same model registers nothing new either
    with open(dvc_project / "src" / "mastery" / "evaluation" / "zoo.py", "a") as code:
        code.write("# touched\n")
    experiment = dvc(dvc_project, "exp", "run", "export@quickstart")
    assert experiment.returncode == 0, experiment.stdout + experiment.stderr
    assert "evaluate@quickstart" in ran(experiment) and versions() == [1]

    # a changed param: the flow re-runs what reads it and registers the new model; DVC agrees
    edit_yaml(dvc_project / "pipelines" / "quickstart.yaml", lambda s: s["candidates"][0]["params"].update(activation="tanh"))
    states = task_states(training_flow("quickstart", str(dvc_project), return_state=True))
    assert states["nas"] == "Cached" and states["tune"] == "Completed" and states["train"] == "Completed"
    assert versions() == [1, 2]
    assert ran(dvc(dvc_project, "repro", "export@quickstart")) == []

    # what either door made goes to the local remote and comes back into an empty workspace
    assert dvc(dvc_project, "push").returncode == 0
    for path in (".dvc/cache", "data", "models"):
        shutil.rmtree(dvc_project / path)
    pulled = dvc(dvc_project, "pull", "--with-deps", "export@quickstart")
    assert pulled.returncode == 0, pulled.stderr
    assert load_file(weights).keys() == dvc_weights.keys()
    assert "up to date" in dvc(dvc_project, "status", "export@quickstart", "--with-deps").stdout
