"""Choosing a mask source: SAM when a checkpoint is given or found, else the classical fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from seemup.errors import UserError

from .base import MaskSource
from .checkpoints import SAM_CHECKPOINTS, find_sam_checkpoint, weights_dirs
from .classical import ClassicalMaskSource

KINDS = ("auto", "sam", "classical")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None: CUDA when available, else CPU; asking for CUDA without one is a user error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"unknown device {device!r} (use cpu, cuda, cuda:N or auto)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available")
    return dev


def get_mask_source(
    kind: str = "auto",
    sam_checkpoint: str | Path | None = None,
    device: str | torch.device | None = "cpu",
    quiet: bool = False,
    sam_model: torch.nn.Module | None = None,
    **sam_options,
) -> MaskSource:
    """The mask source for ``kind``.

    ``auto``: SAM from ``sam_checkpoint`` / ``sam_model`` / the first checkpoint found in the weights folders,
    else the classical fallback (with a one-line notice on stderr unless ``quiet``).
    ``sam``: SAM, or a UserError naming where checkpoints were looked for. ``classical``: always the fallback.
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
    checkpoint = Path(sam_checkpoint).expanduser() if sam_checkpoint is not None else find_sam_checkpoint()
    if checkpoint is None:
        if kind == "sam":
            where = ", ".join(str(d) for d in weights_dirs())
            raise UserError(
                f"no SAM checkpoint: pass --sam-checkpoint or put one of {', '.join(SAM_CHECKPOINTS.values())} "
                f"in one of: {where}"
            )
        if not quiet:
            print(
                "notice: no SAM checkpoint found, using classical (Felzenszwalb) masks; "
                "pass --sam-checkpoint for SAM masks",
                file=sys.stderr,
            )
        return ClassicalMaskSource()
    return SamMaskSource.from_checkpoint(checkpoint, device=str(resolve_device(device)), **sam_options)
