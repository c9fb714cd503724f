"""`seemup upscale --outscale / --size / --height`: the size arithmetic, the filter for each direction, anamorphic
input kept at its display aspect, even sizes for 4:2:0, no network run to shrink, and resume refusing a new size."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from seemup.cli import main
from seemup.errors import UserError
from seemup.imresize import imresize_uint8
from seemup.pipeline import UpscaleOptions, upscale_video
from seemup.pipeline.resize import SizeRequest, parse_size, plan_output_size
from seemup.video import ffmpeg_exe, probe, read_frames


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _plan(w: int, h: int, sar: Fraction = Fraction(1), even: bool = True, **request: object):
    return plan_output_size(SizeRequest(**request), (w, h), sar, even)


def test_size_arithmetic_and_filter_direction() -> None:
    half = _plan(160, 90, outscale=1.5)  # 240x135: 135 is odd, 4:2:0 needs even
    assert half.size == (240, 136) and half.filter == "area" and any("rounded to 240x136" in n for n in half.notes)
    assert _plan(160, 90, even=False, outscale=1.5).size == (240, 135)
    assert _plan(640, 360, height=1080).size == (1920, 1080)
    assert _plan(640, 480, size=(1920, 1080)).size == (1440, 1080)  # fitted in the box at 4:3, never stretched
    assert _plan(640, 360, size=(1920, 1080)).size == (1920, 1080)
    beyond = _plan(160, 90, outscale=6)
    assert beyond.size == (960, 540) and beyond.filter == "lanczos"
    same = _plan(160, 90, outscale=4)
    assert same.size == (640, 360) and same.filter == "" and same.stamp() == {}  # x4 as the network made it
    assert _plan(160, 90).size == (640, 360) and not _plan(160, 90).square_pixels
    wide = _plan(64, 36, Fraction(4, 3), outscale=2)  # anamorphic: 85.33x36 as displayed
    assert wide.size == (170, 72) and wide.square_pixels
    assert parse_size("1920x1080") == (1920, 1080)


@pytest.mark.parametrize(("request_", "words"), [
    ({"outscale": 1.0}, "more than 1"), ({"outscale": 0.5}, "more than 1"), ({"outscale": 20.0}, "at most 16"),
    ({"outscale": 2.0, "height": 720}, "give one"), ({"height": 1}, "at least 2"),
])
def test_bad_requests_are_one_line(request_: dict, words: str) -> None:
    with pytest.raises(UserError, match=words):
        SizeRequest(**request_).check()


def test_no_network_to_shrink() -> None:
    with pytest.raises(UserError, match="not larger than the input"):
        _plan(640, 360, height=360)
    with pytest.raises(UserError, match="not larger than the input"):
        _plan(640, 360, size=(320, 1000))
    with pytest.raises(UserError, match="WIDTHxHEIGHT"):
        parse_size("1920*1080")


def test_outscale_end_to_end_is_area_of_x4(clip: Path, tmp_path: Path) -> None:
    """bicubic x4, then area averaging to 2x: the frames are exactly that (within the PNG round trip)."""
    out = tmp_path / "frames"
    result = upscale_video(clip, out, UpscaleOptions(model="bicubic", outscale=2, device="cpu"))
    with read_frames(clip) as it:
        lr = list(it)
    with read_frames(out) as it:
        got = list(it)
    assert len(got) == 10 and got[0].shape == (72, 128, 3) and result.out_size == (128, 72)
    want = cv2.resize(imresize_uint8(lr[6], 4), (128, 72), interpolation=cv2.INTER_AREA)
    assert np.abs(got[6].astype(int) - want).max() <= 1
    assert any("area averaging" in n for n in result.notes)


def test_anamorphic_input_is_not_squeezed(clip: Path, tmp_path: Path) -> None:
    """Stored 64x36 with pixels 4:3 wide (85.33x36 shown): --height 144 gives square pixels at that aspect;
    plain x4 keeps the stored pixels and carries the SAR."""
    ana = tmp_path / "ana.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-vf", "setsar=4/3", "-c:v", "libx264",
                    "-qp", "0", "-c:a", "copy", str(ana)], check=True)
    src = probe(ana)
    assert src.sar == Fraction(4, 3)
    shown = src.width * src.sar / src.height
    out = tmp_path / "h144.mp4"
    result = upscale_video(ana, out, UpscaleOptions(model="bicubic", height=144, device="cpu"))
    got = probe(out)
    assert (got.width, got.height, got.sar) == (342, 144, 1) and got.num_frames == 10 and got.has_audio
    assert abs(got.width * got.sar / got.height - shown) / shown < 0.005
    assert any("rounded to 342x144" in n for n in result.notes)
    x4 = tmp_path / "x4.mp4"
    upscale_video(ana, x4, UpscaleOptions(model="bicubic", device="cpu"))
    kept = probe(x4)
    assert (kept.width, kept.height, kept.sar) == (256, 144, Fraction(4, 3))


def test_resume_refuses_another_size(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"

    def stop(k: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=4, outscale=2), on_chunk=stop)
    with pytest.raises(UserError, match="output_size"):
        upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=4, outscale=3, resume=True))


@pytest.mark.parametrize(("extra", "words"), [
    (["--outscale", "2", "--height", "720"], "give one"), (["--size", "big"], "WIDTHxHEIGHT"),
    (["--height", "30"], "not larger than the input"),
])
def test_cli_size_errors(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                         words: str) -> None:
    with pytest.raises(SystemExit) as done:
        main(["upscale", str(clip), str(tmp_path / "o.mp4"), "-m", "bicubic", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code != 0 and len(err) == 1 and err[0].startswith("error: ") and words in err[0]
    assert not (tmp_path / "o.mp4").exists()
