"""Running a network on frames: device and precision choice, uint8 <-> tensor, tiles, int8 blocks, memory."""

from .device import (
    PRECISIONS,
    autocast,
    cpu_conv_seconds,
    cpu_estimate_seconds,
    default_chunk,
    place_model,
    resolve_device,
    resolve_precision,
)
from .runner import ModelRunner
from .tiling import tiled_forward

__all__ = [
    "PRECISIONS", "ModelRunner", "autocast", "cpu_conv_seconds", "cpu_estimate_seconds", "default_chunk",
    "place_model", "resolve_device", "resolve_precision", "tiled_forward",
]
