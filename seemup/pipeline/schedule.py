"""Which input frames each piece of work needs: temporal chunks with context, and window neighbourhoods.

Recurrent models (BasicVSR) see a chunk of frames plus ``overlap`` context frames on each side; the context
outputs are dropped so every frame is written once, in order. Window models (EDVR) see 2N+1 frames around
each output frame, padded at the clip ends the way BasicSR tests them ("reflection_circle").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """Output frames ``[out_start, out_end)`` computed from input frames ``[in_start, in_end)``."""

    index: int
    out_start: int
    out_end: int
    in_start: int
    in_end: int

    @property
    def size(self) -> int:
        return self.out_end - self.out_start


def plan_chunks(num_frames: int, chunk: int, context: int) -> list[Chunk]:
    """Split ``num_frames`` into chunks of ``chunk`` output frames, each with up to ``context`` frames either side."""
    if num_frames <= 0 or chunk <= 0 or context < 0:
        raise ValueError(f"bad chunk plan: {num_frames} frames, chunk {chunk}, context {context}")
    chunks = []
    for k, start in enumerate(range(0, num_frames, chunk)):
        end = min(num_frames, start + chunk)
        chunks.append(Chunk(k, start, end, max(0, start - context), min(num_frames, end + context)))
    return chunks


def window_indices(center: int, num_frames: int, window: int) -> list[int]:
    """Indices of the ``window`` (odd) frames around ``center`` in a clip of ``num_frames``.

    Past the clip ends the indices continue from the far side of the window ("reflection_circle": for the
    first frame of a 5-window that is 4, 3, 0, 1, 2), so the padding frames are real, distinct neighbours.
    If the clip is too short for that, they fold back by mirroring instead (always in range).
    """
    if window % 2 != 1 or window < 1:
        raise ValueError(f"window must be odd, got {window}")
    if not 0 <= center < num_frames:
        raise ValueError(f"center {center} outside a clip of {num_frames} frames")
    half = window // 2
    last = num_frames - 1
    out = []
    for i in range(center - half, center + half + 1):
        if i < 0:
            j = center + half - i
        elif i > last:
            j = (center - half) - (i - last)
        else:
            j = i
        if not 0 <= j <= last:
            j = _mirror(i, last)
        out.append(j)
    return out


def _mirror(i: int, last: int) -> int:
    if last == 0:
        return 0
    period = 2 * last
    i %= period
    return i if i <= last else period - i


def window_context(window: int) -> int:
    """How far (in frames) a window model's reflection_circle padding can reach beyond an output range."""
    return 2 * (window // 2)
