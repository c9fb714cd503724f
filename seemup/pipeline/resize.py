"""The output size a user asks for (``--outscale``, ``--size``, ``--height``): the network still runs x4, then
each frame is resized once, with a filter fit for the direction.

Going down from the network's x4 (the usual case: 2x, 1080p from 360p) is area averaging (OpenCV's
INTER_AREA), which keeps the detail the network made without aliasing; going beyond x4 is Lanczos (INTER_LANCZOS4),
a sharp filter. Sizes describe the picture as displayed: the output has square pixels at the input's display
aspect (an anamorphic input is widened, never squeezed). Without a size option the x4 frames are written as
the network made them, carrying the input's pixel aspect ratio.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from seemup.errors import UserError
from seemup.runtime.runner import SCALE
from seemup.video import VideoInfo

from .processors import Frames, Processor
from .schedule import Chunk

MAX_OUTSCALE = 16
_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def parse_size(text: str) -> tuple[int, int]:
    """``--size WxH`` as (width, height); anything else is a UserError."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UserError(f"--size {text!r} is not WIDTHxHEIGHT (e.g. 1920x1080)")
    return int(match[1]), int(match[2])


@dataclass(frozen=True)
class SizeRequest:
    """What the user asked for; all None: the network's x4, as it is."""

    outscale: float | None = None
    size: tuple[int, int] | None = None  # a box the picture is fitted in, at its display aspect
    height: int | None = None

    @property
    def given(self) -> bool:
        return self.outscale is not None or self.size is not None or self.height is not None

    def check(self) -> None:
        """One line for a request that cannot be met whatever the input."""
        named = [n for n, v in (("--outscale", self.outscale), ("--size", self.size), ("--height", self.height))
                 if v is not None]
        if len(named) > 1:
            raise UserError(f"{' and '.join(named)} each set the output size: give one")
        if self.outscale is not None and not 1 < self.outscale <= MAX_OUTSCALE:
            shrink = "; to shrink a video use ffmpeg (-vf scale=W:H)" if self.outscale <= 1 else ""
            raise UserError(f"--outscale must be more than 1 and at most {MAX_OUTSCALE}, got {self.outscale:g}"
                            f"{shrink}")
        if self.size is not None and min(self.size) < 2:
            raise UserError(f"--size {self.size[0]}x{self.size[1]} is too small (at least 2x2)")
        if self.height is not None and self.height < 2:
            raise UserError(f"--height must be at least 2, got {self.height}")


@dataclass(frozen=True)
class OutputSize:
    """The size frames are written at and how they get there (``filter`` "": the network's x4 as it is)."""

    size: tuple[int, int]
    filter: str = ""  # "", "area" or "lanczos"
    square_pixels: bool = False  # the frames were resized to square pixels (the output's SAR is 1:1)
    notes: tuple[str, ...] = ()

    def stamp(self) -> dict:
        """What a ``--resume`` must find unchanged (nothing when frames are written as the network made them)."""
        return {"output_size": list(self.size), "resize_filter": self.filter} if self.filter else {}


def pixel_aspect(info: VideoInfo, upright: bool) -> Fraction:
    """The pixel aspect ratio of the frames the network sees: the stream's, or its inverse once a 90 or 270
    degree rotation has turned them upright."""
    return 1 / info.sar if upright and info.rotation % 180 == 90 else info.sar


def plan_output_size(request: SizeRequest, frame_size: tuple[int, int], sar: Fraction, even: bool) -> OutputSize:
    """Where ``frame_size`` input frames (pixel aspect ``sar``) end up; ``even``: the codec needs even sizes.

    A size that is not larger than the input's is refused: the network would run for hours only to have its
    picture shrunk again."""
    w, h = frame_size
    x4 = (w * SCALE, h * SCALE)
    if not request.given:
        return OutputSize(x4)
    shown_w = w * sar  # the input's width at square pixels
    exact = _exact_size(request, shown_w, h)
    if exact[0] <= shown_w and exact[1] <= h:
        raise UserError(f"the requested output ({_num(exact[0])}x{_num(exact[1])}) is not larger than the input "
                        f"({_num(shown_w)}x{h} as displayed): seemup would run the network only to shrink its "
                        f"picture again; shrink the video with ffmpeg instead (-vf scale=W:H)")
    step = 2 if even else 1
    size = (max(step, _nearest(exact[0], step)), max(step, _nearest(exact[1], step)))
    if request.size is not None:  # rounding never leaves the box
        size = (min(size[0], max(step, request.size[0] // step * step)),
                min(size[1], max(step, request.size[1] // step * step)))
    notes = []
    if size != exact:
        why = "even sizes for 4:2:0 video" if even else "whole pixels"
        notes.append(f"output {_num(exact[0])}x{_num(exact[1])} rounded to {size[0]}x{size[1]} ({why})")
    if size == x4:
        return OutputSize(size, "", sar != 1, tuple(notes))
    direction = "area" if size[0] <= x4[0] and size[1] <= x4[1] else "lanczos"
    named = "area averaging" if direction == "area" else "Lanczos"
    notes.append(f"network output {x4[0]}x{x4[1]} resized to {size[0]}x{size[1]} with {named}"
                 + (" (square pixels)" if sar != 1 else ""))
    return OutputSize(size, direction, True, tuple(notes))


def _exact_size(request: SizeRequest, shown_w: Fraction, h: int) -> tuple[Fraction, Fraction]:
    if request.outscale is not None:
        factor = Fraction(request.outscale).limit_denominator(10_000)  # 1.5 is 3/2, not its binary neighbour
        return shown_w * factor, h * factor
    if request.height is not None:
        return shown_w * request.height / h, Fraction(request.height)
    assert request.size is not None
    box_w, box_h = request.size
    k = min(box_w / shown_w, Fraction(box_h, h))
    return shown_w * k, h * k


def _nearest(value: Fraction, step: int) -> int:
    """``value`` rounded to the nearest multiple of ``step`` (halves up: the same rule for every size)."""
    return step * math.floor(value / step + Fraction(1, 2))


def _num(value: Fraction | int) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def resize_frame(frame: np.ndarray, size: tuple[int, int], filter: str) -> np.ndarray:
    """One [H, W, 3] uint8 frame at ``size`` (w, h) with ``filter`` ("area" or "lanczos")."""
    import cv2

    interpolation = cv2.INTER_AREA if filter == "area" else cv2.INTER_LANCZOS4
    return cv2.resize(frame, size, interpolation=interpolation)


class ResizingProcessor:
    """Another processor's x4 frames, each resized once to the output size as it comes."""

    def __init__(self, inner: Processor, output: OutputSize) -> None:
        self.inner = inner
        self.runner = inner.runner
        self.output = output

    def context(self, overlap: int) -> int:
        return self.inner.context(overlap)

    def __getattr__(self, name: str) -> object:  # what else the job asks of the inner processor
        return getattr(self.inner, name)

    def frames(self, chunk: Chunk, lr: Frames, masks: Frames | None, num_frames: int) -> Iterator[np.ndarray]:
        frames = self.inner.frames(chunk, lr, masks, num_frames)
        try:
            for frame in frames:
                yield resize_frame(frame, self.output.size, self.output.filter)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # the network's state for the chunk goes as soon as the caller stops
