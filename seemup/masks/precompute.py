"""Filling the mask cache ahead of time for a video, a frame folder, or a whole dataset tree."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seemup.errors import UserError
from seemup.video import VIDEO_SUFFIXES, VideoInfo, list_frame_files, probe, read_frames

from .cached import CachedMasks


@dataclass(frozen=True)
class MaskInput:
    """One sequence to precompute: a video file or a folder of frames, with its frame count."""

    path: Path
    info: VideoInfo

    @property
    def num_frames(self) -> int:
        return self.info.num_frames


@dataclass
class PrecomputeSummary:
    """What a precompute run did (the CLI's closing line)."""

    frames: int
    hits: int
    misses: int
    seconds: float

    def line(self) -> str:
        return f"frames {self.frames}, cache hits {self.hits}, misses {self.misses}, {self.seconds:.1f} s"

    @classmethod
    def combined(cls, parts: list[PrecomputeSummary]) -> PrecomputeSummary:
        """The summary of several ranks that ran side by side (counts added, the longest time)."""
        return cls(sum(p.frames for p in parts), sum(p.hits for p in parts), sum(p.misses for p in parts),
                   max(p.seconds for p in parts))


def find_inputs(root: str | Path) -> list[MaskInput]:
    """Every sequence under ``root``: the file itself, or each folder holding png/jpg frames and each video file
    found walking ``root`` recursively (sorted, hidden entries skipped). UserError when there is none."""
    root = Path(root).expanduser()
    if not root.exists():
        raise UserError(f"input not found: {root}")
    if root.is_file():
        return [MaskInput(root, probe(root))]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        if list_frame_files(here):
            found.append(here)
        found += [here / f for f in sorted(filenames) if not f.startswith(".") and f.lower().endswith(VIDEO_SUFFIXES)]
    if not found:
        raise UserError(f"no videos or png/jpg frame folders under {root}")
    return [MaskInput(p, probe(p)) for p in found]


def lr_frames(frames: Iterator[np.ndarray], downscale: int) -> Iterator[np.ndarray]:
    """Frames as the models see them when ``downscale`` > 1: cut to a multiple of it, then MATLAB-bicubic 1/N
    (what training does to HR frames, so the cache entries match)."""
    if downscale == 1:
        yield from frames
        return
    from seemup.imresize import imresize_uint8

    for frame in frames:
        h, w = frame.shape[:2]
        if h < downscale or w < downscale:
            raise UserError(f"a {w}x{h} frame cannot be downscaled by {downscale}")
        yield imresize_uint8(frame[: h - h % downscale, : w - w % downscale], 1 / downscale)


def precompute_masks(
    inputs: list[MaskInput],
    masks: CachedMasks,
    on_frames: Callable[[int], None] | None = None,
    downscale: int = 1,
    part: range | None = None,
) -> PrecomputeSummary:
    """Compute (or find cached) masks of every frame of ``inputs``, in batches of the source's preferred size.

    Frames are streamed (never a whole video in memory); ``on_frames(n)`` reports progress. ``part``: only
    these frames, numbered through all the inputs in order (a torchrun rank's share; None: all of them).
    """
    if downscale < 1:
        raise UserError(f"downscale must be >= 1, got {downscale}")
    start = time.perf_counter()
    hits0, misses0 = masks.stats.hits, masks.stats.misses
    step = max(1, masks.preferred_batch)
    frames_done = 0
    offset = 0
    for item in inputs:
        first, stop = (0, item.num_frames) if part is None else \
            (max(part.start - offset, 0), min(part.stop - offset, item.num_frames))
        offset += item.num_frames
        if first >= stop:
            continue
        with read_frames(item.path, info=item.info, start=first) as reader:
            pending: list[np.ndarray] = []
            to_end = stop == item.num_frames  # read to the end: the reader then checks the stream's length
            for frame in lr_frames(iter(reader) if to_end else itertools.islice(reader, stop - first), downscale):
                pending.append(frame)
                if len(pending) == step:
                    masks.batch(pending)
                    frames_done += len(pending)
                    if on_frames is not None:
                        on_frames(len(pending))
                    pending = []
            if pending:
                masks.batch(pending)
                frames_done += len(pending)
                if on_frames is not None:
                    on_frames(len(pending))
    return PrecomputeSummary(
        frames=frames_done,
        hits=masks.stats.hits - hits0,
        misses=masks.stats.misses - misses0,
        seconds=time.perf_counter() - start,
    )
