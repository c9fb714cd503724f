"""BasicVSR-lite: a CPU-friendly BasicVSR (thin trunk, low-resolution flow, cheap upsampler)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .basicvsr import BasicVSR
from .spynet import SpyNet

FOLDED = 3 * 4 * 4  # channels of an x4 RGB output frame folded to LR by space-to-depth
HEAD = "forward_trunk.main.0.weight"  # the conv that takes the folded previous output with hr_recurrence


class BasicVSRLite(BasicVSR):
    """BasicVSR with the three costs that dominate on CPU cut down.

    - flow is estimated at ``flow_scale`` of the LR size (by a SPyNet of ``flow_width``) and resized up;
    - the trunks are ``num_feat`` wide with ``num_block`` blocks (the shipped weights: the official BasicVSR's
      64-channel trunks cut from 30 to 8 blocks, then trained with its features as targets);
    - upsampling is one x2 pixel-shuffle conv at LR resolution and one thin conv at 2x (no 4x-resolution convs),
      added to a bicubic (not bilinear) upsampling of the input.

    With ``hr_recurrence`` the forward trunk also sees the previous output frame, warped to the current
    one at full resolution and folded to LR by space-to-depth (as FRVSR does): a ``num_feat``-wide
    hidden state cannot hold the 48 values per LR pixel of an x4 RGB frame, the warped output can.
    """

    def __init__(self, num_feat: int = 64, num_block: int = 8, flow_width: float = 1.0, flow_scale: float = 0.5,
                 seem: bool = False, seem_branches: str = "both", hr_recurrence: bool = False) -> None:
        super().__init__(num_feat=num_feat, num_block=num_block, seem=seem, seem_branches=seem_branches)
        self.flow_scale = flow_scale
        self.hr_recurrence = hr_recurrence
        if hr_recurrence:  # input: LR frame (3), previous output folded to LR, propagated feature
            self.forward_trunk.main[0] = nn.Conv2d(3 + FOLDED + num_feat, num_feat, 3, 1, 1)
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

    @property
    def feeds_back_output(self) -> bool:
        return self.hr_recurrence

    def forward_input(self, lr_frame: torch.Tensor, prev_out: torch.Tensor | None,
                      flow: torch.Tensor | None) -> torch.Tensor:
        if not self.hr_recurrence:
            return lr_frame
        if prev_out is None:  # first frame of a clip: nothing to carry over
            folded = lr_frame.new_zeros(lr_frame.shape[0], FOLDED, *lr_frame.shape[-2:])
        else:
            folded = F.pixel_unshuffle(warp_upscaled(prev_out, flow), 4)
        return torch.cat([lr_frame, folded], dim=1)

    def upsample(self, lr_frame: torch.Tensor, feat_backward: torch.Tensor, feat_forward: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.fusion(torch.cat([feat_backward, feat_forward], dim=1)))
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.pixel_shuffle(self.conv_last(out))
        # A bicubic skip starts ~0.5 dB above BasicVSR's bilinear one, so the thin net has less to learn.
        # Interpolating a channels-last frame gives the same values ~1.7x slower on CPU, hence contiguous().
        return out + F.interpolate(lr_frame.contiguous(), scale_factor=4, mode="bicubic", align_corners=False)


def has_hr_recurrence(state: dict[str, torch.Tensor]) -> bool:
    """Whether a lite state dict was saved with ``hr_recurrence`` (its forward head takes more inputs)."""
    return state[HEAD].shape[1] == state["backward_trunk.main.0.weight"].shape[1] + FOLDED


def with_hr_recurrence(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A lite state dict without ``hr_recurrence`` turned into one with it that computes the same output:
    the forward trunk's first conv gets zero weights for the folded-output inputs, so training from
    shipped weights starts exactly where they are."""
    old = state[HEAD]
    new = old.new_zeros(old.shape[0], old.shape[1] + FOLDED, *old.shape[2:])
    new[:, :3], new[:, 3 + FOLDED:] = old[:, :3], old[:, 3:]
    return {**state, HEAD: new}


def warp_upscaled(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Warp ``image`` [B,C,H,W] by ``flow`` [B,2,h,w], given in pixels of a smaller grid (H/h = W/w).

    Same convention (align_corners=True, fp32 sampling positions) as ``flow_warp``, but the sampling
    grid is built straight in normalised coordinates, which at 1280x720 is several times cheaper."""
    b, _, hh, ww = image.shape
    s = hh / flow.shape[-2]
    up = F.interpolate(flow.float(), size=(hh, ww), mode="bilinear", align_corners=False)
    xs = torch.linspace(-1.0, 1.0, ww, device=image.device, dtype=up.dtype).view(1, 1, ww)
    ys = torch.linspace(-1.0, 1.0, hh, device=image.device, dtype=up.dtype).view(1, hh, 1)
    grid = torch.stack([torch.add(xs, up[:, 0], alpha=2.0 * s / max(ww - 1, 1)),
                        torch.add(ys, up[:, 1], alpha=2.0 * s / max(hh - 1, 1))], dim=3)
    out = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(image.dtype)
