"""`seemup train --model safa`: the recipe's defaults, exact resume, each output asked for at its own time,
SEEM-only tuning of safa-seem, masks of both input frames, and validation on held-out windows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from test_safa_training import SPAN, TimeCodedClip
from train_helpers import params, run

from seemup.data.spacetime_windows import SpaceTimeWindows, WindowSpec
from seemup.data.train_masks import prepare_clip_masks
from seemup.errors import UserError
from seemup.models import create_model, load_weights
from seemup.training import build_config
from seemup.training.scheduler import WarmupCosineLR, warmup_cosine
from seemup.training.spacetime import param_groups
from seemup.training.spacetime_trainer import SpaceTimeTrainer
from seemup.training.validate import SpaceTimeValidator

pytestmark = pytest.mark.usefixtures("isolated_caches")

# Tiny: windows of 3 frames (frames 0 and 2 in), 8 px LR / 32 px HR crops, batch 1.
TINY_ST = dict(model="safa", iters=4, periods=[4], warmup=1, batch_size=1, num_frames=3, patch_size=8, workers=0,
               save_every=2, log_every=1, quiet=True, seed=3)


def test_recipe_defaults_and_refusals() -> None:
    cfg, _, _ = build_config({"model": "safa", "data": ["x"]})
    assert (cfg.lr, cfg.eta_min, cfg.warmup, cfg.iters, cfg.batch_size) == (2e-4, 2e-6, 2000, 300_000, 6)
    assert (cfg.num_frames, cfg.patch_size, cfg.betas, cfg.weight_decay, cfg.grad_clip) == (9, 32, (0.9, 0.999),
                                                                                            1e-4, 1.0)
    assert cfg.targets is None and cfg.periods == [300_000]
    basic, _, _ = build_config({"model": "basicvsr", "data": ["x"]})
    assert (basic.grad_clip, basic.weight_decay, basic.patch_size, basic.warmup) == (0.0, 0.0, 64, 0)
    for bad, message in [({"teacher": "basicvsr"}, "does not apply"), ({"periods": [5, 5], "iters": 10}, "one period"),
                         ({"targets": 1}, "at least its 2 input"), ({"num_frames": 1}, "at least 2 frames"),
                         ({"warmup": 10, "iters": 10}, "leaves no cosine"), ({"mix": "a=1"}, "does not apply")]:
        with pytest.raises(UserError, match=message):
            build_config({"model": "safa", "data": ["x"], **bad})
    with pytest.raises(UserError, match="space-time"):
        build_config({"model": "basicvsr", "data": ["x"], "warmup": 5})


def test_schedule_keeps_the_head_at_a_tenth_of_the_reference_curve() -> None:
    model = create_model("safa")
    opt = torch.optim.AdamW(param_groups(model, 2e-4), lr=2e-4)
    sched = WarmupCosineLR(opt, 3, 10, 2e-4, 2e-6)
    for step in range(12):
        main, head = (g["lr"] for g in opt.param_groups)
        assert main == pytest.approx(warmup_cosine(step, 3, 10, 2e-4, 2e-6)) and head == pytest.approx(main * 0.1)
        opt.step()
        sched.step()
    assert [g["name"] for g in opt.param_groups] == ["main", "head"]


def test_train_resumes_exactly_and_exports_weights_safa_loads(clips: Path, tmp_path: Path) -> None:
    common = {**TINY_ST, "data": [str(clips)], "cache_dir": str(tmp_path / "c")}
    straight = run({**common, "run_dir": str(tmp_path / "a"), "val_data": str(clips / "bedroom"), "val_every": 4,
                    "val_frames": 5, "val_crop": "64x48"})
    assert straight.val_psnr is not None and 8 < straight.val_psnr < 50
    run({**common, "run_dir": str(tmp_path / "b"), "iters": 2, "val_data": str(clips / "bedroom"),
         "val_every": 4, "val_frames": 5, "val_crop": "64x48"})
    resumed = run({"iters": 4}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)
    start = create_model("safa").state_dict()
    assert any(not torch.equal(a[k], start[k]) for k in a if k.endswith("weight"))
    losses = [r["loss"] for r in csv.DictReader((tmp_path / "b" / "train_log.csv").open())]
    assert losses == [r["loss"] for r in csv.DictReader((tmp_path / "a" / "train_log.csv").open())]
    model = load_weights(create_model("safa"), straight.weights)  # strict
    assert all(torch.equal(v, a[k]) for k, v in model.state_dict().items())


class TimeRecorder(torch.nn.Module):
    """Records the times it is asked for and answers zeros of the right shape."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[float]] = []

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts, masks=None) -> torch.Tensor:  # noqa: ANN001
        self.asked.append([float(t) for t in ts])
        b, _, h, w = lr0.shape
        return torch.zeros(b, len(self.asked[-1]), 3, 4 * h, 4 * w)


