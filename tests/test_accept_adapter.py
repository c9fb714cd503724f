"""The adapter acceptance rule and scripts/accept_adapter.py: a harmful adapter is rejected, a good one passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from seemup.masks import ClassicalMaskSource
from seemup.models import create_model
from seemup.weights import save_adapter
from seemup.weights.acceptance import check_coverage, judge, recorded_verdict
from seemup.weights.hashing import sha256_file

ROOT = Path(__file__).resolve().parents[1]
SEEMUP_FIELDS = ('origin = "seemup"\ntraining_data = "random tensors (test)"\ncommand = "pytest"\n'
                 '[[weights.validation]]\ndataset = "none"\nspace = "rgb"\npsnr = 20.5\nsource = "test"\n')


def test_rule_thresholds():
    base = {"a": 30.0, "b": 25.0, "c": 40.0, "d": 33.0}
    good = judge(base, {"a": 30.05, "b": 25.02, "c": 39.97, "d": 33.04})
    assert good.passed and good.mean_gain == pytest.approx(0.02) and good.worst.clip == "c"
    harmful = judge(base, {"a": 31.0, "b": 25.5, "c": 39.9, "d": 33.5})  # +0.475 on average, but c loses 0.1
    assert not harmful.passed and any("c loses 0.1000 dB" in r for r in harmful.reasons)
    timid = judge(base, {"a": 30.01, "b": 25.01, "c": 40.01, "d": 33.01})
    assert not timid.passed and "below +0.02 dB" in timid.reasons[0]
    assert "mean +0.0200 dB, worst c -0.0300 dB: pass" in good.table()[-1]
    with pytest.raises(ValueError, match="different clips"):
        judge(base, {"a": 30.0})


def test_recorded_verdict_reads_numbers_not_flags():
    assert recorded_verdict({"dataset": "x", "mean_gain": 0.03, "worst": -0.04})
    assert not recorded_verdict({"dataset": "x", "mean_gain": 0.019, "worst": 0.0})
    assert not recorded_verdict({"dataset": "x", "mean_gain": 0.5, "worst": -0.051})
    assert not recorded_verdict(None) and not recorded_verdict({"dataset": "x", "passed": True})


def test_coverage_needs_small_and_large_frames():
    check_coverage({"a": 44, "b": 120, "c": 160, "d": 320})
    with pytest.raises(ValueError, match="at most 120"):
        check_coverage({"a": 160, "b": 200, "c": 320, "d": 400})
    with pytest.raises(ValueError, match="at least 320"):
        check_coverage({"a": 44, "b": 80, "c": 120, "d": 160})
    with pytest.raises(ValueError, match="at least 4 clips"):
        check_coverage({"a": 44, "b": 320})


def _models(user: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A tiny base and a tiny adapter that changes its output a lot, installed in ``user``'s manifest."""
    gen = torch.Generator().manual_seed(5)
    base = create_model("basicvsr-tiny").eval()
    seem = create_model("basicvsr-tiny-seem").eval()
    with torch.no_grad():
        for p in base.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
        seem.load_state_dict(base.state_dict(), strict=False)
        for name, p in seem.named_parameters():
            if name.startswith("seem."):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    torch.save({"params": base.state_dict()}, user / "tiny-base.pth")
    source = ClassicalMaskSource().id
    save_adapter(user / "tiny-adapter.pth", seem, model_name="basicvsr-tiny-seem", base="tiny-base",
                 mask_source_id=source)
    (user / "manifest.toml").write_text(
        f'[[weights]]\nname = "tiny-base"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "tiny-base.pth"\n'
        f'sha256 = "{sha256_file(user / "tiny-base.pth")}"\n{SEEMUP_FIELDS}\n'
        f'[[weights]]\nname = "tiny-adapter"\nkind = "adapter"\nmodel = "basicvsr-tiny-seem"\nbase = "tiny-base"\n'
        f'mask_source = "{source}"\nfile = "tiny-adapter.pth"\n'
        f'sha256 = "{sha256_file(user / "tiny-adapter.pth")}"\n{SEEMUP_FIELDS}')
    return base, seem


def _write_set(root: Path, model: torch.nn.Module, widths: list[int]) -> None:
    """Clips whose ground truth is ``model``'s own output (plus a little noise) on given LR frames."""
    rng = np.random.default_rng(0)
    for width in widths:
        smooth = cv2.resize(rng.integers(0, 256, (3, 4, 3), dtype=np.uint8), (width, 12), interpolation=cv2.INTER_CUBIC)
        lr = np.stack([np.roll(smooth, k, axis=1) for k in range(2)])
        x = torch.from_numpy(lr).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
        masks = torch.from_numpy(ClassicalMaskSource().batch(list(lr))).float().unsqueeze(0)
        with torch.no_grad():
            out = model(x, masks if model.uses_masks else None)[0]
        gt = (out.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).numpy()
        gt = np.clip(gt + rng.integers(-1, 2, gt.shape), 0, 255).astype(np.uint8)
        for sub, frames in (("GT", gt), ("BIx4", lr)):
            (root / sub / f"w{width}").mkdir(parents=True, exist_ok=True)
            for i, f in enumerate(frames):
                cv2.imwrite(str(root / sub / f"w{width}" / f"{i:08d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))


def _accept(dataset: Path, user: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEEMUP_WEIGHTS_DIR": str(user), "SEEMUP_CACHE_DIR": str(user / "cache")}
    env.pop("SEEMUP_WEIGHTS_VERIFY", None)
    return subprocess.run([sys.executable, str(ROOT / "scripts/accept_adapter.py"), "--dataset", str(dataset),
                           "--adapter", "tiny-adapter", "--model", "basicvsr-tiny-seem", "--frames", "2",
                           "--manifest"], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_script_accepts_a_good_adapter_and_rejects_a_harmful_one(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    base, seem = _models(user)
    widths = [40, 64, 96, 320]
    _write_set(tmp_path / "good", seem, widths)  # the adapter's output is the truth: it must pass
    _write_set(tmp_path / "harm", base, widths)  # the backbone's output is the truth: the adapter hurts
    good = _accept(tmp_path / "good", user)
    assert good.returncode == 0, good.stderr
    assert ": pass" in good.stdout and "[weights.acceptance]" in good.stdout and "w320:" in good.stdout
    harm = _accept(tmp_path / "harm", user)
    assert harm.returncode == 1, harm.stderr
    assert ": fail" in harm.stdout and "rejected:" in harm.stdout

    narrow = tmp_path / "narrow"
    _write_set(narrow, base, [40, 48, 56, 64])
    refused = _accept(narrow, user)
    assert refused.returncode == 2 and "at least 320 px wide" in refused.stderr
