"""Weight initialisation schemes for Linear and Conv layers (textbook ch. 3)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from mastery.config.schema import InitName

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

_SCHEMES: dict[str, Callable[[Tensor], Tensor]] = {
    # All-equal weights: every unit of a layer learns the same thing (the symmetry lesson).
    "zeros": nn.init.zeros_,
    # Small random weights: break symmetry, but signals shrink layer after layer.
    "normal": lambda weight: nn.init.normal_(weight, mean=0.0, std=0.01),
    # Keeps activation variance constant through tanh/sigmoid layers.
    "xavier": nn.init.xavier_uniform_,
    # Doubles Xavier's variance to make up for ReLU zeroing half its inputs.
    "he": lambda weight: nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu"),
}


def initialize(model: nn.Module, scheme: InitName) -> None:
    """Re-initialise every Linear/Conv weight by `scheme` and zero its bias, in place.

    `default` keeps PyTorch's own initialisation. Draws come from the global torch RNG,
    so seeding it beforehand makes the result reproducible.
    """
    if scheme == "default":
        return
    if scheme not in _SCHEMES:
        raise ValueError(f"unknown init scheme '{scheme}'")
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            _SCHEMES[scheme](module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
