"""A part of the video for a quick preview (``--start``/``--duration`` as ffmpeg's ``-ss``/``-t``, or
``--frames A:B``): which frames are written, the chunks that compute them, and the time span of the audio and
subtitles that go with them.

The chunks are the whole run's, only with fewer frames written: each chunk still reads its context frames,
so a preview's frames are those of a whole-file run with the same ``--chunk`` and ``--overlap``, bit for bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from seemup.errors import UserError
from seemup.video import VideoInfo

from .schedule import Chunk

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")  # [HH:]MM:SS[.frac], as ffmpeg writes durations
_SECONDS = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_FRAMES = re.compile(r"(\d*):(\d*)")


def parse_time(text: str, option: str) -> Fraction:
    """``text`` (seconds such as ``12.5``, or ``[HH:]MM:SS[.frac]``) as exact seconds; else a UserError."""
    text = text.strip()
    if _SECONDS.fullmatch(text):
        return Fraction(text)
    clock = _CLOCK.fullmatch(text)
    bad_minutes = clock is not None and clock[1] is not None and int(clock[2]) >= 60
    if clock is None or bad_minutes or Fraction(clock[3]) >= 60:
        raise UserError(f"{option} {text!r} is not a time: give seconds (12.5) or HH:MM:SS.ms (00:01:02.5)")
    hours, minutes, seconds = int(clock[1] or 0), int(clock[2]), Fraction(clock[3])
    return hours * 3600 + minutes * 60 + seconds


def parse_frames(text: str) -> tuple[int, int | None]:
    """``A:B`` (frames A to B-1, as a Python slice; ``A:`` to the end, ``:B`` from the start)."""
    match = _FRAMES.fullmatch(text.strip())
    if match is None or not (match[1] or match[2]):
        raise UserError(f"--frames {text!r} is not A:B (frames A to B-1; A: to the end, :B from the start)")
    return int(match[1] or 0), int(match[2]) if match[2] else None


@dataclass(frozen=True)
class SpanRequest:
    """What the user asked for; all None: the whole video."""

    start: Fraction | None = None  # seconds from the file's start, as ffmpeg's -ss counts them
    duration: Fraction | None = None
    frames: tuple[int, int | None] | None = None  # [A, B) by frame index

    @property
    def given(self) -> bool:
        return self.start is not None or self.duration is not None or self.frames is not None

    def check(self) -> None:
        """One line for a request that cannot describe a span, whatever the video."""
        if self.frames is not None and (self.start is not None or self.duration is not None):
            raise UserError("--frames picks frames by number, --start/--duration by time: give one or the other")
        if self.start is not None and self.start < 0:
            raise UserError(f"--start must be 0 or more, got {float(self.start):g}")
        if self.duration is not None and self.duration <= 0:
            raise UserError(f"--duration must be more than 0, got {float(self.duration):g}")
        if self.frames is not None:
            a, b = self.frames
            if a < 0 or (b is not None and b <= a):
                raise UserError(f"--frames {a}:{'' if b is None else b} holds no frame (A:B is frames A to B-1)")


def frame_time(info: VideoInfo, index: int) -> Fraction:
    """Seconds from the file's start (ffmpeg's -ss origin) to frame ``index`` (``num_frames``: the video's end)."""
    timing = info.timing()
    if timing is None:
        return info.start_offset + Fraction(index) / info.fps
    value = timing.pts[index] if index < info.num_frames else timing.end
    return timing.seconds(value) - info.container_start


@dataclass(frozen=True)
class FrameSpan:
    """Output frames ``first`` .. ``end - 1`` of a video of ``total`` frames."""

    first: int
    end: int
    total: int

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.end == self.total

    @property
    def count(self) -> int:
        return self.end - self.first

    def restrict(self, plan: list[Chunk]) -> list[Chunk]:
        """The chunks of the whole run's ``plan`` that hold a frame of the span, renumbered from 0, writing only
        the span's frames but reading the same input frames (so the network computes what it computes there)."""
        if self.whole:
            return plan
        hit = [c for c in plan if c.out_end > self.first and c.out_start < self.end]
        return [Chunk(k, max(c.out_start, self.first), min(c.out_end, self.end), c.in_start, c.in_end)
                for k, c in enumerate(hit)]

    def stamp(self) -> dict:
        """What a ``--resume`` must find unchanged (nothing for the whole video, as before spans existed)."""
        return {} if self.whole else {"frames_span": [self.first, self.end]}

    def describe(self, info: VideoInfo) -> str:
        start, end = frame_time(info, self.first), frame_time(info, self.end)
        return (f"frames {self.first}..{self.end - 1} of {self.total} "
                f"({float(start):.3f}-{float(end):.3f} s)")

    def source_view(self, info: VideoInfo) -> tuple[VideoInfo, tuple[Fraction, Fraction | None] | None]:
        """``info`` as the span's own video (its frames and their times) and the part of the source's other
        streams that goes with it: (start, duration) in seconds from the file's start; None for the whole video."""
        if self.whole:
            return info, None
        timed = len(info.pts) == info.num_frames
        pts = info.pts[self.first:self.end] if timed else ()
        end_pts = (info.pts[self.end] if self.end < info.num_frames else info.end_pts) if timed else None
        view = replace(info, num_frames=self.count, pts=pts, end_pts=end_pts)
        start = frame_time(info, self.first)
        duration = frame_time(info, self.end) - start if self.end < self.total else None
        return view, (start, duration)


def resolve_span(request: SpanRequest, info: VideoInfo) -> FrameSpan:
    """The frames of ``info`` the request picks; a span that starts past the video or holds no frame is one line.

    By time, a frame belongs to the span when its presentation time is at or after ``--start`` and before
    ``--start`` + ``--duration`` (ffmpeg's -ss/-t with accurate seeking); a span that runs past the end stops
    there, as ffmpeg's does.
    """
    n = info.num_frames
    if not request.given:
        return FrameSpan(0, n, n)
    if request.frames is not None:
        a, b = request.frames
        if a >= n:
            raise UserError(f"--frames {a}:{'' if b is None else b} starts past the video's last frame "
                            f"(it has {n}: 0..{n - 1})")
        return FrameSpan(a, n if b is None else min(b, n), n)
    times = [frame_time(info, i) for i in range(n)]
    start = request.start or Fraction(0)
    first = next((i for i, t in enumerate(times) if t >= start), n)
    if first == n:
        raise UserError(f"--start {float(start):g} s is past the video's last frame (at "
                        f"{float(times[-1]):.3f} s; {n} frames)")
    stop = start + request.duration if request.duration is not None else None
    end = n if stop is None else next((i for i, t in enumerate(times) if t >= stop), n)
    if end <= first:
        raise UserError(f"--start {float(start):g} s --duration {float(request.duration or 0):g} s holds no frame "
                        f"(the next one is at {float(times[first]):.3f} s)")
    return FrameSpan(first, end, n)
