"""What turns a chunk's LR frames into its output frames: one interface, one implementation per kind of
network (the upscale job neither knows nor cares which one it drives)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np

from seemup.runtime.runner import ModelRunner

from .schedule import Chunk, window_context, window_indices

Frames = Mapping[int, np.ndarray]  # input frame index -> [h, w, 3] uint8 (or [M, h, w] masks)


class Processor(Protocol):
    """Computes the output frames ``chunk.out_start .. chunk.out_end - 1`` from the input frames
    ``chunk.in_start .. chunk.in_end - 1``, one at a time, so the caller encodes each and lets it go."""

    runner: ModelRunner

    def context(self, overlap: int) -> int:
        """Input frames needed on each side of a chunk (``overlap``: what the user asked for)."""
        ...

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        ...


class RecurrentProcessor:
    """A recurrent network (BasicVSR family) over the chunk with its context; streamed where it can be."""

    def __init__(self, runner: ModelRunner, uses_context: bool = True) -> None:
        self.runner = runner
        self.uses_context = uses_context  # bicubic works frame by frame: context would be wasted work

    def context(self, overlap: int) -> int:
        return overlap if self.uses_context else 0

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        idx = range(chunk.in_start, chunk.in_end)
        clip = np.stack([lr[i] for i in idx])
        clip_masks = np.stack([masks[i] for i in idx]) if masks is not None else None
        return self.runner.stream_recurrent(clip, clip_masks, chunk.out_start - chunk.in_start,
                                            chunk.out_end - chunk.in_start)


class WindowProcessor:
    """A window network (EDVR): each output frame from its 2N+1 neighbours (reflection-circle padded at the
    clip's ends); a few centres per network call on CUDA."""

    def __init__(self, runner: ModelRunner, window: int) -> None:
        self.runner = runner
        self.window = window

    def context(self, overlap: int) -> int:
        return window_context(self.window)

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        batch = 4 if self.runner.device.type == "cuda" else 1
        centres = list(range(chunk.out_start, chunk.out_end))
        for s in range(0, len(centres), batch):
            group = [window_indices(c, num_frames, self.window) for c in centres[s:s + batch]]
            x = np.stack([np.stack([lr[i] for i in g]) for g in group])
            m = np.stack([np.stack([masks[i] for i in g]) for g in group]) if masks is not None else None
            yield from self.runner.run(x, m)

    @property
    def frames_at_once(self) -> int:
        """Input frames in memory during one network call."""
        return (4 if self.runner.device.type == "cuda" else 1) * self.window
