"""Weights under hostile conditions: files changed behind the hash cache, a broken user manifest, int8
calibrations of shipped weights."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from seemup.cli import main
from seemup.errors import SeemupWarning, UserError
from seemup.video import ffmpeg_exe
from seemup.weights import hashing, load_manifest, locate
from seemup.weights import locations as loc

PAYLOAD = bytes(range(256)) * 64
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
ENTRY = ('[[weights]]\nname = "blob"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "blob.pth"\n'
         f'sha256 = "{DIGEST}"\norigin = "official"\nreference = "test"\n')


@pytest.fixture()
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user weights dir holding blob.pth and a manifest naming it; the shipped dir holds no manifest."""
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    user.mkdir()
    shipped.mkdir()
    (user / "manifest.toml").write_text(ENTRY)
    (user / "blob.pth").write_bytes(PAYLOAD)
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    monkeypatch.delenv("SEEMUP_WEIGHTS_VERIFY", raising=False)
    monkeypatch.setattr(loc, "shipped_weights_dir", lambda: shipped)
    return user


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def _flip_keeping_mtime(path: Path) -> None:
    """Change one byte in place, then set the modification time back (size and mtime as before)."""
    before = path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick, so the change shows in ctime
    with open(path, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns


def test_verify_rehashes_a_file_changed_with_mtime_restored(user: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["weights", "verify", "blob", "-q"], capsys)
    assert code == 0 and "verified" in out
    _flip_keeping_mtime(user / "blob.pth")
    code, out, err = _cli(["weights", "verify", "blob", "-q"], capsys)
    assert code == 1 and "mismatch" in out and "do not match the manifest" in err


def test_verify_and_list_verify_ignore_a_forged_hash_cache(user: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = user / "blob.pth"
    _flip_keeping_mtime(path)
    hashing.remember_sha256(path, DIGEST)  # the cache now vouches for the changed file, stat and all
    assert hashing.cached_sha256(path) == DIGEST
    code, out, _ = _cli(["weights", "verify", "blob", "-q"], capsys)
    assert code == 1 and "mismatch" in out
    hashing.remember_sha256(path, DIGEST)
    code, out, _ = _cli(["weights", "list", "--verify"], capsys)
    assert code == 0 and "mismatch" in out and "verified" not in out


def test_loading_rehashes_a_file_changed_with_mtime_restored(user: Path) -> None:
    entry = load_manifest().get("blob")
    assert locate(entry)[1] == DIGEST  # hashed once, now remembered
    _flip_keeping_mtime(user / "blob.pth")
    with pytest.raises(UserError, match="is not the file of weight set 'blob'"):
        locate(entry)


def test_hash_cache_still_spares_loading_an_unchanged_file(user: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = load_manifest().get("blob")
    calls: list[Path] = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda p, on_bytes=None: calls.append(p) or real(p, on_bytes))
    locate(entry)
    locate(entry)
    assert len(calls) == 1
    stamp = next(iter(hashing._read_stamps().values()))
    assert {"size", "mtime_ns", "ino", "dev", "ctime_ns", "sha256"} <= set(stamp)


@pytest.fixture()
def broken_user_manifest(user: Path) -> Path:
    """The user's manifest is not TOML; the shipped one (here: the blob entry) is fine."""
    shipped = loc.shipped_weights_dir()
    (user / "manifest.toml").rename(shipped / "manifest.toml")
    (user / "manifest.toml").write_text("[[weights]\nname = oops\n")
    return user / "manifest.toml"


def test_broken_user_manifest_is_a_warning_and_the_shipped_one_is_used(broken_user_manifest: Path) -> None:
    with pytest.warns(SeemupWarning, match="not valid TOML.*ignored"):
        manifest = load_manifest()
    assert [s.name for s in manifest] == ["blob"]


def test_broken_shipped_manifest_is_still_an_error(broken_user_manifest: Path) -> None:
    (loc.shipped_weights_dir() / "manifest.toml").write_text("schema = 'x'\n[[weights]]\n")
    with pytest.raises(UserError):
        load_manifest()


def test_broken_user_manifest_does_not_block_bicubic(broken_user_manifest: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "c.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=48x32:r=25", "-frames:v", "4",
                    "-c:v", "libx264", "-crf", "12", str(clip)], check=True)
    code, _, err = _cli(["upscale", "-m", "bicubic", "-q", str(clip), str(tmp_path / "o.mp4")], capsys)
    lines = err.strip().splitlines()
    assert code == 0 and (tmp_path / "o.mp4").is_file()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {broken_user_manifest}: not valid TOML")
    code, out, err = _cli(["weights", "list"], capsys)
    assert code == 0 and "blob" in out and err.count("warning:") == 1 and "error" not in err


def test_calibrate_leaves_shipped_calibration_alone_and_int8_finds_the_new_one(
        user: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from seemup.models import create_model
    from seemup.weights.int8_ranges import ranges_path, read_ranges

    shipped = loc.shipped_weights_dir()
    weights = shipped / "tiny.pth"
    torch.manual_seed(0)
    torch.save({"params": create_model("basicvsr-tiny").state_dict()}, weights)
    shipped_ranges = shipped / "tiny.int8.json"
    shipped_ranges.write_text('{"format": "shipped calibration"}\n')
    clip = tmp_path / "c.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=48x32:r=25", "-frames:v", "4",
                    "-c:v", "libx264", "-crf", "12", str(clip)], check=True)
    code, out, err = _cli(["weights", "calibrate", "-m", "basicvsr-tiny", "-w", str(weights), "--data", str(clip),
                           "--frames", "3", "-q"], capsys)
    assert code == 0, err
    assert out.strip() == str(user / "tiny.int8.json")
    assert shipped_ranges.read_text() == '{"format": "shipped calibration"}\n'
    assert ranges_path(weights) == user / "tiny.int8.json"
    got, why = read_ranges(weights)
    assert got is not None and len(got.blocks) == 4, why
    own = tmp_path / "own" / "tiny.pth"  # the user's own weights: the calibration goes beside them
    own.parent.mkdir()
    own.write_bytes(weights.read_bytes())
    code, out, _ = _cli(["weights", "calibrate", "-m", "basicvsr-tiny", "-w", str(own), "--data", str(clip),
                         "--frames", "3", "-q"], capsys)
    assert code == 0 and out.strip() == str(own.with_name("tiny.int8.json")) == str(ranges_path(own))
