"""BasicVSR-lite: a CPU-friendly BasicVSR (thin trunk, low-resolution flow, cheap upsampler)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .basicvsr import BasicVSR
from .spynet import SpyNet


class BasicVSRLite(BasicVSR):
    """BasicVSR with the three costs that dominate on CPU cut down.

    - flow is estimated at ``flow_scale`` of the LR size (by a SPyNet of ``flow_width``) and resized up;
    - the trunks are ``num_feat`` wide with ``num_block`` blocks (the shipped weights: the official BasicVSR's
      64-channel trunks cut from 30 to 8 blocks, then trained with its features as targets);
    - upsampling is one x2 pixel-shuffle conv at LR resolution and one thin conv at 2x (no 4x-resolution convs),
      added to a bicubic (not bilinear) upsampling of the input.
    """

    def __init__(self, num_feat: int = 64, num_block: int = 8, flow_width: float = 1.0, flow_scale: float = 0.5,
                 seem: bool = False, seem_branches: str = "both") -> None:
        super().__init__(num_feat=num_feat, num_block=num_block, seem=seem, seem_branches=seem_branches)
        self.flow_scale = flow_scale
        self.spynet = SpyNet(width=flow_width)
        del self.upconv2, self.conv_hr
        self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3 * 4, 3, 1, 1)

    def compute_flows(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, c, h, w = lr.shape
        if self.flow_scale == 1.0:
            return super().compute_flows(lr)
        hs, ws = max(8, round(h * self.flow_scale)), max(8, round(w * self.flow_scale))
        small = F.interpolate(lr.flatten(0, 1), size=(hs, ws), mode="bilinear", align_corners=False, antialias=True)
        small = small.view(b, t, c, hs, ws)
        x_1 = small[:, :-1].reshape(-1, c, hs, ws)
        x_2 = small[:, 1:].reshape(-1, c, hs, ws)
        scale = torch.tensor([w / ws, h / hs], dtype=lr.dtype, device=lr.device).view(1, 2, 1, 1)

        def up(flow: torch.Tensor) -> torch.Tensor:
            return (F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False) * scale).view(
                b, t - 1, 2, h, w)

        return up(self.spynet(x_2, x_1)), up(self.spynet(x_1, x_2))

    def upsample(self, lr_frame: torch.Tensor, feat_backward: torch.Tensor, feat_forward: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.fusion(torch.cat([feat_backward, feat_forward], dim=1)))
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.pixel_shuffle(self.conv_last(out))
        # A bicubic skip starts ~0.5 dB above BasicVSR's bilinear one, so the thin net has less to learn.
        # Interpolating a channels-last frame gives the same values ~1.7x slower on CPU, hence contiguous().
        return out + F.interpolate(lr_frame.contiguous(), scale_factor=4, mode="bicubic", align_corners=False)
