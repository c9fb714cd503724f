"""Real frames for tests: crops committed under tests/data/footage (tests/data/README.md), else cut from the
full clips in $SEEMUP_FOOTAGE (skips when neither is there)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# The full clips are optional: the tests read the copies under tests/data; SEEMUP_FOOTAGE (the folder of
# the clips, docs/training.md "Footage") only matters to rebuild those copies.
FOOTAGE = Path(os.environ["SEEMUP_FOOTAGE"]) if os.environ.get("SEEMUP_FOOTAGE") else Path("/nonexistent")
DATA = Path(__file__).resolve().parent / "data"  # the committed test data (tests/data/README.md)
CROPS = DATA / "footage"
DOG64 = DATA / "dog64x36.mp4"  # 10 frames of real footage at 64x36, 30000/1001 fps, with a sine audio track


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file or frame folder, decoded (HxWx3 uint8 RGB)."""
    from seemup.video import read_frames

    with read_frames(path) as it:
        return list(it)


def crop_file(name: str, index: int, box: tuple[int, int, int, int]) -> Path:
    """Where the committed copy of a crop lives (lossless PNG of the decoded pixels)."""
    y, x, h, w = box
    return CROPS / f"{Path(name).stem}-f{index}-y{y}-x{x}-{h}x{w}.png"


def footage_crop(name: str, index: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """Frame ``index`` of a footage clip, cropped: HxWx3 uint8 RGB (skips when neither copy is there)."""
    import cv2
    import imageio_ffmpeg

    committed = crop_file(name, index, box)
    if committed.is_file():
        return cv2.cvtColor(cv2.imread(str(committed), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    path = FOOTAGE / name
    if not path.is_file():
        pytest.skip(f"footage not available: {path}")
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    w, h = next(gen)["size"]
    try:
        for i, buf in enumerate(gen):
            if i == index:
                y, x, hh, ww = box
                return np.frombuffer(buf, np.uint8).reshape(h, w, 3)[y : y + hh, x : x + ww].copy()
    finally:
        gen.close()
    raise AssertionError(f"{name} has fewer than {index + 1} frames")


def footage_hr_clip(name: str, frames: int, box: tuple[int, int, int, int]) -> list[np.ndarray]:
    """First ``frames`` frames of a 720p clip, area-downscaled by 2 (the footage is compressed)
    and cropped to ``box`` = (y, x, h, w): the HR side of a BI pair."""
    import cv2
    import imageio_ffmpeg

    y, x, hh, ww = box
    committed = sorted((CROPS / f"{Path(name).stem}-hr-y{y}-x{x}-{hh}x{ww}").glob("*.png"))
    if len(committed) >= frames:
        return [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in committed[:frames]]
    path = FOOTAGE / name
    if not path.is_file():
        pytest.skip(f"footage not available: {path}")
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    w, h = next(gen)["size"]
    out = []
    try:
        for i, buf in enumerate(gen):
            if i >= frames:
                break
            f = cv2.resize(np.frombuffer(buf, np.uint8).reshape(h, w, 3), (w // 2, h // 2),
                           interpolation=cv2.INTER_AREA)
            y, x, hh, ww = box
            out.append(f[y : y + hh, x : x + ww].copy())
    finally:
        gen.close()
    return out
