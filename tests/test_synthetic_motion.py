"""Synthetic camera clips over a photo: shape, motion that follows the path, clear failure when too small."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from seemup.data.synthetic_motion import camera_path, render_clip


def _photo(h: int = 900, w: int = 1400) -> np.ndarray:
    rng = np.random.default_rng(1)
    noise = rng.random((h // 8, w // 8, 3)).astype(np.float32)
    return (cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).astype(np.uint8)


def test_path_starts_at_identity_and_is_smooth() -> None:
    path = camera_path(np.random.default_rng(3), 12, max_speed=8.0)
    assert path.shape == (12, 4)
    assert np.allclose(path[0], [0, 0, 0, 1])
    steps = np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1)
    assert steps.max() < 8.0 * 2  # speed bound plus the small acceleration


def test_frames_move_as_the_path_says() -> None:
    photo = _photo()
    steps = np.array([[0, 0], [2, 0], [1, -3], [-4, 2], [0.5, 0]])
    path = np.column_stack([np.cumsum(steps, axis=0), np.zeros(5), np.ones(5)])  # pure translation
    clip = render_clip(photo, np.random.default_rng(0), 5, (160, 96), 2, path=path).astype(np.float64)
    assert clip.shape == (5, 96, 160, 3)
    m = 8
    for t in range(3):  # whole-pixel steps: frame t+1 is frame t moved by the step, exactly
        dx, dy = steps[t + 1].astype(int)
        now = clip[t + 1, m:-m, m:-m]
        before = clip[t, m + dy:96 - m + dy, m + dx:160 - m + dx]
        assert np.abs(now - before).mean() < 0.6, t
        wrong = clip[t, m - dy:96 - m - dy, m - dx:160 - m - dx]
        assert np.abs(now - wrong).mean() > 3, t
    a, b = (cv2.cvtColor(clip[i].astype(np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64) for i in (3, 4))
    (sx, sy), _ = cv2.phaseCorrelate(a, b)  # half-pixel step: content moves opposite to the camera
    assert sx == pytest.approx(-0.5, abs=0.15) and sy == pytest.approx(0, abs=0.15)


def test_random_paths_render_inside_the_photo() -> None:
    photo = _photo()
    for seed in range(4):
        clip = render_clip(photo, np.random.default_rng(seed), 6, (160, 96), 2, max_speed=6.0)
        assert clip.shape == (6, 96, 160, 3)
        assert clip.std() > 10  # real content, not a constant border fill


def test_too_small_photo_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        render_clip(_photo(200, 300), np.random.default_rng(0), 8, (160, 96), 2)
