"""Data-parallel training (`torch.distributed`): what the trainer does differently per rank.

Every rank draws the same shuffled order and takes its share of each global batch (every
`world`-th example), so the ranks together see the batch one process would; DDP averages
their gradients, which for equal shares is the one-process gradient. Sums are reduced over
ranks before the epoch record is made, so every rank keeps the same record, early-stopping
state and best weights. Rank 0 alone writes checkpoints (every rank resumes from them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mastery.tasks.base import Batch, Sums, take


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def current_world() -> World:
    """This process's place in the process group; one process when there is no group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def join(device: torch.device) -> World:
    """Join the group torchrun set up (its env:// variables): NCCL on CUDA, gloo on the CPU."""
    import torch.distributed as dist

    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return current_world()


def share(batch: Batch, world: World) -> Batch:
    """This rank's share of a global batch."""
    return batch if world.size == 1 else take(batch, slice(world.rank, None, world.size))


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The module the step runs through: DDP across ranks (averaging gradients), else itself."""
    if world.size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def reduce(totals: Sums, units: int, world: World, device: torch.device) -> tuple[Sums, int]:
    """Sums and their unit count over all ranks."""
    if world.size == 1:
        return totals, units
    import torch.distributed as dist

    names = sorted(totals)
    packed = torch.stack([totals[name].float() for name in names] + [torch.tensor(float(units), device=device)])
    dist.all_reduce(packed)
    return dict(zip(names, packed[:-1], strict=True)), int(packed[-1].item())


def barrier(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()
