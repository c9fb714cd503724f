"""From command-line names to ready model runs and the SEEM mask function the benchmark needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from seemup.errors import UserError
from seemup.models import get_spec, resolve_name

from .inference import ModelRun

DEFAULT_WEIGHTS_WORD = "default"


def build_run(model: str, weights: str | Path | None, device: torch.device,
              mask_source_id: str | None = None, precision: str = "fp32") -> ModelRun:
    """A model from ``seemup.weights.build_model`` on ``device``, labelled ``name`` or ``name@weights``.

    ``mask_source_id``: the masks this run feeds SEEM models (weights trained on other masks are refused).
    ``precision`` int8: residual blocks become int8 from the weights' calibration (a model without blocks,
    bicubic, runs as it is).
    """
    from seemup.pipeline.device import place_model
    from seemup.pipeline.int8 import apply_int8, residual_blocks
    from seemup.weights import build_model

    try:
        name = resolve_name(model)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    spec = get_spec(name)
    net, info = build_model(name, None if weights in (None, DEFAULT_WEIGHTS_WORD) else weights,
                            mask_source_id=mask_source_id if spec.uses_masks else None)
    label = name if weights in (None, DEFAULT_WEIGHTS_WORD) or info is None else f"{name}@{info.name}"
    net = place_model(net, device)
    if precision == "int8" and residual_blocks(net):
        net = apply_int8(net, info.path if info is not None else None, label)
    num_frame = getattr(net, "num_frame", spec.num_frame)  # weights may change EDVR's window (EDVR-L REDS: 5)
    return ModelRun(label=label, name=name, model=net, kind=spec.kind, num_frame=num_frame,
                    uses_masks=spec.uses_masks, weights=info.name if info is not None else None,
                    mask_source_id=info.mask_source_id if info is not None else None,
                    notes=list(info.notes) if info is not None else [])


def build_runs(models: Sequence[str], weights: Sequence[str] | None, device: torch.device,
               mask_source_id: str | None = None, precision: str = "fp32") -> list[ModelRun]:
    """Pair ``--weights`` with ``--model`` in order; models without one (or with ``default``) get their default."""
    weights = list(weights or [])
    if len(weights) > len(models):
        raise UserError(f"{len(weights)} --weights for {len(models)} --model: give at most one per model, in order")
    runs = [build_run(m, weights[i] if i < len(weights) else None, device, mask_source_id, precision)
            for i, m in enumerate(models)]
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise UserError(f"the same model and weights are listed twice: {', '.join(labels)}")
    return runs


def needs_masks(models: Sequence[str]) -> bool:
    """Whether any of these model names is a SEEM model (so masks must be set up before building it)."""
    try:
        return any(get_spec(m).uses_masks for m in models)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def build_mask_fn(kind: str, device: torch.device, quiet: bool = False, sam_checkpoint: str | Path | None = None,
                  cache_dir: str | Path | None = None) -> tuple[Callable[[list[np.ndarray]], np.ndarray], str]:
    """SEEM masks through the on-disk cache: (frames -> [N,64,h,w] uint8, the source's id)."""
    from seemup.masks import CachedMasks, MaskCache, get_mask_source

    source = get_mask_source(kind, sam_checkpoint=sam_checkpoint, device=device, quiet=quiet)
    cached = CachedMasks(source, MaskCache(cache_dir))
    return cached.batch, cached.id
