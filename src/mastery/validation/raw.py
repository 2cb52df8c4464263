"""The gate between ingest and prepare: raw data meets its dataset's suite or the run stops."""

from __future__ import annotations

import json
import reprlib
from pathlib import Path

from mastery.data.raw import RawData
from mastery.data.registry import DatasetInfo
from mastery.errors import MasteryError
from mastery.validation.profile import class_profile, sample_profile
from mastery.validation.suite import CLASSES, ROW_KEYS, SAMPLES, expectations, run_suites


class DataValidationError(MasteryError):
    """Raw data broke its contract; the message names the dataset, column, check and rows."""


def validate_raw(raw: RawData, info: DatasetInfo, out_dir: Path) -> dict:
    """Validate raw data against the dataset's suite, writing result.json and docs/ either way.

    Returns the summary (success, dataset, rows, failed); raises DataValidationError on failure.
    """
    _check_structure(raw, info.name)
    suites = expectations(info, raw.declared_rows, raw.extra.get("incoming_rows", 0))
    tables = {SAMPLES: sample_profile(raw)}
    if CLASSES in suites:
        tables[CLASSES] = class_profile(raw["label"], info.num_classes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = run_suites(info.name, tables, suites, out_dir / "docs")
    failed = [failure for table, result in results.items() for failure in _failures(table, result)]
    summary = {
        "success": all(result["success"] for result in results.values()),
        "dataset": info.name,
        "rows": raw.rows,
        "failed": failed,
    }
    report = {**summary, "results": results}
    (out_dir / "result.json").write_text(json.dumps(report, indent=2) + "\n")
    if not summary["success"]:
        raise DataValidationError(_message(info.name, failed))
    return summary


def _check_structure(raw: RawData, dataset: str) -> None:
    """Arrays that cannot even be profiled per sample fail before GX is involved."""
    if raw.modality == "image" and (raw["image"].ndim < 2 or 0 in raw["image"].shape[1:]):
        raise DataValidationError(
            f"{dataset}: images have shape {raw['image'].shape}; expected (N, C, H, W) pixels"
        )
    lengths = {name: len(array) for name, array in raw.arrays.items()} | {"source_split": raw.rows}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{n:,} {name}" for name, n in lengths.items())
        raise DataValidationError(f"{dataset}: arrays of unequal length ({counts}); all must be equal")


def _failures(table: str, result: dict):
    """The failed expectations of one table's GX result, each with what the data showed."""
    for outcome in result["results"]:
        if not outcome["success"]:
            config = outcome["expectation_config"]
            kwargs = {k: v for k, v in config["kwargs"].items() if k not in ("batch_id", "column")}
            yield {
                "table": table,
                "column": config["kwargs"].get("column"),
                "expectation": config["type"],
                "kwargs": kwargs,
                "found": _found(outcome, ROW_KEYS[table]),
            }


def _found(outcome: dict, row_key: str) -> str:
    """The observed value, the missing values, or the offending rows of a failed expectation."""
    if error := _exception(outcome):
        return f"raised {error}"
    detail = outcome["result"]
    if detail.get("observed_value") is not None:
        return f"observed {_short(detail['observed_value'])}"
    if "partial_missing_list" in detail:
        return f"missing {_join(detail['partial_missing_list'])}"
    rows = detail["partial_unexpected_index_list"]
    more = " ..." if detail["unexpected_count"] > len(rows) else ""
    values = _join(dict.fromkeys(detail["partial_unexpected_list"]))
    count = detail["unexpected_count"]
    return f"{count} unexpected row(s), values {values}, e.g. {row_key} {_join(rows)}{more}"


def _exception(outcome: dict) -> str:
    """GX's exception message(s): one record, or one per metric that failed to compute."""
    info = outcome.get("exception_info") or {}
    records = [info] if "raised_exception" in info else info.values()
    return "; ".join(
        dict.fromkeys(r["exception_message"] for r in records if r.get("raised_exception"))
    )


def _message(dataset: str, failed: list[dict]) -> str:
    lines = [f"{dataset}: {len(failed)} expectation(s) failed"]
    for failure in failed:
        column = failure["column"]
        where = f"{failure['table']} " + (f"column '{column}'" if column else "table")
        args = ", ".join(f"{name}={_short(value)}" for name, value in failure["kwargs"].items())
        lines.append(f"  - {where}: {failure['expectation']}({args}) — {failure['found']}")
    return "\n".join(lines)


def _join(values) -> str:
    return ", ".join(_short(value) for value in values)


def _short(value) -> str:
    """A value short enough for one terminal line."""
    return f"{value:.4g}" if isinstance(value, float) else reprlib.repr(value)
