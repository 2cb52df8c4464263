"""The zoo table ranks candidates and states the budget each was trained on."""

import torch

from mastery.evaluation.zoo import ZooRow, write_zoo_table
from mastery.tasks.metrics import Metric, MetricTable

CLASSIFICATION = MetricTable((Metric("accuracy", "maximize"), Metric("f1_macro", "maximize")),
                             headline=("accuracy", "f1_macro"))


def _row(name, accuracy, max_batches=None):
    return ZooRow(name, name, {"accuracy": accuracy, "f1_macro": accuracy - 0.01}, 61_706, 12.34, 0.456, 2, max_batches)


def test_table_lists_every_row_best_first_with_its_budget(tmp_path):
    path = write_zoo_table([_row("mlp", 0.85), _row("lenet5", 0.9, max_batches=20)], CLASSIFICATION,
                           tmp_path / "zoo.md", "Model zoo: vision", torch.device("cpu"))
    lines = path.read_text().splitlines()
    assert lines[0] == "# Model zoo: vision" and "`cpu`" in lines[2]
    header, _, first, second = lines[4:]
    assert header.startswith("| candidate | family | test accuracy | test f1 macro | parameters")
    assert first == "| lenet5 | lenet5 | 0.9000 | 0.8900 | 61,706 | 12.3 | 0.46 | 2 | 20 |"
    assert second.startswith("| mlp |") and second.endswith("| 2 | all |")


def test_cost_metrics_are_what_mlflow_compares():
    assert _row("mlp", 0.8).cost_metrics() == {"n_parameters": 61_706, "train_seconds": 12.34, "latency_ms": 0.456}


def test_a_metric_where_lower_is_better_ranks_lowest_first(tmp_path):
    forecast = MetricTable((Metric("mase", "minimize"),))
    rows = [ZooRow(n, n, {"mase": v}, 1, 1.0, 1.0, 1, None) for n, v in (("lstm", 0.6), ("naive", 1.0), ("gru", 0.5))]
    lines = write_zoo_table(rows, forecast, tmp_path / "zoo.md", "z", torch.device("cpu")).read_text().splitlines()
    assert [line.split(" | ")[0].strip("| ") for line in lines[6:]] == ["gru", "lstm", "naive"]
