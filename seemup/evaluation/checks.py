"""Checks of `seemup bench`'s inputs that would otherwise fail deep inside the run, after minutes of work."""

from __future__ import annotations

from collections.abc import Sequence

import cv2

from seemup.data.eval_datasets import SCALE, EvalDataset, EvalSequence, iter_sequences
from seemup.errors import UserError
from seemup.weights.load import LoadedModel


def needs_two_frames(run: LoadedModel) -> bool:
    """BasicVSR-family models align every frame with its neighbours, so a clip of one frame cannot run."""
    from seemup.models.basicvsr import BasicVSR

    return isinstance(run.model, BasicVSR)


def input_frames(seq: EvalSequence, max_frames: int | None) -> int:
    """How many LR frames the models get for ``seq`` (read from the video's header, not decoded)."""
    if seq.video is not None:
        from seemup.video import probe

        n = probe(seq.video).num_frames
    else:
        n = len(seq.hr_paths)
    return n if max_frames is None or seq.centre_only else min(n, max_frames)


def check_frames(dataset: EvalDataset, runs: Sequence[LoadedModel], max_frames: int | None) -> None:
    """Every clip must have the frames each model needs (recurrent BasicVSR models: at least 2)."""
    needy = next((r for r in runs if needs_two_frames(r)), None)
    if needy is None:
        return
    for seq in iter_sequences(dataset, max_frames):
        n = input_frames(seq, max_frames)
        if n < 2:
            fix = "--max-frames 2 or more" if max_frames is not None and max_frames < 2 else "clips of 2+ frames"
            raise UserError(f"clip {seq.name} has {n} frame(s), but {needy.label} needs at least 2 (it aligns "
                            f"each frame with its neighbours): use {fix}")


def frame_size(seq: EvalSequence) -> tuple[int, int]:
    """(width, height) of ``seq``'s HR frames, from the video header or the first image file."""
    if seq.video is not None:
        from seemup.video import probe

        info = probe(seq.video)
        return info.width, info.height
    img = cv2.imread(str(seq.hr_paths[0]), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UserError(f"{seq.hr_paths[0]} is not a readable image")
    return img.shape[1], img.shape[0]


def check_crop_border(crop_border: int, width: int, height: int, clip: str) -> None:
    """``--crop-border`` must leave pixels to score: twice the border below the frame's shorter side."""
    w, h = width // SCALE * SCALE, height // SCALE * SCALE  # frames are cropped to a multiple of the scale
    if crop_border and 2 * crop_border >= min(w, h):
        raise UserError(f"--crop-border {crop_border} leaves nothing of clip {clip}'s {w}x{h} frames "
                        f"(at most {(min(w, h) - 1) // 2} here)", exit_code=2)


def check_first_clip_crop(dataset: EvalDataset, crop_border: int, max_frames: int | None) -> None:
    """``--crop-border`` against the first clip before any work (the runner checks every clip it loads)."""
    seq = next(iter(iter_sequences(dataset, max_frames)), None)
    if crop_border and seq is not None:
        check_crop_border(crop_border, *frame_size(seq), seq.name)


def check_loaded_clip(seq: EvalSequence, lr_frames: int, hr_shape: Sequence[int], runs: Sequence[LoadedModel],
                      crop_border: int) -> None:
    """The same checks on a clip as loaded, before any model runs on it (a header may not tell the truth)."""
    check_crop_border(crop_border, hr_shape[2], hr_shape[1], seq.name)
    needy = next((r for r in runs if needs_two_frames(r)), None)
    if needy is not None and lr_frames < 2:
        raise UserError(f"clip {seq.name} has {lr_frames} frame(s), but {needy.label} needs at least 2 "
                        "(it aligns each frame with its neighbours)")
