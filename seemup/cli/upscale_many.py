"""`seemup upscale IN... --out-dir DIR`: many files in one run, one model load, a table at the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .app import plain

if TYPE_CHECKING:
    from rich.console import Console

    from seemup.pipeline import ProgressSink, UpscaleOptions
    from seemup.pipeline.batch import FileOutcome


def upscale_many(inputs: list[Path], out_dir: Path, options: UpscaleOptions, err: Console,
                 checked: Callable[[ProgressSink], ProgressSink], stopped: Callable[[], bool],
                 notice: Callable[[str], None] | None, reports: bool = True) -> None:
    """Each input into ``out_dir``: bars on stderr (unless ``notice`` is None: quiet), a failing file's
    ``error:`` line as it fails, each summary and then the table on stdout; exit status 1 if any file failed.
    Under torchrun every rank works on every file and only rank 0 ``reports`` (the others say only errors)."""
    from seemup.pipeline import NullProgress
    from seemup.pipeline.batch import plan_batch, run_batch, summary_table
    from seemup.pipeline.batch_progress import BatchProgress

    items = plan_batch(inputs, out_dir)
    bars = BatchProgress(len(items), console=err) if notice is not None else None

    def report(outcome: FileOutcome) -> None:
        if bars is not None:
            bars.file_done()
        if outcome.status == "failed":
            err.print(f"[bold red]error:[/] {plain(outcome.item.src)}: {plain(outcome.message)}")
        elif outcome.status == "done" and reports:
            print(outcome.message, flush=True)
        elif notice is not None:
            notice(f"{outcome.item.src}: skipped, {outcome.message}")

    try:
        outcomes = run_batch(items, options, progress=lambda item: checked(
            bars.for_file(item.src.name) if bars is not None else NullProgress()), log=notice, report=report,
            stopped=stopped)
    finally:
        if bars is not None:
            bars.close()
    if reports:
        print(summary_table(outcomes))
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)
