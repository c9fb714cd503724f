"""The benchmark's models and masks, through the loading path every command shares (seemup.weights.load)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from seemup.weights.load import LoadedModel, load_for_inference, model_spec, open_masks


def build_run(model: str, weights: str | Path | None, device: torch.device,
              mask_source_id: str | None = None, precision: str = "fp32", spacetime: bool = False) -> LoadedModel:
    """``model`` with ``weights`` (None or ``default``: its default set) on ``device``, labelled ``name`` or
    ``name@weights``; SEEM models refuse weights trained on other masks than ``mask_source_id``. ``spacetime``
    (bench --fps-factor): a space-time model (SAFA) is welcome beside the x4 ones."""
    return load_for_inference(model, weights, device, precision, mask_source_id=mask_source_id, spacetime=spacetime)


def build_runs(models: Sequence[str], weights: Sequence[str] | None, device: torch.device,
               mask_source_id: str | None = None, precision: str = "fp32",
               spacetime: bool = False) -> list[LoadedModel]:
    """Pair ``--weights`` with ``--model`` in order; models without one (or with ``default``) get their default."""
    from seemup.errors import UserError

    weights = list(weights or [])
    if len(weights) > len(models):
        raise UserError(f"{len(weights)} --weights for {len(models)} --model: give at most one per model, in order")
    runs = [build_run(m, weights[i] if i < len(weights) else None, device, mask_source_id, precision, spacetime)
            for i, m in enumerate(models)]
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise UserError(f"the same model and weights are listed twice: {', '.join(labels)}")
    return runs


def needs_masks(models: Sequence[str]) -> bool:
    """Whether any of these model names is a SEEM model (so masks must be set up before building it)."""
    return any(model_spec(m).uses_masks for m in models)


def build_mask_fn(kind: str, device: torch.device, quiet: bool = False, sam_checkpoint: str | Path | None = None,
                  cache_dir: str | Path | None = None) -> tuple[Callable[[list[np.ndarray]], np.ndarray], str]:
    """SEEM masks through the on-disk cache: (frames -> [N,64,h,w] uint8, the source's id)."""
    cached = open_masks(kind, device, quiet=quiet, sam_checkpoint=sam_checkpoint, cache_dir=cache_dir)
    return cached.batch, cached.id
