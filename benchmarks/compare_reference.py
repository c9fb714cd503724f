"""Check that seemup's VSR-Transformer computes what the reference code (caojiezhang/VSR-Transformer) computes.

Needs, outside this repository, a checkout of the reference and the 2021 release of the positional-encodings
package (4.0.0: sin and cos concatenated, the layout the official weights were trained with; 6.0.0 of 2022
interleaves them):

    git clone https://github.com/caojiezhang/VSR-Transformer /tmp/ref/vsrt
    pip download --no-deps positional-encodings==4.0.0 -d /tmp/pe && unzip -o /tmp/pe/*.whl -d /tmp/pe/4.0.0
    python benchmarks/compare_reference.py --vsrt /tmp/ref/vsrt --positional-encodings /tmp/pe/4.0.0

The reference imports mmcv, mmedit and einops, whose releases of 2021 no longer install; this script
stands in for the few names it uses (mmcv's ConvModule, mmedit's flow_warp / ResidualBlockNoBN /
make_layer) with small equivalents written here, and imports the reference's own files unchanged. Both
networks get the same random weights: the reference's state dict is saved in the official layout
(``params``, DataParallel's ``module.`` prefix, mmedit's SPyNet names) and loaded strictly by seemup.

Prints, per configuration, the parameter counts and the max abs difference of the centre frame for one
2N+1 x 64x64 LR input (``--tiled`` also compares the whole-frame tiling of the reference's test code,
``forward_crop``, on an 80x100 input).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


def _module(name: str, path: str | None = None, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    if path is not None:
        mod.__path__ = [path]
    for key, value in attrs.items():
        setattr(mod, key, value)
    sys.modules[name] = mod
    return mod


class _ConvModule(nn.Module):
    """mmcv's ConvModule as the reference uses it: a biased conv under ``conv``, then ReLU unless act_cfg=None."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, norm_cfg=None, act_cfg="relu"):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=True)
        self.act = act_cfg is not None

    def forward(self, x):
        x = self.conv(x)
        return F.relu(x) if self.act else x


class _ResBlock(nn.Module):
    """mmedit's ResidualBlockNoBN (``mid_channels``; conv1, ReLU, conv2, identity skip)."""

    def __init__(self, mid_channels=64, res_scale=1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x))) * self.res_scale


def _make_layer(block, num_blocks, **kwargs):
    return nn.Sequential(*[block(**kwargs) for _ in range(num_blocks)])


def _flow_warp(x, flow, interpolation="bilinear", padding_mode="zeros", align_corners=True):
    """mmedit's flow_warp: pixel offsets (x, y) added to an integer grid, normalised with (size - 1)."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(0, h), torch.arange(0, w), indexing="ij")
    grid = torch.stack((gx, gy), 2).type_as(x) + flow
    gxn = 2.0 * grid[..., 0] / max(w - 1, 1) - 1.0
    gyn = 2.0 * grid[..., 1] / max(h - 1, 1) - 1.0
    return F.grid_sample(x, torch.stack((gxn, gyn), dim=3), mode=interpolation, padding_mode=padding_mode,
                         align_corners=align_corners)


def import_reference(vsrt: str, pe: str | None):
    """The reference's arch and crop modules, imported from the checkout with stand-ins for the old packages."""
    if pe:
        sys.path.insert(0, pe)
    import positional_encodings  # noqa: F401  (fails here, with its name, when neither path nor install has it)

    root = str(Path(vsrt).resolve())
    sys.path.insert(0, root)
    _module("einops", rearrange=None, repeat=None)
    _module("einops.layers", "")
    _module("einops.layers.torch", Rearrange=None)
    _module("mmcv", "")
    _module("mmcv.cnn", ConvModule=_ConvModule)
    _module("mmcv.runner", load_checkpoint=None)
    _module("mmedit", "")
    _module("mmedit.models", "")
    _module("mmedit.models.common", PixelShufflePack=None, ResidualBlockNoBN=_ResBlock, flow_warp=_flow_warp,
            make_layer=_make_layer)
    _module("mmedit.models.registry", BACKBONES=None)
    _module("mmedit.utils", get_root_logger=None)
    _module("IPython", embed=None)
    # the reference's package __init__ files import every arch and dataset: load only the two files needed
    _module("basicsr", f"{root}/basicsr")
    _module("basicsr.utils", f"{root}/basicsr/utils", get_root_logger=lambda: None)
    _module("basicsr.models", f"{root}/basicsr/models")
    _module("basicsr.models.ops", f"{root}/basicsr/models/ops")
    _module("basicsr.models.ops.dcn", f"{root}/basicsr/models/ops/dcn")  # without its names: arch_util skips DCN
    _module("basicsr.models.archs", f"{root}/basicsr/models/archs")
    import basicsr.models.archs.vsrTransformer_arch as arch
    import basicsr.models.crop_validation as crop

    return arch, crop


def randomise(net: nn.Module, seed: int) -> None:
    """Non-trivial LayerNorm affine parameters (their defaults, 1 and 0, would hide a mix-up)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if ".norm." in name:
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)


def official_layout(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """The state dict as an official file holds it: under ``params``, with a ``module.`` prefix (DataParallel)."""
    return {"params": {f"module.{k}": v.clone() for k, v in state.items()}}


def compare(arch, crop, name: str, num_frame: int, depth: int, tiled: bool) -> None:
    from seemup.weights import build_model

    torch.manual_seed(0)
    ref = arch.vsrTransformer(num_feat=64, num_frame=num_frame, num_extract_block=5, num_reconstruct_block=30,
                              depth=depth, heads=1, patch_size=8).eval()
    randomise(ref, 1)
    state = ref.state_dict()
    assert any(".basic_module.0.conv.weight" in k for k in state), "expected mmedit-style SPyNet names"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "official-layout.pth"
        torch.save(official_layout(state), path)
        ours, _ = build_model(name, str(path))
    n_ref = sum(p.numel() for p in ref.parameters())
    n_ours = sum(p.numel() for p in ours.parameters())
    x = torch.rand(1, num_frame, 3, 64, 64)
    with torch.no_grad():
        t0 = time.perf_counter()
        a = ref(x)[:, num_frame // 2]
        t1 = time.perf_counter()
        b = ours(x)
        t2 = time.perf_counter()
    print(f"{name}: parameters reference {n_ref:,} seemup {n_ours:,}; 64x64 centre frame max abs diff "
          f"{(a - b).abs().max().item():.3g} (output range {a.min().item():.3f}..{a.max().item():.3f}); "
          f"{t1 - t0:.1f} s reference, {t2 - t1:.1f} s seemup", flush=True)
    if tiled:
        x = torch.rand(1, num_frame, 3, 80, 100)
        with torch.no_grad():
            a = crop.forward_crop(x, ref, lq_size=64, overlap=32)
            b = ours(x)
        print(f"{name}: 80x100 frame tiled as forward_crop: max abs diff {(a - b).abs().max().item():.3g}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vsrt", required=True, help="path of a caojiezhang/VSR-Transformer checkout")
    ap.add_argument("--positional-encodings", default=None,
                    help="folder holding the positional_encodings 4.0.0 package (default: the installed one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiled", action="store_true", help="also compare the tiling of the test code (slow)")
    ap.add_argument("--only", choices=["vsrt", "vsrt-vimeo"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    arch, crop = import_reference(args.vsrt, args.positional_encodings)
    for name, num_frame, depth in (("vsrt", 5, 5), ("vsrt-vimeo", 7, 7)):
        if args.only in (None, name):
            compare(arch, crop, name, num_frame, depth, args.tiled)


if __name__ == "__main__":
    main()
