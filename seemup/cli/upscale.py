"""`seemup upscale IN OUT`: x4 video super-resolution of a video file or frame folder."""

from __future__ import annotations

import signal
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seemup.errors import UserError

from .app import app

if TYPE_CHECKING:
    from seemup.pipeline import ProgressSink

_HELP = {
    "paths": "IN OUT: an input video file or folder of png/jpg frames, and the output video (.mp4, .mkv, .mov, "
             ".webm, ...) or a folder name for PNG frames. With --out-dir: any number of inputs (videos, or "
             "folders of videos).",
    "out_dir": "Upscale every input into this folder, each under its own name: one model load for all, finished "
               "outputs skipped (--force remakes them), a failing file reported while the others go on, a table at "
               "the end; exit status 1 if any file failed.",
    "outscale": "Output size = input size x this factor (e.g. 2 or 1.5; more than 1, at most 16). The network "
                "still runs x4; each frame is then resized once: area averaging down to the size, Lanczos beyond "
                "x4. Sizes are as displayed: the output has square pixels (anamorphic input is widened, never "
                "squeezed) and even width and height for 4:2:0 video (the summary says how it was rounded).",
    "size": "Output size WxH (e.g. 1920x1080): the picture fitted in that box at its display aspect, resized as "
            "for --outscale.",
    "height": "Output height H (e.g. 1080); the width follows the display aspect; resized as for --outscale.",
    "start": "Only from this time on (seconds, or HH:MM:SS.ms, like ffmpeg's -ss): a quick preview. The frames "
             "are those of a whole run with the same --chunk and --overlap; audio and subtitles are cut to match.",
    "duration": "Only this long (seconds, or HH:MM:SS.ms, like ffmpeg's -t).",
    "frames": "Only frames A to B-1 (A:B, counted from 0; A: to the end, :B from the start), as --start does.",
    "model": "Registered model name (see `seemup weights list`): basicvsr, basicvsr-lite, edvr-m, ..., bicubic.",
    "weights": "Weights file or weight-set name (default: the model's default set).",
    "chunk": "Frames per temporal chunk for recurrent models (default: sized for the device's memory).",
    "overlap": "Context frames on each side of a chunk (computed, then dropped from the output).",
    "tile": "Spatial tile size in input pixels (0: whole frames; on CUDA an out-of-memory retries smaller).",
    "tile_overlap": "Overlap between tiles in input pixels (blended).",
    "device": "auto, cpu, cuda or cuda:N.",
    "precision": "auto (fp16 autocast on CUDA; on CPU int8 residual blocks for calibrated weights such as "
                 "basicvsr-lite's, else bf16 where native, else fp32), fp32, fp16, bf16 or int8 (CPU).",
    "fp32": "Full precision (same as --precision fp32).",
    "codec": "Video encoder (libx264/h264, libx265/hevc, libvpx-vp9, libsvtav1, ffv1, ...).",
    "crf": "Constant rate factor (quality; lower is better).",
    "preset": "Encoder speed preset (x264/x265).",
    "force": "Overwrite an existing output file, or a folder of nothing but seemup's PNG frames (or discard an "
             "interrupted run of it); never a device, FIFO or other folder.",
    "resume": "Continue an interrupted run of the same output from its last finished chunk.",
    "quiet": "No progress bar or notices; only the summary.",
    "mask_source": "Masks for SEEM models: auto (SAM if a checkpoint is found, else classical), sam, classical.",
    "sam_checkpoint": "SAM checkpoint (.pth) for the masks.",
    "cache_dir": "Mask cache folder (default: $SEEMUP_CACHE_DIR, else ~/.cache/seemup/masks).",
    "skip_damaged": "Upscale a damaged video's decodable frames instead of refusing it (the output is shorter).",
    "fps_factor": "N times as many frames over the same duration (integer >= 2): RIFE v4.0 makes N-1 frames after "
                  "each input frame in LR, then the model upscales them all; scene cuts are never blended (the "
                  "nearer frame is repeated) and the last frame is repeated N-1 times. Audio stays in sync.",
    "fps": "Frame rate of a frame-folder input (e.g. 24, 30000/1001; default 25).",
}


