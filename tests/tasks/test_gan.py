"""The GAN task: two players in alternating steps, seeded evaluation, judged scores, and a
checkpoint that resumes both players where they stopped."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import digits_split

from mastery.config import OptimizerConfig, TaskConfig, TrainConfig
from mastery.errors import MasteryError
from mastery.models.artifact import build_trained, model_meta
from mastery.tasks import build_task
from mastery.training.trainer import Trainer

STATS = {"modality": "image", "classes": [str(d) for d in range(10)], "dims": {"in_shape": [1, 8, 8]}}
RECIPE = TrainConfig(epochs=2, batch_size=32, max_batches=3, optimizer=OptimizerConfig(lr=1e-3, beta1=0.5))


def gan_task(judge, conditional=True):
    return build_task("gan", "image", TaskConfig("gan", latent=8, judge=str(judge), conditional=conditional))


def gan_model(task, seed=0):
    meta = model_meta("gan", "dcgan", {"width": 8}, task, STATS)  # loads the judge, once per task: before the seed
    torch.manual_seed(seed)
    return build_trained(meta)


def test_a_step_moves_the_discriminator_then_the_generator(digits_judge):
    task = gan_task(digits_judge)
    model = gan_model(task)
    optimizers = {name: torch.optim.SGD(getattr(model, name).parameters(), lr=0.1) for name in task.optimizers}
    order, moved = [], {}

    def step(name, loss):
        before = {player: [p.clone() for p in getattr(model, player).parameters()] for player in task.optimizers}
        optimizers[name].zero_grad()
        loss.backward()
        optimizers[name].step()
        order.append(name)
        moved[name] = {player: any(not torch.equal(a, b) for a, b in zip(before[player], getattr(model, player).parameters()))
                       for player in task.optimizers}

    batch = digits_split(slice(0, 16)) | {"noise": torch.randn(16, 8)}
    sums, count = task.training_step(model.train(), batch, step)
    assert order == ["discriminator", "generator"] and count == 16
    assert moved == {"discriminator": {"discriminator": True, "generator": False},
                     "generator": {"discriminator": False, "generator": True}}
    assert 0 < sums["d_real"] / 16 < 1 and 0 < sums["d_fake"] / 16 < 1
    assert sums["loss"] == pytest.approx(float(sums["loss_d"] + sums["loss_g"]))


def test_a_model_without_a_judge_or_with_another_datasets_judge_is_refused(digits_judge):
    with pytest.raises(MasteryError, match="set task.judge"):
        build_task("gan", "image", TaskConfig("gan")).model_dims(STATS)
    with pytest.raises(MasteryError, match="train a judge on this dataset"):
        gan_task(digits_judge).model_dims(STATS | {"dims": {"in_shape": [1, 28, 28]}})


def test_evaluation_draws_the_same_samples_and_judges_each_against_its_class(digits_judge):
    task = gan_task(digits_judge)
    model = gan_model(task).eval()
    test = digits_split(slice(1500, 1700))
    first, again = task.scores(model, test, STATS, torch.device("cpu")), task.scores(model, test, STATS, torch.device("cpu"))
    assert first.flat() == again.flat()
    correct = first.per_example("judged_accuracy")
    assert correct.dtype == bool and len(correct) == 200 and correct.mean() == first.flat()["test_judged_accuracy"]
    assert first.flat()["test_judge_accuracy"] > 0.85  # the judge reads the real images
    unconditional = gan_task(digits_judge, conditional=False)
    assert "test_judged_accuracy" not in unconditional.scores(gan_model(unconditional), test, STATS, torch.device("cpu")).flat()


def test_a_resumed_run_ends_where_an_uninterrupted_one_does_for_both_players(digits_judge, tmp_path):
    task = gan_task(digits_judge)
    train, val = digits_split(slice(0, 1200)), digits_split(slice(1200, 1500))

    def fit(epochs, directory):
        trainer = Trainer(gan_model(task), task, dataclasses.replace(RECIPE, epochs=epochs), checkpoint_dir=directory)
        trainer.fit(train, val)
        return trainer

    whole = fit(4, tmp_path / "whole")
    fit(2, tmp_path / "halves")
    resumed = fit(4, tmp_path / "halves")
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["val_frechet"] for r in whole.history] == [r["val_frechet"] for r in resumed.history]
    for name, optimizer in whole.optimizers.items():  # both players' Adam moments went on from the checkpoint
        for a, b in zip(optimizer.state.values(), resumed.optimizers[name].state.values()):
            assert torch.equal(a["exp_avg"], b["exp_avg"]), name
    assert {"train_loss_d", "train_loss_g", "train_d_real", "train_d_fake", "val_class_spread"} <= whole.history[0].keys()
