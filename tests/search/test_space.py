"""Search spaces: declared in YAML, checked at load, sampled define-by-run."""

from types import SimpleNamespace

import optuna
import pytest
import yaml

from mastery.config import ConfigError, load_spec, override
from mastery.config.schema import ChoiceRule, Distribution
from mastery.errors import MasteryError
from mastery.search.searches import choose
from mastery.search.space import suggest


def write_spec(tmp_path, **sections):
    spec = {"name": "s", "dataset": "digits", "registered_model": "m",
            "candidates": [{"name": "mlp", "model": "mlp"}], **sections}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_per_keys_sample_one_value_per_unit_and_counts_are_not_applied():
    space = {
        "blocks": Distribution(low=1, high=3),
        "params.channels": Distribution(choices=(8, 16), per="blocks"),
        "train.optimizer.lr": Distribution(low=1e-4, high=1e-1, log=True),
        "train.batch_size": Distribution(choices=(32, 64)),
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(8):
        trial = study.ask()
        values = suggest(trial, space)
        blocks = trial.params["blocks"]
        assert isinstance(blocks, int) and 1 <= blocks <= 3
        assert values["params.channels"] == [trial.params[f"params.channels[{i}]"] for i in range(blocks)]
        assert 1e-4 <= values["train.optimizer.lr"] <= 1e-1
        assert "blocks" not in values
        assert trial.user_attrs["values"] == values
        study.tell(trial, 0.0)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "the search space is empty"),
        ({"params.dropout": {"low": 0.1}}, "give either 'choices' or both 'low' and 'high'"),
        ({"params.dropout": {"choices": [0.1], "low": 0.0, "high": 1.0}}, "give either"),
        ({"params.dropout": {"choices": []}}, "'choices' is empty"),
        ({"params.dropout": {"low": 0.5, "high": 0.1}}, "low 0.5 > high 0.1"),
        ({"params.hidden": {"choices": [8], "per": "layers"}}, "per 'layers' must name an earlier integer range"),
        ({"layers": {"low": 0.5, "high": 2.5}, "params.hidden": {"choices": [8], "per": "layers"}}, "earlier integer"),
    ],
)
def test_malformed_spaces_are_refused_at_load(tmp_path, space, message):
    with pytest.raises(ConfigError, match=message):
        load_spec(write_spec(tmp_path, tune={"space": space}))


def test_tune_must_name_a_candidate_and_nas_a_new_one(tmp_path):
    space = {"train.optimizer.lr": {"low": 1.0e-4, "high": 1.0e-2}}
    with pytest.raises(ConfigError, match="tune.candidate 'cnn' is not one of"):
        load_spec(write_spec(tmp_path, tune={"candidate": "cnn", "space": space}))
    with pytest.raises(ConfigError, match="'mlp' is taken"):
        load_spec(write_spec(tmp_path, nas={"candidate": {"name": "mlp", "model": "convnet"}, "space": space}))
    with pytest.raises(ConfigError, match="nas.reference 'lenet5' is not one of"):
        load_spec(write_spec(tmp_path, nas={"candidate": {"name": "nas", "model": "convnet"}, "reference": "lenet5",
                                            "space": space}))
    with pytest.raises(ConfigError, match=r"unknown key 'sampel' \(did you mean 'sampler'\?\)"):
        load_spec(write_spec(tmp_path, tune={"sampel": "tpe", "space": space}))


def test_nas_candidate_starts_from_the_pipeline_recipe(tmp_path):
    spec = load_spec(write_spec(tmp_path, train={"epochs": 7, "optimizer": {"lr": 0.01}}, nas={
        "candidate": {"name": "nas", "model": "convnet", "train": {"epochs": 3}},
        "space": {"params.head": {"choices": [0, 16]}}}))
    assert (spec.nas.candidate.train.epochs, spec.nas.candidate.train.optimizer.lr) == (3, 0.01)


def test_override_sets_dotted_keys_and_checks_them(tmp_path):
    candidate = load_spec(write_spec(tmp_path)).candidates[0]
    changed = override(candidate, {"train.optimizer.lr": 0.5, "params.hidden": [8], "train.early_stopping.patience": 2},
                       "here")
    assert (changed.train.optimizer.lr, changed.params["hidden"], changed.train.early_stopping.patience) == (0.5, [8], 2)
    assert changed.train.early_stopping.patience == 2 and changed.train.early_stopping.monitor is None  # defaults
    with pytest.raises(ConfigError, match=r"here: train.optimizer: unknown key 'learning_rate'"):
        override(candidate, {"train.optimizer.learning_rate": 0.5}, "here")


def test_the_choice_is_the_smallest_model_near_the_best_accuracy():
    def trial(number, accuracy, params, latency):
        attrs = {"val_accuracy": accuracy, "n_parameters": params, "latency_ms": latency}
        return SimpleNamespace(number=number, user_attrs=attrs)

    front = [trial(0, 0.950, 90_000, 0.9), trial(1, 0.947, 20_000, 0.5), trial(2, 0.940, 5_000, 0.2)]

    def accuracy(t):
        return t.user_attrs["val_accuracy"]

    assert choose(front, ChoiceRule(tolerance=0.005, prefer="n_parameters"), accuracy).number == 1
    assert choose(front, ChoiceRule(tolerance=0.02, prefer="latency_ms"), accuracy).number == 2
    assert choose(front, ChoiceRule(tolerance=0.0), accuracy).number == 0
    assert choose(front, ChoiceRule(tolerance=0.0, max_parameters=60_000), accuracy).number == 1  # a serving budget
    assert choose(front, ChoiceRule(tolerance=0.0, max_latency_ms=0.3), accuracy).number == 2
    with pytest.raises(MasteryError, match=r"no architecture on the Pareto front fits .*'n_parameters': 1000"):
        choose(front, ChoiceRule(max_parameters=1_000), accuracy)
