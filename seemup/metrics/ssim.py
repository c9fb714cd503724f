"""SSIM of Wang et al. (2004) with the constants of their reference MATLAB code, which the SR papers quote.

Gaussian window 11x11 with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255; the SSIM map is kept only where
the window fits entirely inside the image ("valid"), then averaged. A multi-channel image scores the
mean of its per-channel SSIMs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .prepare import prepare_pair

WINDOW = 11
SIGMA = 1.5
K1, K2, L = 0.01, 0.03, 255.0


@lru_cache(maxsize=4)
def gaussian_1d(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps; the 2-D window is their outer product (so filtering is separable)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Correlate HxW ``img`` with the separable window, keeping only fully covered positions."""
    k = len(taps)
    h, w = img.shape
    rows = sum(taps[i] * img[i : h - k + 1 + i, :] for i in range(k))
    return sum(taps[j] * rows[:, j : w - k + 1 + j] for j in range(k))


def ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two single-channel float64 images in 0..255."""
    if min(x.shape) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {x.shape[1]}x{x.shape[0]}")
    g = gaussian_1d()
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = _filter_valid(x * x, g) - mu_xx
    var_y = _filter_valid(y * y, g) - mu_yy
    cov = _filter_valid(x * y, g) - mu_xy
    ssim_map = ((2 * mu_xy + c1) * (2 * cov + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def ssim(a: np.ndarray, b: np.ndarray, crop_border: int = 0, space: str = "y") -> float:
    """SSIM of two uint8 HxWx3 RGB frames, on the luma (``space="y"``) or averaged over R, G, B."""
    x, y = prepare_pair(a, b, crop_border, space)
    return float(np.mean([ssim_channel(x[..., c], y[..., c]) for c in range(x.shape[2])]))
