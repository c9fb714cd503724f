"""The C heap during CPU inference: frame-sized buffers are reused instead of faulted in again every frame."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seemup.runtime.memory import _glibc

# Allocates, touches and frees a 24 MiB buffer (a 320x180 feature map is 7-30 MB) three times through the C
# heap and prints the minor page faults of each round. Run in a fresh interpreter: glibc's thresholds are
# process-wide and move with every large free.
ROUNDS = """
import ctypes, resource, sys
from seemup.runtime.memory import _glibc
if sys.argv[1] == "placed":
    import torch
    from seemup.runtime import place_model
    place_model(torch.nn.Conv2d(1, 1, 1), torch.device("cpu"))
libc = _glibc()
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
size, faults = 24 * 1024**2, []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buf = libc.malloc(size)
    ctypes.memset(buf, 1, size)
    libc.free(buf)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


def _faults(mode: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True).stdout
    return [int(n) for n in out.split()]


@pytest.mark.skipif(_glibc() is None, reason="glibc's mallopt is Linux/glibc only")
def test_cpu_placement_keeps_frame_buffers_mapped() -> None:
    """With glibc's defaults the second 24 MiB buffer is faulted in page by page again (~6000 faults);
    after place_model on CPU it reuses the first one's pages."""
    pages = 24 * 1024**2 // 4096
    plain = _faults("plain")
    assert plain[1] > pages // 2
    placed = _faults("placed")
    assert placed[1] < pages // 20 and placed[2] < pages // 20
