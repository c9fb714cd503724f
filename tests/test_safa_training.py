"""Space-time training: windows, time reversal, each output supervised at its own t, the reference's schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seemup.data.spacetime_windows import SpaceTimeWindows, WindowSpec
from seemup.data.train_clips import Clip
from seemup.imresize import imresize_uint8
from seemup.training import build_config
from seemup.training.scheduler import warmup_cosine
from seemup.training.spacetime import choose_targets, spacetime_loss_for, window_times
from seemup.training.spacetime_trainer import SpaceTimeTrainer

torch.set_num_threads(1)
SPAN = 5  # k / 5 * 255 = 51 k: every time's value is an exact 8-bit level


class TimeCodedClip(Clip):
    """Frame i: value 51 * i (so frame k of a window starting at 0 holds t = k / 5 exactly), plus a mark in the
    top-left corner that shows flips."""

    name, key = "coded", "coded"

    def __init__(self, frames: int = SPAN + 1, size: int = 16) -> None:
        self.num_frames, self.height, self.width = frames, size, size

    def frame(self, index: int) -> np.ndarray:
        img = np.full((self.height, self.width, 3), 51 * index, dtype=np.uint8)
        img[:4, :4] = 255 - 51 * index
        return img


class TimeEcho(torch.nn.Module):
    """A stand-in whose output at t is the flat frame of value t: right exactly when output j is at ts[j]."""

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts) -> torch.Tensor:  # noqa: ANN001
        b, _, h, w = lr0.shape
        return torch.tensor(list(ts)).view(1, -1, 1, 1, 1).expand(b, -1, 3, 4 * h, 4 * w)


class FixedGrid(TimeEcho):
    """The reference's training forward: ignores the requested times and returns t = 0, 1/K, 2/K, ..."""

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts) -> torch.Tensor:  # noqa: ANN001
        return super().forward(lr0, lr1, window_times(SPAN)[:len(list(ts))])


def _flat_batch(reverse: bool = False) -> dict[str, torch.Tensor]:
    """Windows of flat frames at times 0, 1/5, ..., 1 (reversed: 1, 4/5, ..., 0), as SpaceTimeWindows gives them."""
    levels = [51 * k for k in range(SPAN + 1)]
    levels = levels[::-1] if reverse else levels
    hr = torch.tensor(levels, dtype=torch.uint8).view(1, -1, 1, 1, 1).expand(2, -1, 3, 8, 8).clone()
    return {"hr": hr, "lr": hr[:, [0, SPAN], :, :2, :2].clone()}


def test_windows_reverse_time_and_flip_every_frame() -> None:
    data = SpaceTimeWindows([TimeCodedClip()], WindowSpec(span=SPAN, patch=16), batch_size=2, seed=3)
    seen = set()
    for index in range(24):
        d, item = data.draw(index), data[index]
        hr, lr = item["hr"].numpy(), item["lr"].numpy()
        assert hr.shape == (SPAN + 1, 3, 16, 16) and lr.shape == (2, 3, 4, 4)
        order = [SPAN - k for k in range(SPAN + 1)] if d["reverse"] else list(range(SPAN + 1))
        # the target at t = k / K is the original frame at t (or at 1 - t once time runs backwards)
        assert [int(hr[k, 0, 8, 8]) for k in range(SPAN + 1)] == [51 * i for i in order]
        corner = (0 if not d["vflip"] else 15, 0 if not d["hflip"] else 15)
        assert all(hr[k, 0, corner[0], corner[1]] == 255 - 51 * i for k, i in enumerate(order))
        first = np.ascontiguousarray(hr[0].transpose(1, 2, 0))
        assert np.array_equal(lr[0], imresize_uint8(first, 1 / 4).transpose(2, 0, 1))
        assert np.array_equal(data[index]["hr"].numpy(), hr)  # a sample is a function of its index
        seen.add((d["reverse"], d["hflip"], d["vflip"]))
    assert len(seen) >= 6


def test_each_output_is_paired_with_the_frame_at_its_time() -> None:
    """What the reference got wrong: a model that answers the times it is asked scores 0 whatever subset and
    order of frames is supervised; one that returns a fixed grid of times (as the reference's forward did) does
    not. Reversed windows hold 1 - t at t, so the time-echo is wrong there by exactly |1 - 2t|."""
    batch = _flat_batch()
    for frames in ([0, 1, 2, 3, 4, 5], [0, 3, 5], [5, 0, 2]):
        assert spacetime_loss_for(TimeEcho(), batch, SPAN, frames).item() == 0.0
    assert spacetime_loss_for(FixedGrid(), batch, SPAN, [0, 3, 5]).item() > 0.1
    reversed_loss = spacetime_loss_for(TimeEcho(), _flat_batch(reverse=True), SPAN, [0, 3, 5]).item()
    assert reversed_loss == pytest.approx(np.mean([abs(1 - 2 * k / SPAN) for k in (0, 3, 5)]), abs=1e-6)


def test_targets_and_schedule_follow_the_reference() -> None:
    rng = np.random.default_rng(0)
    assert choose_targets(8, None, rng) == list(range(9))
    picks = [choose_targets(8, 3, rng) for _ in range(50)]
    assert all(p[0] == 0 and p[-1] == 8 and len(set(p)) == 3 for p in picks)
    assert {p[1] for p in picks} == set(range(1, 8))
    cfg, _, _ = build_config({"model": "safa", "data": ["x"]})  # the recipe's defaults

    def learning_rate(step: int) -> float:
        return warmup_cosine(step, cfg.warmup, cfg.periods[0], cfg.lr, cfg.eta_min)

    assert learning_rate(0) == 0.0
    assert learning_rate(1000) == pytest.approx(1e-4)
    assert learning_rate(2000) == pytest.approx(2e-4)
    assert learning_rate(cfg.iters) == pytest.approx(2e-6)


@pytest.mark.usefixtures("isolated_caches")
def test_a_step_trains_safa_with_the_head_at_a_tenth(clips, tmp_path) -> None:  # noqa: ANN001
    """One trainer step on 16 px crops: every group gets its share of the rate (the head 0.1), the scale selector
    gets a gradient through its 0/1 decisions, and BatchNorm statistics stay frozen."""
    cfg, _, _ = build_config({"model": "safa", "data": [str(clips)], "num_frames": SPAN + 1, "patch_size": 4,
                              "batch_size": 1, "iters": 10, "warmup": 2, "workers": 0, "quiet": True,
                              "run_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache")})
    trainer = SpaceTimeTrainer(cfg)
    model = trainer.model
    batch = {k: v[None] for k, v in trainer.dataset[0].items()}
    stats = model.block.convimg.cnn0[1].running_mean.clone()
    loss = trainer.step(batch)  # iteration 0 -> 1: the rate of iteration 1 is half the warm-up's peak
    assert np.isfinite(loss)
    rates = [g["lr"] for g in trainer.optimizer.param_groups]
    assert rates == pytest.approx([1e-4, 1e-5])
    assert model.block.getscale[4].weight.grad is not None and model.block.getscale[4].weight.grad.abs().sum() > 0
    assert torch.equal(model.block.convimg.cnn0[1].running_mean, stats)
