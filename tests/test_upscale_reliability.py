"""Hostile cases for the upscale job: two runs on one output, odd targets and inputs, checks before the work,
memory, resuming with an automatic chunk, interruptions and the partial folder's contents."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from footage import decoded_frames

from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions, partial_dir_for, upscale_video
from seemup.pipeline import checks as checks_module
from seemup.pipeline import upscale as upscale_module
from seemup.pipeline.job import UpscaleJob
from seemup.video import ffmpeg_exe, probe

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(model="basicvsr-tiny", chunk=3, overlap=1, device="cpu")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def _clip(path: Path, pattern: str = "testsrc2", frames: int = 10, size: str = "32x24") -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"{pattern}=s={size}:r=25", "-frames:v", str(frames), "-c:v", "libx264",
            "-qp", "0", str(path))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different 10-frame 32x24 clips (a.mp4, b.mp4)."""
    d = tmp_path_factory.mktemp("clips")
    return _clip(d / "a.mp4"), _clip(d / "b.mp4", "mandelbrot")


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(condition, what: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}: {proc.communicate()}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _done_chunks(out: Path) -> int:
    try:
        return int(json.loads((partial_dir_for(out) / "state.json").read_text())["done"])
    except (OSError, ValueError, KeyError):
        return 0


# ---- 1: one output, two runs ---------------------------------------------------------------------------------

HOLD_LOCK = """
import fcntl, os, sys, time
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
fd = os.open(os.path.join(d, "lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(600)
"""


