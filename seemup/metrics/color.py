"""Luma (Y of ITU-R BT.601 YCbCr, studio range): the channel the VSR papers score Vid4 and Vimeo-90K-T on."""

from __future__ import annotations

import numpy as np

# MATLAB rgb2ycbcr's first row: Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1].
Y_OFFSET = 16.0
Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """HxWx3 RGB (uint8 0..255, or float in 0..255) -> HxW float64 Y in 16..235, deliberately not rounded.

    Rounding Y (as ``cv2.cvtColor`` or a saved YCbCr image would) shifts PSNR by a few hundredths of a
    dB, enough to break comparisons with published tables.
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects an HxWx3 RGB image, got shape {img.shape}")
    return img.astype(np.float64) / 255.0 @ Y_WEIGHTS + Y_OFFSET
