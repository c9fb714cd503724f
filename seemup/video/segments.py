"""Joining separately encoded segments into one video (stream copy), adding the source's audio and subtitles.

This is how a long job stays resumable: each chunk is encoded to its own segment file, and the final file
is assembled only when all exist.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from .atomic import check_target, commit, remove_path, temp_path_for
from .codecs import source_stream_args
from .cut import cut_streams
from .ffmpeg import VideoError, ffmpeg_cmd, file_url, run_ffmpeg
from .probe import FrameTiming, VideoInfo
from .timed import seconds_arg

_MP4_VIDEO = {"libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1", "mpeg4", "libopenh264"}


def segment_suffix(codec: str) -> str:
    """Container for segments: MP4 keeps exact frame timing through the concat demuxer (tested; Matroska
    rounds to milliseconds and NUT loses a frame's duration per segment), Matroska for codecs MP4 cannot hold."""
    return ".mp4" if codec in _MP4_VIDEO else ".mkv"


def _concat_line(path: Path, duration: str | None = None) -> str:
    escaped = file_url(path).replace("'", "'\\''")
    return f"file '{escaped}'\n" + (f"duration {duration}\n" if duration else "")


def _packet_count(path: Path) -> int:
    import av

    with av.open(file_url(path)) as container:
        return sum(1 for p in container.demux(container.streams.video[0]) if p.pts is not None)


def _segment_durations(segments: Sequence[Path], timing: FrameTiming) -> list[str] | None:
    """Each segment's length from the source's frame times, as concat ``duration`` lines: the demuxer places
    segment k at the sum of the lengths before it, so they are cut from times rounded once, to the microsecond
    (rounding each length would add up over a long video). None if the segments do not hold the source's frames.
    """
    counts = [_packet_count(s) for s in segments]
    if sum(counts) != len(timing.pts):
        return None
    bounds = [0]
    for n in counts:
        bounds.append(bounds[-1] + n)
    times = [timing.pts[b] if b < len(timing.pts) else timing.end for b in bounds]
    us = [round((t - times[0]) * timing.time_base * 1_000_000) for t in times]
    return [seconds_arg(Fraction(b - a, 1_000_000)) for a, b in zip(us, us[1:], strict=False)]


def _picture_notes(source: VideoInfo, segment: Path) -> list[str]:
    """What the output does not keep of the source's pictures: depth the codec lacks, interlaced fields."""
    import av

    notes = []
    with av.open(file_url(segment)) as container:
        fmt = container.streams.video[0].codec_context.format
        depth = max((c.bits for c in fmt.components), default=8) if fmt is not None else 8
    if source.bit_depth > depth:
        notes.append(f"{source.bit_depth}-bit input encoded at {depth} bits: the codec cannot store more")
    if source.interlaced:
        notes.append("input is interlaced: its fields were upscaled together as progressive frames; "
                     "deinterlace it first (e.g. ffmpeg -vf bwdif) for clean motion")
    return notes


def _dts_fix(fps: Fraction, *, timed: bool) -> str:
    """Segments whose B-frame delay differs (a short last one) leave a dts jump at the seam. Presentation times
    are right: frames spaced evenly get decode times one frame apart; timed frames (any spacing) keep theirs,
    only pushed past the previous one where a seam would make them go back."""
    if timed:
        return "setts=pts=PTS:dts=max(DTS\\,PREV_OUTDTS+1)"
    return f"setts=pts=PTS:dts=STARTDTS+N*{fps.denominator}/({fps.numerator}*TB)"


def join_segments(segments: Sequence[Path], target: Path, fps: Fraction, *, source: VideoInfo | None = None,
                  rotation: int = 0, force: bool = False,
                  cut: tuple[Fraction, Fraction | None] | None = None) -> list[str]:
    """Concatenate ``segments`` (same codec and size) into ``target`` atomically; returns notes to report.

    ``cut`` (start, duration or None: to the end), in seconds from the source's start as ffmpeg's ``-ss``
    counts them: the segments hold only that part of the video (a preview), so only that part of the source's
    audio and subtitles is taken (:func:`cut_streams`), and the video starts with it."""
    if cut is not None and source is not None and not source.is_frame_dir:
        with tempfile.TemporaryDirectory(prefix="seemup-span-") as tmp:
            part = cut_streams(source, cut[0], cut[1], Path(tmp))
            return _join(segments, target, fps, part, rotation, force, offset=Fraction(0),
                         source_shift=part.container_start)
    return _join(segments, target, fps, source, rotation, force,
                 offset=source.start_offset if source is not None else Fraction(0))


def _join(segments: Sequence[Path], target: Path, fps: Fraction, source: VideoInfo | None, rotation: int,
          force: bool, offset: Fraction, source_shift: Fraction = Fraction(0)) -> list[str]:
    """``offset``: where the video starts after the source's other streams (seconds); ``source_shift``: where
    the source's own streams start (a cut's first packet, which ffmpeg would otherwise move to 0)."""
    if not segments:
        raise VideoError("no segments to join")
    check_target(target, force)
    temp = temp_path_for(target)
    listing = temp_path_for(target, "seemup-concat").with_suffix(".txt")
    timing = source.timing() if source is not None else None
    durations = _segment_durations(segments, timing) if timing is not None else None
    listing.write_text("".join(_concat_line(s, d) for s, d in zip(segments, durations or [None] * len(segments),
                                                                 strict=True)), encoding="utf-8")
    args: list[str] = ["-v", "error", "-y", "-f", "concat", "-safe", "0"]
    if rotation % 360:
        args += ["-display_rotation", str(rotation % 360)]
    if durations is not None:  # the video's delay behind the audio, as in the source
        args += ["-itsoffset", seconds_arg(offset)]
    args += ["-i", file_url(listing)]
    notes: list[str] = []
    extra: list[str] = []
    if source is not None and not source.is_frame_dir:
        args += [*(["-itsoffset", seconds_arg(source_shift)] if source_shift else []), "-i", file_url(source.path)]
        extra, notes = source_stream_args(source, target, 1)
        notes += _picture_notes(source, segments[0])
    args += ["-map", "0:v:0", *extra, "-c:v", "copy", "-bsf:v", _dts_fix(fps, timed=durations is not None)]
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
