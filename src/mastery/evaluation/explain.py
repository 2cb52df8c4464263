"""Where a classifier looks: attention rollout for ViTs, Grad-CAM for CNNs (textbook ch. 5, 9).

Every map is (B, H, W) in [0, 1] at the input's resolution, so it overlays its image whatever
the family. Families with no spatial structure (the MLP) get no map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mastery.evaluation.plots import plot_saliency


def explain(model: nn.Module, x: Tensor) -> tuple[str, Tensor] | None:
    """(method, maps) for an image classifier (`Standardized`: its standardisation, then its family)."""
    net = model.net.eval()
    z = model.standardize(x)
    if hasattr(net, "attention_maps"):
        return "attention_rollout", attention_rollout(net.attention_maps(z), z.shape[-2:])
    if any(isinstance(m, nn.Conv2d) for m in net.features.modules()):
        return "grad_cam", grad_cam(net, z)
    return None


def attention_rollout(maps: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
    """Abnar & Zuidema (2020): how much each patch flows into the class token through all layers.

    Heads are averaged and the residual stream added as the identity, then the layers'
    matrices are multiplied; a single layer's weights would ignore what earlier layers mixed.
    """
    tokens = maps[0].shape[-1]  # T + 1: the class token, then the patches
    eye = torch.eye(tokens, device=maps[0].device)
    rollout = eye
    for weights in maps:  # (B, heads, T+1, T+1)
        mixed = weights.mean(dim=1) + eye
        rollout = (mixed / mixed.sum(dim=-1, keepdim=True)) @ rollout  # (B, T+1, T+1)
    flow = rollout[:, 0, 1:]  # (B, T): class token <- each patch
    rows = round(math.sqrt(flow.shape[1] * size[0] / size[1]))
    return _to_image(flow.view(len(flow), 1, rows, -1), size)


def grad_cam(net: nn.Module, z: Tensor) -> Tensor:
    """Selvaraju et al. (2017): the last spatial feature map of `net.features`, each channel
    weighted by the mean gradient of the predicted class's logit, negatives dropped."""
    spatial: list[Tensor] = []

    def keep(module, inputs, output):
        if output.dim() == 4 and output.shape[-2:].numel() > 1:  # not the final global pool
            spatial.append(output)

    hooks = [child.register_forward_hook(keep) for child in net.features.children()]
    try:
        with torch.enable_grad():
            logits = net(z)
            chosen = logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum()
            (grads,) = torch.autograd.grad(chosen, spatial[-1])
    finally:
        for hook in hooks:
            hook.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    cam = (weights * spatial[-1]).sum(dim=1, keepdim=True).relu()  # (B, 1, h, w)
    return _to_image(cam.detach(), z.shape[-2:])


def save_explanations(
    model: nn.Module, x: Tensor, y: Tensor, class_names: Sequence[str], directory: Path
) -> Path | None:
    """The maps of a few examples over their images, as `<method>.png`; None if the family has none."""
    found = explain(model, x)
    if found is None:
        return None
    method, maps = found
    with torch.inference_mode():
        predicted = model(x).argmax(dim=1)
    return plot_saliency(x[:, 0], maps, y, predicted, class_names, method.replace("_", " "), directory / f"{method}.png")


def _to_image(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, 1, h, w) -> (B, H, W), each map scaled to a maximum of 1."""
    maps = F.interpolate(maps.float(), size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    return maps / maps.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
