"""`seemup bench` end to end on a tiny Vid4-layout set cut from the real footage."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from footage import DATA, FOOTAGE
from typer.testing import CliRunner

from seemup.cli import app, main
from seemup.imresize import imresize_uint8
from seemup.metrics import psnr, ssim

CLIPS = {"dog": ("01_dog.mp4", (120, 260)), "blocks": ("03_blocks.mp4", (150, 300))}  # clip: (video, crop y, x)
H, W, N = 64, 96, 3
GT_DATA = DATA / "bench-gt"


def first_frames(path: Path, n: int) -> list[np.ndarray]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    w, h = next(gen)["size"]
    frames = []
    try:
        for buf in gen:
            frames.append(np.frombuffer(buf, np.uint8).reshape(h, w, 3).copy())
            if len(frames) == n:
                break
    finally:
        gen.close()
    return frames


@pytest.fixture(scope="module")
def vid4_like(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """GT/<clip>/*.png: 3 frames per clip, footage halved with an area filter (it is compressed), cropped;
    committed under tests/data/bench-gt (tests/data/README.md), made from the footage by ``_make_gt``."""
    root = tmp_path_factory.mktemp("vid4like")
    gts = {}
    for clip in CLIPS:
        dst = root / "GT" / clip
        dst.mkdir(parents=True)
        frames = []
        for i in range(N):
            png = GT_DATA / clip / f"{i:03d}.png"
            (dst / png.name).write_bytes(png.read_bytes())
            frames.append(cv2.imread(str(png), cv2.IMREAD_COLOR)[..., ::-1])
        gts[clip] = np.ascontiguousarray(np.stack(frames))
    return root, gts


def _make_gt(out: Path = DATA / "bench-gt") -> None:
    """Write the committed GT frames from the footage (run by hand when the crops change)."""
    for clip, (video, (y, x)) in CLIPS.items():
        (out / clip).mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(first_frames(FOOTAGE / video, N)):
            half = cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(out / clip / f"{i:03d}.png"), half[y : y + H, x : x + W][..., ::-1])


def test_bench_cli_table_and_json(vid4_like, tmp_path: Path) -> None:
    root, gts = vid4_like
    out_json = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app, ["bench", "--dataset", str(root), "--model", "bicubic", "--model", "basicvsr-tiny", "--space", "y",
              "--json", str(out_json), "--device", "cpu", "--quiet"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    for needle in ("dog", "blocks", "Average", "PSNR/SSIM", "Δ PSNR/SSIM", "vs bicubic", "ms/frame", "basicvsr-tiny"):
        assert needle in text, needle

    data = json.loads(out_json.read_text())
    assert data["dataset"] == root.name and data["space"] == "y" and data["crop_border"] == 0
    models = {m["model"]: m for m in data["models"]}
    assert set(models) == {"bicubic", "basicvsr-tiny"}
    assert data["baseline"]["model"] == "bicubic"

    # bicubic, recomputed independently from the GT frames with the metric functions
    bic = models["bicubic"]
    for clip, gt in gts.items():
        sr = [imresize_uint8(imresize_uint8(f, 1 / 4), 4) for f in gt]
        p = np.mean([psnr(s, g) for s, g in zip(sr, gt, strict=True)])
        s_ = np.mean([ssim(s, g) for s, g in zip(sr, gt, strict=True)])
        assert bic["clips"][clip]["frames"] == N
        assert bic["clips"][clip]["psnr"] == pytest.approx(p, abs=1e-3)
        assert bic["clips"][clip]["ssim"] == pytest.approx(s_, abs=1e-5)
        assert f"{bic['clips'][clip]['psnr']:.4f}" in text
    assert bic["average"]["psnr"] == pytest.approx(np.mean([c["psnr"] for c in bic["clips"].values()]), abs=1e-12)
    assert bic["delta"]["psnr"] == pytest.approx(0.0, abs=1e-12)

    tiny = models["basicvsr-tiny"]
    assert tiny["weights"] is None and tiny["average"]["frames"] == 2 * N
    assert tiny["delta"]["psnr"] == pytest.approx(tiny["average"]["psnr"] - bic["average"]["psnr"], abs=1e-12)
    assert tiny["average"]["ms_per_frame"] > 0 and tiny["average"]["peak_memory_mb"] > 0
    assert abs(tiny["average"]["psnr"] - bic["average"]["psnr"]) > 0.01  # an untrained net is not bicubic


def test_bench_cli_single_model_json_shape(vid4_like, tmp_path: Path) -> None:
    root, _ = vid4_like
    out_json = tmp_path / "one.json"
    result = CliRunner().invoke(
        app, ["bench", "--dataset", str(root), "--model", "bicubic", "--baseline", "none", "--space", "rgb",
              "--crop-border", "4", "--max-frames", "2", "--json", str(out_json), "--quiet"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert data["model"] == "bicubic" and data["space"] == "rgb" and data["crop_border"] == 4
    assert data["baseline"] is None and data["delta"] is None and data["max_frames"] == 2
    assert {c["frames"] for c in data["clips"].values()} == {2}
    assert set(data["average"]) >= {"psnr", "ssim"}
    assert data["precision"] == "fp32"  # the protocol's default


def test_bench_cli_bf16_is_applied_and_recorded(vid4_like, tmp_path: Path) -> None:
    """The flag reaches the model (scores move) and the report says so; how close bf16 stays to fp32
    with trained weights is tested in test_shipped_weights.py (an untrained net says nothing about it)."""
    root, _ = vid4_like
    scores = {}
    for precision in ("fp32", "bf16"):
        out_json = tmp_path / f"{precision}.json"
        result = CliRunner().invoke(
            app, ["bench", "--dataset", str(root), "--model", "basicvsr-tiny", "--baseline", "none", "--device", "cpu",
                  "--precision", precision, "--json", str(out_json), "--quiet"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        data = json.loads(out_json.read_text())
        assert data["precision"] == precision
        scores[precision] = data["average"]["psnr"]
    assert "bf16 autocast" in result.output
    assert scores["bf16"] != scores["fp32"]


def test_bench_cli_errors(vid4_like, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = vid4_like
    cases = [
        (["bench", "--dataset", "vid4", "--data-root", str(tmp_path), "--model", "bicubic"], "Vid4/GT/<clip>"),
        (["bench", "--dataset", str(root), "--model", "nosuchnet"], "unknown model"),
        (["bench", "--dataset", str(root), "--model", "bicubic", "--space", "lab"], "--space"),
        (["bench", "--dataset", str(root), "--model", "bicubic", "--device", "cpu", "--precision", "fp16"], "CUDA"),
        (["bench", "--dataset", str(root), "--model", "basicvsr", "--weights", str(tmp_path / "x.pth")],
         "x.pth"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code != 0
        err = capsys.readouterr().err
        assert "error:" in err and message in err and "Traceback" not in err
