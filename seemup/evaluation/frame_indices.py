"""Which LR frames a sliding-window model (EDVR) sees for each target frame, as BasicSR's test sets feed it."""

from __future__ import annotations


def window_indices(centre: int, num_total: int, num_frames: int) -> list[int]:
    """The ``num_frames`` (odd) indices around ``centre`` in a clip of ``num_total`` frames.

    Past the clip ends BasicSR's ``reflection_circle`` padding applies: a missing frame before the start
    is taken from the far side of the window (``centre + half - i``), one past the end from before the
    window (``centre - half - (i - last)``). E.g. centre 0 of 5: [4, 3, 0, 1, 2]. A clip shorter than
    the window has too few frames for that rule; such indices are clamped into the clip (not a case of
    any published set).
    """
    if num_frames < 1 or num_frames % 2 != 1:
        raise ValueError(f"window size must be odd and positive, got {num_frames}")
    if not 0 <= centre < num_total:
        raise ValueError(f"centre {centre} outside a clip of {num_total} frames")
    half, last = num_frames // 2, num_total - 1
    out = []
    for i in range(centre - half, centre + half + 1):
        if i < 0:
            j = centre + half - i
        elif i > last:
            j = centre - half - (i - last)
        else:
            j = i
        out.append(min(max(j, 0), last))
    return out
