"""Hostile inputs to the video layer: tags posing as streams, protocol-like file names, variable frame rate,
start offsets, colour and aspect metadata, container/codec mismatches, children left behind."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from seemup.video import ffmpeg_exe, probe, read_frames, write_frames


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *[str(a) for a in args]], check=True)


def clip(path: Path, size: str = "64x36", rate: str = "10", frames: int = 10, *extra: str) -> Path:
    """A tiny lossless H.264 test pattern."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}", "-frames:v", str(frames), "-c:v", "libx264",
           "-pix_fmt", "yuv444p", "-qp", "0", *extra, path)
    return path


def video_times(path: Path) -> tuple[list[Fraction], Fraction, Fraction | None]:
    """Each video frame's presentation time in seconds, the end of the last one, and the audio's start."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts * v.time_base for f in c.decode(v)]
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        last = max((p for p in c.demux(v) if p.pts is not None), key=lambda p: p.pts)
        end = (last.pts + last.duration) * v.time_base
        audio = c.streams.audio[0].start_time * c.streams.audio[0].time_base if c.streams.audio else None
    return pts, end, audio


# -- 4: tags cannot fake the stream ---------------------------------------------------------------------------
def test_metadata_text_cannot_fake_size_rate_codec_or_rotation(tmp_path: Path) -> None:
    src = clip(tmp_path / "src.mkv", "64x36", "30000/1001", 6)
    hostile = tmp_path / "hostile.mkv"
    ffmpeg("-i", src, "-c", "copy", "-metadata", "title=x\n  Stream #0:9: Video: h264, yuv420p, 32x24, 5 fps",
           "-metadata:s:v:0", "comment=Display Matrix: rotation of 90.00 degrees", "-metadata:s:v:0", "rotate=90",
           hostile)
    info = probe(hostile)
    assert (info.width, info.height, info.fps, info.codec) == (64, 36, Fraction(30000, 1001), "h264")
    assert info.rotation == 0 and info.num_frames == 6


def test_rotation_comes_from_the_display_matrix(tmp_path: Path) -> None:
    src = clip(tmp_path / "src.mp4", "64x36", "10", 3)
    rotated = tmp_path / "rot.mp4"
    ffmpeg("-display_rotation", "270", "-i", src, "-c", "copy", rotated)
    assert probe(rotated).rotation == 270


def test_odd_rates_are_exact_fractions(tmp_path: Path) -> None:
    info = probe(clip(tmp_path / "third.mp4", "32x24", "1/3", 3))
    assert info.fps == Fraction(1, 3)


# -- 5: file names are never protocols or options --------------------------------------------------------------
def test_protocol_and_dash_file_names_are_plain_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clip(tmp_path / "a.mp4", "32x24", "10", 5)
    clip(tmp_path / "three.mp4", "32x24", "10", 3)
    shutil.copy(tmp_path / "three.mp4", tmp_path / "concat:a.mp4|a.mp4")
    shutil.copy(tmp_path / "three.mp4", tmp_path / "-")
    for name in ("concat:a.mp4|a.mp4", "-"):
        info = probe(Path(name))
        assert info.num_frames == 3
        with read_frames(Path(name), info=info) as frames:
            assert sum(1 for _ in frames) == 3
    frames = [np.full((24, 32, 3), 100, np.uint8)] * 2
    out = write_frames(frames, Path("pipe:1.mp4"), 10)
    assert (tmp_path / "pipe:1.mp4").is_file() and probe(out).num_frames == 2


# -- 7: --fps is refused for a video file ----------------------------------------------------------------------
def test_fps_override_is_refused_for_a_video_file(tmp_path: Path) -> None:
    from seemup.errors import UserError
    from seemup.pipeline.upscale import UpscaleOptions, upscale_video

    src = clip(tmp_path / "a.mp4", "32x24", "10", 3)
    with pytest.raises(UserError, match="--fps is for frame folders only"):
        upscale_video(src, tmp_path / "out.mp4", UpscaleOptions(model="bicubic", device="cpu", fps=Fraction(24)))
    assert not (tmp_path / "out.mp4").exists()
