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


# -- 6: frame times, start offsets and odd rates survive ----------------------------------------------------
def upscale(src: Path, out: Path, **kw: object) -> Path:
    from seemup.pipeline.upscale import UpscaleOptions, upscale_video

    upscale_video(src, out, UpscaleOptions(model="bicubic", device="cpu", **kw))
    return out


def assert_same_times(src: Path, out: Path) -> None:
    (a, a_end, a_audio), (b, b_end, b_audio) = video_times(src), video_times(out)
    with av.open(str(src)) as c:
        tick = c.streams.video[0].time_base
    assert len(a) == len(b)
    assert all(abs(x - y) <= tick for x, y in zip(a, b, strict=True)), [(float(x), float(y)) for x, y in zip(a, b,
                                                                                                             strict=True)]
    assert abs(a_end - b_end) <= tick
    if a_audio is not None:
        assert abs((a[0] - a_audio) - (b[0] - b_audio)) <= tick


def test_variable_frame_rate_keeps_every_frame_time(tmp_path: Path) -> None:
    src = clip(tmp_path / "vfr.mp4", "32x24", "10", 20, "-vf", "setpts='if(gte(N,10),PTS+20,PTS)'",
               "-fps_mode", "passthrough")
    assert float(video_times(src)[0][10]) == 3.0
    assert_same_times(src, upscale(src, tmp_path / "up.mp4", chunk=4))


def test_video_starting_after_its_audio_stays_in_sync(tmp_path: Path) -> None:
    src = tmp_path / "late.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-f", "lavfi", "-i", "sine=sample_rate=16000", "-t", "2",
           "-vf", "setpts=PTS+0.5/TB", "-c:v", "libx264", "-c:a", "aac", src)
    pts, _, audio = video_times(src)
    assert abs(pts[0] - audio - Fraction(1, 2)) < Fraction(1, 100)
    for name in ("up.mp4", "up.mkv"):
        assert_same_times(src, upscale(src, tmp_path / name, chunk=7))


def test_a_third_of_a_frame_per_second_is_exact(tmp_path: Path) -> None:
    src = clip(tmp_path / "third.mp4", "32x24", "1/3", 3)
    out = upscale(src, tmp_path / "up.mp4", chunk=2)
    assert probe(out).fps == Fraction(1, 3)
    assert video_times(out)[1] == 9
    assert_same_times(src, out)


def _white_and_sound_onsets(path: Path) -> tuple[float, float]:
    """When the picture turns white and when the tone starts, on the one timeline ffmpeg decodes both to."""
    import re

    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-filter_complex",
                          "[0:v]blackdetect=d=0.01:pix_th=0.5[v];[0:a]silencedetect=d=0.05:n=-30dB[a]",
                          "-map", "[v]", "-map", "[a]", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"black_end:([\d.]+)", err)[0]), float(re.findall(r"silence_end: ([\d.]+)", err)[0])


def test_picture_and_sound_events_stay_together(tmp_path: Path) -> None:
    """The picture turns white at 1.5 s and a tone starts at 1.0 s: the same 0.5 s apart after upscaling."""
    src = tmp_path / "events.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=black:s=32x24:r=25,geq=lum='if(gte(T,1),235,16)':cb=128:cr=128",
           "-f", "lavfi", "-i", "aevalsrc='if(gte(t,1),sin(2*PI*440*t),0)':s=16000:d=2", "-t", "2",
           "-vf", "setpts=PTS+0.5/TB", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", src)
    v0, a0 = _white_and_sound_onsets(src)
    v1, a1 = _white_and_sound_onsets(upscale(src, tmp_path / "up.mp4", chunk=20))
    assert abs((v1 - a1) - (v0 - a0)) < 0.005


# -- 8: colour, pixel shape, depth, interlacing, languages and attachments are kept ------------------------------
FLAT = (27, 186, 58)


def flat_clip(path: Path, matrix: str) -> Path:
    """A flat RGB colour stored as 4:2:0 with ``matrix`` (accurately rounded), tagged when it is BT.709."""
    tags = ",setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709" if matrix == "bt709" else ""
    ffmpeg("-f", "lavfi", "-i", "color=c=0x1bba3a:s=32x24:r=10,format=rgb24", "-frames:v", "3", "-vf",
           f"scale=out_color_matrix={matrix}:out_range=tv:flags=accurate_rnd+full_chroma_int,format=yuv420p{tags}",
           "-c:v", "libx264", "-qp", "0", path)
    return path


