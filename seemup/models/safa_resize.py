"""OpenCV's bicubic x4 of 8-bit frames (``cv2.resize(..., INTER_CUBIC)`` on uint8), bit for bit, in torch.

SAFA runs at high resolution: its reference reads the two LR frames as 8-bit images, enlarges them x4 with
OpenCV's bicubic, divides by 255 and only then enters the network. ``F.interpolate(mode="bicubic")`` is not
the same function: it neither rounds nor clips, so on 8-bit frames it is up to 60 levels away wherever the
cubic kernel overshoots, and still one level away on about 1 value in 50,000 after rounding and clipping
(measured, docs/method.md). This module computes what OpenCV's own code computes for 8-bit input:

- taps: OpenCV's cubic with A = -0.75 at the source position ``(d + 0.5) / 4 - 0.5``, evaluated in
  float32, then scaled to 11-bit fixed point (``round(c * 2048)``, ties to even); borders repeat the edge
  pixel;
- horizontal pass: exact integer sums of pixel times tap;
- vertical pass, as OpenCV's SSE-width code: products ``S_k * (beta_k / 2**22)`` in float32, added as
  ``p0 + (p1 + (p2 + p3))``, rounded half to even and clipped to 0..255; the last ``(12 w) % 8`` values
  of each output row (interleaved BGR order; only when the LR width ``w`` is odd) fall to OpenCV's scalar
  integer tail: ``(sum + 2**21) >> 22``.

Checked bit-exact against ``cv2.resize`` with IPP switched off. With IPP on (the default of x86 wheels) OpenCV
hands this resize to Intel IPP, whose float arithmetic differs from its own on about 1 value in 280,000, by
one level (tests/test_safa_resize.py measures both).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

SCALE = 4
_COEF_BITS = 11  # INTER_RESIZE_COEF_BITS
_A = np.float32(-0.75)


def _cubic_taps(frac: float) -> list[int]:
    """OpenCV's four cubic taps for fractional position ``frac``, in float32, as 11-bit fixed point."""
    x = np.float32(frac)
    one = np.float32(1)
    c0 = ((_A * (x + one) - np.float32(5) * _A) * (x + one) + np.float32(8) * _A) * (x + one) - np.float32(4) * _A
    c1 = ((_A + np.float32(2)) * x - (_A + np.float32(3))) * x * x + one
    c2 = ((_A + np.float32(2)) * (one - x) - (_A + np.float32(3))) * (one - x) * (one - x) + one
    c3 = one - c0 - c1 - c2
    return [int(np.rint(np.float32(c) * np.float32(1 << _COEF_BITS))) for c in (c0, c1, c2, c3)]


def _axis(n_in: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Source indices [4n, 4] (edge-clamped) and fixed-point taps [4n, 4] for one axis of length ``n_in``."""
    idx, taps = _axis_cpu(n_in)
    return idx.to(device), taps.to(device)


@lru_cache(maxsize=16)
def _axis_cpu(n_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx, taps = [], []
    inv = np.float32(1.0 / SCALE)
    for d in range(n_in * SCALE):
        pos = np.float32((d + 0.5) * float(inv) - 0.5)
        start = math.floor(float(pos))
        taps.append(_cubic_taps(float(np.float32(pos - np.float32(start)))))
        idx.append([min(max(start - 1 + k, 0), n_in - 1) for k in range(4)])
    return torch.tensor(idx, dtype=torch.long), torch.tensor(taps, dtype=torch.int64)


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] float frames -> integer levels 0..255 (int64): what reading an 8-bit image gives."""
    return torch.round(x.float() * 255.0).clamp_(0, 255).to(torch.int64)


def opencv_bicubic_x4(levels: torch.Tensor) -> torch.Tensor:
    """Integer levels [B, 3, h, w] (0..255, channels in OpenCV's BGR order) -> [B, 3, 4h, 4w] levels, as
    ``cv2.resize(img, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)`` computes them without IPP."""
    if levels.dim() != 4 or levels.size(1) != 3:
        raise ValueError(f"expected levels shaped [B,3,h,w], got {tuple(levels.shape)}")
    b, c, h, w = levels.shape
    iy, wy = _axis(h, levels.device)
    ix, wx = _axis(w, levels.device)
    x = levels.to(torch.int32)  # |sums| stay below 255 * 2768 horizontally: exact in int32
    hor = sum(x.index_select(3, ix[:, k]) * wx[:, k].to(torch.int32) for k in range(4))  # [B, 3, h, 4w]
    hor_f = hor.to(torch.float32)  # exact: |sums| < 2**24
    beta = wy.to(torch.float32) / float(1 << (2 * _COEF_BITS))  # exact: taps over a power of two
    prod = [hor_f.index_select(2, iy[:, k]) * beta[:, k].view(1, 1, -1, 1) for k in range(4)]  # S_k * b_k
    out = torch.round(prod[0] + (prod[1] + (prod[2] + prod[3]))).clamp_(0, 255).to(torch.int64)
    tail = (c * SCALE * w) % 8  # values of each row that OpenCV's 8-lane loop leaves to its integer code
    if tail:
        cols = -(-tail // c)  # the last pixels the tail reaches
        edge = hor[..., -cols:].to(torch.int64)
        exact = sum(edge.index_select(2, iy[:, k]) * wy[:, k].view(1, 1, -1, 1) for k in range(4))
        exact = ((exact + (1 << (2 * _COEF_BITS - 1))) >> (2 * _COEF_BITS)).clamp_(0, 255)
        end = out[..., -cols:].permute(0, 2, 3, 1).reshape(b, SCALE * h, -1)  # interleaved, as in memory
        end[..., -tail:] = exact.permute(0, 2, 3, 1).reshape(b, SCALE * h, -1)[..., -tail:]
        out[..., -cols:] = end.reshape(b, SCALE * h, cols, c).permute(0, 3, 1, 2)
    return out


def upscale_like_reference(frames_bgr: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[B, 3, h, w] BGR in [0, 1] -> [B, 3, 4h, 4w] of ``dtype``: 8-bit levels, OpenCV bicubic x4, then / 255."""
    return opencv_bicubic_x4(quantize_8bit(frames_bgr)).to(dtype) / 255.0
