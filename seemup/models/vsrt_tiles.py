"""Whole frames through a network that only takes 64x64 LR patches, as VSR-Transformer's test code does.

The reference (``forward_crop`` in caojiezhang/VSR-Transformer, called with ``lq_size`` 64 and overlap
``lq_size // 2``) cuts each frame into 64x64 patches that start every 32 pixels, the last one flush with
the frame's edge. Nothing is averaged: each output pixel is taken from one patch, away from that patch's
border (the inner half of the overlap), and where the last patch overlaps its neighbour by more, the
later patch wins. This module reproduces that to the pixel, so outputs match the reference's.

Sides under 64 pixels, which the reference cannot take, are padded (edge replication) to 64 and the
output cropped back. Any side of 64 or more works as it is (the patches are always 64x64, so the
network's multiple-of-4 rule never applies to the frame).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

TILE = 64
SCALE = 4


def lr_spans(size: int, tile: int = TILE, overlap: int = TILE // 2) -> list[tuple[int, int]]:
    """The [start, end) rows (or columns) of each patch along one LR side of ``size`` >= ``tile``."""
    if size < tile:
        raise ValueError(f"a side of {size} is smaller than the {tile}-pixel patch")
    step = tile - overlap
    count = size // step + (1 if size % step > overlap else 0)
    ends = [size if i == count - 1 else (i + 1) * step + overlap for i in range(count)]
    return [(end - tile, end) for end in ends]


def hr_spans(size: int, tile: int = TILE, overlap: int = TILE // 2,
             scale: int = SCALE) -> list[tuple[int, int, int, int]]:
    """For each patch along one side: (out_start, out_end, patch_start, patch_end) in HR pixels, i.e. which
    rows of the x``scale`` patch output are written where (the reference's ``hr_crop_index``)."""
    count = len(lr_spans(size, tile, overlap))
    full, step, over = size * scale, (tile - overlap) * scale, overlap * scale
    rest = (size % (tile - overlap)) * scale
    spans = []
    for i in range(count):
        if i == 0:
            end = step + (over // 2 if count > 1 else over)
            spans.append((0, end, 0, end))
        elif i == count - 1:
            inner_end = step + over
            if rest > over:
                spans.append((full - rest, full, inner_end - rest, inner_end))
            else:
                spans.append((full - step - over // 2, full, over // 2, inner_end))
        else:
            start = i * step + over // 2
            spans.append((start, start + step, over // 2, over // 2 + step))
    return spans


def _pad_to(x: torch.Tensor | None, h: int, w: int) -> torch.Tensor | None:
    """Edge-replicate the last two dims of ``x`` ([B,...,h0,w0]) up to h x w."""
    if x is None or x.shape[-2:] == (h, w):
        return x
    lead = x.shape[:-2]
    flat = x.reshape(-1, 1, *x.shape[-2:]).float() if x.dtype == torch.uint8 else x.reshape(-1, 1, *x.shape[-2:])
    flat = F.pad(flat, (0, w - x.shape[-1], 0, h - x.shape[-2]), mode="replicate")
    return flat.to(x.dtype).reshape(*lead, h, w)


def tiled_forward(net: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], lr: torch.Tensor,
                  centre_masks: torch.Tensor | None, *, tile: int = TILE, batch: int = 4) -> torch.Tensor:
    """x4 centre frame [B,3,4h,4w] of ``lr`` [B,T,3,h,w], running ``net`` (patches [k,T,3,tile,tile] and
    their centre masks [k,64,tile,tile] -> [k,3,4*tile,4*tile]) on ``batch`` patches at a time."""
    b, _, _, h, w = lr.shape
    ph, pw = max(h, tile), max(w, tile)
    lr, centre_masks = _pad_to(lr, ph, pw), _pad_to(centre_masks, ph, pw)
    rows, cols = lr_spans(ph, tile), lr_spans(pw, tile)
    starts = sorted({(r0, c0) for r0, _ in rows for c0, _ in cols})  # equal spans (a side of 64) run once
    outputs: dict[tuple[int, int], torch.Tensor] = {}
    for s in range(0, len(starts), batch):
        group = starts[s:s + batch]
        patches = torch.cat([lr[..., r0:r0 + tile, c0:c0 + tile] for r0, c0 in group])
        masks = None if centre_masks is None else torch.cat(
            [centre_masks[..., r0:r0 + tile, c0:c0 + tile] for r0, c0 in group])
        out = net(patches, masks)
        for k, key in enumerate(group):
            outputs[key] = out[k * b:(k + 1) * b]
    result = None
    for (r0, _), (o_r0, o_r1, p_r0, p_r1) in zip(rows, hr_spans(ph, tile), strict=True):
        for (c0, _), (o_c0, o_c1, p_c0, p_c1) in zip(cols, hr_spans(pw, tile), strict=True):
            patch = outputs[(r0, c0)]
            if result is None:
                result = patch.new_zeros(b, patch.shape[1], ph * SCALE, pw * SCALE)
            result[..., o_r0:o_r1, o_c0:o_c1] = patch[..., p_r0:p_r1, p_c0:p_c1]
    return result[..., : h * SCALE, : w * SCALE]
