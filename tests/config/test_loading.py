"""Specs are parsed into typed objects once; a misspelt key is an error that names it."""

from pathlib import Path

import pytest
import yaml

from mastery.config import ConfigError, TaskConfig, TrainConfig, load_params, load_spec

REPO = Path(__file__).resolve().parents[2]


def test_repo_params_and_specs_load():
    params = load_params(REPO / "params.yaml")
    for name in params.pipelines:
        spec = load_spec(name, REPO)
        assert spec.name == name
        assert all(isinstance(c.train, TrainConfig) for c in spec.candidates)


def test_candidate_train_overrides_pipeline_defaults():
    spec = load_spec("quickstart", REPO)
    mlp = spec.candidate("mlp")
    raw = yaml.safe_load((REPO / "pipelines" / "quickstart.yaml").read_text())
    assert mlp.train.init == raw["candidates"][0]["train"]["init"]
    assert mlp.train.optimizer.lr == float(raw["train"]["optimizer"]["lr"])


def _write_spec(tmp_path, mutate) -> Path:
    spec = yaml.safe_load((REPO / "pipelines" / "quickstart.yaml").read_text())
    mutate(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_unknown_nested_key_names_path_and_suggestion(tmp_path):
    path = _write_spec(tmp_path, lambda s: s["train"]["optimizer"].update(lrr=0.1))
    with pytest.raises(ConfigError, match=r"spec.yaml: train\.optimizer: unknown key 'lrr' \(did you mean 'lr'\?\)"):
        load_spec(path)


def test_a_bad_value_is_reported_where_the_user_wrote_it(tmp_path):
    """A pipeline default is named by its own key, a candidate's override by the candidate's."""
    path = _write_spec(tmp_path, lambda s: s["train"]["optimizer"].update(lr="fast"))
    with pytest.raises(ConfigError, match=r"spec.yaml: train\.optimizer\.lr: expected float, got 'fast'$"):
        load_spec(path)
    path = _write_spec(tmp_path, lambda s: s["candidates"][0]["train"].update(epochs="ten"))
    with pytest.raises(ConfigError, match=r"spec.yaml: candidates\[0\]\.train\.epochs: expected int"):
        load_spec(path)


def test_an_unknown_pipeline_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"no pipeline 'nosuch' .*; pipelines: .*\bfashion_nas, forecast\b.*\bquickstart\b.*\bvision\b"):
        load_spec("nosuch", REPO)


def test_unknown_top_level_key(tmp_path):
    path = _write_spec(tmp_path, lambda s: s.update(datset="digits"))
    with pytest.raises(ConfigError, match="unknown key 'datset'"):
        load_spec(path)


def test_wrong_literal_and_type(tmp_path):
    path = _write_spec(tmp_path, lambda s: s["train"]["optimizer"].update(name="adamax"))
    with pytest.raises(ConfigError, match="'adamax' is not one of"):
        load_spec(path)
    path = _write_spec(tmp_path, lambda s: s["train"].update(epochs="ten"))
    with pytest.raises(ConfigError, match="epochs: expected int"):
        load_spec(path)


def test_duplicate_candidates_rejected(tmp_path):
    path = _write_spec(tmp_path, lambda s: s["candidates"].append(dict(s["candidates"][0])))
    with pytest.raises(ConfigError, match="unique"):
        load_spec(path)


def test_a_task_is_named_alone_or_with_its_settings(tmp_path):
    assert load_spec("quickstart", REPO).task == TaskConfig("classification")
    path = _write_spec(tmp_path, lambda s: s.update(task={"name": "reconstruction", "noise_std": 0.3}))
    assert load_spec(path).task == TaskConfig("reconstruction", noise_std=0.3, noise_seed=0)
    path = _write_spec(tmp_path, lambda s: s.update(task={"name": "reconstruction", "noise": 0.3}))
    with pytest.raises(ConfigError, match=r"task: unknown key 'noise' \(did you mean 'noise_std'\?\)"):
        load_spec(path)


def test_missing_required_key(tmp_path):
    path = _write_spec(tmp_path, lambda s: s.pop("dataset"))
    with pytest.raises(ConfigError, match="dataset: required key is missing"):
        load_spec(path)


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.yaml")) + [REPO / "params.yaml"], ids=lambda p: p.name)
def test_dvc_exp_run_set_param_keeps_the_file_as_written(path):
    """`dvc exp run -S key=value` rewrites the whole file through DVC's YAML round trip; the
    files are written in the style it emits, so only the value set changes."""
    from dvc.utils.serialize._yaml import dumps_yaml, parse_yaml_for_update

    text = path.read_text()
    assert dumps_yaml(parse_yaml_for_update(text, str(path))) == text
