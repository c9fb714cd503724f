"""VSR-Transformer (Cao et al. 2021, "Video Super-Resolution Transformer"), with optional SEEM.

``VSRTransformer`` is the reference network (caojiezhang/VSR-Transformer, ``vsrTransformer``) with the
same parameter and buffer names, so its checkpoints load strictly. It works on 64x64 LR patches only:
its LayerNorms have the patch size in their shape. ``VSRT`` is what the registry builds: the same
parameters, with a forward that takes 2N+1 frames of any size and cuts each into 64x64 patches exactly
as the reference's test code does (``seemup/models/vsrt_tiles.py``), so it is a window model like EDVR.

SEEM (docs/method.md) uses the centre frame's masks and two blocks, as EDVR's after fusion and after
reconstruction: ``transformer`` refines the centre frame's transformer output before reconstruction,
``reconstruction`` the reconstruction's output before upsampling.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ResidualBlockNoBN, make_layer
from .seem import SamRepresentation, SEEMBlock, check_inputs
from .spynet import SpyNet
from .vsrt_blocks import FramePositionalEncoding, Transformer
from .vsrt_tiles import TILE, tiled_forward

__all__ = ["VSRT", "VSRTransformer"]


class FlowPairs(nn.Module):
    """SPyNet flows of every frame to its previous and its next frame (the end frames to themselves);
    holds the network as ``spynet`` so the names match the reference's ``spynet.spynet.*``."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.spynet = SpyNet(width)

    def forward(self, lrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B,T,3,h,w] -> (flows to the previous frame, flows to the next frame), each [B,T,2,h,w]."""
        b, t, c, h, w = lrs.shape
        prev = torch.cat([lrs[:, :1], lrs[:, :-1]], dim=1)
        nxt = torch.cat([lrs[:, 1:], lrs[:, -1:]], dim=1)
        ref = lrs.reshape(b * t, c, h, w)
        supp = torch.cat([prev, nxt]).reshape(2 * b * t, c, h, w)  # [2B,T,...] -> all "previous", then all "next"
        flows = self.spynet(torch.cat([ref, ref]), supp)
        to_prev, to_next = flows.reshape(2, b, t, 2, h, w)
        return to_prev, to_next


class VSRTSeem(nn.Module):
    """SEEM weights of VSR-Transformer: shared ``f_r`` and two blocks."""

    INSERTION_POINTS = ("transformer", "reconstruction")

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.f_r = SamRepresentation(num_feat)
        self.blocks = nn.ModuleDict({name: SEEMBlock(num_feat) for name in self.INSERTION_POINTS})


class VSRTransformer(nn.Module):
    """The reference network: 2N+1 LR patches of ``feat_size`` x ``feat_size`` in, x4 frames out.

    ``num_ff_block`` (30 in the reference) and ``spynet_width`` (1) exist for small test networks."""

    def __init__(self, num_feat: int = 64, feat_size: int = TILE, num_frame: int = 5, num_extract_block: int = 5,
                 num_reconstruct_block: int = 30, depth: int = 5, heads: int = 1, patch_size: int = 8,
                 num_ff_block: int = 30, spynet_width: float = 1.0, seem: bool = False) -> None:
        super().__init__()
        if num_frame % 2 != 1:
            raise ValueError(f"VSR-Transformer needs an odd number of frames (2N+1), got {num_frame}")
        self.num_frame = num_frame
        self.center_frame_idx = num_frame // 2
        self.feat_size = feat_size
        self.uses_masks = seem
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.feature_extraction = make_layer(ResidualBlockNoBN, num_extract_block, num_feat=num_feat)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        self.spynet = FlowPairs(spynet_width)
        self.pos_embedding = FramePositionalEncoding(num_frame)
        self.transformer = Transformer(num_feat, feat_size, depth, patch_size, heads, num_ff_block)
        self.reconstruction = make_layer(ResidualBlockNoBN, num_reconstruct_block, num_feat=num_feat)
        self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        self.seem = VSRTSeem(num_feat) if seem else None

    def forward_patch(self, lr: torch.Tensor, centre_masks: torch.Tensor | None = None) -> torch.Tensor:
        """The centre frame [B,3,4s,4s] of [B,2N+1,3,s,s] patches (s = ``feat_size``); ``centre_masks``
        [B,64,s,s] are the centre frame's SEEM masks. Only the centre frame is reconstructed: the
        reference reconstructs every frame and its test code keeps the centre one."""
        b, t, c, h, w = lr.shape
        if (h, w) != (self.feat_size, self.feat_size) or t != self.num_frame:
            raise ValueError(f"{type(self).__name__}: patches must be [B,{self.num_frame},3,{self.feat_size},"
                             f"{self.feat_size}], got {tuple(lr.shape)}")
        cidx = self.center_frame_idx
        feat = self.feature_extraction(self.lrelu(self.conv_first(lr.reshape(-1, c, h, w)))).reshape(b, t, -1, h, w)
        flows = self.spynet(lr)
        feat = feat + self.pos_embedding(feat)
        feat = self.transformer(feat, lr, flows, last_frames=[cidx])[:, 0]
        r_sam = None
        if self.seem is not None:
            r_sam = self.seem.f_r(lr[:, cidx], centre_masks)
            feat = feat + self.seem.blocks["transformer"](feat, r_sam)
        feat = self.reconstruction(feat)
        if r_sam is not None:
            feat = feat + self.seem.blocks["reconstruction"](feat, r_sam)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(feat)))
        out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(lr[:, cidx], scale_factor=4, mode="bilinear", align_corners=False)


class VSRT(VSRTransformer):
    """Window model, x4: 2N+1 LR frames of any size in, the centre HR frame out (see module doc)."""

    tile_batch = 4  # patches per network call (the output is the same for any value)

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        """``lr`` [B,2N+1,3,h,w] in [0,1], ``masks`` [B,2N+1,64,h,w] (SEEM) -> [B,3,4h,4w]."""
        name = type(self).__name__
        check_inputs(name, lr, masks, self.uses_masks)
        if lr.shape[1] != self.num_frame:
            raise ValueError(f"{name}: expected T = {self.num_frame} frames (2N+1), got T={lr.shape[1]}")
        centre = None if masks is None or self.seem is None else masks[:, self.center_frame_idx]
        batch = self.tile_batch * (4 if lr.is_cuda else 1)
        return tiled_forward(self.forward_patch, lr, centre, tile=self.feat_size, batch=batch)
