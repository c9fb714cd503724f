"""What `seemup bench --fps-factor` needs before any frame is computed: its models (a space-time model such
as SAFA loads beside the x4 path, which refuses it) and the checks that would otherwise fail late."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from seemup.data.eval_datasets import EvalDataset, iter_sequences
from seemup.errors import UserError
from seemup.weights.load import DEFAULT_WEIGHTS_WORD, LoadedModel, model_spec

from .build import build_run
from .checks import input_frames
from .spacetime import TIME_FACTOR, WINDOW


def build_spacetime_run(model: str, weights: str | Path | None, device: torch.device,
                        mask_source_id: str | None = None, precision: str = "fp32") -> LoadedModel:
    """An x4 model (run behind the interpolator, loaded as bench loads it) or a space-time model."""
    spec = model_spec(model)
    if spec.kind != "spacetime":
        return build_run(model, weights, device, mask_source_id, precision)
    from seemup.runtime.device import place_model, resolve_precision
    from seemup.runtime.runner import ModelRunner
    from seemup.weights.build import build_model

    default = weights in (None, DEFAULT_WEIGHTS_WORD)
    net, info = build_model(spec.name, None if default else weights,
                            mask_source_id=mask_source_id if spec.uses_masks else None)
    runner = ModelRunner(place_model(net, device), device, precision=resolve_precision(device, precision))
    label = spec.name if default or info is None else f"{spec.name}@{info.name}"
    return LoadedModel(label, spec, runner, info, list(info.notes) if info is not None else [])


def build_spacetime_runs(models: Sequence[str], weights: Sequence[str] | None, device: torch.device,
                         mask_source_id: str | None = None, precision: str = "fp32") -> list[LoadedModel]:
    """``--weights`` paired with ``--model`` in order, as :func:`seemup.evaluation.build_runs` pairs them."""
    weights = list(weights or [])
    if len(weights) > len(models):
        raise UserError(f"{len(weights)} --weights for {len(models)} --model: give at most one per model, in order")
    runs = [build_spacetime_run(m, weights[i] if i < len(weights) else None, device, mask_source_id, precision)
            for i, m in enumerate(models)]
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise UserError(f"the same model and weights are listed twice: {', '.join(labels)}")
    return runs


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
