"""Video I/O: probing, streaming reads, atomic writes, audio/rotation carried over, segment joining."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from damaged import damaged_h264

from seemup.errors import UserError
from seemup.video import (
    FrameWriter,
    VideoError,
    ffmpeg_exe,
    join_segments,
    list_frame_files,
    probe,
    read_frames,
    write_frames,
)
from seemup.video.probe import _first_decoder_error


def make_clip(path: Path, size: str = "64x36", rate: str = "30000/1001", frames: int = 10, audio: bool = False,
              extra: tuple[str, ...] = ()) -> Path:
    """A synthetic H.264 clip (moving test pattern), optionally with a sine audio track."""
    args = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-c:a", "aac", "-shortest"]
    args += ["-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", *extra, str(path)]
    subprocess.run(args, check=True)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("v") / "clip.mp4", audio=True)


def test_probe_exact_rate_count_audio(clip: Path) -> None:
    info = probe(clip)
    assert (info.width, info.height) == (64, 36)
    assert info.fps == Fraction(30000, 1001)
    assert info.num_frames == 10
    assert info.has_audio and not info.has_subtitles and info.rotation == 0 and info.codec == "h264"


def test_read_frames_streams_all_frames(clip: Path) -> None:
    with read_frames(clip) as frames:
        got = list(frames)
    assert len(got) == 10 and got[0].shape == (36, 64, 3) and got[0].dtype == np.uint8
    assert not np.array_equal(got[0], got[5])  # the pattern moves
    with read_frames(clip, start=7) as frames:
        tail = list(frames)
    assert len(tail) == 3 and np.array_equal(tail[0], got[7])


def test_reader_stops_ffmpeg_on_early_exit(clip: Path) -> None:
    reader = read_frames(clip)
    with reader:
        next(iter(reader))
        proc = reader._proc
    assert reader._proc is None and proc is not None and proc.poll() is not None


def test_corrupt_stream_raises(tmp_path: Path) -> None:
    good = make_clip(tmp_path / "good.mp4", frames=50, extra=("-g", "10"))
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4000] = bytes(b ^ 0x5A for b in data[mid:mid + 4000])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with pytest.raises(VideoError, match="corrupt|failed"):
        with read_frames(bad) as frames:
            for _ in frames:
                pass


@pytest.mark.parametrize("content", [b"", b"hello, not a video\n" * 50])
def test_not_a_video(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "x.mp4"
    p.write_bytes(content)
    with pytest.raises(UserError, match="not a readable video"):
        probe(p)
    with pytest.raises(UserError, match="not found"):
        probe(tmp_path / "missing.mp4")


def test_frame_folder_natural_order(tmp_path: Path) -> None:
    frames = [np.full((6, 8, 3), 20 * i, np.uint8) for i in range(11)]
    d = tmp_path / "frames"
    d.mkdir()
    import cv2

    for i, f in enumerate(frames):
        cv2.imwrite(str(d / f"f{i}.png"), f)
    assert [p.name for p in list_frame_files(d)][:3] == ["f0.png", "f1.png", "f2.png"]
    info = probe(d, fps=24)
    assert info.is_frame_dir and info.num_frames == 11 and info.fps == 24 and (info.width, info.height) == (8, 6)
    with read_frames(d) as it:
        got = list(it)
    assert [int(g[0, 0, 0]) for g in got] == [20 * i for i in range(11)]


def test_writer_keeps_audio_rate_and_rotation(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "rot_src.mp4", audio=True)
    rotated = tmp_path / "rot.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i", str(src), "-c", "copy",
                    str(rotated)], check=True)
    info = probe(rotated)
    assert info.rotation == 90 and info.display_size == (36, 64)
    with read_frames(rotated) as it:
        assert next(iter(it)).shape == (64, 36, 3)  # autorotated by default
    with read_frames(rotated, autorotate=False) as it:
        frames = [np.repeat(np.repeat(f, 2, 0), 2, 1) for f in it]
    out = tmp_path / "out.mp4"
    with FrameWriter(out, 128, 72, info.fps, source=info, rotation=info.rotation) as w:
        for f in frames:
            w.write(f)
    got = probe(out)
    assert (got.width, got.height, got.num_frames, got.fps) == (128, 72, 10, info.fps)
    assert got.has_audio and got.rotation == 90
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_odd_size_is_padded_and_reported(tmp_path: Path) -> None:
    frames = [np.random.default_rng(i).integers(0, 255, (35, 63, 3), dtype=np.uint8) for i in range(3)]
    out = tmp_path / "odd.mp4"
    with FrameWriter(out, 63, 35, 25) as w:
        for f in frames:
            w.write(f)
    assert w.padded == (64, 36) and any("padded" in n for n in w.notes)
    assert probe(out).num_frames == 3


def test_png_folder_output_and_no_overwrite(tmp_path: Path) -> None:
    frames = [np.full((4, 6, 3), i * 30, np.uint8) for i in range(4)]
    out = tmp_path / "pngs"
    write_frames(frames, out, 25)
    assert [p.name for p in sorted(out.iterdir())] == [f"{i:08d}.png" for i in range(4)]
    with read_frames(out) as it:
        assert [int(f[0, 0, 0]) for f in it] == [0, 30, 60, 90]
    with pytest.raises(UserError, match="exists"):
        write_frames(frames, out, 25)
    write_frames(frames[:2], out, 25, force=True)
    assert len(list(out.iterdir())) == 2
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="refusing"):
        write_frames(frames, out, 25, force=True)


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(KeyboardInterrupt):
        with FrameWriter(out, 16, 16, 25) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_join_segments_exact_timing(tmp_path: Path, clip: Path) -> None:
    info = probe(clip)
    with read_frames(clip) as it:
        frames = list(it)
    segs = []
    for k in range(3):
        segs.append(write_frames(frames[k * 4:(k + 1) * 4], tmp_path / f"s{k}.mp4", info.fps))
    out = tmp_path / "joined.mp4"
    join_segments(segs, out, info.fps, source=info)
    got = probe(out)
    assert got.num_frames == 10 and got.fps == Fraction(30000, 1001) and got.has_audio
    with read_frames(out) as it:
        back = list(it)
    pieces = []
    for s in segs:
        with read_frames(s) as it:
            pieces += list(it)
    assert len(back) == 10
    assert all(np.array_equal(a, b) for a, b in zip(pieces, back, strict=True))  # stream copy: bit-exact


def test_subtitles_follow_into_mp4_and_mkv(tmp_path: Path) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nhello\n", encoding="utf-8")
    src = tmp_path / "src.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=32x16:r=10", "-i", str(srt),
                    "-frames:v", "4", "-c:v", "libx264", "-c:s", "srt", str(src)], check=True)
    info = probe(src)
    assert info.has_subtitles and info.subtitle_codecs == ("subrip",)
    with read_frames(src) as it:
        frames = list(it)
    for name in ("out.mp4", "out.mkv"):
        write_frames(frames, tmp_path / name, info.fps, source=info)
        got = probe(tmp_path / name)
        assert got.has_subtitles and got.num_frames == 4


def test_damaged_stream_is_refused_up_front_or_skipped_on_request(tmp_path: Path) -> None:
    bad = damaged_h264(tmp_path)
    with pytest.raises(VideoError, match=r"1 of 20 frames cannot be decoded \(h264: .*IDR.*\).*--skip-damaged"):
        probe(bad)
    info = probe(bad, skip_damaged=True)
    assert (info.num_frames, info.undecodable) == (19, 1)
    with read_frames(bad, info=info) as frames:
        assert sum(1 for _ in frames) == 19


def test_decoder_error_survives_an_interleaved_log_line() -> None:
    """ffmpeg logs from several threads: a decoder's message can land inside another thread's half-written line
    and lose its prefix (seen about once in 100 runs); ffmpeg's own error line for the same packet still marks
    the stream as damaged, and an intact decoder line is preferred for the message."""
    interleaved = ("[info]     encoder         : Lavf63.1.102Invalid inter IDR frame\n"
                   "[vist#0:0/h264 @ 0x5580] [dec:h264 @ 0x5580] [error] Error submitting packet to decoder: "
                   "Invalid data found when processing input\n")
    assert _first_decoder_error(interleaved) == ("Error submitting packet to decoder: Invalid data found when "
                                                 "processing input")
    intact = "[h264 @ 0x55ca] [error] Invalid inter IDR frame\n" + interleaved.split("\n", 1)[1]
    assert _first_decoder_error(intact) == "h264: Invalid inter IDR frame"
    assert _first_decoder_error("[info] Output #0, null, to 'pipe:':\n") == ""


def test_cut_file_preroll_is_not_damage(tmp_path: Path) -> None:
    """A file cut without re-encoding stores the frames back to the previous keyframe and hides them by an edit
    list: the decoder yields fewer frames than the container holds, and that is no error."""
    src = make_clip(tmp_path / "s.mp4", frames=30, extra=("-g", "10", "-bf", "2"))
    cut = tmp_path / "cut.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", "0.35", "-i", str(src), "-c", "copy", str(cut)],
                   check=True)
    stored = subprocess.run([ffmpeg_exe(), "-i", str(cut), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                            capture_output=True, text=True).stderr
    info = probe(cut)
    assert info.undecodable == 0 and info.num_frames < int(stored.rsplit("frame=", 1)[1].split()[0])
    with read_frames(cut) as frames:
        assert sum(1 for _ in frames) == info.num_frames