@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
def test_flat_colour_round_trips_within_one_level(tmp_path: Path, matrix: str) -> None:
    src = flat_clip(tmp_path / "flat.mp4", matrix)
    with read_frames(src) as frames:
        assert np.abs(next(iter(frames)).astype(int) - FLAT).max() <= 1
    out = upscale(src, tmp_path / "up.mp4")
    with read_frames(out) as frames:
        assert np.abs(next(iter(frames))[8:-8, 8:-8].astype(int) - FLAT).max() <= 1
    if matrix == "bt709":
        got = probe(out)
        assert (got.colorspace, got.color_primaries, got.color_trc, got.color_range) == ("bt709",) * 3 + ("tv",)


def test_anamorphic_pixels_keep_their_shape(tmp_path: Path) -> None:
    src = clip(tmp_path / "ana.mp4", "32x24", "10", 3, "-vf", "setsar=4/3")
    assert probe(src).sar == Fraction(4, 3)
    assert probe(upscale(src, tmp_path / "up.mp4")).sar == Fraction(4, 3)


def test_ten_bit_input_is_encoded_at_ten_bits_or_noted(tmp_path: Path) -> None:
    from seemup.pipeline.upscale import UpscaleOptions, upscale_video

    src = tmp_path / "deep.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-frames:v", "3", "-c:v", "libx264", "-pix_fmt",
           "yuv420p10le", src)
    assert probe(src).bit_depth == 10
    assert probe(upscale(src, tmp_path / "up.mkv")).bit_depth == 10
    result = upscale_video(src, tmp_path / "up4.mkv", UpscaleOptions(model="bicubic", device="cpu", codec="mpeg4"))
    assert any("10-bit input encoded at 8 bits" in n for n in result.notes)


def test_interlaced_input_is_noted(tmp_path: Path) -> None:
    from seemup.pipeline.upscale import UpscaleOptions, upscale_video

    src = tmp_path / "int.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-frames:v", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-flags", "+ilme+ildct", "-field_order", "tt", src)
    assert probe(src).interlaced
    result = upscale_video(src, tmp_path / "up.mkv", UpscaleOptions(model="bicubic", device="cpu"))
    assert any("interlaced" in n and "bwdif" in n for n in result.notes)


def test_languages_and_attachments_follow_into_mkv(tmp_path: Path) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nhello\n", encoding="utf-8")
    font = tmp_path / "font.ttf"
    font.write_bytes(b"\x00\x01\x00\x00not really a font")
    src = tmp_path / "src.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-f", "lavfi", "-i", "sine=sample_rate=16000", "-i", srt,
           "-attach", font, "-metadata:s:t", "mimetype=application/x-truetype-font", "-map", "0:v", "-map", "1:a",
           "-map", "2:s", "-frames:v", "4", "-t", "0.4", "-c:v", "libx264", "-c:a", "aac", "-c:s", "srt",
           "-metadata:s:v:0", "language=fra", "-metadata:s:a:0", "language=deu", "-metadata:s:s:0", "language=eng",
           src)
    out = upscale(src, tmp_path / "up.mkv")
    with av.open(str(out)) as c:
        langs = [(s.type, s.metadata.get("language")) for s in c.streams if s.type != "attachment"]
        assert langs == [("video", "fra"), ("audio", "deu"), ("subtitle", "eng")]
        assert len(c.streams.attachments) == 1


# -- 9: container/codec mismatches are converted or refused before the first frame -----------------------------
def av_source(path: Path, audio: str = "aac", subs: str | None = None) -> Path:
    args: list[str | Path] = ["-f", "lavfi", "-i", "testsrc2=s=32x24:r=10", "-f", "lavfi", "-i",
                              "sine=sample_rate=48000"]
    if subs:
        srt = path.with_suffix(".srt")
        srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nhello\n", encoding="utf-8")
        args += ["-i", srt, "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:s", subs]
    ffmpeg(*args, "-frames:v", "4", "-t", "0.4", "-c:v", "libx264", "-c:a", audio, path)
    return path


