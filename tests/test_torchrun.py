"""`seemup upscale / bench / masks` under torchrun: ranks, dealing, the shared job state, rank 0's bar.

The slow tests start `python -m torch.distributed.run --standalone --nproc-per-node=2` (gloo on the CPU)
and compare with a single process: decoded frames, the bench JSON; one kills a rank after its first chunk
and finishes the job with ``--resume`` in one process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from footage import DOG64, decoded_frames

from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions, partial_dir_for, upscale_video
from seemup.pipeline.state import STATE_VERSION, JobState, finished_in, open_job
from seemup.pipeline.team import JobProgress
from seemup.runtime.ranks import SOLO, Ranks, launched, rank_device

HERE = Path(__file__).resolve().parent
TINY = dict(model="basicvsr-tiny", chunk=3, overlap=2, device="cpu")  # 4 chunks: 3, 3, 3, 1 frames
TINY_ARGS = ["-m", "basicvsr-tiny", "--chunk", "3", "--overlap", "2", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # as each rank runs (OMP_NUM_THREADS=1): the same arithmetic, the same bits


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    out = tmp_path / "dog.mp4"
    shutil.copyfile(DOG64, out)
    return out


def _same_frames(a: Path, b: Path) -> bool:
    fa, fb = decoded_frames(a), decoded_frames(b)
    return len(fa) == len(fb) > 0 and all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))


def _torchrun(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`torchrun --nproc-per-node=2 ARGS` (a free port, 2 CPU ranks), as a user would start it."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([*launcher, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)


# ---- ranks: who this process is, which block is its own ----------------------------------------------------

def test_blocks_are_contiguous_disjoint_and_cover_everything() -> None:
    for world in (1, 2, 3, 8):
        for n in (0, 1, 5, 16, 17):
            blocks = [Ranks(r, world).share(n) for r in range(world)]
            assert [i for b in blocks for i in b] == list(range(n))
            assert max(len(b) for b in blocks) - min(len(b) for b in blocks) <= 1


def test_the_launcher_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert launched() == SOLO and not SOLO.enabled and SOLO.is_main
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launched() == SOLO  # torchrun with one process: a plain run
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launched() == Ranks(3, 4, 1) and not launched().is_main
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(UserError, match="outside 0..3"):
        launched()
    monkeypatch.delenv("RANK")
    with pytest.raises(UserError, match="RANK is missing"):
        launched()


def test_each_rank_computes_on_its_own_device(monkeypatch: pytest.MonkeyPatch) -> None:
    two = Ranks(1, 2, 1)
    assert rank_device("auto", SOLO) == "auto" and rank_device("cuda", SOLO) == "cuda"
    assert rank_device("cpu", two) == "cpu" and rank_device("cuda:0", two) == "cuda:0"  # as given
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert rank_device("auto", two) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert rank_device("auto", two) == "cuda:1" and rank_device("CUDA", two) == "cuda:1"


# ---- the shared job state ----------------------------------------------------------------------------------

def test_chunks_are_recorded_one_by_one_in_any_order(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    partial_dir_for(out).mkdir()
    state = open_job(out, {"k": 1}, 5, resume=False, force=False)
    other = JobState(state.dir, state.fingerprint, 5, owner=False)  # another rank's view of the same folder
    other.mark_done(3)
    state.mark_done(0)
    other.mark_done(4)
    assert state.finished == other.finished == {0, 3, 4} and state.done == 3
    assert json.loads(state.state_file.read_text())["version"] == STATE_VERSION == 2
    with pytest.raises(RuntimeError, match="not in the plan"):
        state.mark_done(5)
    assert other.discard() == [] and state.finished == {0, 3, 4}  # only the owner deletes
    assert open_job(out, {"k": 1}, 5, resume=True, force=False).finished == {0, 3, 4}
    with pytest.raises(UserError, match=r"exists \(3/5 chunks done\)"):
        open_job(out, {"k": 1}, 5, resume=False, force=False)
    state.discard()
    assert finished_in(state.dir, 5) == set()


@pytest.mark.slow
def test_a_job_stopped_before_chunks_were_recorded_one_by_one_still_resumes(clip: Path, tmp_path: Path) -> None:
    """state.json version 1 counted the chunks finished in order: ``--resume`` reads it as chunks 0..done-1."""
    opts = dict(model="bicubic", chunk=3, device="cpu")
    reference = tmp_path / "ref.mp4"
    upscale_video(clip, reference, UpscaleOptions(**opts))
    out = tmp_path / "out.mp4"

    def stop_after_chunk_1(k: int) -> None:
        if k == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, UpscaleOptions(**opts), on_chunk=stop_after_chunk_1)
    partial = partial_dir_for(out)
    saved = json.loads((partial / "state.json").read_text())
    for marker in partial.glob("done_*"):
        marker.unlink()
    (partial / "state.json").write_text(json.dumps({**saved, "version": 1, "done": 2}))
    result = upscale_video(clip, out, UpscaleOptions(**opts, resume=True))
    assert result.computed_frames == 4 and result.resumed_from == 6
    assert _same_frames(reference, out)


class _Bar:
    def __init__(self) -> None:
        self.total, self.at, self.closed = None, 0, False

    def checking(self, done: int, total: int) -> None:
        pass

    def start(self, total: int, completed: int = 0) -> None:
        self.total, self.at = total, completed

    def advance(self, frames: int) -> None:
        self.at += frames

    def close(self) -> None:
        self.closed = True


def test_rank_0s_bar_counts_every_ranks_chunks(tmp_path: Path) -> None:
    d = tmp_path / "partial"
    d.mkdir()
    state = JobState(d, {}, 4)
    state.mark_done(0)  # finished before this run
    bar = _Bar()
    progress = JobProgress(bar, state, {0: 3, 1: 3, 2: 3, 3: 1}, own={1}, every=0.0)
    progress.start(999, completed=999)  # the plan and the folder decide, not the caller
    assert (bar.total, bar.at) == (10, 3)
    progress.advance(2)  # rank 0 writes two frames of its chunk 1
    assert bar.at == 5
    JobState(d, {}, 4, owner=False).mark_done(3)  # another rank finishes chunk 3 (1 frame)
    progress.refresh()
    assert bar.at == 6
    progress.advance(1)
    state.mark_done(1)  # rank 0's chunk: counted once, not again from its done file
    progress.refresh()
    assert bar.at == 7
    JobState(d, {}, 4, owner=False).mark_done(2)
    progress.refresh()
    progress.close()
    assert bar.at == bar.total == 10 and bar.closed


def test_mask_precomputation_in_parts_covers_every_frame_once(clip: Path, tmp_path: Path) -> None:
    """`seemup masks` deals frames numbered through all inputs: two parts of two inputs fill the cache as one
    run would (every frame computed once), and a full run afterwards finds them all."""
    from seemup.masks.precompute import PrecomputeSummary, find_inputs, precompute_masks
    from seemup.weights.load import open_masks

    second = tmp_path / "more" / "dog2.mp4"
    second.parent.mkdir()
    subprocess.run([_ffmpeg(), "-v", "error", "-i", str(clip), "-vf", "hflip", "-frames:v", "7", str(second)],
                   check=True)
    inputs = find_inputs(tmp_path)
    assert [i.num_frames for i in inputs] == [10, 7]
    masks = open_masks("classical", "cpu", quiet=True, cache_dir=tmp_path / "cache")
    parts = [precompute_masks(inputs, masks, part=Ranks(r, 2).share(17)) for r in range(2)]
    assert [p.frames for p in parts] == [8, 9]
    both = PrecomputeSummary.combined(parts)
    assert (both.frames, both.hits, both.misses) == (17, 0, 17)
    again = precompute_masks(inputs, masks)
    assert (again.frames, again.hits, again.misses) == (17, 17, 0)


def _ffmpeg() -> str:
    from seemup.video import ffmpeg_exe

    return ffmpeg_exe()


# ---- the commands under torchrun, 2 CPU ranks -------------------------------------------------------------

@pytest.mark.slow
def test_torchrun_seemup_upscale_makes_the_single_process_output(clip: Path, tmp_path: Path) -> None:
    """`torchrun --nproc-per-node=2 -m seemup upscale` with a recurrent model: 4 chunks, 2 per rank."""
    single = tmp_path / "single.mp4"
    upscale_video(clip, single, UpscaleOptions(**TINY))
    run = _torchrun(tmp_path, "-m", "seemup", "upscale", clip.name, "two.mp4", *TINY_ARGS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert _same_frames(single, tmp_path / "two.mp4")
    assert run.stdout.count("two.mp4: basicvsr-tiny on cpu") == 1  # one summary, rank 0's
    assert "2 ranks: 4 chunks dealt out, 2 computed by rank 0" in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dog.mp4", "single.mp4", "two.mp4"]  # no partial left


@pytest.mark.slow
def test_torchrun_upscale_of_many_files_into_an_out_dir(clip: Path, tmp_path: Path) -> None:
    """`torchrun ... seemup upscale A B --out-dir OUT`: both ranks work on each file in turn; rank 0 reports."""
    single = tmp_path / "single.mp4"
    upscale_video(clip, single, UpscaleOptions(**TINY))
    shutil.copyfile(clip, tmp_path / "other.mp4")
    run = _torchrun(tmp_path, "-m", "seemup", "upscale", clip.name, "other.mp4", "--out-dir", "out", *TINY_ARGS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(_same_frames(single, tmp_path / "out" / name) for name in ("dog.mp4", "other.mp4"))
    assert run.stdout.count("2 done, 0 skipped, 0 failed") == 1  # one table, rank 0's
    assert run.stdout.count("out/other.mp4: basicvsr-tiny on cpu") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dog.mp4", "other.mp4"]  # no partial left


BENCH = ["bench", "--model", "bicubic", "--model", "basicvsr-tiny", "--space", "y", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One torchrun job script of two commands (one process group): a window model's upscale, then a bench."""
    root = tmp_path_factory.mktemp("ranks")
    shutil.copyfile(DOG64, root / "dog.mp4")
    from seemup.models import create_model

    torch.manual_seed(0)
    config = {"num_feat": 8, "num_extract_block": 1, "num_reconstruct_block": 1}
    torch.save({"params": create_model("edvr-m", **config).state_dict(),
                "meta": {"model": "edvr-m", "model_config": config}}, root / "edvr.pth")
    for name in ("dog", "blocks"):
        shutil.copytree(HERE / "data" / "bench-gt" / name, root / "set" / "GT" / name)
    upscale = "upscale dog.mp4 two.mkv -m edvr-m -w edvr.pth --chunk 2 --device cpu --quiet"
    bench = " ".join([*BENCH, "--dataset", "set", "--json", "two.json"])
    return root, _torchrun(root, str(HERE / "rank_commands.py"), upscale, bench)