def test_each_supervised_frame_is_asked_for_at_its_own_time(clips: Path, tmp_path: Path) -> None:
    cfg, _, _ = build_config({**TINY_ST, "data": [str(clips)], "num_frames": 5, "targets": 3,
                              "cache_dir": str(tmp_path / "c"), "run_dir": str(tmp_path / "r")})
    trainer = SpaceTimeTrainer(cfg)
    trainer.net = recorder = TimeRecorder()
    drawn = []
    for it in range(6):
        trainer.iteration = it
        targets = trainer.targets_of(it)
        assert targets == trainer.targets_of(it) and len(targets) == 3 and targets[0] == 0 and targets[-1] == 4
        batch = {k: v[None].float() / 255 for k, v in trainer.dataset[it].items()}
        loss = trainer._loss(batch)
        assert recorder.asked[-1] == [k / 4 for k in targets]
        assert loss.item() == pytest.approx(batch["hr"][:, targets].mean().item(), rel=1e-6)  # zeros vs frames
        drawn.append(targets[1])
    assert len(set(drawn)) > 1  # the frame between the ends changes from step to step


class _FakeMasks:
    """Pointwise masks (mask k = red > 4k), so the masks of a crop can be checked against its LR pixels."""

    id = "fake-threshold-v1"

    def batch(self, frames: list[np.ndarray]) -> np.ndarray:
        return np.stack([(f[None, :, :, 0] > 4 * np.arange(64)[:, None, None]).astype(np.uint8) for f in frames])


def test_windows_carry_the_masks_of_both_input_frames_in_order(tmp_path: Path) -> None:
    clip = TimeCodedClip()
    masks = [prepare_clip_masks(clip, _FakeMasks(), tmp_path)]
    ds = SpaceTimeWindows([clip], WindowSpec(SPAN, 16), batch_size=1, seed=0, masks=masks)
    seen = set()
    for i in range(16):
        item, d = ds[i], ds.draw(i)
        seen.add((d["reverse"], d["hflip"], d["vflip"]))
        expect = _FakeMasks().batch(list(item["lr"].permute(0, 2, 3, 1).numpy()))
        assert item["masks"].shape == (2, 64, 4, 4) and np.array_equal(item["masks"].numpy(), expect)
    assert len({s[0] for s in seen}) == 2 and len(seen) > 3


def test_safa_seem_tunes_only_seem_with_a_frozen_backbone(clips: Path, tmp_path: Path) -> None:
    first = run({**TINY_ST, "iters": 1, "periods": [1], "warmup": 0, "data": [str(clips)],
                 "run_dir": str(tmp_path / "a"), "cache_dir": str(tmp_path / "c")})
    tuned = run({**TINY_ST, "model": "safa-seem", "mode": "finetune", "weights": str(first.weights),
                 "freeze_backbone": True, "masks": "classical", "iters": 2, "periods": [2], "data": [str(clips)],
                 "run_dir": str(tmp_path / "b"), "cache_dir": str(tmp_path / "c")})
    before, after = params(first.weights), params(tuned.weights)
    assert all(torch.equal(before[k], after[k]) for k in before)  # the backbone bit for bit
    seem = [k for k in after if k.startswith("seem.")]
    fresh = create_model("safa-seem").state_dict()
    assert seem and any(not torch.equal(after[k], fresh[k]) for k in seem)
    assert tuned.trainable_params == sum(after[k].numel() for k in seem) < tuned.total_params


def test_validation_scores_every_frame_of_windows_sharing_their_ends(clips: Path, tmp_path: Path) -> None:
    val = SpaceTimeValidator(clips / "bedroom", span=2, hr_downscale=1, cache_dir=tmp_path, max_frames=6)
    recorder = TimeRecorder()
    score = val.run(recorder, torch.device("cpu"))
    assert recorder.asked == [[0.0, 0.5], [0.0, 0.5, 1.0]]  # frames 0-1, then 2-4; frame 5 makes no window
    assert len(val.hr) == 5 and len(val.lr) == 3 and np.isfinite(score)
    with pytest.raises(UserError, match="a window needs 9"):
        SpaceTimeValidator(clips / "bedroom", span=8, hr_downscale=1, cache_dir=tmp_path, max_frames=6)
