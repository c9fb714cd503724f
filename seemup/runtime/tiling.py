"""Spatial tiling: run a x4 network on overlapping tiles and blend them, so big frames fit in memory.

Tiles overlap by ``overlap`` LR pixels; in the overlap, each tile's weight ramps linearly from its inner
edge, so seams vanish (weights sum to one everywhere; image borders get full weight).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tile_starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Start offsets of tiles of ``tile`` covering ``length`` with at least ``overlap`` shared (all on ``multiple``)."""
    if tile >= length:
        return [0]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = list(range(0, length - tile, step))
    last = (length - tile) // multiple * multiple
    if not starts or starts[-1] != last:
        starts.append(last)
    return starts


def _ramp(length: int, lead: int, trail: int, device: torch.device) -> torch.Tensor:
    """1-D blend weights: ramps up over ``lead`` samples, down over ``trail`` samples, 1 between."""
    w = torch.ones(length, device=device)
    if lead > 0:
        w[:lead] = torch.arange(1, lead + 1, device=device, dtype=torch.float32) / (lead + 1)
    if trail > 0:
        w[length - trail:] = torch.minimum(
            w[length - trail:], torch.arange(trail, 0, -1, device=device, dtype=torch.float32) / (trail + 1))
    return w


def tiled_forward(
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    lr: torch.Tensor,
    masks: torch.Tensor | None,
    tile: int,
    overlap: int,
    scale: int = 4,
    multiple: int = 1,
) -> torch.Tensor:
    """``fn`` on tiles of ``lr`` [B,T,3,h,w] (and ``masks`` [B,T,M,h,w]), blended into one x``scale`` output.

    ``fn`` returns [B,T,3,sh,sw] (recurrent) or [B,3,sh,sw] (window); the result has the same layout.
    ``multiple``: tile sizes and offsets stay multiples of it (``lr`` must already be padded to it).
    """
    h, w = lr.shape[-2:]
    tile = max(multiple, tile // multiple * multiple)
    overlap = min(overlap, tile // 2)
    ys, xs = tile_starts(h, tile, overlap, multiple), tile_starts(w, tile, overlap, multiple)
    if len(ys) == 1 and len(xs) == 1:
        return fn(lr, masks)
    out: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    for yi, y in enumerate(ys):
        th = min(tile, h - y)
        for xi, x in enumerate(xs):
            tw = min(tile, w - x)
            part = fn(lr[..., y:y + th, x:x + tw], None if masks is None else masks[..., y:y + th, x:x + tw])
            part = part.float()
            if out is None:
                out = part.new_zeros((*part.shape[:-2], h * scale, w * scale))
                weight = part.new_zeros((h * scale, w * scale))
            # ramps only where a neighbouring tile overlaps this one
            top = (ys[yi - 1] + tile - y) if yi > 0 else 0
            bottom = (y + th - ys[yi + 1]) if yi + 1 < len(ys) else 0
            left = (xs[xi - 1] + tile - x) if xi > 0 else 0
            right = (x + tw - xs[xi + 1]) if xi + 1 < len(xs) else 0
            wy = _ramp(th * scale, max(0, top) * scale, max(0, bottom) * scale, part.device)
            wx = _ramp(tw * scale, max(0, left) * scale, max(0, right) * scale, part.device)
            wt = wy[:, None] * wx[None, :]
            out[..., y * scale:(y + th) * scale, x * scale:(x + tw) * scale] += part * wt
            weight[y * scale:(y + th) * scale, x * scale:(x + tw) * scale] += wt
    assert out is not None and weight is not None
    return out / weight
