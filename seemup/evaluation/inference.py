"""Running one model over one clip exactly as the published evaluations do, output rounded to uint8.

Recurrent models see the whole clip in one pass; with ``flip_seq`` (Vimeo-90K-T) they see the clip
followed by its mirror and the two directions' outputs are averaged (BasicSR's test mode). Window
models (EDVR) see 2N+1 frames around each target with reflection-circle padding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seemup.data.frame_indices import window_indices
from seemup.pipeline.device import autocast


@dataclass
class ModelRun:
    """A built model plus what the pipeline must know to feed it."""

    label: str
    name: str
    model: nn.Module
    kind: str  # "recurrent" | "window"
    num_frame: int | None
    uses_masks: bool
    weights: str | None = None
    mask_source_id: str | None = None
    notes: list[str] = field(default_factory=list)


def to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """[T,h,w,3] uint8 -> [1,T,3,h,w] float32 in [0,1] (x / 255 in float32, as BasicSR reads frames)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return (x.permute(0, 3, 1, 2).float() / 255.0).unsqueeze(0)


def masks_tensor(masks: np.ndarray | None, device: torch.device) -> torch.Tensor | None:
    """[T,64,h,w] uint8 {0,1} -> [1,T,64,h,w] float32, or None."""
    if masks is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(masks)).to(device).float().unsqueeze(0)


def to_uint8(out: torch.Tensor) -> np.ndarray:
    """[K,3,H,W] float in [0,1] -> [K,H,W,3] uint8: clamp, x255, round half to even (as saving a PNG does)."""
    img = (out.float().clamp(0, 1) * 255.0).round().to(torch.uint8)
    return img.permute(0, 2, 3, 1).cpu().numpy()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def super_resolve(run: ModelRun, lr: np.ndarray, targets: list[int], device: torch.device, *,
                  flip_seq: bool = False, masks: np.ndarray | None = None,
                  precision: str = "fp32") -> tuple[np.ndarray, float]:
    """The x4 outputs for frames ``targets`` of ``lr`` ([T,h,w,3] uint8) as [K,4h,4w,3] uint8, and the
    seconds spent in the model (device-synchronised; loading and scoring excluded).

    ``precision``: fp32 (the protocol), or the fp16/bf16 autocast the upscale pipeline uses."""
    with autocast(device, precision):
        return _super_resolve(run, lr, targets, device, flip_seq, masks)


def _super_resolve(run: ModelRun, lr: np.ndarray, targets: list[int], device: torch.device, flip_seq: bool,
                   masks: np.ndarray | None) -> tuple[np.ndarray, float]:
    if run.uses_masks and masks is None:
        raise ValueError(f"{run.name} needs SEEM masks")
    x = to_tensor(lr, device)
    m = masks_tensor(masks, device) if run.uses_masks else None
    n = x.shape[1]
    _sync(device)
    start = time.perf_counter()
    if run.kind == "window":
        if run.num_frame is None:
            raise ValueError(f"window model {run.name} has no num_frame")
        outs = []
        for t in targets:
            idx = window_indices(t, n, run.num_frame)
            outs.append(run.model(x[:, idx], None if m is None else m[:, idx])[0])
        sr = torch.stack(outs)
    else:
        if flip_seq:
            x = torch.cat([x, x.flip(1)], dim=1)
            m = None if m is None else torch.cat([m, m.flip(1)], dim=1)
        out = run.model(x, m)[0]
        sel = torch.as_tensor(targets, device=out.device)
        sr = out[sel]
        if flip_seq:
            sr = 0.5 * (sr + out[(2 * n - 1) - sel])
    result = to_uint8(sr)  # the copy to host is part of the work (and synchronises)
    _sync(device)
    return result, time.perf_counter() - start
