"""Scene cuts: a clip made of two real shots has exactly one cut, at the join; a fast pan within one shot has
none. Frames are the committed footage crops (tests/data/README.md)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from footage import DATA

from seemup.pipeline.scenecut import CUT_THRESHOLD, SceneCuts, colour_histogram, cut_score, is_cut


def _frames(folder: Path) -> list[np.ndarray]:
    return [np.ascontiguousarray(cv2.imread(str(p))[:, :, ::-1]) for p in sorted(folder.glob("*.png"))]


def _cuts(frames: list[np.ndarray]) -> list[int]:
    """Indices of the frames that start a new shot, through the streaming detector."""
    detector = SceneCuts()
    return [i for i, f in enumerate(frames) if detector.next(f)]


@pytest.mark.parametrize(("first", "second"), [
    ("clips/01_dog", "clips/bedroom"),  # outdoor dog, then a child indoors (96x128)
    ("footage/03_blocks-hr-y52-x192-128x192", "footage/bedroom-hr-y40-x120-160x240"),
])
def test_two_shots_have_one_cut_at_the_join(first: str, second: str) -> None:
    a, b = _frames(DATA / first), _frames(DATA / second)
    size = (min(a[0].shape[1], b[0].shape[1]), min(a[0].shape[0], b[0].shape[0]))
    clip = [f[:size[1], :size[0]] for f in a + b]  # one frame size, as in a video
    assert _cuts(clip) == [len(a)]
    scores = [cut_score(clip[i], clip[i + 1]) for i in range(len(clip) - 1)]
    join = scores.pop(len(a) - 1)
    assert join > 2 * CUT_THRESHOLD and max(scores) < CUT_THRESHOLD / 2  # measured: 0.55-0.78 against <= 0.07


def test_fast_pan_within_a_shot_is_no_cut() -> None:
    frame = _frames(DATA / "footage" / "bedroom-hr-y40-x120-160x240")[0]  # 160x240
    pan = [frame[32:128, x:x + 128] for x in range(0, 112, 14)]  # 14 of 128 pixels (11%) per frame
    assert _cuts(pan) == []
    assert max(cut_score(pan[i], pan[i + 1]) for i in range(len(pan) - 1)) < CUT_THRESHOLD / 2


def test_score_is_a_distance() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
    assert cut_score(a, a) == 0.0
    assert cut_score(np.zeros_like(a), np.full_like(a, 255)) == 1.0  # no colour in common
    assert not is_cut(a, a) and is_cut(np.zeros_like(a), np.full_like(a, 255))
    hist = colour_histogram(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8))  # downscaled first
    assert hist.shape == (512,) and abs(hist.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match="uint8"):
        colour_histogram(a.astype(np.float32))
