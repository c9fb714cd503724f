"""uint8 frames <-> network tensors, the one conversion every path uses (BasicSR's: x / 255 in float32 in,
clamp, x 255 and round half to even out, as saving a PNG does)."""

from __future__ import annotations

import warnings

import numpy as np
import torch


def to_tensor(frames: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """[..., h, w, 3] uint8 -> [..., 3, h, w] float32 in [0, 1] on ``device`` (a new tensor: a decoder's
    read-only frame is never written through)."""
    with warnings.catch_warnings():  # torch warns that a read-only array could be written: it is only read
        warnings.simplefilter("ignore", UserWarning)
        t = torch.from_numpy(np.ascontiguousarray(frames))
    return t.to(device, non_blocking=True).movedim(-1, -3).float().div_(255.0)


def clip_to_tensor(frames: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """A clip [T, h, w, 3] uint8 -> a batch of one [1, T, 3, h, w] float32, what the networks take."""
    return to_tensor(frames, device).unsqueeze(0)


def masks_to_tensor(masks: np.ndarray | None, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """[..., M, h, w] uint8 {0, 1} SEEM masks -> float32 on ``device`` (None stays None)."""
    return None if masks is None else torch.from_numpy(np.ascontiguousarray(masks)).to(device).float()


def to_uint8(x: torch.Tensor, in_place: bool = False) -> np.ndarray:
    """[..., 3, H, W] float in [0, 1] -> [..., H, W, 3] uint8 on the host.

    ``in_place`` reuses ``x`` for the arithmetic (saves a frame-sized copy) when the caller no longer
    needs it."""
    x = x.float()
    x = x.clamp_(0, 1) if in_place else x.clamp(0, 1)
    return x.mul_(255.0).round_().to(torch.uint8).movedim(-3, -1).cpu().numpy()
