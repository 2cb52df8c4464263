"""The serving contract: the JSON shape the lead fixed, round-trips, and refuses what it does not know."""

import json

import pytest

from mastery.export.contract import Contract, ContractError
from mastery.tasks import build_task


def test_an_image_classifiers_contract_comes_from_its_task_and_round_trips():
    stats = {"classes": list("0123456789"), "dims": {"in_shape": [1, 8, 8]}}  # what prepare wrote
    contract = build_task("classification", "image").contract(stats)
    assert json.loads(contract.to_json()) == {
        "task": "classification",
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 1, 8, 8], "min": 0.0, "max": 1.0}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}],
        "classes": list("0123456789"),
        "profile": "image",
    }
    assert Contract.from_json(contract.to_json()) == contract


def test_optional_fields_stay_optional():
    text = json.dumps({"task": "forecasting", "inputs": [{"name": "history", "dtype": "float32", "shape": ["batch", "time", 1]}],
                       "outputs": [{"name": "forecast", "dtype": "float32", "shape": ["batch", 24]}]})
    contract = Contract.from_json(text)
    assert contract.classes is None and contract.profile is None and contract.inputs[0].min is None
    assert contract.inputs[0].shape == ("batch", "time", 1)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "malformed"),
    ('{"task": "classification", "inputs": [], "outputs": []}', "at least one input"),
    ('{"task": "c", "inputs": [{"name": "x", "dtype": "float16", "shape": [1]}], "outputs": []}', "float16"),
    ('{"task": "c", "inputs": [], "outputs": [], "clases": []}', "did you mean 'classes'"),
])
def test_a_malformed_contract_is_refused_with_the_reason(text, message):
    with pytest.raises(ContractError, match=message):
        Contract.from_json(text)
