"""SAFA: the reference's checkpoint layout, deterministic scale choice, times, padding and safa-seem."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from footage import DATA

from seemup.models import CheckpointError, create_model, get_spec, load_weights
from seemup.models.safa import SAFA, pair_times, upscale_pair
from seemup.models.safa_blocks import decide_scale, scale_level

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    """Random weights with every part active: beta, BN statistics and the selector's bias away from init."""
    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        state = SAFA().state_dict()
    for k, v in state.items():
        if k.endswith(".beta"):
            state[k] = torch.randn(v.shape, generator=g) * 0.3
        elif k.endswith("running_var"):
            state[k] = torch.rand(v.shape, generator=g) + 0.5
        elif k == "block.getscale.4.weight":
            state[k] = v * 40  # a selector that reacts to its input, so blocks and samples choose differently
        elif k == "block.getscale.4.bias":
            state[k] = torch.tensor([-0.85, -1.5])
    return state


@pytest.fixture(scope="module")
def net(weights: dict[str, torch.Tensor]) -> SAFA:
    model = SAFA().eval()
    model.load_state_dict(weights)
    return model


def _pair(b: int = 1, h: int = 8, w: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lr0 = torch.randint(0, 256, (b, 3, h, w), generator=g).float() / 255
    lr1 = (lr0 + torch.randint(-20, 21, (b, 3, h, w), generator=g) / 255).clamp(0, 1)
    return lr0, (lr1 * 255).round() / 255


def test_layout_is_the_reference_one() -> None:
    """275 state-dict keys with the reference's names and shapes (tests/data/safa_state_dict.json lists them);
    4,941,442 parameters, plus BatchNorm statistics (4,943,372 numbers in the state dict)."""
    ref = json.loads((DATA / "safa_state_dict.json").read_text())["keys"]
    state = SAFA().state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == ref
    assert len(state) == 275
    assert sum(p.numel() for p in SAFA().parameters()) == 4_941_442
    assert sum(v.numel() for v in state.values()) == 4_943_372
    assert get_spec("safa").kind == "spacetime" and not get_spec("safa").uses_masks
    assert get_spec("safa-seem").uses_masks


def test_official_checkpoint_layout_loads_strictly(tmp_path: Path, weights: dict[str, torch.Tensor]) -> None:
    """The reference saves its DDP-wrapped network: every key carries ``module.``."""
    path = tmp_path / "flownet.pkl"
    torch.save(OrderedDict((f"module.{k}", v) for k, v in weights.items()), path)
    model = load_weights(SAFA(), path)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
    # a file that does not fit is refused before anything is loaded, so one network serves both checks
    broken = OrderedDict((f"module.{k}", v) for k, v in weights.items() if k != "lastconv.15.bias")
    torch.save(broken, tmp_path / "missing.pkl")
    with pytest.raises(CheckpointError, match=r"missing 1: lastconv\.15\.bias"):
        load_weights(model, tmp_path / "missing.pkl")
    extra = OrderedDict((f"module.{k}", v) for k, v in weights.items())
    extra["module.teacher.weight"] = torch.zeros(1)
    torch.save(extra, tmp_path / "extra.pkl")
    with pytest.raises(CheckpointError, match=r"unexpected 1: teacher\.weight"):
        load_weights(model, tmp_path / "extra.pkl")


def test_output_contract_odd_sizes_and_padding(net: SAFA) -> None:
    lr0, lr1 = _pair(2, 7, 9)
    with torch.no_grad():
        out = net(lr0, lr1, [0.0, 0.5, 1.0])
    assert out.shape == (2, 3, 3, 28, 36)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    prepared = SAFA.prepare(lr0)
    assert prepared.shape == (2, 3, 32, 64) and prepared[..., 28:, :].abs().sum() == 0  # zeros right and bottom


def test_scale_choice_is_a_threshold_and_deterministic(net: SAFA) -> None:
    prob = torch.tensor([[0.49, 0.5], [0.9, 0.51], [0.7, 0.2]])
    assert decide_scale(prob).tolist() == [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
    assert scale_level(decide_scale(prob)).tolist() == [1, 0, 2]
    lr0, lr1 = _pair(1)
    with torch.no_grad():
        a, b = net(lr0, lr1, [0.25]), net(lr0, lr1, [0.25])
    assert torch.equal(a, b)
    torch.manual_seed(0)  # sampling (the reference's training behaviour) draws from the probabilities
    draws = torch.stack([decide_scale(torch.full((1, 2), 0.3), sample=True) for _ in range(400)])
    assert 0.2 < draws.mean().item() < 0.4


def test_chosen_level_equals_the_weighted_mixture(weights: dict[str, torch.Tensor]) -> None:
    """Eval runs only each sample's chosen level; training runs all three weighted by the 0/1 decisions (the
    reference's batch > 1 path). Same values, and a batch of two equals its samples run alone."""
    model = SAFA().eval()
    model.load_state_dict(weights)
    lr0, lr1 = _pair(2, 8, 8, seed=3)
    levels: list[torch.Tensor] = []
    model.block.getscale.register_forward_hook(lambda m, i, p: levels.append(scale_level(decide_scale(p))))
    with torch.no_grad():
        chosen = model(lr0, lr1, [0.4])
    assert {int(v) for lv in levels for v in lv} == {0, 1, 2}, "the weights should use every level"
    assert any(lv[0] != lv[1] for lv in levels), "the weights should make the two samples choose differently"
    mixed = model(lr0, lr1, [0.4]).detach()  # gradients on: every level, weighted
    assert (chosen - mixed).abs().max() < 1e-6
    with torch.no_grad():
        alone = torch.cat([model(lr0[i:i + 1], lr1[i:i + 1], [0.4]) for i in range(2)])
    assert (chosen - alone).abs().max() < 1e-5


def test_each_output_is_computed_at_its_own_time(net: SAFA) -> None:
    """The reference's training forward ignored the requested t; here output j is at ts[j], whatever else is
    asked, and a time per sample ([B, n]) equals asking each sample alone."""
    lr0, lr1 = _pair(2, 8, 8, seed=1)
    with torch.no_grad():
        many = net(lr0, lr1, [0.0, 0.3, 1.0])
        one = net(lr0, lr1, [0.3])
        per_sample = net(lr0, lr1, torch.tensor([[0.3], [0.8]]))
        second = net(lr0[1:], lr1[1:], [0.8])
    assert (many[:, 1] - one[:, 0]).abs().max() < 1e-6
    assert (many[:, 0] - many[:, 2]).abs().max() > 1e-3
    assert (per_sample[0] - one[0]).abs().max() < 1e-5 and (per_sample[1] - second[0]).abs().max() < 1e-5


def test_bad_inputs_are_value_errors(net: SAFA) -> None:
    lr0, lr1 = _pair(1)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        net(lr0, lr1, [1.5])
    with pytest.raises(ValueError, match="differ in shape"):
        net(lr0, lr1[..., :4], [0.5])
    with pytest.raises(ValueError, match=r"lr0 shaped \[B,3,h,w\]"):
        net(lr0[None], lr1, [0.5])
    with pytest.raises(ValueError, match="masks of both frames"):
        create_model("safa-seem")(lr0, lr1, [0.5])


def test_zero_seem_computes_exactly_safa(weights: dict[str, torch.Tensor]) -> None:
    seem = create_model("safa-seem").eval()
    missing = seem.load_state_dict(weights, strict=False).missing_keys
    assert missing and all(k.startswith("seem.") for k in missing)
    safa = SAFA().eval()
    safa.load_state_dict(weights)
    lr0, lr1 = _pair(1, 8, 12, seed=2)
    g = torch.Generator().manual_seed(5)
    masks = (torch.rand(1, 2, 64, 8, 12, generator=g) > 0.6).to(torch.uint8)
    with torch.no_grad():
        plain = safa(lr0, lr1, [0.0, 0.6])
        assert torch.equal(seem(lr0, lr1, [0.0, 0.6], masks), plain)
        for block in seem.seem.blocks:  # trained SEEM changes the output: the masks are used
            torch.nn.init.normal_(block.conv2.weight, std=0.05)
        assert (seem(lr0, lr1, [0.0, 0.6], masks) - plain).abs().max() > 1e-4


def test_pair_times_for_the_pipeline(net: SAFA) -> None:
    assert pair_times(4) == [0.0, 0.25, 0.5, 0.75]
    assert pair_times(2, include_end=True) == [0.0, 0.5, 1.0]
    lr0, lr1 = _pair(1)
    out = upscale_pair(net, lr0, lr1, 2, include_end=True)
    assert out.shape == (1, 3, 3, 32, 40)
    with pytest.raises(ValueError, match="fps_factor"):
        pair_times(0)
