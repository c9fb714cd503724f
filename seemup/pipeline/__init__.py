"""The upscale pipeline: chunked/windowed inference over streamed video, tiling, resumable output."""

from .device import cpu_estimate_seconds, default_chunk, place_model, resolve_device
from .progress import NullProgress, ProgressSink, RichProgress
from .runner import ModelRunner
from .schedule import Chunk, plan_chunks, window_indices
from .state import partial_dir_for
from .tiling import tiled_forward
from .upscale import UpscaleOptions, UpscaleResult, upscale_video

__all__ = [
    "Chunk", "ModelRunner", "NullProgress", "ProgressSink", "RichProgress", "UpscaleOptions", "UpscaleResult",
    "cpu_estimate_seconds", "default_chunk", "partial_dir_for", "place_model", "plan_chunks", "resolve_device",
    "tiled_forward",
    "upscale_video", "window_indices",
]
