"""Keep a long job's resident memory flat: hand freed heap back to the OS between chunks.

glibc raises its mmap threshold after large blocks are freed, so later frame-sized buffers come from the
heap and freed ones stay resident, a few tens of MB more every few chunks (measured; no leak: with a fixed
threshold RSS is constant). ``malloc_trim(0)`` after each chunk returns that memory. Elsewhere a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys


@functools.lru_cache(maxsize=1)
def _malloc_trim():  # noqa: ANN202 - a ctypes function or None
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other libcs have no malloc_trim
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc); does nothing where that is not available."""
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
