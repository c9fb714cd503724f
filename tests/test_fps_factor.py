"""--fps-factor: N times the frames over the same span, new frames made in LR before the x4 model; no blend
across a scene cut; the last frame repeated; chunking changes nothing; audio kept in sync."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from footage import DATA

from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions, plan_chunks, upscale_video
from seemup.pipeline.interpolate import Interpolator
from seemup.pipeline.processors import InterpolatingProcessor, RecurrentProcessor
from seemup.pipeline.scenecut import is_cut
from seemup.runtime import ModelRunner
from seemup.video import probe, read_frames

CLIP = DATA / "dog64x36.mp4"  # 10 frames of real footage with an audio track


class NearestX4(torch.nn.Module):
    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        return lr.repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)


class MeanInterpolator:
    """Stands in for RIFE: the frame at t is the pixel blend (1 - t) a + t b; records every pair it is asked.
    Around it, the interpolator's own rules (cuts, the last frame)."""

    frames_after = Interpolator.frames_after

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def between(self, a: np.ndarray, b: np.ndarray, ts: list[float]) -> list[np.ndarray]:
        self.calls.append((int(a[0, 0, 0]), int(b[0, 0, 0])))
        return [np.round((1 - t) * a.astype(np.float64) + t * b).astype(np.uint8) for t in ts]


def _run(frames: list[np.ndarray], factor: int, chunk: int, overlap: int, cut=lambda a, b: False):  # noqa: ANN001, ANN202
    interp = MeanInterpolator()
    proc = InterpolatingProcessor(RecurrentProcessor(ModelRunner(NearestX4(), torch.device("cpu"))),
                                  interp.frames_after, factor, cut)
    lr = dict(enumerate(frames))
    out = []
    for c in plan_chunks(len(frames), chunk, overlap):
        out += [f[::4, ::4] for f in proc.frames(c, lr, None, len(frames))]
    return out, interp, proc


def _flat(values: list[int]) -> list[np.ndarray]:
    return [np.full((4, 6, 3), v, np.uint8) for v in values]


def test_new_frames_sit_between_their_pair_and_the_last_frame_is_repeated() -> None:
    out, _, _ = _run(_flat([0, 40, 80]), factor=4, chunk=10, overlap=0)
    assert [int(f[0, 0, 0]) for f in out] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 80, 80, 80]


def test_chunks_give_the_same_frames_and_each_pair_is_interpolated_once() -> None:
    frames = _flat(list(range(0, 200, 20)))
    whole, _, _ = _run(frames, factor=3, chunk=100, overlap=0)
    chunked, interp, _ = _run(frames, factor=3, chunk=3, overlap=2)
    assert len(chunked) == 30 and all(np.array_equal(a, b) for a, b in zip(whole, chunked, strict=True))
    assert len(interp.calls) == len(set(interp.calls)) == 9  # the pairs spanning chunk boundaries: once


def test_no_blend_across_a_scene_cut() -> None:
    """Two real shots joined: the new frames at the join repeat the nearer shot's frame."""
    def shot(folder: str) -> list[np.ndarray]:
        return [np.ascontiguousarray(cv2.imread(str(p))[:36, :64, ::-1]) for p in sorted((DATA / folder).glob("*.png"))]

    a, b = shot("clips/01_dog")[:3], shot("clips/bedroom")[:3]
    out, interp, proc = _run(a + b, factor=4, chunk=2, overlap=1, cut=is_cut)
    assert proc.cuts == 1 and len(interp.calls) == 4  # 5 pairs, one of them a cut
    join = 4 * (len(a) - 1)  # the last frame of shot a, then t = 1/4, 2/4 (repeats of it), 3/4 (of b's first)
    assert all(np.array_equal(out[join + k], a[-1]) for k in (0, 1, 2))
    assert np.array_equal(out[join + 3], b[0]) and np.array_equal(out[join + 4], b[0])


def test_timeline_is_split_exactly() -> None:
    info = probe(CLIP)
    dense = info.with_fps_factor(3)
    assert dense.num_frames == 3 * info.num_frames and dense.fps == 3 * info.fps
    assert dense.pts[::3] == tuple(p * 3 for p in info.pts) and dense.time_base == info.time_base / 3
    assert dense.timing().end * dense.time_base == info.timing().end * info.time_base  # the same duration
    steps = np.diff(np.array(dense.pts, dtype=np.int64))
    assert steps.min() > 0


@pytest.mark.slow
def test_upscale_with_rife_keeps_duration_audio_and_equals_a_whole_clip_run(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    whole = upscale_video(CLIP, tmp_path / "whole", UpscaleOptions(model="bicubic", fps_factor=2, chunk=100))
    assert whole.frames == 20 and any("rife-v4.0" in n for n in whole.notes)
    upscale_video(CLIP, tmp_path / "chunked", UpscaleOptions(model="bicubic", fps_factor=2, chunk=3))
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert len(names) == 20 and names == sorted(p.name for p in (tmp_path / "chunked").iterdir())
    assert all(np.array_equal(cv2.imread(str(tmp_path / "whole" / n)), cv2.imread(str(tmp_path / "chunked" / n)))
               for n in names)
    # the known frames are the bicubic model's own output; a new one differs from both neighbours
    with read_frames(tmp_path / "whole") as r:
        out = list(r)
    assert not np.array_equal(out[1], out[0]) and not np.array_equal(out[1], out[2])
    video = tmp_path / "o.mp4"
    upscale_video(CLIP, video, UpscaleOptions(model="bicubic", fps_factor=2, chunk=4))
    src, dst = probe(CLIP), probe(video)
    assert dst.num_frames == 20 and dst.fps == 2 * src.fps and dst.has_audio
    assert abs(Fraction(dst.duration).limit_denominator() - Fraction(src.duration).limit_denominator()) < 0.01


def test_bad_factor_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--fps-factor"):
        upscale_video(CLIP, tmp_path / "o.mp4", UpscaleOptions(model="bicubic", fps_factor=0))


class BlendX4(torch.nn.Module):
    """Stands in for SAFA: the frame at t is (1 - t) lr0 + t lr1, repeated x4."""

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts: list[float], masks: torch.Tensor | None = None
                ) -> torch.Tensor:
        out = torch.stack([(1 - t) * lr0 + t * lr1 for t in ts], 1)
        return out.repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)


@pytest.mark.parametrize("chunk", [1, 2, 10])
def test_space_time_model_gives_n_frames_per_pair_and_repeats_the_last(chunk: int) -> None:
    from seemup.pipeline.processors import SpaceTimeProcessor

    frames = _flat([0, 40, 80])
    proc = SpaceTimeProcessor(ModelRunner(BlendX4(), torch.device("cpu")), 4)
    out = []
    for c in plan_chunks(3, chunk, proc.context(0)):
        out += [int(f[0, 0, 0]) for f in proc.frames(c, dict(enumerate(frames)), None, 3)]
    assert out == [0, 10, 20, 30, 40, 50, 60, 70, 80, 80, 80, 80]


def test_space_time_model_needs_a_factor(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--fps-factor 2"):
        upscale_video(CLIP, tmp_path / "o.mp4", UpscaleOptions(model="safa"))
