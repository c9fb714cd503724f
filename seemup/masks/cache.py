"""On-disk, content-addressed mask cache: packed bits with a checked header, atomic writes, LRU size cap.

Layout: ``<dir>/<source id>/<2 hex>/<frame sha256>.msk``. An entry is
``MAGIC | header | zlib(np.packbits(masks))``; the header holds the shape, the frame digest and a crc32 of
the payload, so a truncated or damaged file is detected, deleted and recomputed instead of crashing.
Writes go to a temp file in the same folder and are renamed into place (``os.replace``), so two processes
filling the same cache never leave a half-written entry; the loser of a race simply overwrites an identical
file. Hits refresh the file's mtime; when the total size passes the cap, the least recently used go first.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seemup.atomicfile import atomic_open

from .paths import default_mask_cache_dir

MAGIC = b"SEEMMSK\x01"
_HEADER = struct.Struct("<4sIIII32sI")  # reserved, channels, height, width, payload length, frame digest, crc32
ENTRY_SUFFIX = ".msk"
DEFAULT_MAX_BYTES = 2 * 1024**3
_STALE_TMP_SECONDS = 3600.0
_SAFE = re.compile(r"[^A-Za-z0-9._+=-]")


def frame_digest(frame: np.ndarray) -> str:
    """sha256 of a frame's pixels and shape: the content address of its masks."""
    a = np.ascontiguousarray(frame)
    h = hashlib.sha256()
    h.update(f"seemup-frame|{a.dtype.str}|{'x'.join(map(str, a.shape))}|".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def encode_entry(masks: np.ndarray, digest: str) -> bytes:
    """Serialise ``[C,H,W]`` {0,1} masks for the cache (packed bits, zlib level 1, checked header)."""
    c, h, w = masks.shape
    payload = zlib.compress(np.packbits(masks.astype(bool, copy=False), axis=None).tobytes(), 1)
    header = _HEADER.pack(b"\0" * 4, c, h, w, len(payload), bytes.fromhex(digest), zlib.crc32(payload))
    return MAGIC + header + payload


def decode_entry(data: bytes, digest: str) -> np.ndarray | None:
    """The masks stored in ``data``, or None when it is damaged, truncated or belongs to another frame."""
    start = len(MAGIC) + _HEADER.size
    if len(data) < start or data[: len(MAGIC)] != MAGIC:
        return None
    _, c, h, w, length, stored_digest, crc = _HEADER.unpack_from(data, len(MAGIC))
    payload = data[start:]
    if len(payload) != length or zlib.crc32(payload) != crc or stored_digest != bytes.fromhex(digest):
        return None
    try:
        bits = np.frombuffer(zlib.decompress(payload), dtype=np.uint8)
    except zlib.error:
        return None
    n = c * h * w
    if bits.size != (n + 7) // 8:
        return None
    return np.unpackbits(bits, count=n).reshape(c, h, w)


@dataclass
class CacheUsage:
    """What a scan of the cache folder found."""

    entries: int
    bytes: int


class MaskCache:
    """Masks on disk keyed by (frame content, source id), capped at ``max_bytes`` with LRU eviction.

    ``cache_dir`` None: ``$SEEMUP_CACHE_DIR`` or the platform cache folder (``~/.cache/seemup/masks``).
    Safe to share between processes: every write is atomic and every read is verified.
    """

    def __init__(self, cache_dir: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.dir = Path(cache_dir).expanduser() if cache_dir is not None else default_mask_cache_dir()
        self.max_bytes = int(max_bytes)
        self.evicted = 0
        self.corrupt = 0
        self._lock = threading.Lock()
        self._approx_bytes: int | None = None  # lazily scanned, then kept up to date by our own writes

    def path(self, digest: str, source_id: str) -> Path:
        """Where the entry of a frame digest under a source id lives."""
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.dir / _SAFE.sub("_", source_id) / digest[:2] / f"{digest}{ENTRY_SUFFIX}"

    def get(self, digest: str, source_id: str) -> np.ndarray | None:
        """The cached masks, or None (miss). A damaged entry is deleted and reported as a miss."""
        p = self.path(digest, source_id)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None  # unreadable (permissions, I/O): behave as a miss, the masks get recomputed
        masks = decode_entry(data, digest)
        if masks is None:
            self.corrupt += 1
            _unlink(p)
            return None
        try:
            os.utime(p)  # LRU: a hit makes the entry the most recently used
        except OSError:
            pass
        return masks

    def put(self, digest: str, source_id: str, masks: np.ndarray) -> None:
        """Store masks atomically (temp file beside the entry, then rename), then enforce the size cap."""
        if masks.ndim != 3:
            raise ValueError(f"masks must be [C,H,W], got shape {masks.shape}")
        p = self.path(digest, source_id)
        data = encode_entry(masks, digest)
        with atomic_open(p, sync=False) as f:  # a cache entry: losing it in a crash costs a recomputation
            f.write(data)
        with self._lock:
            if self._approx_bytes is None:
                self._approx_bytes = self.usage().bytes
            else:
                self._approx_bytes += len(data)
            over = self._approx_bytes > self.max_bytes
        if over:
            self.evict()

    def usage(self) -> CacheUsage:
        """Count entries and bytes on disk now (other processes included)."""
        entries = total = 0
        for _, size, _ in self._scan():
            entries += 1
            total += size
        return CacheUsage(entries, total)

    def evict(self, target_bytes: int | None = None) -> int:
        """Delete least recently used entries until the cache holds at most ``target_bytes`` (default: 90% of
        the cap, so eviction does not run on every write). Returns how many entries were deleted."""
        target = int(self.max_bytes * 0.9) if target_bytes is None else int(target_bytes)
        entries = sorted(self._scan(clean_tmp=True), key=lambda e: e[2])
        total = sum(size for _, size, _ in entries)
        removed = 0
        for path, size, _ in entries:
            if total <= target:
                break
            if _unlink(path):
                removed += 1
            total -= size  # gone either way (another process may have evicted it first)
        with self._lock:
            self._approx_bytes = total
            self.evicted += removed
        return removed

    def clear(self, source_id: str | None = None) -> int:
        """Delete every entry (of one source id, or all). Returns how many were deleted."""
        root = self.dir / _SAFE.sub("_", source_id) if source_id is not None else self.dir
        removed = sum(_unlink(path) for path, _, _ in self._scan(root))
        with self._lock:
            self._approx_bytes = None
        return removed

    def _scan(self, root: Path | None = None, clean_tmp: bool = False):
        """Yield (path, size, mtime) of every entry; optionally delete temp files abandoned by dead writers."""
        now = time.time()
        for dirpath, _, filenames in os.walk(root or self.dir):
            for name in filenames:
                temp = name.startswith(".") and name.endswith(".tmp")  # a writer's (seemup.atomicfile)
                if not (temp or name.endswith(ENTRY_SUFFIX)):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue  # deleted meanwhile by another process
                if temp:
                    if clean_tmp and now - st.st_mtime > _STALE_TMP_SECONDS:
                        _unlink(path)
                    continue
                yield path, st.st_size, st.st_mtime

    def __repr__(self) -> str:
        return f"MaskCache({str(self.dir)!r}, max_bytes={self.max_bytes})"


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
