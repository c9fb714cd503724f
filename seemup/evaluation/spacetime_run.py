"""`seemup bench --fps-factor 2`: each model on the space-time protocol (spacetime.py), every frame scored,
known and new frames also scored apart.

An x4 model runs as a cascade: RIFE makes the new LR frames by the rule `seemup upscale --fps-factor` uses
(the same InterpolatingProcessor and Interpolator.frames_after: t = 1/2 between two inputs, no blend across
a scene cut, the last input repeated), then the model super-resolves the dense clip (recurrent: the whole
pass; window: each target's window). A space-time model (SAFA) makes each x4 frame from the two inputs
around it. The interpolation is computed once per pass and shared by all cascades; its time is counted in
each cascade's ms/frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from seemup.data.eval_datasets import EvalDataset, iter_sequences, load_sequence
from seemup.errors import UserError
from seemup.metrics import SPACES, psnr, ssim
from seemup.pipeline.processors import InterpolatingProcessor
from seemup.pipeline.scenecut import is_cut as scene_cut
from seemup.pipeline.schedule import Chunk
from seemup.weights.load import LoadedModel

from .bench import BenchReport, ClipScore, ModelResult, OnOutput, Progress, _peak_rss_bytes
from .checks import check_loaded_clip
from .inference import super_resolve
from .ranks import gather_records, my_part
from .spacetime import PUBLISHED_VID4, TIME_FACTOR, WINDOW, Pass, Published, plan_passes

MaskFn = Callable[[list[np.ndarray]], np.ndarray]
# per run: group -> per-frame (PSNR, SSIM, known), group -> seconds, group -> peak bytes (gathered like bench's)
Records = tuple[dict[str, list], dict[str, float], dict[str, int]]


@dataclass
class PartScore:
    """Mean PSNR/SSIM over one kind of frame of a clip (known: went in; new: made by the model)."""

    psnr: float
    ssim: float
    frames: int


@dataclass
class SplitClipScore(ClipScore):
    """A clip's score over all its frames, and over its known and its new frames apart."""

    known: PartScore | None = None
    new: PartScore | None = None


@dataclass
class SpaceTimeResult(ModelResult):
    """One model's space-time scores; ``interpolator``: the weight set in front of it (None: a space-time model)."""

    interpolator: str | None = None

    def part(self, kind: str) -> PartScore | None:
        """The dataset's known (or new) score: the mean over clips, as Average is for all frames."""
        parts = [getattr(c, kind, None) for c in self.clips.values()]
        if not parts or any(p is None for p in parts):
            return None
        return PartScore(float(np.mean([p.psnr for p in parts])), float(np.mean([p.ssim for p in parts])),
                         sum(p.frames for p in parts))


@dataclass
class SpaceTimeReport(BenchReport):
    """A bench report on the space-time protocol, with the published rows that compare with it."""

    fps_factor: int = TIME_FACTOR
    published: tuple[Published, ...] = ()


class FrameMaker(Protocol):
    """What makes the new frames: :class:`seemup.pipeline.interpolate.Interpolator` (RIFE) or a stand-in."""

    weights: str | None

    def frames_after(self, a: np.ndarray, b: np.ndarray | None, factor: int, cut: bool = False) -> list[np.ndarray]:
        ...


def dense_clip(inputs: np.ndarray, maker: FrameMaker, is_cut: Callable[[np.ndarray, np.ndarray], bool],
               factor: int = TIME_FACTOR) -> np.ndarray:
    """The LR clip `seemup upscale --fps-factor` feeds its x4 model: ``factor - 1`` new frames after each
    input frame, made by the upscale path's own processor (collected here instead of super-resolved)."""
    n = len(inputs)
    proc = InterpolatingProcessor(_Collect(), maker.frames_after, factor, is_cut)
    return np.stack(list(proc.frames(Chunk(0, 0, n, 0, n), dict(enumerate(inputs)), None, n)))


class _Collect:
    """Stands where the x4 processor goes: hands back the dense frames in order."""

    runner = None
    lookahead = 0

    def context(self, overlap: int) -> int:
        return 0

    def frames(self, chunk: Chunk, lr: dict[int, np.ndarray], masks: object, num_frames: int) -> list[np.ndarray]:
        return [lr[i] for i in range(chunk.in_start, chunk.in_end)]


