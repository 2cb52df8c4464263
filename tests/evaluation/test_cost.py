"""What serving costs: batch-1 latency timed in interleaved rounds."""

import time

import torch
from torch import nn

from mastery.evaluation.cost import inference_form, measure_latencies_ms, measure_latency_ms
from mastery.models.registry import build_model


class Sleeps(nn.Module):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def forward(self, x):
        time.sleep(self.seconds)
        return x


def test_each_model_gets_its_own_median_in_the_order_given():
    example = (torch.zeros(1, 4),)
    slow, fast = measure_latencies_ms([Sleeps(0.004), Sleeps(0.001)], example, rounds=2, runs=3, warmup=1)
    assert 4.0 <= slow < 8.0 and 1.0 <= fast < 4.0
    assert 1.0 <= measure_latency_ms(Sleeps(0.001), example) < 4.0


def test_the_thread_count_is_restored():
    before = torch.get_num_threads()
    measure_latencies_ms([nn.Linear(4, 2)], (torch.zeros(1, 4),), threads=1, rounds=1, runs=1, warmup=1)
    assert torch.get_num_threads() == before


def test_batch_norm_is_folded_for_timing_with_the_same_outputs():
    model = build_model("convnet", channels=(8, 16)).eval()
    with torch.no_grad():  # statistics a trained net would have, not the identity of a fresh one
        for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            norm.running_mean.uniform_(-1, 1), norm.running_var.uniform_(0.5, 2), norm.weight.uniform_(0.5, 2)
    folded = inference_form(model)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the model itself is left as it was


class Branches(nn.Module):  # data-dependent control flow: torch.fx cannot trace it
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.norm(x) if x.sum() > 0 else x


def test_a_model_that_cannot_be_traced_is_timed_as_it_is():
    model = Branches().eval()
    assert inference_form(model) is model
