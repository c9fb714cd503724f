"""Streaming frame reader: decoded HxWx3 uint8 RGB frames one at a time through an ffmpeg pipe.

Memory stays bounded (one frame in flight), the process is always closed, and a stream that decodes to
fewer frames than it holds, or that ffmpeg fails on, raises instead of silently ending early.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from .codecs import rgb_from_yuv_filter
from .ffmpeg import StderrTail, VideoError, ffmpeg_cmd, file_url, popen_ffmpeg, stop_process
from .frame_dir import list_frame_files, read_image_rgb
from .probe import VideoInfo, probe


class FrameReader:
    """Iterator and context manager over the frames of a video file or frame folder.

    ``autorotate`` (default) yields frames as displayed; False yields them as stored (the writer can then
    carry the rotation over as metadata). ``start`` skips that many frames first (exactly, by frame index).
    """

    def __init__(self, path: str | Path, *, info: VideoInfo | None = None, autorotate: bool = True,
                 start: int = 0) -> None:
        self.info = info or probe(path)
        self.path = Path(path)
        if not 0 <= start <= self.info.num_frames:
            raise VideoError(f"start frame {start} outside 0..{self.info.num_frames}")
        self.start = start
        self.autorotate = autorotate
        self.width, self.height = self.info.display_size if autorotate else (self.info.width, self.info.height)
        self.expected = self.info.num_frames - start
        self.count = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: StderrTail | None = None
        self._iter: Iterator[np.ndarray] | None = None

    def __len__(self) -> int:
        return self.expected

    # -- iteration -------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[np.ndarray]:
        if self._iter is None:
            self._iter = self._frames_from_dir() if self.info.is_frame_dir else self._frames_from_pipe()
        return self._iter

    def __next__(self) -> np.ndarray:
        return next(iter(self))

    def _frames_from_dir(self) -> Iterator[np.ndarray]:
        files = list_frame_files(self.path)
        if len(files) != self.info.num_frames:
            raise VideoError(f"frame folder {self.path} changed while reading")
        for f in files[self.start:]:
            frame = read_image_rgb(f)
            if frame.shape != (self.height, self.width, 3):
                raise VideoError(f"{f.name} is {frame.shape[1]}x{frame.shape[0]}, the first frame is "
                                 f"{self.width}x{self.height}: all frames of a folder must have one size")
            self.count += 1
            yield frame

    def _command(self) -> list[str]:
        args: list[str] = ["-v", "error"]
        if not self.autorotate:
            args.append("-noautorotate")
        args += ["-i", file_url(self.path), "-map", "0:v:0", "-an", "-sn", "-dn"]
        trim = [f"trim=start_frame={self.start}"] if self.start else []
        args += ["-vf", ",".join([*trim, rgb_from_yuv_filter(self.info)])]
        args += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        return ffmpeg_cmd(*args)

    def _frames_from_pipe(self) -> Iterator[np.ndarray]:
        frame_bytes = self.width * self.height * 3
        self._proc = popen_ffmpeg(self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, bufsize=frame_bytes)
        try:
            yield from self._read_pipe(frame_bytes)
        finally:  # consumer stopped early, raised, or Ctrl-C: never leave the ffmpeg behind
            self._kill()

    def _read_pipe(self, frame_bytes: int) -> Iterator[np.ndarray]:
        assert self._proc is not None
        self._stderr = StderrTail(self._proc.stderr)
        stdout = self._proc.stdout
        assert stdout is not None
        while True:
            buf = stdout.read(frame_bytes)
            if not buf:
                break
            if len(buf) != frame_bytes:
                self._kill()
                raise VideoError(f"{self.path}: stream ended inside frame {self.start + self.count}")
            self.count += 1
            yield np.frombuffer(buf, np.uint8).reshape(self.height, self.width, 3)
        rc = self._proc.wait()
        detail = self._stderr.last(1)[:300]
        if rc != 0:
            raise VideoError(f"decoding {self.path} failed (ffmpeg exit {rc}): {detail or 'no message'}")
        if self.count != self.expected:
            raise VideoError(f"{self.path}: decoded {self.start + self.count} of {self.info.num_frames} frames; "
                             f"the stream is corrupt{': ' + detail if detail else ''}")

    # -- lifetime --------------------------------------------------------------------------------------------
    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)
            if proc.stdout is not None:
                proc.stdout.close()

    def close(self) -> None:
        """Stop ffmpeg if still running (also when the caller stops iterating early)."""
        self._kill()
        it = self._iter
        if it is not None and hasattr(it, "close"):
            try:
                it.close()
            except ValueError:  # called from inside the running generator
                pass

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def read_frames(path: str | Path, *, info: VideoInfo | None = None, autorotate: bool = True,
                start: int = 0) -> FrameReader:
    """Frames of a video file or frame folder, streamed: ``with read_frames(p) as frames: for f in frames: ...``."""
    return FrameReader(path, info=info, autorotate=autorotate, start=start)
