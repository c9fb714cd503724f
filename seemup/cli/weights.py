"""`seemup weights list|download|verify|calibrate`: what weight sets exist, fetch them, check their hashes,
measure their int8 activation ranges."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .app import app, plain

weights_app = typer.Typer(
    help="Pretrained weight sets: list them, download them, verify their sha256, calibrate them for int8.",
    no_args_is_help=True,
)
app.add_typer(weights_app, name="weights")

_STYLE = {"missing": "dim", "present": "yellow", "verified": "green", "verified-prefix": "green",
          "unhashed": "yellow", "mismatch": "bold red"}
_LABEL = {"verified-prefix": "verified (prefix)", "unhashed": "present (no hash known)"}


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _int8(path: Path | None) -> str:
    """" + int8" when the file has a valid int8 calibration beside it (`seemup weights calibrate`)."""
    from seemup.weights.int8_ranges import ranges_path, read_ranges

    if path is None or not ranges_path(path).is_file():
        return ""
    return " + int8" if read_ranges(path)[0] is not None else " (stale int8 calibration)"


def _table(rows) -> Table:
    table = Table(show_lines=False)
    for col in ("name", "model", "source", "size", "status"):
        table.add_column(col, overflow="fold", no_wrap=col in ("size", "status"), ratio=2 if col == "source" else 1,
                         justify="right" if col == "size" else "left")
    for r in rows:
        style = _STYLE.get(r.status, "")
        model = {"full": r.entry.model, "sam": f"sam {r.entry.model}", "component": f"{r.entry.model}.{r.entry.module}",
                 "adapter": f"{r.entry.model} (adapter)"}[r.entry.kind]
        table.add_row(plain(r.entry.name), plain(model), plain(r.source), _size(r.size),
                      f"[{style}]{_LABEL.get(r.status, r.status)}[/]{_int8(r.path)}")
    return table


def _install_hints(rows) -> list[str]:  # noqa: ANN001
    """Where each missing full weight set's file comes from and the exact path to save it under."""
    from seemup.weights import user_weights_dir

    return [f"{r.entry.name}: fetch {r.entry.urls[0]} and save it as {user_weights_dir() / r.entry.file}"
            for r in rows if r.status == "missing" and r.entry.kind == "full" and r.entry.urls]


@weights_app.command("list")
def list_weights(
    verify: bool = typer.Option(False, "--verify", help="Hash every present file now (else: remembered results)."),
) -> None:
    """Every known weight set: where its file is and whether its sha256 was verified."""
    from seemup.weights import list_status, seem_status, verify_all

    rows = verify_all(quiet=False) if verify else list_status()
    out = Console()
    out.print(_table(rows))
    for line in _install_hints(rows):
        out.print(f"[dim]{plain(line)}[/]", soft_wrap=True)  # URL and path unbroken, to copy
    status = seem_status("basicvsr-seem")
    if status:
        out.print(f"[dim]note: {plain(status)}[/]")


@weights_app.command("download")
def download_weights(
    names: list[str] = typer.Argument(..., help="Weight-set names (see `seemup weights list`)."),
    dir: Path | None = typer.Option(None, "--dir", help="Save here instead of the user weights dir."),
    force: bool = typer.Option(False, "--force", help="Download even if a verified copy is there."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download weight sets (progress bar, sha256 check; nothing is left behind on failure)."""
    from seemup.weights import download, load_manifest

    manifest = load_manifest()
    entries = [manifest.get(name) for name in names]  # unknown names fail before any download starts
    for entry in entries:
        path = download(entry, dir, quiet=quiet, force=force)
        typer.echo(f"{entry.name}: {path}")


@weights_app.command("verify")
def verify_weights(
    names: list[str] | None = typer.Argument(None, help="Weight sets to check (default: all present ones)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """sha256-check installed weight files against the manifest; exits 1 if any file does not match."""
    from seemup.errors import UserError
    from seemup.weights import verify_all

    rows = verify_all(names or None, quiet=quiet)
    present = [r for r in rows if r.status != "missing"]
    Console().print(_table(present if not names else rows))
    bad = [r for r in rows if r.status == "mismatch"]
    if bad:
        raise UserError(f"{len(bad)} file(s) do not match the manifest: " + ", ".join(str(r.path) for r in bad)
                        + "; delete them and run `seemup weights download NAME`")


@weights_app.command("calibrate")
def calibrate_weights(
    data: list[Path] = typer.Option(..., "--data", help="Calibration video or frame folder (repeat for more); "
                                    "footage like the training data, not the clips you will score."),
    model: str = typer.Option("basicvsr-lite", "--model", "-m", help="Model whose weights to calibrate."),
    weights: str | None = typer.Option(None, "--weights", "-w", help="Weights file or set (default: the model's)."),
    frames: int = typer.Option(30, "--frames", help="Frames read from the start of each clip."),
    hr_downscale: int = typer.Option(1, "--hr-downscale", help="Area-downscale frames by this into HR first "
                                     "(as training did), then LR = bicubic x1/4."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of where --precision int8 looks "
                                    "(NAME.int8.json beside your own weights; in the user weights folder for "
                                    "shipped ones)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the file written."),
) -> None:
    """Measure the activation ranges `--precision int8` needs for a weights file, and store them where it looks."""
    import shlex

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from seemup.weights.calibrate import calibrate_weights as run

    args = ["--model", model, *(["--weights", weights] if weights else []),
            *(x for d in data for x in ("--data", str(d))), "--frames", str(frames),
            "--hr-downscale", str(hr_downscale)]
    command = shlex.join(["seemup", "weights", "calibrate", *args])
    progress = Progress(TextColumn("calibrating"), BarColumn(), MofNCompleteColumn(), TextColumn("clips"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), disable=quiet,
                        transient=True)
    with progress:
        task = progress.add_task("calibrate", total=len(data))
        written = run(model, weights, data, frames=frames, hr_downscale=hr_downscale, out=out, command=command,
                      on_clip=lambda k: progress.update(task, completed=k))
    typer.echo(str(written))
