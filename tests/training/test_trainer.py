"""The generic trainer: learns, stops early, keeps the best weights, refuses to diverge silently."""

import math

import pytest
import torch

from mastery.config import EarlyStoppingConfig, OptimizerConfig, SchedulerConfig, TrainConfig
from mastery.models import Standardize, build_model
from mastery.tasks import build_task
from mastery.training.callbacks import Callback
from mastery.training.device import resolve_device
from mastery.training.gradcheck import gradient_check
from mastery.training.trainer import Trainer, TrainingDiverged


def blobs(n=256, seed=0):
    """Two well-separated classes of 1x4x4 'images', as a batch of named tensors."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 1, 4, 4, generator=g) * 0.3 + y.view(-1, 1, 1, 1) * 0.6
    return {"image": x, "label": y}


def trainer(config: TrainConfig, callbacks=(), **kwargs) -> Trainer:
    torch.manual_seed(0)
    model = build_model("mlp", in_shape=(1, 4, 4), num_classes=2, hidden=(16,))
    return Trainer(model, build_task("classification", "image"), config, callbacks=callbacks, **kwargs)


def test_learns_separable_data_and_records_history():
    t = trainer(TrainConfig(epochs=5, batch_size=32, optimizer=OptimizerConfig(lr=1e-2)))
    history = t.fit(blobs(), blobs(seed=1), resume=False)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert history[-1]["val_accuracy"] == 1.0
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "epoch_seconds", "eval_seconds"} <= set(history[0])
    assert 0 < history[0]["eval_seconds"] < history[0]["epoch_seconds"]


def test_early_stopping_restores_best_weights():
    class Worsen(Callback):
        """From epoch 2 on, scramble the weights so validation gets worse every epoch."""

        def on_epoch_end(self, trainer, record):
            if record["epoch"] >= 2:
                with torch.no_grad():
                    for p in trainer.model.parameters():
                        p.add_(torch.randn_like(p))

    early = EarlyStoppingConfig(monitor="val_loss", mode="min", patience=2)
    config = TrainConfig(epochs=20, batch_size=32, optimizer=OptimizerConfig(lr=0.0), early_stopping=early)
    t = trainer(config, callbacks=[Worsen()])
    history = t.fit(blobs(), blobs(seed=1), resume=False)
    assert len(history) < 20
    assert t.best_record()["val_loss"] == min(r["val_loss"] for r in history)
    assert t.evaluate(blobs(seed=1))["loss"] == pytest.approx(t.best_value, rel=1e-5)


def test_max_batches_caps_each_epoch():
    seen = []

    class Count(Callback):
        def on_batch_end(self, trainer):
            seen.append(1)

    trainer(TrainConfig(epochs=2, batch_size=8, max_batches=3), callbacks=[Count()]).fit(blobs(), blobs(), resume=False)
    assert len(seen) == 6


def test_divergence_is_a_named_error():
    config = TrainConfig(epochs=2, batch_size=32, optimizer=OptimizerConfig(name="sgd", lr=1e30))
    with pytest.raises(TrainingDiverged, match=r"model: training loss became (nan|inf) in epoch 1"):
        trainer(config).fit(blobs(), blobs(), resume=False)


def test_gradient_clipping_bounds_the_update():
    config = TrainConfig(epochs=1, batch_size=256, optimizer=OptimizerConfig(name="sgd", lr=1.0), grad_clip=1e-3)
    t = trainer(config)
    before = torch.cat([p.detach().flatten().clone() for p in t.model.parameters()])
    t.fit(blobs(), blobs(), resume=False)
    after = torch.cat([p.detach().flatten() for p in t.model.parameters()])
    assert (after - before).norm() <= 1e-3 + 1e-6


def test_onecycle_schedule_steps_per_batch():
    config = TrainConfig(epochs=2, batch_size=32, scheduler=SchedulerConfig(name="onecycle", max_lr=0.1))
    history = trainer(config).fit(blobs(), blobs(), resume=False)
    assert history[0]["lr"] > history[-1]["lr"] and math.isclose(max(r["lr"] for r in history), history[0]["lr"])


def test_auto_device_is_cpu_here_or_cuda_when_present():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")


def test_gradient_check_on_the_custom_standardize_layer():
    layer = Standardize([0.3], [0.7])
    x = torch.rand(3, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    assert gradient_check(lambda t: (layer(t) ** 2).sum(), x).passed


def test_gradient_check_holds_the_hand_written_dense_backward_and_catches_a_wrong_one():
    from mastery.models.scratch import DenseFunction, ScratchDense

    layer = ScratchDense(5, 3).double()
    x = torch.rand(4, 5, dtype=torch.float64, requires_grad=True)
    assert gradient_check(lambda t: layer(t).pow(2).sum(), x).passed
    assert gradient_check(layer.eval(), x).passed  # the layer's own weight and bias gradients too

    class WrongBias(DenseFunction):
        @staticmethod
        def backward(ctx, grad):  # the bias gradient of one example, not of the batch
            dx, dw, _ = DenseFunction.backward(ctx, grad)
            return dx, dw, grad[0]

    assert not gradient_check(lambda b: WrongBias.apply(x.detach(), layer.weight.detach(), b).pow(2).sum(),
                              layer.bias.detach().clone().requires_grad_()).passed
