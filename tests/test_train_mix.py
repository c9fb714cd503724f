"""The shipped basicvsr-lite recipe's pieces in `seemup train`: .npz clips, --mix (samples by group share from one
replayable stream, LR cut from the full frame, time reversal), --teacher-flows student, Y/crop validation, bf16."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import TINY, params, run

from seemup.data.train_clips import discover_clips, lr_frame, open_clip
from seemup.data.train_datasets import SampleSpec, VideoTrainDataset, augment
from seemup.data.train_lr import prepare_clip_lr
from seemup.data.train_mix import MixedSampler, assign_groups, group_of, parse_mix, split_group
from seemup.errors import UserError
from seemup.imresize import imresize_uint8
from seemup.models import create_model
from seemup.training import Trainer, build_config

pytestmark = pytest.mark.usefixtures("isolated_caches")


def _frames(folder: Path) -> np.ndarray:
    from seemup.video.frame_dir import read_image_rgb

    return np.stack([read_image_rgb(p) for p in sorted(folder.glob("*.png"))])


@pytest.fixture(scope="module")
def extra(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """.npz clips as scripts/make_lite_extra_data.py writes them: two photo clips, one video clip, the cup clip."""
    out = tmp_path_factory.mktemp("extra")
    dog, bedroom = _frames(clips / "01_dog"), _frames(clips / "bedroom")
    for name, hr in [("photo-dog-0", dog), ("photo-dog-1", dog[::-1]), ("video-bedroom", bedroom),
                     ("video-cup", bedroom[:, ::-1])]:
        np.savez(out / f"{name}.npz", hr=hr, lr=np.stack([imresize_uint8(f, 0.25) for f in hr]))
    return out


def test_npz_clips_are_found_cached_and_checked(extra: Path, tmp_path: Path) -> None:
    refs = discover_clips(extra)
    assert [(r.name, r.kind) for r in refs] == [("photo-dog-0", "npz"), ("photo-dog-1", "npz"),
                                                ("video-bedroom", "npz"), ("video-cup", "npz")]
    clip = open_clip(refs[2], 2, tmp_path)  # already HR: --hr-downscale does not apply
    with np.load(extra / "video-bedroom.npz") as d:
        assert np.array_equal(clip.frame(3), d["hr"][3]) and (clip.num_frames, clip.height) == (6, 96)
        assert np.array_equal(np.asarray(prepare_clip_lr(clip, tmp_path).array), d["lr"])
    assert len(list((tmp_path / "clips").glob("*.u8"))) == 1
    np.savez(tmp_path / "bad.npz", frames=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(UserError, match="'hr' array"):
        open_clip(discover_clips(tmp_path / "bad.npz")[0], 1, tmp_path)


def test_groups_and_mix_options() -> None:
    assert split_group("photo=data/x") == ("photo", "data/x") and split_group("data/x") == ("", "data/x")
    assert split_group("a/b=c") == ("", "a/b=c")  # not a group name: a path with '='
    assert group_of("photo-Kite-0", "") == "photo" and group_of("01_dog", "footage") == "footage"
    assert parse_mix("footage=0.35,photo=0.45,video=0.2") == [("footage", 0.35), ("photo", 0.45), ("video", 0.2)]
    for bad in ("footage", "footage=x", "a=1,a=2", "a=0", "a=-1"):
        with pytest.raises(UserError, match="--mix"):
            parse_mix(bad)
    groups, shares, notes = assign_groups(parse_mix("a=1,b=2,c=3"), ["b", "a", "b"])
    assert (groups, shares) == ([[1], [0, 2]], [1.0, 2.0]) and "group c has no clips" in notes[0]
    with pytest.raises(UserError, match="group.*x"):
        assign_groups(parse_mix("a=1"), ["a", "x"])
    with pytest.raises(UserError, match="--teacher-flows student"):
        build_config({"model": "basicvsr-tiny", "data": ["d"], "teacher_flows": "student"})
    with pytest.raises(UserError, match="--val-crop"):
        build_config({"model": "basicvsr-tiny", "data": ["d"], "val_crop": "321x180"})


def test_mixed_sampler_draws_in_the_recipe_order_and_replays_on_resume() -> None:
    """The order of the draws is the shipped recipe's (its weights came from this stream): group by share, clip
    within the group, start frame, crop corner, then four coins. A resumed sampler replays the stream."""
    shapes = [(10, 20, 30), (6, 12, 12), (9, 16, 16)]
    sampler = MixedSampler([[0, 1], [2]], [0.7, 0.3], shapes, num_frames=3, patch=8, seed=4, rank=0,
                           start_iteration=0, total_iterations=500, batch_size=2)
    draws = list(sampler)
    rng = np.random.default_rng(4)
    for d in draws[:20]:
        group = [[0, 1], [2]][rng.choice(2, p=np.array([0.7, 0.3]))]
        clip = group[rng.integers(len(group))]
        t, h, w = shapes[clip]
        want = {"clip": clip, "start": rng.integers(0, t - 2), "top": rng.integers(0, h - 7),
                "left": rng.integers(0, w - 7)}
        want.update({k: rng.random() < 0.5 for k in ("hflip", "vflip", "transpose", "reverse")})
        assert d == want
    assert 0.65 < np.mean([d["clip"] != 2 for d in draws]) < 0.75
    assert all(0 <= d["top"] <= shapes[d["clip"]][1] - 8 and 0 <= d["start"] <= shapes[d["clip"]][0] - 3
               for d in draws)
    resumed = MixedSampler([[0, 1], [2]], [0.7, 0.3], shapes, 3, 8, 4, 0, start_iteration=7, total_iterations=500,
                           batch_size=2)
    assert list(resumed) == draws[14:] and len(resumed) == len(draws) - 14
    other_rank = MixedSampler([[0, 1], [2]], [0.7, 0.3], shapes, 3, 8, 4, 1, 0, 500, 2)
    assert list(other_rank)[:10] != draws[:10]


def test_mixed_samples_cut_lr_from_the_full_frame_and_reverse_time(clips: Path, tmp_path: Path) -> None:
    clip = open_clip(discover_clips(clips / "01_dog")[0], 1, tmp_path)
    lrs = [prepare_clip_lr(clip, tmp_path)]
    flows = np.random.default_rng(0).standard_normal((2, 5, 2, 24, 32)).astype(np.float16)

    class Flows:
        def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
            return flows[:, start:start + count - 1, :, top:top + size, left:left + size]

    ds = VideoTrainDataset([clip], SampleSpec(4, 16), batch_size=1, seed=0, flows=[[Flows()]], lrs=lrs)
    d = {"clip": 0, "start": 1, "top": 8, "left": 4, "hflip": True, "vflip": False, "transpose": True,
         "reverse": False}
    item, back = ds[d], ds[{**d, "reverse": True}]
    full_lr = np.stack([lr_frame(clip, i) for i in range(1, 5)])[:, 8:24, 4:20]
    assert np.array_equal(item["lr"].numpy(), augment(full_lr, True, False, True, h_axis=1).transpose(0, 3, 1, 2))
    from_crop = np.stack([imresize_uint8(np.ascontiguousarray(f), 0.25) for f in item["hr"].permute(0, 2, 3, 1)])
    assert not np.array_equal(from_crop, item["lr"].permute(0, 2, 3, 1).numpy())  # the border differs
    assert torch.equal(back["lr"], item["lr"].flip(0)) and torch.equal(back["hr"], item["hr"].flip(0))
    assert torch.equal(back["flows"][:, 0], item["flows"][:, 1].flip(1))  # forward <-> backward, time reversed
    assert torch.equal(back["flows"][:, 1], item["flows"][:, 0].flip(1))


@pytest.mark.slow
def test_mixed_run_with_npz_clips_resumes_exactly_and_validates_on_a_y_crop(clips: Path, extra: Path,
                                                                             tmp_path: Path) -> None:
    common = {**TINY, "model": "basicvsr-tiny", "data": [f"footage={clips / '01_dog'}", str(extra)],
              "mix": "footage=0.3,photo=0.5,video=0.2", "val_data": str(extra / "video-cup.npz"), "val_space": "y",
              "val_crop": "64x48", "val_every": 2, "val_frames": 3, "cache_dir": str(tmp_path / "c")}
    straight = run({**common, "run_dir": str(tmp_path / "a")})
    run({**common, "run_dir": str(tmp_path / "b"), "iters": 2})
    resumed = run({"iters": 4}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader((tmp_path / "a" / "train_log.csv").open()))
    assert [r["loss"] for r in rows] == [r["loss"] for r in csv.DictReader((tmp_path / "b" / "train_log.csv").open())]
    assert rows[1]["val_psnr"] and straight.val_psnr is not None
    with pytest.raises(UserError, match="group.*01_dog"):
        run({**common, "run_dir": str(tmp_path / "x"), "data": [str(clips / "01_dog"), str(extra)]})


def test_validation_crop_and_space(extra: Path, tmp_path: Path) -> None:
    from seemup.metrics import psnr
    from seemup.training.validate import Validator

    val = Validator(extra / "video-cup.npz", hr_downscale=1, cache_dir=tmp_path, max_frames=3, space="y",
                    crop=(64, 48))
    with np.load(extra / "video-cup.npz") as d:
        assert np.array_equal(val.hr, d["hr"][:3, :48, :64]) and np.array_equal(val.lr, d["lr"][:3, :12, :16])
    model = create_model("bicubic")
    score = val.run(model, torch.device("cpu"))
    bicubic = [imresize_uint8(f, 4) for f in val.lr]
    assert score == pytest.approx(np.mean([psnr(o, h, space="y") for o, h in zip(bicubic, val.hr, strict=True)]),
                                  abs=0.05)


def test_teacher_can_use_the_students_flows() -> None:
    """--teacher-flows student: one flow set, handed to both networks; 'own': one set per SPyNet."""
    from types import SimpleNamespace

    torch.manual_seed(1)
    student, teacher = create_model("basicvsr-tiny"), create_model("basicvsr-tiny")  # two SPyNets
    for flows, slots in [("student", (0, 0)), ("own", (0, 1))]:
        trainer = SimpleNamespace(model=student, teacher=teacher, cfg=SimpleNamespace(teacher_flows=flows),
                                  device=torch.device("cpu"))
        fns, got = Trainer._flow_functions(trainer)
        assert got == slots and len(fns) == len(set(slots))


@pytest.mark.slow
def test_amp_on_the_cpu_is_bfloat16(clips: Path, tmp_path: Path) -> None:
    # SPyNet's flows precomputed (in float32, outside the step): bfloat16 convolutions are slow on CPUs without it
    cfg, _, _ = build_config({**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "amp": True, "iters": 1,
                              "periods": [1], "precompute_flows": True, "fix_flow_iters": 1,
                              "run_dir": str(tmp_path / "r"), "cache_dir": str(tmp_path / "c")})
    trainer = Trainer(cfg)
    dtypes = []
    trainer.model.conv_last.register_forward_hook(lambda _m, _i, out: dtypes.append(out.dtype))
    result = trainer.run()
    assert dtypes and set(dtypes) == {torch.bfloat16} and not trainer.scaler.is_enabled()
    assert np.isfinite(result.last_loss)
