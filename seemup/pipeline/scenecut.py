"""Scene cuts between two consecutive frames, so that frame interpolation never blends two shots.

The score is the total-variation distance between the frames' colour histograms: 8 levels per RGB channel
(512 bins, the top 3 bits of each value), each normalised to sum 1, half the L1 distance between them, so
0 for the same colours and 1 for no colour in common. A histogram ignores where things are, so camera
motion and moving objects barely change it, while a new shot changes it a lot. Frames wider than
:data:`WORK_WIDTH` are area-downscaled to that width first, which keeps the score nearly independent of the
input size and the cost small (0.35 ms per frame at 320x180, 4 ms at 1280x720, one core; each frame's
histogram is computed once, :class:`SceneCuts`).

Calibration (``python scripts/calibrate_scenecut.py``: all six clips of ``$SEEMUP_FOOTAGE``, frames
area-downscaled to 320 pixels wide): within a clip the highest score of any two frames 1 or 2 apart is
0.103 (02_cups, at its last frames; 01_dog 0.019, bedroom 0.045); between frames of two
different clips the lowest is 0.423 (02_cups against 04_coffee), and every join of two clips (the last frame
of one, the first of the next) scores 0.438 or more. At 80 and 640 pixels wide these move by less than
0.006. The threshold :data:`CUT_THRESHOLD` = 0.25 sits between the two with room on both sides. What it
cannot see: a cut between two shots with the same colours (two angles of one room) scores like a pan and
is not treated as a cut.
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_THRESHOLD = 0.25
WORK_WIDTH = 160
_LEVELS = 8  # per channel; the top 3 bits of a uint8 value


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """The 512-bin joint RGB histogram of a uint8 HxWx3 frame, normalised to sum 1 (float64)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"scene cuts need uint8 HxWx3 frames, got {frame.dtype} {frame.shape}")
    h, w = frame.shape[:2]
    if w > WORK_WIDTH:
        frame = cv2.resize(frame, (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))), interpolation=cv2.INTER_AREA)
    q = (frame >> 5).astype(np.int32)
    index = (q[..., 0] * _LEVELS + q[..., 1]) * _LEVELS + q[..., 2]
    counts = np.bincount(index.ravel(), minlength=_LEVELS**3)
    return counts / counts.sum()


def histogram_distance(h0: np.ndarray, h1: np.ndarray) -> float:
    """Total-variation distance of two normalised histograms: 0 (same) .. 1 (disjoint)."""
    return float(0.5 * np.abs(h0 - h1).sum())


def cut_score(a: np.ndarray, b: np.ndarray) -> float:
    """How different the colours of two frames are (0..1); above :data:`CUT_THRESHOLD` is a cut."""
    return histogram_distance(colour_histogram(a), colour_histogram(b))


def is_cut(a: np.ndarray, b: np.ndarray, threshold: float = CUT_THRESHOLD) -> bool:
    """Whether a new shot starts at ``b`` (then no frame between ``a`` and ``b`` may be interpolated)."""
    return cut_score(a, b) > threshold


class SceneCuts:
    """:func:`is_cut` over a stream of frames, each frame's histogram computed once."""

    def __init__(self, threshold: float = CUT_THRESHOLD) -> None:
        self.threshold = threshold
        self._last: np.ndarray | None = None

    def next(self, frame: np.ndarray) -> bool:
        """Feed the next frame; True when it starts a new shot (always False for the first frame)."""
        hist = colour_histogram(frame)
        cut = self._last is not None and histogram_distance(self._last, hist) > self.threshold
        self._last = hist
        return cut
