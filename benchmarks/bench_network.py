"""Network-only speed of a model at 320x180 on CPU, in the default and the channels-last layout.

    python benchmarks/bench_network.py --model basicvsr-lite --frames 30
    python benchmarks/bench_network.py --model basicvsr --frames 4
    python benchmarks/bench_network.py --model basicvsr-lite --precision int8   # seemup upscale's CPU default
    python benchmarks/bench_network.py --model basicvsr-lite --precision bf16   # ... without int8 calibration
    python benchmarks/bench_network.py --model edvr-m --frames 2   # a window model: output frames
    python benchmarks/bench_network.py --model vsrt --weights none --per-patch --threads 1 --layout channels-last

Prints seconds per frame for one recurrent pass over ``--frames`` random frames after a warm-up call; a window
model (EDVR, VSR-Transformer) makes ``--frames`` output frames, each from its own 2N+1 random input frames.
Besides wall time it reports the cost from CPU time (process time of the run over that of the reference
convolution), which other load on the machine inflates much less than wall time (least on one thread).
``--per-patch`` (VSR-Transformer) times one 2N+1 x 64x64 patch and multiplies by the patches a 320x180
frame is cut into (50): minutes instead of an hour on a busy machine.
Decoding, encoding and chunk overlap are not included (bench_upscale.py and `seemup upscale` measure those).
The first line is the machine's speed on the convolution that dominates the BasicVSR trunks (64 -> 64
channels, 3x3, at the input size), so numbers taken on different days or machines can be compared.
Run it on an otherwise idle machine; never in CI.
"""

from __future__ import annotations

import argparse
import time

import torch

from seemup.models import create_model, get_spec
from seemup.runtime import autocast, cpu_conv_seconds, place_model, resolve_precision
from seemup.runtime.device import CPU_ESTIMATE_SIZE, autocast_dtype
from seemup.runtime.memory import keep_frame_buffers
from seemup.weights import build_model
from seemup.weights.int8_ranges import apply_int8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="basicvsr-lite")
    ap.add_argument("--weights", default=None, help="weight set or file (default: the model's default; 'none': "
                    "untrained, for models whose weights are not installed: the speed is the same)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="320x180", help="input WxH")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--precision", default="fp32", help="fp32, bf16, int8 (int8 residual blocks from the weights' "
                    "calibration, the rest as auto), or auto (bf16/fp32 by the CPU)")
    ap.add_argument("--layout", choices=["both", "default", "channels-last"], default="both",
                    help="memory layout(s) to time (seemup upscale runs channels-last)")
    ap.add_argument("--per-patch", action="store_true", help="time one 64x64 patch (models with forward_patch)")
    args = ap.parse_args()
    if args.per_patch and args.size != "320x180":
        ap.error("--per-patch counts the patches of a 320x180 frame: leave --size at 320x180")
    torch.set_num_threads(args.threads)
    keep_frame_buffers()  # both layouts with the heap settings of every CPU run (place_model sets them too)
    w, h = (int(v) for v in args.size.lower().split("x"))
    precision = resolve_precision(torch.device("cpu"), args.precision)
    seconds = cpu_conv_seconds(precision, w, h, repeat=20)  # the best of 20, as `seemup upscale` estimates
    ms, rate = seconds * 1000, 2 * 64 * 64 * 9 * h * w / seconds / 1e9
    dtype = str(autocast_dtype(precision) or torch.float32).removeprefix("torch.")  # int8: its other layers'
    print(f"machine: 64->64 3x3 conv at {w}x{h}, channels-last {dtype}: {ms:.1f} ms ({rate:.0f} GFLOP/s), "
          f"{args.threads} threads", flush=True)
    conv_cpu = cpu_conv_seconds(precision, w, h, repeat=20, clock=time.process_time)
    model, info = (create_model(args.model), None) if args.weights == "none" else build_model(args.model, args.weights)
    window = getattr(model, "num_frame", None) if get_spec(args.model).kind == "window" else None
    # int8 blocks exist only in the channels-last form seemup upscale runs
    layouts = ("default", "channels-last") if args.layout == "both" else (args.layout,)
    for layout in layouts if precision != "int8" else ("channels-last",):
        net = model.eval() if layout == "default" else place_model(model, torch.device("cpu"))
        if precision == "int8":
            net = apply_int8(net, info.path if info else None, args.model)
        frames = 1 if args.per_patch else args.frames
        dt, cpu = _time_patches(net, precision) if args.per_patch else _time_frames(net, window, frames, w, h,
                                                                                     precision)
        scale = (CPU_ESTIMATE_SIZE[0] * CPU_ESTIMATE_SIZE[1]) / (w * h) / frames
        how = "from one patch" if args.per_patch else f"{frames} frames"
        print(f"{args.model} {layout} {precision}: {dt / frames:.3f} s/frame ({frames / dt:.3f} fps) "
              f"at {w}x{h}, {how}, {args.threads} threads; {dt / seconds * scale:.0f} reference "
              f"convolutions per 320x180 frame by wall time, {cpu / conv_cpu * scale:.0f} by CPU time (cpu_cost)",
              flush=True)


def _time_patches(net: torch.nn.Module, precision: str, repeat: int = 2) -> tuple[float, float]:
    """Wall and CPU seconds of a 320x180 frame from the best of ``repeat`` single patches (``net.forward_patch``)
    times the number of patches such a frame is cut into."""
    from seemup.models.vsrt_tiles import lr_spans

    size = net.feat_size
    x = torch.rand(1, net.num_frame, 3, size, size)
    masks = torch.rand(1, 64, size, size).round() if net.uses_masks else None
    best = (float("inf"), float("inf"))
    with torch.inference_mode(), autocast(torch.device("cpu"), precision):
        net.forward_patch(x, masks)
        for _ in range(repeat):
            start, cpu = time.perf_counter(), time.process_time()
            net.forward_patch(x, masks)
            best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    patches = len(lr_spans(CPU_ESTIMATE_SIZE[1], size)) * len(lr_spans(CPU_ESTIMATE_SIZE[0], size))
    return best[0] * patches, best[1] * patches


def _time_frames(net: torch.nn.Module, window: int | None, frames: int, w: int, h: int,
                 precision: str) -> tuple[float, float]:
    """Wall and CPU seconds for ``frames`` output frames after a small warm-up call."""
    with torch.inference_mode(), autocast(torch.device("cpu"), precision):
        if window:
            x = torch.rand(1, window, 3, h, w)
            net(x[..., :64, :64])
        else:
            x = torch.rand(1, frames, 3, h, w)
            net(x[:, :2])
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames if window else 1):
            net(x)
        return time.perf_counter() - start, time.process_time() - cpu


if __name__ == "__main__":
    main()
