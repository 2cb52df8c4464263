"""`mastery nas`: a multi-objective search whose chosen architecture joins the candidates."""

import json

import optuna
import pytest
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.errors import MasteryError
from mastery.evaluation.cost import count_parameters
from mastery.models import build_model
from mastery.search.study import open_storage
from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.ingest import ingest
from mastery.steps.nas import nas
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.validate import validate


def _with_nas(project, candidates=(), **nas_settings):
    """Quickstart with a small search over conv nets on digits (and more candidates), prepared."""
    def mutate(spec):
        spec["candidates"] += list(candidates)
        spec["nas"] = {
            "candidate": {"name": "nas", "model": "convnet"},
            "trials": 6,
            "population": 3,
            "train": {"epochs": 1, "max_batches": 3},
            "latency_device": "cpu",
            "space": {
                "blocks": {"low": 1, "high": 2},
                "params.channels": {"choices": [4, 8, 16], "per": "blocks"},
                "params.kernels": {"choices": [3, 5], "per": "blocks"},
                "params.residual": {"choices": [True, False]},
                "params.head": {"choices": [0, 16]},
                "params.stride": {"choices": [1, 2]},
            },
        } | nas_settings
    edit_yaml(project / "pipelines" / "quickstart.yaml", mutate)
    ctx = load_context("quickstart")
    for step in (ingest, validate, prepare):
        step(ctx)
    return ctx


@pytest.fixture
def searched(project):
    ctx = _with_nas(project)
    return ctx, nas(ctx)


def dominates(a: dict, b: dict) -> bool:
    keys = (("val_accuracy", 1), ("n_parameters", -1), ("latency_ms", -1))
    no_worse = all(sign * a[k] >= sign * b[k] for k, sign in keys)
    return no_worse and any(sign * a[k] > sign * b[k] for k, sign in keys)


def test_the_front_the_choice_and_its_training(searched):
    """The saved front is the undominated set, the choice follows the rule, and the chosen net trains."""
    ctx, record = searched
    front = json.loads((ctx.paths.search("nas") / "pareto.json").read_text())
    study = optuna.load_study(study_name=record["study"], storage=open_storage(ctx, ctx.spec.nas))
    done = [{"trial": t.number, **t.user_attrs} for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 6
    undominated = {t["trial"] for t in done if not any(dominates(o, t) for o in done)}
    assert {t["trial"] for t in front} == undominated
    best = max(t["val_accuracy"] for t in front)
    near = [t for t in front if t["val_accuracy"] >= best - ctx.spec.nas.choose.tolerance]
    assert record["n_parameters"] == min(t["n_parameters"] for t in near)
    for trial in front:  # the count and latency are the trial's own model's
        channels = trial["values"]["params.channels"]
        assert len(channels) == len(trial["values"]["params.kernels"])
        assert trial["latency_ms"] > 0
    assert (ctx.paths.search("nas") / "pareto_front.png").is_file()
    run = MlflowClient().get_run(study.trials[record["trial"]].user_attrs["mlflow_run_id"])
    assert run.data.metrics["n_parameters"] == record["n_parameters"]
    assert run.data.metrics["latency_ms"] == pytest.approx(record["latency_ms"])
    assert run.data.tags["mlflow.parentRunId"] == study.user_attrs["mlflow_run_id"]

    # the rule only reads the front: a new one re-chooses from the finished study
    edit_yaml(ctx.paths.spec, lambda s: s["nas"].update(choose={"tolerance": 1.0, "prefer": "latency_ms"}))
    again = nas(load_context("quickstart"))
    assert again["study"] == record["study"] and again["trials"] == record["trials"]  # no new trial
    assert again["latency_ms"] == min(t["latency_ms"] for t in front)

    # the chosen architecture is trained and scored like any candidate
    ctx = load_context("quickstart")
    assert [c.name for c in ctx.candidates] == ["mlp", "nas"]
    chosen = ctx.candidates[1]
    assert (chosen.model, chosen.params["channels"]) == ("convnet", again["values"]["params.channels"])
    train(ctx)
    summary = evaluate(ctx)
    assert set(summary["candidates"]) == {"mlp", "nas"}



def test_a_reference_is_a_constraint_of_the_search_and_its_front(project):
    """Trials cost no more than the reference or they are infeasible: the front holds only the
    feasible undominated ones, each faster than the reference timed beside it."""
    ctx = _with_nas(project, [{"name": "resnet", "model": "resnet20"}], reference="resnet", trials=4)
    record = nas(ctx)
    study = optuna.load_study(study_name=record["study"], storage=open_storage(ctx, ctx.spec.nas))
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    reference_parameters = count_parameters(build_model("resnet20", in_shape=(1, 8, 8), num_classes=10))
    for trial in done:
        a = trial.user_attrs
        assert trial.constraints == pytest.approx({"parameters": a["n_parameters"] / reference_parameters - 1,
                                                   "latency": a["latency_ms"] / a["reference_latency_ms"] - 1})
    feasible = [{"trial": t.number, **t.user_attrs} for t in done if max(t.constraints.values()) <= 0]
    assert len(feasible) == 4  # nets of 1-2 blocks of <= 16 channels against ResNet-20's 19 convs
    front = json.loads((ctx.paths.search("nas") / "pareto.json").read_text())
    assert {t["trial"] for t in front} == {t["trial"] for t in feasible if not any(dominates(o, t) for o in feasible)}
    assert all(t["latency_ms"] <= t["reference_latency_ms"] for t in front)


def test_a_search_with_no_trial_within_the_reference_says_so(project):
    tiny = {"name": "tiny", "model": "mlp", "params": {"hidden": [2]}}  # 160 parameters, two matmuls
    ctx = _with_nas(project, [tiny], reference="tiny", trials=2)
    with pytest.raises(MasteryError, match=r"none of 2 trials is smaller and faster than nas.reference 'tiny' "
                                           r"\(the closest, trial \d: (parameters|latency) \+"):
        nas(ctx)


def test_a_net_proposed_again_reuses_its_result_and_is_not_trained_twice(project):
    """A space of one net: every trial after the first is its twin, answered from it, constraints too."""
    import mlflow

    tiny = {"name": "tiny", "model": "mlp", "params": {"hidden": [2]}}
    one_net = {"blocks": {"low": 1, "high": 1}, "params.channels": {"choices": [8], "per": "blocks"}}
    ctx = _with_nas(project, [tiny], reference="tiny", trials=3, space=one_net)
    with pytest.raises(MasteryError, match="none of 3 trials"):  # every one larger than the tiny MLP
        nas(ctx)
    study = optuna.load_study(study_name=None, storage=open_storage(ctx, ctx.spec.nas))  # the only one
    first, *twins = study.trials
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    assert first.constraints["parameters"] > 0
    for twin in twins:
        assert twin.user_attrs["same_as_trial"] == 0
        assert twin.values == first.values and twin.constraints == first.constraints
        assert "mlflow_run_id" not in twin.user_attrs
    trial_runs = [r for r in mlflow.search_runs(search_all_experiments=True, output_format="list")
                  if "optuna.trial" in r.data.tags]
    assert [r.data.tags["optuna.trial"] for r in trial_runs] == ["0"]
