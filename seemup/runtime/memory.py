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


GIB = 1024**3


def free_memory(device) -> int:  # noqa: ANN001 - a torch.device
    """Bytes a job can use on ``device``: free CUDA memory, or the kernel's MemAvailable (free RAM plus the
    page cache it can drop), which unlike free pages alone does not turn down a machine with a full cache."""
    from .device import available_memory

    if device.type != "cpu":
        return available_memory(device)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return available_memory(device)


def inference_bytes(height: int, width: int, frames: int, num_feat: int, element_size: int, *, streamed: bool,
                    tile: int | None = None, tile_overlap: int = 0, window: int | None = None) -> int:
    """Rough peak bytes of one piece of work: ``frames`` input frames at once (a chunk and its context, or
    a window model's batch of neighbourhoods) of ``height`` x ``width`` through a ``num_feat``-channel network.

    Recurrent, whole frames: the stored features of every frame plus one output frame's reconstruction (as
    ``default_chunk`` counts them). Tiled: the same for one tile, plus the whole x4 output, which is
    blended at full size. Window models: about eight feature maps per frame. An estimate to refuse a job
    that cannot fit with the numbers, before it allocates until it dies; it is no promise that one that
    passes fits.
    """
    from .device import bytes_per_frame

    pixels = height * width
    inputs = frames * pixels * 3 * (1 + 4)  # decoded uint8 frames and their float copy
    th, tw = (min(height, tile + 2 * tile_overlap), min(width, tile + 2 * tile_overlap)) if tile else (height, width)
    if window:
        return inputs + frames * num_feat * th * tw * element_size * 8 + frames // window * 3 * 16 * pixels * 4 * 2
    if tile:
        blended = frames * 3 * 16 * pixels * (4 + 1)  # float sum, then uint8
        return inputs + frames * bytes_per_frame(th, tw, num_feat, element_size, streamed=False) + blended
    reconstruct = 64 * 16 * pixels * element_size * 2 if num_feat else 0
    return inputs + frames * bytes_per_frame(height, width, num_feat, element_size, streamed) + reconstruct
