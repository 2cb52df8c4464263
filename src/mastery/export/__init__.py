"""Export for serving (textbook ch. 10): ONNX via the torch.export-based exporter, dynamic int8
quantisation, and parity checks that refuse an export which no longer predicts like its model.

Importing this package is cheap: torch, onnx and onnxruntime load on first use.
"""

from mastery.export.contract import (
    CONTRACT_KEY,
    Contract,
    ContractError,
    TensorSpec,
)
from mastery.export.onnx_export import (
    export_onnx,
    onnx_predict,
    onnx_session,
    quantize_int8,
    read_metadata,
)
from mastery.export.parity import (
    ParityError,
    ParityReport,
    assert_parity,
    check_parity,
    measure_parity,
)

__all__ = [
    "CONTRACT_KEY",
    "Contract",
    "ContractError",
    "ParityError",
    "ParityReport",
    "TensorSpec",
    "assert_parity",
    "check_parity",
    "export_onnx",
    "measure_parity",
    "onnx_predict",
    "onnx_session",
    "quantize_int8",
    "read_metadata",
]
