"""Never leave a half-written output: work on a hidden temporary beside the target, rename when complete."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .ffmpeg import VideoError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".webm", ".avi", ".nut")


def is_frame_dir_target(path: str | Path) -> bool:
    """Whether ``path`` names a folder of PNG frames (no video suffix) rather than a video file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return False
    if path.is_dir() or suffix == "" or str(path).endswith(os.sep):
        return True
    raise VideoError(f"unknown output format {suffix!r}: use one of {', '.join(VIDEO_SUFFIXES)} "
                     "or a folder name for PNG frames")


def temp_path_for(target: Path, tag: str = "seemup-tmp") -> Path:
    """A hidden sibling of ``target`` (same folder, so the final rename is atomic; same suffix for ffmpeg)."""
    return target.parent / f".{target.name}.{tag}{target.suffix}"


def _is_replaceable_frame_dir(path: Path) -> bool:
    return all(p.is_file() and p.suffix.lower() in (".png", ".jpg", ".jpeg") for p in path.iterdir())


def check_target(target: Path, force: bool) -> None:
    """Refuse an existing target unless ``force``; even then, only replace files or folders of frames."""
    if not target.parent.is_dir():
        raise VideoError(f"output folder does not exist: {target.parent}")
    if not target.exists():
        return
    if not force:
        raise VideoError(f"output exists: {target} (use --force to overwrite)")
    if target.is_dir() and not _is_replaceable_frame_dir(target):
        raise VideoError(f"output folder {target} holds files other than frames; refusing to replace it")


def remove_path(path: Path) -> None:
    """Delete a file or folder if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def commit(temp: Path, target: Path, force: bool) -> None:
    """Move the finished ``temp`` onto ``target`` (replacing it only with ``force``)."""
    check_target(target, force)
    if temp.is_dir() and target.exists():
        old = temp_path_for(target, "seemup-old")
        remove_path(old)
        os.replace(target, old)
        os.replace(temp, target)
        remove_path(old)
    elif target.is_dir():
        raise VideoError(f"output {target} is a folder; cannot replace it with a file")
    else:
        os.replace(temp, target)
