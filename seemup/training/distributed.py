"""torchrun / DistributedDataParallel plumbing: process group, device per rank, wrapping, reductions.

The same command runs single-process or under ``torchrun --nproc_per_node N``: the environment variables
torchrun sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``) switch DDP on, NCCL on GPUs and gloo on CPU.
"""

from __future__ import annotations

from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from seemup.errors import UserError
from seemup.runtime.ranks import Ranks, launched

# Rank 0 validates and saves while the others wait inside the next all-reduce; mask preparation with SAM
# can also keep ranks apart for long. The default 10-30 minute collective timeout would kill such runs.
COLLECTIVE_TIMEOUT = timedelta(hours=4)


DistInfo = Ranks  # rank, world size, local rank: the same record the upscale and bench ranks use


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto``: this rank's GPU when CUDA is available, else CPU; ``cuda`` without CUDA is a UserError."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("--device cuda requested but CUDA is not available")
        return torch.device("cuda", local_rank) if preference == "cuda" else torch.device(preference)
    if preference != "cpu":
        raise UserError(f"unknown device {preference!r} (auto, cpu, cuda, cuda:N)")
    return torch.device("cpu")


def init_distributed(device_preference: str) -> tuple[DistInfo, torch.device]:
    """Join the process group when launched by torchrun; returns this process's rank info and device."""
    info = launched()
    if not info.enabled:
        return info, pick_device(device_preference)
    device = pick_device(device_preference, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT,
                                device_id=device if device.type == "cuda" else None)
    return info, device


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def wrap_ddp(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """DDP over the parameters that currently require grad (re-wrap when that set changes)."""
    if not info.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def mean_across_ranks(value: float, info: DistInfo, device: torch.device) -> float:
    """Average of a scalar over all ranks (for logging the loss of the whole global batch)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def shard(items: list, info: DistInfo) -> list:
    """This rank's share of ``items`` (all of them when there are fewer items than ranks)."""
    if not info.enabled or len(items) < info.world_size:
        return list(items)
    return items[info.rank::info.world_size]
