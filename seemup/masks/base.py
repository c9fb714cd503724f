"""The mask-source contract: one LR RGB frame in, exactly 64 binary masks out, in a fixed channel order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

NUM_MASKS = 64
"""Channels per frame (at most 64 masks, zero-padded to exactly 64; docs/masks.md)."""


def check_frame(frame: np.ndarray) -> np.ndarray:
    """Reject anything that is not an HxWx3 uint8 RGB frame, so a wrong array fails here, not deep in SAM."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a frame must be HxWx3 uint8 RGB, got shape {frame.shape} dtype {frame.dtype}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"empty frame of shape {frame.shape}")
    return np.ascontiguousarray(frame)


def stack_ordered(
    masks: Sequence[np.ndarray],
    height: int,
    width: int,
    areas: Sequence[float] | None = None,
    tie_keys: Sequence[Sequence[float]] | None = None,
) -> np.ndarray:
    """Sort masks largest first (ties: ``tie_keys`` in turn, larger first, then input order), keep 64, zero-pad.

    The fixed order makes channel k mean roughly "the k-th largest region" in every frame (docs/method.md).
    """
    out = np.zeros((NUM_MASKS, height, width), dtype=np.uint8)
    if len(masks) == 0:
        return out
    if areas is None:
        areas = [int(np.count_nonzero(m)) for m in masks]
    n = len(masks)
    keys = [tuple(-float(k) for k in tie_keys[i]) if tie_keys is not None else () for i in range(n)]
    order = sorted(range(n), key=lambda i: (-float(areas[i]), *keys[i], i))
    for channel, i in enumerate(order[:NUM_MASKS]):
        m = masks[i]
        if m.shape != (height, width):
            raise ValueError(f"mask {i} has shape {m.shape}, expected {(height, width)}")
        out[channel] = m.astype(bool, copy=False)
    return out


class MaskSource(ABC):
    """Turns an LR frame into ``[64, H, W]`` uint8 {0,1} masks; ``id`` names exactly what produced them.

    ``id`` is stable across runs and machines (kind + checkpoint hash + parameters): trained weights record it
    and the cache keys on it, so two sources with the same id give the same masks — up to numerics: SAM on
    CUDA runs its encoder in bf16/fp16 and may flip a few boundary pixels relative to CPU fp32.
    """

    id: str
    preferred_batch: int = 1
    """How many frames ``batch`` handles at once with a gain (callers group frames by it)."""

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Masks of one HxWx3 uint8 RGB frame: ``[64, H, W]`` uint8 in {0, 1}."""
        return self._masks(check_frame(frame))

    def batch(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Masks of several frames: ``[N, 64, H, W]`` uint8 (frames of different sizes must be called one by one)."""
        checked = [check_frame(f) for f in frames]
        if not checked:
            return np.zeros((0, NUM_MASKS, 0, 0), dtype=np.uint8)
        shapes = {f.shape for f in checked}
        if len(shapes) != 1:
            raise ValueError(f"batch frames must share one size, got {sorted(shapes)}")
        return self._masks_batch(checked)

    @abstractmethod
    def _masks(self, frame: np.ndarray) -> np.ndarray:
        """Compute the masks of one checked frame."""

    def _masks_batch(self, frames: list[np.ndarray]) -> np.ndarray:
        """Default batch: one frame at a time (sources that gain from batching override this)."""
        return np.stack([self._masks(f) for f in frames])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class NoMasks(MaskSource):
    """All-zero masks at no cost, for a SEEM model whose SEEM is zero (``seemup.models.seem.seem_is_zero``):
    its output does not depend on the masks, so computing real ones would only spend time."""

    id = "none"
    preferred_batch = 64

    def _masks(self, frame: np.ndarray) -> np.ndarray:
        return np.zeros((NUM_MASKS, *frame.shape[:2]), dtype=np.uint8)
