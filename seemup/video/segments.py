"""Joining separately encoded segments into one video (stream copy), adding the source's audio and subtitles.

This is how a long job stays resumable: each chunk is encoded to its own segment file, and the final file
is assembled only when all exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from .atomic import check_target, commit, remove_path, temp_path_for
from .codecs import source_stream_args
from .ffmpeg import VideoError, ffmpeg_cmd, file_url, run_ffmpeg
from .probe import VideoInfo

_MP4_VIDEO = {"libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1", "mpeg4", "libopenh264"}


def segment_suffix(codec: str) -> str:
    """Container for segments: MP4 keeps exact frame timing through the concat demuxer (tested; Matroska
    rounds to milliseconds and NUT loses a frame's duration per segment), Matroska for codecs MP4 cannot hold."""
    return ".mp4" if codec in _MP4_VIDEO else ".mkv"


def _concat_line(path: Path) -> str:
    escaped = file_url(path).replace("'", "'\\''")
    return f"file '{escaped}'\n"


def join_segments(segments: Sequence[Path], target: Path, fps: Fraction, *, source: VideoInfo | None = None,
                  rotation: int = 0, force: bool = False) -> list[str]:
    """Concatenate ``segments`` (same codec and size) into ``target`` atomically; returns notes to report."""
    if not segments:
        raise VideoError("no segments to join")
    check_target(target, force)
    temp = temp_path_for(target)
    listing = temp_path_for(target, "seemup-concat").with_suffix(".txt")
    listing.write_text("".join(_concat_line(s) for s in segments), encoding="utf-8")
    args: list[str] = ["-v", "error", "-y", "-f", "concat", "-safe", "0"]
    if rotation % 360:
        args += ["-display_rotation", str(rotation % 360)]
    args += ["-i", file_url(listing)]
    notes: list[str] = []
    extra: list[str] = []
    if source is not None and not source.is_frame_dir:
        args += ["-i", file_url(source.path)]
        extra, notes = source_stream_args(source, target, 1)
    # Segments whose B-frame delay differs (a short last one) leave a dts jump that MP4 turns into a long
    # frame; presentation times are right, so re-space the decode times evenly, one frame apart.
    setts = f"setts=pts=PTS:dts=STARTDTS+N*{fps.denominator}/({fps.numerator}*TB)"
    args += ["-map", "0:v:0", *extra, "-c:v", "copy", "-bsf:v", setts]
    if target.suffix.lower() in (".mp4", ".m4v", ".mov"):
        args += ["-movflags", "+faststart"]
    args.append(file_url(temp))
    try:
        proc = run_ffmpeg(ffmpeg_cmd(*args))
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise VideoError(f"joining segments into {target} failed: {tail}")
        commit(temp, target, force)
    finally:
        remove_path(listing)
        remove_path(temp)
    return notes
