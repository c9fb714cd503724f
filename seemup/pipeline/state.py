"""Resumable progress of one upscale job, kept beside the output until the output is complete.

``.<output name>.seemup-partial/`` holds ``lock`` (see :class:`JobLock`), ``state.json`` (what is being
made and the chunk plan), the finished chunks (encoded segments ``seg_00000.mp4`` ... or, for PNG output,
``frames/00000000.png`` ...) and one empty ``done_00000`` ... per finished chunk. Those files are the
record of what is done: the ranks of a torchrun job finish chunks in any order, each creates its own, and
none needs a lock to do so (``state.json``'s ``done`` is a count for people to read, rewritten by the
process that owns the folder). The video is joined there as ``joined.<suffix>`` before it is renamed onto
the output. Only these names are ever deleted: anything else found in the folder is left where it is, and
so is the folder.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seemup.atomicfile import atomic_write_text
from seemup.errors import UserError

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]

STATE_VERSION = 2  # 1: "done" counted the chunks finished in order (still resumed: chunks 0..done-1)
LOCK_NAME = "lock"
# every name seemup writes in the partial folder (writers' hidden temporaries included), and in frames/
_OWN_NAME = re.compile(r"(state\.json|state\.tmp|lock|done_\d{5,}|(seg_\d{5}|joined)\.\w+|\.(seg_\d{5}|joined)\..+)")
_DONE = re.compile(r"done_(\d{5,})")
_OWN_FRAME = re.compile(r"\d{8}\.png")
PARTIAL_SUFFIX = ".seemup-partial"


def partial_dir_for(output: Path) -> Path:
    return output.parent / f".{output.name}{PARTIAL_SUFFIX}"


class JobLock:
    """An exclusive ``flock`` on ``<partial folder>/lock`` for the whole run, so two runs never write one output.

    The kernel drops the lock when the process ends, crash or ``kill -9`` included, so a stale lock file
    never blocks a later run. The holder's pid is written into the file for the refusal message.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self.dir = partial_dir_for(output)
        self.note: str | None = None  # set when the file system refused the lock
        self._fd: int | None = None

    def acquire(self) -> JobLock:
        """Take the lock (creating the partial folder) or raise :class:`UserError` naming the holder's pid."""
        for _ in range(50):
            _make_partial_dir(self.dir, self.output)
            path = self.dir / LOCK_NAME
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # the folder went away between the two calls (a run finishing)
                continue
            except OSError as exc:
                raise UserError(f"cannot create {path}: {exc.strerror}") from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                    os.close(fd)
                    raise UserError(f"{self.output} is being written by another seemup process (pid {pid})") from None
                except OSError as exc:  # a file system without locks (some network mounts): run, and say so
                    self.note = f"{self.dir} could not be locked against other runs ({exc.strerror})"
            if _same_file(fd, path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
                self._fd = fd
                return self
            os.close(fd)  # locked a lock file that a finishing run had just removed: take the new one
        raise RuntimeError(f"could not lock {self.dir}")

    def release(self) -> None:
        """Let go of the lock; remove the lock file, and the folder when nothing else is in it."""
        if self._fd is None:
            return
        try:
            (self.dir / LOCK_NAME).unlink(missing_ok=True)  # before unlocking: no one locks a file then deleted
            self.dir.rmdir()
        except OSError:
            pass  # an interrupted run's state (or someone else's file) is still there
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JobLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _make_partial_dir(d: Path, output: Path) -> None:
    """Create the partial folder; a file in its place or an unwritable output folder is a user error."""
    if d.exists() and not d.is_dir():
        raise UserError(f"{d} is not a folder: seemup keeps the unfinished {output.name} under that name; "
                        "move the file away")
    try:
        d.mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write in the output folder {output.parent}: {exc.strerror}") from None


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def remove_own_files(d: Path) -> list[str]:
    """Delete what seemup writes in the partial folder ``d`` (not the lock file); returns the other names."""
    foreign: list[str] = []
    if not d.is_dir():
        return foreign
    for p in d.iterdir():
        if p.name == "frames" and p.is_dir() and not p.is_symlink():
            foreign += [f"frames/{n}" for n in _remove_own_frames(p)]
        elif p.name != LOCK_NAME and _OWN_NAME.fullmatch(p.name) and (p.is_file() or p.is_symlink()):
            p.unlink(missing_ok=True)
        elif p.name != LOCK_NAME:
            foreign.append(p.name)
    return sorted(foreign)


def _remove_own_frames(frames: Path) -> list[str]:
    foreign = []
    for p in frames.iterdir():
        if _OWN_FRAME.fullmatch(p.name) and p.is_file():
            p.unlink(missing_ok=True)
        else:
            foreign.append(p.name)
    if not foreign:
        frames.rmdir()
    return foreign


def finished_in(d: Path, num_chunks: int) -> set[int]:
    """The chunks of a plan of ``num_chunks`` that have their ``done_`` file in the partial folder ``d``."""
    try:
        names = [p.name for p in d.iterdir()]
    except OSError:
        return set()
    found = (_DONE.fullmatch(n) for n in names)
    return {int(m.group(1)) for m in found if m is not None and int(m.group(1)) < num_chunks}


@dataclass
class JobState:
    """``fingerprint``: everything that decides the output's pixels (the chunk plan included). ``owner``:
    this process keeps the folder (writes state.json, deletes files): the only process of a plain run, rank 0
    of a torchrun job."""

    dir: Path
    fingerprint: dict[str, Any]
    num_chunks: int
    owner: bool = True

    @property
    def finished(self) -> set[int]:
        """The chunks finished so far, by any rank (read from the folder each time)."""
        return finished_in(self.dir, self.num_chunks)

    @property
    def done(self) -> int:
        """How many chunks are finished."""
        return len(self.finished)

    def done_file(self, index: int) -> Path:
        return self.dir / f"done_{index:05d}"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def frames_dir(self) -> Path:
        return self.dir / "frames"

    def segment(self, index: int, suffix: str) -> Path:
        return self.dir / f"seg_{index:05d}{suffix}"

    def joined(self, suffix: str) -> Path:
        """Where the segments are joined before the result is renamed onto the output."""
        return self.dir / f"joined{suffix}"

    def save(self) -> None:
        """Write state.json atomically (a crash mid-write must not lose the record of finished chunks)."""
        data = {"version": STATE_VERSION, "fingerprint": self.fingerprint, "num_chunks": self.num_chunks,
                "done": self.done}
        atomic_write_text(self.state_file, json.dumps(data, indent=1, sort_keys=True))

    def mark_done(self, index: int) -> None:
        """Record chunk ``index`` as finished (its frames are on disk): one new empty file, no lock needed."""
        if not 0 <= index < self.num_chunks:
            raise RuntimeError(f"chunk {index} is not in the plan of {self.num_chunks}")
        os.close(os.open(self.done_file(index), os.O_WRONLY | os.O_CREAT, 0o644))
        if self.owner:
            self.save()

    def discard(self) -> list[str]:
        """Delete the files seemup wrote here; returns the names of any others, which are left in place. Only
        the owner deletes: another rank's end must not take the finished chunks of the job with it."""
        return remove_own_files(self.dir) if self.owner else []


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys if old.get(k) != new.get(k)]


