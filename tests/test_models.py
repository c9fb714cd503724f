"""Networks: registry shapes, parameter counts, SEEM zero-init, input validation."""

from __future__ import annotations

import pytest
import torch

from seemup.models import NUM_MASKS, create_model, get_spec, list_models

torch.set_num_threads(1)

# Small configurations of every registered architecture keep these tests in seconds on CPU.
SMALL = {
    "basicvsr": {"num_feat": 8, "num_block": 1},
    "basicvsr-lite": {"num_feat": 8, "num_block": 1},
    "basicvsr-tiny": {},
    "edvr-m": {"num_feat": 16, "num_extract_block": 1, "num_reconstruct_block": 1, "deformable_groups": 2},
    "edvr-l": {"num_feat": 16, "num_extract_block": 1, "num_reconstruct_block": 1, "deformable_groups": 2},
    "bicubic": {},
    **{name: {"num_feat": 8, "depth": 1, "num_extract_block": 1, "num_reconstruct_block": 1, "num_ff_block": 1,
              "spynet_width": 0.125} for name in ("vsrt", "vsrt-vimeo")},
}


def _small(name: str) -> torch.nn.Module:
    spec = get_spec(name)
    base = spec.name.removesuffix("-seem")
    return create_model(name, **SMALL[base]).eval()


def _inputs(name: str, h: int = 16, w: int = 20, t: int = 3, seed: int = 0):
    spec = get_spec(name)
    t = spec.num_frame or t
    g = torch.Generator().manual_seed(seed)
    lr = torch.rand(1, t, 3, h, w, generator=g)
    masks = (torch.rand(1, t, NUM_MASKS, h, w, generator=g) > 0.7).float()
    return lr, masks


@pytest.mark.parametrize("name", list_models())
def test_every_registered_name_has_the_contract_shapes(name: str) -> None:
    model = _small(name)
    spec = get_spec(name)
    lr, masks = _inputs(name)
    with torch.no_grad():
        out = model(lr, masks if spec.uses_masks else None)
    b, t, _, h, w = lr.shape
    expected = (b, 3, 4 * h, 4 * w) if spec.kind == "window" else (b, t, 3, 4 * h, 4 * w)
    assert tuple(out.shape) == expected
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("name", "count"), [("basicvsr", 6_291_311), ("edvr-m", 3_300_131), ("edvr-l", 20_699_363)]
)
def test_parameter_counts_equal_basicsr(name: str, count: int) -> None:
    model = create_model(name)
    assert sum(p.numel() for p in model.parameters()) == count
    seem = create_model(f"{name}-seem")
    backbone = {k: v.shape for k, v in seem.state_dict().items() if not k.startswith("seem.")}
    assert backbone == {k: v.shape for k, v in model.state_dict().items()}


def test_aliases() -> None:
    assert get_spec("edvr").name == "edvr-m"
    assert get_spec("edvr-seem").name == "edvr-m-seem"
    with pytest.raises(ValueError, match="unknown model"):
        get_spec("no-such-model")


@pytest.mark.parametrize("name", ["basicvsr", "edvr-m", "edvr-l", "basicvsr-lite"])
def test_zero_init_seem_equals_backbone(name: str) -> None:
    torch.manual_seed(0)
    backbone = _small(name)
    seem = create_model(f"{name}-seem", **SMALL[name]).eval()
    missing = seem.load_state_dict(backbone.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("seem.") for k in missing)
    lr, masks = _inputs(f"{name}-seem", seed=1)
    with torch.no_grad():
        diff = (seem(lr, masks) - backbone(lr)).abs().max().item()
    assert diff < 1e-6


@pytest.mark.parametrize("branches", ["forward", "backward", "both"])
def test_basicvsr_seem_branches_switch(branches: str) -> None:
    model = create_model("basicvsr-tiny-seem", seem_branches=branches)
    names = set(model.seem.blocks.keys())
    want = {f"{b}_{p}" for b in ("forward", "backward") if branches in (b, "both") for p in ("head", "tail")}
    assert names == want
    # a trained (non-zero) SEEM must change the output, so the plug-in is really wired in
    for p in model.seem.parameters():
        torch.nn.init.normal_(p, std=0.1)
    lr, masks = _inputs("basicvsr-tiny-seem")
    plain = create_model("basicvsr-tiny")
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("seem.")})
    with torch.no_grad():
        assert (model.eval()(lr, masks) - plain.eval()(lr)).abs().max() > 1e-4


def test_seem_bad_branch_name() -> None:
    with pytest.raises(ValueError, match="seem_branches"):
        create_model("basicvsr-tiny-seem", seem_branches="sideways")


@pytest.mark.parametrize("name", ["basicvsr-tiny-seem", "edvr-m-seem"])
def test_seem_without_masks_raises(name: str) -> None:
    model = _small(name)
    lr, masks = _inputs(name)
    with pytest.raises(ValueError, match="needs masks"):
        model(lr)
    with pytest.raises(ValueError, match="masks shaped"):
        model(lr, masks[:, :, :10])


@pytest.mark.parametrize("name", ["basicvsr-tiny", "edvr-m"])
def test_bad_shapes_raise(name: str) -> None:
    model = _small(name)
    with pytest.raises(ValueError, match=r"\[B,T,3,h,w\]"):
        model(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\[B,T,3,h,w\]"):
        model(torch.rand(1, 5, 4, 16, 16))


def test_edvr_frame_count_and_size_checked() -> None:
    model = _small("edvr-m")
    with pytest.raises(ValueError, match="T = 5"):
        model(torch.rand(1, 3, 3, 16, 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 5, 3, 18, 16))


def test_basicvsr_needs_two_frames() -> None:
    with pytest.raises(ValueError, match="at least 2 frames"):
        _small("basicvsr-tiny")(torch.rand(1, 1, 3, 16, 16))


def test_flow_warp_keeps_sub_pixel_positions_under_bf16_autocast() -> None:
    """In bf16 a pixel coordinate near 300 is only good to 2 pixels; warping must not inherit that."""
    from seemup.models.blocks import flow_warp

    x = torch.linspace(0, 1, 320).view(1, 1, 1, 320).expand(1, 2, 6, 320).contiguous()
    flow = torch.zeros(1, 6, 320, 2)
    flow[..., 0] = 0.37
    ref = flow_warp(x, flow)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = flow_warp(x.bfloat16(), flow.bfloat16())
    assert low.dtype == torch.bfloat16
    # bf16 rounds the values themselves (~0.4%), not the places they are sampled from
    assert (low.float() - ref)[..., :-1].abs().max() < 0.004


def test_stack_frames_equals_torch_stack_and_passes_gradients() -> None:
    from seemup.models.blocks import stack_frames

    frames = [torch.randn(2, 3, 5, 7, requires_grad=True) for _ in range(4)]
    out = stack_frames(frames)
    assert torch.equal(out, torch.stack(frames, dim=1))
    (out * torch.arange(4.0).view(1, 4, 1, 1, 1)).sum().backward()
    for i, frame in enumerate(frames):
        assert torch.equal(frame.grad, torch.full_like(frame, float(i)))


@pytest.mark.parametrize("res_scale", [1.0, 0.2])
def test_residual_block_scales_its_branch(res_scale: float) -> None:
    from seemup.models.blocks import ResidualBlockNoBN

    torch.manual_seed(0)
    block = ResidualBlockNoBN(8, res_scale=res_scale)
    x = torch.rand(1, 8, 6, 6)
    branch = block.conv2(torch.relu(block.conv1(x)))
    torch.testing.assert_close(block(x), x + branch * res_scale, rtol=0, atol=0)
