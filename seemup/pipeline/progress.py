"""Progress display for long jobs: a rich bar with frames done/total, frames per second and ETA."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressSink(Protocol):
    def start(self, total: int, completed: int = 0) -> None: ...
    def advance(self, frames: int) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    """For ``--quiet`` and library use."""

    def start(self, total: int, completed: int = 0) -> None:
        pass

    def advance(self, frames: int) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """A bar on stderr; the rate counts only frames computed in this run (not those resumed from disk)."""

    def __init__(self, description: str = "upscale", console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False,
        )
        self._task = None

    def start(self, total: int, completed: int = 0) -> None:
        self._progress.start()
        self._task = self._progress.add_task("upscale", total=total, completed=completed, rate="")

    def advance(self, frames: int) -> None:
        if self._task is None:
            return
        self._progress.advance(self._task, frames)
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, rate=f"{speed:.2f} fps" if speed else "")

    def close(self) -> None:
        self._progress.stop()

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
