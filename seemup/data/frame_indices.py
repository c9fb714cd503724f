"""Which LR frames a sliding-window model (EDVR) sees for each target frame.

One definition shared by inference (pipeline), evaluation (bench) and validation (training), so the
three can never disagree about what EDVR sees at the clip ends.
"""

from __future__ import annotations


def _mirror(i: int, last: int) -> int:
    if last == 0:
        return 0
    period = 2 * last
    i %= period
    return i if i <= last else period - i


def window_indices(centre: int, num_frames: int, window: int) -> list[int]:
    """Indices of the ``window`` (odd) frames around ``centre`` in a clip of ``num_frames``.

    Past the clip ends BasicSR's ``reflection_circle`` padding applies: a missing frame before the start
    is taken from the far side of the window (``centre + half - i``), one past the end from before the
    window (``centre - half - (i - last)``); e.g. centre 0 of a 5-window reads [4, 3, 0, 1, 2]. A clip
    shorter than the window has too few frames for that rule (no published set has one); such indices
    fold back by mirroring, so they are still real, in-range frames.
    """
    if window < 1 or window % 2 != 1:
        raise ValueError(f"window size must be odd and positive, got {window}")
    if not 0 <= centre < num_frames:
        raise ValueError(f"centre {centre} outside a clip of {num_frames} frames")
    half, last = window // 2, num_frames - 1
    out = []
    for i in range(centre - half, centre + half + 1):
        if i < 0:
            j = centre + half - i
        elif i > last:
            j = centre - half - (i - last)
        else:
            j = i
        out.append(j if 0 <= j <= last else _mirror(i, last))
    return out
