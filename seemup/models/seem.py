"""The SEEM plug-in: SAM-based representation ``f_r`` and the SEEM block (docs/method.md)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ResidualBlockNoBN

NUM_MASKS = 64


class SamRepresentation(nn.Module):
    """``f_r``: concat(LR frame, 64 masks) -> D-channel semantic map R_sam."""

    def __init__(self, num_feat: int, num_masks: int = NUM_MASKS) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3 + num_masks, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.resblock = ResidualBlockNoBN(num_feat)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, frame: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        x = torch.cat([frame, masks.to(frame.dtype)], dim=1)
        return self.resblock(self.conv2(self.lrelu(self.conv1(x))))


class ChannelAttention(nn.Module):
    """RCAN-style channel attention: GAP -> FC_D -> ReLU -> FC_U -> FC -> sigmoid."""

    def __init__(self, num_feat: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(num_feat // reduction, 4)
        self.fc_down = nn.Conv2d(num_feat, hidden, 1)
        self.fc_up = nn.Conv2d(hidden, num_feat, 1)
        self.fc_attn = nn.Conv2d(num_feat, num_feat, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(x, 1)
        return torch.sigmoid(self.fc_attn(self.fc_up(F.relu(self.fc_down(pooled)))))


class SEEMBlock(nn.Module):
    """SEEM(F, R_sam) = F_m + CA(F_m) * F_m with F_m = conv(concat(F, R_sam)).

    The last conv of F_m starts at zero, so a new block outputs exactly 0 and ``F + SEEM(F, R)``
    leaves a pretrained backbone unchanged until SEEM is trained.
    """

    def __init__(self, num_feat: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)
        self.attention = ChannelAttention(num_feat, reduction)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, feat: torch.Tensor, r_sam: torch.Tensor) -> torch.Tensor:
        if r_sam.shape[-2:] != feat.shape[-2:]:
            r_sam = F.interpolate(r_sam, size=feat.shape[-2:], mode="bilinear", align_corners=False)
        f_m = self.conv2(self.lrelu(self.conv1(torch.cat([feat, r_sam], dim=1))))
        return f_m + self.attention(f_m) * f_m


def check_inputs(
    name: str, lr: torch.Tensor, masks: torch.Tensor | None, uses_masks: bool, num_masks: int = NUM_MASKS
) -> None:
    """Raise a ValueError that says what was expected when inputs do not fit the forward contract."""
    if not isinstance(lr, torch.Tensor) or lr.dim() != 5 or lr.size(2) != 3:
        shape = tuple(lr.shape) if isinstance(lr, torch.Tensor) else type(lr).__name__
        raise ValueError(f"{name}: expected lr shaped [B,T,3,h,w], got {shape}")
    if uses_masks:
        if masks is None:
            raise ValueError(f"{name}: this SEEM model needs masks shaped [B,T,{num_masks},h,w]; got masks=None")
        b, t, _, h, w = lr.shape
        if masks.dim() != 5 or tuple(masks.shape) != (b, t, num_masks, h, w):
            raise ValueError(
                f"{name}: expected masks shaped {(b, t, num_masks, h, w)} to match lr, got {tuple(masks.shape)}"
            )


def seem_is_zero(model: nn.Module) -> bool:
    """True when ``model`` has SEEM blocks and the last conv of each is all zero: every block then outputs
    exactly 0 whatever the masks say, so the network computes its backbone and masks need not be made."""
    blocks = [m for m in model.modules() if isinstance(m, SEEMBlock)]
    return bool(blocks) and all(not b.conv2.weight.any() and (b.conv2.bias is None or not b.conv2.bias.any())
                                for b in blocks)
