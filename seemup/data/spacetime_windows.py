"""Space-time training samples: windows of K + 1 real frames; frames 0 and K go in, frame k is the target at
t = k / K (SAFA's recipe: K = 8, 128 px HR crops, flips and time reversal).

As in ``train_datasets``, every sample is a function of its index alone: clip, window, crop and the three coin
flips come from a generator seeded with ``(seed, iteration, rank, slot)``, so a resumed run sees what an
uninterrupted one would. Time reversal reverses the window: frame K becomes the first input and the target at
t is then the original frame at 1 - t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from seemup.imresize import imresize_uint8

from .train_clips import SCALE, Clip
from .train_datasets import augment
from .train_masks import ClipMasks


@dataclass(frozen=True)
class WindowSpec:
    """``span`` K (frames 0 and K in, K + 1 targets) and the HR crop size ``patch`` (a multiple of 4)."""

    span: int = 8
    patch: int = 128

    def __post_init__(self) -> None:
        if self.span < 1 or self.patch < SCALE or self.patch % SCALE:
            raise ValueError(f"span must be >= 1 and patch a positive multiple of {SCALE}, got {self}")


class SpaceTimeWindows(Dataset):
    """Index ``i`` = iteration ``i // batch``, slot ``i % batch``. Item (uint8, cast on the device):
    ``hr`` [K+1, 3, P, P], every frame of the window; ``lr`` [2, 3, P/4, P/4], MATLAB bicubic x1/4 of
    ``hr[0]`` and ``hr[K]`` (the BI degradation); ``masks`` [2, 64, P/4, P/4] of those two frames when the
    clips come with masks (cut from the full LR frame's masks)."""

    def __init__(self, clips: Sequence[Clip], spec: WindowSpec, batch_size: int, seed: int, rank: int = 0,
                 masks: Sequence[ClipMasks] | None = None) -> None:
        usable = [i for i, c in enumerate(clips)
                  if c.num_frames > spec.span and c.height >= spec.patch and c.width >= spec.patch]
        if not usable:
            raise ValueError(f"no clip has {spec.span + 1} frames of at least {spec.patch}x{spec.patch} px")
        self.clips, self.spec = [clips[i] for i in usable], spec
        self.masks = [masks[i] for i in usable] if masks is not None else None
        self.batch_size, self.seed, self.rank = batch_size, seed, rank

    def __len__(self) -> int:
        return 2**62

    def draw(self, index: int) -> dict[str, int | bool]:
        """The random choices of sample ``index``: clip, first frame, crop corner (on the LR grid), flips."""
        iteration, slot = divmod(index, self.batch_size)
        rng = np.random.default_rng([self.seed, iteration, self.rank, slot])
        ci = int(rng.integers(len(self.clips)))
        clip, p = self.clips[ci], self.spec.patch // SCALE
        return {
            "clip": ci,
            "start": int(rng.integers(clip.num_frames - self.spec.span)),
            "top": int(rng.integers(clip.height // SCALE - p + 1)),
            "left": int(rng.integers(clip.width // SCALE - p + 1)),
            "hflip": bool(rng.integers(2)),
            "vflip": bool(rng.integers(2)),
            "reverse": bool(rng.integers(2)),
        }

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        d = self.draw(index)
        k, p = self.spec.span, self.spec.patch
        hr = self.clips[d["clip"]].crops(d["start"], k + 1, d["top"] * SCALE, d["left"] * SCALE, p)  # [K+1,P,P,3]
        hr = augment(hr, bool(d["hflip"]), bool(d["vflip"]), False, h_axis=1)
        if d["reverse"]:
            hr = hr[::-1]
        lr = np.stack([imresize_uint8(np.ascontiguousarray(hr[i]), 1 / SCALE) for i in (0, k)])
        item = {"hr": torch.from_numpy(np.ascontiguousarray(hr.transpose(0, 3, 1, 2))),
                "lr": torch.from_numpy(np.ascontiguousarray(lr.transpose(0, 3, 1, 2)))}
        if self.masks is not None:
            ends = self.masks[d["clip"]]
            m = np.concatenate([ends.crops(d["start"] + i, 1, d["top"], d["left"], p // SCALE) for i in (0, k)])
            m = augment(m, bool(d["hflip"]), bool(d["vflip"]), False, h_axis=2)  # [2, 64, p, p]
            item["masks"] = torch.from_numpy(np.ascontiguousarray(m[::-1] if d["reverse"] else m))
        return item
