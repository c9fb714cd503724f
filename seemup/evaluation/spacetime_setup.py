"""What `seemup bench --fps-factor` checks before any frame is computed (its models load through
``build.build_runs(..., spacetime=True)``, which lets a space-time model such as SAFA in)."""

from __future__ import annotations

from seemup.data.eval_datasets import EvalDataset, iter_sequences
from seemup.errors import UserError

from .checks import input_frames
from .spacetime import TIME_FACTOR, WINDOW


def check_spacetime(dataset: EvalDataset, fps_factor: int, max_frames: int | None) -> None:
    """The protocol is x2 in time, on whole clips of at least one window (7 frames)."""
    if fps_factor != TIME_FACTOR:
        raise UserError(f"--fps-factor {fps_factor}: the space-time protocol of the papers is x{TIME_FACTOR} in time "
                        f"(every second frame in); use --fps-factor {TIME_FACTOR}", exit_code=2)
    for seq in iter_sequences(dataset, max_frames):
        if seq.centre_only:
            raise UserError(f"--fps-factor scores every frame of whole clips, but {dataset.name} scores only the "
                            "centre frame of each sequence: use vid4, reds4 or your own clips", exit_code=2)
        n = input_frames(seq, max_frames)
        if n < WINDOW:
            fix = f"--max-frames {WINDOW} or more" if max_frames is not None and max_frames < WINDOW else \
                f"clips of {WINDOW}+ frames"
            raise UserError(f"clip {seq.name} has {n} frame(s), but the space-time protocol needs at least {WINDOW} "
                            f"(one window: {WINDOW // 2 + 1} frames in, {WINDOW} scored): use {fix}", exit_code=2)
