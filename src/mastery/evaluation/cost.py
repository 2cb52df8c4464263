"""What a model costs to serve: parameters and measured latency at batch 1.

Latency is measured, not estimated from FLOPs: on a CPU at batch 1 the per-operator
overhead often outweighs the arithmetic, so a model with fewer FLOPs can be slower. It is
measured on one thread by default: at batch 1 small models gain nothing from more, and on
a shared machine competing threads make multi-threaded timings swing by 10x and more.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import torch
from torch import nn

from mastery.training.device import CPU


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def measure_latency_ms(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    device: torch.device = CPU,
    runs: int = 50,
    warmup: int = 10,
    threads: int | None = 1,
) -> float:
    """Median wall time of one eager forward pass on `inputs` (one example) on `device`, after warm-up."""
    model = model.to(device).eval()
    inputs = [x.to(device) for x in inputs]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        timings = _time_forward(model, inputs, device, runs, warmup)
    finally:
        torch.set_num_threads(previous)
    return statistics.median(timings) * 1000


def _time_forward(model: nn.Module, inputs: list[torch.Tensor], device: torch.device, runs: int,
                  warmup: int) -> list[float]:
    timings = []
    for i in range(warmup + runs):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        model(*inputs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            timings.append(time.perf_counter() - started)
    return timings
