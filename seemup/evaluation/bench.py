"""`seemup bench` as a library call: every model over every sequence of a set, scored the papers' way.

Scores: per frame PSNR/SSIM on uint8 outputs; a clip's score is the mean over its frames, the dataset's
the mean over clips ("Average" in the papers). Each clip is read once and shared by all models.
"""

from __future__ import annotations

import math
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from seemup.data.eval_datasets import EvalDataset, EvalSequence, iter_sequences, load_sequence
from seemup.metrics import SPACES, psnr, ssim
from seemup.weights.load import LoadedModel

from .checks import check_loaded_clip
from .inference import super_resolve
from .ranks import gather_records, my_part

Progress = Callable[[int, str], None]  # (frames just scored, description)
OnOutput = Callable[[EvalSequence, LoadedModel, np.ndarray, np.ndarray], None]  # (sequence, model, outputs, GT)


@dataclass
class ClipScore:
    """Mean PSNR/SSIM over a clip's scored frames, and the model time spent on it."""

    psnr: float
    ssim: float
    frames: int
    seconds: float
    peak_memory_bytes: int | None = None

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.seconds / self.frames if self.frames else math.nan


@dataclass
class ModelResult:
    """One model's scores on one dataset, clip by clip."""

    label: str
    model: str
    weights: str | None
    clips: dict[str, ClipScore] = field(default_factory=dict)
    memory_kind: str = ""  # "cuda" (peak allocated by torch on the GPU) or "rss" (peak resident size of the process)

    @property
    def psnr(self) -> float:
        return float(np.mean([c.psnr for c in self.clips.values()])) if self.clips else math.nan

    @property
    def ssim(self) -> float:
        return float(np.mean([c.ssim for c in self.clips.values()])) if self.clips else math.nan

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.clips.values())

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.clips.values())

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.seconds / self.frames if self.frames else math.nan

    @property
    def peak_memory_bytes(self) -> int | None:
        peaks = [c.peak_memory_bytes for c in self.clips.values() if c.peak_memory_bytes]
        return max(peaks) if peaks else None


@dataclass
class BenchReport:
    """Everything `seemup bench` prints and writes."""

    dataset: EvalDataset
    space: str
    crop_border: int
    device: str
    results: list[ModelResult]
    baseline: ModelResult | None = None
    mask_source: str | None = None
    max_frames: int | None = None
    lr_generated: bool = False
    precision: str = "fp32"


def _peak_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def run_bench(dataset: EvalDataset, runs: list[LoadedModel], *, device: torch.device, space: str | None = None,
              crop_border: int = 0, baseline: LoadedModel | None = None, masks: Callable[[list[np.ndarray]],
              np.ndarray] | None = None, mask_source: str | None = None, max_frames: int | None = None,
              progress: Progress | None = None, precision: str = "fp32", on_output: OnOutput | None = None
              ) -> BenchReport:
    """Evaluate ``runs`` (and ``baseline``, unless it is one of them) on ``dataset``.

    ``masks``: frames -> [N,64,h,w] uint8, required when a model uses SEEM masks (computed once per clip
    on the LR frames and shared). ``max_frames``: only the first N frames of each clip (N septuplets of
    Vimeo-90K-T) -- a quick look, not a comparable number. ``precision``: fp32 (the protocol) or the
    fp16/bf16 autocast that ``seemup upscale`` may use, to measure what it costs in quality. ``on_output``:
    sees each model's uint8 outputs of each sequence with their GT (``bench --save-images`` keeps one frame).
    """
    space = space or dataset.default_space
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}")
    all_runs = list(runs)
    base_result: ModelResult | None = None
    if baseline is not None:
        same = next((r for r in runs if (r.name, r.weights) == (baseline.name, baseline.weights)), None)
        if same is None:
            all_runs.insert(0, baseline)
    if any(r.uses_masks for r in all_runs) and masks is None:
        raise ValueError("a model uses SEEM masks but no mask function was given")
    results = {id(r): ModelResult(r.label, r.name, r.weights) for r in all_runs}
    per_frame: dict[int, dict[str, list[tuple[float, float]]]] = {id(r): {} for r in all_runs}
    seconds: dict[int, dict[str, float]] = {id(r): {} for r in all_runs}
    peaks: dict[int, dict[str, int]] = {id(r): {} for r in all_runs}
    lr_generated = False
    for seq in my_part(list(iter_sequences(dataset, max_frames))):  # under torchrun: this rank's block
        clip = load_sequence(seq, max_frames)
        check_loaded_clip(seq, len(clip.lr), clip.hr.shape, all_runs, crop_border)
        lr_generated |= clip.lr_generated
        clip_masks = masks(list(clip.lr)) if any(r.uses_masks for r in all_runs) and masks is not None else None
        for run in all_runs:
            key = id(run)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            sr, secs = super_resolve(run, clip.lr, clip.targets, flip_seq=seq.centre_only,
                                     masks=clip_masks if run.uses_masks else None)
            peak = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else _peak_rss_bytes()
            peaks[key][seq.group] = max(peaks[key].get(seq.group, 0), peak)
            scores = per_frame[key].setdefault(seq.group, [])
            for out, gt in zip(sr, clip.hr, strict=True):
                scores.append((psnr(out, gt, crop_border, space), ssim(out, gt, crop_border, space)))
            seconds[key][seq.group] = seconds[key].get(seq.group, 0.0) + secs
            if on_output is not None:
                on_output(seq, run, sr, clip.hr)
            if progress is not None:
                progress(len(sr), f"{run.label} · {seq.group}")
    records, lr_generated = gather_records([(per_frame[id(r)], seconds[id(r)], peaks[id(r)]) for r in all_runs],
                                           lr_generated, progress)  # under torchrun: all ranks', in order
    for run, (frames, secs, peak) in zip(all_runs, records, strict=True):
        per_frame[id(run)], seconds[id(run)], peaks[id(run)] = frames, secs, peak
    for run in all_runs:
        key = id(run)
        res = results[key]
        for group, scores in per_frame[key].items():
            arr = np.asarray(scores, dtype=np.float64)
            res.clips[group] = ClipScore(float(arr[:, 0].mean()), float(arr[:, 1].mean()), len(arr),
                                         seconds[key][group], peaks[key].get(group) or None)
        res.memory_kind = "cuda" if device.type == "cuda" else "rss"
    if baseline is not None:
        same = next(r for r in all_runs if (r.name, r.weights) == (baseline.name, baseline.weights))
        base_result = results[id(same)]
    return BenchReport(dataset, space, crop_border, str(device), [results[id(r)] for r in runs], base_result,
                       mask_source, max_frames, lr_generated, precision)
