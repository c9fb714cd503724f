"""The part of a source's other streams (audio, subtitles, chapters, attachments) that goes with a preview.

ffmpeg's ``-ss``/``-t`` before an input leave copied subtitle streams where they were (measured with ffmpeg 7
on Matroska and MP4 sources: events kept at their old times, or shifted by the video's keyframe instead of
the cut), so the span is cut on the output side, by stream copy, into a file of the source's own container:
there subtitles that start before the span are dropped and the rest are shifted with the audio. Copied
audio starts at its first whole packet inside the span, at its own time (in sync, a few ms of silence first).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from .ffmpeg import VideoError, ffmpeg_cmd, file_url, run_ffmpeg
from .probe import VideoInfo
from .timed import seconds_arg


def cut_streams(source: VideoInfo, start: Fraction, duration: Fraction | None, folder: Path) -> VideoInfo:
    """``source`` as a file in ``folder`` that holds its streams from ``start`` for ``duration`` seconds (None:
    to the end), times counted from the source's start as ffmpeg's ``-ss`` counts them; same streams, same
    order, so the caller maps them as it would the source's. Its ``container_start`` is where its first packet
    lies after the span's start (ffmpeg moves a file's start to 0 when it reads it: the caller moves it back)."""
    span = ["-ss", seconds_arg(start), *(["-t", seconds_arg(duration)] if duration is not None else [])]
    # the video is only there so that the file has a stream; its timecode would become a timecode track
    maps = ["-map", "0:v:0", "-map", "0:a?", "-map", "0:s?", "-map", "0:t?", "-map_metadata", "0",
            "-map_chapters", "0", "-metadata:s:v:0", "timecode=", "-c", "copy"]
    reasons = []
    for suffix in dict.fromkeys((source.path.suffix.lower() or ".mkv", ".mkv")):
        target = folder / f"span{suffix}"
        proc = run_ffmpeg(ffmpeg_cmd("-v", "error", "-y", "-i", file_url(source.path), *span, *maps,
                                     file_url(target)))
        if proc.returncode == 0:
            return replace(source, path=target, container_start=_start(target))
        reasons.append(" | ".join(proc.stderr.strip().splitlines()[-2:]))
    raise VideoError(f"cannot cut the audio and subtitles of {source.path} to the preview: {reasons[-1]}")


def _start(path: Path) -> Fraction:
    import av

    with av.open(file_url(path)) as container:
        return Fraction(container.start_time or 0, 1_000_000)
