"""Per-clip optical flows of a frozen SPyNet for training, computed once on the full LR frames.

While SPyNet stays frozen for a whole run (``--precompute-flows``), its flows are the same function of the
frames at every step, and recomputing them for every crop costs a small model most of its step (SPyNet is
dearer than basicvsr-lite's trunks). They are computed here once per clip on the MATLAB-bicubic LR frames,
stored as float16 [2, T-1, 2, h, w] (forward, backward) and cut out for each crop, which the dataset then
flips and rotates with the frames (``augment_flows``). A crop thus gets the flows of the full frame: SPyNet
saw the whole frame's context, as it does at inference, not just a 64-pixel patch.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .train_clips import SCALE, Clip, lr_frame
from .train_files import LazyMemmap, atomic_write_bytes, make_readable, source_tag

# LR frames [n,h,w,3] uint8 -> (forward, backward) flows [n-1,2,h,w], as the network's compute_flows gives them
FlowFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
FLOW_DTYPE = np.float16  # ~0.06 px steps at 100 px displacement: far below what bilinear warping resolves


class ClipFlows(LazyMemmap):
    """Memory-mapped flows of one clip; picklable for DataLoader workers."""

    def __init__(self, raw: Path, shape: tuple[int, int, int, int, int]) -> None:
        self.shape = shape
        self._init_memmap(raw, shape, FLOW_DTYPE)

    def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
        """Flows [2, count-1, 2, size, size] (forward, backward) between frames start .. start+count-1 of an
        LR crop."""
        return np.asarray(self.array[:, start:start + count - 1, :, top:top + size, left:left + size])


def prepare_clip_flows(clip: Clip, flow_fn: FlowFn, flow_id: str, cache_dir: Path,
                       on_frames: Callable[[int], None] | None = None, step: int = 16) -> ClipFlows:
    """Flows of every pair of neighbouring LR frames of ``clip`` by ``flow_fn`` (reused when already prepared).

    ``flow_id`` names what ``flow_fn`` computes (network, flow settings, SPyNet weights): other weights give
    other files. Frames go through ``flow_fn`` ``step + 1`` at a time, so memory does not grow with the clip.
    """
    if clip.num_frames < 2:
        raise ValueError(f"{clip.name}: flows need at least 2 frames, the clip has {clip.num_frames}")
    folder = cache_dir / "flows"
    stem = f"{clip.key}-{source_tag(flow_id)}"
    raw, meta = folder / f"{stem}.f16", folder / f"{stem}.json"
    h, w = clip.height // SCALE, clip.width // SCALE
    shape = (2, clip.num_frames - 1, 2, h, w)
    nbytes = int(np.prod(shape)) * np.dtype(FLOW_DTYPE).itemsize
    if meta.is_file() and raw.is_file() and raw.stat().st_size == nbytes:
        if on_frames is not None:
            on_frames(clip.num_frames)
        return ClipFlows(raw, shape)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        out = np.memmap(tmp, dtype=FLOW_DTYPE, mode="w+", shape=shape)
        for s in range(0, clip.num_frames - 1, step):
            e = min(s + step, clip.num_frames - 1)  # flows s .. e-1 join frames s .. e
            fw, bw = flow_fn(np.stack([lr_frame(clip, i) for i in range(s, e + 1)]))
            if fw.shape != (e - s, 2, h, w) or bw.shape != fw.shape:
                raise ValueError(f"flow function returned {fw.shape} and {bw.shape}, expected {(e - s, 2, h, w)}")
            out[0, s:e], out[1, s:e] = fw, bw
            if on_frames is not None:
                on_frames(e - s + (s == 0))
        out.flush()
        del out
        make_readable(tmp)
        os.replace(tmp, raw)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(meta, json.dumps({"shape": list(shape), "clip": clip.name, "flow_id": flow_id}).encode())
    return ClipFlows(raw, shape)