@app.command()
def upscale(
    paths: list[Path] = typer.Argument(..., metavar="PATH", help=_HELP["paths"]),
    out_dir: Path | None = typer.Option(None, "--out-dir", "-O", help=_HELP["out_dir"]),
    outscale: float | None = typer.Option(None, "--outscale", help=_HELP["outscale"]),
    size: str | None = typer.Option(None, "--size", metavar="WxH", help=_HELP["size"]),
    height: int | None = typer.Option(None, "--height", help=_HELP["height"]),
    start: str | None = typer.Option(None, "--start", metavar="TIME", help=_HELP["start"]),
    duration: str | None = typer.Option(None, "--duration", metavar="TIME", help=_HELP["duration"]),
    frames: str | None = typer.Option(None, "--frames", metavar="A:B", help=_HELP["frames"]),
    model: str = typer.Option("basicvsr", "--model", "-m", help=_HELP["model"]),
    weights: str | None = typer.Option(None, "--weights", "-w", help=_HELP["weights"]),
    chunk: int | None = typer.Option(None, "--chunk", help=_HELP["chunk"]),
    overlap: int = typer.Option(10, "--overlap", help=_HELP["overlap"]),
    tile: int = typer.Option(0, "--tile", help=_HELP["tile"]),
    tile_overlap: int = typer.Option(16, "--tile-overlap", help=_HELP["tile_overlap"]),
    device: str = typer.Option("auto", "--device", help=_HELP["device"]),
    precision: str = typer.Option("auto", "--precision", help=_HELP["precision"]),
    fp32: bool = typer.Option(False, "--fp32", help=_HELP["fp32"]),
    codec: str = typer.Option("libx264", "--codec", help=_HELP["codec"]),
    crf: int = typer.Option(18, "--crf", help=_HELP["crf"]),
    preset: str = typer.Option("medium", "--preset", help=_HELP["preset"]),
    force: bool = typer.Option(False, "--force", "-f", help=_HELP["force"]),
    resume: bool = typer.Option(False, "--resume", help=_HELP["resume"]),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_HELP["quiet"]),
    mask_source: str = typer.Option("auto", "--mask-source", help=_HELP["mask_source"]),
    sam_checkpoint: Path | None = typer.Option(None, "--sam-checkpoint", help=_HELP["sam_checkpoint"]),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help=_HELP["cache_dir"]),
    fps: str | None = typer.Option(None, "--fps", help=_HELP["fps"]),
    skip_damaged: bool = typer.Option(False, "--skip-damaged", help=_HELP["skip_damaged"]),
    fps_factor: int = typer.Option(1, "--fps-factor", min=1, help=_HELP["fps_factor"]),
) -> None:
    """Upscale a video x4 (BasicVSR / EDVR, optionally with SEEM), or many into --out-dir; resumable, never
    half-writes an output."""
    from rich.console import Console

    input, output = _input_and_output(paths, out_dir)

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    stop = _StopSignals()
    try:  # the imports too: torch takes seconds to load, and a Ctrl-C then deserves its line as well
        from seemup.pipeline import NullProgress, RichProgress, UpscaleOptions, upscale_video
        from seemup.runtime import ranks

        here = ranks.join()  # under torchrun: this process's rank (the group lasts as long as the process)
        shown = not quiet and here.is_main

        options = UpscaleOptions(
            model=model, weights=weights, chunk=chunk, overlap=overlap, tile=tile,
            tile_overlap=tile_overlap, device=device, precision=precision, fp32=fp32, codec=codec, crf=crf,
            preset=preset, force=force, resume=resume, quiet=quiet, mask_source=mask_source,
            sam_checkpoint=sam_checkpoint, cache_dir=cache_dir, fps=_rate(fps), skip_damaged=skip_damaged,
            fps_factor=fps_factor, outscale=outscale, size=_size(size), height=height, start=_time(start, "--start"),
            duration=_time(duration, "--duration"), frames=_frames(frames),
        )
        progress = stop.checked(RichProgress(console=err) if shown else NullProgress())

        def notice(message: str) -> None:
            err.print(message, markup=False)

        if out_dir is not None:
            from .upscale_many import upscale_many

            upscale_many(paths, out_dir, options, err, stop.checked, lambda: bool(stop.received),
                         notice if shown else None, reports=here.is_main)
            return
        result = upscale_video(input, output, options, progress=progress, log=notice if shown else None)
    except Exception:
        if not stop.received:
            raise
        # Ctrl-C also reaches the ffmpeg processes, whose end can surface first as an error of their own
        from seemup.pipeline.upscale import kept_after_stop

        kept = kept_after_stop(output) if output is not None else "finished files are in place"
        err.print(f"interrupted: {kept}", markup=False)
        raise typer.Exit(128 + stop.signum) from None
    except KeyboardInterrupt as exc:  # Typer would exit 130 without a word: say what was kept
        kept = getattr(exc, "kept", None) or f"nothing was written; {output or 'no output'} is unchanged"
        err.print(f"interrupted: {kept}", markup=False)
        raise typer.Exit(128 + stop.signum) from None
    finally:
        stop.restore()
    if here.is_main:
        print(result.summary())


