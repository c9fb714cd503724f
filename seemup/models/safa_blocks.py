"""SAFA's building blocks: the resnet18-stem head, residual and recurrent blocks, and backward warping.

Names follow the reference network's (megvii-research/WACV2024-SAFA) so that its checkpoints load strictly;
docs/method.md (section 7, "SAFA") describes the whole.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Scale levels a recurrent block can run its convolutions at: full, half and quarter of its input size.
LEVEL_FACTORS = (1.0, 0.5, 0.25)


def conv_prelu(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Sequential:
    """Convolution then PReLU (the reference's ``conv``; indices 0 and 1 in checkpoints)."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, bias=True), nn.PReLU(cout))


class ResBlock(nn.Module):
    """PReLU(beta * conv(PReLU(conv(x))) + x); ``beta`` starts at zero, so a new block passes x through."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.PReLU(c), nn.Conv2d(c, c, 3, 1, 1))
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.prelu = nn.PReLU(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.conv(x) * self.beta + x)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: sample ``image`` at (x + u, y + v), bilinear, edges repeated (as RIFE and SAFA do)."""
    b, _, h, w = flow.shape
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype).view(1, 1, 1, w).expand(b, -1, h, -1)
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype).view(1, 1, h, 1).expand(b, -1, -1, w)
    norm = torch.cat([flow[:, 0:1] / ((image.shape[3] - 1.0) / 2.0), flow[:, 1:2] / ((image.shape[2] - 1.0) / 2.0)], 1)
    grid = (torch.cat([xs, ys], 1) + norm).permute(0, 2, 3, 1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


class BasicBlock(nn.Module):
    """torchvision's resnet BasicBlock (same names, so the head's keys are resnet18's)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Head(nn.Module):
    """Per-frame features at half resolution from resnet18's stem, layer1 and layer2 (the reference's
    ``Head``): three 1x1 projections to ``c`` channels, upsampled to the stem's size and summed.

    ``normalize`` is a 1x1 convolution initialised to ImageNet's mean/std; it is a parameter in the
    reference's checkpoints (and was trained there), so it is one here too.
    """

    def __init__(self, c: int) -> None:
        super().__init__()
        self.cnn0 = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.cnn1 = nn.Sequential(nn.MaxPool2d(3, 2, 1), nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64)))
        self.cnn2 = nn.Sequential(nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128)))
        self.out0 = nn.Conv2d(64, c, 1, 1, 0)
        self.out1 = nn.Conv2d(64, c, 1, 1, 0)
        self.out2 = nn.Conv2d(128, c, 1, 1, 0)
        self.normalize = nn.Conv2d(3, 3, 1)
        std = torch.tensor(IMAGENET_STD)
        with torch.no_grad():
            self.normalize.weight.copy_(torch.eye(3).view(3, 3, 1, 1) / std.view(3, 1, 1, 1))
            self.normalize.bias.copy_(-1 * torch.tensor(IMAGENET_MEAN) / std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f0 = self.cnn0(self.normalize(x))
        f1 = self.cnn1(f0)
        f2 = self.cnn2(f1)
        up1 = F.interpolate(self.out1(f1), scale_factor=2.0, mode="bilinear")
        up2 = F.interpolate(self.out2(f2), scale_factor=4.0, mode="bilinear")
        return self.out0(f0) + up1 + up2


class _HardScale(torch.autograd.Function):
    """0/1 scale decisions with a straight-through gradient (the reference's ``RoundSTE``)."""

    @staticmethod
    def forward(ctx, prob: torch.Tensor, sample: bool) -> torch.Tensor:  # noqa: ANN001
        if sample:
            return torch.bernoulli(prob)
        return (prob >= 0.5).to(prob.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        return grad, None


def decide_scale(prob: torch.Tensor, sample: bool = False) -> torch.Tensor:
    """Scale decisions [B, 2] from the selector's probabilities: 1 where ``prob >= 0.5`` (or, with
    ``sample``, drawn as the reference does at every call), with the gradient passed straight through."""
    return _HardScale.apply(prob, sample)


def scale_level(scale: torch.Tensor) -> torch.Tensor:
    """Level per sample from decisions [B, 2]: 0 (full) when both are 1, 1 (half) when only the second
    is, 2 (quarter) when the second is 0 (the reference's three ``if`` conditions)."""
    fine, coarse = scale[:, 0] >= 0.5, scale[:, 1] >= 0.5
    return torch.where(coarse, torch.where(fine, 0, 1), 2)


class RecurrentBlock(nn.Module):
    """One of SAFA's six recurrent blocks: warp both frames' head features with the current flow, then run a
    stem convolution and ``depth`` residual blocks at the scale the shared selector chooses for each sample.

    Returns the block's feature at the input's size, the half-size flow it used and the decisions [B, 2].
    The shared flow head (``convflow``) is applied by the caller, so SEEM can refine the feature first.
    """

    def __init__(self, c: int, depth: int = 2) -> None:
        super().__init__()
        self.conv_stem = conv_prelu(3 * c + 6 + 1, c, 3, 1, 1)
        self.conv_backbone = nn.ModuleList([ResBlock(c) for _ in range(depth)])

    def _branch(self, x: torch.Tensor, level: int) -> torch.Tensor:
        factor = LEVEL_FACTORS[level]
        y = x if level == 0 else F.interpolate(x, scale_factor=factor, mode="bilinear")
        y = self.conv_stem(y)
        for block in self.conv_backbone:
            y = block(y)
        return y if level == 0 else F.interpolate(y, scale_factor=1.0 / factor, mode="bilinear")

    def forward(self, feat: torch.Tensor, i0: torch.Tensor, i1: torch.Tensor, flow: torch.Tensor,
                timestep: torch.Tensor, getscale: Callable[[torch.Tensor], torch.Tensor],
                sample: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        flow_down = F.interpolate(flow, scale_factor=0.5, mode="bilinear")
        w0 = warp(i0, flow_down[:, :2] * 0.5)
        w1 = warp(i1, flow_down[:, 2:4] * 0.5)
        x = torch.cat((feat, flow_down, w0, w1, timestep), 1)
        scale = decide_scale(getscale(x), sample)
        if torch.is_grad_enabled() and scale.requires_grad:
            return self._mixed(x, scale), flow_down, scale
        return self._selected(x, scale), flow_down, scale

    def _mixed(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Every level on every sample, weighted by the 0/1 decisions: what training needs, so that the
        selector gets a gradient (the reference's computation for batches of more than one)."""
        s = scale.unsqueeze(2).unsqueeze(3)
        feat = self._branch(x, 0) * s[:, 0:1] * s[:, 1:2]
        feat = feat + self._branch(x, 1) * (1 - s[:, 0:1]) * s[:, 1:2]
        return feat + self._branch(x, 2) * (1 - s[:, 1:2])

    def _selected(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Only the chosen level of each sample: the same values as ``_mixed`` at a third of the cost."""
        level = scale_level(scale)
        first = int(level[0])
        if bool((level == first).all()):
            return self._branch(x, first)
        out = None
        for lv in range(3):
            idx = (level == lv).nonzero().flatten()
            if idx.numel() == 0:
                continue
            part = self._branch(x.index_select(0, idx), lv)
            if out is None:
                out = part.new_zeros((x.shape[0], *part.shape[1:]))
            out.index_copy_(0, idx, part)
        return out
