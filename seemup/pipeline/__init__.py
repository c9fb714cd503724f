"""The upscale job: streamed video in, chunked inference, resumable segments, one atomic output."""

from .progress import NullProgress, ProgressSink, RichProgress
from .schedule import Chunk, plan_chunks, window_indices
from .state import partial_dir_for
from .upscale import UpscaleOptions, UpscaleResult, upscale_video

__all__ = [
    "Chunk", "NullProgress", "ProgressSink", "RichProgress", "UpscaleOptions", "UpscaleResult", "partial_dir_for",
    "plan_chunks", "upscale_video", "window_indices",
]
