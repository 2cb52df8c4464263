"""A Fashion-MNIST autoencoder's reconstruction error as a drift signal, for real: a small MLP
autoencoder trained for seconds by the trainer, exported to ONNX with the contract export
writes, observed as the server logs its requests, and judged by the verdict `mastery monitor`
gives on the autoencoders pipeline (Evidently, its spec's `monitor`): MNIST digits sent to it
drift, fresh Fashion images do not, and upside-down ones drift in the error alone (their
pixel statistics are the fresh images')."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from mastery.config import CandidateSpec, TrainConfig, load_params, load_spec
from mastery.config.schema import PipelineSpec
from mastery.data.prepare import PreparedData, write_splits
from mastery.data.raw import RawData
from mastery.data.registry import get_dataset
from mastery.export import onnx_session
from mastery.export.onnx_export import export_onnx
from mastery.monitoring import tables
from mastery.monitoring.drift import compare
from mastery.monitoring.observe import drift_columns, observe
from mastery.serving.model import ServedModel
from mastery.tasks import build_task
from mastery.training.build import build_trainer
from mastery.training.device import CPU

pytestmark = pytest.mark.long  # about 40 s loaded, most of it the exporter's and Evidently's first calls

TRAIN, TEST = 2_000, 1_600  # Fashion-MNIST images: the first of each source split
TRAFFIC = 600  # rows a check judges: above monitor.min_rows


@pytest.fixture(scope="module")
def fashion(tmp_path_factory) -> PreparedData:
    """The first Fashion-MNIST images of each source split, prepared as the pipeline prepares them."""
    info, params = get_dataset("fashion_mnist"), load_params(REPO / "params.yaml")
    raw = info.load(params)
    rows = np.r_[np.flatnonzero(raw.source_split == "train")[:TRAIN], np.flatnonzero(raw.source_split == "test")[:TEST]]
    few = RawData({name: values[rows] for name, values in raw.arrays.items()}, raw.modality, raw.source_split[rows],
                  raw.source, len(rows))
    spec = PipelineSpec("anomaly-drift", info.name, "fashion-ae", candidates=())
    out = tmp_path_factory.mktemp("fashion")
    write_splits(few, info, spec, params.seed, out)
    return PreparedData.load(out)


@pytest.fixture(scope="module")
def served(fashion, tmp_path_factory) -> ServedModel:
    """An MLP autoencoder, two epochs on 1,800 images, served from its ONNX export."""
    task = build_task("reconstruction", "image")
    candidate = CandidateSpec("mlp_ae", "mlp_autoencoder", {"code": 16, "hidden": [64]},
                              TrainConfig(epochs=2, batch_size=32))
    trainer, _ = build_trainer(candidate, task, fashion, CPU, seed=0)
    trainer.fit(fashion.splits["train"], fashion.splits["val"])
    example = {"image": fashion.splits["test"]["image"][:5]}
    path = export_onnx(trainer.model, example, task.dynamic_dims(), task.output,
                       tmp_path_factory.mktemp("export") / "model.onnx", {})
    return ServedModel("fashion-ae", "1", "0" * 64, str(path), task.contract(fashion.stats), {}, onnx_session(path))


def judged(served: ServedModel, reference: np.ndarray, traffic: np.ndarray):
    """The verdict on `traffic` against `reference` (images in [0, 1]), and the error column's drift."""
    frames = [observe(served, {"image": images.astype(np.float32)}) for images in (reference, traffic)]
    _, verdict = compare(*frames, drift_columns(frames[0], served, None), load_spec("autoencoders", REPO).monitor)
    return verdict, next(c for c in verdict.columns if c.column == "reconstruction_error")


def test_each_image_is_observed_with_its_reconstruction_error(served, fashion):
    images = fashion.splits["test"]["image"][:4].numpy()
    observed = observe(served, {"image": images})
    drawn = served.run({"image": images})["reconstruction"]
    np.testing.assert_allclose(observed["reconstruction_error"], np.square(drawn - images).mean(axis=(1, 2, 3)),
                               rtol=1e-6)
    assert "reconstruction_error" in drift_columns(observed, served, None)


def test_mnist_digits_sent_to_a_fashion_autoencoder_drift_in_its_error_and_fresh_fashion_does_not(served, fashion):
    held_out = fashion.splits["test"]["image"].numpy()
    reference, fresh = held_out[:-TRAFFIC], held_out[-TRAFFIC:]
    digits = get_dataset("mnist_subset").load(None).arrays["image"][:TRAFFIC] / 255

    quiet, error = judged(served, reference, fresh)
    assert quiet.drift is False and not error.drifted, quiet.headline()
    loud, error = judged(served, reference, digits)
    assert loud.drift is True and error.drifted, loud.headline()
    assert error.score > 3 * error.threshold  # far past the calibrated threshold, not at its edge
    upside_down, _ = judged(served, reference, np.ascontiguousarray(fresh[:, :, ::-1]))
    assert upside_down.drifted == ["reconstruction_error"], upside_down.headline()


def test_a_reference_cached_before_the_error_was_logged_is_observed_again(served, tmp_path, monkeypatch):
    observed = observe(served, {"image": np.zeros((3, 1, 28, 28), np.float32)})
    monkeypatch.setattr(tables, "reference_table", lambda model, prepared: observed)
    observed.drop(columns="reconstruction_error").to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "reference.key").write_text(f"{served.sha256}:data")  # the key an older mastery wrote
    frame, cached = tables.cached_reference(served, tmp_path, "data", tmp_path)
    assert not cached and "reconstruction_error" in frame.columns
    assert tables.cached_reference(served, tmp_path, "data", tmp_path)[1]  # kept from then on
