"""MATLAB-compatible ``imresize(..., 'bicubic')``: the BI degradation every VSR paper uses.

MATLAB's cubic kernel (a = -0.5) is widened by 1/scale when downscaling (antialiasing) and the image
edge is mirrored ("symmetric"). Each axis becomes one dense [out, in] weight matrix, so the same
weights serve numpy (data, metrics) and torch (the bicubic baseline model) exactly.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


@lru_cache(maxsize=64)
def resize_matrix(in_length: int, out_length: int, scale: float, antialiasing: bool = True) -> np.ndarray:
    """Weights [out_length, in_length] (float64) of MATLAB's bicubic resize along one axis."""
    kernel_width = 4.0
    if scale < 1 and antialiasing:
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)
        kernel_width = kernel_width / scale
    else:
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    p = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]  # 1-based source positions
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(1, in_length + 1), np.arange(in_length, 0, -1)])
    src = mirror[np.mod(idx.astype(np.int64) - 1, len(mirror))] - 1
    mat = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(mat, (np.repeat(np.arange(out_length), p), src.ravel()), w.ravel())
    return mat


def output_size(in_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """MATLAB's output size: ceil(in * scale) per axis."""
    return int(math.ceil(in_size[0] * scale)), int(math.ceil(in_size[1] * scale))


def imresize(img: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB; returns float64 (same value range as the input).

    For uint8 input this matches MATLAB's result before its final rounding; use ``imresize_uint8``
    to get MATLAB's uint8 output.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects HxW or HxWxC, got shape {img.shape}")
    h, w = img.shape[:2]
    oh, ow = output_size((h, w), scale)
    mh = resize_matrix(h, oh, float(scale), antialiasing)
    mw = resize_matrix(w, ow, float(scale), antialiasing)
    x = img.astype(np.float64)
    if x.ndim == 2:
        return mh @ x @ mw.T
    out = np.tensordot(mh, x, axes=(1, 0))  # [oh, w, c], through BLAS (einsum would loop in Python speed)
    return np.tensordot(out, mw, axes=(1, 1)).transpose(0, 2, 1)  # [oh, ow, c]


def imresize_uint8(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(uint8_img, scale, 'bicubic')``: resize, round half away from zero, clip."""
    out = imresize(img, scale)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def imresize_torch(x: torch.Tensor, scale: float, antialiasing: bool = True) -> torch.Tensor:
    """The same resize on a tensor [..., H, W] (any leading dims), in x's dtype and device."""
    h, w = x.shape[-2:]
    oh, ow = output_size((h, w), scale)
    mh = torch.from_numpy(resize_matrix(h, oh, float(scale), antialiasing)).to(x.device, x.dtype)
    mw = torch.from_numpy(resize_matrix(w, ow, float(scale), antialiasing)).to(x.device, x.dtype)
    return mh @ x @ mw.transpose(0, 1)
