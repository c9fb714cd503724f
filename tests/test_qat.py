"""--qat: residual blocks trained on the int8 grids of the starting weights' calibration."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest
import torch
from rich.console import Console
from train_helpers import TINY, params, run

from seemup.errors import UserError
from seemup.models import create_model
from seemup.runtime.int8 import calibrate, int8_unavailable, residual_blocks, to_int8
from seemup.training import Trainer, build_config
from seemup.training.export import export_weights
from seemup.training.qat import FakeQuantConv2d, fake_quantize_blocks
from seemup.training.resume import load_state
from seemup.weights import file_sha256
from seemup.weights.int8_ranges import Int8Ranges, ranges_path, write_ranges


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


def _trained_like_tiny(seed: int = 0) -> torch.nn.Module:
    """basicvsr-tiny with block weights of a trained network's size, so that rounding them matters."""
    torch.manual_seed(seed)
    model = create_model("basicvsr-tiny").eval()
    for _name, block in residual_blocks(model):
        for conv in (block.conv1, block.conv2):
            torch.nn.init.normal_(conv.weight, std=0.05)
    return model


@pytest.mark.skipif(int8_unavailable() is not None, reason=str(int8_unavailable()))
def test_fake_quantized_blocks_compute_as_the_int8_inference() -> None:
    torch.set_num_threads(1)
    model = _trained_like_tiny()
    clip = torch.rand(1, 4, 3, 20, 28)
    with torch.no_grad():
        ranges = calibrate(model, [clip])
        ref = model(clip)
    qat = copy.deepcopy(model)
    before = {k: id(p) for k, p in qat.named_parameters()}
    assert fake_quantize_blocks(qat, ranges) == len(ranges)
    assert {k: id(p) for k, p in qat.named_parameters()} == before  # the same parameters, the same names
    assert isinstance(qat.backward_trunk.main[2][0].conv1, FakeQuantConv2d)
    with torch.no_grad():
        fake = qat(clip)
        real = to_int8(copy.deepcopy(model), ranges)(clip.contiguous())
    # fp32 differs from int8 by the rounding; the fake-quantized network computes that rounding itself
    assert _psnr(fake, real) > _psnr(ref, real) + 15, (_psnr(fake, real), _psnr(ref, real))

    qat.train()
    qat(clip).mean().backward()  # straight-through: the block weights still learn
    assert float(qat.backward_trunk.main[2][0].conv1.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="int8 ranges cover"):
        fake_quantize_blocks(create_model("basicvsr-tiny"), {"nope": (0.0, 1.0, 1.0)})


@pytest.mark.usefixtures("isolated_caches")
def test_quantization_aware_training_run(clips: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --qat run starts from calibrated weights, keeps their ranges in its states (a resumed run rounds as
    before, even when the file beside the weights changed), and trains other weights than a plain run."""
    model = _trained_like_tiny(1)
    start = tmp_path / "start.pth"
    export_weights(start, model, model_name="basicvsr-tiny", mask_source_id=None, config={}, iteration=0)
    with torch.no_grad():
        ranges = calibrate(model, [torch.rand(1, 3, 3, 24, 32)])
    write_ranges(start, Int8Ranges(file_sha256(start), ranges, "noise", "test"))

    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "cache_dir": str(tmp_path / "c"),
              "weights": str(start), "fix_flow_iters": 0, "qat": True}
    straight = run({**common, "run_dir": str(tmp_path / "a")})
    state = load_state(sorted((tmp_path / "a" / "states").glob("*.state"))[-1])
    assert set(state["extra"]["qat_ranges"]) == set(ranges)
    run({**common, "run_dir": str(tmp_path / "b"), "iters": 2})
    doubled = {k: (2 * lo, 2 * hi, 2 * h) for k, (lo, hi, h) in ranges.items()}
    write_ranges(start, Int8Ranges(file_sha256(start), doubled, "noise", "test"))  # must not matter now
    resumed = run({"iters": 4}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert set(a) == set(model.state_dict()) and all(torch.equal(a[k], b[k]) for k in a)
    plain = params(run({**common, "qat": False, "run_dir": str(tmp_path / "p")}).weights)
    assert not all(torch.equal(a[k], plain[k]) for k in a)

    log = io.StringIO()
    cfg, _, _ = build_config({**common, "iters": 1, "periods": [1], "quiet": False, "run_dir": str(tmp_path / "h")})
    Trainer(cfg, console=Console(file=log, width=200)).run()
    assert f"quantization-aware: {len(ranges)} residual blocks on the int8 grids of start.int8.json" in log.getvalue()

    ranges_path(start).unlink()
    with pytest.raises(UserError, match="--qat: no int8 calibration for start.pth"):
        run({**common, "run_dir": str(tmp_path / "n")})
    with pytest.raises(UserError, match="--qat needs starting weights"):
        run({**common, "weights": None, "run_dir": str(tmp_path / "n")})

    from seemup.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "basicvsr-tiny", "--data", str(clips), "--weights", str(start), "--qat",
              "--iters", "2", "--cache-dir", str(tmp_path / "c"), "--run-dir", str(tmp_path / "cli"), "-q"])
    err = capsys.readouterr().err
    assert exc.value.code != 0 and err.startswith("error: --qat") and len(err.strip().splitlines()) == 1
