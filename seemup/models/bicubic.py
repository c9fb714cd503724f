"""MATLAB-style bicubic x4 upsampling as a parameter-free "model" (the baseline of every VSR table)."""

from __future__ import annotations

import torch
from torch import nn

from seemup.imresize import imresize_torch

from .seem import check_inputs


class Bicubic(nn.Module):
    """[B,T,3,h,w] -> [B,T,3,4h,4w] with MATLAB's bicubic kernel; needs no weights."""

    uses_masks = False

    def __init__(self, scale: int = 4) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        check_inputs(type(self).__name__, lr, masks, False)
        dtype = torch.float64 if lr.device.type == "cpu" else torch.float32
        return imresize_torch(lr.to(dtype), float(self.scale)).to(lr.dtype)
