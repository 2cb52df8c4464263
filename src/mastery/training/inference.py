"""Batched inference for evaluation and parity checks, on any device."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mastery.tasks.base import Batch, Task
from mastery.training.device import CPU, autocast


@torch.inference_mode()
def predict(model: nn.Module, task: Task, split: Batch, device: torch.device = CPU, batch_size: int = 2048) -> Tensor:
    """The model's outputs on every example of `split`, as float32 on the CPU."""
    model = model.to(device).eval()
    outputs = []
    for batch in task.eval_batches(split, batch_size):
        with autocast(device):
            outputs.append(task.forward(model, {k: v.to(device) for k, v in batch.items()}).float().cpu())
    return torch.cat(outputs)
