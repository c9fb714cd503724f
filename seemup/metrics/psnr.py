"""PSNR as the SR literature computes it: one frame, float64 MSE over all pixels and channels, peak 255."""

from __future__ import annotations

import math

import numpy as np

from .prepare import prepare_pair


def psnr(a: np.ndarray, b: np.ndarray, crop_border: int = 0, space: str = "y") -> float:
    """PSNR in dB of two uint8 HxWx3 RGB frames (``inf`` when identical).

    ``space="y"`` scores the unrounded BT.601 luma, ``"rgb"`` all three channels together.
    """
    x, y = prepare_pair(a, b, crop_border, space)
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 * 255.0 / mse)
