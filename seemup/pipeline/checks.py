"""Checks made before the expensive work: paths and names, input kind, frame folders, and memory."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

from seemup.errors import UserError
from seemup.models import ModelSpec
from seemup.runtime.memory import GIB, free_memory, inference_bytes
from seemup.runtime.runner import ModelRunner
from seemup.userpaths import check_mask_cache
from seemup.video import VideoInfo, list_frame_files
from seemup.video.atomic import check_replaceable, file_kind
from seemup.weights.load import model_spec

from .options import UpscaleOptions
from .progress import ProgressSink
from .state import partial_dir_for


def preflight(src: Path, dst: Path, opts: UpscaleOptions) -> ModelSpec:
    """The checks that need no decoding, so that a mistake is one line before anything is loaded or written."""
    if src.exists() and dst.exists() and src.resolve() == dst.resolve():
        raise UserError("output must not be the input")
    if not src.exists():
        raise UserError(f"input not found: {src}")
    _check_input_kind(src)
    if not dst.parent.is_dir():
        raise UserError(f"output folder does not exist: {dst.parent}")
    check_replaceable(dst)
    _check_name_length(dst)
    spec = model_spec(opts.model)
    if spec.kind == "spacetime" and opts.fps_factor < 2:
        raise UserError(f"{spec.name} makes new frames as well as pixels: give --fps-factor 2 or more")
    if spec.kind not in ("recurrent", "window", "spacetime"):
        raise UserError(f"{spec.name} is not a x4 super-resolution model ({spec.description})")
    if spec.name == "bicubic" and opts.weights is not None:
        raise UserError("the bicubic model has no weights; drop --weights")
    if spec.uses_masks:
        check_mask_cache(opts.cache_dir)
    return spec


def _check_input_kind(src: Path) -> None:
    """A FIFO or device as input would block or never end: only regular files and folders are read."""
    mode = src.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UserError(f"input {src} is {file_kind(mode)}, not a video file or a folder of frames")


def _check_name_length(dst: Path) -> None:
    """The hidden partial folder's name is the output's plus 16 bytes; it must fit the file system's limit."""
    try:
        limit = os.pathconf(dst.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    partial = len(os.fsencode(partial_dir_for(dst).name))
    if partial > limit:
        room = limit - (partial - len(os.fsencode(dst.name)))
        raise UserError(f"output name too long ({len(os.fsencode(dst.name))} bytes): seemup keeps the unfinished "
                        f"output beside it under a name {partial - len(os.fsencode(dst.name))} bytes longer and "
                        f"the file system allows {limit}; use at most {room} bytes")


def check_frame_folder(info: VideoInfo, progress: ProgressSink) -> None:
    """Every image of a frame-folder input has the first one's size and is intact, checked from its header
    (and, for PNG, its chunk checksums) without decoding, before any work: the reader would only find a bad
    frame when it got there, after hours."""
    files = list_frame_files(info.path)
    for i, f in enumerate(files):
        w, h = _image_size(f)
        if (w, h) != (info.width, info.height):
            raise UserError(f"{f.name} is {w}x{h}, the first frame is {info.width}x{info.height}: all frames of "
                            "a folder must have one size")
        progress.checking(i + 1, len(files))


def _image_size(path: Path) -> tuple[int, int]:
    """Width and height as displayed (JPEG EXIF orientation applied, as the reader does); a damaged file is
    a :class:`UserError`."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            (w, h), fmt = im.size, im.format
            turned = fmt == "JPEG" and im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            if fmt == "PNG":
                im.verify()
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError) as exc:
        raise UserError(f"frame {path} is damaged or not an image ({exc})") from None
    if fmt == "JPEG" and not _jpeg_complete(path):
        raise UserError(f"frame {path} is damaged or not an image (the JPEG data is cut short)")
    return (h, w) if turned else (w, h)


def _jpeg_complete(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        return f.read().rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


SUGGESTED_TILE = 256
_SMALLER_CHUNKS = ((4, 2), (2, 1), (1, 0))  # (--chunk, --overlap) to suggest, largest first


def check_memory(runner: ModelRunner, spec: ModelSpec, window: int | None, size: tuple[int, int],
                 frames: int) -> None:
    """Refuse a job whose ``frames`` at a time cannot fit in free memory, with the numbers and settings that
    would fit, before it allocates until it dies (a 50 KB file can declare 4096x4096 frames). On CUDA a job
    that fits in tiles is left to the out-of-memory fallback, which finds the tile itself."""
    w, h = size
    num_feat = 0 if spec.name == "bicubic" else int(spec.config.get("num_feat", 64))
    element = 2 if runner.precision in ("fp16", "bf16") else 4
    streamed = hasattr(runner.model, "stream")

    def need(n: int, tile: int | None) -> int:
        return inference_bytes(h, w, n, num_feat, element, streamed=streamed, tile=tile,
                               tile_overlap=runner.tile_overlap, window=window)

    free = free_memory(runner.device)
    if need(frames, runner.tile) <= free:
        return
    tile = runner.tile or SUGGESTED_TILE
    if not runner.tile and need(frames, tile) <= free:
        if runner.device.type == "cuda":
            return
        advice = f"try --tile {tile}"
    else:
        sizes = [(c, o, max(2, c + 2 * o)) for c, o in _SMALLER_CHUNKS]
        fits = [(c, o) for c, o, n in sizes if n < frames and need(n, tile) <= free]
        advice = (f"try --chunk {fits[0][0]} --overlap {fits[0][1]} --tile {tile}" if fits and not window
                  else "it is too large for this machine")
    raise UserError(f"{w}x{h} frames need about {need(frames, runner.tile) / GIB:.1f} GiB ({frames} frames at a "
                    f"time) and {free / GIB:.1f} GiB is free on {runner.device.type}: {advice}")
