"""`seemup bench`: PSNR/SSIM of models on Vid4 / REDS4 / Vimeo-90K-T or your own clips, the papers' way."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from seemup.errors import UserError
from seemup.userpaths import check_mask_cache, check_output_file, check_writable_dir

from .app import app, plain

if TYPE_CHECKING:
    from seemup.compare import MiddleFrames
    from seemup.data.eval_datasets import EvalDataset


class _FrameRate(ProgressColumn):
    """Scored frames per second (per model pass)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("? fr/s" if speed is None else f"{speed:.2f} fr/s", style="progress.data.speed")


@app.command()
def bench(
    dataset: str = typer.Option(..., "--dataset", "-d", help="vid4, reds4, vimeo90k-t (under --data-root), or a "
                                "folder (Vid4 layout GT/<clip>/, or <clip>/ frame folders) or a video file."),
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name; repeat to compare several."),
    weights: list[str] = typer.Option(None, "--weights", "-w", help="Weights per --model, in order (a file, a "
                                      "weight-set name, or 'default')."),
    baseline: str = typer.Option("bicubic", "--baseline", help="Model the delta column is against ('none': no delta)."),
    space: str = typer.Option(None, "--space", help="y or rgb (default: what the papers report for the set: "
                              "Vid4 y, REDS4 and Vimeo-90K-T rgb, your own data y)."),
    crop_border: int = typer.Option(0, "--crop-border", min=0, help="Pixels left out on each side (papers: 0)."),
    json_path: Path = typer.Option(None, "--json", help="Also write the scores as JSON to this file."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    data_root: Path = typer.Option(None, "--data-root", help="Folder holding Vid4/, REDS/, vimeo90k/ "
                                   "(default $SEEMUP_DATA_ROOT, else ./datasets)."),
    max_frames: int = typer.Option(None, "--max-frames", min=1, help="Only the first N frames per clip (N "
                                   "septuplets for Vimeo-90K-T): a quick look, not comparable to the papers."),
    mask_source: str = typer.Option("auto", "--mask-source", help="SEEM masks: auto (SAM if a checkpoint is "
                                    "found, else classical), sam or classical."),
    sam_checkpoint: Path = typer.Option(None, "--sam-checkpoint", help="SAM checkpoint (.pth) for the masks."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Mask cache folder (default: $SEEMUP_CACHE_DIR, "
                                   "else ~/.cache/seemup/masks)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (the protocol); bf16 or fp16 autocast, "
                                  "int8 residual blocks (CPU, calibrated weights), or auto (bf16/fp16), to measure "
                                  "what `seemup upscale`'s low precision costs."),
    save_images: Path = typer.Option(None, "--save-images", help="Also write, into this folder, one picture per "
                                     "clip (<clip>.png): its middle frame from each model side by side with the "
                                     "ground truth, each labelled with its PSNR, with a magnified centre crop."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or notes; the tables only."),
    fps_factor: int = typer.Option(1, "--fps-factor", min=1, help="2: the space-time protocol of Zooming Slow-Mo, "
                                   "TMNet and RSTT (every second frame in, RIFE then the model, or a space-time "
                                   "model such as safa; every frame scored, known and new frames also apart)."),
) -> None:
    """Measure PSNR/SSIM per clip and on average, with speed and memory, as in the papers' tables."""
    from seemup.data.eval_datasets import resolve_eval_dataset, scored_frame_count
    from seemup.evaluation import build_mask_fn, build_run, build_runs, needs_masks, run_bench, tables, write_json
    from seemup.evaluation.checks import check_first_clip_crop, check_frames
    from seemup.metrics import SPACES
    from seemup.runtime import ranks
    from seemup.runtime.device import resolve_device, resolve_precision

    here = ranks.join()  # under torchrun each rank scores a block of the clips; rank 0 prints and writes
    quiet = quiet or not here.is_main
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)

    def note(msg: str) -> None:
        if not quiet:
            err.print(f"[yellow]note:[/] {plain(msg)}")

    if space is not None and space.lower() not in SPACES:
        raise UserError(f"--space must be one of {', '.join(SPACES)}, got {space!r}", exit_code=2)
    if json_path is not None:
        check_output_file(json_path, "--json")
    if save_images is not None:
        check_writable_dir(save_images, "--save-images")
    dev = resolve_device(ranks.rank_device(device, here))
    precision = resolve_precision(dev, precision)
    ds = resolve_eval_dataset(dataset, data_root)
    check_first_clip_crop(ds, crop_border, max_frames)
    spacetime, run = fps_factor != 1, run_bench
    if spacetime:  # the space-time protocol: its own checks, models (SAFA too) and runner
        from seemup.evaluation.spacetime_run import run_spacetime_bench
        from seemup.evaluation.spacetime_setup import check_spacetime

        check_spacetime(ds, fps_factor, max_frames)
        run = run_spacetime_bench
    for w in ds.warnings:
        note(w)
    if max_frames is not None:
        note(f"--max-frames {max_frames}: partial evaluation, not comparable with published numbers")
    base_name = None if baseline.lower() == "none" else baseline
    masks_fn, mask_id = None, None
    if needs_masks([*model, *([base_name] if base_name else [])]):
        check_mask_cache(cache_dir)
        masks_fn, mask_id = build_mask_fn(mask_source, dev, quiet, sam_checkpoint, cache_dir)
    runs = build_runs(model, weights, dev, mask_id, precision, spacetime)
    base = None
    if base_name is not None:
        base = (next((r for r in runs if r.label == base_name), None)
                or build_run(base_name, None, dev, mask_id, precision, spacetime))
    separate_base = base is not None and all((r.name, r.weights) != (base.name, base.weights) for r in runs)
    check_frames(ds, [*runs, *([base] if base is not None else [])], max_frames)
    for r in [*runs, *([base] if separate_base else [])]:
        for n in r.notes:
            note(f"{r.label}: {n}")

    extra = 1 if separate_base else 0
    total = scored_frame_count(ds, max_frames) * (len(runs) + extra)
    progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), _FrameRate(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=quiet, transient=True)
    pictures = _middle_frames(ds, space, crop_border, max_frames) if save_images is not None else None
    with progress:
        task = progress.add_task(f"bench {ds.name}", total=total)
        report = run(ds, runs, device=dev, space=space.lower() if space else None, crop_border=crop_border,
                     baseline=base, masks=masks_fn, mask_source=mask_id, max_frames=max_frames,
                     progress=lambda n, desc: progress.update(task, advance=n, description=desc),
                     precision=precision, on_output=pictures)
    if here.is_main:
        for table in tables(report):
            out.print(table)
        if json_path is not None:
            written = write_json(report, json_path)
            if not quiet:
                err.print(f"wrote {written}", markup=False, soft_wrap=True)
    if pictures is not None:
        _write_pictures(pictures, save_images, quiet, err)


def _write_pictures(pictures: MiddleFrames, folder: Path, quiet: bool, err: Console) -> None:
    """Each rank writes the pictures of the clips it scored (all of them in a plain run)."""
    from seemup.compare import write_bench_images
    from seemup.runtime import ranks

    written = sum(ranks.everyone(len(write_bench_images(pictures, folder)), ranks.current()))
    if not quiet:
        err.print(f"wrote {written} picture(s) to {folder}", markup=False, soft_wrap=True)


def _middle_frames(ds: EvalDataset, space: str | None, crop_border: int, max_frames: int | None) -> MiddleFrames:
    """The --save-images collector: it keeps each clip's middle frame as bench runs (scored in bench's space)."""
    from seemup.compare import MiddleFrames
    from seemup.data.eval_datasets import iter_sequences

    return MiddleFrames(iter_sequences(ds, max_frames), space.lower() if space else ds.default_space, crop_border)
