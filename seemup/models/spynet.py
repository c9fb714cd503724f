"""SPyNet optical flow (Ranjan & Black 2017) as used inside BasicVSR; names match BasicSR."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import flow_warp


class BasicModule(nn.Module):
    """One pyramid level: five 7x7 convs predicting a flow residual from (ref, warped supp, flow)."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        chans = [8] + [max(2, int(round(c * width))) for c in (32, 64, 32, 16)] + [2]
        layers: list[nn.Module] = []
        for i in range(5):
            layers.append(nn.Conv2d(chans[i], chans[i + 1], 7, 1, 3))
            if i < 4:
                layers.append(nn.ReLU(inplace=False))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


class SpyNet(nn.Module):
    """Six-level coarse-to-fine flow estimator.

    ``width`` < 1 builds a thinner network (for the lite model); the official one is ``width=1``.
    """

    def __init__(self, width: float = 1.0, num_levels: int = 6) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.basic_module = nn.ModuleList([BasicModule(width) for _ in range(num_levels)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _process(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        refs = [(ref - self.mean) / self.std]
        supps = [(supp - self.mean) / self.std]
        for _ in range(self.num_levels - 1):
            refs.insert(0, F.avg_pool2d(refs[0], kernel_size=2, stride=2, count_include_pad=False))
            supps.insert(0, F.avg_pool2d(supps[0], kernel_size=2, stride=2, count_include_pad=False))
        flow = refs[0].new_zeros(refs[0].size(0), 2, refs[0].size(2) // 2, refs[0].size(3) // 2)
        for level in range(len(refs)):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            if up.size(2) != refs[level].size(2):
                up = F.pad(up, [0, 0, 0, 1], mode="replicate")
            if up.size(3) != refs[level].size(3):
                up = F.pad(up, [0, 1, 0, 0], mode="replicate")
            warped = flow_warp(supps[level], up.permute(0, 2, 3, 1), padding_mode="border")
            # the running flow stays fp32 under autocast: in bf16 a 10-pixel flow is only good to 1/16 pixel
            flow = self.basic_module[level](torch.cat([refs[level], warped, up], 1)).float() + up.float()
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Flow [n,2,h,w] that warps ``supp`` onto ``ref`` (inputs RGB in [0,1])."""
        if ref.shape != supp.shape:
            raise ValueError(f"SpyNet: ref {tuple(ref.shape)} and supp {tuple(supp.shape)} differ")
        h, w = ref.shape[-2:]
        mult = 2 ** (self.num_levels - 1)
        # BasicSR pads to a multiple of 32; at least 2*32 keeps the coarsest level non-empty for tiny inputs
        h_up = max(2 * mult, int(math.ceil(h / mult) * mult))
        w_up = max(2 * mult, int(math.ceil(w / mult) * mult))
        ref = F.interpolate(ref, size=(h_up, w_up), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(h_up, w_up), mode="bilinear", align_corners=False)
        flow = F.interpolate(self._process(ref, supp), size=(h, w), mode="bilinear", align_corners=False)
        scale = torch.tensor([w / w_up, h / h_up], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
        return flow * scale