@pytest.mark.parametrize(("src_name", "audio", "subs", "out_name"), [
    ("movtext.mp4", "aac", "mov_text", "up.mkv"),
    ("opus.mkv", "libopus", None, "up.mov"),
    ("flac.mkv", "flac", None, "up.mov"),
    ("opus2.mkv", "libopus", None, "up.avi"),
])
def test_streams_the_container_cannot_take_are_converted(tmp_path: Path, src_name: str, audio: str,
                                                         subs: str | None, out_name: str) -> None:
    src = av_source(tmp_path / src_name, audio, subs)
    got = probe(upscale(src, tmp_path / out_name))
    assert got.has_audio and got.num_frames == 4
    assert got.has_subtitles == bool(subs)


@pytest.mark.parametrize(("codec", "out_name"), [("libx264", "up.webm"), ("gif", "up.mp4"), ("libvpx", "up.mp4"),
                                                 ("rawvideo", "up.mp4")])
def test_codec_the_container_cannot_take_is_refused_before_any_frame(tmp_path: Path, codec: str,
                                                                     out_name: str) -> None:
    from seemup.pipeline.upscale import UpscaleOptions, upscale_video
    from seemup.video import VideoError

    src = av_source(tmp_path / "src.mp4")
    chunks: list[int] = []
    with pytest.raises(VideoError, match=rf"--codec {codec} cannot be stored in \.(webm|mp4) \(.+\)"):
        upscale_video(src, tmp_path / out_name, UpscaleOptions(model="bicubic", device="cpu", codec=codec),
                      on_chunk=chunks.append)
    assert chunks == [] and not (tmp_path / out_name).exists()


# -- 15: no ffmpeg is left behind ---------------------------------------------------------------------------
_READ_FIFO = """
import sys, threading, time
from pathlib import Path
from seemup.video.probe import VideoInfo
from seemup.video.reader import FrameReader
fifo = Path(sys.argv[1])
reader = FrameReader(fifo, info=VideoInfo(path=fifo, width=32, height=24, fps=10, num_frames=3))
frames = iter(reader)
def report():
    while reader._proc is None:
        time.sleep(0.01)
    print(reader._proc.pid, flush=True)
if sys.argv[2] == "thread":  # the pipeline reads on a prefetch thread
    threading.Thread(target=lambda: next(frames), daemon=True).start()
    report()
    time.sleep(120)
else:
    threading.Thread(target=report, daemon=True).start()
    next(frames)
"""


def _gone(pid: int, seconds: float = 10.0) -> bool:
    import os
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in "ZX":
            return True
        time.sleep(0.05)
    os.kill(pid, 9)  # do not leave it behind ourselves
    return False


@pytest.mark.parametrize(("where", "sig"), [("thread", "SIGTERM"), ("main", "SIGINT"), ("main", "SIGKILL")])
def test_fifo_reader_leaves_no_ffmpeg_behind(tmp_path: Path, where: str, sig: str) -> None:
    import os
    import signal
    import sys

    fifo = tmp_path / "in.mp4"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-c", _READ_FIFO, str(fifo), where], stdout=subprocess.PIPE, text=True)
    try:
        child = int(proc.stdout.readline())
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _gone(child)


def test_fifo_is_refused_by_probe(tmp_path: Path) -> None:
    import os
    import sys

    from seemup.video import VideoError

    fifo = tmp_path / "in.mp4"
    os.mkfifo(fifo)
    code = f"from seemup.video import probe\nprobe({str(fifo)!r})"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("probe hung on a FIFO")
    assert "not a regular file" in out.stderr
    with pytest.raises(VideoError, match="not a regular file"):
        probe(fifo)


# -- 16: AVI output keeps the picture with the sound ----------------------------------------------------------
@pytest.mark.parametrize(("audio", "container"), [("pcm_s16le", "mkv"), ("aac", "mp4")])
def test_avi_output_keeps_picture_and_sound_together(tmp_path: Path, audio: str, container: str) -> None:
    """AVI stores no presentation times: B-frames used to put the picture 0.08 s behind the sound."""
    src = tmp_path / f"events.{container}"
    ffmpeg("-f", "lavfi", "-i", "color=black:s=32x24:r=25,geq=lum='if(gte(T,1),235,16)':cb=128:cr=128",
           "-f", "lavfi", "-i", "aevalsrc='if(gte(t,1),sin(2*PI*440*t),0)':s=16000:d=2", "-t", "2",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", audio, src)
    v0, a0 = _white_and_sound_onsets(src)
    v1, a1 = _white_and_sound_onsets(upscale(src, tmp_path / "up.avi", chunk=20))
    assert abs((v1 - a1) - (v0 - a0)) < 0.01
