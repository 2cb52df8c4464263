"""ONNX files for serving: fp32 export, dynamic int8 quantisation, and ONNX Runtime inference.

Every file is self-contained (weights inline, no external data) and carries the model's
lineage in `metadata_props`, so a server can say which run produced what it serves.
Writes are atomic: a crash leaves the old file or none, never half a model.
torch, onnx and onnxruntime are imported inside the functions that need them, so
`import mastery.export` stays cheap for the CLI.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx
    import onnxruntime
    from torch import Tensor, nn

OPSET = 20  # the exporter's own opset in torch 2.13: no version conversion; ORT runs it since 1.17
# Dynamic quantisation of MatMul only (Linear layers export as Gemm, which the quantiser
# rewrites to MatMul). ConvInteger runs on this ORT but made LeNet-5 4-5x slower than fp32 here
# (1.7x with uint8 weights), and its convs hold about 4% of the weights on 28x28: they stay fp32.
QUANTISED_OPS = ["MatMul"]
# 7-bit weights: AVX2 CPUs without VNNI multiply u8 x s8 pairs into a saturating int16
# (255 * 127 * 2 overflows it; 255 * 63 * 2 does not), ORT's advice for that case. Per-channel
# scales win back the lost bit at no measured cost in speed or size.
REDUCE_RANGE = PER_CHANNEL = True


def export_onnx(model: nn.Module, inputs: dict[str, Tensor], dynamic: dict[str, dict[int, str]], output: str,
                path: Path, metadata: dict[str, str]) -> Path:
    """Export `model` (in eval mode) called on `inputs` (by name, in order) to one `output`.

    `dynamic` names each input's dynamic dimensions (`{"image": {0: "batch"}}`; text adds its
    sequence length); a dimension of one name is the same size in every input.
    """
    import logging
    import warnings

    import torch

    # the exporter says, each time, that it skips torchvision's ops (we use none), and torch's
    # own pytree code trips torch's deprecation of LeafSpec: neither is the user's to act on
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)

    _forget_recurrent_kernels()
    dims = {name: torch.export.Dim(name) for axes in dynamic.values() for name in axes.values()}
    program = torch.onnx.export(
        model.eval(),
        tuple(inputs.values()),
        dynamo=True,
        opset_version=OPSET,
        input_names=list(inputs),
        output_names=[output],
        dynamic_shapes=tuple({axis: dims[name] for axis, name in dynamic.get(key, {}).items()} for key in inputs),
        verbose=False,
    )
    proto = program.model_proto  # in memory, so initializers stay inline
    _check_dynamic(proto, dynamic)
    _set_metadata(proto, metadata)
    return _save_atomic(proto, Path(path))


def _forget_recurrent_kernels() -> None:
    """Drop the kernels torch cached for LSTM and GRU at their last export.

    The exporter swaps in loop decompositions of both ops (so the sequence length stays dynamic)
    by writing their `py_kernels`, which does not clear the op's dispatch cache: a second export
    of the same op in one process got the unrolled decomposition back, which fixed the sequence
    length at the example's (torch 2.13; held by tests/models/test_text_zoo.py).
    """
    import torch

    for op in (torch.ops.aten.lstm.input, torch.ops.aten.gru.input):
        op._dispatch_cache.clear()


def _check_dynamic(proto: onnx.ModelProto, dynamic: dict[str, dict[int, str]]) -> None:
    """Fail where the graph fixed a dimension asked to be dynamic: the exporter falls back to the
    example's size when it cannot keep one dynamic, and says so only in a log line."""
    shapes = {i.name: i.type.tensor_type.shape.dim for i in proto.graph.input}
    fixed = [f"{name}[{axis}] ({label}) = {shapes[name][axis].dim_value}"
             for name, axes in dynamic.items() for axis, label in axes.items() if shapes[name][axis].dim_value]
    if fixed:
        raise ValueError(f"ONNX export fixed dynamic dimensions: {', '.join(fixed)}")


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 copy of `src`: int8 weights, activations quantised per batch at run time.

    ORT's advised shape-inference pre-pass runs first; both steps work in a temporary
    directory because the quantiser writes a side file next to its input. ORT's symbolic
    shape inference does not follow every graph (it fails on the recurrent text models'
    loops); ONNX's own shape inference then does the pre-pass alone.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="mastery-int8-") as tmp:
        prepared, quantised = Path(tmp, "prepared.onnx"), Path(tmp, "int8.onnx")
        try:
            quant_pre_process(src, prepared)
        except Exception:  # noqa: BLE001 (ORT raises TypeError, AttributeError... from inside its inference)
            quant_pre_process(src, prepared, skip_symbolic_shape=True)
        quantize_dynamic(
            prepared,
            quantised,
            op_types_to_quantize=QUANTISED_OPS,
            weight_type=QuantType.QInt8,
            reduce_range=REDUCE_RANGE,
            per_channel=PER_CHANNEL,
        )
        proto = onnx.load(quantised)
    _set_metadata(proto, {**read_metadata(src), "quantization": "dynamic-int8"})
    return _save_atomic(proto, Path(dst))


def onnx_session(path: Path) -> onnxruntime.InferenceSession:
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def onnx_predict(session: onnxruntime.InferenceSession, inputs: dict[str, np.ndarray], batch_size: int = 1024) -> np.ndarray:
    """The session's (first) output for `inputs` by name, in batches to bound memory."""
    rows = len(next(iter(inputs.values())))
    batches = (
        session.run(None, {name: np.ascontiguousarray(x[start : start + batch_size]) for name, x in inputs.items()})[0]
        for start in range(0, rows, batch_size)
    )
    return np.concatenate(list(batches))


def read_metadata(path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def _set_metadata(proto: onnx.ModelProto, metadata: dict[str, str]) -> None:
    """Replace the file's metadata: tool markers (the quantiser's) give way to lineage."""
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=str(value))


def _save_atomic(proto: onnx.ModelProto, path: Path) -> Path:
    """Check the model, write it beside `path` (same filesystem, so the rename is atomic; the pid
    keeps concurrent writers apart), then rename it into place."""
    import onnx

    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        onnx.save_model(proto, staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path
