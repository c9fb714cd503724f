"""The upscale pipeline: chunked/windowed inference over streamed video, tiling, resumable output."""

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
from .progress import NullProgress, ProgressSink, RichProgress
from .runner import ModelRunner
from .schedule import Chunk, plan_chunks, window_indices
from .state import partial_dir_for
from .tiling import tiled_forward
from .upscale import UpscaleOptions, UpscaleResult, upscale_video

__all__ = [
    "PRECISIONS", "Chunk", "ModelRunner",
    "NullProgress", "ProgressSink", "RichProgress", "UpscaleOptions", "UpscaleResult",
    "autocast", "cpu_conv_seconds", "cpu_estimate_seconds", "default_chunk", "partial_dir_for", "place_model",
    "plan_chunks",
    "resolve_device", "resolve_precision",
    "tiled_forward",
    "upscale_video", "window_indices",
]
