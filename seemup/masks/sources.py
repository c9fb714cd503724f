"""Choosing a mask source: SAM when a checkpoint is given or found, else the classical fallback."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from seemup.errors import UserError
from seemup.runtime.device import resolve_device

from .base import MaskSource
from .checkpoints import SAM_CHECKPOINTS
from .classical import ClassicalMaskSource

KINDS = ("auto", "sam", "classical")


def get_mask_source(
    kind: str = "auto",
    sam_checkpoint: str | Path | None = None,
    device: str | torch.device | None = "cpu",
    quiet: bool = False,
    sam_model: torch.nn.Module | None = None,
    *,
    sam_sha256: str | None = None,
    searched: Sequence[Path] = (),
    **sam_options,
) -> MaskSource:
    """The mask source for ``kind``.

    ``auto``: SAM from ``sam_checkpoint`` / ``sam_model``, else the classical fallback (with a one-line notice
    on stderr unless ``quiet``). ``sam``: SAM, or a UserError naming the folders ``searched`` for a checkpoint.
    ``classical``: always the fallback. Finding an installed checkpoint is the weights layer's job
    (``seemup.weights.open_masks``), which passes the path, its known ``sam_sha256`` and where it looked.
    ``sam_model``: a ready ``segment_anything`` Sam (tests, benchmarks); ``sam_options`` go to SamMaskSource.
    """
    if kind not in KINDS:
        raise UserError(f"unknown mask source {kind!r} (choose from {', '.join(KINDS)})")
    if kind == "classical":
        return ClassicalMaskSource()
    from .sam import SamMaskSource  # segment_anything and the model only when SAM is really used

    if sam_model is not None:
        if sam_checkpoint is not None:
            raise UserError("give either a SAM checkpoint or a SAM model, not both")
        return SamMaskSource.from_model(sam_model.to(resolve_device(device)), **sam_options)
    checkpoint = Path(sam_checkpoint).expanduser() if sam_checkpoint is not None else None
    if checkpoint is None:
        if kind == "sam":
            where = f" in one of: {', '.join(str(d) for d in searched)}" if searched else ""
            raise UserError(
                f"no SAM checkpoint: pass --sam-checkpoint or put one of {', '.join(SAM_CHECKPOINTS.values())}"
                f"{where}"
            )
        if not quiet:
            print(
                "notice: no SAM checkpoint found, using classical (Felzenszwalb) masks; "
                "pass --sam-checkpoint for SAM masks",
                file=sys.stderr,
            )
        return ClassicalMaskSource()
    return SamMaskSource.from_checkpoint(checkpoint, device=str(resolve_device(device)), sha256=sam_sha256,
                                         **sam_options)