def test_a_locked_output_is_refused_with_the_holders_pid_and_freed_when_it_dies(clips: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    a, b = clips
    out = tmp_path / "out.mp4"
    holder = _python(HOLD_LOCK, str(partial_dir_for(out)))
    try:
        assert holder.stdout.readline().strip() == "locked"
        for extra in (dict(force=True), dict(resume=True), {}):
            with pytest.raises(UserError, match=rf"out\.mp4 is being written by another seemup process "
                                                rf"\(pid {holder.pid}\)"):
                upscale_video(b, out, UpscaleOptions(model="bicubic", **extra))
        assert (partial_dir_for(out) / "lock").is_file() and not out.exists()  # nothing of the holder's touched
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the kernel drops the lock
        holder.wait()
    upscale_video(a, out, UpscaleOptions(model="bicubic"))
    assert probe(out).num_frames == 10 and not partial_dir_for(out).exists()


def test_a_file_system_without_locks_runs_unlocked_and_says_so(clips: tuple[Path, Path], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from seemup.pipeline import state

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(state.fcntl, "flock", no_locks)
    result = upscale_video(clips[0], tmp_path / "o.mp4", UpscaleOptions(model="bicubic"))
    assert probe(tmp_path / "o.mp4").num_frames == 10
    assert any("could not be locked against other runs" in n for n in result.notes)


SLOW_RUN = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from seemup.pipeline import UpscaleOptions, upscale_video
src, out, flag = sys.argv[1], sys.argv[2], Path(sys.argv[3])
def wait_at_first_chunk(k):
    if k == 0:
        flag.with_suffix(".chunk0").touch()
        while not flag.exists():
            time.sleep(0.05)
upscale_video(src, out, UpscaleOptions(model="basicvsr-tiny", chunk=3, overlap=1, device="cpu"),
              on_chunk=wait_at_first_chunk)
print("done", flush=True)
"""


def test_a_second_run_on_the_same_output_is_refused_and_the_first_finishes_intact(clips: tuple[Path, Path],
                                                                                  tmp_path: Path) -> None:
    """The issue's case: run A stops after its first chunk; run B on the same output, with --force (as the
    refusal message once suggested) or with --resume, used to mix B's frames into A's or cut A short, and
    both exited 0. B is now refused and A's output is A's, whole."""
    a, b = clips
    out, flag = tmp_path / "out.mp4", tmp_path / "go"
    run_a = _python(SLOW_RUN, str(a), str(out), str(flag))
    try:
        _wait_for(flag.with_suffix(".chunk0").exists, "run A's first chunk", run_a)
        for extra in (dict(force=True), dict(resume=True)):
            with pytest.raises(UserError, match=rf"being written by another seemup process \(pid {run_a.pid}\)"):
                upscale_video(b, out, UpscaleOptions(**TINY, **extra))
    finally:
        flag.touch()
        stdout, stderr = run_a.communicate(timeout=300)
    assert run_a.returncode == 0, stderr
    reference = tmp_path / "ref.mp4"
    upscale_video(a, reference, UpscaleOptions(**TINY))
    got, ref = decoded_frames(out), decoded_frames(reference)
    assert len(got) == 10 and all(np.array_equal(x, y) for x, y in zip(got, ref, strict=True))


def test_an_assembled_video_short_of_frames_is_never_renamed_onto_the_output(clips: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    """Whatever damaged a segment (another process, a disk), the frame count of the joined video is checked
    against the plan before the rename: here segment 1 (4 frames) is replaced by segment 2 (2 frames)."""
    a, _ = clips
    out = tmp_path / "out.mp4"

    def clobber(k: int) -> None:
        if k == 2:
            d = partial_dir_for(out)
            (d / "seg_00001.mp4").write_bytes((d / "seg_00002.mp4").read_bytes())

    with pytest.raises(UserError, match="has 8 of the 10 frames planned"):
        upscale_video(a, out, UpscaleOptions(model="bicubic", chunk=4), on_chunk=clobber)
    assert not out.exists()


# ---- 3: what --force may replace -----------------------------------------------------------------------------

def test_force_never_replaces_a_fifo_a_device_or_a_folder_seemup_did_not_write(clips: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    a, _ = clips
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="is a FIFO"):
        upscale_video(a, fifo, UpscaleOptions(model="bicubic", force=True))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        node = None
    if node is not None:
        with pytest.raises(UserError, match="is a character device"):
            upscale_video(a, node, UpscaleOptions(model="bicubic", force=True))
        assert stat.S_ISCHR(node.lstat().st_mode)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "00000000.png").write_bytes(b"x")
    (mine / "holiday.jpg").write_bytes(b"y")
    with pytest.raises(UserError, match="holds files seemup did not write"):
        upscale_video(a, mine, UpscaleOptions(model="bicubic", force=True))
    assert (mine / "holiday.jpg").read_bytes() == b"y"
    (mine / "holiday.jpg").unlink()  # only seemup's frame names left: replaced
    upscale_video(a, mine, UpscaleOptions(model="bicubic", force=True))
    assert sorted(p.name for p in mine.iterdir()) == [f"{i:08d}.png" for i in range(10)]


# ---- 10: checked before the work -----------------------------------------------------------------------------

def _frame_folder(tmp_path: Path, clip: Path) -> Path:
    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    for i, f in enumerate(decoded_frames(clip)[:6]):
        cv2.imwrite(str(folder / f"f{i}.png"), f[:, :, ::-1])
    return folder


def _no_work(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Chunks started; the model never runs (so a check that comes too late fails the test, not the machine)."""
    started: list[int] = []

    def run_chunks(*args, **kwargs) -> int:  # noqa: ANN002, ANN003
        started.append(1)
        raise AssertionError("the work started before the check")

    monkeypatch.setattr(UpscaleJob, "run", run_chunks)
    return started


@pytest.mark.parametrize("damage,match", [
    ("size", r"f3\.png is 40x24, the first frame is 32x24"),
    ("png_bits", r"f3\.png is damaged"),
    ("jpeg_cut", r"f3\.jpg is damaged"),
])
def test_a_bad_frame_in_a_folder_is_found_before_any_work(clips: tuple[Path, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, damage: str,
                                                          match: str) -> None:
    import cv2

    folder = _frame_folder(tmp_path, clips[0])
    bad = folder / "f3.png"
    if damage == "size":
        cv2.imwrite(str(bad), np.zeros((24, 40, 3), np.uint8))
    elif damage == "png_bits":
        data = bytearray(bad.read_bytes())
        data[len(data) // 2] ^= 0xFF  # inside the image data: its CRC no longer matches
        bad.write_bytes(bytes(data))
    else:
        bad.unlink()
        jpg = folder / "f3.jpg"
        cv2.imwrite(str(jpg), np.full((24, 32, 3), 128, np.uint8))
        jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])  # cv2 would decode it, grey, with a warning
    started = _no_work(monkeypatch)
    with pytest.raises(UserError, match=match):
        upscale_video(folder, tmp_path / "o.mp4", UpscaleOptions(model="bicubic", chunk=2))
    assert not started and not (tmp_path / "o.mp4").exists() and not partial_dir_for(tmp_path / "o.mp4").exists()


def test_an_output_name_too_long_for_the_partial_folder_is_refused_up_front(clips: tuple[Path, Path],
                                                                           tmp_path: Path) -> None:
    out = tmp_path / ("x" * 246 + ".mp4")  # a valid name (250 bytes); the partial folder's would be 266
    with pytest.raises(UserError, match=r"output name too long \(250 bytes\).*allows 255; use at most 239 bytes"):
        upscale_video(clips[0], out, UpscaleOptions(model="bicubic"))


# ---- 11: memory -----------------------------------------------------------------------------------------------

def test_huge_declared_frames_are_refused_with_the_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few KB of H.264 declaring 4096x4096 frames: basicvsr-lite would need ~140 GiB for them."""
    big = _clip(tmp_path / "big.mp4", "color", frames=2, size="4096x4096")
    assert big.stat().st_size < 100_000
    started = _no_work(monkeypatch)
    with pytest.raises(UserError, match=r"4096x4096 frames need about \d+\.\d GiB \(2 frames at a time\) and "
                                        r"\d+\.\d GiB is free on cpu: (try --|it is too large)"):
        upscale_video(big, tmp_path / "o.mp4", UpscaleOptions(model="basicvsr-lite", device="cpu"))
    assert not started


def test_little_free_memory_suggests_tiles_or_smaller_chunks(clips: tuple[Path, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.runtime.memory import inference_bytes

    whole = inference_bytes(24, 32, 10, 16, 4, streamed=True)
    assert inference_bytes(24, 32, 4, 16, 4, streamed=True) < whole  # fewer frames at once, less memory
    monkeypatch.setattr(checks_module, "free_memory", lambda device: 1024)
    with pytest.raises(UserError, match="32x24 frames need about 0.0 GiB .* 0.0 GiB is free on cpu: it is too large"):
        upscale_video(clips[0], tmp_path / "o.mp4", UpscaleOptions(**TINY))
    monkeypatch.setattr(checks_module, "free_memory",
                        lambda device: inference_bytes(24, 32, 4, 16, 4, streamed=False, tile=256, tile_overlap=16))
    with pytest.raises(UserError, match=r"try --chunk 2 --overlap 1 --tile 256"):
        upscale_video(clips[0], tmp_path / "o.mp4", UpscaleOptions(**{**TINY, "chunk": 10, "overlap": 2}))


# ---- 12: --resume keeps the plan ------------------------------------------------------------------------------

def test_resume_without_chunk_continues_the_stored_plan_whatever_memory_is_free(clips: tuple[Path, Path],
                                                                               tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = clips
    out = tmp_path / "out.mp4"
    monkeypatch.setattr(upscale_module, "default_chunk", lambda *args, **kwargs: 4)

    def stop(k: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(a, out, UpscaleOptions(model="basicvsr-tiny", overlap=1), on_chunk=stop)
    with pytest.raises(UserError, match="chunk: 4 then, 5 now"):  # an explicit --chunk is still compared
        upscale_video(a, out, UpscaleOptions(model="basicvsr-tiny", overlap=1, chunk=5, resume=True))
    monkeypatch.setattr(upscale_module, "default_chunk", lambda *args, **kwargs: 3)  # free memory changed
    result = upscale_video(a, out, UpscaleOptions(model="basicvsr-tiny", overlap=1, resume=True))
    assert result.chunk == 4 and result.resumed_from == 4 and probe(out).num_frames == 10


# ---- 14: user mistakes named as such --------------------------------------------------------------------------

def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (as root: /sys, where even root gets EPERM)."""
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o555)
        return d
    try:
        (Path("/sys") / ".seemup-probe").mkdir()
    except OSError:
        return Path("/sys")
    pytest.skip("no unwritable folder to test with")


