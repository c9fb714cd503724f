"""Device choice and what it implies: precision, a default chunk length, and a CPU run-time estimate."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

import torch
from torch import nn

from seemup.errors import UserError

from .memory import keep_frame_buffers

# the input size of the reference convolution and of the models' cpu_cost factors (seemup.models.registry)
CPU_ESTIMATE_SIZE = (320, 180)


def resolve_device(name: str | torch.device | None) -> torch.device:
    """``auto`` (or None) -> CUDA if available else CPU; ``cpu``; ``cuda`` / ``cuda:N`` (checked to exist)."""
    name = str(name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        index = 0
        if ":" in name:
            try:
                index = int(name.split(":", 1)[1])
            except ValueError:
                raise UserError(f"bad device {name!r}: use cuda:N with N a number") from None
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise UserError(f"--device {name}: there are {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
        return torch.device("cuda", index)
    raise UserError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)")


PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 convolutions natively (avx512_bf16 or AMX), i.e. faster than fp32."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(device: torch.device, requested: str = "auto") -> str:
    """``auto``: fp16 autocast on CUDA, bf16 autocast on CPUs with native bf16, else fp32.

    Low precision only covers the networks' convolutions: flows, sampling positions and the final
    image sum stay fp32 (seemup.models), which keeps the output within ~0.01 dB of fp32 (docs/upscale.md).
    ``int8`` (CPU only): int8 residual blocks (seemup.runtime.int8), the rest as ``auto`` would run it;
    whether auto itself becomes int8 depends on the weights (:func:`seemup.weights.int8_ranges.prefer_int8`)."""
    requested = (requested or "auto").strip().lower()
    if requested not in PRECISIONS:
        raise UserError(f"--precision {requested!r}: choose from {', '.join(PRECISIONS)}")
    if requested == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise UserError("--precision fp16 needs a CUDA device (on CPU use bf16 or fp32)")
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError("--precision bf16: this GPU has no bf16 support (use fp16 or fp32)")
    if requested == "int8":
        from .int8 import int8_unavailable

        if device.type != "cpu":
            raise UserError("--precision int8 is for CPU (on CUDA use fp16)")
        reason = int8_unavailable()
        if reason:
            raise UserError(f"--precision int8: {reason}")
    return requested


def autocast_dtype(precision: str, device: torch.device = torch.device("cpu")) -> torch.dtype | None:
    """The dtype the layers autocast covers run in under ``precision`` (None: fp32, no autocast). For int8 on
    CPU that is the layers outside the int8 blocks: bf16 where it is native, else fp32."""
    if precision == "int8":
        precision = "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    dtype = autocast_dtype(precision, device)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)


def place_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device`` for inference, in the memory layout that is fastest there.

    On CPU the weights go channels-last: oneDNN's NHWC convolutions run basicvsr-lite ~1.7x faster on
    the 2-core reference machine (docs/upscale.md) and agree with the default layout to ~1e-7; and the C
    heap keeps frame-sized buffers instead of refaulting them every frame (:func:`keep_frame_buffers`).
    """
    model = model.to(device).eval()
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
        keep_frame_buffers()
    return model


def bytes_per_frame(h: int, w: int, num_feat: int, element_size: int, streamed: bool = False) -> int:
    """Rough working memory one frame adds to a recurrent chunk: stored features, flows, inputs, and the x4
    output unless the network hands its frames out one by one (``streamed``: the BasicVSR family)."""
    stored = (num_feat + 2 + 2 + 3) * h * w * element_size  # backward features, two flows, the frame
    output = 0 if streamed else 3 * 16 * h * w * 4
    return stored + output


def available_memory(device: torch.device) -> int:
    """Bytes free for the job on ``device`` (CUDA: free device memory; CPU: available RAM)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not on Linux
        return 4 * 1024**3


def default_chunk(device: torch.device, h: int, w: int, num_feat: int, half: bool, streamed: bool = False) -> int:
    """Frames per recurrent chunk: as many as fit comfortably (a quarter of free memory), between 8 and 200.

    Longer chunks give the recurrence more context and waste less work on overlap (chunks of 50 with 10
    context frames either side recompute ~30% extra frames, chunks of 100 ~16-20%, chunks of 200 ~8-10%;
    a streamed network does less for them: no upsampling before the chunk, no forward pass after it),
    until memory runs out. 200 rather than 100 made basicvsr-lite 8% faster end to end at 320x180 on the
    2-core machine (247 frames: 100.9 s against 109.0 s, peak RSS 6.2 against 4.1 GiB, before streaming).
    A chunk is also the unit of --resume: at most one chunk of work is redone after an interruption.
    """
    size = 2 if half else 4
    # the transient of reconstructing one output frame (64-channel maps at 2x and 4x) comes on top
    transient = 64 * 16 * h * w * size * 2
    budget = available_memory(device) // 4 - transient
    fit = budget // max(1, bytes_per_frame(h, w, num_feat, size, streamed))
    return int(max(8, min(200, fit)))


def cpu_conv_seconds(precision: str, width: int = CPU_ESTIMATE_SIZE[0], height: int = CPU_ESTIMATE_SIZE[1],
                     repeat: int = 5, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds this CPU takes for one 64 -> 64 3x3 convolution on a channels-last [1,64,height,width] map
    under ``precision``, with the current torch thread count: the best of ``repeat`` after a warm-up, so that
    a moment of other load does not inflate it (~0.1 s in all at 320x180 on 2 cores). ``clock``: wall time,
    or e.g. ``time.process_time`` for the process's CPU time."""
    conv = nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, height, width).contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.inference_mode(), autocast(torch.device("cpu"), precision):
        conv(x)
        for _ in range(repeat):
            start = clock()
            conv(x)
            best = min(best, clock() - start)
    return best


def cpu_estimate_seconds(convs_per_frame: float, width: int, height: int, num_frames: int,
                         conv_seconds: float) -> float:
    """Expected network seconds for ``num_frames`` frames of a model that costs ``convs_per_frame`` reference
    convolutions per 320x180 frame (its ``ModelSpec.cpu_cost``) on a CPU where one takes ``conv_seconds``
    (:func:`cpu_conv_seconds`), scaled by pixels."""
    pixels = width * height / (CPU_ESTIMATE_SIZE[0] * CPU_ESTIMATE_SIZE[1])
    return convs_per_frame * conv_seconds * pixels * num_frames
