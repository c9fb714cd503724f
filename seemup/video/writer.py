"""Encoding frames: a video file through an ffmpeg pipe, or a folder of PNGs; both written atomically."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from .atomic import check_target, commit, is_frame_dir_target, remove_path, temp_path_for
from .codecs import EncodeSettings, colour_tags_filter, deep_pix_fmt, source_stream_args, yuv_from_rgb_filter
from .ffmpeg import StderrTail, VideoError, ffmpeg_cmd, file_url, popen_ffmpeg, stop_process
from .frame_dir import write_image_rgb
from .probe import FrameTiming, VideoInfo
from .timed import PipeError, TimedPipe, seconds_arg


def frame_name(index: int) -> str:
    """File name of frame ``index`` in a PNG folder output (zero-padded so plain sorting works)."""
    return f"{index:08d}.png"


class FrameWriter:
    """Write HxWx3 uint8 RGB frames to ``path`` (video file, or PNG folder if the name has no video suffix).

    The result appears at ``path`` only on :meth:`close` after every frame was written; an exception inside
    ``with FrameWriter(...)`` (Ctrl-C included) removes the temporary and leaves ``path`` untouched.
    ``source`` copies its audio, subtitles, chapters and metadata; ``rotation`` sets display rotation (use the
    source's when the frames were read without autorotation). Odd sizes are padded to even for 4:2:0
    (``padded`` then holds the encoded size).
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: Fraction | int | float, *,
                 settings: EncodeSettings | None = None, source: VideoInfo | None = None, rotation: int = 0,
                 force: bool = False, atomic: bool = True, start_number: int = 0,
                 timing: FrameTiming | None = None, video: VideoInfo | None = None) -> None:
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        if self.width <= 0 or self.height <= 0:
            raise VideoError(f"bad frame size {width}x{height}")
        self.fps = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
        if self.fps <= 0:
            raise VideoError(f"fps must be positive, got {fps}")
        self.settings = settings or EncodeSettings()
        if not self.settings.target_suffix and not is_frame_dir_target(self.path):
            self.settings = self.settings.for_target(self.path)
        self.source = source
        self.rotation = int(rotation) % 360
        self.force = force
        self.atomic = atomic
        self.start_number = start_number
        self.timing = timing
        self.video = video or (source if source is not None and not source.is_frame_dir else None)
        self._mux: TimedPipe | None = None
        self.is_frame_dir = is_frame_dir_target(self.path)
        self.count = 0
        self.padded: tuple[int, int] | None = None
        self.notes: list[str] = []
        self._closed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: StderrTail | None = None
        if atomic:
            check_target(self.path, force)
        self.temp = temp_path_for(self.path) if atomic else self.path
        if atomic:
            remove_path(self.temp)  # a stale temporary from a crashed run
        if self.is_frame_dir:
            self.temp.mkdir(parents=False, exist_ok=not atomic)
        else:
            self.settings.validate()
            self._start()

    # -- video file ------------------------------------------------------------------------------------------
    def _command(self) -> list[str]:
        args: list[str] = ["-v", "error", "-y", *self._input_args()]
        extra: list[str] = []
        if self.source is not None and not self.source.is_frame_dir:
            args += ["-i", file_url(self.source.path)]
            extra, self.notes = source_stream_args(self.source, self.path, 1)
        args += ["-map", "0:v:0", *extra]
        pix_fmt, note = deep_pix_fmt(self.settings, self.video)
        if note:
            self.notes.append(note)
        args += ["-vf", ",".join(self._filters(pix_fmt))]
        args += [*self.settings.args(pix_fmt), "-fps_mode", "passthrough"]
        if self.timing is not None:
            args += ["-enc_time_base:v", "demux"]
        if self.path.suffix.lower() in (".mp4", ".m4v", ".mov"):
            args += ["-movflags", "+faststart"]
        args.append(file_url(self.temp))
        return ffmpeg_cmd(*args)

    def _filters(self, pix_fmt: str | None) -> list[str]:
        """Pad to an even size for 4:2:0, convert RGB with the source's matrix and range, keep its pixel shape."""
        filters: list[str] = []
        if self.settings.needs_even_size() and (self.width % 2 or self.height % 2):
            self.padded = (self.width + self.width % 2, self.height + self.height % 2)
            filters += [f"pad={self.padded[0]}:{self.padded[1]}:0:0",
                        f"fillborders=right={self.width % 2}:bottom={self.height % 2}:mode=smear"]
            self.notes.append(f"padded {self.width}x{self.height} to {self.padded[0]}x{self.padded[1]} for "
                              f"{pix_fmt}")
        if pix_fmt:
            filters.append(yuv_from_rgb_filter(self.video, pix_fmt))
        tags = colour_tags_filter(self.video)
        if tags:
            filters.append(tags)
        sar = self.video.sar if self.video is not None else Fraction(1)
        filters.append(f"setsar={sar.numerator}/{sar.denominator}")
        return filters

    def _input_args(self) -> list[str]:
        """The frames' input: raw RGB at a constant rate, or NUT carrying each frame's time (``timing``)."""
        args: list[str] = []
        if self.rotation:
            args += ["-display_rotation", str(self.rotation), "-noautorotate"]  # tag it, don't apply it
        if self.timing is None:
            fps = f"{self.fps.numerator}/{self.fps.denominator}"
            return [*args, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
                    "-framerate", fps, "-i", "pipe:0"]
        if self.source is not None and not self.source.is_frame_dir:  # keep the video's delay behind the audio
            offset = self.timing.seconds(self.timing.pts[0]) - self.source.container_start
            args += ["-itsoffset", seconds_arg(offset)]
        return [*args, "-f", "nut", "-i", "pipe:0"]

    def _start(self) -> None:
        self._proc = popen_ffmpeg(self._command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self._stderr = StderrTail(self._proc.stderr)
        if self.timing is not None:
            assert self._proc.stdin is not None
            self._mux = TimedPipe(self._proc.stdin, self.width, self.height, self.timing, self.fps)

    def _fail(self, what: str) -> VideoError:
        detail = self._stderr.last() if self._stderr else ""
        self.abort()
        return VideoError(f"{what} {self.path}: {detail or 'ffmpeg stopped'}")

    # -- public ----------------------------------------------------------------------------------------------
    def write(self, frame: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        if self._closed:
            raise VideoError("writer is closed")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.height}x{self.width}x3 uint8 frame, got {frame.shape} {frame.dtype}")
        if self.is_frame_dir:
            write_image_rgb(self.temp / frame_name(self.start_number + self.count), frame)
        else:
            assert self._proc is not None and self._proc.stdin is not None
            try:
                if self._mux is not None:
                    self._mux.write(frame)
                else:
                    self._proc.stdin.write(np.ascontiguousarray(frame).data)
            except (BrokenPipeError, OSError, PipeError):
                raise self._fail("encoding failed for") from None
        self.count += 1

    def close(self) -> Path:
        """Finish encoding and move the result onto the target; returns the target path."""
        if self._closed:
            return self.path
        if self.count == 0:
            self.abort()
            raise VideoError(f"no frames were written to {self.path}")
        if self._proc is not None:
            assert self._proc.stdin is not None
            try:
                if self._mux is not None:
                    self._mux.close()
                self._proc.stdin.close()
            except (BrokenPipeError, OSError, PipeError):
                pass
            rc = self._proc.wait()
            if rc != 0:
                raise self._fail(f"ffmpeg exit {rc} while writing")
            self._proc = None
        self._closed = True
        if self.atomic:
            try:
                commit(self.temp, self.path, self.force)
            except BaseException:
                remove_path(self.temp)
                raise
        return self.path

    def abort(self) -> None:
        """Stop and delete the temporary output; the target is left as it was."""
        self._closed = True
        proc, self._proc = self._proc, None
        stop_process(proc)
        mux, self._mux = self._mux, None
        if mux is not None:
            mux.discard()
        if self.atomic:
            remove_path(self.temp)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_frames(frames: Iterable[np.ndarray], path: str | Path, fps: Fraction | int | float, **kwargs) -> Path:
    """Write all ``frames`` (size taken from the first) to ``path``; keyword options as for :class:`FrameWriter`."""
    it = iter(frames)
    try:
        first = next(it)
    except StopIteration:
        raise VideoError(f"no frames to write to {path}") from None
    with FrameWriter(path, first.shape[1], first.shape[0], fps, **kwargs) as writer:
        writer.write(first)
        for frame in it:
            writer.write(frame)
    return writer.path
