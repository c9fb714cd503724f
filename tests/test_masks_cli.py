"""`seemup masks` end to end: frame folders, video files, dataset trees, cache reuse, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from seemup.cli import main
from seemup.imresize import imresize_uint8
from seemup.masks import CachedMasks, ClassicalMaskSource, MaskCache
from seemup.video import read_frames


def _write_folder(folder: Path, n: int, h: int = 32, w: int = 48, seed: int = 0) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(folder / f"f{i + 1}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _write_video(path: Path, n: int, h: int = 48, w: int = 64) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=10, codec="libx264", macro_block_size=16)
    writer.send(None)
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[:, : 8 + 8 * i] = (200, 100, 50)
        writer.send(np.ascontiguousarray(frame))
    writer.close()


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture(autouse=True)
def _no_sam(monkeypatch, tmp_path):
    """No SAM checkpoint anywhere, so `auto` means classical here whatever the machine has."""
    monkeypatch.setattr("seemup.weights.load.find_sam_checkpoint", lambda: None)
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "default-cache"))


def test_dataset_tree_then_all_hits(tmp_path, capsys) -> None:
    root = tmp_path / "data"
    _write_folder(root / "clipA", 3)
    _write_folder(root / "nested" / "clipB", 2, seed=1)
    _write_video(root / "nested" / "v.mp4", 4)
    cache = tmp_path / "cache"
    code, out, err = _run(["masks", str(root), "--cache-dir", str(cache)], capsys)
    assert code == 0, err
    assert out.strip().startswith("frames 9, cache hits 0, misses 9, ")
    assert "classical" in err and "3 input(s), 9 frames" in err  # notice + header on stderr

    code, out, err = _run(["masks", str(root), "--cache-dir", str(cache), "--quiet"], capsys)
    assert code == 0 and out.startswith("frames 9, cache hits 9, misses 0, ") and err == ""

    # what a later upscale run computes for the video finds the precomputed entries
    cached = CachedMasks(ClassicalMaskSource(), MaskCache(cache))
    with read_frames(root / "nested" / "v.mp4") as frames:
        cached.batch(list(frames))
    assert (cached.stats.hits, cached.stats.misses) == (4, 0)


def test_single_video_and_default_cache_dir(tmp_path, capsys) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video, 3)
    code, out, _ = _run(["masks", str(video), "--source", "classical", "-q"], capsys)
    assert code == 0 and out.startswith("frames 3, cache hits 0, misses 3")
    assert len(list((tmp_path / "default-cache").rglob("*.msk"))) == 3


def test_downscale_matches_training_lr_frames(tmp_path, capsys) -> None:
    folder = tmp_path / "hr"
    _write_folder(folder, 2, h=34, w=50)  # not multiples of 4: cut to 32x48 first
    cache = tmp_path / "cache"
    code, out, _ = _run(["masks", str(folder), "--cache-dir", str(cache), "--downscale", "4", "-q"], capsys)
    assert code == 0 and "misses 2" in out
    cached = CachedMasks(ClassicalMaskSource(), MaskCache(cache))
    hr = cv2.imread(str(folder / "f1.png"))[..., ::-1]
    masks = cached(imresize_uint8(np.ascontiguousarray(hr[:32, :48]), 1 / 4))
    assert masks.shape == (64, 8, 12) and cached.stats.hits == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["masks", "{tmp}/missing"], "input not found"),
        (["masks", "{tmp}/empty"], "no videos or png/jpg frame folders"),
        (["masks", "{tmp}/frames", "--source", "sam"], "no SAM checkpoint"),
        (["masks", "{tmp}/frames", "--sam-checkpoint", "{tmp}/nope.pth"], "SAM checkpoint not found"),
        (["masks", "{tmp}/frames", "--source", "fancy"], "unknown mask source"),
        (["masks", "{tmp}/frames", "--device", "cuda:0"] if not __import__("torch").cuda.is_available()
         else ["masks", "{tmp}/frames", "--device", "tpu"], "device"),
        (["masks", "{tmp}/frames", "--downscale", "0"], "downscale"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, args, message) -> None:
    (tmp_path / "empty").mkdir()
    _write_folder(tmp_path / "frames", 1)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--cache-dir", str(tmp_path / "c")]
    code, out, err = _run(argv, capsys)
    assert code != 0
    assert err.strip().count("\n") == 0 and err.startswith("error:") and message in err, err
    assert "Traceback" not in err
