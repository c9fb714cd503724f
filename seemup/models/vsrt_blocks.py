"""The parts of VSR-Transformer's transformer (Cao et al. 2021), in plain PyTorch.

Attribute names follow the reference code (caojiezhang/VSR-Transformer) so its checkpoints load strictly,
and its quirks are kept because the official weights were trained with them:

- the 3-D sinusoidal positional encoding is the 2021 layout of the positional-encodings package, sin and
  cos *concatenated* per axis (the 2022 releases interleave them), applied with the frames as its
  "channels" and (feature channel, row, column) as its three axes;
- the attention adds its own (normalised) input to its output, and the residual wrapper around it adds
  the un-normalised input again;
- ``LayerNorm([num_feat, feat_size, feat_size])`` fixes the spatial size of a patch (64x64 LR).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvResidualBlocks, flow_warp


class PositionalEncoding3D(nn.Module):
    """Sinusoidal position of every (x, y, z) cell in ``channels`` values, 2021 layout (see module doc).

    Each axis gets ``self.channels`` values: sin of the position times each frequency, then cos of the
    same; the three axes' values are concatenated and the first ``channels`` kept.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        per_axis = int(math.ceil(channels / 6) * 2)
        self.org_channels = channels
        self.channels = per_axis
        inv_freq = 1.0 / (10000 ** (torch.arange(0, per_axis, 2).float() / per_axis))
        self.register_buffer("inv_freq", inv_freq)  # persistent, as in the package: checkpoints hold it

    def axis(self, size: int, device: torch.device) -> torch.Tensor:
        """[size, self.channels]: sin(pos * f) for every frequency f, then cos(pos * f)."""
        pos = torch.arange(size, device=device, dtype=self.inv_freq.dtype)
        arg = torch.outer(pos, self.inv_freq)
        return torch.cat((arg.sin(), arg.cos()), dim=-1)

    def table(self, x: int, y: int, z: int) -> torch.Tensor:
        """The encoding as [channels, x, y, z] (channel-first, as the permuted form returns it)."""
        dev, ch = self.inv_freq.device, self.channels
        ex = self.axis(x, dev)[:, None, None, :].expand(x, y, z, ch)
        ey = self.axis(y, dev)[None, :, None, :].expand(x, y, z, ch)
        ez = self.axis(z, dev)[None, None, :, :].expand(x, y, z, ch)
        return torch.cat((ex, ey, ez), dim=-1)[..., : self.org_channels].permute(3, 0, 1, 2)


class FramePositionalEncoding(nn.Module):
    """The reference's ``PositionalEncodingPermute3D(num_frame)`` on [B,T,C,H,W] features: frames are the
    encoding's channels, (C, H, W) its three axes. Returns the [1,T,C,H,W] term that is added."""

    def __init__(self, num_frame: int) -> None:
        super().__init__()
        self.penc = PositionalEncoding3D(num_frame)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        _, t, c, h, w = feat.shape
        if t != self.penc.org_channels:
            raise ValueError(f"positional encoding built for {self.penc.org_channels} frames, got {t}")
        return self.penc.table(c, h, w).unsqueeze(0).to(feat.dtype)


