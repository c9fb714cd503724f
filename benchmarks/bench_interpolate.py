"""What frame interpolation adds to `seemup upscale --fps-factor N` per output frame, against basicvsr-lite, on CPU.

    python benchmarks/bench_interpolate.py                    # 320x180 -> 1280x720, 2 threads, --fps-factor 2
    python benchmarks/bench_interpolate.py --fps-factor 4
    python benchmarks/bench_interpolate.py --scale 0.5        # RIFE at half its process resolution
    python benchmarks/bench_interpolate.py --quality          # Y-PSNR of new frames on footage (needs it)

With --fps-factor N every input frame becomes N output frames: itself and N-1 new ones from RIFE (one
``Interpolator.between`` call with the N-1 times), the scene-cut check reads each input frame once, and the
SR network then runs on all N frames in LR. Per output frame the cascade costs

    lite + (rife call + cut check) / N

and the interpolator's share is (rife call + cut check) / N / lite; the issue asks for at most 10% at N = 2.
lite is basicvsr-lite's network time per frame in one recurrent pass over --frames frames (as
bench_network.py measures it), at the precision `seemup upscale` picks on this CPU (int8 blocks where
the CPU runs them exactly, else bf16 where native, else fp32). The three are timed in turns (lite, rife,
cut, lite, ...) so that other load on the machine hits them alike, and the best of --repeat turns is kept.
On a busy machine wall time still swings (the share moved between 7% and 15% on one 2-core machine shared
with other jobs); ``--threads 1 --clock cpu`` times the process's own CPU time, which waiting for the cores
does not inflate.
Frames are real footage (01_dog.mp4 area-downscaled) when $SEEMUP_FOOTAGE is set, else random. Never in CI.

--quality instead scores what a new frame looks like: from every clip of $SEEMUP_FOOTAGE, frames 40k and
40k+2 (k = 0..4, area-downscaled to --size) make frame 40k+1, which is the ground truth; Y-PSNR (BT.601
luma, as the bench) of RIFE at scale 1 and 0.5 against a 50/50 blend and a repeated frame.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from seemup.pipeline.interpolate import Interpolator
from seemup.pipeline.scenecut import SceneCuts
from seemup.runtime import autocast, cpu_conv_seconds, place_model, resolve_precision
from seemup.weights import build_model
from seemup.weights.int8_ranges import apply_int8, prefer_int8


def footage_frames(w: int, h: int, count: int) -> list[np.ndarray]:
    """``count`` consecutive frames of 01_dog.mp4 at w x h, or random frames without the footage."""
    path = Path(os.environ.get("SEEMUP_FOOTAGE", "/nonexistent")) / "01_dog.mp4"
    if not path.is_file():
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(count)]
    from seemup.video import read_frames

    frames = []
    with read_frames(path, start=30) as reader:
        for frame in reader:
            frames.append(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return frames


def quality(size: tuple[int, int]) -> None:
    """Mean Y-PSNR of the frame between two footage frames, per clip and over all (see the docstring)."""
    from seemup.metrics import psnr
    from seemup.video import read_frames

    folder = Path(os.environ["SEEMUP_FOOTAGE"])
    rifes = {scale: Interpolator(device="cpu", precision="fp32", scale=scale) for scale in (1.0, 0.5)}
    scores: dict[str, list[float]] = {"RIFE": [], "RIFE scale 0.5": [], "blend": [], "repeat": []}
    for path in sorted(folder.glob("*.mp4")):
        with read_frames(path) as reader:
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for i, f in enumerate(reader)
                      if i % 40 < 3 and i < 200]
        for a, truth, b in (frames[j:j + 3] for j in range(0, len(frames) - 2, 3)):
            made = {"RIFE": rifes[1.0].between(a, b, [0.5])[0], "RIFE scale 0.5": rifes[0.5].between(a, b, [0.5])[0],
                    "blend": ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8), "repeat": a}
            for name, frame in made.items():
                scores[name].append(psnr(frame, truth))
        print(path.stem, {k: round(float(np.mean(v[-5:])), 2) for k, v in scores.items()}, flush=True)
    print("all clips:", {k: round(float(np.mean(v)), 2) for k, v in scores.items()}, f"({len(scores['RIFE'])} frames)")


def lite_runner(frames: list[np.ndarray]) -> tuple[Callable[[], None], str]:
    """One recurrent basicvsr-lite pass over ``frames`` at upscale's CPU precision, and that precision."""
    cpu = torch.device("cpu")
    model, info = build_model("basicvsr-lite")
    path = info.path if info is not None else None
    precision = "int8" if prefer_int8("auto", cpu, path) else resolve_precision(cpu, "auto")
    net = place_model(model, cpu)
    if precision == "int8":
        net = apply_int8(net, path, "basicvsr-lite")
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)

    def run() -> None:
        with torch.inference_mode(), autocast(cpu, precision):
            net(x)

    return run, precision