@torch.no_grad()
def spacetime_frames(run: LoadedModel, inputs: np.ndarray, targets: Sequence[int],
                     masks: np.ndarray | None = None) -> np.ndarray:
    """A space-time model's uint8 x4 frames at pass positions ``targets`` (input k sits at 2k): the pair
    (k, k + 1) makes t = 0 and 1/2, the last pair also t = 1 (``seemup.models.safa.pair_times``)."""
    from seemup.models.safa import pair_times
    from seemup.runtime.device import autocast
    from seemup.runtime.frames import masks_to_tensor, to_tensor, to_uint8

    device, wanted, out = run.runner.device, set(targets), {}
    x = to_tensor(inputs, device)
    m = masks_to_tensor(masks, device)
    for k in range(len(inputs) - 1):
        times = [t for t in pair_times(TIME_FACTOR, include_end=k == len(inputs) - 2)
                 if TIME_FACTOR * k + round(t * TIME_FACTOR) in wanted]
        if not times:
            continue
        pair_masks = None if m is None else m[k:k + 2].unsqueeze(0)
        with autocast(device, run.precision):
            y = run.model(x[k:k + 1], x[k + 1:k + 2], times, pair_masks)
        out.update(zip([TIME_FACTOR * k + round(t * TIME_FACTOR) for t in times], to_uint8(y[0]), strict=True))
    return np.stack([out[j] for j in targets])


