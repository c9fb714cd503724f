"""What a video is (size, exact frame rate, exact frame count and timestamps, streams, rotation, colour).

Stream properties come from the container's structured fields (:mod:`.streams`), never from ffmpeg's printed
summary, which tags can fake. Frames are counted by decoding the video stream to ffmpeg's framecrc muxer: that
is what a reader will yield, with each frame's presentation time, even when the container header lies or
holds packets that are never shown (the pre-roll of a file cut without re-encoding). The packets are
counted too, by stream copy, so frames lost to a damaged stream are told apart from pre-roll and refused
up front (or skipped on request) instead of failing a long run at its end.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .ffmpeg import VideoError, ffmpeg_cmd, file_url, popen_ffmpeg, run_ffmpeg, stop_process
from .frame_dir import list_frame_files, read_image_rgb
from .streams import read_streams

DEFAULT_FRAME_DIR_FPS = Fraction(25)


@dataclass(frozen=True)
class FrameTiming:
    """When a run of frames is shown: each frame's pts in ``time_base`` units and where the last one ends."""

    time_base: Fraction
    pts: tuple[int, ...]
    end: int

    def seconds(self, value: int) -> Fraction:
        return value * self.time_base


@dataclass(frozen=True)
class VideoInfo:
    """A video file's or frame folder's properties; ``width``/``height`` are as stored (before rotation)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    num_frames: int
    duration: float | None = None
    has_audio: bool = False
    has_subtitles: bool = False
    rotation: int = 0  # display rotation in degrees, counter-clockwise as ffmpeg's -display_rotation takes it
    codec: str = ""
    audio_codecs: tuple[str, ...] = ()
    subtitle_codecs: tuple[str, ...] = ()
    is_frame_dir: bool = False
    undecodable: int = 0  # stored frames the decoder could not turn into pictures (only with skip_damaged)
    # each decoded frame's presentation time in time_base units, and where the last one ends (empty for folders)
    time_base: Fraction | None = None
    pts: tuple[int, ...] = ()
    end_pts: int | None = None
    container_start: Fraction = Fraction(0)  # seconds; ffmpeg puts this instant at 0 in an output
    sar: Fraction = Fraction(1)  # sample (pixel) aspect ratio: not 1 for anamorphic video
    pix_fmt: str = ""
    bit_depth: int = 8
    color_primaries: str = ""  # ffmpeg's names ("bt709", ...); "" when the stream does not say
    color_trc: str = ""
    colorspace: str = ""
    color_range: str = ""  # "tv" (limited) or "pc" (full)
    interlaced: bool = False
    language: str = ""  # the video stream's language tag
    has_attachments: bool = False  # Matroska attachments (fonts for styled subtitles)

    def with_fps_factor(self, factor: int) -> VideoInfo:
        """The timeline of ``factor`` times as many frames over the same span: each frame's interval split
        into ``factor`` equal parts, exactly (the time base is divided by ``factor``, so times stay integers)."""
        if factor == 1:
            return self
        if self.time_base is None or len(self.pts) != self.num_frames or self.end_pts is None:
            return dataclasses.replace(self, fps=self.fps * factor, num_frames=self.num_frames * factor,
                                       pts=(), time_base=None, end_pts=None)
        ends = [*self.pts[1:], max(self.end_pts, self.pts[-1] + 1)]
        pts = tuple(p * factor + k * (e - p) for p, e in zip(self.pts, ends, strict=True) for k in range(factor))
        return dataclasses.replace(self, fps=self.fps * factor, num_frames=self.num_frames * factor, pts=pts,
                                   time_base=self.time_base / factor, end_pts=ends[-1] * factor)

    @property
    def start_offset(self) -> Fraction:
        """Seconds from the file's start (0 in an output) to the first video frame: audio stays in sync with it."""
        if not self.pts or self.time_base is None:
            return Fraction(0)
        return self.pts[0] * self.time_base - self.container_start

    def timing(self, start: int = 0, stop: int | None = None) -> FrameTiming | None:
        """The presentation times of frames ``start``..``stop`` (None for a frame folder: it has no times)."""
        if self.time_base is None or len(self.pts) != self.num_frames or self.end_pts is None:
            return None
        stop = self.num_frames if stop is None else stop
        end = self.pts[stop] if stop < self.num_frames else max(self.end_pts, self.pts[-1] + 1)
        return FrameTiming(self.time_base, self.pts[start:stop], end)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after applying the rotation."""
        if self.rotation % 180 == 90:
            return self.height, self.width
        return self.width, self.height


_FRAME_COUNT = re.compile(r"frame=\s*(\d+)")
# an error logged by a decoder (not by the demuxer, the null muxer or ffmpeg's own input/output layers)
_DECODER_ERROR = re.compile(r"^\[(?!null\b|framecrc\b|in#|out#|vist#|vost#|dec:|mux|demux)([\w-]+) @ [^\]]+\] "
                            r"\[error\] (.+)$", re.MULTILINE)
# any error line; ffmpeg's own "Error submitting packet to decoder" follows every packet a decoder refuses
_ANY_ERROR = re.compile(r"\[error\] (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class FrameCount:
    """How many frames a video stream stores and how many its decoder yields, with their presentation times."""

    stored: int
    decoded: int
    decoder_error: str = ""  # the first error a decoder logged, "" if none
    time_base: Fraction | None = None
    pts: tuple[int, ...] = ()
    end_pts: int | None = None  # the last frame's pts plus its duration

    @property
    def damaged(self) -> bool:
        """Frames were lost to decoding errors (not hidden on purpose, as a cut file's pre-roll is)."""
        return self.decoded < self.stored and bool(self.decoder_error)


def _last_count(stderr: str, path: Path) -> int:
    counts = _FRAME_COUNT.findall(stderr)
    if not counts:
        raise VideoError(f"cannot count the frames of {path}")
    return int(counts[-1])


def count_frames(path: Path, on_progress: Callable[[int, int], None] | None = None) -> FrameCount:
    """Stored frames (video packets, by stream copy) and decoded frames (a full decode with the reader's
    frame-rate passthrough, each frame's time kept); a decode that fails outright is a :class:`VideoError`.

    The decode pass takes a while on long videos (~450 frames/s for 720p H.264 on 2 cores), so
    ``on_progress(decoded_so_far, stored)`` is called as it goes, about twice a second.
    """
    proc = run_ffmpeg(ffmpeg_cmd("-i", file_url(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"))
    if proc.returncode != 0:
        raise VideoError(f"cannot read {path}: {_last_error(proc.stderr)}")
    stored = _last_count(proc.stderr, path)
    if stored == 0:  # nothing to decode; ffmpeg would fail opening an encoder for a stream with no frames
        return FrameCount(stored=0, decoded=0)
    crc, stderr, returncode = _decode_pass(path, lambda n: on_progress(n, stored) if on_progress else None)
    first = _first_decoder_error(stderr)
    if returncode != 0:
        raise VideoError(f"decoding {path} failed, the stream is corrupt: {first or _last_error(stderr)}")
    time_base, pts, end = _parse_framecrc(crc)
    if any(b <= a for a, b in zip(pts, pts[1:], strict=False)):
        pts = ()  # times out of order: nothing to keep, the frames are spaced evenly
    return FrameCount(stored=stored, decoded=_frame_lines(crc) if not pts else len(pts), decoder_error=first,
                      time_base=time_base, pts=pts, end_pts=end)


def _first_decoder_error(stderr: str) -> str:
    """The decoder's own message if its line is intact, else any error line ("" if there is none).

    ffmpeg logs from several threads, so a decoder's line can still lose its ``[codec @ ...]`` prefix to
    another thread's half-written line; the fallback keeps such a stream from passing as undamaged.
    """
    errors = _DECODER_ERROR.findall(stderr)
    if errors:
        return f"{errors[0][0]}: {errors[0][1].strip().rstrip('.')}"
    other = _ANY_ERROR.search(stderr)
    return other.group(1).strip().rstrip(".") if other else ""


def _frame_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _parse_framecrc(text: str) -> tuple[Fraction | None, tuple[int, ...], int | None]:
    """(time base, each frame's pts, end of the last frame) from framecrc's machine-readable lines."""
    time_base = None
    pts: list[int] = []
    end = None
    for line in text.splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            if fields[0] == "0" and len(fields) >= 4:
                pts.append(int(fields[2]))
                end = int(fields[2]) + max(0, int(fields[3]))
    return time_base, tuple(pts), end


def _decode_pass(path: Path, on_frames: Callable[[int], None]) -> tuple[str, str, int]:
    """Decode the first video stream: (framecrc text, stderr text, exit code).

    framecrc lists one line per decoded frame with its pts in the stream's own time base (``-copyts``,
    ``-enc_time_base demux``): the exact times the writer gives the upscaled frames. ``-progress pipe:1``
    reports ``frame=N`` on stdout as it goes; stderr goes to a temporary file, since the decoder errors can be
    anywhere in it and a pipe could fill and stall ffmpeg. Only errors are logged: at the info level the main
    thread's stream summary is written while the decoder thread reports the first bad packet, and the two
    interleave mid-line (about 1 run in 100 on 2 cores), which hid the decoder's ``[h264 @ ...] [error]``
    prefix and let a damaged stream pass.
    """
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as err:
        crc = Path(tmp) / "frames.crc"
        args = ffmpeg_cmd("-loglevel", "level+error", "-nostats", "-progress", "pipe:1", "-copyts",
                          "-i", file_url(path), "-map", "0:v:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
                          "-enc_time_base:v", "demux", "-c:v", "wrapped_avframe", "-f", "framecrc", file_url(crc))
        proc = popen_ffmpeg(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            for raw in proc.stdout:
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "frame" and value.isdigit():
                    on_frames(int(value))
        finally:
            proc.stdout.close()
            stop_process(proc) if sys.exc_info()[0] is not None else proc.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        text = crc.read_text(encoding="ascii", errors="replace") if crc.exists() else ""
    return text, stderr, proc.returncode


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error opening input" in ln and "file" not in ln:
            return ln.split(":", 1)[-1].strip().lower() or ln
    return lines[-1] if lines else "ffmpeg failed"


def probe(path: str | Path, fps: Fraction | float | str | None = None, *, skip_damaged: bool = False,
          on_progress: Callable[[int, int], None] | None = None) -> VideoInfo:
    """Describe a video file or a folder of frames; :class:`VideoError` (a UserError) if it is neither.

    ``fps`` overrides the rate (the only source of it for a frame folder, default 25). A stream whose decoder
    loses frames to errors is refused unless ``skip_damaged``; then ``num_frames`` counts the frames that
    decode and ``undecodable`` the others. ``on_progress(done, total)`` follows the frame count's decode pass.
    """
    path = Path(path)
    override = Fraction(fps).limit_denominator(1001) if fps is not None and not isinstance(fps, Fraction) else fps
    if override is not None and override <= 0:
        raise VideoError(f"fps must be positive, got {fps}")
    if not path.exists():
        raise VideoError(f"input not found: {path}")
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise VideoError(f"no png/jpg frames in folder {path}")
        first = read_image_rgb(files[0])
        rate = override or DEFAULT_FRAME_DIR_FPS
        return VideoInfo(path=path, width=first.shape[1], height=first.shape[0], fps=rate,
                         num_frames=len(files), duration=float(len(files) / rate), codec="png",
                         is_frame_dir=True)
    if override is not None:  # a video's frames keep their own times; another rate would desync its audio
        raise VideoError(f"--fps is for frame folders only; {path} is a video file and keeps its own frame rate")
    if not path.is_file():
        raise VideoError(f"not a regular file: {path}")
    fields = read_streams(path)
    fields["fps"] = override or fields["fps"]
    if fields["fps"] is None:
        raise VideoError(f"cannot tell the frame rate of {path}; give it explicitly")
    counted = count_frames(path, on_progress)
    if counted.damaged and not skip_damaged:
        lost = counted.stored - counted.decoded
        raise VideoError(f"{path}: {lost} of {counted.stored} frames cannot be decoded ({counted.decoder_error}); "
                         f"the stream is corrupt. --skip-damaged upscales the {counted.decoded} that can")
    if counted.decoded == 0:
        raise VideoError(f"no frames in the video stream of {path}")
    return VideoInfo(path=path, num_frames=counted.decoded,
                     undecodable=counted.stored - counted.decoded if counted.damaged else 0,
                     time_base=counted.time_base, pts=counted.pts, end_pts=counted.end_pts, **fields)