def test_an_unwritable_output_folder_is_one_line_before_the_work(clips: tuple[Path, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    started = _no_work(monkeypatch)
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(UserError, match=rf"cannot write in the output folder {folder}: "):
        upscale_video(clips[0], folder / "o.mp4", UpscaleOptions(model="bicubic"))
    assert not started


def test_the_partial_folders_name_taken_by_a_file_is_named(clips: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    partial_dir_for(out).write_text("mine")
    with pytest.raises(UserError, match=r"\.o\.mp4\.seemup-partial is not a folder"):
        upscale_video(clips[0], out, UpscaleOptions(model="bicubic"))
    assert partial_dir_for(out).read_text() == "mine"


def test_a_bad_mask_cache_folder_is_named_before_the_work(clips: tuple[Path, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    started = _no_work(monkeypatch)
    opts = dict(model="basicvsr-tiny-seem", mask_source="classical", chunk=3, overlap=1)
    a_file = tmp_path / "cache"
    a_file.write_text("x")
    with pytest.raises(UserError, match=r"--cache-dir .*cache is a file, not a folder"):
        upscale_video(clips[0], tmp_path / "o.mp4", UpscaleOptions(**opts, cache_dir=a_file))
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(UserError, match=r"cannot write in --cache-dir "):
        upscale_video(clips[0], tmp_path / "o.mp4", UpscaleOptions(**opts, cache_dir=folder / "masks"))
    assert not started


# ---- 15: FIFO input, interruptions ---------------------------------------------------------------------------

def test_a_fifo_as_input_is_refused_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "in.mp4"
    os.mkfifo(fifo)
    proc = _python("from seemup.cli import main; import sys; main(sys.argv[1:])",
                   "upscale", str(fifo), str(tmp_path / "o.mp4"), "-m", "bicubic")
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1 and err.strip() == f"error: input {fifo} is a FIFO (named pipe), not a video file " \
                                                   "or a folder of frames"


def test_ctrl_c_before_the_first_chunk_says_nothing_was_kept(clips: tuple[Path, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from seemup.cli import main

    def interrupted(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise KeyboardInterrupt

    monkeypatch.setattr(upscale_module, "probe", interrupted)  # Ctrl-C during the first seconds
    out = tmp_path / "o.mp4"
    with pytest.raises(SystemExit) as done:
        main(["upscale", str(clips[0]), str(out), "-m", "bicubic", "--quiet"])
    assert done.value.code == 130
    assert capsys.readouterr().err.strip() == f"interrupted: no chunk was finished, nothing kept; {out} is unchanged"
    assert not partial_dir_for(out).exists()


def test_an_interruption_after_the_output_is_in_place_says_so(clips: tuple[Path, Path], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from seemup.pipeline.state import JobState
    from seemup.pipeline.upscale import JobInterrupted

    def interrupted_cleanup(self: JobState) -> list[str]:
        raise KeyboardInterrupt

    out = tmp_path / "o.mp4"
    monkeypatch.setattr(JobState, "discard", interrupted_cleanup)
    with pytest.raises(JobInterrupted) as stop:
        upscale_video(clips[0], out, UpscaleOptions(model="bicubic", chunk=4))
    assert stop.value.kept == f"{out} is complete" and probe(out).num_frames == 10


SLOW_CLI = """
import sys, time
from seemup.runtime.runner import ModelRunner
real = ModelRunner.stream_recurrent
def slow(self, *args, **kwargs):
    for frame in real(self, *args, **kwargs):
        time.sleep(0.5)
        yield frame
ModelRunner.stream_recurrent = slow
from seemup.cli import main
main(sys.argv[1:])
"""


def test_sigterm_stops_like_ctrl_c_and_says_what_was_kept(clips: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    proc = _python(SLOW_CLI, "upscale", str(clips[0]), str(out), "-m", "bicubic", "--chunk", "3", "--quiet")
    try:
        _wait_for(lambda: _done_chunks(out) >= 1, "the first chunk", proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    done = _done_chunks(out)
    assert proc.returncode == 128 + signal.SIGTERM and done >= 1, err
    assert err.strip().splitlines()[-1] == (f"interrupted: {done}/4 chunks kept in {partial_dir_for(out)}; "
                                            "rerun with --resume to continue")
    upscale_video(clips[0], out, UpscaleOptions(model="bicubic", chunk=3, resume=True))
    assert probe(out).num_frames == 10


# ---- 16: only seemup's own files are deleted ------------------------------------------------------------------

def test_a_partial_folder_with_unreadable_state_loses_only_seemups_files(clips: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    partial = partial_dir_for(out)
    partial.mkdir()
    (partial / "state.json").write_text("{not json")
    (partial / "seg_00000.mp4").write_bytes(b"stale")
    (partial / "my notes.txt").write_text("keep me")
    result = upscale_video(clips[0], out, UpscaleOptions(model="bicubic", chunk=4))
    assert probe(out).num_frames == 10
    assert sorted(p.name for p in partial.iterdir()) == ["my notes.txt"]
    assert (partial / "my notes.txt").read_text() == "keep me"
    assert any("was left in place" in n and "my notes.txt" in n for n in result.notes)
