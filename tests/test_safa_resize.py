"""SAFA's input: OpenCV's bicubic x4 of 8-bit frames, reproduced bit for bit (seemup/models/safa_resize.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from seemup.models.safa_resize import opencv_bicubic_x4, quantize_8bit, upscale_like_reference

torch.set_num_threads(1)


def _images(seed: int, count: int, max_side: int = 40) -> list[np.ndarray]:
    """Noise (the cubic kernel's overshoot clips), blurred noise (values near x.5) and flat blocks, odd and
    even widths (OpenCV's integer tail only exists for odd widths), down to one pixel."""
    rng = np.random.default_rng(seed)
    out = [rng.integers(0, 256, (1, 1, 3), dtype=np.uint8), rng.integers(0, 256, (3, 1, 3), dtype=np.uint8)]
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, max_side, 2))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if i % 3 == 1:
            img = cv2.GaussianBlur(img, (5, 5), 2)
        elif i % 3 == 2:
            img = (img // 64 * 64 + 17).astype(np.uint8)
        out.append(img)
    return out


def _ours(img: np.ndarray) -> np.ndarray:
    levels = torch.from_numpy(img).permute(2, 0, 1)[None].long()
    return opencv_bicubic_x4(levels)[0].permute(1, 2, 0).numpy().astype(np.uint8)


@pytest.fixture
def ipp():
    """Set OpenCV's IPP use for one test and put it back afterwards."""
    before = cv2.ipp.useIPP()
    yield cv2.ipp.setUseIPP
    cv2.ipp.setUseIPP(before)


def test_bit_exact_with_opencv_own_resize(ipp) -> None:
    ipp(False)
    for img in _images(0, 60):
        ref = cv2.resize(img, (0, 0), fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        assert np.array_equal(_ours(img), ref), img.shape


def test_ipp_differs_by_at_most_one_level_rarely(ipp) -> None:
    """x86 wheels hand this resize to Intel IPP, whose float arithmetic rounds differently near .5."""
    ipp(True)
    diff, total = 0, 0
    for img in _images(1, 30, max_side=64):
        ref = cv2.resize(img, (0, 0), fx=4, fy=4, interpolation=cv2.INTER_CUBIC).astype(int)
        d = np.abs(_ours(img).astype(int) - ref)
        assert d.max() <= 1
        diff, total = diff + int((d > 0).sum()), total + d.size
    assert diff / total < 1e-4


def test_torch_bicubic_is_not_the_same_function() -> None:
    """Why the module exists: F.interpolate neither rounds nor clips (up to tens of levels on noise)."""
    img = _images(2, 1)[-1]
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    naive = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(naive * 255 - _ours(img)).max() > 5


def test_float_frames_are_read_as_8_bit() -> None:
    levels = torch.randint(0, 256, (2, 3, 5, 7))
    frames = levels.float() / 255
    assert torch.equal(quantize_8bit(frames), levels)
    out = upscale_like_reference(frames)
    assert out.dtype == torch.float32 and out.shape == (2, 3, 20, 28)
    assert torch.equal(out, opencv_bicubic_x4(levels).float() / 255.0)
    with pytest.raises(ValueError, match=r"\[B,3,h,w\]"):
        opencv_bicubic_x4(levels[:, :2])
