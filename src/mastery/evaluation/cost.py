"""What a model costs to serve: parameters and measured latency at batch 1.

Latency is measured, not estimated from FLOPs: on a CPU at batch 1 the per-operator
overhead often outweighs the arithmetic, so a model with fewer FLOPs can be slower. It is
measured on one thread by default: at batch 1 small models gain nothing from more, and on
a shared machine competing threads make multi-threaded timings swing by 10x and more.
A model is timed in its inference form: batch-norm folded into the conv before it, as ONNX
Runtime does when it serves the export, so a search does not count a cost no deployment pays.
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


def measure_latency_ms(model: nn.Module, inputs: Sequence[torch.Tensor], device: torch.device = CPU,
                       threads: int | None = 1) -> float:
    """Median wall time of one forward of the inference form on `inputs` (one example), after warm-up."""
    return measure_latencies_ms([model], inputs, device, threads)[0]


@torch.inference_mode()
def measure_latencies_ms(
    models: Sequence[nn.Module],
    inputs: Sequence[torch.Tensor],
    device: torch.device = CPU,
    threads: int | None = 1,
    rounds: int = 5,
    runs: int = 10,
    warmup: int = 10,
) -> list[float]:
    """The median batch-1 latency of each model, timed in interleaved rounds of `runs` forwards:
    a load spike on a shared machine then lands on every model, so the models' ratios hold
    where timings taken one model after another swing."""
    models = [inference_form(model.to(device).eval()) for model in models]
    inputs = [x.to(device) for x in inputs]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        for model in models:
            _time_forward(model, inputs, device, warmup)
        timings: list[list[float]] = [[] for _ in models]
        for _ in range(rounds):
            for model, times in zip(models, timings, strict=True):
                times.extend(_time_forward(model, inputs, device, runs))
    finally:
        torch.set_num_threads(previous)
    return [statistics.median(times) * 1000 for times in timings]


def inference_form(model: nn.Module) -> nn.Module:
    """A copy with each eval-mode batch-norm folded into the conv before it (torch.fx), the same
    outputs; the model itself where there is none, or where its forward cannot be traced."""
    from torch.fx.experimental.optimization import fuse
    from torch.fx.proxy import TraceError

    if not any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in model.modules()):
        return model
    try:
        return fuse(model)
    except TraceError:
        return model


def _time_forward(model: nn.Module, inputs: list[torch.Tensor], device: torch.device, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        model(*inputs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings.append(time.perf_counter() - started)
    return timings
