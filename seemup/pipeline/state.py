"""Resumable progress of one upscale job, kept beside the output until the output is complete.

``.<output name>.seemup-partial/`` holds ``state.json`` (what is being made and how many chunks are done)
and the finished chunks: encoded segments ``seg_00000.mp4`` ... or, for PNG output, ``frames/``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemup.errors import UserError

STATE_VERSION = 1


def partial_dir_for(output: Path) -> Path:
    return output.parent / f".{output.name}.seemup-partial"


@dataclass
class JobState:
    """``fingerprint``: everything that decides the output's pixels; ``done``: chunks finished, in order."""

    dir: Path
    fingerprint: dict[str, Any]
    num_chunks: int
    done: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def frames_dir(self) -> Path:
        return self.dir / "frames"

    def segment(self, index: int, suffix: str) -> Path:
        return self.dir / f"seg_{index:05d}{suffix}"

    def save(self) -> None:
        """Write state.json atomically (a crash mid-write must not lose the record of finished chunks)."""
        data = {"version": STATE_VERSION, "fingerprint": self.fingerprint, "num_chunks": self.num_chunks,
                "done": self.done, **self.extra}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def mark_done(self, index: int) -> None:
        if index != self.done:
            raise RuntimeError(f"chunk {index} finished out of order (expected {self.done})")
        self.done = index + 1
        self.save()

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys if old.get(k) != new.get(k)]


def open_job(output: Path, fingerprint: dict[str, Any], num_chunks: int, *, resume: bool, force: bool) -> JobState:
    """Start a job's state, or pick up an interrupted one (``resume``) if it was made with the same settings.

    An interrupted job is never thrown away silently: without ``resume`` it takes ``force`` to start over.
    """
    d = partial_dir_for(output)
    fingerprint = json.loads(json.dumps(fingerprint))  # normalise (tuples -> lists) to compare with saved JSON
    if d.exists():
        try:
            saved = json.loads((d / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None
        if saved is not None and resume:
            if saved.get("version") != STATE_VERSION or saved.get("num_chunks") != num_chunks or \
                    saved.get("fingerprint") != fingerprint:
                diff = _differences(saved.get("fingerprint", {}), fingerprint) or ["chunk plan"]
                raise UserError(f"cannot resume {output}: the interrupted run used other settings "
                                f"({'; '.join(diff[:3])}); run without --resume and with --force to start over")
            return JobState(d, fingerprint, num_chunks, int(saved.get("done", 0)))
        if saved is not None and not force:
            raise UserError(f"an interrupted run of {output} exists ({saved.get('done', 0)}/"
                            f"{saved.get('num_chunks', '?')} chunks done): add --resume to continue it, "
                            "or --force to start over")
        shutil.rmtree(d)
    d.mkdir()
    state = JobState(d, fingerprint, num_chunks)
    state.save()
    return state
