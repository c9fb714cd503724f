"""EDVR (Wang et al. 2019): PCD alignment + TSA fusion, with optional SEEM (docs/method.md).

Parameter names and shapes are those of BasicSR's ``EDVR`` so official checkpoints load strictly.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.ops import deform_conv2d

from .blocks import ResidualBlockNoBN, make_layer
from .seem import SamRepresentation, SEEMBlock, check_inputs


class DCNv2Pack(nn.Module):
    """Modulated deformable conv whose offsets and masks come from a separate feature map."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1,
                 deformable_groups: int = 8) -> None:
        super().__init__()
        self.padding = padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.conv_offset = nn.Conv2d(in_channels, deformable_groups * 3 * kernel_size * kernel_size,
                                     kernel_size, 1, padding, bias=True)
        bound = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        o1, o2, mask = torch.chunk(self.conv_offset(feat), 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        # torchvision has no bf16 deformable conv, and bf16 offsets would be sampling positions good
        # to 1/16 pixel only: under bf16 autocast this layer runs in fp32
        dt = torch.float32 if x.dtype == torch.bfloat16 else x.dtype
        out = deform_conv2d(x.to(dt), offset.to(dt), self.weight.to(dt), self.bias.to(dt),
                            padding=(self.padding, self.padding), mask=torch.sigmoid(mask).to(dt))
        return out.to(x.dtype)


class PCDAlignment(nn.Module):
    """Pyramid, Cascading and Deformable alignment of a neighbour's features to the reference's."""

    def __init__(self, num_feat: int = 64, deformable_groups: int = 8) -> None:
        super().__init__()
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.dcn_pack = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        for i in range(3, 0, -1):
            level = f"l{i}"
            self.offset_conv1[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
            if i == 3:
                self.offset_conv2[level] = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            else:
                self.offset_conv2[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
                self.offset_conv3[level] = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.dcn_pack[level] = DCNv2Pack(num_feat, num_feat, 3, padding=1, deformable_groups=deformable_groups)
            if i < 3:
                self.feat_conv[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.cas_offset_conv1 = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.cas_offset_conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.cas_dcnpack = DCNv2Pack(num_feat, num_feat, 3, padding=1, deformable_groups=deformable_groups)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, nbr_feat_l: list[torch.Tensor], ref_feat_l: list[torch.Tensor],
                cas_ref_feat: torch.Tensor | None = None) -> torch.Tensor:
        """Align ``nbr_feat_l`` (L1, L2, L3). ``ref_feat_l`` only drives offset prediction;
        ``cas_ref_feat`` (default ``ref_feat_l[0]``) drives the cascading step."""
        up_offset = up_feat = None
        feat = None
        for i in range(3, 0, -1):
            level = f"l{i}"
            offset = self.lrelu(self.offset_conv1[level](torch.cat([nbr_feat_l[i - 1], ref_feat_l[i - 1]], dim=1)))
            if i == 3:
                offset = self.lrelu(self.offset_conv2[level](offset))
            else:
                offset = self.lrelu(self.offset_conv2[level](torch.cat([offset, up_offset], dim=1)))
                offset = self.lrelu(self.offset_conv3[level](offset))
            feat = self.dcn_pack[level](nbr_feat_l[i - 1], offset)
            if i < 3:
                feat = self.feat_conv[level](torch.cat([feat, up_feat], dim=1))
            if i > 1:
                feat = self.lrelu(feat)
                up_offset = self._up(offset) * 2
                up_feat = self._up(feat)
        ref = ref_feat_l[0] if cas_ref_feat is None else cas_ref_feat
        offset = self.lrelu(self.cas_offset_conv2(self.lrelu(self.cas_offset_conv1(torch.cat([feat, ref], dim=1)))))
        return self.lrelu(self.cas_dcnpack(feat, offset))


class TSAFusion(nn.Module):
    """Temporal and spatial attention fusion of the aligned features."""

    def __init__(self, num_feat: int = 64, num_frame: int = 5, center_frame_idx: int = 2) -> None:
        super().__init__()
        self.center_frame_idx = center_frame_idx
        self.temporal_attn1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.temporal_attn2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.feat_fusion = nn.Conv2d(num_frame * num_feat, num_feat, 1, 1)
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.spatial_attn1 = nn.Conv2d(num_frame * num_feat, num_feat, 1)
        self.spatial_attn2 = nn.Conv2d(num_feat * 2, num_feat, 1)
        self.spatial_attn3 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn4 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn5 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn_l1 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn_l2 = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.spatial_attn_l3 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn_add1 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn_add2 = nn.Conv2d(num_feat, num_feat, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    @staticmethod
    def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        # BasicSR upsamples by exactly 2; matching ``size`` keeps odd sizes working too.
        up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return up if up.shape[-2:] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def forward(self, aligned_feat: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = aligned_feat.shape
        emb_ref = self.temporal_attn1(aligned_feat[:, self.center_frame_idx])
        emb = self.temporal_attn2(aligned_feat.reshape(-1, c, h, w)).view(b, t, -1, h, w)
        corr = torch.sigmoid((emb * emb_ref.unsqueeze(1)).sum(dim=2))  # [b,t,h,w]
        aligned = (aligned_feat * corr.unsqueeze(2)).view(b, -1, h, w)
        feat = self.lrelu(self.feat_fusion(aligned))

        attn = self.lrelu(self.spatial_attn1(aligned))
        attn = self.lrelu(self.spatial_attn2(torch.cat([self.max_pool(attn), self.avg_pool(attn)], dim=1)))
        attn_level = self.lrelu(self.spatial_attn_l1(attn))
        attn_level = self.lrelu(self.spatial_attn_l2(
            torch.cat([self.max_pool(attn_level), self.avg_pool(attn_level)], dim=1)))
        attn_level = self._up(self.lrelu(self.spatial_attn_l3(attn_level)), attn.shape[-2:])
        attn = self.lrelu(self.spatial_attn3(attn)) + attn_level
        attn = self.lrelu(self.spatial_attn4(attn))
        attn = self.spatial_attn5(self._up(attn, (h, w)))
        attn_add = self.spatial_attn_add2(self.lrelu(self.spatial_attn_add1(attn)))
        return feat * torch.sigmoid(attn) * 2 + attn_add


class EDVRSeem(nn.Module):
    """SEEM weights of EDVR: shared ``f_r``, four alignment blocks, two reconstruction blocks."""

    INSERTION_POINTS = ("pcd_l1", "pcd_l2", "pcd_l3", "pcd_cascade", "fusion", "reconstruction")

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.f_r = SamRepresentation(num_feat)
        self.blocks = nn.ModuleDict({name: SEEMBlock(num_feat) for name in self.INSERTION_POINTS})


class EDVR(nn.Module):
    """Sliding-window VSR, x4: 2N+1 LR frames in, the centre HR frame out."""

    def __init__(self, num_feat: int = 64, num_frame: int = 5, deformable_groups: int = 8,
                 num_extract_block: int = 5, num_reconstruct_block: int = 10, with_tsa: bool = True,
                 seem: bool = False) -> None:
        super().__init__()
        if num_frame % 2 != 1:
            raise ValueError(f"EDVR needs an odd number of frames (2N+1), got {num_frame}")
        self.num_frame = num_frame
        self.center_frame_idx = num_frame // 2
        self.uses_masks = seem
        self.with_tsa = with_tsa
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.feature_extraction = make_layer(ResidualBlockNoBN, num_extract_block, num_feat=num_feat)
        self.conv_l2_1 = nn.Conv2d(num_feat, num_feat, 3, 2, 1)
        self.conv_l2_2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_l3_1 = nn.Conv2d(num_feat, num_feat, 3, 2, 1)
        self.conv_l3_2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.pcd_align = PCDAlignment(num_feat=num_feat, deformable_groups=deformable_groups)
        if with_tsa:
            self.fusion = TSAFusion(num_feat=num_feat, num_frame=num_frame, center_frame_idx=self.center_frame_idx)
        else:
            self.fusion = nn.Conv2d(num_frame * num_feat, num_feat, 1, 1)
        self.reconstruction = make_layer(ResidualBlockNoBN, num_reconstruct_block, num_feat=num_feat)
        self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, 64 * 4, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        self.seem = EDVRSeem(num_feat) if seem else None

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        """``lr`` [B,2N+1,3,h,w] in [0,1] (h, w multiples of 4), ``masks`` [B,2N+1,64,h,w] -> [B,3,4h,4w]."""
        name = type(self).__name__
        check_inputs(name, lr, masks, self.uses_masks)
        b, t, c, h, w = lr.shape
        if t != self.num_frame:
            raise ValueError(f"{name}: expected T = {self.num_frame} frames (2N+1), got T={t}")
        if h % 4 or w % 4:
            raise ValueError(f"{name}: expected h and w to be multiples of 4, got {h}x{w}")
        cidx = self.center_frame_idx
        x_center = lr[:, cidx]

        feat_l1 = self.feature_extraction(self.lrelu(self.conv_first(lr.reshape(-1, c, h, w))))
        feat_l2 = self.lrelu(self.conv_l2_2(self.lrelu(self.conv_l2_1(feat_l1))))
        feat_l3 = self.lrelu(self.conv_l3_2(self.lrelu(self.conv_l3_1(feat_l2))))
        feat_l1 = feat_l1.view(b, t, -1, h, w)
        feat_l2 = feat_l2.view(b, t, -1, h // 2, w // 2)
        feat_l3 = feat_l3.view(b, t, -1, h // 4, w // 4)

        ref_feat_l = [feat_l1[:, cidx], feat_l2[:, cidx], feat_l3[:, cidx]]
        cas_ref = None
        r_sam = None
        if self.seem is not None:
            blocks = self.seem.blocks
            r_sam = self.seem.f_r(x_center, masks[:, cidx])
            cas_ref = ref_feat_l[0] + blocks["pcd_cascade"](ref_feat_l[0], r_sam)
            ref_feat_l = [ref + blocks[f"pcd_l{i + 1}"](ref, r_sam) for i, ref in enumerate(ref_feat_l)]
        aligned = torch.stack(
            [self.pcd_align([feat_l1[:, i], feat_l2[:, i], feat_l3[:, i]], ref_feat_l, cas_ref) for i in range(t)],
            dim=1,
        )
        feat = self.fusion(aligned if self.with_tsa else aligned.view(b, -1, h, w))
        if r_sam is not None:
            feat = feat + self.seem.blocks["fusion"](feat, r_sam)
        out = self.reconstruction(feat)
        if r_sam is not None:
            out = out + self.seem.blocks["reconstruction"](out, r_sam)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.lrelu(self.conv_hr(out))
        out = self.conv_last(out)
        return out + F.interpolate(x_center, scale_factor=4, mode="bilinear", align_corners=False)
