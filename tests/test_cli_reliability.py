"""The CLI under hostile input: names that look like rich markup, unusable cache and output paths, clips
too small for the options given. Each case ends in one `error:` line (or plain output), before the work."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from seemup.cli import main


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def _one_error(err: str, *parts: str) -> str:
    """The single `error:` line of ``err`` (no traceback, no internal exception name), holding ``parts``."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Error:" not in lines[0] and "SEEMUP_DEBUG" not in lines[0], err
    assert all(p in lines[0] for p in parts), err
    return lines[0]


def _frames(folder: Path, n: int, h: int = 32, w: int = 48) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return folder


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody can create files in: read-only for a normal user, /proc for root (who ignores modes)."""
    if os.geteuid() == 0:
        if not Path("/proc/self").is_dir():
            pytest.skip("no read-only folder for root here")
        return Path("/proc/seemup-test-cache")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return ro / "cache"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches and weights inside the test's tmp dir; no SAM checkpoint, so masks are classical."""
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "mask-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setattr("seemup.weights.load.find_sam_checkpoint", lambda: None)
    monkeypatch.setenv("COLUMNS", "250")  # tables wide enough that no cell folds, whatever the terminal


@pytest.fixture()
def no_bench_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bench check that passes would go on to score: that must not happen in these tests."""
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the benchmark started before its inputs were checked")

    monkeypatch.setattr("seemup.evaluation.run_bench", forbidden)


# -- 13: user strings are never read as rich markup -------------------------------------------------------------

@pytest.mark.parametrize("name", ["nope[/]x.mp4", "nope[red]x.mp4", "nope[bold]x[/bold].mp4"])
def test_missing_input_named_like_markup_prints_as_is(name: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["upscale", str(tmp_path / name), str(tmp_path / "out.mp4")], capsys)
    assert code != 0
    _one_error(err, f"input not found: {tmp_path / name}")


def test_bench_tables_and_notes_show_markup_names_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "s[red]et"
    _frames(root / "c[red]lip", 2)
    _frames(root / "d[bold]x", 2)
    out_json = tmp_path / "j[/]s" / "s.json"
    code, out, err = _cli(["bench", "-d", str(root), "-m", "bicubic", "--max-frames", "2", "--json", str(out_json)],
                          capsys)
    assert code == 0, err
    assert "c[red]lip" in out and "d[bold]x" in out and "s[red]et" in out
    assert "--max-frames 2: partial evaluation" in err and f"wrote {out_json}" in err


def test_masks_notice_shows_a_markup_cache_path_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "c[/]lip", 2)
    cache = tmp_path / "ca[red]che"
    code, out, err = _cli(["masks", str(clip), "--source", "classical", "--cache-dir", str(cache)], capsys)
    assert code == 0, err
    assert f"cache {cache}" in err and "misses 2" in out


def test_weights_table_shows_a_markup_path_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    user = tmp_path / "we[/]ights"  # a folder "we[" holding "]ights"
    user.mkdir(parents=True)
    (user / "manifest.toml").write_text(
        '[[weights]]\nname = "blob"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "blob.pth"\n'
        'sha256_prefix = "000000"\norigin = "official"\nreference = "test"\n')
    (user / "blob.pth").write_bytes(b"x")
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    monkeypatch.setenv("COLUMNS", "400")  # the source column folds long paths
    code, out, err = _cli(["weights", "list"], capsys)
    assert code == 0, err
    assert str(user / "blob.pth") in out


def test_train_prints_a_markup_run_dir_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "c[red]lip", 3, 64, 64)
    run = tmp_path / "r[/]un"
    code, out, err = _cli(["train", "-m", "basicvsr-tiny", "-d", str(clip), "--iters", "1", "--periods", "1",
                           "--batch-size", "1", "--num-frames", "2", "--patch-size", "16", "--workers", "0",
                           "--device", "cpu", "--val-every", "100", "--save-every", "100", "-o", str(run)], capsys)
    assert code == 0, err
    assert f"run directory: {run} " in err and f"weights: {run}" in out


# -- 14: unusable paths and options fail at once, in one line ---------------------------------------------------

def test_masks_cache_dir_on_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "clip", 2)
    (tmp_path / "afile").write_text("not a folder")
    code, _, err = _cli(["masks", str(clip), "--source", "classical", "-q", "--cache-dir", str(tmp_path / "afile")],
                        capsys)
    assert code == 1
    _one_error(err, "--cache-dir", "is a file, not a folder")
    code, _, err = _cli(["masks", str(clip), "--source", "classical", "-q", "--cache-dir",
                         str(tmp_path / "afile" / "sub")], capsys)
    assert code == 1
    _one_error(err, "--cache-dir", "is a file, not a folder")


def test_masks_cache_from_the_environment_on_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "clip", 2)
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "afile"))
    code, _, err = _cli(["masks", str(clip), "--source", "classical", "-q"], capsys)
    assert code == 1
    _one_error(err, f"SEEMUP_CACHE_DIR {tmp_path / 'afile'}", "is a file, not a folder")


def test_masks_cache_dir_unwritable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "clip", 2)
    code, _, err = _cli(["masks", str(clip), "--source", "classical", "-q", "--cache-dir", str(_unwritable(tmp_path))],
                        capsys)
    assert code == 1
    _one_error(err, "--cache-dir", "cannot write in")


@pytest.mark.parametrize("where", ["file", "unwritable"])
def test_bench_cache_dir_unusable(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  no_bench_work: None) -> None:
    clip = _frames(tmp_path / "clip", 2)
    cache = tmp_path / "afile" if where == "file" else _unwritable(tmp_path)
    if where == "file":
        cache.write_text("not a folder")
    code, _, err = _cli(["bench", "-d", str(clip), "-m", "basicvsr-seem", "--mask-source", "classical", "-q",
                         "--cache-dir", str(cache)], capsys)
    assert code == 1
    _one_error(err, "--cache-dir", "is a file, not a folder" if where == "file" else "cannot write in")


def test_bench_crop_border_larger_than_the_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 no_bench_work: None) -> None:
    clip = _frames(tmp_path / "clip", 2)  # 48x32
    code, _, err = _cli(["bench", "-d", str(clip), "-m", "bicubic", "-q", "--crop-border", "16"], capsys)
    assert code == 2
    _one_error(err, "--crop-border 16 leaves nothing of clip clip's 48x32 frames", "at most 15")


def test_bench_crop_border_checked_on_every_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "set"
    _frames(root / "a_big", 2, 64, 64)
    _frames(root / "b_small", 2, 16, 16)
    code, out, err = _cli(["bench", "-d", str(root), "-m", "bicubic", "-q", "--crop-border", "10"], capsys)
    assert code == 2
    _one_error(err, "--crop-border 10 leaves nothing of clip b_small's 16x16 frames")


def test_bench_one_frame_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str], no_bench_work: None) -> None:
    clip = _frames(tmp_path / "one", 1)
    code, _, err = _cli(["bench", "-d", str(clip), "-m", "basicvsr-tiny", "-q"], capsys)
    assert code == 1
    _one_error(err, "clip one has 1 frame(s), but basicvsr-tiny needs at least 2")
    clip = _frames(tmp_path / "three", 3)
    code, _, err = _cli(["bench", "-d", str(clip), "-m", "basicvsr-tiny", "-q", "--max-frames", "1"], capsys)
    assert code == 1
    _one_error(err, "needs at least 2", "--max-frames 2 or more")


def test_bench_one_frame_clip_is_fine_for_bicubic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = _frames(tmp_path / "one", 1)
    code, out, err = _cli(["bench", "-d", str(clip), "-m", "bicubic", "-q"], capsys)
    assert code == 0 and "Average" in out, err


@pytest.mark.parametrize("where", ["folder", "unwritable", "under a file"])
def test_bench_json_target_unusable(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    no_bench_work: None) -> None:
    clip = _frames(tmp_path / "clip", 2)
    (tmp_path / "afile").write_text("x")
    target = {"folder": tmp_path, "unwritable": _unwritable(tmp_path) / "s.json",
              "under a file": tmp_path / "afile" / "s.json"}[where]
    code, _, err = _cli(["bench", "-d", str(clip), "-m", "bicubic", "-q", "--json", str(target)], capsys)
    assert code == 1
    want = {"folder": "is a folder; give a file name", "unwritable": "cannot write in",
            "under a file": "is a file, not a folder"}[where]
    _one_error(err, f"--json {target}", want)


@pytest.mark.parametrize("where", ["file", "unwritable"])
def test_train_cache_dir_unusable(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started before --cache-dir was checked")

    monkeypatch.setattr("seemup.training.train", forbidden)
    clip = _frames(tmp_path / "clip", 3, 64, 64)
    cache = tmp_path / "afile" if where == "file" else _unwritable(tmp_path)
    if where == "file":
        cache.write_text("not a folder")
    code, _, err = _cli(["train", "-m", "basicvsr-tiny", "-d", str(clip), "--iters", "1", "-q", "--device", "cpu",
                         "-o", str(tmp_path / "run"), "--cache-dir", str(cache)], capsys)
    assert code == 1
    _one_error(err, "--cache-dir", "is a file, not a folder" if where == "file" else "cannot write in")


# -- 16: DataLoader workers never outnumber the cores -----------------------------------------------------------

def test_train_workers_capped_by_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.training import build_config

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    cfg, _, _ = build_config({"model": "basicvsr", "data": ["x"]})
    assert cfg.workers == 2
    cfg, _, _ = build_config({"model": "basicvsr", "data": ["x"], "workers": 8})
    assert cfg.workers == 2
    cfg, _, _ = build_config({"model": "basicvsr", "data": ["x"], "workers": 1})
    assert cfg.workers == 1
