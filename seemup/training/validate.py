"""Validation PSNR on a held-out clip: BI-degrade its frames, run the network, score PSNR (RGB or Y) per frame.

Recurrent models see the whole (truncated) clip in one pass; window models see 2N+1 frames around each
target with BasicSR's ``reflection_circle`` padding at the ends (docs/bench.md). A ``crop`` scores only the
top-left part of each frame (cheap on a CPU); its LR is then cut from the full frame's LR, as in training
with ``--mix``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from seemup.data.frame_indices import window_indices
from seemup.data.train_clips import SCALE, ClipRef, discover_clips, open_clip
from seemup.errors import UserError
from seemup.imresize import imresize_uint8
from seemup.metrics import psnr


class Validator:
    """Frames of one held-out clip, degraded (and masked) once; :meth:`run` scores a model on them."""

    def __init__(self, path: str | Path, *, hr_downscale: int, cache_dir: Path, max_frames: int,
                 mask_source=None, window: int | None = None, space: str = "rgb",  # noqa: ANN001 - a MaskSource
                 crop: tuple[int, int] | None = None) -> None:
        refs: list[ClipRef] = discover_clips(path, exclude_eval=False)
        clip = open_clip(refs[0], hr_downscale, cache_dir)
        n = min(clip.num_frames, max_frames)
        if n < (1 if window else 2):
            raise UserError(f"validation clip {refs[0].path} has too few frames ({clip.num_frames})")
        self.name = clip.name
        self.hr = np.stack([clip.frame(i) for i in range(n)])
        full_lr = np.stack([imresize_uint8(f, 1 / SCALE) for f in self.hr]) if crop is not None else None
        h, w = self.hr.shape[1:3]
        if crop is not None:  # (width, height)
            h, w = min(h, crop[1]), min(w, crop[0])
        if window is not None:  # EDVR's pyramid needs LR sides divisible by 4
            h, w = h - h % (SCALE * 4), w - w % (SCALE * 4)
        self.hr = self.hr[:, :h, :w]
        if full_lr is not None:
            self.lr = np.ascontiguousarray(full_lr[:, : h // SCALE, : w // SCALE])
        else:
            self.lr = np.stack([imresize_uint8(f, 1 / SCALE) for f in self.hr])
        self.space = space
        self.masks = mask_source.batch(list(self.lr)) if mask_source is not None else None
        self.window = window

    @torch.no_grad()
    def run(self, model: nn.Module, device: torch.device, amp: bool = False) -> float:
        """Mean PSNR (dB, RGB or Y) over the clip's frames of the model's uint8-rounded output."""
        was_training = model.training
        model.eval()
        try:
            lr = torch.from_numpy(self.lr).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
            masks = torch.from_numpy(self.masks).unsqueeze(0) if self.masks is not None else None
            outputs = []
            with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
                if self.window is None:
                    out = model(lr.to(device), masks.to(device) if masks is not None else None)[0]
                    outputs = list(out.float().clamp_(0, 1).cpu())
                else:
                    t = lr.shape[1]
                    for c in range(t):
                        idx = window_indices(c, t, self.window)
                        m = masks[:, idx].to(device) if masks is not None else None
                        outputs.append(model(lr[:, idx].to(device), m)[0].float().clamp_(0, 1).cpu())
            scores = []
            for out, gt in zip(outputs, self.hr, strict=True):
                pred = (out.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
                scores.append(psnr(pred, gt, crop_border=0, space=self.space))
            return float(np.mean(scores))
        finally:
            model.train(was_training)
