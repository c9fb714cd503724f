"""`seemup upscale --start/--duration/--frames`: times parsed as ffmpeg does, the frames picked, a preview's
frames equal to the same frames of a whole-file run (bit for bit), and audio cut to the same span."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from footage import decoded_frames

from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions, upscale_video
from seemup.pipeline.span import SpanRequest, parse_frames, parse_time, resolve_span
from seemup.video import ffmpeg_exe, probe


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_times_as_ffmpeg_writes_them() -> None:
    assert parse_time("12.5", "--start") == Fraction(25, 2)
    assert parse_time("1:02.5", "--start") == Fraction(125, 2)
    assert parse_time("01:00:01.250", "--start") == Fraction(14405, 4)
    for bad in ("abc", "1:75", "1:60:00", "-3", ""):
        with pytest.raises(UserError, match="is not a time"):
            parse_time(bad, "--start")
    assert parse_frames("3:9") == (3, 9) and parse_frames("5:") == (5, None) and parse_frames(":4") == (0, 4)
    with pytest.raises(UserError, match="A:B"):
        parse_frames("7")


def test_frames_picked_by_time_and_number(clip: Path) -> None:
    info = probe(clip)  # frame k at k * 1001/30000 s
    by_time = resolve_span(SpanRequest(start=Fraction(1, 10), duration=Fraction(1, 10)), info)
    assert (by_time.first, by_time.end) == (3, 6)  # 0.1001, 0.1335, 0.1668 s; 0.2002 is past 0.2
    assert (resolve_span(SpanRequest(frames=(5, None)), info).first, info.num_frames) == (5, 10)
    assert resolve_span(SpanRequest(frames=(8, 50)), info).end == 10  # runs past the end: stops there
    assert resolve_span(SpanRequest(), info).whole
    for bad in (SpanRequest(start=Fraction(5)), SpanRequest(frames=(12, 14)),
                SpanRequest(start=Fraction(11, 100), duration=Fraction(1, 100))):
        with pytest.raises(UserError):
            resolve_span(bad, info)
    with pytest.raises(UserError, match="one or the other"):
        SpanRequest(start=Fraction(1), frames=(0, 2)).check()


def test_preview_frames_equal_the_whole_runs(clip: Path, tmp_path: Path) -> None:
    """A recurrent model with chunk 4 / overlap 2: frames 3..8 cross three chunks, each still computed with the
    context a whole run gives it, so the PNGs are identical; named from 0 as a video of their own."""
    small = tmp_path / "small.mp4"  # a 32x24 crop, lossless: the network's cost is a quarter of 64x36's
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf", "crop=32:24:8:4", "-c:v", "libx264",
                    "-qp", "0", str(small)], check=True)
    opts = dict(model="basicvsr-tiny", chunk=4, overlap=2, device="cpu")
    whole = tmp_path / "whole"
    upscale_video(small, whole, UpscaleOptions(**opts))
    part = tmp_path / "part"
    result = upscale_video(small, part, UpscaleOptions(**opts, frames=(3, 9)))
    assert sorted(p.name for p in part.iterdir()) == [f"{i:08d}.png" for i in range(6)]
    full, preview = decoded_frames(whole), decoded_frames(part)
    assert all(np.array_equal(a, b) for a, b in zip(full[3:9], preview, strict=True))
    assert not np.array_equal(full[2], preview[0])  # the comparison can fail
    assert result.frames == 6 and any("preview: frames 3..8 of 10" in n for n in result.notes)


def test_preview_video_has_its_own_time_and_cut_audio(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview.mp4"
    upscale_video(clip, out, UpscaleOptions(model="bicubic", device="cpu", start=Fraction(1, 10),
                                            duration=Fraction(2, 10)))
    got = probe(out)
    assert got.num_frames == 6 and got.has_audio and got.pts[0] == 0
    import av

    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base)
    video = 6 * 1001 / 30000
    assert abs(seconds - video) < 0.07, seconds  # cut to the span, to within one AAC packet (64 ms at 16 kHz)


def test_preview_subtitles_cut_and_shifted(clip: Path, tmp_path: Path) -> None:
    """Subtitles that start before the span are dropped, the later ones move with the picture."""
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,150\none\n\n2\n00:00:00,150 --> 00:00:00,250\ntwo\n\n"
                   "3\n00:00:00,260 --> 00:00:00,330\nthree\n", encoding="utf-8")
    src = tmp_path / "subs.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-i", str(srt), "-map", "0:v", "-map", "0:a",
                    "-map", "1", "-c", "copy", "-c:s", "srt", str(src)], check=True)
    out = tmp_path / "preview.mkv"
    upscale_video(src, out, UpscaleOptions(model="bicubic", device="cpu", start=Fraction(2, 10)))  # from 0.2002 s
    import av

    with av.open(str(out)) as container:
        events = [(p.pts, p.duration) for p in container.demux(container.streams.subtitles[0]) if p.pts is not None]
    assert events == [(60, 70)]  # "three": 0.26 - 0.2002 s, in Matroska's milliseconds


@pytest.mark.slow
def test_window_model_preview_equals_whole_run(clip: Path, tmp_path: Path) -> None:
    """EDVR (5-frame windows, reflection-circle padded at the clip's ends): the preview's first frame is the
    clip's first, whose window reaches past the span, and its frames still equal the whole run's."""
    from seemup.models import create_model

    torch.manual_seed(0)
    config = {"num_feat": 8, "num_extract_block": 1, "num_reconstruct_block": 1}
    weights = tmp_path / "edvr.pth"
    torch.save({"params": create_model("edvr-m", **config).state_dict(),
                "meta": {"model": "edvr-m", "model_config": config}}, weights)
    opts = dict(model="edvr-m", weights=weights, chunk=3, device="cpu")
    whole, part = tmp_path / "whole", tmp_path / "part"
    upscale_video(clip, whole, UpscaleOptions(**opts))
    upscale_video(clip, part, UpscaleOptions(**opts, frames=(0, 4)))
    full, preview = decoded_frames(whole), decoded_frames(part)
    assert len(preview) == 4 and all(np.array_equal(a, b) for a, b in zip(full[:4], preview, strict=True))