@pytest.mark.slow
def test_two_ranks_make_the_single_process_output_of_a_window_model(two_rank_runs, tmp_path: Path) -> None:
    root, run = two_rank_runs
    assert run.returncode == 0, run.stderr[-3000:]
    single = tmp_path / "single.mkv"
    upscale_video(root / "dog.mp4", single, UpscaleOptions(model="edvr-m", weights=root / "edvr.pth", chunk=2,
                                                            device="cpu"))
    assert _same_frames(single, root / "two.mkv")


@pytest.mark.slow
def test_two_ranks_bench_json_equals_a_single_process(two_rank_runs, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seemup.cli import app

    root, run = two_rank_runs
    assert run.returncode == 0, run.stderr[-3000:]
    one = CliRunner().invoke(app, [*BENCH, "--dataset", str(root / "set"), "--json", str(tmp_path / "one.json")],
                             env={"COLUMNS": "200"})
    assert one.exit_code == 0, one.output
    assert run.stdout.count("Average") == one.output.count("Average") > 0  # rank 0 prints, rank 1 does not

    def scores(path: Path) -> dict:
        data = json.loads(path.read_text())
        for m in [data["baseline"], *data["models"]]:  # times and memory are each process's own
            for part in [m["average"], *m["clips"].values()]:
                assert part.pop("ms_per_frame") > 0 and part.pop("peak_memory_mb") > 0
        data.pop("dataset_path")
        return data

    single, two = scores(tmp_path / "one.json"), scores(root / "two.json")
    assert single == two and list(two["models"][1]["clips"]) == list(single["models"][1]["clips"]) == ["blocks", "dog"]


@pytest.mark.slow
def test_a_rank_that_dies_loses_only_its_unfinished_chunks_and_resume_finishes(clip: Path, tmp_path: Path) -> None:
    """Rank 1 (chunks 2 and 3) dies as soon as chunk 2 is on disk; torchrun stops rank 0, which keeps what it
    finished. One process with --resume computes the rest, and the output is the single-process one."""
    single = tmp_path / "single.mp4"
    upscale_video(clip, single, UpscaleOptions(**TINY))
    out = tmp_path / "two.mp4"
    command = " ".join(["upscale", clip.name, out.name, *TINY_ARGS])
    run = _torchrun(tmp_path, str(HERE / "rank_commands.py"), command, env={"SEEMUP_TEST_DYING_RANK": "1"})
    assert run.returncode != 0 and not out.exists()
    partial = partial_dir_for(out)
    done = finished_in(partial, 4)
    assert 2 in done and 3 not in done, done
    assert (partial / "seg_00002.mp4").is_file() and not (partial / "seg_00003.mp4").exists()

    result = upscale_video(clip, out, UpscaleOptions(**TINY, resume=True))
    assert result.computed_frames == sum(1 if c == 3 else 3 for c in (0, 1, 3) if c not in done)
    assert _same_frames(single, out) and not partial.exists()
