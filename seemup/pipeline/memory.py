"""The C heap during inference: frame-sized buffers reused, not refaulted; freed heap handed back between chunks.

glibc raises its mmap threshold after large blocks are freed, so later frame-sized buffers come from the
heap and freed ones stay resident, a few tens of MB more every few chunks (measured; no leak: with a fixed
threshold RSS is constant). ``malloc_trim(0)`` after each chunk returns that memory. Elsewhere a no-op.

Within a chunk the opposite costs time: with glibc's defaults the 7-30 MB feature maps of a 320x180
recurrent pass go back to the OS as soon as they are freed and fault in again, page by page, when the next
frame allocates them (1.1M minor faults for 20 frames of basicvsr-lite). :func:`keep_frame_buffers`
fixes the thresholds so they are reused; ``malloc_trim`` still returns them after the chunk.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

# glibc's mallopt parameters, and the largest mmap threshold it accepts on 64-bit (32 MiB)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
FRAME_BUFFER_MAX = 32 * 1024**2
HEAP_SLACK = 1024**3  # free heap kept mapped until malloc_trim (after each chunk)


@functools.lru_cache(maxsize=1)
def _glibc():  # noqa: ANN202 - a ctypes library or None
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # musl and other libcs have neither
        return None
    libc.malloc_trim.restype = ctypes.c_int
    libc.mallopt.restype = ctypes.c_int
    return libc


def release_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc); does nothing where that is not available."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.lru_cache(maxsize=1)
def keep_frame_buffers() -> bool:
    """Serve buffers up to 32 MiB from the heap and keep up to 1 GiB of it free between frames (glibc only).

    basicvsr-lite at 320x180 on the 2-core machine: 0.515 -> 0.494-0.501 s/frame, 1.1M -> 0.36M minor faults,
    peak RSS +60 MB (docs/upscale.md). Process-wide and once; returns whether glibc took the settings.
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, FRAME_BUFFER_MAX)) and bool(libc.mallopt(M_TRIM_THRESHOLD, HEAP_SLACK))
