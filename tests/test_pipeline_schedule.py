"""Chunk plans, window neighbourhoods (BasicSR reflection_circle) and tile blending."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seemup.pipeline import plan_chunks, window_indices
from seemup.pipeline.schedule import window_context
from seemup.runtime import tiled_forward
from seemup.runtime.tiling import tile_starts


@pytest.mark.parametrize("n,chunk,ctx", [(10, 4, 2), (1, 5, 3), (7, 7, 0), (23, 5, 8)])
def test_chunks_cover_every_frame_once_in_order(n: int, chunk: int, ctx: int) -> None:
    plan = plan_chunks(n, chunk, ctx)
    assert [i for c in plan for i in range(c.out_start, c.out_end)] == list(range(n))
    for c in plan:
        assert c.in_start == max(0, c.out_start - ctx) and c.in_end == min(n, c.out_end + ctx)
        assert 0 < c.size <= chunk


def test_reflection_circle_matches_basicsr_examples() -> None:
    assert window_indices(0, 100, 5) == [4, 3, 0, 1, 2]  # BasicSR's documented example
    assert window_indices(1, 100, 5) == [4, 0, 1, 2, 3]
    assert window_indices(9, 10, 5) == [7, 8, 9, 6, 5]
    assert window_indices(8, 10, 7) == [5, 6, 7, 8, 9, 4, 3]
    assert window_indices(50, 100, 7) == list(range(47, 54))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_short_clips_stay_in_range(n: int) -> None:
    for c in range(n):
        idx = window_indices(c, n, 7)
        assert len(idx) == 7 and idx[3] == c and all(0 <= i < n for i in idx)


def test_window_context_reaches_all_indices() -> None:
    n, window = 30, 7
    ctx = window_context(window)
    for c in range(n):
        idx = window_indices(c, n, window)
        assert min(idx) >= c - ctx and max(idx) <= c + ctx


def test_tile_starts_cover_with_overlap() -> None:
    for length, tile, overlap, mult in [(48, 32, 16, 1), (100, 32, 8, 4), (33, 16, 4, 1), (20, 32, 8, 1)]:
        starts = tile_starts(length, tile, overlap, mult)
        assert starts[0] == 0 and min(tile, length) + starts[-1] == max(length, min(tile, length))
        assert all(s % mult == 0 for s in starts)
        for a, b in zip(starts, starts[1:], strict=False):
            assert a + tile - b >= overlap


def _up4(lr: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """A position-independent stand-in network: tiling must reproduce it exactly (offsets, weights, crops)."""
    b, t, c, h, w = lr.shape
    x = F.interpolate(lr.reshape(b * t, c, h, w), scale_factor=4, mode="nearest")
    return x.reshape(b, t, c, 4 * h, 4 * w)


def test_tiles_blend_without_seams() -> None:
    lr = torch.rand(1, 3, 3, 40, 56)
    whole = _up4(lr, None)
    tiled = tiled_forward(_up4, lr, None, tile=16, overlap=6)
    assert tiled.shape == whole.shape
    assert torch.allclose(tiled, whole, atol=1e-6)


def test_tiles_pass_masks_cropped_alike() -> None:
    lr = torch.rand(1, 2, 3, 24, 24)
    masks = torch.rand(1, 2, 64, 24, 24)

    def fn(x: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
        assert m is not None and m.shape[-2:] == x.shape[-2:]
        return _up4(x + m[:, :, :3], None)

    out = tiled_forward(fn, lr, masks, tile=16, overlap=4)
    assert torch.allclose(out, _up4(lr + masks[:, :, :3], None), atol=1e-6)
