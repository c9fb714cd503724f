"""int8 residual blocks (--precision int8): numerics against fp32, calibration files, and the CLI paths."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from seemup.errors import UserError
from seemup.models import create_model
from seemup.models.blocks import ResidualBlockNoBN
from seemup.pipeline import UpscaleOptions, upscale_video
from seemup.runtime import resolve_precision
from seemup.runtime.int8 import (
    QMAX,
    Int8ResidualBlock,
    Int8ResidualStack,
    calibrate,
    int8_unavailable,
    quantize_uint8,
    residual_blocks,
    to_int8,
)
from seemup.video import ffmpeg_exe, read_frames
from seemup.weights.int8_ranges import Int8Ranges, prefer_int8, ranges_path, read_ranges, write_ranges

needs_int8 = pytest.mark.skipif(int8_unavailable() is not None, reason=str(int8_unavailable()))
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


def _trained_like_block(seed: int = 0) -> ResidualBlockNoBN:
    """A block with weights of a trained network's size (the default init is scaled by 0.1)."""
    torch.manual_seed(seed)
    block = ResidualBlockNoBN(16).eval()
    for conv in (block.conv1, block.conv2):
        torch.nn.init.normal_(conv.weight, std=0.05)
        torch.nn.init.normal_(conv.bias, std=0.05)
    return block.to(memory_format=torch.channels_last)


def test_quantize_uint8_rounds_half_to_even_and_saturates() -> None:
    scale, zero = 0.25, 100  # x / scale is exact, so ties are real ties
    g = torch.Generator().manual_seed(0)
    x = torch.randint(-1200, 1200, (1, 8, 6, 10), generator=g).float() / 8
    x = x.contiguous(memory_format=torch.channels_last)
    want = torch.clamp(torch.round(x / scale) + zero, 0, QMAX).to(torch.uint8)  # torch.round: half to even
    got = quantize_uint8(x, scale, zero)
    assert got.dtype == torch.uint8 and not got.is_quantized and got.stride() == x.stride()
    assert torch.equal(got, want)
    assert bool(((x / scale) % 1 == 0.5).any()) and bool((got == 0).any()) and bool((got == QMAX).any())


@needs_int8
def test_int8_block_matches_fp32_to_quantization_noise_and_leaves_its_input() -> None:
    block = _trained_like_block()
    x = torch.randn(1, 16, 24, 40).contiguous(memory_format=torch.channels_last)
    (ranges,) = calibrate(torch.nn.Sequential(block), [x]).values()
    with torch.inference_mode():
        ref = block(x.clone())
        q = Int8ResidualBlock(block, ranges)
        before = x.clone()
        out = q(x)
        assert torch.equal(x, before)  # the fused sum writes into a copy
        delta_ref, delta_q = ref - x, out - x
        # the residual branch (what int8 computes) within ~1% of its size; far from a wrong scale or zero point
        assert _psnr(delta_q, delta_ref) - _psnr(delta_ref, torch.zeros_like(delta_ref)) > 30
        # values beyond the calibrated input range saturate instead of wrapping around
        big = x * 4
        assert torch.isfinite(q(big)).all() and (q(big) - big).abs().max() < 10 * (ref - x).abs().max() + 1


@needs_int8
def test_calibrated_tiny_basicvsr_in_int8_tracks_fp32() -> None:
    torch.manual_seed(0)
    model = create_model("basicvsr-tiny").eval()
    for _name, block in residual_blocks(model):  # weights of a trained size, so the blocks matter
        for conv in (block.conv1, block.conv2):
            torch.nn.init.normal_(conv.weight, std=0.05)
    clip = torch.rand(1, 5, 3, 20, 28)
    with torch.inference_mode():
        ref = model(clip)
        ranges = calibrate(model, [clip])
        assert set(ranges) == {n for n, _ in residual_blocks(model)} and all(lo < 0 < hi for lo, hi, _ in
                                                                             ranges.values())
        q = to_int8(model, ranges)
        assert not residual_blocks(q) and isinstance(q.backward_trunk.main[2], Int8ResidualStack)
        out = q(clip)
    assert out.shape == ref.shape and 35 < _psnr(out, ref) < 200  # close, but really quantized
    with pytest.raises(ValueError, match="int8 ranges cover"):
        to_int8(create_model("basicvsr-tiny").eval(), {"nope": (0.0, 1.0, 1.0)})


