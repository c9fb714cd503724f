"""int8 residual blocks on CPU: oneDNN's VNNI convolutions for the trunks, calibrated activation ranges.

int8 runs only where a self-test finds the convolution exact: on x86 CPUs without VNNI (e.g. AVX2-only ones)
oneDNN sums products in saturating 16-bit pairs, so int8 is off there and ``auto`` stays in bf16/fp32.

The residual blocks hold ~60% of basicvsr-lite's CPU time, all in 64->64 3x3 convolutions. Through oneDNN's
quantized convolution (uint8 activations, int8 weights, int32 accumulation) one such convolution takes
4.9 ms at 320x180 on the 2-core Zen 4 machine against 9.4 ms in bf16, and a whole block 13 against 20 ms
(docs/upscale.md). Only the blocks are quantized: the residual stream between them stays fp32, and
everything else (trunk heads, flow, warps, upsampling) runs as under bf16/fp32. On the held-out clips
this cost basicvsr-lite 0.015 dB until its weights were trained quantization-aware (seemup.training.qat);
the shipped ones lose nothing (docs/upscale.md).

Quantization: weights symmetric per output channel (int8, [-127, 127]); activations per tensor, uint8,
over ranges measured once on calibration footage (:func:`calibrate`) and shipped with the weights
(seemup.weights.int8_ranges); values outside a range saturate. A block computes, in two oneDNN calls,
``x + conv2(relu(conv1(x)))``: conv1 takes the quantized ``x`` and writes uint8 straight in conv2's input
scale (ReLU fused), conv2 adds its fp32 result onto a copy of ``x`` (sum fused).
"""

from __future__ import annotations

import functools
import platform
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from seemup.models.blocks import ResidualBlockNoBN

QMAX = 255  # uint8 activations
WMAX = 127  # symmetric int8 weights

BlockRange = tuple[float, float, float]  # (min, max) of a block's input, max of conv2's input (after ReLU)


def int8_unavailable() -> str | None:
    """Why int8 blocks cannot run here (None: they can): they need PyTorch's oneDNN int8 convolution on x86-64."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"int8 needs an x86-64 CPU (this is {platform.machine()})"
    if not torch.backends.mkldnn.is_available():
        return "int8 needs PyTorch built with oneDNN (mkldnn)"
    return _self_test()


@functools.cache
def _self_test() -> str | None:
    """Run one small int8 block against its fp32 form: the oneDNN ops are internal to PyTorch (its compiler
    lowers int8 models to them), so their presence and signatures are checked here, once, not trusted."""
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):  # the block's own init must not move the caller's random state
        block = ResidualBlockNoBN(8).eval()
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 0.1)
    x = torch.randn(1, 8, 6, 7, generator=gen).contiguous(memory_format=torch.channels_last)
    try:
        with torch.inference_mode():
            ref = block(x.clone())
            (ranges,) = calibrate(nn.Sequential(block), [x]).values()
            out = Int8ResidualBlock(block, ranges)(x)
    except (AttributeError, RuntimeError, TypeError) as exc:
        return f"PyTorch {torch.__version__} lacks oneDNN's int8 convolution as seemup calls it ({exc})".split("\n")[0]
    err = float((out - ref).abs().max())
    if not err < 0.05 * float((ref - x).abs().max()) + 1e-3:
        return f"PyTorch {torch.__version__}'s oneDNN int8 convolution gave wrong results (max error {err:.3g})"
    rel = _saturation_error()
    if rel > 1e-4:
        return (f"this CPU's int8 convolution is not exact (max relative error {rel:.3g} against integer "
                "arithmetic): without VNNI, oneDNN adds uint8 x int8 products in saturating 16-bit pairs")
    return None


def _qconv(xq: torch.Tensor, conv: Int8Conv) -> torch.Tensor:
    """One int8 convolution through oneDNN, fp32 out (no bias)."""
    return torch.ops.onednn.qconv2d_pointwise(xq, *conv.args(), None, [1, 1], conv.padding, [1, 1], 1, 1.0, 0,
                                              torch.float32, "none", [], "")


def _saturation_error() -> float:
    """Max relative error of one int8 convolution against exact integer arithmetic, on inputs whose uint8 x
    int8 products overflow 16 bits in pairs. CPUs with VNNI sum them in int32 (exact); without it oneDNN's
    pairwise 16-bit adds saturate, silently losing detail in trained networks, so int8 must stay off there."""
    gen = torch.Generator().manual_seed(1)
    with torch.random.fork_rng(devices=[]):
        conv = nn.Conv2d(64, 8, 3, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randint(96, WMAX + 1, conv.weight.shape, generator=gen).float() / WMAX)
    x_int = torch.randint(192, QMAX + 1, (1, 64, 5, 6), generator=gen).float()
    x_scale = 1.0 / QMAX
    q = Int8Conv(conv, x_scale, 0)
    xq = quantize_uint8((x_int * x_scale).contiguous(memory_format=torch.channels_last), x_scale, 0)
    with torch.inference_mode():
        out = _qconv(xq, q).double()
    w_q = torch.round(conv.weight.detach().double() / q.w_scale.double().view(-1, 1, 1, 1))
    exact = nn.functional.conv2d(x_int.double(), w_q, padding=1) * x_scale * q.w_scale.double().view(1, -1, 1, 1)
    return float((out - exact).abs().max() / exact.abs().max())


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """uint8 scale and zero point covering [lo, hi] (widened to include 0, so that 0 is exact); shared with
    quantization-aware training (seemup.training.qat, used by `seemup train --qat`), which must round exactly
    as inference does."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / QMAX
    return scale, int(round(-lo / scale))


