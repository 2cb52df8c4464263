"""What serving costs: batch-1 latency timed in interleaved rounds."""

import time

import torch
from torch import nn

from mastery.evaluation.cost import measure_latencies_ms, measure_latency_ms


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