def test_ranges_file_belongs_to_one_weights_file(tmp_path: Path) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"weights one")
    assert ranges_path(weights) == tmp_path / "w.int8.json"
    got, why = read_ranges(weights)
    assert got is None and "seemup weights calibrate" in why
    from seemup.weights import file_sha256

    written = write_ranges(weights, Int8Ranges(file_sha256(weights), {"a.0": (-1.0, 2.0, 3.0)}, "clips", "cmd"))
    got, _ = read_ranges(weights)
    assert written == ranges_path(weights) and got is not None and got.blocks == {"a.0": (-1.0, 2.0, 3.0)}
    other = tmp_path / "x.pth"
    other.write_bytes(b"weights two")
    got, why = read_ranges(other, written)
    assert got is None and "other weights" in why
    written.write_text(json.dumps({"format": "something else"}))
    got, why = read_ranges(weights)
    assert got is None and "not a readable int8 calibration" in why


def test_int8_precision_is_checked_before_any_work() -> None:
    if int8_unavailable() is None:
        assert resolve_precision(CPU, "int8") == "int8"
    else:
        with pytest.raises(UserError, match="--precision int8"):
            resolve_precision(CPU, "int8")
    with pytest.raises(UserError, match="int8 is for CPU"):
        resolve_precision(torch.device("cuda"), "int8")


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "c.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=48x32:r=25", "-frames:v", "6",
                    "-c:v", "libx264", "-crf", "12", str(out)], check=True)
    return out


