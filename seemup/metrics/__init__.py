"""Image quality metrics exactly as the video super-resolution papers compute them (see docs/bench.md)."""

from .color import rgb_to_y
from .prepare import SPACES, Space, crop_border, prepare_pair
from .psnr import psnr
from .ssim import ssim, ssim_channel

__all__ = ["SPACES", "Space", "crop_border", "prepare_pair", "psnr", "rgb_to_y", "ssim", "ssim_channel"]
