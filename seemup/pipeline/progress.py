"""Progress display for long jobs: a rich bar with frames done/total, frames per second and ETA."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressSink(Protocol):
    def checking(self, done: int, total: int) -> None: ...
    def start(self, total: int, completed: int = 0) -> None: ...
    def advance(self, frames: int) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    """For ``--quiet`` and library use."""

    def checking(self, done: int, total: int) -> None:
        pass

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
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False,
        )
        self._description = description
        self._task = None
        self._check_task = None
        self._live = False

    def checking(self, done: int, total: int) -> None:
        """The input's frame count being verified by a decode pass (minutes for a feature-length video).

        Shown on a terminal only: elsewhere rich renders just the final state, which for this stage is nothing.
        """
        if not self._progress.console.is_terminal:
            return
        if self._check_task is None:
            self._go_live()
            self._check_task = self._progress.add_task("checking", total=total, rate="")
        self._progress.update(self._check_task, completed=done)
        speed = self._speed(self._check_task)
        self._progress.update(self._check_task, rate=f"{speed:.0f} fps" if speed else "")

    def start(self, total: int, completed: int = 0) -> None:
        self._drop_check_task()
        self._go_live()
        self._task = self._progress.add_task(escape(self._description), total=total, completed=completed, rate="")

    def advance(self, frames: int) -> None:
        if self._task is None:
            return
        self._progress.advance(self._task, frames)
        speed = self._speed(self._task)
        self._progress.update(self._task, rate=f"{speed:.2f} fps" if speed else "")

    def _speed(self, task_id: int) -> float | None:
        return next((t.speed for t in self._progress.tasks if t.id == task_id), None)

    def _drop_check_task(self) -> None:
        """The checking stage ends when the run starts or the display stops."""
        if self._check_task is not None:
            self._progress.remove_task(self._check_task)
            self._check_task = None

    def _go_live(self) -> None:
        if not self._live:
            self._progress.start()
            self._live = True

    def close(self) -> None:
        if not self._live:  # rich prints a blank line when a display that never started is stopped
            return
        self._drop_check_task()  # stopped before the run began (bad input): no bar is left behind
        self._progress.stop()
        self._live = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
