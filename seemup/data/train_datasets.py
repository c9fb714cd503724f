"""Training samples drawn deterministically from (seed, iteration, rank, slot), so a resumed run is exact.

Every sample is a function of its index alone: which clip, which frames, which crop and which flips come
from a generator seeded with ``(seed, iteration, rank, slot)``. DataLoader worker processes, their RNGs and
the order in which they finish therefore cannot change what the network sees, and resuming at iteration
``n`` replays exactly the samples an uninterrupted run would have drawn from ``n`` on. The dataset also takes
the draws themselves (dicts) from a sampler that makes them, such as ``train_mix.MixedSampler``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from seemup.imresize import imresize_torch, imresize_uint8

from .train_clips import SCALE, Clip
from .train_flows import ClipFlows
from .train_lr import ClipLR
from .train_masks import ClipMasks


@dataclass(frozen=True)
class SampleSpec:
    """Shape of a sample: ``num_frames`` LR patches of ``patch`` px; window models train on the centre frame."""

    num_frames: int
    patch: int = 64
    centre_only: bool = False


def augment(arr: np.ndarray, hflip: bool, vflip: bool, transpose: bool, h_axis: int) -> np.ndarray:
    """Flip / rotate by 90 degrees an array whose spatial axes are ``h_axis`` and ``h_axis + 1``."""
    if hflip:
        arr = np.flip(arr, axis=h_axis + 1)
    if vflip:
        arr = np.flip(arr, axis=h_axis)
    if transpose:
        arr = np.swapaxes(arr, h_axis, h_axis + 1)
    return arr


def augment_flows(flows: np.ndarray, hflip: bool, vflip: bool, transpose: bool) -> np.ndarray:
    """Flows [..., 2, h, w] (x, y displacements in pixels) of a crop that ``augment`` flips / rotates: a
    horizontal flip reverses the x displacements, a vertical one the y, and a transpose swaps x and y."""
    out = augment(flows, hflip, vflip, transpose, h_axis=flows.ndim - 2).astype(np.float32)
    if hflip:
        out[..., 0, :, :] *= -1
    if vflip:
        out[..., 1, :, :] *= -1
    if transpose:
        out = out[..., ::-1, :, :]
    return out


def reverse_time(item: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A sample played backwards: frames in reverse order, and the forward and backward flows trade places."""
    out = {k: v[::-1] for k, v in item.items() if k != "flows"}
    if "flows" in item:  # [K, 2, T-1, 2, p, p]: axis 1 is (forward, backward)
        out["flows"] = item["flows"][:, ::-1, ::-1]
    return out


