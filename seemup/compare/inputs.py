"""What a comparison reads: the frame to show with the frames around it, the crop, and the ground truth.

Every check that can fail on the user's input runs here, before any model is built, so a typo costs a
second, not a model run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seemup.errors import UserError
from seemup.video import VideoInfo, probe, read_frames
from seemup.video.frame_dir import IMAGE_SUFFIXES, read_image_rgb

from .layout import Box, largest_crop

SCALE = 4


@dataclass(frozen=True)
class Window:
    """Frames ``first`` .. ``first + len(frames) - 1`` of a clip; ``frames[target]`` is the one shown."""

    frames: np.ndarray  # [T, h, w, 3] uint8 RGB
    first: int
    target: int
    total: int  # frames in the whole clip

    @property
    def frame(self) -> int:
        return self.first + self.target


def parse_crop(text: str) -> Box:
    """``X,Y,W,H`` (input pixels) as a Box; anything else is a one-line usage error."""
    parts = [p.strip() for p in text.split(",")]
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise UserError(f"--crop {text!r}: give X,Y,W,H in input pixels, e.g. 40,20,32,18", exit_code=2) from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise UserError(f"--crop {text!r}: X and Y must be >= 0, W and H >= 1", exit_code=2)
    return Box(x, y, w, h)


def default_crop(width: int, height: int, panel_width: int | None = None) -> Box:
    """The centre of a ``width`` x ``height`` input, a quarter of its width and height: small enough to
    magnify, large enough to hold detail; smaller where panels are narrow, so the inset still enlarges it at
    least twice."""
    max_w, max_h = largest_crop(width * SCALE, height * SCALE, panel_width)
    w = max(1, min(width // 4, max_w // (2 * SCALE)))
    h = max(1, min(height // 4, w * height // width, max_h // (2 * SCALE)))
    return Box((width - w) // 2, (height - h) // 2, w, h)


def check_crop(crop: Box, width: int, height: int, panel_width: int | None = None) -> None:
    """The crop must lie inside the ``width`` x ``height`` input, and its x4 pixels fit a panel at 1:1."""
    if crop.x + crop.w > width or crop.y + crop.h > height:
        raise UserError(f"--crop {crop.text()} reaches {crop.x + crop.w},{crop.y + crop.h} but the input is "
                        f"{width}x{height}: the crop must lie inside the input frame", exit_code=2)
    max_w, max_h = largest_crop(width * SCALE, height * SCALE, panel_width)
    if crop.w * SCALE > max_w or crop.h * SCALE > max_h:
        raise UserError(f"--crop {crop.text()}: its {crop.w * SCALE}x{crop.h * SCALE} output pixels do not fit "
                        f"under a panel at 1:1; use at most {max_w // SCALE}x{max_h // SCALE} input pixels or a "
                        "larger --panel-width", exit_code=2)


def check_frame(frame: int | None, info: VideoInfo) -> int:
    """``--frame`` (default: the middle frame) within the clip."""
    if frame is None:
        return info.num_frames // 2
    if not 0 <= frame < info.num_frames:
        raise UserError(f"--frame {frame}: {info.path} has {info.num_frames} frames (0..{info.num_frames - 1})",
                        exit_code=2)
    return frame


def read_window(info: VideoInfo, frame: int, context: int) -> Window:
    """Frame ``frame`` with up to ``context`` frames on each side (fewer at the clip's ends)."""
    first, last = max(0, frame - context), min(info.num_frames - 1, frame + context)
    frames = []
    with read_frames(info.path, info=info, start=first) as reader:
        for f in reader:
            frames.append(np.array(f))
            if len(frames) == last - first + 1:
                break
    return Window(np.stack(frames), first, frame - first, info.num_frames)


def read_gt(path: Path, frame: int, width: int, height: int) -> np.ndarray:
    """The ground truth of frame ``frame``: an image file is that frame itself; of a video or a frame folder,
    frame ``frame`` is taken. It must be exactly ``SCALE`` times the input's size."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        gt = read_image_rgb(path)
    else:
        info = probe(path)
        if frame >= info.num_frames:
            raise UserError(f"--gt {path} has {info.num_frames} frames; frame {frame} is not among them")
        with read_frames(path, info=info, start=frame) as reader:
            gt = np.array(next(iter(reader)))
    want = (height * SCALE, width * SCALE)
    if gt.shape[:2] != want:
        raise UserError(f"--gt {path} is {gt.shape[1]}x{gt.shape[0]}, but the x{SCALE} output of the "
                        f"{width}x{height} input is {want[1]}x{want[0]}")
    return gt


def probe_input(path: Path) -> VideoInfo:
    """The input's properties; a single image is refused (a model needs a clip, even a short one)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        raise UserError(f"{path} is one image; give a video or a folder of frames")
    return probe(path)
