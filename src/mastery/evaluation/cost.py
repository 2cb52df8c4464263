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
from collections.abc import Callable, Sequence
from functools import partial

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
    """The median batch-1 latency of each model's inference form on `inputs`, timed beside the others."""
    models = [inference_form(model.to(device).eval()) for model in models]
    inputs = [x.to(device) for x in inputs]
    finish = partial(torch.cuda.synchronize, device) if device.type == "cuda" else _nothing_pending
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        return interleaved_medians_ms([partial(_forward, model, inputs, finish) for model in models],
                                      rounds, runs, warmup)
    finally:
        torch.set_num_threads(previous)


def interleaved_medians_ms(calls: Sequence[Callable[[], object]], rounds: int = 5, runs: int = 10,
                           warmup: int = 10) -> list[float]:
    """The median wall time of each call, timed in interleaved rounds of `runs` calls: a load spike
    on a shared machine then lands on every call, so their ratios hold where timings taken one
    after another swing."""
    for call in calls:
        for _ in range(warmup):
            call()
    timings: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for call, times in zip(calls, timings, strict=True):
            for _ in range(runs):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
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


def _forward(model: nn.Module, inputs: list[torch.Tensor], finish: Callable[[], None]) -> None:
    model(*inputs)
    finish()  # a GPU's queued kernels count: the call ends when they do


def _nothing_pending() -> None:
    """A CPU forward is done when it returns."""