class VideoTrainDataset(Dataset):
    """Index ``i`` = iteration ``i // batch``, slot ``i % batch``; yields uint8 tensors (cast on the device).

    Item: ``lr`` [T,3,p,p], ``hr`` [T,3,4p,4p] (or [3,4p,4p] for window models), ``masks`` [T,64,p,p] when
    the clips come with masks, ``flows`` [K,2,T-1,2,p,p] float32 when they come with precomputed flows of K
    networks (index 1: 0 forward, 1 backward), transformed with the crop. With ``lrs`` (full-frame LR of every
    clip) the LR crop is cut from them instead of made from the HR crop.
    """

    def __init__(self, clips: Sequence[Clip], spec: SampleSpec, batch_size: int, seed: int, rank: int = 0,
                 masks: Sequence[ClipMasks] | None = None, make_lr: bool = True,
                 flows: Sequence[Sequence[ClipFlows] | None] | None = None,
                 lrs: Sequence[ClipLR] | None = None) -> None:
        usable = [i for i, c in enumerate(clips) if c.num_frames >= spec.num_frames
                  and c.height >= spec.patch * SCALE and c.width >= spec.patch * SCALE]
        if not usable:
            raise ValueError(f"no clip has {spec.num_frames} frames of at least {spec.patch * SCALE}x"
                             f"{spec.patch * SCALE} px")
        self.usable = usable  # indices of ``self.clips`` in the clips given
        self.clips = [clips[i] for i in usable]
        self.masks = [masks[i] for i in usable] if masks is not None else None
        self.flows = [flows[i] for i in usable] if flows is not None else None
        self.lrs = [lrs[i] for i in usable] if lrs is not None else None
        if self.flows is not None and any(not f for f in self.flows):
            raise ValueError("a usable clip has no precomputed flows")
        self.spec, self.batch_size, self.seed, self.rank = spec, batch_size, seed, rank
        self.make_lr = make_lr  # False: the trainer degrades on the GPU (same MATLAB resize, float64)

    def __len__(self) -> int:
        return 2**62

    def draw(self, index: int) -> dict[str, int | bool]:
        """The random choices of sample ``index`` (clip, start frame, LR crop corner, flips)."""
        iteration, slot = divmod(index, self.batch_size)
        rng = np.random.default_rng([self.seed, iteration, self.rank, slot])
        ci = int(rng.integers(len(self.clips)))
        clip = self.clips[ci]
        p = self.spec.patch
        return {
            "clip": ci,
            "start": int(rng.integers(clip.num_frames - self.spec.num_frames + 1)),
            "top": int(rng.integers(clip.height // SCALE - p + 1)),
            "left": int(rng.integers(clip.width // SCALE - p + 1)),
            "hflip": bool(rng.integers(2)),
            "vflip": bool(rng.integers(2)),
            "transpose": bool(rng.integers(2)),
        }

    def __getitem__(self, index: int | dict) -> dict[str, torch.Tensor]:
        """Sample ``index``, or the sample a sampler already drew (a dict like :meth:`draw`'s)."""
        d = index if isinstance(index, dict) else self.draw(index)
        clip = self.clips[d["clip"]]
        p, n = self.spec.patch, self.spec.num_frames
        hr = clip.crops(d["start"], n, d["top"] * SCALE, d["left"] * SCALE, p * SCALE)  # [T,4p,4p,3]
        flips = (d["hflip"], d["vflip"], d["transpose"])
        item = {}
        if self.lrs is not None:
            lr = self.lrs[d["clip"]].crops(d["start"], n, d["top"], d["left"], p)
            item["lr"] = augment(lr, *flips, h_axis=1).transpose(0, 3, 1, 2)
        elif self.make_lr:
            lr = np.stack([imresize_uint8(f, 1 / SCALE) for f in hr])  # MATLAB bicubic (BI degradation)
            item["lr"] = augment(lr, *flips, h_axis=1).transpose(0, 3, 1, 2)
        item["hr"] = augment(hr, *flips, h_axis=1).transpose(0, 3, 1, 2)
        if self.masks is not None:
            m = self.masks[d["clip"]].crops(d["start"], n, d["top"], d["left"], p)  # [T,64,p,p]
            item["masks"] = augment(m, *flips, h_axis=2)
        if self.flows is not None:
            f = np.stack([cf.crops(d["start"], n, d["top"], d["left"], p) for cf in self.flows[d["clip"]]])
            item["flows"] = augment_flows(f, *flips)
        if d.get("reverse"):
            item = reverse_time(item)
        # Window models score only the centre frame, but the device-side degradation needs all of them.
        if self.spec.centre_only and "lr" in item:
            item["hr"] = item["hr"][n // 2]
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in item.items()}


def degrade_on_device(hr: torch.Tensor) -> torch.Tensor:
    """uint8 HR [..., 3, H, W] -> float LR in [0, 1]: MATLAB bicubic x1/4 in float64, rounded like MATLAB's uint8.

    The same weights as ``imresize_uint8``; doing it on the GPU keeps DataLoader workers from being the
    bottleneck (the CPU resize costs ~10 ms per 256x256 frame).
    """
    x = imresize_torch(hr.double(), 1 / SCALE)
    return torch.floor(x + 0.5).clamp_(0, 255).float().div_(255.0)


class IterationSampler(Sampler[int]):
    """Sample indices for iterations ``start .. total-1`` in order (one batch per iteration)."""

    def __init__(self, start_iteration: int, total_iterations: int, batch_size: int) -> None:
        self.start, self.total, self.batch_size = start_iteration, total_iterations, batch_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start * self.batch_size, self.total * self.batch_size))

    def __len__(self) -> int:
        return max(0, self.total - self.start) * self.batch_size


def worker_init(_: int) -> None:
    """One thread per DataLoader worker (the workers are the parallelism); Ctrl-C is the main process's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the trainer's stop handler, inherited by fork
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(0)
    except ImportError:  # cv2 is a dependency; only a broken install lands here, and image reads will say so
        pass
