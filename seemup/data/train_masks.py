"""Per-clip SEEM mask arrays for training, computed once on the full LR frames.

Masks come from the shared mask cache (``CachedMasks``), computed on first use on the MATLAB-bicubic LR
frame, then stored per clip as bit-packed arrays [T, 8, h, w] (64 masks -> 8 bytes per pixel) so that a
training sample reads only its crop. Masks of a crop are the crop of the full frame's masks: SAM needs the
whole frame's context, and the crop offsets are multiples of 4 so LR and mask crops line up exactly.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seemup.models import NUM_MASKS

from .train_clips import SCALE, Clip, lr_frame
from .train_files import LazyMemmap, atomic_write_bytes, make_readable, source_tag

PACKED = NUM_MASKS // 8


class ClipMasks(LazyMemmap):
    """Memory-mapped packed masks of one clip; picklable for DataLoader workers."""

    def __init__(self, raw: Path, shape: tuple[int, int, int, int]) -> None:
        self.shape = shape
        self._init_memmap(raw, shape)

    def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
        """Masks [count, 64, size, size] uint8 {0,1} of an LR crop."""
        packed = np.asarray(self.array[start:start + count, :, top:top + size, left:left + size])
        return np.unpackbits(packed, axis=1, count=NUM_MASKS)

    def full(self, index: int) -> np.ndarray:
        return np.unpackbits(np.asarray(self.array[index]), axis=0, count=NUM_MASKS)


def prepare_clip_masks(clip: Clip, source, cache_dir: Path,  # noqa: ANN001 - a seemup.masks MaskSource
                       on_frames: Callable[[int], None] | None = None) -> ClipMasks:
    """Packed masks of every LR frame of ``clip`` by ``source`` (reused when already prepared)."""
    folder = cache_dir / "masks"
    stem = f"{clip.key}-{source_tag(source.id)}"
    raw, meta = folder / f"{stem}.u8", folder / f"{stem}.json"
    shape = (clip.num_frames, PACKED, clip.height // SCALE, clip.width // SCALE)
    if meta.is_file() and raw.is_file() and raw.stat().st_size == int(np.prod(shape)):
        if on_frames is not None:
            on_frames(clip.num_frames)
        return ClipMasks(raw, shape)
    folder.mkdir(parents=True, exist_ok=True)
    step = max(1, int(getattr(source, "preferred_batch", 1)))
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            for start in range(0, clip.num_frames, step):
                idx = range(start, min(start + step, clip.num_frames))
                masks = source.batch([lr_frame(clip, i) for i in idx])
                if masks.shape[1:] != (NUM_MASKS, shape[2], shape[3]):
                    raise ValueError(f"mask source returned {masks.shape[1:]}, expected {(NUM_MASKS, *shape[2:])}")
                fh.write(np.packbits(masks.astype(bool), axis=1).tobytes())
                if on_frames is not None:
                    on_frames(len(idx))
        make_readable(tmp)
        os.replace(tmp, raw)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(meta, json.dumps({"shape": list(shape), "clip": clip.name, "source_id": source.id}).encode())
    return ClipMasks(raw, shape)