def gflop(job: Callable[[], None]) -> float:
    """Floating-point operations of one run of ``job`` (torch's counter: convolutions and matrix products)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        job()
    return counter.get_total_flops() / 1e9


def best_of(turns: int, jobs: dict[str, Callable[[], None]], clock: Callable[[], float]) -> dict[str, float]:
    """Seconds of each job, the best of ``turns`` rounds in which every job runs once, in turn."""
    best = dict.fromkeys(jobs, float("inf"))
    for job in jobs.values():
        job()  # warm-up
    for _ in range(turns):
        for name, job in jobs.items():
            start = clock()
            job()
            best[name] = min(best[name], clock() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="320x180", help="LR input WxH")
    ap.add_argument("--fps-factor", type=int, default=2)
    ap.add_argument("--frames", type=int, default=10, help="frames per basicvsr-lite pass")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="RIFE's process scale (1.0, 0.5, ...)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time (with --threads 1: what other load cannot inflate)")
    ap.add_argument("--quality", action="store_true", help="Y-PSNR of new frames on $SEEMUP_FOOTAGE instead")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    if args.quality:
        return quality((w, h))
    n = args.fps_factor
    frames = footage_frames(w, h, max(args.frames, 2))
    rife = Interpolator(device="cpu", precision="auto", scale=args.scale)
    times = [k / n for k in range(1, n)]
    lite, lite_precision = lite_runner(frames[:args.frames])

    def cuts() -> None:
        detector = SceneCuts()
        for frame in frames[:args.frames]:
            detector.next(frame)

    conv = cpu_conv_seconds(rife.precision, w, h, repeat=20)
    print(f"machine: 64->64 3x3 conv at {w}x{h}: {conv * 1000:.1f} ms wall, {args.threads} threads; timing by "
          f"{args.clock} clock", flush=True)
    best = best_of(args.repeat, {"lite": lite, "rife": lambda: rife.between(frames[0], frames[1], times),
                                 "cut": cuts}, time.perf_counter if args.clock == "wall" else time.process_time)
    lite_ms = best["lite"] / args.frames * 1000
    rife_ms, cut_ms = best["rife"] * 1000, best["cut"] / args.frames * 1000
    added = (rife_ms + cut_ms) / n
    print(f"basicvsr-lite ({lite_precision}): {lite_ms:.1f} ms per frame at {w}x{h} -> {4 * w}x{4 * h}")
    print(f"RIFE ({rife.precision}, scale {args.scale}): {rife_ms:.1f} ms per call with {n - 1} new frame(s) "
          f"({rife_ms / (n - 1):.1f} ms per new frame); scene-cut check {cut_ms:.2f} ms per input frame")
    lite_gflop, rife_gflop = gflop(lite) / args.frames, gflop(lambda: rife.between(frames[0], frames[1], times))
    print(f"work: basicvsr-lite {lite_gflop:.1f} GFLOP per frame, RIFE {rife_gflop:.2f} GFLOP per call; per output "
          f"frame the interpolator adds {100 * rife_gflop / n / lite_gflop:.1f}% of the operations")
    print(f"--fps-factor {n}, per output frame: basicvsr-lite alone {lite_ms:.1f} ms, cascade "
          f"{lite_ms + added:.1f} ms; the interpolator adds {added:.1f} ms = {100 * added / lite_ms:.1f}% "
          f"(target: at most 10%)")


if __name__ == "__main__":
    main()
