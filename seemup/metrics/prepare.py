"""Common preparation of an image pair before scoring: validation, border crop, colour space."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .color import rgb_to_y

Space = Literal["y", "rgb"]
SPACES: tuple[str, ...] = ("y", "rgb")


def crop_border(img: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels on each side (SR papers exclude them for some image sets; 0 for video sets)."""
    if border < 0:
        raise ValueError(f"crop_border must be >= 0, got {border}")
    if border == 0:
        return img
    if 2 * border >= min(img.shape[0], img.shape[1]):
        raise ValueError(f"crop_border={border} leaves nothing of a {img.shape[1]}x{img.shape[0]} image")
    return img[border:-border, border:-border, ...]


def prepare_pair(a: np.ndarray, b: np.ndarray, border: int = 0, space: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64 HxWxC in 0..255, cropped and in ``space`` (C = 1 for y, 3 for rgb).

    Inputs are uint8 HxWx3 RGB, as saved PNGs are: the protocol scores rounded outputs.
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB images, got shape {a.shape}")
    out = []
    for img in (a, b):
        img = crop_border(img, border)
        out.append(rgb_to_y(img)[..., None] if space == "y" else img.astype(np.float64))
    return out[0], out[1]
