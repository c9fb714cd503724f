"""One frame through bicubic and each model, into the comparison picture, written atomically as a PNG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seemup.errors import UserError
from seemup.evaluation import super_resolve
from seemup.metrics import psnr
from seemup.userpaths import check_output_file
from seemup.video.atomic import check_target, commit, remove_path, temp_path_for

from .inputs import SCALE, Window
from .layout import Box, Panel, compose, panel_label

if TYPE_CHECKING:
    from seemup.evaluation import LoadedModel

MaskFn = Callable[[list[np.ndarray]], np.ndarray]
GT_LABEL = "ground truth"
PSNR_SPACE = "y"  # seemup bench's space for the user's own clips


@dataclass(frozen=True)
class Shown:
    """What one panel shows: the label of the model (or the ground truth) and its PSNR when GT is known."""

    label: str
    psnr: float | None


def context_needed(runs: Sequence[LoadedModel], context: int) -> int:
    """Frames to read on each side: ``context``, widened so that a window model sees exactly what a whole-file
    run shows it (its padding at a clip end reaches up to num_frame - 1 frames away)."""
    reach = [r.num_frame - 1 for r in runs if r.kind == "window" and r.num_frame]
    return max([context, *reach])


def check_enough_frames(runs: Sequence[LoadedModel], window: Window) -> None:
    """BasicVSR-family models align each frame with its neighbours: one frame is not enough for them."""
    from seemup.models.basicvsr import BasicVSR

    needy = next((r for r in runs if isinstance(r.model, BasicVSR)), None)
    if needy is not None and len(window.frames) < 2:
        raise UserError(f"the input has 1 frame, but {needy.label} needs at least 2 (it aligns each frame "
                        "with its neighbours)")


def render(runs: Sequence[LoadedModel], window: Window, crop: Box, *, gt: np.ndarray | None = None,
           masks: MaskFn | None = None, title: str | None = None, panel_width: int | None = None,
           on_model: Callable[[str], None] | None = None) -> tuple[np.ndarray, list[Shown]]:
    """The picture (``crop`` in input pixels) and what each panel shows; each model runs on its own device
    and precision (as built)."""
    check_enough_frames(runs, window)
    frame_masks = masks(list(window.frames)) if masks is not None and any(r.uses_masks for r in runs) else None
    panels, shown = [], []
    for run in runs:
        if on_model is not None:
            on_model(run.label)
        sr, _ = super_resolve(run, window.frames, [window.target],
                              masks=frame_masks if run.uses_masks else None)
        score = psnr(sr[0], gt, 0, PSNR_SPACE) if gt is not None else None
        panels.append(Panel(sr[0], panel_label(run.label, score, PSNR_SPACE)))
        shown.append(Shown(run.label, score))
    if gt is not None:
        panels.append(Panel(gt, GT_LABEL))
        shown.append(Shown(GT_LABEL, None))
    return compose(panels, crop.scaled(SCALE), title, panel_width), shown


def check_png_target(target: Path, force: bool, what: str = "-o") -> None:
    """Before any work: the output is a .png that can be written, and not an existing file unless ``force``."""
    target = Path(target)
    if target.suffix.lower() != ".png":
        raise UserError(f"{what} {target}: the picture is written as PNG; give a name ending in .png", exit_code=2)
    check_output_file(target, what)
    check_target(target.expanduser(), force)


def save_png(image: np.ndarray, target: Path, force: bool) -> Path:
    """Write ``image`` to ``target`` through a hidden temporary beside it, so no half-written PNG is left."""
    from PIL import Image

    target = Path(target).expanduser()
    check_target(target, force)
    temp = temp_path_for(target)
    try:
        Image.fromarray(image).save(temp, format="PNG", optimize=True)
        commit(temp, target, force)
    finally:
        remove_path(temp)
    return target
