"""End-to-end `seemup upscale` on short real and synthetic clips (fast models: bicubic, basicvsr-tiny)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from damaged import damaged_h264
from footage import decoded_frames

from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions, partial_dir_for, upscale_video
from seemup.video import ffmpeg_exe, probe


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def test_video_out_is_4x_same_frames_fps_and_audio(clip: Path, tmp_path: Path) -> None:
    info = probe(clip)
    assert info.has_audio and info.num_frames == 10
    out = tmp_path / "up.mp4"
    result = upscale_video(clip, out, UpscaleOptions(model="basicvsr-tiny", chunk=4, overlap=2, device="cpu"))
    got = probe(out)
    assert (got.width, got.height) == (256, 144)
    assert got.num_frames == 10 and got.fps == info.fps == Fraction(30000, 1001)
    assert got.has_audio
    assert result.frames == 10 and result.out_size == (256, 144) and "basicvsr-tiny" in result.summary()
    assert [p.name for p in tmp_path.iterdir()] == ["up.mp4"]  # no temporaries or partial state left


def test_png_folder_output_matches_bicubic(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=3, device="cpu"))
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:08d}.png" for i in range(10)]
    from seemup.imresize import imresize_uint8

    lr = decoded_frames(clip)
    sr = decoded_frames(out)
    assert sr[7].shape == (144, 256, 3)
    assert np.abs(sr[7].astype(int) - imresize_uint8(lr[7], 4)).max() <= 1  # frame 7 is frame 7: order kept


def test_frame_folder_input(tmp_path: Path, clip: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    import cv2

    for i, f in enumerate(decoded_frames(clip)[:5]):
        cv2.imwrite(str(src / f"img{i + 1}.png"), f[:, :, ::-1])
    out = tmp_path / "out.mkv"
    upscale_video(src, out, UpscaleOptions(model="bicubic", fps=Fraction(24)))
    got = probe(out)
    assert got.num_frames == 5 and got.fps == 24 and (got.width, got.height) == (256, 144)


def test_window_model_edvr(clip: Path, tmp_path: Path) -> None:
    """EDVR (window kind, 5 frames): 62x34 is no multiple of 4, so the input is padded and the output cropped."""
    from seemup.models import create_model

    torch.manual_seed(0)
    small_config = {"num_feat": 8, "num_extract_block": 1, "num_reconstruct_block": 1}
    weights = tmp_path / "edvr.pth"
    torch.save({"params": create_model("edvr-m", **small_config).state_dict(),
                "meta": {"model": "edvr-m", "model_config": small_config}}, weights)
    small = tmp_path / "small.mp4"
    _ffmpeg("-i", str(clip), "-vf", "crop=62:34:0:0", "-frames:v", "6", "-c:v", "libx264", "-qp", "0", str(small))
    out = tmp_path / "edvr.mp4"
    result = upscale_video(small, out, UpscaleOptions(model="edvr-m", weights=weights, chunk=4))
    got = probe(out)
    assert (got.width, got.height, got.num_frames) == (248, 136, 6)
    assert any("padded" in n for n in result.notes) and result.overlap == 4


def test_interrupt_then_resume_gives_same_output(clip: Path, tmp_path: Path) -> None:
    opts = dict(model="basicvsr-tiny", chunk=3, overlap=2, device="cpu")
    small = tmp_path / "small.mp4"
    _ffmpeg("-i", str(clip), "-vf", "crop=32:24:8:4", "-c:v", "libx264", "-qp", "0", "-c:a", "copy", str(small))
    clip = small
    reference = tmp_path / "ref.mp4"
    upscale_video(clip, reference, UpscaleOptions(**opts))

    out = tmp_path / "out.mp4"

    def stop_after_chunk_1(k: int) -> None:
        if k == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, UpscaleOptions(**opts), on_chunk=stop_after_chunk_1)
    assert not out.exists()  # no partial output file
    partial = partial_dir_for(out)
    assert (partial / "state.json").is_file() and len(list(partial.glob("seg_*.mp4"))) == 2

    with pytest.raises(UserError, match="--resume"):
        upscale_video(clip, out, UpscaleOptions(**opts))  # never silently discards the interrupted work
    with pytest.raises(UserError, match="other settings"):
        upscale_video(clip, out, UpscaleOptions(**{**opts, "overlap": 1}, resume=True))

    result = upscale_video(clip, out, UpscaleOptions(**opts, resume=True))
    assert result.resumed_from == 6 and result.computed_frames == 4
    assert not partial.exists()
    ref, got = decoded_frames(reference), decoded_frames(out)
    assert len(got) == 10 and all(np.array_equal(a, b) for a, b in zip(ref, got, strict=True))


def test_crash_leaves_no_output_and_force_restarts(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames_out"

    def boom(k: int) -> None:
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=4), on_chunk=boom)
    assert not out.exists()
    upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=4, force=True))
    assert len(list(out.iterdir())) == 10 and not partial_dir_for(out).exists()


def test_existing_output_needs_force(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(UserError, match="exists"):
        upscale_video(clip, out, UpscaleOptions(model="bicubic"))
    assert out.read_bytes() == b"precious"
    upscale_video(clip, out, UpscaleOptions(model="bicubic", force=True))
    assert probe(out).num_frames == 10


@pytest.mark.parametrize("opts,match", [
    (dict(chunk=0), "--chunk"), (dict(overlap=-1), "--overlap"), (dict(tile=5), "--tile"),
    (dict(model="nope"), "unknown model"), (dict(codec="nocodec"), "codec"), (dict(preset="warp"), "preset"),
    (dict(device="tpu"), "device"), (dict(model="bicubic", weights="x.pth"), "no weights"),
    (dict(precision="fp64"), "--precision"), (dict(device="cpu", precision="fp16"), "needs a CUDA"),
])
def test_bad_options(clip: Path, tmp_path: Path, opts: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        upscale_video(clip, tmp_path / "o.mp4", UpscaleOptions(**{"model": "bicubic", **opts}))


def test_bad_inputs(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    audio_only = tmp_path / "audio.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", str(audio_only))
    for bad, match in [(tmp_path / "missing.mp4", "not found"), (text, "not a readable video"),
                       (audio_only, "no video stream"), (tmp_path, "no png/jpg frames")]:
        with pytest.raises(UserError, match=match):
            upscale_video(bad, tmp_path / "o.mp4", UpscaleOptions(model="bicubic"))


def test_zero_frame_video_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mkv"  # a video stream whose every packet was dropped, plus audio
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=32x16:r=10", "-f", "lavfi", "-i", "sine", "-t", "0.5", "-map", "0:v",
            "-map", "1:a", "-c:v", "libx264", "-bsf:v", "noise=drop=1", str(empty))
    with pytest.raises(UserError, match="no frames"):
        upscale_video(empty, tmp_path / "o.mp4", UpscaleOptions(model="bicubic"))


def _tiny_seem_weights(path: Path, seem_scale: float) -> Path:
    """basicvsr-tiny-seem weights (seed 0) whose SEEM blocks' last convs are ``seem_scale`` x random (0: zero SEEM)."""
    from seemup.models import create_model

    torch.manual_seed(0)
    model = create_model("basicvsr-tiny-seem")
    for name, p in model.named_parameters():
        if name.startswith("seem.blocks.") and ".conv2." in name:
            p.data = torch.randn_like(p) * seem_scale
    classical = "classical-felzenszwalb-v1-s100-sig0.5-min16-ws160"  # the masks these weights say they were made for
    torch.save({"params": model.state_dict(), "meta": {"model": "basicvsr-tiny-seem", "mask_source_id": classical}},
               path)
    return path


