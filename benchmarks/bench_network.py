"""Network-only speed of a model at 320x180 on CPU, in the default and the channels-last layout.

    python benchmarks/bench_network.py --model basicvsr-lite --frames 30
    python benchmarks/bench_network.py --model basicvsr --frames 4
    python benchmarks/bench_network.py --model basicvsr-lite --precision int8   # seemup upscale's CPU default
    python benchmarks/bench_network.py --model basicvsr-lite --precision bf16   # ... without int8 calibration

Prints seconds per frame for one recurrent pass over ``--frames`` random frames after a warm-up call.
Decoding, encoding and chunk overlap are not included (bench_upscale.py and `seemup upscale` measure those).
The first line is the machine's speed on the convolution that dominates the BasicVSR trunks (64 -> 64
channels, 3x3, at the input size), so numbers taken on different days or machines can be compared.
Run it on an otherwise idle machine; never in CI.
"""

from __future__ import annotations

import argparse
import time

import torch

from seemup.pipeline import autocast, cpu_conv_seconds, place_model, resolve_precision
from seemup.pipeline.device import CPU_ESTIMATE_SIZE, autocast_dtype
from seemup.pipeline.int8 import apply_int8
from seemup.pipeline.memory import keep_frame_buffers
from seemup.weights import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="basicvsr-lite")
    ap.add_argument("--weights", default=None, help="weight set or file (default: the model's default)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="320x180", help="input WxH")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--precision", default="fp32", help="fp32, bf16, int8 (int8 residual blocks from the weights' "
                    "calibration, the rest as auto), or auto (bf16/fp32 by the CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keep_frame_buffers()  # both layouts with the heap settings of every CPU run (place_model sets them too)
    w, h = (int(v) for v in args.size.lower().split("x"))
    precision = resolve_precision(torch.device("cpu"), args.precision)
    seconds = cpu_conv_seconds(precision, w, h, repeat=20)  # the best of 20, as `seemup upscale` estimates
    ms, rate = seconds * 1000, 2 * 64 * 64 * 9 * h * w / seconds / 1e9
    dtype = str(autocast_dtype(precision) or torch.float32).removeprefix("torch.")  # int8: its other layers'
    print(f"machine: 64->64 3x3 conv at {w}x{h}, channels-last {dtype}: {ms:.1f} ms ({rate:.0f} GFLOP/s), "
          f"{args.threads} threads", flush=True)
    model, info = build_model(args.model, args.weights)
    x = torch.rand(1, args.frames, 3, h, w)
    # int8 blocks exist only in the channels-last form seemup upscale runs
    for layout in ("default", "channels-last") if precision != "int8" else ("channels-last",):
        net = model.eval() if layout == "default" else place_model(model, torch.device("cpu"))
        if precision == "int8":
            net = apply_int8(net, info.path if info else None, args.model)
        with torch.inference_mode(), autocast(torch.device("cpu"), precision):
            net(x[:, :2])
            start = time.perf_counter()
            net(x)
            dt = time.perf_counter() - start
        cost = dt / args.frames / seconds * (CPU_ESTIMATE_SIZE[0] * CPU_ESTIMATE_SIZE[1]) / (w * h)
        print(f"{args.model} {layout} {precision}: {dt / args.frames:.3f} s/frame ({args.frames / dt:.2f} fps) "
              f"at {w}x{h}, {args.frames} frames, {args.threads} threads; {cost:.0f} reference convolutions per "
              "320x180 frame (ModelSpec.cpu_cost)", flush=True)


if __name__ == "__main__":
    main()
