"""ONNX export: fp32 matches eager on any batch, int8 keeps accuracy, lineage travels, writes
are atomic."""

import os

import numpy as np
import pytest
import torch
from torch import nn

from mastery.export import (
    ParityError,
    assert_parity,
    check_parity,
    export_onnx,
    onnx_predict,
    onnx_session,
    quantize_int8,
    read_metadata,
)
from mastery.export.parity import INT8_ACCURACY_TOL, INT8_MAX_ABS
from mastery.models import build_model, with_standardization
from mastery.training.inference import predict

IN_SHAPE = (1, 8, 8)
LINEAGE = {"model_version": "3", "run_id": "abc123", "data_hash": "d41d8.dir", "params_hash": "9f"}


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
    model = with_standardization(net, mean=[0.5], std=[0.3])
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
    fp32 = export_onnx(model, blobs(4, seed=99)[0], directory / "model.onnx", LINEAGE)
    int8 = quantize_int8(fp32, directory / "model.int8.onnx")
    return request.param, model, fp32, int8


@pytest.mark.parametrize("batch", [1, 37])
def test_fp32_matches_eager_on_any_batch_size(exported, batch):
    name, model, fp32, _ = exported
    x, y = blobs(batch, seed=10_000)
    session = onnx_session(fp32)
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    logits = onnx_predict(session, x.numpy())
    assert_parity(check_parity(f"{name} fp32", predict(model, x).numpy(), logits, y.numpy()))


def test_lineage_survives_export_and_quantisation(exported):
    _, _, fp32, int8 = exported
    assert read_metadata(fp32) == LINEAGE
    assert read_metadata(int8) == LINEAGE | {"quantization": "dynamic-int8"}
    assert not list(fp32.parent.glob("*.data")), "weights must stay inside the .onnx file"


def test_int8_keeps_accuracy_and_the_mlp_shrinks(exported):
    name, model, fp32, int8 = exported
    x, y = blobs(2000, seed=20_000)
    eager = predict(model, x).numpy()
    logits = onnx_predict(onnx_session(int8), x.numpy(), batch_size=512)
    tolerances = {"max_abs_tol": INT8_MAX_ABS, "accuracy_tol": INT8_ACCURACY_TOL}
    report = check_parity(f"{name} int8", eager, logits, y.numpy(), **tolerances)
    assert_parity(report)
    assert report.eager_accuracy > 0.9, "the task should be learnt, or the comparison says little"
    if name == "mlp":
        assert int8.stat().st_size < 0.4 * fp32.stat().st_size


def test_parity_names_the_export_the_figures_and_the_broken_tolerance():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(100, 3)).astype(np.float32)
    labels = logits.argmax(1)
    assert check_parity("same", logits, logits.copy(), labels).passed

    nudged = check_parity("lenet5 fp32", logits, logits + 1e-3, labels)
    assert not nudged.passed and nudged.to_dict()["passed"] is False
    with pytest.raises(ParityError, match=r"lenet5 fp32: .*max \|logit diff\| 0\.001 > 0\.0001"):
        assert_parity(nudged)

    flipped = logits.copy()
    flipped[:5] = -flipped[:5]  # five of 100 predictions change
    worse = check_parity("mlp int8", logits, flipped, labels, max_abs_tol=np.inf, accuracy_tol=0.01)
    figures = r"accuracy 0\.9500 vs eager 1\.0000 \(delta -0\.0500, tolerance 0\.01\)"
    with pytest.raises(ParityError, match=rf"mlp int8: .*{figures}"):
        assert_parity(worse)

    nan = np.full_like(logits, np.nan)
    assert not check_parity("nan", logits, nan, labels, max_abs_tol=np.inf, accuracy_tol=1.0).passed


def test_an_interrupted_write_leaves_the_destination_untouched(tmp_path, monkeypatch):
    model, example = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), blobs(2, seed=99)[0]
    fp32 = export_onnx(model, example, tmp_path / "model.onnx", LINEAGE)
    int8 = quantize_int8(fp32, tmp_path / "model.int8.onnx")
    before = int8.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        export_onnx(model, example, tmp_path / "new.onnx", LINEAGE)
    with pytest.raises(OSError, match="disk full"):
        quantize_int8(fp32, int8)
    assert int8.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.int8.onnx", "model.onnx"]
