"""A mask source that goes through the on-disk cache: same call/batch contract, plus hit/miss counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import MaskSource
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

    def _masks(self, frame: np.ndarray) -> np.ndarray:
        return self._masks_batch([frame])[0]

    def _masks_batch(self, frames: list[np.ndarray]) -> np.ndarray:
        digests = [frame_digest(f) for f in frames]
        results: list[np.ndarray | None] = []
        for frame, digest in zip(frames, digests, strict=True):
            hit = self.cache.get(digest, self.id)
            if hit is not None and hit.shape[1:] != frame.shape[:2]:
                hit = None  # cannot happen for an intact entry (the digest covers the shape); be safe anyway
            results.append(hit)
        missing = [i for i, r in enumerate(results) if r is None]
        self.stats.hits += len(frames) - len(missing)
        self.stats.misses += len(missing)
        # identical frames in one batch (a still shot) are computed once
        first: dict[str, int] = {}
        for i in missing:
            first.setdefault(digests[i], i)
        unique = list(first.values())
        if unique:
            computed = self.source.batch([frames[i] for i in unique])
            for i, masks in zip(unique, computed, strict=True):
                self.cache.put(digests[i], self.id, masks)
                results[i] = masks
            for i in missing:
                results[i] = results[first[digests[i]]]
        return np.stack(results)  # type: ignore[arg-type]
