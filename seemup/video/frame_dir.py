"""Folders of numbered images (png/jpg) as a video: natural ordering and reading one image as RGB."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .ffmpeg import VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def natural_key(name: str) -> list[int | str]:
    """Sort key where digit runs compare as numbers, so frame2.png comes before frame10.png."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def list_frame_files(folder: Path) -> list[Path]:
    """The image files of ``folder`` in natural order (hidden files ignored)."""
    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_image_rgb(path: Path) -> np.ndarray:
    """One image as HxWx3 uint8 RGB (alpha dropped, 16-bit scaled down); clear error if unreadable."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise VideoError(f"cannot read image {path}")
    return np.ascontiguousarray(img[:, :, ::-1])


def write_image_rgb(path: Path, frame: np.ndarray, png_compression: int = 1) -> None:
    """Write an HxWx3 uint8 RGB frame as PNG (fast compression: frames are intermediate more often than not)."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[:, :, ::-1]),
                           [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)])
    if not ok:
        raise VideoError(f"cannot encode PNG for {path}")
    buf.tofile(str(path))
