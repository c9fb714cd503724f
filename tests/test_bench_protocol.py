"""The evaluation protocol pieces of `seemup bench`: frame windows, flip_seq, rounding, datasets, averaging."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from seemup.data.eval_datasets import load_sequence, resolve_eval_dataset, scored_frame_count
from seemup.errors import UserError
from seemup.evaluation import LoadedModel, run_bench, super_resolve, window_indices
from seemup.imresize import imresize_uint8
from seemup.metrics import psnr, ssim

CPU = torch.device("cpu")


# ----------------------------------------------------------------------------- frame windows


def test_reflection_circle_windows() -> None:
    assert window_indices(0, 10, 5) == [4, 3, 0, 1, 2]  # BasicSR's documented example
    assert window_indices(1, 10, 5) == [4, 0, 1, 2, 3]
    assert window_indices(9, 10, 5) == [7, 8, 9, 6, 5]
    assert window_indices(8, 10, 5) == [6, 7, 8, 9, 5]
    assert window_indices(5, 10, 7) == [2, 3, 4, 5, 6, 7, 8]
    assert window_indices(0, 10, 7) == [6, 5, 4, 0, 1, 2, 3]
    assert window_indices(0, 3, 7) == [1, 2, 1, 0, 1, 2, 1]  # shorter than the window: mirrored into the clip
    with pytest.raises(ValueError):
        window_indices(0, 10, 4)


# ----------------------------------------------------------------------------- inference


class TimeCode(nn.Module):
    """Recurrent stand-in: output frame t is constant t / (T - 1) (so the pass it came from is visible)."""

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        b, t, c, h, w = lr.shape
        code = torch.arange(t, dtype=lr.dtype) / (t - 1)
        return code.view(1, t, 1, 1, 1).expand(b, t, c, 4 * h, 4 * w).clone()


class Recorder(nn.Module):
    """Window stand-in: remembers which frames it saw (frames encode their index), returns 2x the centre."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[int]] = []

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        self.seen.append([round(v) for v in (lr[0, :, 0, 0, 0] * 255).tolist()])
        centre = lr[:, lr.shape[1] // 2]
        return (2 * centre).repeat_interleave(4, -1).repeat_interleave(4, -2)


def clip_of(values: list[int], h: int = 4, w: int = 5) -> np.ndarray:
    return np.stack([np.full((h, w, 3), v, np.uint8) for v in values])


def test_flip_seq_averages_both_directions() -> None:
    run = LoadedModel.of(TimeCode(), "t")
    lr = clip_of([10] * 7)
    plain, _ = super_resolve(run, lr, [3])
    assert plain.shape == (1, 16, 20, 3) and plain.dtype == np.uint8
    assert plain[0, 0, 0, 0] == round(3 / 6 * 255)
    flipped, _ = super_resolve(run, lr, [3, 0], flip_seq=True)
    # 14-frame pass: centre output 3/13, mirrored partner index 10 -> 10/13; average 0.5 -> 127.5 -> 128 (even)
    assert flipped[0, 0, 0, 0] == 128
    assert flipped[1, 0, 0, 0] == round(0.5 * (0 + 13 / 13) * 255)


def test_window_model_sees_reflection_circle_and_output_is_clamped() -> None:
    rec = Recorder()
    run = LoadedModel.of(rec, "w", "window", 5)
    lr = clip_of([0, 10, 20, 30, 200, 250])
    out, secs = super_resolve(run, lr, list(range(6)))
    assert rec.seen[0] == [200, 30, 0, 10, 20]  # indices [4, 3, 0, 1, 2]
    assert rec.seen[5] == [30, 200, 250, 20, 10]  # indices [3, 4, 5, 2, 1]
    assert [int(o[0, 0, 0]) for o in out] == [0, 20, 40, 60, 255, 255]  # 2x, clamped to [0, 1] then rounded
    assert secs >= 0


# ----------------------------------------------------------------------------- datasets


def real_frames(n: int, h: int = 32, w: int = 48, seed: int = 0) -> np.ndarray:
    """Smooth, textured frames (not flat: resizing must matter)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


def write_clip(folder: Path, frames: np.ndarray, pattern: str = "{:08d}.png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / pattern.format(i)), f[..., ::-1])


def test_vid4_layout_shipped_lr_is_used_as_is(tmp_path: Path) -> None:
    hr = real_frames(3)
    write_clip(tmp_path / "GT" / "a", hr)
    write_clip(tmp_path / "GT" / "b", hr[:2])
    shipped = np.stack([imresize_uint8(f, 1 / 4) for f in hr]) // 2  # deliberately not what we would make
    write_clip(tmp_path / "BIx4" / "a", shipped)
    ds = resolve_eval_dataset(tmp_path)
    assert [s.name for s in ds.sequences] == ["a", "b"] and ds.default_space == "y"
    a = load_sequence(ds.sequences[0])
    assert not a.lr_generated and np.array_equal(a.lr, shipped) and np.array_equal(a.hr, hr)
    b = load_sequence(ds.sequences[1])
    assert b.lr_generated and np.array_equal(b.lr, np.stack([imresize_uint8(f, 1 / 4) for f in hr[:2]]))
    assert "shipped LR for 1/2" in ds.lr_note
    assert load_sequence(ds.sequences[0], max_frames=2).lr.shape[0] == 2
    assert scored_frame_count(ds) == 5 and scored_frame_count(ds, 1) == 2


def test_plain_folders_natural_order_and_mod_crop(tmp_path: Path) -> None:
    hr = real_frames(11, 34, 50)
    write_clip(tmp_path / "clipA", hr, "frame{}.png")  # frame2 before frame10
    ds = resolve_eval_dataset(tmp_path)
    data = load_sequence(ds.sequences[0])
    assert np.array_equal(data.hr, hr[:, :32, :48])  # cropped to a multiple of 4
    assert data.lr.shape == (11, 8, 12, 3)
    single = resolve_eval_dataset(tmp_path / "clipA")
    assert single.sequences[0].name == "clipA" and len(single.sequences[0].hr_paths) == 11


def test_video_file_dataset(tmp_path: Path) -> None:
    import imageio_ffmpeg

    path = tmp_path / "v.mp4"
    gen = imageio_ffmpeg.write_frames(str(path), (48, 32), fps=10, quality=None, bitrate="2M",
                                      macro_block_size=1, ffmpeg_log_level="error")
    gen.send(None)
    for f in real_frames(4):
        gen.send(np.ascontiguousarray(f))
    gen.close()
    ds = resolve_eval_dataset(path)
    data = load_sequence(ds.sequences[0], max_frames=3)
    assert data.hr.shape == (3, 32, 48, 3) and data.lr.shape == (3, 8, 12, 3) and data.lr_generated


def test_named_datasets_missing_and_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEMUP_DATA_ROOT", raising=False)
    with pytest.raises(UserError, match=r"Vid4/GT/<clip>.*github.com/XPixelGroup/BasicSR"):
        resolve_eval_dataset("vid4", tmp_path)
    with pytest.raises(UserError, match="seungjunnah"):
        resolve_eval_dataset("reds4", tmp_path)
    with pytest.raises(UserError, match="toflow"):
        resolve_eval_dataset("vimeo90k-t", tmp_path)
    for clip in ("000", "011", "015", "020"):
        write_clip(tmp_path / "REDS" / "train_sharp" / clip, real_frames(2))
    monkeypatch.setenv("SEEMUP_DATA_ROOT", str(tmp_path))
    ds = resolve_eval_dataset("REDS4")
    assert ds.name == "REDS4" and ds.default_space == "rgb" and len(ds.sequences) == 4
    assert any("published set has 100" in w for w in ds.warnings)
    with pytest.raises(UserError, match="not found"):
        resolve_eval_dataset(tmp_path / "nope")


def test_unsupported_frames_are_refused(tmp_path: Path) -> None:
    f16 = (real_frames(1)[0].astype(np.uint16) * 257)
    (tmp_path / "c").mkdir()
    cv2.imwrite(str(tmp_path / "c" / "0.png"), f16)
    ds = resolve_eval_dataset(tmp_path)
    with pytest.raises(UserError, match="8-bit"):
        load_sequence(ds.sequences[0])


def vimeo_tree(root: Path, n: int) -> list[np.ndarray]:
    """A tiny Vimeo-90K-T in BasicSR's layout: n septuplets im1..im7 and sep_testlist.txt (no LR)."""
    sept = root / "vimeo90k" / "vimeo_septuplet"
    names = [f"00001/{i:04d}" for i in range(1, n + 1)]
    clips = []
    for k, name in enumerate(names):
        frames = real_frames(7, seed=k)
        (sept / "sequences" / name).mkdir(parents=True)
        for i, f in enumerate(frames):
            cv2.imwrite(str(sept / "sequences" / name / f"im{i + 1}.png"), f[..., ::-1])
        clips.append(frames)
    (sept / "sep_testlist.txt").write_text("\n".join(names) + "\n")
    return clips


def bicubic_run() -> LoadedModel:
    from seemup.models import create_model

    return LoadedModel.of(create_model("bicubic"), "bicubic")


def test_vimeo_centre_frame_one_group(tmp_path: Path) -> None:
    clips = vimeo_tree(tmp_path, 3)
    ds = resolve_eval_dataset("vimeo90k-t", tmp_path)
    assert ds.groups == ["vimeo90k-t"] and all(s.score_frames == (3,) for s in ds.sequences)
    report = run_bench(ds, [bicubic_run()], device=CPU, space="y")
    res = report.results[0]
    assert res.clips["vimeo90k-t"].frames == 3
    expect = []
    for frames in clips:
        lr = np.stack([imresize_uint8(f, 1 / 4) for f in frames])
        expect.append(psnr(imresize_uint8(lr[3], 4), frames[3]))
    assert res.psnr == pytest.approx(np.mean(expect), abs=1e-3)
    assert scored_frame_count(ds, 2) == 2


def test_clip_average_first_then_over_clips(tmp_path: Path) -> None:
    write_clip(tmp_path / "GT" / "long", real_frames(4, seed=1))
    write_clip(tmp_path / "GT" / "short", real_frames(2, seed=2))
    ds = resolve_eval_dataset(tmp_path)
    report = run_bench(ds, [bicubic_run()], device=CPU, space="rgb", crop_border=2)
    res = report.results[0]
    per_frame = {}
    for seq in ds.sequences:
        d = load_sequence(seq)
        per_frame[seq.name] = [(psnr(imresize_uint8(lr, 4), gt, 2, "rgb"), ssim(imresize_uint8(lr, 4), gt, 2, "rgb"))
                               for lr, gt in zip(d.lr, d.hr, strict=True)]
    clip_means = {k: np.mean(v, axis=0) for k, v in per_frame.items()}
    for k, (p, s) in clip_means.items():
        assert res.clips[k].psnr == pytest.approx(p, abs=1e-3) and res.clips[k].ssim == pytest.approx(s, abs=1e-5)
    assert res.psnr == pytest.approx(np.mean([m[0] for m in clip_means.values()]), abs=1e-3)
    all_frames = np.mean([f[0] for v in per_frame.values() for f in v])
    assert abs(res.psnr - all_frames) > 1e-3  # a frame-weighted mean would differ
