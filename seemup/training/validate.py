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


def held_out_frames(path: str | Path, hr_downscale: int, cache_dir: Path, max_frames: int,
                    crop: tuple[int, int] | None, multiple: int) -> tuple[str, np.ndarray, np.ndarray]:
    """(name, HR [n, h, w, 3], LR [n, h/4, w/4, 3]) of the first ``max_frames`` frames of a held-out clip, HR
    cut to the top-left ``crop`` (width, height) and to sides divisible by ``multiple``."""
    refs: list[ClipRef] = discover_clips(path, exclude_eval=False)
    clip = open_clip(refs[0], hr_downscale, cache_dir)
    hr = np.stack([clip.frame(i) for i in range(min(clip.num_frames, max_frames))])
    full_lr = np.stack([imresize_uint8(f, 1 / SCALE) for f in hr]) if crop is not None else None
    h, w = hr.shape[1:3]
    if crop is not None:  # (width, height)
        h, w = min(h, crop[1]), min(w, crop[0])
    h, w = h - h % multiple, w - w % multiple
    hr = hr[:, :h, :w]
    if full_lr is not None:
        lr = np.ascontiguousarray(full_lr[:, : h // SCALE, : w // SCALE])
    else:
        lr = np.stack([imresize_uint8(f, 1 / SCALE) for f in hr])
    return clip.name, hr, lr


def _score(outputs: list[torch.Tensor], targets: np.ndarray, space: str) -> float:
    """Mean PSNR of [3, H, W] outputs in 0..1, rounded to uint8, against uint8 HWC targets."""
    scores = []
    for out, gt in zip(outputs, targets, strict=True):
        pred = (out.float().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
        scores.append(psnr(pred, gt, crop_border=0, space=space))
    return float(np.mean(scores))


class Validator:
    """Frames of one held-out clip, degraded (and masked) once; :meth:`run` scores a model on them."""

    def __init__(self, path: str | Path, *, hr_downscale: int, cache_dir: Path, max_frames: int,
                 mask_source=None, window: int | None = None, space: str = "rgb",  # noqa: ANN001 - a MaskSource
                 crop: tuple[int, int] | None = None) -> None:
        multiple = SCALE * 4 if window is not None else 1  # EDVR's pyramid needs LR sides divisible by 4
        self.name, self.hr, self.lr = held_out_frames(path, hr_downscale, cache_dir, max_frames, crop, multiple)
        if len(self.hr) < (1 if window else 2):
            raise UserError(f"validation clip {path} has too few frames ({len(self.hr)})")
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
            return _score(outputs, self.hr, self.space)
        finally:
            model.train(was_training)


class SpaceTimeValidator:
    """A held-out clip cut into windows of ``span`` + 1 frames that share their ends: frames 0, K, 2K, ... go
    in (with their masks), and every frame of every window is scored at its own t = k / K."""

    def __init__(self, path: str | Path, *, span: int, hr_downscale: int, cache_dir: Path, max_frames: int,
                 mask_source=None, space: str = "rgb",  # noqa: ANN001 - a MaskSource
                 crop: tuple[int, int] | None = None) -> None:
        self.name, hr, lr = held_out_frames(path, hr_downscale, cache_dir, max_frames, crop, SCALE)
        windows = (len(hr) - 1) // span
        if windows < 1:
            raise UserError(f"validation clip {path} has {len(hr)} frames (--val-frames {max_frames}); a window "
                            f"needs {span + 1}")
        self.span, self.space = span, space
        self.hr = hr[: windows * span + 1]
        self.lr = lr[: windows * span + 1 : span]  # the input frames only
        self.masks = mask_source.batch(list(self.lr)) if mask_source is not None else None

    @torch.no_grad()
    def run(self, model: nn.Module, device: torch.device, amp: bool = False) -> float:
        """Mean PSNR (dB, RGB or Y) over every frame of the windows, of the model's uint8-rounded output."""
        was_training = model.training
        model.eval()
        try:
            lr = torch.from_numpy(self.lr).permute(0, 3, 1, 2).float().div(255)
            outputs: list[torch.Tensor] = []
            last = len(self.lr) - 2
            with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
                for j in range(len(self.lr) - 1):
                    times = [k / self.span for k in range(self.span + (j == last))]
                    extra = () if self.masks is None else (torch.from_numpy(self.masks[j : j + 2])[None].to(device),)
                    out = model(lr[j : j + 1].to(device), lr[j + 1 : j + 2].to(device), times, *extra)[0]
                    outputs.extend(out.float().cpu())
            return _score(outputs, self.hr, self.space)
        finally:
            model.train(was_training)
