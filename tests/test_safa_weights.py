"""SAFA's official weights: a Google-Drive-only file with no published hash, in the reference's layout; how
seemup lists it, loads it and refuses what does not fit; and the commands that do not run SAFA yet."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from footage import DATA

from seemup.cli import main
from seemup.weights import build_model, load_manifest
from seemup.weights.manifest import parse_manifest


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")
    return folder


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def _official_file(path: Path, drop: str | None = None) -> dict[str, torch.Tensor]:
    """A file laid out as the reference saves it: the DDP-wrapped network's state dict (``module.`` keys)."""
    from seemup.models.safa import SAFA

    with torch.random.fork_rng():
        torch.manual_seed(1)
        state = SAFA().state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict((f"module.{k}", v) for k, v in state.items() if k != drop), path)
    return state


def test_manifest_records_the_drive_file_without_a_hash(user_dir: Path) -> None:
    manifest = load_manifest()
    entry = manifest.get("safa-adobe240")
    assert entry.urls == ("https://drive.google.com/uc?id=1PCYRfKwMkymP0V5dmcmGwrKu0lU7xSZ0",)
    assert entry.origin == "official" and entry.license == "MIT" and not entry.hash_known
    assert manifest.defaults["safa"] == manifest.defaults["safa-seem"] == "safa-adobe240"
    text = ('[[weights]]\nname = "x"\nkind = "full"\nmodel = "safa"\nfile = "x.pkl"\norigin = "official"\n'
            'reference = "r"\n')
    assert not parse_manifest(text)[0][0].hash_known


def test_list_names_the_url_and_where_to_save(user_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["weights", "list"], capsys)
    assert code == 0 and "safa-adobe240" in out
    hint = next(line for line in out.splitlines() if line.startswith("safa-adobe240: fetch"))
    assert "https://drive.google.com/uc?id=1PCYRfKwMkymP0V5dmcmGwrKu0lU7xSZ0" in hint
    assert str(user_dir / "safa-flownet.pkl") in hint
    code, _, err = _cli(["weights", "download", "safa-adobe240", "-q"], capsys)
    assert code == 1 and str(user_dir / "safa-flownet.pkl") in err and "no sha256 is published" in err


def test_official_layout_loads_strictly_by_name(user_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = _official_file(user_dir / "safa-flownet.pkl")
    model, info = build_model("safa")
    assert info is not None and info.name == "safa-adobe240"
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert any("no sha256 is published" in n for n in info.notes)
    seem, seem_info = build_model("safa-seem")  # the backbone's set, SEEM at zero
    assert seem_info is not None and all(torch.equal(seem.state_dict()[k], v) for k, v in state.items())
    code, out, _ = _cli(["weights", "list"], capsys)
    assert code == 0 and any("safa-adobe240" in line and "no hash known" in line for line in out.splitlines())


def test_a_file_that_does_not_fit_is_a_user_error(user_dir: Path) -> None:
    _official_file(user_dir / "safa-flownet.pkl", drop="block.convflow.0.bias")
    from seemup.errors import UserError

    with pytest.raises(UserError, match=r"missing 1: block\.convflow\.0\.bias"):
        build_model("safa")


def test_upscale_bench_and_train_say_what_is_missing_in_one_line(tmp_path: Path, user_dir: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clip = DATA / "dog64x36.mp4"
    code, _, err = _cli(["upscale", "-m", "safa", "-q", str(clip), str(tmp_path / "o.mp4")], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and "safa" in lines[0], err
    gt = DATA / "bench-gt"
    code, _, err = _cli(["bench", "--dataset", str(gt), "-m", "safa"], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: safa "), err
    code, _, err = _cli(["train", "-m", "safa", "-d", str(clip), "-o", str(tmp_path / "run")], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "no clip has 9 frames of at least 128x128 px" in lines[0], err  # 64x36
