import json
import math
from itertools import pairwise

import pytest
import torch
from torch import nn

from mastery.config import OptimizerConfig, SchedulerConfig
from mastery.training.optim import LRSchedule, build_optimizer

OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"]
SCHEDULERS = ["none", "step", "cosine", "plateau", "onecycle", "warmup_cosine"]


def small_net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))


def quadratic(model: nn.Module) -> torch.Tensor:
    """Minimised at every parameter equal to 1."""
    return sum(((p - 1) ** 2).sum() for p in model.parameters())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_one_step_lowers_a_quadratic(name):
    torch.manual_seed(0)
    model = small_net()
    optimizer = build_optimizer(model, OptimizerConfig(name=name, lr=0.01))
    before = quadratic(model)
    before.backward()
    optimizer.step()
    assert quadratic(model) < before


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weight_decay_shrinks_weights_but_not_biases_or_norms(name):
    model = small_net()
    optimizer = build_optimizer(model, OptimizerConfig(name=name, lr=0.1, weight_decay=0.5))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # only the decay term can move a parameter
    optimizer.step()
    for n, p in model.named_parameters():
        moved = not torch.equal(p, before[n])
        assert moved == (p.ndim > 1), n


def test_one_d_params_sit_in_an_undecayed_group():
    model = small_net()
    optimizer = build_optimizer(model, OptimizerConfig(name="adamw", weight_decay=0.1))
    decay = {g["weight_decay"]: {id(p) for p in g["params"]} for g in optimizer.param_groups}
    assert decay[0.1] == {id(p) for p in model.parameters() if p.ndim == 2}
    assert decay[0.0] == {id(p) for p in model.parameters() if p.ndim == 1}


def lr_per_epoch(cfg, epochs, values=None, lr=1.0, steps=1):
    """LR in force during each epoch, then after the last `after_epoch`."""
    optimizer = build_optimizer(small_net(), OptimizerConfig(name="sgd", lr=lr))
    schedule = LRSchedule.build(optimizer, cfg, epochs, steps)
    lrs = []
    for epoch in range(epochs):
        lrs.append(schedule.current_lr)
        optimizer.step()
        schedule.after_batch()
        schedule.after_epoch(None if values is None else values[epoch])
    return lrs + [schedule.current_lr]


def test_none_is_constant():
    assert lr_per_epoch(SchedulerConfig(name="none"), 4, lr=0.3) == [0.3] * 5


def test_step_decays_by_gamma_every_step_size_epochs():
    lrs = lr_per_epoch(SchedulerConfig(name="step", step_size=2, gamma=0.5), 6)
    assert lrs == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_cosine_follows_half_a_cosine_down_to_min_lr():
    lrs = lr_per_epoch(SchedulerConfig(name="cosine", min_lr=0.1), 4)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert lrs == pytest.approx(expected)
    assert lrs[-1] == pytest.approx(0.1)


def test_plateau_decays_once_patience_is_exhausted():
    cfg = SchedulerConfig(name="plateau", factor=0.5, patience=2)
    # Best is 0.8 from epoch 1 on. Epochs 2, 3, 4 fail to beat it: the third such epoch
    # exceeds patience 2 and halves the LR; the count restarts, and epoch 7 halves it again.
    values = [1.0, 0.8, 0.8, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8]
    lrs = lr_per_epoch(cfg, len(values), values)
    assert lrs[1:] == pytest.approx([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])


def test_plateau_requires_a_monitored_value():
    optimizer = build_optimizer(small_net(), OptimizerConfig(name="sgd"))
    schedule = LRSchedule.build(optimizer, SchedulerConfig(name="plateau"), 3, 1)
    with pytest.raises(ValueError, match="monitored"):
        schedule.after_epoch(None)


@pytest.mark.parametrize("max_lr, peak", [(1.0, 1.0), (None, 0.2)])
def test_onecycle_rises_to_its_peak_mid_way_then_anneals(max_lr, peak):
    optimizer = build_optimizer(small_net(), OptimizerConfig(name="adagrad", lr=0.2))
    schedule = LRSchedule.build(optimizer, SchedulerConfig(name="onecycle", max_lr=max_lr), 4, 25)
    lrs = []
    for _ in range(4):
        for _ in range(25):
            lrs.append(schedule.current_lr)
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(0.0)
    top = max(range(100), key=lrs.__getitem__)
    assert lrs[top] == pytest.approx(peak)
    assert abs(top - 50) <= 1
    assert lrs[0] == pytest.approx(peak / 25)  # torch's default div_factor
    assert lrs[-1] < peak / 1e4
    assert all(a < b for a, b in pairwise(lrs[: top + 1]))
    assert all(a > b for a, b in pairwise(lrs[top:]))


def test_warmup_cosine_rises_per_step_then_follows_a_cosine_to_min_lr():
    """nanoGPT's schedule: (step + 1) / (warmup + 1) of the peak, then a cosine over the rest."""
    optimizer = build_optimizer(small_net(), OptimizerConfig(name="adamw", lr=1e-3, beta2=0.99))
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.99)
    schedule = LRSchedule.build(optimizer, SchedulerConfig(name="warmup_cosine", warmup_steps=10, min_lr=1e-4), 4, 30)
    lrs = []
    for _ in range(120):
        lrs.append(schedule.current_lr)
        optimizer.step()
        schedule.after_batch()
    assert lrs[0] == pytest.approx(1e-3 / 11) and lrs[9] == pytest.approx(1e-3 * 10 / 11)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[65] == pytest.approx(1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 55 / 110)))
    assert all(a >= b for a, b in pairwise(lrs[10:])) and schedule.current_lr == pytest.approx(1e-4)  # after the last


@pytest.mark.parametrize("name", SCHEDULERS)
def test_state_dict_survives_json_and_resumes_the_same_trajectory(name):
    cfg = SchedulerConfig(name=name, step_size=2, gamma=0.5, patience=0, max_lr=1.0)
    values = [1.0, 1.0, 2.0, 2.0, 0.5, 0.5]

    def build():
        optimizer = build_optimizer(small_net(), OptimizerConfig(name="momentum", lr=0.5))
        return optimizer, LRSchedule.build(optimizer, cfg, epochs=6, steps_per_epoch=3)

    def run(schedule, epochs):
        lrs = []
        for epoch in epochs:
            for _ in range(3):
                lrs.append(schedule.current_lr)
                schedule.optimizer.step()
                schedule.after_batch()
            schedule.after_epoch(values[epoch])
        return lrs

    optimizer, schedule = build()
    run(schedule, range(3))
    checkpoint = optimizer.state_dict(), json.loads(json.dumps(schedule.state_dict()))
    expected = run(schedule, range(3, 6))

    resumed_optimizer, resumed = build()
    resumed_optimizer.load_state_dict(checkpoint[0])
    resumed.load_state_dict(checkpoint[1])
    assert run(resumed, range(3, 6)) == pytest.approx(expected)
    assert len(set(expected)) > 1 or name == "none"