def read_state(output: Path) -> dict[str, Any] | None:
    """The saved state of an interrupted run of ``output``; None if there is none or it cannot be read."""
    try:
        saved = json.loads((partial_dir_for(output) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def finished_count(output: Path) -> int:
    """How many chunks an interrupted run of ``output`` finished (0 when there is none)."""
    saved = read_state(output)
    if saved is None:
        return 0
    if saved.get("version") == 1:
        done = saved.get("done")
        return done if isinstance(done, int) and done > 0 else 0
    num_chunks = saved.get("num_chunks")
    return len(finished_in(partial_dir_for(output), num_chunks)) if isinstance(num_chunks, int) else 0


def saved_chunk(output: Path) -> int | None:
    """The chunk length an interrupted run of ``output`` used (chosen from free memory if not given), so
    ``--resume`` without ``--chunk`` continues the same plan whatever memory is free now."""
    fingerprint = (read_state(output) or {}).get("fingerprint")
    chunk = fingerprint.get("chunk") if isinstance(fingerprint, dict) else None
    return chunk if isinstance(chunk, int) and chunk > 0 else None


def open_job(output: Path, fingerprint: dict[str, Any], num_chunks: int, *, resume: bool, force: bool) -> JobState:
    """Start a job's state, or pick up an interrupted one (``resume``) if it was made with the same settings.

    Called with the :class:`JobLock` held. An interrupted job is never thrown away silently: without
    ``resume`` it takes ``force`` to start over.
    """
    d = partial_dir_for(output)
    fingerprint = json.loads(json.dumps(fingerprint))  # normalise (tuples -> lists) to compare with saved JSON
    saved = read_state(output)
    if saved is not None and resume:
        if saved.get("version") not in (1, STATE_VERSION) or saved.get("num_chunks") != num_chunks or \
                saved.get("fingerprint") != fingerprint:
            diff = _differences(saved.get("fingerprint") or {}, fingerprint) or ["chunk plan"]
            raise UserError(f"cannot resume {output}: the interrupted run used other settings "
                            f"({'; '.join(diff[:3])}); run without --resume and with --force to start over")
        state = JobState(d, fingerprint, num_chunks)
        if saved.get("version") == 1:  # its chunks were finished in order: 0 .. done-1
            for index in range(min(finished_count(output), num_chunks)):
                state.mark_done(index)
        return state
    if saved is not None and not force:
        raise UserError(f"an interrupted run of {output} exists ({finished_count(output)}/"
                        f"{saved.get('num_chunks', '?')} chunks done): add --resume to continue it, "
                        "or --force to start over")
    foreign = [n for n in remove_own_files(d) if n.startswith("frames/")]
    if foreign:
        raise UserError(f"{d / 'frames'} holds files seemup did not write ({', '.join(foreign[:3])}); "
                        "move them away")
    d.mkdir(exist_ok=True)
    state = JobState(d, fingerprint, num_chunks)
    state.save()
    return state
