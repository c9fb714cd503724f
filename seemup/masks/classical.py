"""Checkpoint-free fallback masks: Felzenszwalb graph segmentation, largest regions first.

Used when no SAM checkpoint is available. Regions of similar colour are a coarse stand-in for SAM's object
masks; they share the exact output format and channel-order rule, so every model runs with either source
(trained weights record which one they saw).
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.segmentation import felzenszwalb

from .base import NUM_MASKS, MaskSource

CLASSICAL_VERSION = 1
"""Bump when the algorithm changes in a way that changes its output (it is part of the source id)."""


class ClassicalMaskSource(MaskSource):
    """Felzenszwalb segmentation on a frame shrunk to ``work_size`` pixels on its long side, labels upscaled.

    Working on a shrunk copy keeps the cost well under 50 ms for a 320x180 frame on one CPU core (measured in
    ``benchmarks/bench_masks.py``); the result is fully deterministic (no randomness anywhere).
    """

    def __init__(self, scale: float = 100.0, sigma: float = 0.5, min_size: int = 16, work_size: int = 160) -> None:
        if scale <= 0 or sigma < 0 or min_size < 1 or work_size < 8:
            raise ValueError("classical masks need scale > 0, sigma >= 0, min_size >= 1, work_size >= 8")
        self.scale = float(scale)
        self.sigma = float(sigma)
        self.min_size = int(min_size)
        self.work_size = int(work_size)
        self.id = (
            f"classical-felzenszwalb-v{CLASSICAL_VERSION}"
            f"-s{self.scale:g}-sig{self.sigma:g}-min{self.min_size}-ws{self.work_size}"
        )

    def labels(self, frame: np.ndarray) -> np.ndarray:
        """Integer region label per pixel of ``frame`` (HxW int), at the frame's own size."""
        h, w = frame.shape[:2]
        factor = min(1.0, self.work_size / max(h, w))
        small = frame
        if factor < 1.0:
            sw, sh = max(1, round(w * factor)), max(1, round(h * factor))
            small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
        lab = felzenszwalb(small, scale=self.scale, sigma=self.sigma, min_size=self.min_size)
        if small is not frame:
            lab = cv2.resize(lab.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
        return lab

    def _masks(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        lab = self.labels(frame).ravel()
        areas = np.bincount(lab)
        # largest first; equal areas keep label order (stable sort), so the result is deterministic
        order = np.argsort(-areas, kind="stable")
        order = order[areas[order] > 0][:NUM_MASKS]
        # map each kept label to its channel (others to -1) and scatter once: cheaper than 64 comparisons
        channel_of = np.full(areas.shape[0], -1, dtype=np.int64)
        channel_of[order] = np.arange(order.shape[0])
        ch = channel_of[lab]
        out = np.zeros((NUM_MASKS, h * w), dtype=np.uint8)
        pix = np.nonzero(ch >= 0)[0]
        out[ch[pix], pix] = 1
        return out.reshape(NUM_MASKS, h, w)
