"""`seemup compare INPUT -m MODEL ... -o compare.png`: one frame from bicubic and each model, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from seemup.compare import Box

from seemup.userpaths import check_mask_cache

from .app import app, plain

CONTEXT = 15

_HELP = {
    "input": "Video file or folder of png/jpg frames (the low-resolution input).",
    "output": "The picture to write (.png; written atomically).",
    "model": "Model to compare with bicubic; repeat for several (default: basicvsr).",
    "weights": "Weights per --model, in order (a file, a weight-set name, or 'default').",
    "frame": "Frame to show, counted from 0 (default: the middle frame).",
    "crop": "Region to magnify, X,Y,W,H in input pixels (default: the centre quarter of the width and height). "
            "It is outlined on every panel and shown below it, enlarged by the largest whole factor that fits "
            "(pixels repeated, not smoothed).",
    "gt": "Ground truth, 4x the input's size: an image of the frame, or a video or frame folder (its frame "
          "--frame is used). Adds a ground-truth panel and each panel's Y-PSNR against it.",
    "context": "Frames read on each side of --frame (fewer at the clip's ends). Recurrent "
               "models (basicvsr, basicvsr-lite) run on them, so the frame looks as in a whole-file upscale as "
               "far as that context carries; window models (edvr) see exactly their own frames. Models run in "
               "fp32 on whole frames; lower it for large inputs.",
    "panel_width": "Width in pixels at which each panel shows the whole frame (default: the output's width, at "
                   "most 960). Wider frames are shrunk with an area filter for display only; the magnified crop "
                   "always shows the full-resolution output.",
    "device": "auto, cpu, cuda or cuda:N.",
    "force": "Overwrite an existing output file.",
    "quiet": "No notes or progress lines; only the summary.",
    "mask_source": "Masks for SEEM models: auto (SAM if a checkpoint is found, else classical), sam, classical.",
    "sam_checkpoint": "SAM checkpoint (.pth) for the masks.",
    "cache_dir": "Mask cache folder (default: $SEEMUP_CACHE_DIR, else ~/.cache/seemup/masks).",
}


@app.command()
def compare(
    input: Path = typer.Argument(..., help=_HELP["input"]),
    output: Path = typer.Option(..., "--output", "-o", help=_HELP["output"]),
    model: list[str] = typer.Option(None, "--model", "-m", help=_HELP["model"]),
    weights: list[str] = typer.Option(None, "--weights", "-w", help=_HELP["weights"]),
    frame: int | None = typer.Option(None, "--frame", help=_HELP["frame"]),
    crop: str | None = typer.Option(None, "--crop", help=_HELP["crop"]),
    gt: Path | None = typer.Option(None, "--gt", help=_HELP["gt"]),
    context: int = typer.Option(CONTEXT, "--context", min=0, help=_HELP["context"]),
    panel_width: int | None = typer.Option(None, "--panel-width", min=16, help=_HELP["panel_width"]),
    device: str = typer.Option("auto", "--device", help=_HELP["device"]),
    force: bool = typer.Option(False, "--force", "-f", help=_HELP["force"]),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_HELP["quiet"]),
    mask_source: str = typer.Option("auto", "--mask-source", help=_HELP["mask_source"]),
    sam_checkpoint: Path | None = typer.Option(None, "--sam-checkpoint", help=_HELP["sam_checkpoint"]),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help=_HELP["cache_dir"]),
) -> None:
    """Picture of one frame from bicubic and each model side by side, labelled, with a magnified crop."""
    from seemup import compare as cmp
    from seemup.evaluation import build_mask_fn, build_runs, needs_masks
    from seemup.runtime.device import resolve_device

    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def note(msg: str) -> None:
        if not quiet:
            err.print(plain(msg))

    models = list(model or ["basicvsr"])
    cmp.check_png_target(output, force)
    box = cmp.parse_crop(crop) if crop is not None else None
    info = cmp.probe_input(input)
    index = cmp.check_frame(frame, info)
    width, height = info.display_size
    box = box or cmp.default_crop(width, height, panel_width)
    cmp.check_crop(box, width, height, panel_width)
    truth = cmp.read_gt(gt, index, width, height) if gt is not None else None
    dev = resolve_device(device)
    masks_fn, mask_id = None, None
    if needs_masks(models):
        check_mask_cache(cache_dir)
        masks_fn, mask_id = build_mask_fn(mask_source, dev, quiet, sam_checkpoint, cache_dir)
    runs = build_runs(models, weights, dev, mask_id)
    if all(r.name != "bicubic" for r in runs):
        runs = [*build_runs(["bicubic"], None, dev), *runs]
    for r in runs:
        for n in r.notes:
            note(f"note: {r.label}: {n}")
    window = cmp.read_window(info, index, cmp.context_needed(runs, context))
    note(f"frame {index} of {info.num_frames}, with frames {window.first}..{window.first + len(window.frames) - 1} "
         "as context")
    picture, shown = cmp.render(runs, window, box, gt=truth, masks=masks_fn, panel_width=panel_width,
                                title=_title(input, index, box, width * 4, height * 4, panel_width),
                                on_model=lambda label: note(f"running {label}"))
    written = cmp.save_png(picture, output, force)
    for s in shown:
        print(f"  {s.label:<28} {'' if s.psnr is None else f'Y-PSNR {s.psnr:.2f} dB'}".rstrip())
    print(f"wrote {written} ({picture.shape[1]}x{picture.shape[0]}, {len(shown)} panels)")


def _title(input: Path, index: int, box: Box, out_w: int, out_h: int, panel_width: int | None) -> str:
    """What the picture shows, in one line: the file, the frame, the crop, and how much frames are shrunk."""
    from seemup.compare import display_size

    shown_w, _ = display_size(out_w, out_h, panel_width)
    shrunk = f", frames shown at {100 * shown_w / out_w:.0f}%" if shown_w < out_w else ""
    return f"{Path(input).name}: frame {index}, x4, crop {box.text()} (input pixels){shrunk}"
