"""Segmentation masks for SEEM: 64 binary masks per LR frame from SAM (or a classical fallback), cached on disk.

Public API::

    source = get_mask_source("sam", ckpt)      # MaskSource; source.id names it stably
    masks = source(frame)                      # frame HxWx3 uint8 RGB -> [64,H,W] uint8 {0,1}
    cached = CachedMasks(source, MaskCache())  # same contract, through the on-disk cache; cached.stats

``seemup.weights.open_masks`` does all three, finding an installed SAM checkpoint first.
"""

from .base import NUM_MASKS, MaskSource, NoMasks, check_frame, stack_ordered
from .cache import DEFAULT_MAX_BYTES, MaskCache, frame_digest
from .cached import CachedMasks, CacheStats
from .checkpoints import SAM_CHECKPOINTS
from .classical import ClassicalMaskSource
from .paths import default_cache_root, default_mask_cache_dir
from .sources import KINDS, get_mask_source

__all__ = [
    "DEFAULT_MAX_BYTES",
    "KINDS",
    "NUM_MASKS",
    "SAM_CHECKPOINTS",
    "CacheStats",
    "CachedMasks",
    "ClassicalMaskSource",
    "MaskCache",
    "MaskSource",
    "NoMasks",
    "check_frame",
    "default_cache_root",
    "default_mask_cache_dir",
    "frame_digest",
    "get_mask_source",
    "stack_ordered",
]


def __getattr__(name: str):
    """``SamMaskSource`` / ``build_sam_tiny`` load segment_anything lazily (it is slow to import)."""
    if name in ("SamMaskSource", "build_sam_tiny", "load_sam"):
        from . import sam

        return getattr(sam, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
