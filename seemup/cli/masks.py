"""`seemup masks`: fill the mask cache for a video, a frame folder or a dataset tree ahead of time."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from seemup.userpaths import check_mask_cache

from .app import app

_HELP = {
    "input": "Video file, folder of png/jpg frames, or dataset root (searched recursively).",
    "source": "auto (SAM if a checkpoint is found, else classical), sam, or classical.",
    "sam_checkpoint": "SAM checkpoint (.pth, ViT-B/L/H).",
    "cache_dir": "Mask cache folder (default: $SEEMUP_CACHE_DIR, else ~/.cache/seemup/masks).",
    "cache_size": "Cache size cap in GiB (least recently used entries go first).",
    "device": "auto, cpu, cuda or cuda:N.",
    "downscale": "Compute masks of the frames shrunk 1/N (MATLAB bicubic), e.g. 4 for HR training data.",
    "quiet": "No progress bar or notices; only the summary line.",
}


@app.command()
def masks(
    input: Path = typer.Argument(..., help=_HELP["input"]),
    source: str = typer.Option("auto", "--source", help=_HELP["source"]),
    sam_checkpoint: Path | None = typer.Option(None, "--sam-checkpoint", help=_HELP["sam_checkpoint"]),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help=_HELP["cache_dir"]),
    cache_size_gb: float = typer.Option(2.0, "--cache-size", help=_HELP["cache_size"]),
    device: str = typer.Option("auto", "--device", help=_HELP["device"]),
    downscale: int = typer.Option(1, "--downscale", help=_HELP["downscale"]),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_HELP["quiet"]),
) -> None:
    """Precompute SEEM masks into the on-disk cache (later runs of upscale / train then read them)."""
    from seemup.errors import UserError
    from seemup.masks.precompute import PrecomputeSummary, find_inputs, precompute_masks
    from seemup.runtime import ranks
    from seemup.runtime.device import resolve_device
    from seemup.weights.load import open_masks

    here = ranks.join()  # under torchrun each rank computes a block of the frames; rank 0 reports
    quiet = quiet or not here.is_main

    if cache_size_gb <= 0:
        raise UserError("--cache-size must be positive")
    if downscale < 1:
        raise UserError(f"--downscale must be >= 1, got {downscale}")
    dev = resolve_device(ranks.rank_device(device, here))  # a bad --device fails now, before the inputs are scanned
    check_mask_cache(cache_dir)
    inputs = ranks.from_main(lambda: find_inputs(input), here)  # rank 0 counts the frames for all
    cached = open_masks(source, dev, quiet=quiet, sam_checkpoint=sam_checkpoint, cache_dir=cache_dir,
                        max_bytes=int(cache_size_gb * 1024**3))
    total = sum(item.num_frames for item in inputs)
    part = here.share(total) if here.enabled else None
    err = Console(stderr=True)
    with Progress(
        TextColumn("masks"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=False,
    ) as progress:
        task = progress.add_task("masks", total=total if part is None else len(part), rate="")

        def advance(n: int) -> None:
            progress.advance(task, n)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:.1f} frames/s" if speed else "")

        if not quiet:
            shared = f"; {here.world_size} ranks, {len(part)} frames on this one" if part is not None else ""
            err.print(f"{len(inputs)} input(s), {total} frames, source {cached.id}, cache {cached.cache.dir}{shared}",
                      markup=False, soft_wrap=True)
        summary = precompute_masks(inputs, cached, on_frames=advance, downscale=downscale, part=part)
    summary = PrecomputeSummary.combined(ranks.everyone(summary, here))
    if here.is_main:
        print(summary.line())
