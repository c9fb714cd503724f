"""Quantization-aware training: residual blocks compute in training as `--precision int8` computes them.

int8 inference (seemup.runtime.int8) rounds each block's inputs to a calibrated uint8 grid and its weights
to per-channel symmetric int8. Training with the same rounding in the forward pass (straight-through
gradients) lets the weights settle where rounding costs nothing: for basicvsr-lite it turned a 0.015 dB
int8 loss into none (docs/training.md, stages 8-10). The rounding must be exactly the inference's, so the
grid parameters come from the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from seemup.errors import UserError
from seemup.runtime.int8 import QMAX, WMAX, BlockRange, activation_qparams, residual_blocks, weight_scales


class FakeQuantConv2d(nn.Conv2d):
    """A 3x3 block convolution whose input and weight are rounded to the int8 inference's grids.

    It holds the very ``weight`` / ``bias`` parameters of the convolution it replaces, so the state dict,
    the optimizer's parameters and exported checkpoints are those of the plain network."""

    def __init__(self, conv: nn.Conv2d, lo: float, hi: float) -> None:
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode, device="meta")
        self.weight = conv.weight
        self.bias = conv.bias
        self.input_scale, self.input_zero = activation_qparams(lo, hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xq = torch.fake_quantize_per_tensor_affine(x.float(), self.input_scale, self.input_zero, 0, QMAX)
        w = self.weight.float()
        scale = weight_scales(w)
        wq = torch.fake_quantize_per_channel_affine(w, scale, torch.zeros_like(scale, dtype=torch.int32), 0,
                                                    -WMAX, WMAX)
        return self._conv_forward(xq, wq, None if self.bias is None else self.bias.float())


def fake_quantize_blocks(model: nn.Module, ranges: Mapping[str, BlockRange]) -> int:
    """Swap every residual block's two convolutions of ``model`` for :class:`FakeQuantConv2d` with the
    calibrated ``ranges`` (block input min/max; conv2's input is ReLU output, 0..hidden max), in place.

    Returns the number of blocks. Raises ValueError when ``ranges`` do not cover exactly the model's blocks."""
    blocks = residual_blocks(model)
    names = {name for name, _ in blocks}
    if not blocks or names != set(ranges):
        raise ValueError(f"the int8 ranges cover {len(ranges)} blocks, the model has {len(names)}")
    for name, block in blocks:
        lo, hi, hidden_hi = ranges[name]
        block.conv1 = FakeQuantConv2d(block.conv1, lo, hi)  # on a FakeQuantConv2d: new grids, same parameters
        block.conv2 = FakeQuantConv2d(block.conv2, 0.0, hidden_hi)
    return len(blocks)


def calibrated_ranges(weights: Path) -> dict[str, BlockRange]:
    """The int8 ranges shipped/calibrated for the weights file a quantization-aware run starts from."""
    from seemup.weights.int8_ranges import read_ranges

    ranges, why = read_ranges(weights)
    if ranges is None:
        raise UserError(f"--qat: {why}")
    return dict(ranges.blocks)


__all__ = ["FakeQuantConv2d", "calibrated_ranges", "fake_quantize_blocks"]