def _small(clip: Path, tmp_path: Path) -> Path:
    small = tmp_path / "small.mp4"
    _ffmpeg("-i", str(clip), "-vf", "crop=32:24:8:4", "-frames:v", "5", "-c:v", "libx264", "-qp", "0", str(small))
    return small


def test_seem_model_with_classical_masks(clip: Path, tmp_path: Path) -> None:
    small, cache = _small(clip, tmp_path), tmp_path / "masks"
    weights = _tiny_seem_weights(tmp_path / "seem.pth", 0.1)
    opts = UpscaleOptions(model="basicvsr-tiny-seem", weights=weights, mask_source="classical", cache_dir=cache,
                          chunk=3, overlap=1)
    result = upscale_video(small, tmp_path / "a.mp4", opts)
    assert any(cache.rglob("*")), "masks were computed through the cache"
    assert not any("none were computed" in n for n in result.notes)
    got = probe(tmp_path / "a.mp4")
    assert (got.width, got.height, got.num_frames) == (128, 96, 5)


def test_zero_seem_computes_no_masks_and_gives_the_backbones_frames(clip: Path, tmp_path: Path) -> None:
    small, cache = _small(clip, tmp_path), tmp_path / "masks"
    weights = _tiny_seem_weights(tmp_path / "seem0.pth", 0.0)
    seem = upscale_video(small, tmp_path / "seem", UpscaleOptions(model="basicvsr-tiny-seem", weights=weights,
                                                                  mask_source="classical", cache_dir=cache))
    assert not any(p.is_file() for p in cache.rglob("*")), "no masks computed"
    assert any("none were computed" in n for n in seem.notes)
    state = torch.load(weights, weights_only=True)["params"]
    backbone = tmp_path / "backbone.pth"
    torch.save({"params": {k: v for k, v in state.items() if not k.startswith("seem.")},
                "meta": {"model": "basicvsr-tiny"}}, backbone)
    upscale_video(small, tmp_path / "plain", UpscaleOptions(model="basicvsr-tiny", weights=backbone))
    a, b = sorted((tmp_path / "seem").glob("*.png")), sorted((tmp_path / "plain").glob("*.png"))
    assert len(a) == len(b) == 5 and all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_cpu_notice_for_full_basicvsr_keeps_the_choice(clip: Path, tmp_path: Path) -> None:
    said: list[str] = []
    with pytest.raises(UserError, match="weights"):  # stop before the slow part: weights that do not exist
        upscale_video(clip, tmp_path / "o.mp4", UpscaleOptions(model="basicvsr", weights=str(tmp_path / "no.pth"),
                                                               device="cpu"), log=said.append)
    assert len(said) == 1 and "basicvsr-lite" in said[0] and "s per frame" in said[0]
    assert said[0].startswith("no CUDA device: ") != torch.cuda.is_available()


