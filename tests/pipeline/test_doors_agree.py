"""dvc.yaml and the step catalog (which the Prefect door uses) declare the same pipeline."""

from pathlib import Path

import yaml

from mastery.paths import PipelinePaths
from mastery.steps.catalog import STAGES

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