@needs_int8
def test_calibrate_cli_then_upscale_in_int8(small_clip: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seemup.cli import app

    torch.manual_seed(1)
    weights = tmp_path / "tiny.pth"
    torch.save({"params": create_model("basicvsr-tiny").state_dict()}, weights)
    opts = dict(model="basicvsr-tiny", weights=str(weights), device="cpu", chunk=3, overlap=1, quiet=True)
    # no calibration yet: auto stays in float, an explicit int8 is a clear error
    assert not prefer_int8("auto", CPU, weights)
    with pytest.raises(UserError, match="no int8 calibration for tiny.pth"):
        upscale_video(small_clip, tmp_path / "a.mp4", UpscaleOptions(precision="int8", **opts))

    result = CliRunner().invoke(app, ["weights", "calibrate", "--model", "basicvsr-tiny", "--weights", str(weights),
                                      "--data", str(small_clip), "--frames", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(ranges_path(weights))
    doc = json.loads(ranges_path(weights).read_text())
    assert len(doc["blocks"]) == 4 and "c.mp4 (4 frames, 12x8 LR)" in doc["calibration"]
    assert doc["command"].startswith("seemup weights calibrate --model basicvsr-tiny --weights ")

    assert prefer_int8("auto", CPU, weights) and not prefer_int8("bf16", CPU, weights)
    auto = upscale_video(small_clip, tmp_path / "auto.mp4", UpscaleOptions(**opts))
    fp32 = upscale_video(small_clip, tmp_path / "fp32.mp4", UpscaleOptions(precision="fp32", **opts))
    assert auto.precision == "int8" and fp32.precision == "fp32"
    with read_frames(tmp_path / "auto.mp4") as a, read_frames(tmp_path / "fp32.mp4") as b:
        frames = list(zip(a, b, strict=True))
    assert len(frames) == 6 and all(x.shape == (128, 192, 3) for x, _ in frames)
    diff = np.mean([np.abs(x.astype(int) - y.astype(int)).mean() for x, y in frames])
    assert diff < 3  # an untrained tiny net: int8 stays near fp32 (x264 noise included)

    # an interrupted int8 run does not resume over a recalibration (its output would change mid-video)
    def stop(k: int) -> None:
        if k == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(small_clip, tmp_path / "r.mp4", UpscaleOptions(**opts), on_chunk=stop)
    time.sleep(0.01)
    calibrated = json.loads(ranges_path(weights).read_text())
    calibrated["blocks"] = {k: [v[0] * 2, v[1] * 2, v[2] * 2] for k, v in calibrated["blocks"].items()}
    ranges_path(weights).write_text(json.dumps(calibrated))
    with pytest.raises(UserError, match="int8_ranges"):
        upscale_video(small_clip, tmp_path / "r.mp4", UpscaleOptions(**opts, resume=True))

    # weights changed after calibration: the ranges no longer apply
    torch.save({"params": create_model("basicvsr-tiny").state_dict(), "meta": {"note": "retrained"}}, weights)
    assert not prefer_int8("auto", CPU, weights)
    with pytest.raises(UserError, match="calibrated for other weights"):
        upscale_video(small_clip, tmp_path / "b.mp4", UpscaleOptions(precision="int8", **opts))


def test_calibrate_cli_errors_are_one_line(small_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seemup.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["weights", "calibrate", "--model", "basicvsr-tiny", "--data", str(small_clip)])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0 and "no weights file to calibrate" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["weights", "calibrate", "--model", "basicvsr-nope", "--data", str(small_clip)])
    err = capsys.readouterr().err
    assert err.strip().startswith("error:") and "basicvsr-nope" in err and len(err.strip().splitlines()) == 1


def test_int8_is_refused_when_the_onednn_ops_misbehave(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seemup.runtime import int8

    def broken(self: Int8ResidualBlock, acc: torch.Tensor) -> torch.Tensor:
        return acc.add_(1.0)  # e.g. a changed op signature that silently computed something else

    int8._self_test.cache_clear()
    monkeypatch.setattr(Int8ResidualBlock, "accumulate", broken)
    try:
        assert "wrong results" in str(int8_unavailable())
        with pytest.raises(UserError, match="--precision int8: .*wrong results"):
            resolve_precision(CPU, "int8")
        weights = tmp_path / "w.pth"
        weights.write_bytes(b"x")
        assert not prefer_int8("auto", CPU, weights)  # auto quietly stays in float
    finally:
        int8._self_test.cache_clear()



def _emulated_qconv(saturate: bool):
    """An int8 convolution in exact integer arithmetic, optionally as oneDNN computes it without VNNI: uint8 x
    int8 products added in pairs with 16-bit saturation."""
    def qconv(xq: torch.Tensor, conv) -> torch.Tensor:  # noqa: ANN001 - an int8.Int8Conv
        x = xq.to(torch.float64) - conv.x_zero
        w_q = conv.w_int.to(torch.float64)
        cols = torch.nn.functional.unfold(x, 3, padding=1)  # [1, C*9, L], in the weights' order
        prods = w_q.reshape(w_q.shape[0], -1, 1) * cols  # [O, C*9, L]
        pairs = prods.view(prods.shape[0], -1, 2, prods.shape[-1]).sum(2)
        acc = (pairs.clamp(-32768, 32767) if saturate else pairs).sum(1)
        out = acc.view(1, w_q.shape[0], x.shape[2], x.shape[3])
        return (out * conv.x_scale * conv.w_scale.double().view(1, -1, 1, 1)).float()
    return qconv


def test_int8_is_off_where_the_convolution_saturates(monkeypatch: pytest.MonkeyPatch) -> None:
    """On x86 CPUs without VNNI oneDNN's int8 convolution saturates: the self-test must turn int8 off there."""
    from seemup.runtime import int8

    original = int8.Int8Conv.__init__

    def keep_int_weights(self, conv, x_scale, x_zero) -> None:  # noqa: ANN001
        original(self, conv, x_scale, x_zero)
        w = conv.weight.detach().float()
        self.w_int = torch.round(w / self.w_scale.view(-1, 1, 1, 1)).clamp(-int8.WMAX, int8.WMAX)

    monkeypatch.setattr(int8.Int8Conv, "__init__", keep_int_weights)
    monkeypatch.setattr(int8, "_qconv", _emulated_qconv(saturate=False))
    assert int8._saturation_error() < 1e-6  # the emulation itself is exact
    monkeypatch.setattr(int8, "_qconv", _emulated_qconv(saturate=True))
    int8._self_test.cache_clear()
    try:
        assert int8._saturation_error() > 0.01
        assert "not exact" in str(int8_unavailable()) and "VNNI" in str(int8_unavailable())
        assert not prefer_int8("auto", CPU, None)
    finally:
        int8._self_test.cache_clear()
