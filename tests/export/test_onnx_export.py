"""ONNX export: fp32 matches eager on any batch, int8 keeps accuracy, lineage travels, writes
are atomic."""

import os

import numpy as np
import pytest
import torch
from torch import nn

from mastery.config import ExportConfig
from mastery.export import (
    ParityError,
    assert_parity,
    check_parity,
    export_onnx,
    measure_parity,
    onnx_session,
    quantize_int8,
    read_metadata,
)
from mastery.models import Standardized, build_model
from mastery.tasks import build_task

IN_SHAPE = (1, 8, 8)
LINEAGE = {"model_version": "3", "run_id": "abc123", "data_hash": "d41d8.dir", "params_hash": "9f"}
TASK = build_task("classification", "image")
STATS = {"classes": ["a", "b"]}
TOLERANCES = ExportConfig()  # the spec's defaults: what `mastery export` holds every export to


def export(model: nn.Module, x: torch.Tensor, path):
    return export_onnx(model, {"image": x}, TASK.dynamic_dims(), TASK.output, path, LINEAGE)


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes of 8x8 'images' in [0, 1]: a faint template per class under heavy noise, so
    accuracy is high but not perfect and samples near the boundary show any int8 drift."""
    templates = torch.rand(2, *IN_SHAPE, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    return 0.25 * templates[y] + 0.75 * torch.rand(n, *IN_SHAPE, generator=g), y


def trained(family: str, steps: int = 150) -> nn.Module:
    torch.manual_seed(0)
    net = build_model(family, in_shape=IN_SHAPE, num_classes=2)
    model = Standardized(net, mean=[0.5], std=[0.3])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(steps):
        x, y = blobs(64, seed=step + 1)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module", params=["mlp", "lenet5"])
def exported(request, tmp_path_factory):
    """One trained model per family with its fp32 and int8 files (exporting takes seconds)."""
    model = trained(request.param)
    directory = tmp_path_factory.mktemp(request.param)
    fp32 = export(model, blobs(4, seed=99)[0], directory / "model.onnx")
    int8 = quantize_int8(fp32, directory / "model.int8.onnx")
    return request.param, model, fp32, int8


@pytest.mark.parametrize("batch", [1, 37])
def test_fp32_matches_eager_on_any_batch_size(exported, batch):
    name, model, fp32, _ = exported
    x, y = blobs(batch, seed=10_000)
    session = onnx_session(fp32)
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    split = {"image": x, "label": y}
    assert_parity(measure_parity(f"{name} fp32", model, TASK, split, STATS, session,
                                 TOLERANCES.fp32_max_abs, TOLERANCES.fp32_metric_tolerance))


def test_lineage_survives_export_and_quantisation(exported):
    _, _, fp32, int8 = exported
    assert read_metadata(fp32) == LINEAGE
    assert read_metadata(int8) == LINEAGE | {"quantization": "dynamic-int8"}
    assert not list(fp32.parent.glob("*.data")), "weights must stay inside the .onnx file"


def test_int8_keeps_accuracy_and_the_mlp_shrinks(exported):
    name, model, fp32, int8 = exported
    x, y = blobs(2000, seed=20_000)
    report = measure_parity(f"{name} int8", model, TASK, {"image": x, "label": y}, STATS, onnx_session(int8),
                            TOLERANCES.int8_max_abs, TOLERANCES.int8_metric_tolerance)
    assert_parity(report)
    assert report.eager_value > 0.9, "the task should be learnt, or the comparison says little"
    if name == "mlp":
        assert int8.stat().st_size < 0.4 * fp32.stat().st_size


def test_parity_names_the_export_the_figures_and_the_broken_tolerance():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(100, 3)).astype(np.float32)
    metric = "test_accuracy"
    assert check_parity("same", metric, logits, logits.copy(), 1.0, 1.0, 1e-4, 0.001).passed

    nudged = check_parity("lenet5 fp32", metric, logits, logits + 1e-3, 1.0, 1.0, 1e-4, 0.001)
    assert not nudged.passed and nudged.to_dict()["passed"] is False
    with pytest.raises(ParityError, match=r"lenet5 fp32: .*max \|output diff\| 0\.001 > 0\.0001"):
        assert_parity(nudged)

    worse = check_parity("mlp int8", metric, logits, logits, 1.0, 0.95, np.inf, 0.01)
    figures = r"test_accuracy 0\.9500 vs eager 1\.0000 \(delta -0\.0500, tolerance 0\.01\)"
    with pytest.raises(ParityError, match=rf"mlp int8: .*{figures}"):
        assert_parity(worse)

    nan = np.full_like(logits, np.nan)
    assert not check_parity("nan", metric, logits, nan, 1.0, 1.0, np.inf, 1.0).passed


def test_an_interrupted_write_leaves_the_destination_untouched(tmp_path, monkeypatch):
    model, example = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), blobs(2, seed=99)[0]
    fp32 = export(model, example, tmp_path / "model.onnx")
    int8 = quantize_int8(fp32, tmp_path / "model.int8.onnx")
    before = int8.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        export(model, example, tmp_path / "new.onnx")
    with pytest.raises(OSError, match="disk full"):
        quantize_int8(fp32, int8)
    assert int8.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.int8.onnx", "model.onnx"]


def test_an_export_that_cannot_keep_a_dimension_dynamic_says_which(tmp_path):
    """A model whose arithmetic needs 7 steps: the exporter would quietly fix the sequence at 7."""
    model = nn.Linear(7, 2).eval()
    with pytest.raises(ValueError, match=r"steps\[1\] \(sequence\) = 7"):
        export_onnx(model, {"steps": torch.randn(3, 7)}, {"steps": {0: "batch", 1: "sequence"}}, "out",
                    tmp_path / "m.onnx", {})
    assert not (tmp_path / "m.onnx").exists()
