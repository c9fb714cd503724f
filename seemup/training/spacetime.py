"""Training space-time models (SAFA): the pieces ``spacetime_trainer`` calls, each output supervised at its own t.

The recipe is the reference's (docs/method.md, section 7, "Training"; its numbers are the safa defaults of
``seemup.training.config``): windows of 9 frames, frames 0 and 8 in, L1 loss, AdamW (weight decay 1e-4)
warmed up over 2000 steps to 2e-4 then cosine to 2e-6, gradients clipped at norm 1.0, 128 px HR crops, flips
and time reversal (``seemup.data.spacetime_windows``). Three faults of the reference's training script are not copied:

- its training forward ignores the requested t and always returns t = 0, 1/8, ..., 1, and its loss pairs
  the first three of those with frames 0, k and 8: here output j is computed at ``times[j]`` and compared
  with the frame at that same time (``spacetime_loss_for``);
- it sets every group's learning rate to the same value, overwriting the head's lower rate: here the
  resnet head keeps ``HEAD_LR_SCALE`` (0.1, the reference's 3e-5 against 3e-4) of the scheduled rate;
- it feeds LR frames in 0..255 while evaluation feeds 0..1: here both are 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

HEAD_LR_SCALE = 0.1  # the reference's 3e-5 for the resnet head against 3e-4 for the rest


def window_times(span: int, frames: Sequence[int] | None = None) -> list[float]:
    """t = k / K of window frames ``frames`` (all K + 1 when None)."""
    return [k / span for k in (range(span + 1) if frames is None else frames)]


def choose_targets(span: int, count: int | None, rng: np.random.Generator) -> list[int]:
    """Window frames to supervise: all when ``count`` is None or >= K + 1, else 0, K and ``count - 2`` distinct
    frames between them, in time order."""
    if count is None or count >= span + 1:
        return list(range(span + 1))
    if count < 2:
        raise ValueError(f"at least the two input frames are supervised; got {count} targets")
    between = rng.choice(np.arange(1, span), size=count - 2, replace=False) if count > 2 else []
    return sorted([0, span, *(int(k) for k in between)])


def spacetime_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 between outputs [B, n, 3, H, W] and the frames at the same n times (float32)."""
    if pred.shape != target.shape:
        raise ValueError(f"outputs {tuple(pred.shape)} and targets {tuple(target.shape)} must pair one to one")
    return (pred.float() - target.float()).abs().mean()


def spacetime_loss_for(model: nn.Module, batch: dict[str, torch.Tensor], span: int,
                       frames: Sequence[int] | None = None) -> torch.Tensor:
    """The loss of one batch of windows (``SpaceTimeWindows`` items, uint8, or floats in 0..1): the model is
    asked for the times of ``frames`` (all K + 1 when None) and output j is compared with window frame
    ``frames[j]``. ``masks`` of the two input frames, when the batch has them, go to the model."""
    frames = list(range(span + 1)) if frames is None else list(frames)
    lr, hr = batch["lr"], batch["hr"][:, frames]
    if lr.dtype == torch.uint8:
        lr, hr = lr.float() / 255.0, hr.float() / 255.0
    masks = batch.get("masks")
    pred = model(lr[:, 0], lr[:, 1], window_times(span, frames), *(() if masks is None else (masks,)))
    return spacetime_loss(pred, hr)


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The resnet18 layers of SAFA's head (``block.convimg.cnn0..2``), which the reference trains 10x slower."""
    head = model.block.convimg
    return [p for m in (head.cnn0, head.cnn1, head.cnn2) for p in m.parameters()]


def param_groups(model: nn.Module, lr: float, head_lr_scale: float = HEAD_LR_SCALE,
                 trainable: set[str] | None = None) -> list[dict]:
    """Optimizer groups: the network at ``lr``, the head at ``lr * head_lr_scale`` (the scheduler keeps that
    share). ``trainable``: names of the parameters to optimise (None: all)."""
    head = {id(p) for p in head_parameters(model)}
    named = [(n, p) for n, p in model.named_parameters() if trainable is None or n in trainable]
    groups = [
        {"params": [p for _, p in named if id(p) not in head], "lr": lr, "name": "main"},
        {"params": [p for _, p in named if id(p) in head], "lr": lr * head_lr_scale, "name": "head"},
    ]
    return [g for g in groups if g["params"]]
