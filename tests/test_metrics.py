"""PSNR / SSIM / Y as the VSR papers compute them.

The pinned numbers were computed with seemup and checked once against BasicSR's
``basicsr/metrics/psnr_ssim.py`` (agreement better than 1e-6 dB and 1e-8 SSIM); the tests assert that
seemup keeps reproducing them on real footage.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from footage import footage_crop

from seemup.imresize import imresize_uint8
from seemup.metrics import crop_border, psnr, rgb_to_y, ssim

# (video, frame index, crop y, x, h, w), sha256 prefix of the crop, then {(space, crop): (psnr, ssim)} of
# imresize_uint8(imresize_uint8(hr, 1/4), 4) against hr.
CASES = [
    ("01_dog.mp4", 5, (200, 400, 96, 128), "e0b0dc690be3c664", {
        ("y", 0): (26.187112401044597, 0.6377619232060316), ("y", 4): (26.2627921456978, 0.6284151855721873),
        ("rgb", 0): (24.89793786573072, 0.598677386484956), ("rgb", 4): (24.95846540345362, 0.5898824498006042)}),
    ("bedroom.mp4", 3, (100, 300, 96, 128), "80cb859e8e055715", {
        ("y", 0): (31.74739303793624, 0.8932413383399689), ("y", 4): (31.695882622011574, 0.8952803671909735),
        ("rgb", 0): (30.36949530590961, 0.8787379137692111), ("rgb", 4): (30.322604566615965, 0.8808396902191821)}),
    ("04_coffee.mp4", 7, (300, 500, 96, 128), "1657b55fdae2fb43", {
        ("y", 0): (22.240230291336882, 0.6908315536766961), ("y", 4): (22.17993400928205, 0.6803217700172838),
        ("rgb", 0): (20.8753772776921, 0.6739637032760116), ("rgb", 4): (20.81996647409465, 0.6638106479182863)}),
]




@pytest.fixture(scope="module")
def pairs() -> list[tuple[np.ndarray, np.ndarray, dict]]:
    out = []
    for name, index, box, digest, expected in CASES:
        hr = footage_crop(name, index, box)
        assert hashlib.sha256(hr.tobytes()).hexdigest()[:16] == digest, f"{name}: decoder gave different pixels"
        out.append((imresize_uint8(imresize_uint8(hr, 1 / 4), 4), hr, expected))
    return out


def test_pinned_psnr_ssim_on_real_frames(pairs) -> None:
    for sr, hr, expected in pairs:
        for (space, border), (p, s) in expected.items():
            assert psnr(sr, hr, border, space) == pytest.approx(p, abs=1e-6), (space, border)
            assert ssim(sr, hr, border, space) == pytest.approx(s, abs=1e-8), (space, border)


def test_psnr_matches_its_definition(pairs) -> None:
    sr, hr, _ = pairs[0]
    mse_rgb = np.mean((sr.astype(np.float64) - hr) ** 2)
    assert psnr(sr, hr, space="rgb") == pytest.approx(10 * math.log10(255**2 / mse_rgb), abs=1e-12)
    mse_y = np.mean((rgb_to_y(sr) - rgb_to_y(hr)) ** 2)
    assert psnr(sr, hr, space="y") == pytest.approx(10 * math.log10(255**2 / mse_y), abs=1e-12)
    assert psnr(sr, hr, 4, "rgb") == psnr(crop_border(sr, 4), crop_border(hr, 4), 0, "rgb")


def test_rgb_ssim_is_mean_of_channel_ssims(pairs) -> None:
    from seemup.metrics import ssim_channel

    sr, hr, _ = pairs[1]
    per_channel = [ssim_channel(sr[..., c].astype(np.float64), hr[..., c].astype(np.float64)) for c in range(3)]
    assert ssim(sr, hr, space="rgb") == pytest.approx(np.mean(per_channel), abs=1e-15)
    assert len(set(per_channel)) == 3


def test_identical_and_symmetric(pairs) -> None:
    sr, hr, _ = pairs[2]
    assert psnr(hr, hr) == math.inf
    assert ssim(hr, hr) == pytest.approx(1.0, abs=1e-12)
    assert ssim(sr, hr, space="rgb") == pytest.approx(ssim(hr, sr, space="rgb"), abs=1e-12)
    assert psnr(sr, hr) == psnr(hr, sr)


def test_y_is_bt601_studio_range_unrounded() -> None:
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [1, 2, 3]]], dtype=np.uint8)
    y = rgb_to_y(img)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[0, 1] == pytest.approx(235.0)
    assert y[0, 2] == pytest.approx(16 + 65.481)
    assert y[0, 3] == pytest.approx(16 + (65.481 * 1 + 128.553 * 2 + 24.966 * 3) / 255)  # not rounded
    assert y.dtype == np.float64


def test_ssim_window_is_valid_region_only() -> None:
    # Brute force: the mean of SSIM over every position where the 11x11 window lies fully inside.
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (16, 17, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    x, z = rgb_to_y(a), rgb_to_y(b)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            p, q = x[i : i + 11, j : j + 11], z[i : i + 11, j : j + 11]
            mp, mq = (win * p).sum(), (win * q).sum()
            vp, vq, cv = (win * p * p).sum() - mp**2, (win * q * q).sum() - mq**2, (win * p * q).sum() - mp * mq
            vals.append((2 * mp * mq + c1) * (2 * cv + c2) / ((mp**2 + mq**2 + c1) * (vp + vq + c2)))
    assert ssim(a, b) == pytest.approx(np.mean(vals), abs=1e-12)


def test_bad_input() -> None:
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(ValueError, match="space"):
        psnr(a, a, space="ycbcr")
    with pytest.raises(ValueError, match="crop_border"):
        ssim(a, a, crop_border=10)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a, a, crop_border=5)
