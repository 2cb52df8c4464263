"""Where training runs: `auto` takes CUDA (bf16 autocast) when present, else the CPU."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

CPU = torch.device("cpu")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{name}' requested but CUDA is not available")
    return device


def share_cpu(workers: int) -> None:
    """Give this process its share of the CPU's cores: `workers` processes of torch's default
    thread count each would thrash a small machine."""
    torch.set_num_threads(max(1, torch.get_num_threads() // workers))


def autocast(device: torch.device):
    """bf16 autocast on CUDA; on the CPU bf16 is slower than fp32 for these models."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed every RNG a run touches; `deterministic` also forbids nondeterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
