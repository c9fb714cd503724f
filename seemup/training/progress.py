"""What a run reports while it trains: a rich progress line (loss, PSNR, it/s, ETA) and ``train_log.csv``."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from seemup.data.train_files import atomic_write_bytes

LOG_FIELDS = ["iteration", "loss", "lr", "val_psnr", "it_per_s", "elapsed_s"]


class TrainLog:
    """Append-only CSV log; on resume, rows past the resumed iteration (from the lost part) are dropped."""

    def __init__(self, path: Path, start_iteration: int) -> None:
        self.path = path
        rows: list[dict[str, str]] = []
        if path.is_file() and start_iteration > 0:
            with path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("iteration", "").isdigit()
                        and int(r["iteration"]) <= start_iteration]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(path, buf.getvalue().encode())
        self._fh = path.open("a", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=LOG_FIELDS, extrasaction="ignore")

    def write(self, **row: float | int | str | None) -> None:
        self._writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class TrainProgress:
    """Progress bar for iterations; silent when ``quiet`` (or on non-main ranks)."""

    def __init__(self, total: int, start: int, quiet: bool, console: Console | None = None) -> None:
        self.quiet = quiet
        self.start_time = time.monotonic()
        self.start = start
        self._progress = None
        if not quiet:
            self._progress = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("val {task.fields[psnr]}"),
                TextColumn("{task.fields[rate]} it/s"), TextColumn("ETA"), TimeRemainingColumn(),
                console=console or Console(stderr=True), transient=False,
            )
            self._task = self._progress.add_task("train", total=total, completed=start, loss="-", psnr="-",
                                                 rate="-")

    def __enter__(self) -> TrainProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rate(self, iteration: int) -> float:
        elapsed = time.monotonic() - self.start_time
        return (iteration - self.start) / elapsed if elapsed > 0 else 0.0

    def update(self, iteration: int, loss: float | None = None, psnr: float | None = None) -> None:
        if self._progress is None:
            return
        fields = {"rate": f"{self.rate(iteration):.2f}"}
        if loss is not None:
            fields["loss"] = f"{loss:.5f}"
        if psnr is not None:
            fields["psnr"] = f"{psnr:.2f} dB"
        self._progress.update(self._task, completed=iteration, **fields)

    def print(self, message: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(message, highlight=False, markup=False)
