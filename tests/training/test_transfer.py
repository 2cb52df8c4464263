"""Transfer mechanics: features move between models, frozen layers stay put, a pretrained
backbone learns slower, and gradual unfreezing trains the head first."""

import numpy as np
import pytest
import torch

from mastery.config import OptimizerConfig, SchedulerConfig, TrainConfig
from mastery.data.subsets import balanced_subset
from mastery.models import build_model
from mastery.tasks import build_task
from mastery.training.callbacks import Callback
from mastery.training.optim import LRSchedule, build_optimizer
from mastery.training.trainer import Trainer
from mastery.training.transfer import UnfreezeFeatures, freeze, transplant_features


def _lenet(num_classes=10, seed=0):
    torch.manual_seed(seed)
    return build_model("lenet5", in_shape=(1, 8, 8), num_classes=num_classes)


def _snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_transplant_copies_the_features_and_keeps_the_new_head():
    source, target = _lenet(10, seed=0), _lenet(7, seed=1)
    head = _snapshot(target.head)
    transplant_features(source, target)
    assert _same(_snapshot(target.features), _snapshot(source.features))
    assert _same(_snapshot(target.head), head) and target.head[-1].out_features == 7


def test_frozen_features_do_not_move_while_the_head_learns():
    model = _lenet()
    freeze(model.features)
    features, head = _snapshot(model.features), _snapshot(model.head)
    optimizer = build_optimizer(model, OptimizerConfig(name="adam", lr=0.01, weight_decay=0.1))
    torch.nn.functional.cross_entropy(model(torch.rand(4, 1, 8, 8)), torch.arange(4)).backward()
    optimizer.step()
    assert _same(_snapshot(model.features), features) and not _same(_snapshot(model.head), head)


def test_backbone_learns_at_a_fraction_of_the_head_rate_all_through_the_schedule():
    model = _lenet()
    optimizer = build_optimizer(model, OptimizerConfig(name="adam", lr=0.01), backbone_lr_scale=0.1)
    features = {id(p) for p in model.features.parameters()}
    rates = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    assert sorted({rates[i] for i in features}) == pytest.approx([0.001])
    assert sorted({rate for i, rate in rates.items() if i not in features}) == pytest.approx([0.01])
    LRSchedule.build(optimizer, SchedulerConfig(name="onecycle"), 2, 5)
    assert sorted({group["max_lr"] for group in optimizer.param_groups}) == pytest.approx([0.001, 0.01])


def test_gradual_unfreezing_trains_the_head_alone_first():
    model = _lenet()
    pretrained = _snapshot(model.features)
    after_epoch = []

    class Record(Callback):
        def on_epoch_end(self, trainer, record):
            after_epoch.append(_snapshot(model.features))

    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 10
    config = TrainConfig(epochs=2, batch_size=8, optimizer=OptimizerConfig(lr=0.01))
    trainer = Trainer(model, build_task("classification", "image"), config,
                      callbacks=[UnfreezeFeatures(model.features, after=1), Record()], backbone_lr_scale=0.1)
    trainer.fit({"image": x, "label": y}, {"image": x, "label": y})
    assert _same(after_epoch[0], pretrained)  # epoch 1: the head alone
    assert not _same(after_epoch[1], pretrained)  # epoch 2: every layer


def test_balanced_subsets_are_even_seeded_and_nested():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    small, large = balanced_subset(labels, 8, seed=1), balanced_subset(labels, 40, seed=1)
    assert np.bincount(labels[small]).tolist() == [2, 2, 2, 2]
    assert np.bincount(labels[large]).tolist() == [10, 10, 10, 10]
    assert set(small) <= set(large) and len(set(large)) == 40
    assert not np.array_equal(balanced_subset(labels, 8, seed=2), small)
    with pytest.raises(ValueError, match="cannot take 101 examples from 100"):
        balanced_subset(labels, 101, seed=1)