def weight_scales(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 scale per output channel of a conv weight [out, in, kh, kw] (fp32)."""
    return (weight.detach().float().abs().amax(dim=(1, 2, 3)) / WMAX).clamp_min(1e-12)


class Int8Conv:
    """One 3x3 stride-1 convolution's int8 weights, packed for oneDNN with its input quantization."""

    def __init__(self, conv: nn.Conv2d, x_scale: float, x_zero: int) -> None:
        if conv.stride != (1, 1) or conv.dilation != (1, 1) or conv.groups != 1 or conv.padding_mode != "zeros":
            raise ValueError("Int8Conv: only plain stride-1 convolutions")
        w = conv.weight.detach().float().cpu()
        self.w_scale = weight_scales(w)
        w_q = torch.round(w / self.w_scale.view(-1, 1, 1, 1)).clamp_(-WMAX, WMAX).to(torch.int8)
        self.padding = list(conv.padding)
        self.packed = torch.ops.onednn.qconv_prepack(w_q, self.w_scale, x_scale, x_zero, [1, 1], self.padding,
                                                     [1, 1], 1, None)
        self.w_zero = torch.zeros(w.shape[0], dtype=torch.int64)
        self.bias = None if conv.bias is None else conv.bias.detach().float().cpu()
        self.x_scale, self.x_zero = x_scale, x_zero

    def args(self) -> tuple:
        return (self.x_scale, self.x_zero, self.packed, self.w_scale, self.w_zero)


class Int8ResidualBlock(nn.Module):
    """``x + conv2(relu(conv1(x)))`` of a :class:`ResidualBlockNoBN` in int8 (fp32 in, fp32 out).

    Inference only: the weights are frozen into oneDNN's packed layout."""

    def __init__(self, block: ResidualBlockNoBN, ranges: BlockRange) -> None:
        super().__init__()
        lo, hi, h_hi = (float(v) for v in ranges)
        self.res_scale = block.res_scale
        self.x_scale, self.x_zero = activation_qparams(lo, hi)
        self.h_scale, h_zero = activation_qparams(0.0, h_hi)
        self.conv1 = Int8Conv(block.conv1, self.x_scale, self.x_zero)
        self.conv2 = Int8Conv(block.conv2, self.h_scale, h_zero)
        self.ranges = (lo, hi, h_hi)

    def extra_repr(self) -> str:
        lo, hi, h_hi = self.ranges
        return f"input [{lo:.3g}, {hi:.3g}], hidden [0, {h_hi:.3g}]"

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """fp32 -> uint8 in conv1's input scale (saturating)."""
        return quantize_uint8(x, self.x_scale, self.x_zero)

    def accumulate(self, acc: torch.Tensor) -> torch.Tensor:
        """The block applied to ``acc`` (fp32, CPU) in place: conv2's result is summed straight into it."""
        onednn = torch.ops.onednn
        stride, dilation = [1, 1], [1, 1]
        h = onednn.qconv2d_pointwise(self.quantize(acc), *self.conv1.args(), self.conv1.bias, stride,
                                     self.conv1.padding, dilation, 1, self.h_scale, 0, torch.uint8, "relu", [], "")
        if self.res_scale != 1:  # no shipped network; kept exact rather than fused
            out = onednn.qconv2d_pointwise(h, *self.conv2.args(), self.conv2.bias, stride, self.conv2.padding,
                                           dilation, 1, 1.0, 0, torch.float32, "none", [], "")
            return acc.add_(out, alpha=self.res_scale)
        return onednn.qconv2d_pointwise.binary(h, *self.conv2.args(), acc, self.conv2.bias, stride,
                                               self.conv2.padding, dilation, 1, 1.0, 0, torch.float32, 1.0, 0,
                                               "sum", 1.0, "none", [], "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.accumulate(_fp32_copy(x))


def quantize_uint8(x: torch.Tensor, scale: float, zero: int) -> torch.Tensor:
    """``clamp(round(x / scale) + zero, 0, 255)`` as uint8, rounding half to even like the fake quantization
    of quantization-aware training.

    One vectorised pass through ``torch.quantize_per_tensor``, whose bytes are then viewed as plain uint8
    (what oneDNN's convolution takes): 0.24 ms for a 64x180x320 map on the 2-core machine, against 2.3-3.7 ms
    for the same arithmetic as separate ops plus a float-to-uint8 conversion, 16 times per frame for
    basicvsr-lite (docs/upscale.md). Quantized dtypes are deprecated in PyTorch; if they go, the self-test
    (:func:`int8_unavailable`) fails and ``auto`` stays in bf16/fp32."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the deprecation notice of quantized dtypes
        q = torch.quantize_per_tensor(x, scale, zero, torch.quint8)
    raw = torch.empty(0, dtype=torch.uint8, device=x.device)
    return raw.set_(q.untyped_storage(), q.storage_offset(), q.shape, q.stride())


def _fp32_copy(x: torch.Tensor) -> torch.Tensor:
    """A fresh fp32 CPU tensor with ``x``'s values (channels-last, as oneDNN wants it), never ``x`` itself."""
    if x.device.type != "cpu":
        raise RuntimeError("int8 residual blocks run on CPU only")
    if x.dtype == torch.float32:
        return x.clone(memory_format=torch.channels_last)
    return x.to(torch.float32, memory_format=torch.channels_last)


class Int8ResidualStack(nn.Sequential):
    """A run of int8 residual blocks sharing one fp32 accumulator: the input is copied once, then every block
    sums into it in place (a copy per block cost ~5% of basicvsr-lite's time)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc = _fp32_copy(x)
        for block in self:
            acc = block.accumulate(acc)
        return acc


def residual_blocks(model: nn.Module) -> list[tuple[str, ResidualBlockNoBN]]:
    """The model's residual blocks by module path (the keys of a ranges table)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, ResidualBlockNoBN)]


@torch.no_grad()
def calibrate(model: nn.Module, clips: Iterable[torch.Tensor]) -> dict[str, BlockRange]:
    """Activation ranges of every residual block of ``model`` (fp32) over ``clips`` ([1,T,3,h,w] in [0,1]):
    each block's input min/max and the max of its hidden (post-ReLU) activation."""
    seen: dict[str, list[float]] = {}
    hooks = []

    def watch_input(name: str):
        def hook(_module: nn.Module, args: tuple) -> None:
            x = args[0].detach()
            r = seen.setdefault(name, [float("inf"), float("-inf"), 0.0])
            r[0], r[1] = min(r[0], float(x.min())), max(r[1], float(x.max()))
        return hook

    def watch_hidden(name: str):
        def hook(_module: nn.Module, args: tuple) -> None:
            r = seen.setdefault(name, [float("inf"), float("-inf"), 0.0])
            r[2] = max(r[2], float(args[0].detach().max()))
        return hook

    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError("the model has no residual blocks to calibrate")
    for name, block in blocks:
        hooks.append(block.register_forward_pre_hook(watch_input(name)))
        hooks.append(block.conv2.register_forward_pre_hook(watch_hidden(name)))
    try:
        for clip in clips:
            model(clip)
    finally:
        for h in hooks:
            h.remove()
    missing = [name for name, _ in blocks if name not in seen]
    if missing:
        raise ValueError(f"calibration never ran {len(missing)} block(s), e.g. {missing[0]}")
    return {name: (seen[name][0], seen[name][1], seen[name][2]) for name, _ in blocks}


def to_int8(model: nn.Module, ranges: Mapping[str, BlockRange]) -> nn.Module:
    """Replace every residual block of ``model`` (on CPU, in eval mode) by its int8 form, in place.

    ``ranges`` must cover exactly the model's blocks (calibrated on these weights)."""
    reason = int8_unavailable()
    if reason:
        raise RuntimeError(reason)
    blocks = residual_blocks(model)
    names = {name for name, _ in blocks}
    if not blocks or names != set(ranges):
        raise ValueError(f"int8 ranges cover {len(ranges)} blocks, the model has {len(names)} "
                         f"(e.g. {sorted(names ^ set(ranges))[:1]})")
    for name, block in blocks:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8ResidualBlock(block, ranges[name]))
    # runs of blocks (BasicVSR's trunks, EDVR's extractor and reconstruction) share one accumulator
    for name, module in list(model.named_modules()):
        if (isinstance(module, nn.Sequential) and not isinstance(module, Int8ResidualStack) and len(module)
                and all(isinstance(m, Int8ResidualBlock) for m in module)):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, Int8ResidualStack(OrderedDict(module.named_children())))
    return model
