"""Export: the champion as fp32 and int8 ONNX, checked against the eager model, with lineage."""

from __future__ import annotations

import shutil

from mastery.data.prepare import PreparedData
from mastery.export import (
    CONTRACT_KEY,
    assert_parity,
    export_onnx,
    measure_parity,
    onnx_session,
    quantize_int8,
)
from mastery.steps.context import Context
from mastery.steps.records import write_json
from mastery.tracking import aliases
from mastery.tracking.lineage import LINEAGE_TAGS, file_digest
from mastery.tracking.mlflow_runs import configure
from mastery.tracking.registry import load_version


def export(ctx: Context) -> dict:
    """Write `exports/<pipeline>/` (model.onnx, model.int8.onnx, parity.json).

    Parity is judged on the whole test split; the report is written before the verdict,
    so a failed check leaves its figures behind. Only exports that pass are logged to the
    champion's run and tagged (sha256) on its model version.
    """
    import mlflow
    from mlflow import MlflowClient

    configure(ctx.params.tracking, ctx.spec.name)
    name, config = ctx.spec.registered_model, ctx.spec.export
    out = ctx.paths.exports
    shutil.rmtree(out, ignore_errors=True)
    if aliases.current_champion(MlflowClient(), name) is None:  # no model has passed the gate yet
        report = {"model": name, "version": None, "checks": [], "note": "no champion: nothing exported"}
        write_json(out / "parity.json", report)
        return report
    model, _, version = load_version(name, aliases.CHAMPION)
    data, task = PreparedData.load(ctx.paths.prepared), ctx.task
    test = data.splits["test"]
    metadata = {"model": name, "version": str(version.version), "run_id": version.run_id}
    metadata |= {k: version.tags.get(k, "unknown") for k in LINEAGE_TAGS}
    metadata[CONTRACT_KEY] = task.contract(data.stats).to_json()

    example = dict(zip(task.inputs, task.example(test, 5), strict=True))
    files = {"onnx": export_onnx(model, example, task.dynamic_dims(), task.output, out / "model.onnx", metadata)}
    tolerances = {"onnx": (config.fp32_max_abs, config.fp32_metric_tolerance)}
    if config.int8:
        files["onnx_int8"] = quantize_int8(files["onnx"], out / "model.int8.onnx")
        tolerances["onnx_int8"] = (config.int8_max_abs, config.int8_metric_tolerance)
    reports = [measure_parity(kind, model, task, test, data.stats, onnx_session(path), *tolerances[kind])
               for kind, path in files.items()]
    write_json(out / "parity.json", {"model": name, "version": str(version.version),
                                     "checks": [r.to_dict() for r in reports]})
    for report in reports:
        assert_parity(report)
    hashes = {f"{kind}_sha256": file_digest(path, "sha256") for kind, path in files.items()}
    client = MlflowClient()
    for tag, value in hashes.items():
        client.set_model_version_tag(name, str(version.version), tag, value)
    with mlflow.start_run(run_id=version.run_id):
        mlflow.log_artifacts(str(out), "onnx")
    return {"model": name, "version": str(version.version), **hashes,
            "parity": {r.name: {"max_abs_diff": r.max_abs_diff, "metric_delta": r.metric_delta} for r in reports}}

