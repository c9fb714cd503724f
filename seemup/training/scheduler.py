"""Cosine annealing with restarts (BasicSR's ``CosineAnnealingRestartLR``), stepped once per iteration."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import torch
from torch.optim.lr_scheduler import LRScheduler


def cosine_restart_factor(iteration: int, periods: Sequence[int],
                          restart_weights: Sequence[float]) -> tuple[float, float]:
    """(weight, cosine factor in [0, 1]) at ``iteration``: lr = eta_min + weight * (base - eta_min) * factor.

    Cycle ``i`` covers iterations ``(cum[i-1], cum[i]]``; the position is clamped to the last cycle's end.
    """
    cumulative = [sum(periods[: i + 1]) for i in range(len(periods))]
    idx = min(bisect.bisect_left(cumulative, iteration), len(periods) - 1)
    start = 0 if idx == 0 else cumulative[idx - 1]
    pos = min(iteration - start, periods[idx])
    return float(restart_weights[idx]), 0.5 * (1.0 + math.cos(math.pi * pos / periods[idx]))


class CosineAnnealingRestartLR(LRScheduler):
    """Each parameter group keeps its own base lr (so SPyNet's x0.125 group follows the same curve)."""

    def __init__(self, optimizer: torch.optim.Optimizer, periods: Sequence[int],
                 restart_weights: Sequence[float] = (1.0,), eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if len(periods) != len(restart_weights):
            raise ValueError("periods and restart_weights must have the same length")
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        weight, factor = cosine_restart_factor(self.last_epoch, self.periods, self.restart_weights)
        return [self.eta_min + weight * (base - self.eta_min) * factor for base in self.base_lrs]


def warmup_cosine(iteration: int, warmup: int, total: int, peak: float, final: float) -> float:
    """SAFA's schedule: linear from 0 to ``peak`` over ``warmup`` iterations, then cosine from ``peak`` to
    ``final`` at ``total`` (held there after)."""
    if iteration < warmup:
        return peak * iteration / warmup
    span = max(total - warmup, 1)
    cos = 0.5 * (1.0 + math.cos(math.pi * min(iteration - warmup, span) / span))
    return (peak - final) * cos + final


class WarmupCosineLR(LRScheduler):
    """:func:`warmup_cosine` for every group in proportion to its base lr (a group at a tenth of the rate, such
    as SAFA's head, stays at a tenth throughout)."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup: int, total: int, peak: float, final: float,
                 last_epoch: int = -1) -> None:
        if warmup < 0 or total <= warmup or peak <= 0:
            raise ValueError(f"need 0 <= warmup < total and a positive peak, got {warmup}, {total}, {peak}")
        self.warmup, self.total, self.peak, self.final = warmup, total, peak, final
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        ratio = warmup_cosine(self.last_epoch, self.warmup, self.total, self.peak, self.final) / self.peak
        return [base * ratio for base in self.base_lrs]
