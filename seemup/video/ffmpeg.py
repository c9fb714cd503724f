"""Locating and running the ffmpeg binary that imageio-ffmpeg ships (argument lists only, never a shell)."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import threading
from collections import deque
from pathlib import Path

from seemup.errors import UserError


class VideoError(UserError):
    """A video could not be read or written (bad input, corrupt stream, encoder failure)."""


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary; the pip package brings it so users need no system ffmpeg."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise UserError("the 'imageio-ffmpeg' package is missing: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_cmd(*args: str | Path) -> list[str]:
    """A full ffmpeg argument list: quiet banner, never reads the terminal."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", *[str(a) for a in args]]


def file_url(path: str | Path) -> str:
    """A local path as ffmpeg must see it: a ``file:`` URL of the absolute path, so that a name such as
    ``concat:a.mp4|b.mp4`` or ``-`` is never taken for a protocol, an option or standard input."""
    return "file:" + os.path.abspath(os.fspath(path))


def _load_prctl():  # noqa: ANN202 - a ctypes function or None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec: one preloaded C call, nothing else
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def popen_ffmpeg(args: list[str], **kwargs) -> subprocess.Popen[bytes]:
    """Start ffmpeg so that it is killed with us: a SIGTERM or SIGKILL of this process (no ``finally`` runs)
    must not leave an ffmpeg behind, blocked for ever on a FIFO or still encoding."""
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509


def stop_process(proc: subprocess.Popen | None) -> None:
    """Kill ``proc`` if it still runs and reap it (on every way out: errors, Ctrl-C, early close)."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg to completion and capture its text output (for probing and remuxing); killed on Ctrl-C."""
    with popen_ffmpeg(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True, errors="replace") as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            stop_process(proc)
            raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@functools.lru_cache(maxsize=1)
def available_encoders() -> frozenset[str]:
    """Names of the encoders compiled into the bundled ffmpeg (to reject a bad --codec up front)."""
    out = run_ffmpeg(ffmpeg_cmd("-encoders")).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


class StderrTail:
    """Drains a process's stderr on a thread (so the pipe never fills and blocks ffmpeg), keeping the last lines."""

    def __init__(self, stream, max_lines: int = 40) -> None:  # noqa: ANN001 - a binary file object
        self.lines: deque[str] = deque(maxlen=max_lines)
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:  # noqa: ANN001
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.lines.append(line)
        stream.close()

    def text(self, timeout: float = 5.0) -> str:
        """The collected lines, after waiting for the stream to end."""
        self._thread.join(timeout)
        return "\n".join(self.lines)

    def last(self, n: int = 3) -> str:
        """The last ``n`` lines joined on one line, for one-line error messages."""
        self.text()
        return " | ".join(list(self.lines)[-n:])
