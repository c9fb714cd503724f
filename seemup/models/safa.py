"""SAFA (Huang et al., WACV 2024): space-time video super-resolution from two LR frames, with SEEM optional.

Two LR frames in, any number of x4 frames out, each at its own time t in [0, 1] (t = 0 and t = 1 are the
input frames themselves, super-resolved). Ported from the MIT reference (megvii-research/WACV2024-SAFA);
parameter names are the reference's, so its checkpoints load strictly. docs/method.md ("SAFA") has the
design; this is what the code does:

1. Both LR frames become 8-bit levels, are enlarged x4 with OpenCV's bicubic (``safa_resize``, bit-exact)
   and divided by 255, in BGR order as the reference reads images; the network runs at this high
   resolution, zero-padded right and bottom to multiples of 32 like the reference's demo.
2. A resnet18-stem head gives each frame's features at half resolution; one convolution fuses the two.
3. Per requested t: six recurrent blocks refine a flow to both frames and a blend mask. Each block runs at
   full, half or quarter resolution as a shared selector decides per sample. The reference draws that
   decision at random (``torch.bernoulli``) even at inference; here it is **deterministic**: a level is
   taken when the selector's probability is >= 0.5. In training mode the decisions are drawn like the
   reference's (``sample_scale``), with a straight-through gradient.
4. Output = clamp(blend of the two warped HR inputs + a residual from 12 residual blocks, 0, 1).

``safa-seem`` adds SEEM on each recurrent block's feature: SAM masks of both input frames give
``R_sam`` per frame; the block warps them with its own flow, blends them with its mask and adds
``SEEM(feat, R_t)``. Zero-initialised SEEM adds exactly 0, so it computes what ``safa`` computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .safa_blocks import Head, RecurrentBlock, ResBlock, conv_prelu, warp
from .safa_resize import SCALE, upscale_like_reference
from .seem import NUM_MASKS, SamRepresentation, SEEMBlock

PAD = 32  # the reference pads its HR input to multiples of 32 (inference_img.py); the network needs 8


class SafaFlowNet(nn.Module):
    """The reference's ``Flownet`` (checkpoint prefix ``block.``): head, fusion, six recurrent blocks sharing
    one scale selector (``getscale``) and one flow head (``convflow``)."""

    def __init__(self, c: int = 80, num_blocks: int = 6, depth: int = 2) -> None:
        super().__init__()
        self.convimg = Head(c)
        self.shuffle = conv_prelu(2 * c, c, 3, 1, 1)
        self.convblock = nn.ModuleList([RecurrentBlock(c, depth) for _ in range(num_blocks)])
        self.convflow = nn.Sequential(nn.Conv2d(c, 4 * 6, 3, 1, 1), nn.PixelShuffle(2))
        self.getscale = nn.Sequential(
            conv_prelu(3 * c + 6 + 1, c, 1, 1, 0), conv_prelu(c, c, 1, 2, 0),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(c, 2), nn.Sigmoid(),
        )

    def extract_feat(self, pair: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Fused and per-frame head features of a prepared pair [B, 6, H, W] (frame 0's channels first). The
        frames are read as channel slices of the pair, as in the reference: the memory layout decides how the
        first convolution rounds in float32 (a contiguous copy differs by up to ~5e-6)."""
        i0, i1 = self.convimg(pair[:, :3]), self.convimg(pair[:, 3:6])
        return self.shuffle(torch.cat((i0, i1), 1)), i0, i1

    def forward(self, i0: torch.Tensor, i1: torch.Tensor, feat: torch.Tensor, timestep: torch.Tensor,
                flow: torch.Tensor, sample: bool = False,
                refine: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The final flow [B, 6, H, W] (x/y to frame 0, x/y to frame 1, blend logit, unused)."""
        for k, block in enumerate(self.convblock):
            feat, flow_down, _ = block(feat, i0, i1, flow, timestep, self.getscale, sample)
            if refine is not None:
                feat = refine(k, feat, flow_down)
            flow = self.convflow(feat) + flow
        return flow


class SafaSeem(nn.Module):
    """SEEM weights of SAFA: one shared ``f_r`` and one SEEM block per recurrent block."""

    def __init__(self, c: int, num_blocks: int) -> None:
        super().__init__()
        self.f_r = SamRepresentation(c)
        self.blocks = nn.ModuleList([SEEMBlock(c) for _ in range(num_blocks)])


class SAFA(nn.Module):
    """SAFA, x4 in space, any t in time: ``forward(lr0, lr1, ts) -> [B, len(ts), 3, 4h, 4w]`` (RGB, [0, 1]).

    Args:
        num_feat: feature width (80 in the reference).
        num_blocks: recurrent blocks (6).
        num_recon_blocks: residual blocks of the reconstruction tail (12).
        seem: add SEEM (weights under ``seem.``; needs masks of both frames).
        sample_scale: in training mode, draw the scale decisions as the reference does (eval is always
            the deterministic threshold).
    """

    def __init__(self, num_feat: int = 80, num_blocks: int = 6, num_recon_blocks: int = 12, seem: bool = False,
                 sample_scale: bool = True) -> None:
        super().__init__()
        c = num_feat
        self.block = SafaFlowNet(c, num_blocks)
        self.lastconv = nn.Sequential(
            conv_prelu(2 * c + 1, c, 3, 2, 1), *[ResBlock(c) for _ in range(num_recon_blocks)],
            conv_prelu(c, 2 * c), nn.PixelShuffle(2), nn.Conv2d(c // 2, 12, 3, 1, 1), nn.PixelShuffle(2),
        )
        self.uses_masks = seem
        self.sample_scale = sample_scale
        if seem:
            self.seem = SafaSeem(c, num_blocks)

    def train(self, mode: bool = True) -> SAFA:
        """Training keeps the head's BatchNorm in eval mode, as the reference's training does."""
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts: Sequence[float] | torch.Tensor,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """``lr0``, ``lr1``: [B, 3, h, w] RGB in [0, 1]; ``ts``: times (a list, a tensor [n], or [B, n] for a
        time per sample); ``masks``: [B, 2, 64, h, w] for ``safa-seem`` (frame 0's, then frame 1's)."""
        check_pair(lr0, lr1, masks, self.uses_masks)
        times = as_times(ts, lr0.shape[0])
        h, w = lr0.shape[-2:]
        pair = torch.cat((self.prepare(lr0), self.prepare(lr1)), 1)
        img0, img1 = pair[:, :3], pair[:, 3:]
        feat, i0, i1 = self.block.extract_feat(pair)
        refine = self._seem_refiner(lr0, lr1, masks, img0.shape[-2:]) if self.uses_masks else None
        frames = [self.frame_at(img0, img1, feat, i0, i1, times[:, j], refine) for j in range(times.shape[1])]
        out = torch.stack(frames, 1)[..., : SCALE * h, : SCALE * w]
        return out.flip(2)  # BGR -> RGB

    @staticmethod
    def prepare(lr: torch.Tensor) -> torch.Tensor:
        """LR RGB [B, 3, h, w] -> the network's input: BGR, OpenCV bicubic x4 of 8-bit levels, padded to 32."""
        hr = upscale_like_reference(lr.flip(1), torch.promote_types(lr.dtype, torch.float32))
        ph, pw = -hr.shape[-2] % PAD, -hr.shape[-1] % PAD
        return F.pad(hr, (0, pw, 0, ph)) if ph or pw else hr

    def frame_at(self, img0: torch.Tensor, img1: torch.Tensor, feat: torch.Tensor, i0: torch.Tensor,
                 i1: torch.Tensor, t: torch.Tensor,
                 refine: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """One output frame (BGR, padded size) at times ``t`` [B] from prepared inputs and head features."""
        b, _, hh, ww = img0.shape
        timestep = t.to(feat.dtype).to(feat.device).view(b, 1, 1, 1).expand(b, 1, hh // 2, ww // 2)
        flow = img0.new_zeros((b, 6, hh, ww))
        flow = self.block(i0, i1, feat, timestep, flow, self.sample_scale and self.training, refine)
        mask = torch.sigmoid(flow[:, 4:5])
        warped = warp(img0, flow[:, :2]) * mask + warp(img1, flow[:, 2:4]) * (1 - mask)
        flow_down = F.interpolate(flow, scale_factor=0.5, mode="bilinear")
        w0 = warp(i0, flow_down[:, :2] * 0.5)
        w1 = warp(i1, flow_down[:, 2:4] * 0.5)
        return torch.clamp(warped + self.lastconv(torch.cat((timestep, w0, w1), 1)), 0, 1)

    def _seem_refiner(self, lr0: torch.Tensor, lr1: torch.Tensor, masks: torch.Tensor,
                      hr_size: torch.Size) -> Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor]:
        """``feat <- feat + SEEM_k(feat, R_t)``, R_t = both frames' R_sam warped by block k's flow and blended
        by its mask; R_sam is computed once per frame on the zero-padded LR frame and masks."""
        lr_size = (hr_size[0] // SCALE, hr_size[1] // SCALE)

        def r_sam(frame: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            pad = (0, lr_size[1] - frame.shape[-1], 0, lr_size[0] - frame.shape[-2])
            r = self.seem.f_r(F.pad(frame, pad), F.pad(m.to(frame.dtype), pad))
            return F.interpolate(r, scale_factor=2.0, mode="bilinear")  # LR -> the features' half resolution

        r0, r1 = r_sam(lr0, masks[:, 0]), r_sam(lr1, masks[:, 1])

        def refine(k: int, feat: torch.Tensor, flow_down: torch.Tensor) -> torch.Tensor:
            blend = torch.sigmoid(flow_down[:, 4:5])
            r_t = warp(r0, flow_down[:, :2] * 0.5) * blend + warp(r1, flow_down[:, 2:4] * 0.5) * (1 - blend)
            return feat + self.seem.blocks[k](feat, r_t)

        return refine


def as_times(ts: Sequence[float] | torch.Tensor, batch: int) -> torch.Tensor:
    """Times as a float64 CPU tensor [B, n] (cast to the features' dtype, then moved, where used); a ValueError
    unless every t is in [0, 1] and there is at least one."""
    t = ts.detach().cpu().to(torch.float64) if isinstance(ts, torch.Tensor) else \
        torch.tensor([float(v) for v in ts], dtype=torch.float64)
    if t.dim() == 1:
        t = t.unsqueeze(0).expand(batch, -1)
    if t.dim() != 2 or t.shape[0] != batch or t.shape[1] == 0:
        raise ValueError(f"SAFA: expected times as a list, [n] or [{batch}, n], got shape {tuple(t.shape)}")
    if not bool(((t >= 0) & (t <= 1)).all()):
        raise ValueError("SAFA: every time t must be in [0, 1]")
    return t


def check_pair(lr0: torch.Tensor, lr1: torch.Tensor, masks: torch.Tensor | None, uses_masks: bool) -> None:
    """Raise a ValueError that says what was expected when the two frames (and masks) do not fit."""
    for name, x in (("lr0", lr0), ("lr1", lr1)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.size(1) != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"SAFA: expected {name} shaped [B,3,h,w], got {shape}")
    if lr0.shape != lr1.shape:
        raise ValueError(f"SAFA: the two frames differ in shape: {tuple(lr0.shape)} vs {tuple(lr1.shape)}")
    if uses_masks:
        b, _, h, w = lr0.shape
        if masks is None or tuple(masks.shape) != (b, 2, NUM_MASKS, h, w):
            got = None if masks is None else tuple(masks.shape)
            raise ValueError(f"SAFA-SEEM: expected masks of both frames shaped {(b, 2, NUM_MASKS, h, w)}, got {got}")


def pair_times(fps_factor: int, include_end: bool = False) -> list[float]:
    """The times one input pair (i, i+1) yields at ``fps_factor`` x the frame rate: k / N for k < N; frame
    i+1 itself starts the next pair, except after the last pair (``include_end`` adds t = 1)."""
    if fps_factor < 1:
        raise ValueError(f"fps_factor must be >= 1, got {fps_factor}")
    return [k / fps_factor for k in range(fps_factor)] + ([1.0] if include_end else [])


@torch.no_grad()
def upscale_pair(model: SAFA, lr0: torch.Tensor, lr1: torch.Tensor, fps_factor: int, *, include_end: bool = False,
                 masks: torch.Tensor | None = None) -> torch.Tensor:
    """The pipeline's call: the x4 frames a pair of LR frames contributes, [B, N (+1), 3, 4h, 4w]."""
    return model(lr0, lr1, pair_times(fps_factor, include_end), masks)