class _Passes:
    """One clip's passes: their LR inputs and, computed once on first use, the dense LR clips and masks."""

    def __init__(self, lr: np.ndarray, maker: FrameMaker | None, is_cut: Callable, masks: MaskFn | None,
                 device: torch.device) -> None:
        self.plan = plan_passes(len(lr))
        self.lr, self.maker, self.is_cut, self.masks, self.device = lr, maker, is_cut, masks, device
        self._dense: dict[int, tuple[np.ndarray, float]] = {}
        self._masks: dict[tuple[int, bool], np.ndarray] = {}

    def inputs(self, i: int) -> np.ndarray:
        return self.lr[list(self.plan[i].inputs)]

    def dense(self, i: int) -> tuple[np.ndarray, float]:
        """Pass ``i``'s dense LR clip and the seconds RIFE took to make it."""
        if i not in self._dense:
            assert self.maker is not None
            _sync(self.device)
            start = time.perf_counter()
            frames = dense_clip(self.inputs(i), self.maker, self.is_cut)
            _sync(self.device)
            self._dense[i] = (frames, time.perf_counter() - start)
        return self._dense[i]

    def mask(self, i: int, dense: bool) -> np.ndarray:
        """SEEM masks of pass ``i``'s dense clip or of its inputs (computed once, outside the timing)."""
        if (i, dense) not in self._masks:
            assert self.masks is not None
            self._masks[(i, dense)] = self.masks(list(self.dense(i)[0] if dense else self.inputs(i)))
        return self._masks[(i, dense)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _run_pass(run: LoadedModel, passes: _Passes, i: int) -> tuple[np.ndarray, float]:
    """``run``'s uint8 outputs of pass ``i``'s scored frames, and the seconds spent (RIFE's included)."""
    p: Pass = passes.plan[i]
    targets = [f - p.first for f in p.scored]
    if run.kind == "spacetime":
        m = passes.mask(i, dense=False) if run.uses_masks else None
        _sync(passes.device)
        start = time.perf_counter()
        out = spacetime_frames(run, passes.inputs(i), targets, m)
        _sync(passes.device)
        return out, time.perf_counter() - start
    dense, rife_seconds = passes.dense(i)
    out, secs = super_resolve(run, dense, targets, masks=passes.mask(i, dense=True) if run.uses_masks else None)
    return out, secs + rife_seconds


def _clip_score(scores: list, seconds: float, peak: int | None) -> SplitClipScore:
    arr = np.asarray(scores, dtype=np.float64)

    def part(sel: np.ndarray) -> PartScore | None:
        return PartScore(float(arr[sel, 0].mean()), float(arr[sel, 1].mean()), int(sel.sum())) if sel.any() else None

    known = arr[:, 2].astype(bool)
    return SplitClipScore(float(arr[:, 0].mean()), float(arr[:, 1].mean()), len(arr), seconds, peak,
                          part(known), part(~known))


def _result(run: LoadedModel, interpolator: str | None) -> SpaceTimeResult:
    cascade = run.kind != "spacetime"
    return SpaceTimeResult(run.label, run.name, run.weights, interpolator=interpolator if cascade else None)


def run_spacetime_bench(dataset: EvalDataset, runs: list[LoadedModel], *, device: torch.device,
                        space: str | None = None, crop_border: int = 0, baseline: LoadedModel | None = None,
                        masks: MaskFn | None = None, mask_source: str | None = None, max_frames: int | None = None,
                        progress: Progress | None = None, precision: str = "fp32", on_output: OnOutput | None = None,
                        interpolator: FrameMaker | None = None,
                        is_cut: Callable[[np.ndarray, np.ndarray], bool] = scene_cut) -> SpaceTimeReport:
    """:func:`seemup.evaluation.run_bench` on the space-time protocol (same arguments). ``interpolator``:
    what makes the cascades' new frames (default: RIFE with its default weights); ``is_cut``: scene cuts."""
    space = space or dataset.default_space
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}")
    same = next((r for r in runs if baseline is not None and (r.name, r.weights) == (baseline.name, baseline.weights)),
                None)
    all_runs = [*([baseline] if baseline is not None and same is None else []), *runs]
    if any(r.uses_masks for r in all_runs) and masks is None:
        raise ValueError("a model uses SEEM masks but no mask function was given")
    if interpolator is None and any(r.kind != "spacetime" for r in all_runs):
        from seemup.pipeline.interpolate import Interpolator

        interpolator = Interpolator(device=device, precision=precision)
    results = {id(r): _result(r, interpolator.weights if interpolator is not None else None) for r in all_runs}
    records: dict[int, Records] = {id(r): ({}, {}, {}) for r in all_runs}
    lr_generated = False
    for seq in my_part(list(iter_sequences(dataset, max_frames))):  # under torchrun: this rank's block
        clip = load_sequence(seq, max_frames)
        check_loaded_clip(seq, len(clip.lr), clip.hr.shape, all_runs, crop_border)
        if len(clip.lr) < WINDOW or seq.centre_only:
            raise UserError(f"clip {seq.name}: the space-time protocol scores every frame of clips of at least "
                            f"{WINDOW} frames, this one has {len(clip.lr)}")
        lr_generated |= clip.lr_generated
        passes = _Passes(clip.lr, interpolator, is_cut, masks, device)
        for run in all_runs:
            sr = _score_sequence(run, passes, clip.hr, records[id(run)], seq.group, space, crop_border)
            if on_output is not None:
                on_output(seq, run, sr, clip.hr)
            if progress is not None:
                progress(len(sr), f"{run.label} · {seq.group}")
    gathered, lr_generated = gather_records([records[id(r)] for r in all_runs], lr_generated, progress)
    for run, (frames, seconds, peaks) in zip(all_runs, gathered, strict=True):  # under torchrun: all ranks'
        for group, scores in frames.items():
            results[id(run)].clips[group] = _clip_score(scores, seconds[group], peaks.get(group) or None)
        results[id(run)].memory_kind = "cuda" if device.type == "cuda" else "rss"
    base = results[id(same if same is not None else baseline)] if baseline is not None else None
    comparable = dataset.name == "Vid4" and space == "y" and crop_border == 0 and max_frames is None
    published = PUBLISHED_VID4 if comparable else ()
    return SpaceTimeReport(dataset, space, crop_border, str(device), [results[id(r)] for r in runs], base,
                           mask_source, max_frames, lr_generated, precision, TIME_FACTOR, published)


def _score_sequence(run: LoadedModel, passes: _Passes, hr: np.ndarray, into: Records, group: str, space: str,
                    crop_border: int) -> np.ndarray:
    """Run ``run`` on one clip and record, under ``group``, each frame's (PSNR, SSIM, known), the seconds and
    the peak memory; returns the outputs (GT order)."""
    device = passes.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sr, seconds = _score_clip(run, passes)
    peak = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else _peak_rss_bytes()
    frames = [(f, p.is_known(f)) for p in passes.plan for f in p.scored]
    into[0][group] = [(psnr(out, hr[f], crop_border, space), ssim(out, hr[f], crop_border, space), known)
                      for out, (f, known) in zip(sr, frames, strict=True)]
    into[1][group] = seconds
    into[2][group] = peak
    return sr


def _score_clip(run: LoadedModel, passes: _Passes) -> tuple[np.ndarray, float]:
    """``run``'s outputs of every scored frame of the clip, in GT order (the passes score ascending frames)."""
    outs, seconds = [], 0.0
    for i in range(len(passes.plan)):
        out, secs = _run_pass(run, passes, i)
        outs.append(out)
        seconds += secs
    return np.concatenate(outs), seconds

