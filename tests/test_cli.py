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
    images = project / "data" / "quickstart" / "raw" / "image.npy"
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


def failed_cleanly(result, *phrases: str) -> bool:
    """Exit 1 with a message of a few lines that holds `phrases`, and no traceback."""
    return (result.exit_code == 1 and all(p in result.stderr for p in phrases)
            and "Traceback" not in result.output and len(result.stderr.splitlines()) <= 4)


def test_lineage_forms_that_name_nothing_say_what_exists(project):
    from mlflow import MlflowClient

    client = MlflowClient()
    client.create_registered_model("quickstart-digits")
    client.create_model_version("quickstart-digits", source=str(project))
    assert failed_cleanly(runner.invoke(app, ["lineage", "quickstart-digits@champion"]),
                          "has no alias 'champion'; aliases: none")
    assert failed_cleanly(runner.invoke(app, ["lineage", "quickstart-digits/99"]),
                          "model 'quickstart-digits' has no version '99'; versions: 1")
    assert failed_cleanly(runner.invoke(app, ["lineage", "quickstart-digits/abc"]), "has no version 'abc'")
    assert failed_cleanly(runner.invoke(app, ["lineage", "nope"]),
                          "no registered model 'nope'", "registered: quickstart-digits")


def test_an_unknown_pipeline_lists_the_known_ones(project):
    for command in (["train", "-p", "nosuch"], ["flow", "run", "nosuch"]):
        assert failed_cleanly(runner.invoke(app, command), "no pipeline 'nosuch'", "pipelines: fashion_nas, forecast, quickstart")


def test_a_bad_default_is_named_by_the_key_in_the_file(project):
    spec = project / "pipelines" / "quickstart.yaml"
    spec.write_text(spec.read_text().replace("lr: 0.002", "lr: fast"))
    assert failed_cleanly(runner.invoke(app, ["train", "-p", "quickstart"]),
                          "quickstart.yaml: train.optimizer.lr: expected float, got 'fast'")
