"""Seconds per frame of the mask sources: classical fallback, and SAM ViT-B (random weights) on CPU / CUDA.

    .venv/bin/python benchmarks/bench_masks.py                  # classical 20 frames, SAM 2 frames on CPU
    .venv/bin/python benchmarks/bench_masks.py --sam-frames 8 --devices cuda   # on a GPU machine

Frames are the first frames of the shared footage shrunk to --size (320x180, a typical LR frame), or random
pixels when the footage is absent. SAM uses ``sam_model_registry["vit_b"]()`` with no checkpoint: the cost
is the real network's, the masks are meaningless (random weights leave few masks, so the per-mask
post-processing is cheaper than with a trained model). Cache hit cost is measured too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("SEEMUP_FOOTAGE", "/nonexistent"))  # docs/training.md, "Footage"


def load_frames(n: int, width: int, height: int) -> tuple[list[np.ndarray], str]:
    """``n`` LR-sized frames from the shared footage (area-downscaled), or random ones without it."""
    import cv2

    videos = sorted(FOOTAGE.glob("*.mp4")) if FOOTAGE.is_dir() else []
    if not videos:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)], "random pixels"
    from seemup.video import read_frames

    frames: list[np.ndarray] = []
    with read_frames(videos[0]) as reader:
        for frame in reader:
            frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) == n:
                break
    while len(frames) < n:  # very short clip: repeat
        frames.append(frames[len(frames) % max(1, len(frames))].copy())
    return frames, f"{videos[0].name} shrunk to {width}x{height}"


def time_per_frame(fn, frames: list[np.ndarray], warmup: int = 1) -> list[float]:
    """Seconds of ``fn(frame)`` for each frame, after ``warmup`` untimed calls."""
    for f in frames[:warmup]:
        fn(f)
    out = []
    for f in frames:
        t = time.perf_counter()
        fn(f)
        out.append(time.perf_counter() - t)
    return out


def report(name: str, seconds: list[float]) -> None:
    med = statistics.median(seconds)
    print(f"{name:<38} {len(seconds):>3} frames  median {med * 1000:9.1f} ms/frame  "
          f"mean {statistics.fmean(seconds) * 1000:9.1f}  min {min(seconds) * 1000:9.1f}", flush=True)


def bench_classical(frames: list[np.ndarray]) -> None:
    from seemup.masks import CachedMasks, ClassicalMaskSource, MaskCache

    src = ClassicalMaskSource()
    report(f"classical ({src.id})", time_per_frame(src, frames, warmup=2))
    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedMasks(src, MaskCache(tmp))
        cached.batch(frames)
        report("cache hit (read + verify + unpack)", time_per_frame(cached, frames, warmup=0))


def bench_sam(frames: list[np.ndarray], device: str, batch: int) -> None:
    from segment_anything import sam_model_registry

    from seemup.masks import get_mask_source

    t = time.perf_counter()
    model = sam_model_registry["vit_b"]()
    src = get_mask_source("sam", sam_model=model, device=device, batch_size=batch)
    print(f"SAM ViT-B random weights on {device}: built in {time.perf_counter() - t:.1f} s, id {src.id}", flush=True)
    report(f"sam vit_b {device} one frame at a time", time_per_frame(src, frames))

    def encode_only(frame: np.ndarray) -> None:
        x = torch.as_tensor(src.predictor.transform.apply_image(frame), device=src.device)
        with torch.no_grad():
            src.predictor.encode(x.permute(2, 0, 1)[None].contiguous())
        if src.device.type == "cuda":
            torch.cuda.synchronize()

    report(f"  of which image encoder ({device})", time_per_frame(encode_only, frames[:1], warmup=0))
    if device.startswith("cuda") and len(frames) >= batch > 1:
        src.batch(frames[:batch])  # warm-up of the batched shapes
        torch.cuda.synchronize()
        t = time.perf_counter()
        src.batch(frames)
        torch.cuda.synchronize()
        per = (time.perf_counter() - t) / len(frames)
        report(f"sam vit_b {device} batch {batch} (autocast)", [per] * len(frames))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20, help="frames for the classical source")
    parser.add_argument("--sam-frames", type=int, default=2, help="frames for SAM (ViT-B on CPU: ~seconds each)")
    parser.add_argument("--size", default="320x180", help="LR frame size WxH")
    parser.add_argument("--devices", default="auto", help="comma list of cpu/cuda, or auto (cpu + cuda if present)")
    parser.add_argument("--batch", type=int, default=4, help="SAM frames per encoder batch on CUDA")
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenCV CPU threads")
    parser.add_argument("--skip-sam", action="store_true")
    args = parser.parse_args()

    import cv2

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    frames, origin = load_frames(max(args.frames, args.sam_frames), width, height)
    print(f"frames: {origin}; torch {torch.__version__}, {args.threads} CPU thread(s), python {sys.version.split()[0]}")
    bench_classical(frames[: args.frames])
    if args.skip_sam:
        return
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if args.devices == "auto" else \
        [d.strip() for d in args.devices.split(",") if d.strip()]
    for device in devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            print(f"skipping {device}: CUDA not available")
            continue
        n = args.sam_frames if device == "cpu" else max(args.sam_frames, 2 * args.batch)
        bench_sam((frames * (n // len(frames) + 1))[:n], device, args.batch)


if __name__ == "__main__":
    main()
