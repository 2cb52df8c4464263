"""The expectations raw image data must meet, and running them in a throwaway GX context."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from mastery.data.registry import DatasetInfo
from mastery.modalities import get_modality
from mastery.offline_assets import localise_data_docs

SAMPLES, CLASSES = "samples", "classes"
# What each table's (unnamed) pandas index holds: GX reports offending rows by it. Naming the
# index, or passing unexpected_index_column_names, makes GX 1.24 look rows up one at a time.
ROW_KEYS = {SAMPLES: "index", CLASSES: "label"}
EXAMPLE_ROWS = 5


def expectations(info: DatasetInfo, declared_rows: int, incoming_rows: int = 0) -> dict[str, list]:
    """Per table, what valid raw data of this dataset looks like: row counts, origins and no
    sample shared between the source's splits for every modality, the modality's own checks,
    and for labelled data the label set and the class balance. The dataset's row bounds are
    the packaged source's; new batches (`mastery.data.incoming`) add to the upper one."""
    import great_expectations.expectations as gxe

    samples = [
        gxe.ExpectTableRowCountToBeBetween(min_value=info.rows[0], max_value=info.rows[1] + incoming_rows),
        gxe.ExpectTableRowCountToEqual(value=declared_rows),  # a truncated source
        gxe.ExpectColumnValuesToBeInSet(column="source_split", value_set=["train", "test"]),
        gxe.ExpectColumnValuesToBeBetween(column="splits_with_hash", max_value=1),  # leakage
        *get_modality(info.modality).expectations(info),
    ]
    if not info.classes:
        return {SAMPLES: samples}
    classes = list(range(info.num_classes))
    low, high = info.class_fraction
    samples += [
        # In-set plus contain-set is "the labels are exactly the classes". GX 1.24's
        # ...DistinctValuesToEqualSet breaks data docs rendering when it finds extras.
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=classes),
        gxe.ExpectColumnDistinctValuesToContainSet(column="label", value_set=classes),
    ]
    return {SAMPLES: samples,
            CLASSES: [gxe.ExpectColumnValuesToBeBetween(column="fraction", min_value=low, max_value=high)]}


def run_suites(
    dataset: str, tables: dict[str, pd.DataFrame], suites: dict[str, list], docs_dir: Path
) -> dict[str, dict]:
    """Validate each table against its suite and render data docs into a fresh docs_dir.

    The docs load local copies of their scripts and styles, so they render offline.

    An ephemeral context keeps nothing on disk but the docs: no gx/ folder appears, and a
    rerun with the same docs_dir cannot collide with names a previous run registered.
    """
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral", project_config=_config(docs_dir))
    source = context.data_sources.add_pandas("profile")
    results = {}
    for name, table in tables.items():
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(
            gx.ExpectationSuite(name=f"{dataset}.{name}", expectations=suites[name])
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{dataset}.{name}", data=batch, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": table},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLE_ROWS},
        )
        results[name] = result.to_json_dict()
    shutil.rmtree(docs_dir, ignore_errors=True)
    context.build_data_docs()
    localise_data_docs(docs_dir)
    return results


def _config(docs_dir: Path):
    """In-memory stores, one docs site at docs_dir, and no progress bars or analytics."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(Path(docs_dir).resolve()),  # GX needs an absolute path
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={"docs": site},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