class _StopSignals:
    """SIGTERM stops a run as Ctrl-C does (KeyboardInterrupt, the partial work kept, one line saying so).

    Python drops a KeyboardInterrupt raised while it runs an at-fork or ``__del__`` hook (each chunk starts
    an encoder process), so the signal is also remembered and raised again at the next frame's progress call.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, object] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread (an embedding program): its own handling stays
                pass

    @property
    def signum(self) -> int:
        return int(self.received[0]) if self.received else int(signal.SIGINT)

    def _handle(self, signum: int, _frame: object) -> None:
        self.received.append(signum)
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.received:
            raise KeyboardInterrupt

    def checked(self, sink: ProgressSink) -> ProgressSink:
        """``sink`` with a check for a swallowed stop before each update."""
        return _CheckedProgress(sink, self.check)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:
                signal.signal(signum, handler)


class _CheckedProgress:
    def __init__(self, sink: ProgressSink, check: Callable[[], None]) -> None:
        self.sink, self.check = sink, check

    def checking(self, done: int, total: int) -> None:
        self.check()
        self.sink.checking(done, total)

    def start(self, total: int, completed: int = 0) -> None:
        self.check()
        self.sink.start(total, completed)

    def advance(self, frames: int) -> None:
        self.check()
        self.sink.advance(frames)

    def close(self) -> None:
        self.sink.close()


def _input_and_output(paths: list[Path], out_dir: Path | None) -> tuple[Path | None, Path | None]:
    """IN OUT, as always; with --out-dir, none (every path is an input)."""
    if out_dir is not None:
        return None, None
    if len(paths) != 2:
        raise UserError(f"give an input and an output (IN OUT), or inputs and --out-dir DIR; got {len(paths)} "
                        f"path{'s' if len(paths) != 1 else ''}", exit_code=2)
    return paths[0], paths[1]


def _size(text: str | None) -> tuple[int, int] | None:
    from seemup.pipeline.resize import parse_size

    return parse_size(text) if text is not None else None


def _time(text: str | None, option: str) -> Fraction | None:
    from seemup.pipeline.span import parse_time

    return parse_time(text, option) if text is not None else None


def _frames(text: str | None) -> tuple[int, int | None] | None:
    from seemup.pipeline.span import parse_frames

    return parse_frames(text) if text is not None else None


def _rate(fps: str | None) -> Fraction | None:
    """--fps as an exact fraction (24, 25, 30000/1001, 29.97)."""
    if fps is None:
        return None
    try:
        return Fraction(fps)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"--fps {fps!r} is not a number or fraction") from None
