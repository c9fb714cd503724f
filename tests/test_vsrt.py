"""VSR-Transformer: the reference's parameter layout and quirks, the test-code tiling, SEEM at zero, wiring.

Parity with the reference code itself (max abs difference on random weights) is checked by
benchmarks/compare_reference.py against a checkout kept outside the repository; these tests pin what can
be checked without it, on small networks so they stay fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from footage import DATA
from torch.nn import functional as F
from typer.testing import CliRunner

from seemup.models import NUM_MASKS, CheckpointError, create_model, get_spec, load_weights
from seemup.models.vsrt_blocks import FramePositionalEncoding, GlobalAttention, PreNorm, Residual, Transformer
from seemup.models.vsrt_tiles import hr_spans, lr_spans, tiled_forward

torch.set_num_threads(1)

# every part present, each as small as it goes: one block per stage, thin SPyNet
TINY = {"num_feat": 8, "depth": 1, "num_extract_block": 1, "num_reconstruct_block": 1, "num_ff_block": 1,
        "spynet_width": 0.125}


def _tiny(name: str = "vsrt", seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = create_model(name, **TINY).eval()
    with torch.no_grad():  # LayerNorm affine parameters away from their (1, 0) defaults
        for key, p in model.named_parameters():
            if ".norm." in key:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def _lr(t: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, t, 3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("name", "count"), [("vsrt", 32_564_335), ("vsrt-vimeo", 43_845_615)])
def test_parameter_counts_and_names_are_the_references(name: str, count: int) -> None:
    model = create_model(name)
    assert sum(p.numel() for p in model.parameters()) == count
    keys = set(model.state_dict())
    # buffers the reference's state dict holds too, so official files load strictly
    assert {"pos_embedding.penc.inv_freq", "spynet.spynet.mean", "spynet.spynet.std"} <= keys
    assert "transformer.layers.0.1.fn.fn.backward_resblocks.main.2.29.conv2.weight" in keys
    assert "transformer.layers.0.0.fn.norm.weight" in keys and model.transformer.layers[0][0].fn.norm.weight.shape \
        == (64, 64, 64)
    tiny, seem = create_model(name, **TINY), create_model(f"{name}-seem", **TINY)  # SEEM only adds seem.*
    assert {k: v.shape for k, v in seem.state_dict().items() if not k.startswith("seem.")} == \
        {k: v.shape for k, v in tiny.state_dict().items()}


def _official_layout(state: dict[str, torch.Tensor], prefix: str) -> dict:
    """A state dict as the reference's BasicSR saves it: under ``params``, SPyNet convs inside mmcv ConvModules
    (``basic_module.M.conv.*``, M = 0..4 where seemup counts the ReLUs too)."""
    out = {}
    for key, value in state.items():
        m = re.match(r"^(spynet\.spynet\.basic_module\.\d+\.basic_module\.)(\d+)\.(weight|bias)$", key)
        if m:
            key = f"{m.group(1)}{int(m.group(2)) // 2}.conv.{m.group(3)}"
        out[prefix + key] = value.clone()
    return {"params": out}


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_layout_loads_strictly(tmp_path: Path, prefix: str) -> None:
    src = _tiny(seed=1)
    layout = _official_layout(src.state_dict(), prefix)
    assert f"{prefix}spynet.spynet.basic_module.5.basic_module.4.conv.weight" in layout["params"]
    path = tmp_path / "vsrTransformer_reds_x4_final.pth"
    torch.save(layout, path)
    got = load_weights(_tiny(seed=2), path).state_dict()
    for key, value in src.state_dict().items():
        assert torch.equal(got[key], value), key

    del layout["params"][f"{prefix}pos_embedding.penc.inv_freq"]  # strict: every buffer must be there
    torch.save(layout, path)
    with pytest.raises(CheckpointError, match="pos_embedding.penc.inv_freq"):
        load_weights(_tiny(), path)


@pytest.mark.slow
def test_the_official_file_name_in_the_weights_dir_is_vsrts_default(tmp_path: Path, monkeypatch) -> None:
    """The full network, from a file in the official layout saved where `seemup weights list` says."""
    from seemup.weights import build_model, load_manifest

    entry = load_manifest().get("vsrt-reds")
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path))
    src = create_model("vsrt")
    torch.save(_official_layout(src.state_dict(), "module."), tmp_path / entry.file)
    model, info = build_model("vsrt-seem")
    assert info.name == "vsrt-reds" and info.path == tmp_path / "vsrTransformer_reds_x4_final.pth"
    assert any("no sha256" in note for note in info.notes)  # none is published: strict loading is the check
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in src.state_dict().items())
    assert all(k.startswith("seem.") for k in set(got) - set(src.state_dict()))


def test_manifest_lists_the_official_sets() -> None:
    from seemup.weights import load_manifest

    manifest = load_manifest()
    assert manifest.defaults["vsrt"] == manifest.defaults["vsrt-seem"] == "vsrt-reds"
    for name, file in (("vsrt-reds", "vsrTransformer_reds_x4_final.pth"),
                       ("vsrt-reds-warmup", "vsrTransformer_reds_x4_warmup.pth")):
        entry = manifest.get(name)
        assert entry.model == "vsrt" and entry.file == file and not entry.hash_known
        assert entry.urls == ("https://drive.google.com/drive/folders/1HFZbuYq54U9mz_ngAqfW3pRMcry7XWx3",)
    assert [(v.dataset, v.psnr, v.ssim) for v in manifest.get("vsrt-reds").validation] == [("REDS4", 31.19, 0.8815)]


def test_positional_encoding_is_the_2021_layout() -> None:
    """sin and cos concatenated per axis, not interleaved: for 7 frames (two frequencies, 1 and 1/100 over the
    channel axis) frame 1 holds sin(c / 100) and frame 2 cos(c); the 2022 layout would give cos(c), sin(c / 100)."""
    enc = FramePositionalEncoding(7)
    table = enc(torch.zeros(1, 7, 64, 6, 5))[0]
    c, y, z = (torch.arange(n, dtype=torch.float32) for n in (64, 6, 5))
    assert table.shape == (7, 64, 6, 5)
    on_c, on_y = (lambda v: v[:, None, None]), (lambda v: v[None, :, None])
    expected = [on_c(torch.sin(c)), on_c(torch.sin(c / 100)), on_c(torch.cos(c)), on_c(torch.cos(c / 100)),
                on_y(torch.sin(y)), on_y(torch.sin(y / 100)), on_y(torch.cos(y))]
    for frame, want in enumerate(expected):
        torch.testing.assert_close(table[frame], want.expand(64, 6, 5), rtol=0, atol=1e-6)
    # one frequency for 5 frames: sin c, cos c, sin y, cos y, sin z
    five = FramePositionalEncoding(5)(torch.zeros(1, 5, 64, 6, 5))[0]
    torch.testing.assert_close(five[3], torch.cos(y)[None, :, None].expand(64, 6, 5), rtol=0, atol=1e-6)
    torch.testing.assert_close(five[4], torch.sin(z)[None, None, :].expand(64, 6, 5), rtol=0, atol=1e-6)


def test_attention_adds_its_input_inside_the_residual_too() -> None:
    """With every convolution at zero the attention returns its (normalised) input, and the residual wrapper adds
    the raw input once more: norm(x) + x, as the reference computes (and its weights were trained with)."""
    torch.manual_seed(0)
    block = Residual(PreNorm(4, 16, GlobalAttention(4, patch_size=8, heads=1)))
    with torch.no_grad():
        for conv in (block.fn.fn.to_q, block.fn.fn.to_k, block.fn.fn.to_v, block.fn.fn.conv):
            conv.weight.zero_()
            conv.bias.zero_()
        block.fn.norm.weight.normal_()
        x = torch.randn(2, 3, 4, 16, 16)
        torch.testing.assert_close(block(x), block.fn.norm(x) + x, rtol=0, atol=0)


def test_attention_mixes_every_patch_of_every_frame() -> None:
    """Tokens are 8x8 patches of all frames: changing one patch of frame 0 changes every patch of frame 2."""
    torch.manual_seed(0)
    attn = GlobalAttention(4, patch_size=8).eval()
    x = torch.randn(1, 3, 4, 16, 16)
    y = x.clone()
    y[0, 0, :, :8, :8] += 1.0
    with torch.no_grad():
        diff = (attn(y) - attn(x))[0, 2].abs().amax(dim=0)  # [16,16]
    assert all(diff[r:r + 8, c:c + 8].max() > 1e-6 for r in (0, 8) for c in (0, 8))


def test_last_layer_on_the_centre_frame_only_is_exact() -> None:
    torch.manual_seed(0)
    net = Transformer(8, 64, depth=2, patch_size=8, heads=1, num_ff_block=1).eval()
    x, lrs = torch.randn(1, 5, 8, 64, 64), torch.rand(1, 5, 3, 64, 64)
    flows = (torch.randn(1, 5, 2, 64, 64), torch.randn(1, 5, 2, 64, 64))
    with torch.no_grad():
        full = net(x, lrs, flows)
        centre = net(x, lrs, flows, last_frames=[2])
    assert centre.shape == (1, 1, 8, 64, 64)
    torch.testing.assert_close(centre[:, 0], full[:, 2], rtol=0, atol=1e-5)


def test_spans_are_the_test_codes() -> None:
    """The reference's forward_crop with lq_size 64, overlap 32 (hand-worked for a 180-pixel side): patches every
    32 pixels, the last flush with the edge; the x4 output of each patch is pasted from its inner part, and the
    last patch (written last) owns the rows it shares with the one before."""
    assert lr_spans(180) == [(0, 64), (32, 96), (64, 128), (96, 160), (116, 180)]
    assert hr_spans(180) == [(0, 192, 0, 192), (192, 320, 64, 192), (320, 448, 64, 192), (448, 576, 64, 192),
                             (528, 720, 64, 256)]
    assert lr_spans(64) == [(0, 64), (0, 64)] and hr_spans(64) == [(0, 192, 0, 192), (64, 256, 64, 256)]
    assert lr_spans(90) == [(0, 64), (26, 90)]
    with pytest.raises(ValueError, match="smaller"):
        lr_spans(63)


def _nearest_centre(patches: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """A stand-in network that commutes with translation: x4 nearest upscaling of the centre frame."""
    return F.interpolate(patches[:, patches.shape[1] // 2], scale_factor=4, mode="nearest")


@pytest.mark.parametrize("size", [(64, 64), (80, 100), (90, 160), (180, 320), (67, 93), (40, 50), (12, 70)])
def test_tiling_covers_every_pixel_from_the_right_place(size: tuple[int, int]) -> None:
    lr = _lr(5, *size)
    out = tiled_forward(_nearest_centre, lr, None, batch=3)
    assert out.shape == (1, 3, 4 * size[0], 4 * size[1])
    torch.testing.assert_close(out, _nearest_centre(lr, None), rtol=0, atol=0)


def test_tiling_takes_each_pixel_from_the_patch_the_reference_takes() -> None:
    calls: list[tuple[int, int]] = []
    lr = torch.zeros(1, 3, 3, 180, 100)
    lr[0, :, 0] = torch.arange(180.0)[:, None]  # row number in channel 0, column number in channel 1
    lr[0, :, 1] = torch.arange(100.0)[None, :]

    def patch_id(patches: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        starts = [(int(p[1, 0, 0, 0]), int(p[1, 1, 0, 0])) for p in patches]
        calls.extend(starts)
        return torch.stack([torch.full((2, 256, 256), float(r * 1000 + c)) for r, c in starts])

    out = tiled_forward(patch_id, lr, None, batch=4)
    assert len(calls) == len(set(calls)) == 5 * 3
    owner = out[0, 0]
    assert owner[527, 0] == 96 * 1000 and owner[528, 0] == 116 * 1000  # the later patch wins the shared rows
    assert owner[0, 399] == 36 and owner[191, 191] == 0 and owner[192, 192] == 32 * 1000 + 32


def test_a_single_patch_is_one_forward() -> None:
    model = _tiny()
    lr = _lr(5, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(lr), model.forward_patch(lr))


def test_small_and_odd_inputs_are_padded_and_cropped_back() -> None:
    model = _tiny()
    lr = _lr(5, 40, 50, seed=3)
    padded = F.pad(lr.reshape(5, 3, 40, 50), (0, 14, 0, 24), mode="replicate").reshape(1, 5, 3, 64, 64)
    with torch.no_grad():
        out = model(lr)
        ref = model.forward_patch(padded)[..., :160, :200]
    assert out.shape == (1, 3, 160, 200)
    assert torch.equal(out, ref)


def test_zero_seem_is_bit_identical_and_trained_seem_changes_the_output() -> None:
    backbone = _tiny("vsrt")
    seem = _tiny("vsrt-seem", seed=5)
    missing = seem.load_state_dict(backbone.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("seem.") for k in missing)
    assert set(seem.seem.blocks) == {"transformer", "reconstruction"}
    lr = _lr(5, 40, 64, seed=4)
    masks = (torch.rand(1, 5, NUM_MASKS, 40, 64, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    with torch.no_grad():
        plain = backbone(lr)
        assert torch.equal(seem(lr, masks), plain)
        for p in seem.seem.parameters():
            p.normal_(0, 0.1)
        assert (seem(lr, masks) - plain).abs().max() > 1e-4
        other = masks.clone()
        other[:, 2] = 1 - other[:, 2]  # the centre frame's masks are the ones used
        assert (seem(lr, other) - seem(lr, masks)).abs().max() > 1e-5
        other = masks.clone()
        other[:, 0] = 1 - other[:, 0]
        assert torch.equal(seem(lr, other), seem(lr, masks))


def test_inputs_are_checked() -> None:
    model = _tiny()
    with pytest.raises(ValueError, match="T = 5"):
        model(_lr(3, 64, 64))
    with pytest.raises(ValueError, match="needs masks"):
        _tiny("vsrt-seem")(_lr(5, 64, 64))
    with pytest.raises(ValueError, match="odd number"):
        create_model("vsrt", num_frame=4)


def test_registry_entries() -> None:
    for name, frames, depth in (("vsrt", 5, 5), ("vsrt-vimeo", 7, 7)):
        for full in (name, f"{name}-seem"):
            spec = get_spec(full)
            assert spec.kind == "window" and spec.num_frame == frames and spec.config["depth"] == depth
            assert spec.uses_masks == full.endswith("-seem")
    model = _tiny("vsrt-vimeo")
    assert model.num_frame == 7 and model.center_frame_idx == 3


def _tiny_weights(tmp_path: Path, name: str = "vsrt") -> Path:
    path = tmp_path / f"{name}-tiny.pth"
    torch.save({"params": _tiny(name).state_dict(), "meta": {"model": name, "model_config": TINY}}, path)
    return path


@pytest.mark.slow
def test_upscale_cli_runs_vsrt_on_real_footage(tmp_path: Path) -> None:
    """Five frames of real footage at 62x34 (no multiple of 4, under 64): chunked window runs, padded, cropped."""
    import subprocess

    from seemup.cli import app
    from seemup.video import ffmpeg_exe, probe

    clip, out = tmp_path / "dog62x34.mp4", tmp_path / "out.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(DATA / "dog64x36.mp4"), "-vf", "crop=62:34:0:0",
                    "-frames:v", "5", "-c:v", "libx264", "-qp", "0", str(clip)], check=True)
    result = CliRunner().invoke(app, ["upscale", str(clip), str(out), "--model", "vsrt", "--weights",
                                      str(_tiny_weights(tmp_path)), "--chunk", "2", "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    got = probe(out)
    assert (got.width, got.height, got.num_frames) == (248, 136, 5)


@pytest.mark.slow
def test_bench_cli_runs_vsrt_seem(tmp_path: Path) -> None:
    from seemup.cli import app

    root = tmp_path / "set"
    gt = root / "GT" / "dog"
    gt.mkdir(parents=True)
    for png in sorted((DATA / "bench-gt" / "dog").glob("*.png")):
        (gt / png.name).write_bytes(png.read_bytes())
    weights = _tiny_weights(tmp_path)
    result = CliRunner().invoke(app, ["bench", "--dataset", str(root), "--model", "vsrt", "--model", "vsrt-seem",
                                      "--weights", str(weights), "--weights", str(weights), "--mask-source",
                                      "classical", "--device", "cpu", "--quiet"],
                                env={"COLUMNS": "200", "SEEMUP_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    assert "vsrt-seem" in result.output and "dog" in result.output
