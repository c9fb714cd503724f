"""What turns a chunk's LR frames into its output frames: one interface, one implementation per kind of
network (the upscale job neither knows nor cares which one it drives)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

import numpy as np
import torch

from seemup.runtime.device import autocast
from seemup.runtime.frames import masks_to_tensor, to_tensor, to_uint8
from seemup.runtime.runner import ModelRunner

from .schedule import Chunk, window_context, window_indices

Frames = Mapping[int, np.ndarray]  # input frame index -> [h, w, 3] uint8 (or [M, h, w] masks)
MaskFn = Callable[[list[np.ndarray]], np.ndarray]  # frames -> their SEEM masks [N, M, h, w]


class Processor(Protocol):
    """Computes the output frames ``chunk.out_start .. chunk.out_end - 1`` from the input frames
    ``chunk.in_start .. chunk.in_end - 1``, one at a time, so the caller encodes each and lets it go
    (``lookahead``: input frames it also needs after ``in_end``)."""

    runner: ModelRunner
    lookahead: int

    def context(self, overlap: int) -> int:
        """Input frames needed on each side of a chunk (``overlap``: what the user asked for)."""
        ...

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        ...


class RecurrentProcessor:
    """A recurrent network (BasicVSR family) over the chunk with its context; streamed where it can be."""

    lookahead = 0

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

    lookahead = 0

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


FramesAfter = Callable[[np.ndarray, np.ndarray | None, int, bool], list[np.ndarray]]  # Interpolator.frames_after
IsCut = Callable[[np.ndarray, np.ndarray], bool]


class InterpolatingProcessor:
    """``--fps-factor N``: N - 1 new LR frames after each input frame, then the x4 processor over the denser
    clip, so a recurrent network propagates through the new frames too.

    The frames between input frames i and i + 1 (``frames_after``: RIFE at t = k / N; the nearer input frame
    across a scene cut; the last frame repeated) depend on that pair only, so a pair that spans a chunk
    boundary gives the same frames in both chunks, and is interpolated once: the last chunk's new frames are
    kept.
    """

    lookahead = 1  # input frames needed after a chunk's last one (its successor)

    def __init__(self, inner: Processor, frames_after: FramesAfter, factor: int, is_cut: IsCut,
                 masker: MaskFn | None = None) -> None:
        self.inner = inner
        self.runner = inner.runner
        self.frames_after = frames_after
        self.factor = factor
        self.is_cut = is_cut
        self.masker = masker  # SEEM masks of the new frames (the job gives those of the input frames)
        self._made: dict[int, list[np.ndarray]] = {}  # input index i -> the new frames after it
        self.cuts = 0

    def context(self, overlap: int) -> int:
        return self.inner.context(overlap)

    def _after(self, i: int, lr: Frames, num_frames: int) -> list[np.ndarray]:
        """The N - 1 frames after input frame ``i``."""
        if i not in self._made:
            b = lr[i + 1] if i + 1 < num_frames else None
            cut = b is not None and self.is_cut(lr[i], b)
            self.cuts += cut
            self._made[i] = self.frames_after(lr[i], b, self.factor, cut)
        return self._made[i]

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        n = self.factor
        for i in [i for i in self._made if i < chunk.in_start]:
            del self._made[i]
        dense: dict[int, np.ndarray] = {}
        dense_masks: dict[int, np.ndarray] | None = {} if masks is not None else None
        for i in range(chunk.in_start, chunk.in_end):
            dense[i * n] = lr[i]
            new = self._after(i, lr, num_frames)
            dense.update((i * n + k, f) for k, f in enumerate(new, start=1))
            if dense_masks is not None:
                dense_masks[i * n] = masks[i]
                made = self.masker(new) if self.masker is not None and new else []
                dense_masks.update((i * n + k, m) for k, m in enumerate(made, start=1))
        wide = Chunk(chunk.index, chunk.out_start * n, chunk.out_end * n, chunk.in_start * n, chunk.in_end * n)
        return self.inner.frames(wide, dense, dense_masks, num_frames * n)


class SpaceTimeProcessor:
    """A one-stage space-time network (SAFA, ``--model safa --fps-factor N``): input frames i and i + 1 give
    the x4 frames at t = k / N, k = 0 .. N - 1 (t = 0 is frame i itself, upscaled by the same network); the
    last input frame has no successor: it is t = 1 of the pair before it, repeated N times, so the output
    has N times the input's frames, like the cascade's."""

    lookahead = 1

    def __init__(self, runner: ModelRunner, factor: int) -> None:
        self.runner = runner
        self.factor = factor

    def context(self, overlap: int) -> int:
        return 1  # the last frame is computed from the pair before it

    def _pair(self, a: np.ndarray, b: np.ndarray, times: list[float], masks: np.ndarray | None) -> np.ndarray:
        runner = self.runner
        with torch.inference_mode():
            with autocast(runner.device, runner.precision):
                out = runner.model(to_tensor(a[None], runner.device), to_tensor(b[None], runner.device), times,
                                   masks_to_tensor(masks, runner.device))
            return to_uint8(out[0], in_place=True)

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        n = self.factor
        for i in range(chunk.out_start, chunk.out_end):
            first, times = (i, [k / n for k in range(n)]) if i + 1 < num_frames else (max(0, i - 1), [1.0])
            second = min(first + 1, num_frames - 1)
            m = np.stack([masks[first], masks[second]])[None] if masks is not None else None
            out = self._pair(lr[first], lr[second], times, m)
            yield from (out if len(out) == n else [out[0]] * n)
