"""What `seemup upscale` can be told (checked once, before any work) and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from seemup.errors import UserError
from seemup.runtime.runner import MIN_TILE
from seemup.video import EncodeSettings

from .resize import SizeRequest
from .span import SpanRequest


@dataclass
class UpscaleOptions:
    """Everything ``seemup upscale`` can be told (defaults as on the command line)."""

    model: str = "basicvsr"
    weights: str | Path | None = None
    chunk: int | None = None  # None: sized for the device
    overlap: int = 10
    tile: int | None = None  # LR pixels; None/0: whole frames
    tile_overlap: int = 16
    device: str = "auto"
    precision: str = "auto"  # auto, fp32, fp16 (CUDA), bf16; see device.resolve_precision
    fp32: bool = False  # shorthand for precision="fp32"
    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    force: bool = False
    resume: bool = False
    quiet: bool = False
    mask_source: str = "auto"
    sam_checkpoint: Path | None = None
    cache_dir: Path | None = None
    fps: Fraction | None = None  # frame rate of a frame-folder input (default 25)
    skip_damaged: bool = False  # upscale the frames of a damaged stream that decode (else it is refused)
    fps_factor: int = 1  # N > 1: N times the frames over the same duration (new frames made by RIFE in LR)
    outscale: float | None = None  # output size (one of these three): input x outscale, at the display aspect
    size: tuple[int, int] | None = None  # fitted in this box (w, h)
    height: int | None = None  # this height
    start: Fraction | None = None  # a preview: seconds from the file's start, as ffmpeg's -ss
    duration: Fraction | None = None
    frames: tuple[int, int | None] | None = None  # or frames [A, B)

    def validate(self) -> None:
        """One clear error for a bad value, before any work starts."""
        if self.chunk is not None and self.chunk < 1:
            raise UserError(f"--chunk must be at least 1, got {self.chunk}")
        if self.fps_factor < 1:
            raise UserError(f"--fps-factor must be an integer of at least 2 (1: off), got {self.fps_factor}")
        if self.overlap < 0:
            raise UserError(f"--overlap must be 0 or more, got {self.overlap}")
        if self.tile is not None and self.tile != 0 and self.tile < MIN_TILE:
            raise UserError(f"--tile must be 0 (off) or at least {MIN_TILE}, got {self.tile}")
        if self.tile_overlap < 0:
            raise UserError(f"--tile-overlap must be 0 or more, got {self.tile_overlap}")
        if self.tile and self.tile_overlap * 2 > self.tile:
            raise UserError(f"--tile-overlap {self.tile_overlap} must be at most half of --tile {self.tile}")
        self.size_request().check()
        self.span_request().check()
        self.encode_settings().validate()

    def encode_settings(self) -> EncodeSettings:
        return EncodeSettings(codec=self.codec, crf=self.crf, preset=self.preset)

    def size_request(self) -> SizeRequest:
        return SizeRequest(outscale=self.outscale, size=self.size, height=self.height)

    def span_request(self) -> SpanRequest:
        return SpanRequest(start=self.start, duration=self.duration, frames=self.frames)


@dataclass
class UpscaleResult:
    """What was done, for the summary line(s)."""

    output: Path
    model: str
    weights: str | None
    device: str
    precision: str
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    frames: int
    computed_frames: int
    seconds: float
    chunk: int
    overlap: int
    tile: int | None
    resumed_from: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.computed_frames / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """A short human summary (model, device, size in -> out, frames, time, speed, pads/crops, notes)."""
        w = f" ({self.weights})" if self.weights else ""
        tile = f", tile {self.tile}" if self.tile else ""
        resumed = f", resumed at frame {self.resumed_from}" if self.resumed_from else ""
        line = (f"{self.output}: {self.model}{w} on {self.device} {self.precision}, "
                f"{self.in_size[0]}x{self.in_size[1]} -> {self.out_size[0]}x{self.out_size[1]}, {self.frames} frames "
                f"in {self.seconds:.1f} s ({self.fps:.2f} fps), chunk {self.chunk} overlap {self.overlap}{tile}"
                f"{resumed}")
        return "\n".join([line, *(f"  note: {n}" for n in self.notes)])
