"""Running one model over one clip exactly as the published evaluations do, output rounded to uint8.

Recurrent models see the whole clip in one pass; with ``flip_seq`` (Vimeo-90K-T) they see the clip
followed by its mirror and the two directions' outputs are averaged (BasicSR's test mode). Window
models (EDVR) see 2N+1 frames around each target with reflection-circle padding.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from seemup.data.frame_indices import window_indices
from seemup.runtime.frames import clip_to_tensor, masks_to_tensor, to_uint8
from seemup.weights.load import LoadedModel


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def super_resolve(run: LoadedModel, lr: np.ndarray, targets: list[int], *, flip_seq: bool = False,
                  masks: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The x4 outputs for frames ``targets`` of ``lr`` ([T,h,w,3] uint8) as [K,4h,4w,3] uint8, and the
    seconds spent in the model (device-synchronised; loading and scoring excluded). The run's own runner
    applies its precision, padding and tiles."""
    if run.uses_masks and masks is None:
        raise ValueError(f"{run.name} needs SEEM masks")
    device = run.runner.device
    x = clip_to_tensor(lr, device)
    m = masks_to_tensor(masks[None], device) if run.uses_masks else None
    n = x.shape[1]
    _sync(device)
    start = time.perf_counter()
    if run.kind == "window":
        outs = []
        for t in targets:
            idx = window_indices(t, n, run.num_frame)
            outs.append(run.runner.forward(x[:, idx], None if m is None else m[:, idx])[0])
        sr = torch.stack(outs)
    else:
        if flip_seq:
            x = torch.cat([x, x.flip(1)], dim=1)
            m = None if m is None else torch.cat([m, m.flip(1)], dim=1)
        out = run.runner.forward(x, m)[0]
        sel = torch.as_tensor(targets, device=out.device)
        sr = out[sel]
        if flip_seq:
            sr = 0.5 * (sr + out[(2 * n - 1) - sel])
    result = to_uint8(sr)  # the copy to host is part of the work (and synchronises)
    _sync(device)
    return result, time.perf_counter() - start
