"""BasicVSR (Chan et al. 2021) with optional SEEM in its propagation branches (docs/method.md)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvResidualBlocks, flow_warp, stack_frames
from .seem import SamRepresentation, SEEMBlock, check_inputs
from .spynet import SpyNet

SEEM_BRANCHES = ("forward", "backward", "both")


class BasicVSRSeem(nn.Module):
    """SEEM weights of BasicVSR: shared ``f_r`` and one block per insertion point."""

    def __init__(self, num_feat: int, branches: str) -> None:
        super().__init__()
        self.f_r = SamRepresentation(num_feat)
        self.blocks = nn.ModuleDict()
        for branch in ("backward", "forward"):
            if branches in (branch, "both"):
                self.blocks[f"{branch}_head"] = SEEMBlock(num_feat)
                self.blocks[f"{branch}_tail"] = SEEMBlock(num_feat)


class BasicVSR(nn.Module):
    """Bidirectional recurrent VSR, x4. Parameter names are those of BasicSR's ``BasicVSR``.

    Args:
        num_feat: feature width (64 in the paper).
        num_block: residual blocks per branch (30 in the official checkpoints).
        seem: add the SEEM plug-in (its weights live under ``seem.``).
        seem_branches: ``forward``, ``backward`` or ``both`` (paper Table 6).
    """

    def __init__(
        self, num_feat: int = 64, num_block: int = 30, seem: bool = False, seem_branches: str = "both"
    ) -> None:
        super().__init__()
        if seem_branches not in SEEM_BRANCHES:
            raise ValueError(f"seem_branches must be one of {SEEM_BRANCHES}, got {seem_branches!r}")
        self.num_feat = num_feat
        self.uses_masks = seem
        self.spynet = SpyNet()
        self.backward_trunk = ConvResidualBlocks(num_feat + 3, num_feat, num_block)
        self.forward_trunk = ConvResidualBlocks(num_feat + 3, num_feat, num_block)
        self.fusion = nn.Conv2d(num_feat * 2, num_feat, 1, 1, 0, bias=True)
        self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1, bias=True)
        self.upconv2 = nn.Conv2d(num_feat, 64 * 4, 3, 1, 1, bias=True)
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        self.seem = BasicVSRSeem(num_feat, seem_branches) if seem else None

    def compute_flows(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flows between neighbours: (forward, backward), each [B,T-1,2,h,w]."""
        b, t, c, h, w = lr.shape
        x_1 = lr[:, :-1].reshape(-1, c, h, w)
        x_2 = lr[:, 1:].reshape(-1, c, h, w)
        flows_backward = self.spynet(x_1, x_2).view(b, t - 1, 2, h, w)
        flows_forward = self.spynet(x_2, x_1).view(b, t - 1, 2, h, w)
        return flows_forward, flows_backward

    def _propagate(
        self, trunk: ConvResidualBlocks, branch: str, x_i: torch.Tensor, feat: torch.Tensor, r_sam: torch.Tensor | None
    ) -> torch.Tensor:
        out = trunk.head(torch.cat([x_i, feat], dim=1))
        blocks = self.seem.blocks if self.seem is not None else {}
        if r_sam is not None and f"{branch}_head" in blocks:
            out = out + blocks[f"{branch}_head"](out, r_sam)
        out = trunk.body(out)
        if r_sam is not None and f"{branch}_tail" in blocks:
            out = out + blocks[f"{branch}_tail"](out, r_sam)
        return out

    def upsample(self, lr_frame: torch.Tensor, feat_backward: torch.Tensor, feat_forward: torch.Tensor) -> torch.Tensor:
        """Reconstruct one HR frame from both branches' features plus a bilinear skip."""
        out = self.lrelu(self.fusion(torch.cat([feat_backward, feat_forward], dim=1)))
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.lrelu(self.conv_hr(out))
        out = self.conv_last(out)
        # contiguous(): the same values as from a channels-last frame, ~3x faster on CPU
        return out + F.interpolate(lr_frame.contiguous(), scale_factor=4, mode="bilinear", align_corners=False)

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None,
                flows: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``lr`` [B,T,3,h,w] in [0,1] (T >= 2), ``masks`` [B,T,64,h,w] -> [B,T,3,4h,4w].

        ``flows``: (forward, backward) as ``compute_flows`` returns them, when a frozen SPyNet's flows were
        computed once beforehand (training with ``--precompute-flows``); SPyNet then does not run."""
        return stack_frames(list(self.stream(lr, masks, flows=flows)))

    def stream(self, lr: torch.Tensor, masks: torch.Tensor | None = None, start: int = 0,
               stop: int | None = None, flows: tuple[torch.Tensor, torch.Tensor] | None = None,
               ) -> Iterator[torch.Tensor]:
        """The output frames ``start`` .. ``stop - 1`` of ``lr`` [B,T,3,h,w], one [B,3,4h,4w] at a time.

        The backward pass covers the whole clip before the first frame comes out; after that each frame is
        ready as soon as the forward pass reaches it, so a caller can encode it and let it go instead of
        holding the whole chunk's x4 output (2.2 GB for 200 frames of 1280x720 fp32). Frames before ``start``
        are propagated but not upsampled and the forward pass ends at ``stop``: a chunk's context frames
        cost only what the recurrence needs of them. Same values as ``forward`` for those frames.
        """
        check_inputs(type(self).__name__, lr, masks, self.uses_masks)
        b, t, _, h, w = lr.shape
        if t < 2:
            raise ValueError(f"{type(self).__name__}: expected at least 2 frames (T >= 2), got T={t}")
        stop = t if stop is None else stop
        if not 0 <= start <= stop <= t:
            raise ValueError(f"{type(self).__name__}: frames {start}..{stop} are not within a clip of {t}")
        if flows is None:
            flows_forward, flows_backward = self.compute_flows(lr)
        else:
            flows_forward, flows_backward = flows
            want = (b, t - 1, 2, h, w)
            if tuple(flows_forward.shape) != want or tuple(flows_backward.shape) != want:
                raise ValueError(f"{type(self).__name__}: flows must be [B,T-1,2,h,w] = {list(want)}, got "
                                 f"{list(flows_forward.shape)} and {list(flows_backward.shape)}")
        r_sam = None
        if self.seem is not None:
            r_sam = self.seem.f_r(lr.flatten(0, 1), masks.flatten(0, 1)).view(b, t, -1, h, w)

        backward_feats: list[torch.Tensor] = [lr.new_empty(0)] * t
        feat = lr.new_zeros(b, self.num_feat, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat = flow_warp(feat, flows_backward[:, i].permute(0, 2, 3, 1))
            r_i = None if r_sam is None else r_sam[:, i]
            feat = self._propagate(self.backward_trunk, "backward", lr[:, i], feat, r_i)
            backward_feats[i] = feat

        feat = torch.zeros_like(feat)
        for i in range(stop):
            if i > 0:
                feat = flow_warp(feat, flows_forward[:, i - 1].permute(0, 2, 3, 1))
            r_i = None if r_sam is None else r_sam[:, i]
            feat = self._propagate(self.forward_trunk, "forward", lr[:, i], feat, r_i)
            out = self.upsample(lr[:, i], backward_feats[i], feat) if i >= start else None
            backward_feats[i] = lr.new_empty(0)  # free memory as we go
            if out is not None:
                yield out
