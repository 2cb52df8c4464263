"""Data-parallel training: two CPU processes (gloo, launched by torchrun from the train step)
end where one process ends with the same global batch, and resume from rank 0's checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import edit_yaml
from safetensors.torch import load_file

from mastery.steps.context import load_context
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train


def weights(project, name: str) -> dict:
    return load_file(project / "models" / "quickstart" / name / "model.safetensors")


@pytest.mark.slow  # two torchrun launches and a resume: minutes on 2 cores
def test_two_processes_train_what_one_does_and_resume(project):
    def deterministic_pair(spec):
        spec.update(tune=None)
        base = spec["candidates"][0] | {"params": {"hidden": [32], "dropout": 0.0}}  # no randomness inside a batch
        base["train"] = base.get("train", {}) | {"batch_size": 64, "max_batches": 6, "epochs": 2}
        spec["candidates"] = [base | {"name": "one"},
                              base | {"name": "two", "train": base["train"] | {"processes": 2}}]

    edit_yaml(project / "pipelines" / "quickstart.yaml", deterministic_pair)
    ctx = load_context("quickstart")
    ingest(ctx), prepare(ctx)
    records = train(ctx)
    one, two = weights(project, "one"), weights(project, "two")
    assert one.keys() == two.keys()
    assert all(torch.allclose(one[k], two[k], atol=1e-5) for k in one)
    assert abs(records["one"]["val_loss"] - records["two"]["val_loss"]) < 1e-5
    history = json.loads((project / "models" / "quickstart" / "two" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]

    again = train(load_context("quickstart"))  # every rank finds rank 0's last checkpoint: nothing left to do
    assert again["two"] == records["two"] and torch.equal(weights(project, "two")["net.head.weight"],
                                                          two["net.head.weight"])
