"""Frames with their own presentation times on ffmpeg's standard input.

Raw RGB on a pipe has no timestamps: ffmpeg spaces such frames evenly, which retimes a variable-frame-rate
video (frames that start at 3.00 s played from 1.70 s). Muxed into NUT (PyAV's rawvideo encoder, a copy of
the bytes), each frame carries the source frame's pts in the source's time base, and the encoder keeps it
(``-fps_mode passthrough -enc_time_base demux``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import BinaryIO

import numpy as np

from .probe import FrameTiming


class PipeError(Exception):
    """The NUT stream could not be written (ffmpeg stopped reading)."""


def seconds_arg(value: Fraction) -> str:
    """``value`` seconds as ffmpeg's duration syntax, to the microsecond (the precision ffmpeg parses)."""
    us = round(value * 1_000_000)
    sign = "-" if us < 0 else ""
    us = abs(us)
    return f"{sign}{us // 1_000_000}.{us % 1_000_000:06d}"


def last_frame_rate(timing: FrameTiming) -> Fraction | None:
    """The stream rate to declare: NUT stores no durations, and ffmpeg gives the last frame ``1/rate``, so
    the rate is the one at which the last frame lasts until ``timing.end`` (the source's end of it)."""
    last = timing.seconds(timing.end - timing.pts[-1]) if timing.pts else Fraction(0)
    return 1 / last if last > 0 else None


class TimedPipe:
    """Mux HxWx3 uint8 RGB frames, timed by ``timing``, as NUT onto ``stream`` (ffmpeg's stdin)."""

    def __init__(self, stream: BinaryIO, width: int, height: int, timing: FrameTiming, fps: Fraction) -> None:
        import av

        self._av = av
        self.timing = timing
        self.index = 0
        try:
            self._out = av.open(stream, "w", format="nut")
            self._stream = self._out.add_stream("rawvideo", rate=last_frame_rate(timing) or fps)
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "rgb24"
            self._stream.time_base = timing.time_base
            self._stream.codec_context.time_base = timing.time_base
        except av.FFmpegError as exc:
            raise PipeError(str(exc)) from None

    def write(self, frame: np.ndarray) -> None:
        """Send the next frame with its presentation time."""
        if self.index >= len(self.timing.pts):
            raise ValueError(f"more frames than the {len(self.timing.pts)} times given")
        picture = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        picture.pts, picture.time_base = self.timing.pts[self.index], self.timing.time_base
        self.index += 1
        self._mux(self._stream.encode(picture))

    def _mux(self, packets: list) -> None:
        try:
            for packet in packets:
                self._out.mux(packet)
        except self._av.FFmpegError as exc:
            raise PipeError(str(exc)) from None

    def close(self) -> None:
        """Flush and write the trailer (the caller then closes the pipe)."""
        self._mux(self._stream.encode(None))
        try:
            self._out.close()
        except self._av.FFmpegError as exc:
            raise PipeError(str(exc)) from None

    def discard(self) -> None:
        """Let go after ffmpeg was stopped: nothing more can be written."""
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - the reader is gone; the output is deleted anyway
            pass
