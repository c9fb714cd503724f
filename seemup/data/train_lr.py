"""Full-frame LR frames of a training clip, made once (MATLAB bicubic x1/4 of the HR frame) and cut per crop.

The mixed sampler (``--mix``) cuts a sample's LR out of the whole frame's LR, which is what the network sees at
inference, instead of shrinking the HR crop (whose border pixels then miss their neighbours). Stored per clip
as a raw uint8 array [T, h, w, 3] in the training cache, so a sample reads only its crop.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .train_clips import SCALE, Clip, lr_frame
from .train_files import LazyMemmap, atomic_write_bytes, make_readable


class ClipLR(LazyMemmap):
    """Memory-mapped LR frames of one clip; picklable for DataLoader workers."""

    def __init__(self, raw: Path, shape: tuple[int, int, int, int]) -> None:
        self.shape = shape
        self._init_memmap(raw, shape)

    def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
        """LR crops [count, size, size, 3] of frames start .. start+count-1."""
        return np.ascontiguousarray(self.array[start:start + count, top:top + size, left:left + size])


def prepare_clip_lr(clip: Clip, cache_dir: Path, on_frames: Callable[[int], None] | None = None) -> ClipLR:
    """LR frames of every HR frame of ``clip`` (reused when already prepared; the key names the HR content)."""
    folder = cache_dir / "lr"
    raw, meta = folder / f"{clip.key}.u8", folder / f"{clip.key}.json"
    shape = (clip.num_frames, clip.height // SCALE, clip.width // SCALE, 3)
    if meta.is_file() and raw.is_file() and raw.stat().st_size == int(np.prod(shape)):
        if on_frames is not None:
            on_frames(clip.num_frames)
        return ClipLR(raw, shape)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{clip.key}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            for i in range(clip.num_frames):
                fh.write(np.ascontiguousarray(lr_frame(clip, i)).tobytes())
                if on_frames is not None:
                    on_frames(1)
        make_readable(tmp)
        os.replace(tmp, raw)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(meta, json.dumps({"shape": list(shape), "clip": clip.name}).encode())
    return ClipLR(raw, shape)