class Residual(nn.Module):
    """``fn(x) + x``."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        out = self.fn(x, **kwargs)
        frames = kwargs.get("frames")
        return out + (x if frames is None else x[:, frames])


class PreNorm(nn.Module):
    """LayerNorm over (C, H, W) of each frame, then ``fn``; the norm's shape fixes H = W = ``feat_size``."""

    def __init__(self, num_feat: int, feat_size: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm([num_feat, feat_size, feat_size])
        self.fn = fn

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.fn(self.norm(x), **kwargs)


class GlobalAttention(nn.Module):
    """Spatial-temporal convolutional self-attention: q, k, v by 3x3 convolutions, cut into ``patch_size``
    patches; every patch of every frame is one token of dimension C * patch_size^2, and each token attends
    to all tokens of all frames. The output adds the block's own input (see module doc)."""

    def __init__(self, num_feat: int = 64, patch_size: int = 8, heads: int = 1) -> None:
        super().__init__()
        if (num_feat * patch_size**2) % heads:
            raise ValueError(f"heads ({heads}) must divide the token size {num_feat * patch_size**2}")
        self.heads = heads
        self.patch_size = patch_size
        self.to_q = nn.Conv2d(num_feat, num_feat, 3, padding=1, groups=num_feat)
        self.to_k = nn.Conv2d(num_feat, num_feat, 3, padding=1, groups=num_feat)
        self.to_v = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv = nn.Conv2d(num_feat, num_feat, 3, padding=1)

    def _tokens(self, feat: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """[B*T,C,H,W] -> [B, heads, T*n, d]: token index = frame * n + patch."""
        cols = F.unfold(feat, self.patch_size, stride=self.patch_size)  # [B*T, C*p*p, n]
        n = cols.shape[-1]
        return cols.reshape(b, t, self.heads, -1, n).permute(0, 2, 1, 4, 3).reshape(b, self.heads, t * n, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = x.shape
        flat = x.reshape(b * t, c, h, w)
        q = self._tokens(self.to_q(flat), b, t)
        k = self._tokens(self.to_k(flat), b, t)
        v = self._tokens(self.to_v(flat), b, t)
        d = q.shape[-1]
        # a logit sums d = 4096 products: in fp16 it can overflow, so the attention itself runs in fp32 (the
        # convolutions around it keep the autocast precision)
        with torch.autocast(x.device.type, enabled=False):
            attn = torch.softmax(torch.matmul(q.float(), k.float().transpose(-2, -1)) * d**-0.5, dim=-1)
            out = torch.matmul(attn, v.float())  # [B, heads, T*n, d]
        n = out.shape[2] // t
        cols = out.reshape(b, self.heads, t, n, d).permute(0, 2, 1, 4, 3).reshape(b * t, self.heads * d, n)
        feat = F.fold(cols, (h, w), self.patch_size, stride=self.patch_size)
        return self.conv(feat).reshape(b, t, c, h, w) + x


class FeedForward(nn.Module):
    """Bidirectional optical-flow feed-forward: each frame's feature is joined with its next (backward
    branch) and previous (forward branch) neighbour's, warped onto it by SPyNet flow, together with the LR
    frame; each branch is a conv + 30 residual blocks, and a 1x1 conv fuses the two. The first and last
    frames use themselves as the missing neighbour."""

    def __init__(self, num_feat: int = 64, num_blocks: int = 30) -> None:
        super().__init__()
        self.backward_resblocks = ConvResidualBlocks(num_feat + 3, num_feat, num_blocks)
        self.forward_resblocks = ConvResidualBlocks(num_feat + 3, num_feat, num_blocks)
        self.fusion = nn.Conv2d(num_feat * 2, num_feat, 1, 1, 0, bias=True)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: torch.Tensor, lrs: torch.Tensor, flows: tuple[torch.Tensor, torch.Tensor],
                frames: list[int] | None = None) -> torch.Tensor:
        """``x`` [B,T,C,h,w], ``lrs`` [B,T,3,h,w], ``flows`` (to previous, to next) [B,T,2,h,w] -> [B,T',C,h,w]
        for ``frames`` (default all; the output of each frame depends only on it and its two neighbours)."""
        b, t, c, h, w = x.shape
        sel = list(range(t)) if frames is None else frames
        nxt = x[:, [min(i + 1, t - 1) for i in sel]]
        prv = x[:, [max(i - 1, 0) for i in sel]]
        k = len(sel)
        lr = lrs[:, sel].reshape(b * k, -1, h, w)
        to_prev, to_next = (f[:, sel].reshape(b * k, 2, h, w).permute(0, 2, 3, 1) for f in flows)
        back = self.backward_resblocks(torch.cat([lr, flow_warp(nxt.reshape(b * k, c, h, w), to_next)], dim=1))
        fwd = self.forward_resblocks(torch.cat([lr, flow_warp(prv.reshape(b * k, c, h, w), to_prev)], dim=1))
        return self.lrelu(self.fusion(torch.cat([back, fwd], dim=1))).reshape(b, k, c, h, w)


class Transformer(nn.Module):
    """``depth`` layers of (attention, feed-forward), each pre-normed and residual (the reference's feed-forward
    branches have 30 residual blocks; ``num_ff_block`` exists for small test networks)."""

    def __init__(self, num_feat: int, feat_size: int, depth: int, patch_size: int, heads: int,
                 num_ff_block: int = 30) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            nn.ModuleList([
                Residual(PreNorm(num_feat, feat_size, GlobalAttention(num_feat, patch_size, heads))),
                Residual(PreNorm(num_feat, feat_size, FeedForward(num_feat, num_ff_block))),
            ])
            for _ in range(depth)
        ])

    def forward(self, x: torch.Tensor, lrs: torch.Tensor, flows: tuple[torch.Tensor, torch.Tensor],
                last_frames: list[int] | None = None) -> torch.Tensor:
        """[B,T,C,h,w] -> the same, or only ``last_frames`` of it: the last feed-forward then runs on those
        frames alone (exact, since nothing after it mixes frames)."""
        for i, (attn, ff) in enumerate(self.layers):
            x = attn(x)
            x = ff(x, lrs=lrs, flows=flows, frames=last_frames if i == len(self.layers) - 1 else None)
        return x