def test_cpu_estimate_follows_this_machines_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.pipeline import estimate
    from seemup.runtime import cpu_conv_seconds, cpu_estimate_seconds

    conv = cpu_conv_seconds("fp32", 64, 36, repeat=2)
    assert 0 < conv < 1
    # network time in units of that convolution, scaled by pixels and frames
    assert cpu_estimate_seconds(193.0, 640, 360, 10, 0.01) == pytest.approx(193.0 * 0.01 * 4 * 10)
    # a bf16 convolution takes 0.01 s, an fp32 one 0.02 s (int8's other layers run in bf16 only where it is native)
    monkeypatch.setattr(estimate, "cpu_conv_seconds", lambda precision: 0.01 if estimate.autocast_dtype(precision)
                        else 0.02)
    slow, fast = {"fp32": 400.0, "bf16": 190.0}, {"fp32": 50.0, "bf16": 49.0, "int8": 37.0}
    note = estimate.cpu_estimate_note("big", slow, fast, (320, 180), 600, "bf16", "bf16")
    assert "big on CPU needs about 1.9 s per frame here (~19 min for 600 frames of 320x180)" in note
    assert note.endswith("--model basicvsr-lite would need about 0.49 s per frame (~5 min)")
    # where auto runs the fast model with int8 blocks, its estimate is int8's (its other layers: bf16 or fp32)
    note = estimate.cpu_estimate_note("big", slow, fast, (320, 180), 600, "bf16", "int8")
    lite = 37.0 * (0.01 if estimate.autocast_dtype("int8") else 0.02)
    assert note.endswith(f"--model basicvsr-lite would need about {lite:.2f} s per frame (~{lite * 10:.0f} min)")
    assert "big on CPU needs about 8.0 s per frame here plus the masks (~80 min" in \
        estimate.cpu_estimate_note("big", slow, fast, (320, 180), 600, "fp32", "fp32", uses_masks=True)
    # no notice for a model less than twice as slow as the fast one, nor for an unknown cost
    assert estimate.cpu_estimate_note("near", {"fp32": 99.0}, fast, (320, 180), 600, "fp32", "fp32") is None
    assert estimate.cpu_estimate_note("new", {}, fast, (320, 180), 600, "fp32", "fp32") is None
    # the table the notice reads: every model in it is registered, the fast model itself gets no notice
    from seemup.models import list_models

    assert set(estimate.cpu_costs()) <= set(list_models()) and estimate.CPU_FAST_MODEL in estimate.cpu_costs()
    assert estimate.notice_for(estimate.CPU_FAST_MODEL, False, (320, 180), 600, "fp32", "fp32") is None
    assert estimate.notice_for("basicvsr-tiny", False, (320, 180), 600, "fp32", "fp32") is None


def test_corrupt_stream_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x36:r=25", "-frames:v", "40", "-g", "8", "-c:v", "libx264", str(good))
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 3000] = bytes(b ^ 0x5A for b in data[mid:mid + 3000])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    out = tmp_path / "o.mp4"
    with pytest.raises(UserError, match="corrupt|failed|ended"):
        upscale_video(bad, out, UpscaleOptions(model="bicubic", chunk=50))
    assert not out.exists()


