"""Transfer learning mechanics (textbook ch. 9), over the `features` / `head` split every family has.

A model for the target task is built fresh (its head sized for the target's classes), then
given the source's trained `features`. Feature extraction freezes them and trains the head;
fine-tuning trains everything, the backbone at a smaller learning rate (`Trainer`'s
`backbone_lr_scale`), optionally after a few epochs of the head alone (`UnfreezeFeatures`).
"""

from __future__ import annotations

from torch import nn

from mastery.errors import MasteryError
from mastery.training.callbacks import Callback


def transplant_features(source: nn.Module, target: nn.Module) -> nn.Module:
    """`target`, a new model of the source's family, with the source's trained features; its head stays untrained."""
    target.features.load_state_dict(source.features.state_dict())
    return target


def warm_start(target: nn.Module, source: nn.Module) -> nn.Module:
    """`target` with every weight and buffer of `source` that it holds under the same name (the
    shapes must agree): a candidate's `start_from` (an autoencoder pretrained by reconstruction,
    its encoder and decoder, under a clustering family's centres). What the source lacks (the
    centres, fitted in closed form later) stays as built; what the target lacks (DEC has no
    decoder) is left behind. Input standardisation comes too: the encoder reads what it learnt on."""
    names = target.state_dict().keys()
    shared = {name: value for name, value in source.state_dict().items() if name in names}
    if not shared:
        raise MasteryError(f"no weight of the {type(source).__name__} to start from has a name in the "
                           f"{type(target).__name__}: not the same family's layers")
    target.load_state_dict(shared, strict=False)
    return target


def freeze(module: nn.Module) -> None:
    module.requires_grad_(False)


def unfreeze(module: nn.Module) -> None:
    module.requires_grad_(True)


class UnfreezeFeatures(Callback):
    """Gradual unfreezing in two stages: the new head alone for `after` epochs, then every layer.

    A random head sends large, noisy gradients into the backbone; training it first means the
    pretrained features are only adjusted once the head makes sense of them.
    """

    def __init__(self, features: nn.Module, after: int):
        self.features = features
        self.after = after

    def on_fit_start(self, trainer, epochs: int, batches_per_epoch: int) -> None:
        if self.after > 0:
            freeze(self.features)

    def on_epoch_end(self, trainer, record: dict) -> None:
        if record["epoch"] == self.after:
            unfreeze(self.features)
