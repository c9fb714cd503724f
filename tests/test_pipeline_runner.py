"""ModelRunner: padding for window models, single-frame clips, and the CUDA out-of-memory tile fallback."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seemup.errors import UserError
from seemup.runtime import ModelRunner


class NearestX4(torch.nn.Module):
    """Stand-in recurrent network; raises CUDA OOM for inputs wider than ``limit`` and records what it saw."""

    def __init__(self, limit: int = 10_000, multiple: int = 1) -> None:
        super().__init__()
        self.limit, self.multiple, self.seen = limit, multiple, []

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        b, t, c, h, w = lr.shape
        self.seen.append((t, h, w))
        assert h % self.multiple == 0 and w % self.multiple == 0 and t >= 2
        if w > self.limit:
            raise torch.cuda.OutOfMemoryError("simulated")
        return F.interpolate(lr.reshape(b * t, c, h, w), scale_factor=4, mode="nearest").reshape(b, t, c, 4 * h,
                                                                                                  4 * w)


class FakeCuda:
    type = "cuda"


def _clip(runner: ModelRunner, frames: np.ndarray) -> np.ndarray:
    return np.stack(list(runner.stream_recurrent(frames)))


def _frames(t: int, h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def test_output_is_uint8_x4_and_exact() -> None:
    frames = _frames(3, 10, 14)
    out = _clip(ModelRunner(NearestX4(), torch.device("cpu")), frames)
    assert out.shape == (3, 40, 56, 3) and out.dtype == np.uint8
    assert np.array_equal(out[:, ::4, ::4], frames)


def test_padding_to_multiple_is_cropped_back() -> None:
    net = NearestX4(multiple=4)
    frames = _frames(2, 10, 14)
    out = _clip(ModelRunner(net, torch.device("cpu"), multiple=4), frames)
    assert net.seen == [(2, 12, 16)] and out.shape == (2, 40, 56, 3)
    assert np.array_equal(out[:, ::4, ::4], frames)


def test_single_frame_clip_is_doubled() -> None:
    net = NearestX4()
    out = _clip(ModelRunner(net, torch.device("cpu")), _frames(1, 8, 8))
    assert out.shape == (1, 32, 32, 3) and net.seen == [(2, 8, 8)]


def test_cuda_oom_halves_tiles_and_retries() -> None:
    net = NearestX4(limit=24)
    runner = ModelRunner(net, torch.device("cpu"))
    lr = torch.rand(1, 2, 3, 32, 48)
    runner.device = FakeCuda()  # only the OOM handling looks at the device type
    with mock.patch("torch.cuda.empty_cache"):
        out = runner.forward(lr, None)
    assert runner.tile == 24 and any("out of memory" in n for n in runner.notes)
    assert torch.allclose(out, F.interpolate(lr[0], scale_factor=4, mode="nearest")[None])


def test_cuda_oom_gives_up_below_minimum_tile() -> None:
    runner = ModelRunner(NearestX4(limit=4), torch.device("cpu"))
    runner.device = FakeCuda()
    with mock.patch("torch.cuda.empty_cache"), pytest.raises(UserError, match="out of GPU memory"):
        runner.forward(torch.rand(1, 2, 3, 32, 32), None)


def test_stream_gives_the_same_frames_and_skips_context_upsampling() -> None:
    """Streaming a chunk's core frames gives exactly the frames of the whole-clip run; the context frames
    before ``start`` are not upsampled and the forward pass ends at ``stop``."""
    from seemup.models import create_model

    torch.manual_seed(0)
    model = create_model("basicvsr-lite", num_block=1).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    runner = ModelRunner(model, torch.device("cpu"))
    frames = _frames(6, 16, 12)
    whole = runner.run(frames[None])[0]  # the whole clip through forward
    calls = []
    real = model.upsample
    model.upsample = lambda *a: calls.append(1) or real(*a)
    streamed = list(runner.stream_recurrent(frames, start=2, stop=5))
    assert len(streamed) == 3 and all(np.array_equal(a, b) for a, b in zip(streamed, whole[2:5], strict=True))
    assert len(calls) == 3
    with pytest.raises(ValueError, match="not within"):
        next(model.stream(torch.rand(1, 3, 3, 8, 8), start=2, stop=4))


class StreamingNearestX4(NearestX4):
    """NearestX4 that also streams; the stream runs out of CUDA memory after ``fail_after`` frames if too wide."""

    def __init__(self, limit: int, fail_after: int) -> None:
        super().__init__(limit)
        self.fail_after = fail_after

    def stream(self, lr, masks=None, start=0, stop=None):  # noqa: ANN001, ANN201
        for i in range(start, lr.shape[1] if stop is None else stop):
            if i - start == self.fail_after and lr.shape[-1] > self.limit:
                raise torch.cuda.OutOfMemoryError("simulated")
            yield F.interpolate(lr[:, i], scale_factor=4, mode="nearest")


def _cpu_tensors(frames: np.ndarray, device: object) -> torch.Tensor:
    """The runner takes its device for CUDA (for the OOM handling) but the tensors stay on the CPU."""
    from seemup.runtime.frames import to_tensor

    return to_tensor(frames, "cpu")


def test_stream_out_of_cuda_memory_goes_on_in_tiles() -> None:
    """An OOM after two frames were given out switches to tiles and gives the remaining frames, once each."""
    frames = _frames(7, 32, 48)
    runner = ModelRunner(StreamingNearestX4(limit=24, fail_after=2), torch.device("cpu"))
    runner.device = FakeCuda()
    with mock.patch("torch.cuda.empty_cache"), mock.patch("seemup.runtime.runner.to_tensor", _cpu_tensors):
        out = list(runner.stream_recurrent(frames, start=1, stop=6))
    assert runner.tile == 24 and any("out of memory" in n for n in runner.notes)
    assert len(out) == 5 and all(np.array_equal(o[::4, ::4], f) for o, f in zip(out, frames[1:6], strict=True))
    plain = ModelRunner(NearestX4(), torch.device("cpu"))
    assert all(np.array_equal(a, b) for a, b in zip(plain.stream_recurrent(frames, start=1, stop=6),
                                                     plain.run(frames[None])[0, 1:6], strict=True))


@pytest.mark.parametrize("name", ["basicvsr-lite", "edvr-m"])
def test_place_model_cpu_is_channels_last_and_same_output(name: str) -> None:
    from seemup.models import create_model
    from seemup.runtime import place_model

    torch.manual_seed(0)
    model = create_model(name).eval()
    with torch.no_grad():
        for p in model.parameters():  # non-zero offsets and SEEM-free layers all contribute
            p.add_(torch.randn_like(p) * 0.01)
    x = torch.rand(1, 5, 3, 16, 24)
    with torch.inference_mode():
        reference = model(x).clone()
        placed = place_model(model, torch.device("cpu"))
        conv = next(m for m in placed.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        assert not placed.training
        torch.testing.assert_close(placed(x), reference, atol=1e-5, rtol=0)


def test_precision_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.runtime import device as dev

    cpu = torch.device("cpu")
    monkeypatch.setattr(dev, "cpu_has_native_bf16", lambda: True)
    assert dev.resolve_precision(cpu, "auto") == "bf16"
    monkeypatch.setattr(dev, "cpu_has_native_bf16", lambda: False)
    assert dev.resolve_precision(cpu, "auto") == "fp32"  # emulated bf16 would be slower than fp32
    assert dev.resolve_precision(cpu, "bf16") == "bf16" and dev.resolve_precision(cpu, "FP32") == "fp32"
    with pytest.raises(UserError, match="needs a CUDA"):
        dev.resolve_precision(cpu, "fp16")
    with pytest.raises(UserError, match="choose from"):
        dev.resolve_precision(cpu, "int4")
    # int8's other layers run as auto would: bf16 where it is native, else fp32
    assert dev.autocast_dtype("int8", cpu) is None
    monkeypatch.setattr(dev, "cpu_has_native_bf16", lambda: True)
    assert dev.autocast_dtype("int8", cpu) == torch.bfloat16 and dev.autocast_dtype("fp32", cpu) is None


def test_runner_runs_the_model_under_the_requested_autocast() -> None:
    """Whole calls and every step of a streamed clip (the generator runs between the caller's frames) run
    under the precision's autocast."""
    seen = []

    def autocast_dtype() -> torch.dtype | None:
        return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None

    class Probe(NearestX4):
        def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
            seen.append(autocast_dtype())
            return super().forward(lr, masks)

    class StreamProbe(StreamingNearestX4):
        def stream(self, lr, masks=None, start=0, stop=None):  # noqa: ANN001, ANN201
            for frame in super().stream(lr, masks, start, stop):
                seen.append(autocast_dtype())
                yield frame

    frames = _frames(3, 8, 8)
    for precision in ("fp32", "bf16"):
        out = ModelRunner(Probe(), torch.device("cpu"), precision=precision).run(frames[None])[0]
        assert np.array_equal(out[:, ::4, ::4], frames)
    assert seen == [None, torch.bfloat16]
    seen.clear()
    for precision in ("fp32", "bf16"):
        runner = ModelRunner(StreamProbe(10_000, 99), torch.device("cpu"), precision=precision)
        for i, frame in enumerate(runner.stream_recurrent(frames)):
            assert not torch.is_autocast_enabled("cpu") and not torch.is_inference_mode_enabled()  # none leaks
            assert np.array_equal(frame[::4, ::4], frames[i])
    assert seen == [None] * 3 + [torch.bfloat16] * 3


def test_default_chunk_counts_the_output_only_when_it_is_held() -> None:
    """A streamed network does not hold the chunk's x4 output, so the same memory fits more frames."""
    from seemup.runtime import device as dev

    cpu = torch.device("cpu")
    with mock.patch.object(dev, "available_memory", return_value=16 * 1024**3):
        held = dev.default_chunk(cpu, 360, 640, 64, half=True)
        streamed = dev.default_chunk(cpu, 360, 640, 64, half=True, streamed=True)
    per_frame = dev.bytes_per_frame(360, 640, 64, 2)
    assert held == (4 * 1024**3 - 64 * 16 * 360 * 640 * 2 * 2) // per_frame and streamed > 2 * held
