"""CPU cost of SAFA per output frame, 320x180 LR -> 1280x720, as ``--fps-factor 2`` would run it (not in CI).

    python benchmarks/bench_safa.py --threads 2

One call yields a pair's frames at t = 0 and 0.5: the bicubic enlargement and the head run once per pair (they
are timed alone too), the six recurrent blocks and the reconstruction tail once per output frame, all at
1280x736 (the padded x4 size). What a recurrent block
costs depends on the level the selector picks, so the run is timed with every block forced to full, half and
quarter resolution (the selector's bias set to +-50), and with the random weights' own choices. Prints wall
time and process CPU time (both threads) per output frame; the machine's load average is printed too, since
other processes slow the wall time.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from seemup.models.safa import SAFA, pair_times

FORCE = {"full": (50.0, 50.0), "half": (-50.0, 50.0), "quarter": (0.0, -50.0)}


def timed(model: SAFA, lr0: torch.Tensor, lr1: torch.Tensor, ts: list[float], repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds per call, best of ``repeat`` (the head and the bicubic enlargement included)."""
    with torch.no_grad():
        best = (float("inf"), float("inf"))
        for _ in range(repeat):
            w, c = time.perf_counter(), time.process_time()
            model(lr0, lr1, ts)
            best = min(best, (time.perf_counter() - w, time.process_time() - c))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="320x180", help="LR width x height")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    torch.manual_seed(0)
    model = SAFA().eval()
    lr0, lr1 = torch.rand(1, 3, h, w), torch.rand(1, 3, h, w)
    ts = pair_times(2)
    print(f"SAFA, LR {w}x{h} -> {4 * w}x{4 * h}, {args.threads} threads, load average {os.getloadavg()[0]:.1f}")
    with torch.no_grad():
        t = time.perf_counter()
        pair = torch.cat((model.prepare(lr0), model.prepare(lr1)), 1)
        prep = time.perf_counter() - t
        t = time.perf_counter()
        model.block.extract_feat(pair)
        head = time.perf_counter() - t
    print(f"  OpenCV-exact bicubic x4 of both frames: {prep:.2f} s; head of both frames: {head:.2f} s (once per pair)")
    bias = model.block.getscale[4].bias
    original = bias.detach().clone()
    for name, forced in [("own choices", None), *FORCE.items()]:
        with torch.no_grad():
            bias.copy_(original if forced is None else torch.tensor(forced))
        wall, cpu = timed(model, lr0, lr1, ts, args.repeat)
        print(f"  {name:>12}: {wall / len(ts):6.2f} s wall, {cpu / len(ts):6.2f} s CPU per output frame")


if __name__ == "__main__":
    main()
