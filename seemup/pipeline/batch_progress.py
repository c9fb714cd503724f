"""The display for many files: one bar per file (frames, speed, ETA) under one bar for the whole run (files)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BatchProgress:
    """A rich display on stderr shared by the files of one run; :meth:`for_file` gives each its own bar."""

    def __init__(self, files: int, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False,
        )
        self._overall: TaskID | None = None
        self._files = files
        self._live = False

    @property
    def progress(self) -> Progress:
        return self._progress

    def go_live(self) -> None:
        if not self._live:
            self._progress.start()
            self._overall = self._progress.add_task("all files", total=self._files, unit="files", rate="")
            self._live = True

    def for_file(self, name: str) -> FileBar:
        """The progress sink of one file (what ``upscale_video`` drives)."""
        self.go_live()
        return FileBar(self, name)

    def file_done(self) -> None:
        self.go_live()
        assert self._overall is not None
        self._progress.advance(self._overall, 1)

    def close(self) -> None:
        if self._live:
            self._progress.stop()
            self._live = False


class FileBar:
    """One file's bar on the shared display; closing it leaves the bar (and the display) in place."""

    def __init__(self, owner: BatchProgress, name: str) -> None:
        self._owner = owner
        self._progress = owner.progress
        self._name = escape(name)
        self._task: TaskID | None = None
        self._check: TaskID | None = None

    def checking(self, done: int, total: int) -> None:
        """The input's decode pass (a terminal only shows it, as for one file)."""
        if not self._progress.console.is_terminal:
            return
        if self._check is None:
            self._check = self._progress.add_task(f"checking {self._name}", total=total, unit="frames", rate="")
        self._progress.update(self._check, completed=done)

    def start(self, total: int, completed: int = 0) -> None:
        self._drop_check()
        self._task = self._progress.add_task(self._name, total=total, completed=completed, unit="frames", rate="")

    def advance(self, frames: int) -> None:
        if self._task is None:
            return
        self._progress.advance(self._task, frames)
        speed = next((t.speed for t in self._progress.tasks if t.id == self._task), None)
        self._progress.update(self._task, rate=f"{speed:.2f} fps" if speed else "")

    def close(self) -> None:
        self._drop_check()

    def _drop_check(self) -> None:
        if self._check is not None:
            self._progress.remove_task(self._check)
            self._check = None
