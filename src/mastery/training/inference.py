"""Batched inference for evaluation and parity checks, on any device."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mastery.training.device import CPU, autocast


@torch.inference_mode()
def predict(model: nn.Module, x: Tensor, device: torch.device = CPU, batch_size: int = 2048) -> Tensor:
    """Model outputs for `x` as float32 on the CPU."""
    model = model.to(device).eval()
    outputs = []
    for start in range(0, len(x), batch_size):
        with autocast(device):
            outputs.append(model(x[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(outputs)
