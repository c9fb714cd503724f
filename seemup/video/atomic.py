"""Never leave a half-written output: work on a hidden temporary beside the target, rename when complete."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from .ffmpeg import VideoError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".webm", ".avi", ".nut")
_FRAME_NAME = re.compile(r"\d{8}\.png")  # how seemup names PNG output frames (writer.frame_name)


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


def file_kind(mode: int) -> str:
    """What a non-regular, non-folder path is, in words."""
    kinds = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def check_replaceable(target: Path) -> None:
    """Only a regular file, or a folder of nothing but PNG frames named as seemup names them (00000000.png,
    ...), is ever replaced (with --force): never a device, FIFO or socket, nor a folder of other files."""
    try:
        st = target.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise VideoError(f"cannot use {target} as output: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        return
    if not stat.S_ISDIR(st.st_mode):
        raise VideoError(f"output {target} is {file_kind(st.st_mode)}; seemup replaces only regular files and "
                         "folders of frames it wrote")
    if target.suffix.lower() in VIDEO_SUFFIXES:
        raise VideoError(f"output {target} is a folder; a video cannot replace it")
    others = sorted(p.name for p in target.iterdir() if not (_FRAME_NAME.fullmatch(p.name) and p.is_file()))
    if others:
        raise VideoError(f"output folder {target} holds files seemup did not write ({', '.join(others[:3])}); "
                         "refusing to replace it")


def check_target(target: Path, force: bool) -> None:
    """Refuse an existing target unless ``force``; even then, only what :func:`check_replaceable` allows."""
    if not target.parent.is_dir():
        raise VideoError(f"output folder does not exist: {target.parent}")
    if not target.exists():
        return
    if not force:
        raise VideoError(f"output exists: {target} (use --force to overwrite)")
    check_replaceable(target)


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