def test_damaged_input_fails_before_any_work_unless_skipped(tmp_path: Path) -> None:
    """A stream that loses a frame to decoding errors is refused at once (not after the whole run, which is
    when the reader would notice); --skip-damaged upscales the frames that decode and says so."""
    bad = damaged_h264(tmp_path, frames=12)
    out = tmp_path / "o.mp4"
    with pytest.raises(UserError, match="1 of 12 frames cannot be decoded"):
        upscale_video(bad, out, UpscaleOptions(model="bicubic"))
    assert not out.exists()
    result = upscale_video(bad, out, UpscaleOptions(model="bicubic", skip_damaged=True, chunk=4))
    assert probe(out).num_frames == 11 and any("1 of 12 frames could not be decoded" in n for n in result.notes)


class _Recorder:
    """A progress sink that records what the pipeline tells it."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def checking(self, done: int, total: int) -> None:
        self.events.append(("check", done, total))

    def start(self, total: int, completed: int = 0) -> None:
        self.events.append(("start", total, completed))

    def advance(self, frames: int) -> None:
        self.events.append(("advance", frames))

    def close(self) -> None:
        self.events.append(("close",))


def test_progress_shows_the_frame_check_then_the_run_and_always_ends(clip: Path, tmp_path: Path) -> None:
    """The decode pass that counts frames (minutes on a feature film) is shown before the run's own bar, which
    moves as each frame is encoded; the display is stopped however the call ends, bad input included."""
    rec = _Recorder()
    upscale_video(clip, tmp_path / "o.mp4", UpscaleOptions(model="bicubic", chunk=4), progress=rec)
    checks = [e for e in rec.events if e[0] == "check"]
    assert checks and checks[-1] == ("check", 10, 10)
    assert rec.events.index(checks[-1]) < rec.events.index(("start", 10, 0))
    assert [e for e in rec.events if e[0] == "advance"] == [("advance", 1)] * 10  # frame by frame, not by chunk
    assert rec.events[-1] == ("close",)
    exists = _Recorder()  # refused before the input is decoded
    with pytest.raises(UserError, match="exists"):
        upscale_video(clip, tmp_path / "o.mp4", UpscaleOptions(model="bicubic"), progress=exists)
    assert exists.events == [("close",)]
    damaged = _Recorder()
    with pytest.raises(UserError, match="cannot be decoded"):
        upscale_video(damaged_h264(tmp_path), tmp_path / "d.mp4", UpscaleOptions(model="bicubic"), progress=damaged)
    assert damaged.events[0][0] == "check" and damaged.events[-1] == ("close",)


def test_rich_progress_renders_both_stages() -> None:
    import io

    from rich.console import Console

    from seemup.pipeline import RichProgress

    out = io.StringIO()
    bar = RichProgress(console=Console(file=out, width=120, force_terminal=True))
    bar.checking(5, 10)
    bar.checking(10, 10)
    bar.start(10)
    bar.advance(10)
    bar.close()
    bar.close()
    assert "checking" in out.getvalue() and "upscale" in out.getvalue() and "10/10" in out.getvalue()


def test_cli_one_line_errors_and_summary(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seemup.cli import main

    out = tmp_path / "c.mp4"
    with pytest.raises(SystemExit) as done:
        main(["upscale", str(clip), str(out), "--model", "bicubic", "--quiet"])
    assert done.value.code in (0, None)
    captured = capsys.readouterr()
    assert "bicubic" in captured.out and "64x36 -> 256x144" in captured.out and captured.err == ""
    for args, match in [([str(clip), str(out), "--model", "bicubic"], "--force"),
                        ([str(tmp_path / "none.mp4"), str(tmp_path / "d.mp4")], "not found")]:
        with pytest.raises(SystemExit) as exc:
            main(["upscale", *args])
        err = capsys.readouterr().err
        assert exc.value.code != 0 and err.startswith("error:") and err.strip().count("\n") == 0 and match in err


def test_a_chunk_short_of_frames_is_never_kept(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames now go to the encoder as the network hands them out; one missing from a chunk fails the run
    instead of leaving a shorter video."""
    from seemup.runtime.runner import ModelRunner

    real = ModelRunner.stream_recurrent

    def one_short(self, frames, masks=None, start=0, stop=None):  # noqa: ANN001, ANN202
        yield from list(real(self, frames, masks, start, stop))[:-1]

    monkeypatch.setattr(ModelRunner, "stream_recurrent", one_short)
    out = tmp_path / "o.mp4"
    with pytest.raises(RuntimeError, match="produced 3 of its 4 frames"):
        upscale_video(clip, out, UpscaleOptions(model="bicubic", chunk=4))
    assert not out.exists()
