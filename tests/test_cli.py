"""The CLI door: exit codes and messages a user sees."""

import numpy as np
from typer.testing import CliRunner

from mastery.cli import app

runner = CliRunner()


def test_models_lists_families_with_parameter_counts():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    lines = dict(line.split(maxsplit=1) for line in result.stdout.strip().splitlines())
    assert {"mlp", "lenet5"} <= set(lines)
    assert lines["lenet5"].replace(",", "").split()[0] == "61706"


def test_validate_fails_fast_naming_dataset_column_and_expectation(project):
    assert runner.invoke(app, ["ingest", "-p", "quickstart"]).exit_code == 0
    images = project / "data" / "quickstart" / "raw" / "images.npy"
    corrupt = np.load(images).astype(np.float32)
    corrupt[3, 0, 2, 2] = np.nan
    np.save(images, corrupt)
    result = runner.invoke(app, ["validate", "-p", "quickstart"])
    assert result.exit_code == 1
    assert "validate (quickstart) failed" in result.stderr
    assert "column 'nan_count'" in result.stderr and "index 3" in result.stderr
    assert (project / "reports" / "validation" / "quickstart" / "result.json").is_file()


def test_unknown_spec_key_is_a_clean_error(project):
    spec = project / "pipelines" / "quickstart.yaml"
    spec.write_text(spec.read_text().replace("selection_metric:", "selection_metrik:"))
    result = runner.invoke(app, ["prepare", "-p", "quickstart"])
    assert result.exit_code == 1
    assert "unknown key 'selection_metrik' (did you mean 'selection_metric'?)" in result.stderr


def test_lineage_of_a_missing_alias_says_so(project):
    from mlflow import MlflowClient

    MlflowClient().create_registered_model("quickstart-digits")
    result = runner.invoke(app, ["lineage", "quickstart-digits@champion"])
    assert result.exit_code == 1 and "has no alias 'champion'" in result.stderr


def test_lineage_of_an_unknown_model_says_so(project):
    result = runner.invoke(app, ["lineage", "nope"])
    assert result.exit_code == 1 and "no registered model 'nope'" in result.stderr
