"""Which input frames each piece of work needs: temporal chunks with context, and window neighbourhoods.

Recurrent models (BasicVSR) see a chunk of frames plus ``overlap`` context frames on each side; the context
outputs are dropped so every frame is written once, in order. Window models (EDVR) see 2N+1 frames around
each output frame, padded at the clip ends the way BasicSR tests them ("reflection_circle").
"""

from __future__ import annotations

from dataclasses import dataclass

from seemup.data.frame_indices import window_indices

__all__ = ["Chunk", "plan_chunks", "window_context", "window_indices"]


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


def window_context(window: int) -> int:
    """How far (in frames) a window model's reflection_circle padding can reach beyond an output range."""
    return 2 * (window // 2)
