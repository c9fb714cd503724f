"""A mask source that goes through the on-disk cache: same call/batch contract, plus hit/miss counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import NUM_MASKS, MaskSource
from .cache import MaskCache, frame_digest


@dataclass
class CacheStats:
    """Frames served from the cache (hits) and computed by the source (misses) so far."""

    hits: int = 0
    misses: int = 0

    @property
    def frames(self) -> int:
        return self.hits + self.misses


class CachedMasks(MaskSource):
    """Wraps a :class:`MaskSource` with a :class:`MaskCache`; ``id`` is the wrapped source's id.

    ``cache`` None: a :class:`MaskCache` at the default location.
    """

    def __init__(self, source: MaskSource, cache: MaskCache | None = None) -> None:
        self.source = source
        self.cache = cache if cache is not None else MaskCache()
        self.id = source.id
        self.preferred_batch = source.preferred_batch
        self.stats = CacheStats()

    def _lookup(self, frame: np.ndarray) -> tuple[str, np.ndarray | None]:
        digest = frame_digest(frame)
        hit = self.cache.get(digest, self.id)
        if hit is not None and hit.shape[1:] != frame.shape[:2]:
            hit = None  # cannot happen for an intact entry (the digest covers the shape); be safe anyway
        return digest, hit

    def _masks(self, frame: np.ndarray) -> np.ndarray:
        digest, hit = self._lookup(frame)
        if hit is not None:
            self.stats.hits += 1
            return hit
        self.stats.misses += 1
        masks = self.source(frame)
        self.cache.put(digest, self.id, masks)
        return masks

    def _masks_batch(self, frames: list[np.ndarray]) -> np.ndarray:
        out = np.empty((len(frames), NUM_MASKS, *frames[0].shape[:2]), dtype=np.uint8)
        first_miss: dict[str, int] = {}  # identical frames in one batch (a still shot) are computed once
        missing: list[tuple[int, str]] = []
        for i, frame in enumerate(frames):
            digest, hit = self._lookup(frame)
            if hit is not None:
                out[i] = hit
            else:
                missing.append((i, digest))
                first_miss.setdefault(digest, i)
        self.stats.hits += len(frames) - len(missing)
        self.stats.misses += len(missing)
        if first_miss:
            unique = list(first_miss.items())
            computed = self.source.batch([frames[i] for _, i in unique])
            for (digest, i), masks in zip(unique, computed, strict=True):
                self.cache.put(digest, self.id, masks)
                out[i] = masks
            for i, digest in missing:
                if first_miss[digest] != i:
                    out[i] = out[first_miss[digest]]
        return out
