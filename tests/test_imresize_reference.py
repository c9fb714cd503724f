"""MATLAB bicubic resize (the BI degradation) on real frames.

Pinned digests were computed with seemup and checked once against BasicSR's
``basicsr/utils/matlab_functions.py`` (float results within 1e-4 of 255, uint8 results byte-identical for
x1/4 and x4); the tests assert seemup keeps producing exactly these bytes.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
import torch
from footage import footage_crop

from seemup.imresize import imresize, imresize_torch, imresize_uint8, output_size

# (video, frame, crop y, x, h, w): sha256 prefixes of the crop, of imresize_uint8(crop, 1/4), and of
# imresize_uint8(that, 4).
CASES = [
    ("01_dog.mp4", 5, (200, 400, 96, 128), "e0b0dc690be3c664", "6f4bc331bfc65d9b", "2dfa9d92762018c3"),
    ("bedroom.mp4", 3, (100, 300, 96, 128), "80cb859e8e055715", "3cd0f1f2b62f0a29", "a91bfcbce48b0b0a"),
    ("04_coffee.mp4", 7, (300, 500, 96, 128), "1657b55fdae2fb43", "7c125281593c2b38", "6e68a3bdd5a3b7aa"),
]




def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def crops() -> list[tuple[np.ndarray, str, str]]:
    out = []
    for name, index, box, hr_digest, lr_digest, up_digest in CASES:
        hr = footage_crop(name, index, box)
        assert digest(hr) == hr_digest, f"{name}: decoder gave different pixels"
        out.append((hr, lr_digest, up_digest))
    return out


def test_pinned_bytes_down_and_up(crops) -> None:
    for hr, lr_digest, up_digest in crops:
        lr = imresize_uint8(hr, 1 / 4)
        assert lr.shape == (24, 32, 3) and lr.dtype == np.uint8
        assert digest(lr) == lr_digest
        assert digest(imresize_uint8(lr, 4)) == up_digest


def test_not_opencv_bicubic(crops) -> None:
    """OpenCV's bicubic (a = -0.75, no antialiasing) is a different degradation: it must not match."""
    hr = crops[0][0]
    ours = imresize_uint8(hr, 1 / 4)
    cv = cv2.resize(hr, (32, 24), interpolation=cv2.INTER_CUBIC)
    assert np.abs(ours.astype(int) - cv).mean() > 1.0


def test_torch_matches_numpy(crops) -> None:
    hr = crops[1][0]
    x = torch.from_numpy(hr.astype(np.float64)).permute(2, 0, 1)
    for scale in (1 / 4, 4):
        t = imresize_torch(x, scale).permute(1, 2, 0).numpy()
        assert np.abs(t - imresize(hr, scale)).max() < 1e-9


def test_sizes_and_constants() -> None:
    assert output_size((101, 133), 1 / 4) == (26, 34)  # MATLAB: ceil
    flat = np.full((37, 45, 3), 77, np.uint8)
    for scale in (1 / 4, 1 / 3, 0.5, 2, 4):
        out = imresize(flat, scale)
        assert out.shape[:2] == output_size((37, 45), scale)
        assert np.allclose(out, 77.0, atol=1e-9)  # weights sum to one, also at the mirrored edges
