"""Charbonnier loss, BasicSR's form: mean of sqrt((pred - target)^2 + eps), eps = 1e-12."""

from __future__ import annotations

import torch


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Smooth L1-like loss; computed in float32 so eps survives under mixed precision."""
    diff = pred.float() - target.float()
    return torch.sqrt(diff * diff + eps).mean()
