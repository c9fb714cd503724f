"""Checkpoints in BasicSR, MMagic and plain layouts load strictly and give identical outputs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

from seemup.models import CheckpointError, create_model, load_weights

torch.set_num_threads(1)

SMALL = {
    "basicvsr": {"num_feat": 8, "num_block": 2},
    "edvr-m": {"num_feat": 16, "num_extract_block": 1, "num_reconstruct_block": 2, "deformable_groups": 2},
}
# Layers MMagic wraps in mmcv's ConvModule (so their tensors sit under ".conv.")
_MM_CONVMODULE = re.compile(
    r"^(conv_l[23]_[12]|pcd_alignment\.(offset_conv[123]\.l\d|feat_conv\.l\d|cas_offset_conv[12])|"
    r"fusion\.(feat_fusion|spatial_attn\w*))\.(weight|bias)$"
)


def to_mmagic(key: str) -> str:
    """Our (BasicSR) key -> the MMagic key of the same tensor."""
    m = re.match(r"^spynet\.basic_module\.(\d+)\.basic_module\.(\d+)\.(weight|bias)$", key)
    if m:
        return f"spynet.basic_module.{m[1]}.basic_module.{int(m[2]) // 2}.conv.{m[3]}"
    key = key.replace("backward_trunk.", "backward_resblocks.").replace("forward_trunk.", "forward_resblocks.")
    key = re.sub(r"^upconv([12])\.", r"upsample\1.upsample_conv.", key)
    key = key.replace("pcd_align.", "pcd_alignment.")
    m = _MM_CONVMODULE.match(key)
    if m:
        key = key[: -len(m.group(m.lastindex))] + "conv." + m.group(m.lastindex)
    return key


def _randomised(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(name, **SMALL[name]).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)  # make offsets / zero-inits non-trivial
    return model


def _input(name: str) -> torch.Tensor:
    t = 5 if name.startswith("edvr") else 3
    return torch.rand(1, t, 3, 16, 20, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", ["basicvsr", "edvr-m"])
@pytest.mark.parametrize("layout", ["basicsr", "basicsr-ema", "mmagic", "plain"])
def test_layouts_load_strictly_and_reproduce_outputs(tmp_path: Path, name: str, layout: str) -> None:
    src = _randomised(name)
    state = src.state_dict()
    if layout == "basicsr":
        obj = {"params": state}
    elif layout == "basicsr-ema":
        obj = {"params_ema": state}
    elif layout == "mmagic":
        obj = {"meta": {"mmagic": "1.x"}, "state_dict": {"generator." + to_mmagic(k): v for k, v in state.items()}}
        assert any(".conv." in k for k in obj["state_dict"])  # the layout really differs
    else:
        obj = state
    path = tmp_path / f"{layout}.pth"
    torch.save(obj, path)
    dst = create_model(name, **SMALL[name]).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a backbone-only load must not warn
        load_weights(dst, path)
    x = _input(name)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_seem_keys_may_be_absent_with_warning(tmp_path: Path) -> None:
    src = _randomised("basicvsr")
    path = tmp_path / "backbone.pth"
    torch.save({"params": src.state_dict()}, path)
    seem = create_model("basicvsr-seem", **SMALL["basicvsr"]).eval()
    with pytest.warns(UserWarning, match="SEEM stays zero"):
        load_weights(seem, path)
    x = _input("basicvsr")
    masks = (torch.rand(1, 3, 64, 16, 20) > 0.5).float()
    with torch.no_grad():
        assert (seem(x, masks) - src(x)).abs().max() < 1e-6


def test_mismatch_names_keys_and_shapes(tmp_path: Path) -> None:
    state = _randomised("basicvsr").state_dict()
    state["fusion.weight"] = torch.zeros(3, 3, 1, 1)
    del state["conv_hr.bias"]
    path = tmp_path / "bad.pth"
    torch.save({"params": state}, path)
    with pytest.raises(CheckpointError) as err:
        load_weights(create_model("basicvsr", **SMALL["basicvsr"]), path)
    msg = str(err.value)
    assert "missing 1: conv_hr.bias" in msg and "wrong shape 1: fusion.weight" in msg


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read weights file"):
        load_weights(create_model("basicvsr-tiny"), path)
    with pytest.raises(FileNotFoundError):
        load_weights(create_model("basicvsr-tiny"), tmp_path / "absent.pth")
