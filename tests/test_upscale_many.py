"""`seemup upscale a.mp4 b.mkv clips/ --out-dir OUT`: inputs expanded and named, one model load for all files,
a failing file reported while the others go on, finished outputs skipped, a table, and the exit status."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from footage import DATA

from seemup.cli import main
from seemup.errors import UserError
from seemup.pipeline import UpscaleOptions
from seemup.pipeline.batch import plan_batch, run_batch, summary_table
from seemup.pipeline.loaded import ModelCache
from seemup.video import probe


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """clips/: two real videos, a damaged one, a hidden file and a subfolder (neither is taken)."""
    clips = tmp_path / "clips"
    (clips / "sub").mkdir(parents=True)
    shutil.copyfile(DATA / "dog64x36.mp4", clips / "dog2.mp4")
    shutil.copyfile(DATA / "dog48.mp4", clips / "dog10.mp4")
    (clips / "broken.mkv").write_bytes(b"not a video at all")
    (clips / ".hidden.mp4").write_bytes(b"")
    shutil.copyfile(DATA / "dog48.mp4", clips / "sub" / "deeper.mp4")
    return clips


def _frame_folder(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"f{i}.png"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return folder


def test_plan_names_and_refusals(inputs: Path, tmp_path: Path) -> None:
    frames = _frame_folder(tmp_path / "shots")
    items = plan_batch([inputs, frames], tmp_path / "out")
    assert [(i.src.name, i.dst.name) for i in items] == [
        ("broken.mkv", "broken.mkv"), ("dog2.mp4", "dog2.mp4"), ("dog10.mp4", "dog10.mp4"), ("shots", "shots.mp4")]
    with pytest.raises(UserError, match="both be written"):
        plan_batch([inputs / "dog2.mp4", inputs / "dog2.mp4"], tmp_path / "out")
    with pytest.raises(UserError, match="would replace it"):
        plan_batch([inputs / "dog2.mp4"], inputs)
    with pytest.raises(UserError, match="input not found"):
        plan_batch([tmp_path / "nope.mp4"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no video"):
        plan_batch([tmp_path / "empty"], tmp_path / "out")


def test_one_load_failures_reported_finished_skipped(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = plan_batch([inputs], out)
    models = ModelCache()
    opts = UpscaleOptions(model="basicvsr-tiny", chunk=4, overlap=1, device="cpu", frames=(0, 3))
    heard = []
    outcomes = run_batch(items, opts, models=models, report=heard.append)
    assert [o.status for o in outcomes] == ["failed", "done", "done"] and heard == outcomes
    assert models.loads == 1  # one network for both videos
    assert "not a readable video" in outcomes[0].message
    assert probe(out / "dog2.mp4").num_frames == 3 and probe(out / "dog10.mp4").num_frames == 3
    table = summary_table(outcomes).splitlines()
    assert table[0].split() == ["file", "frames", "time", "result"] and len(table) == 5
    assert "failed: not a readable video" in table[1]
    assert table[2].split()[:2] == [str(inputs / "dog2.mp4"), "3"] and table[2].endswith("done")
    assert table[-1] == "2 done, 0 skipped, 1 failed"
    again = run_batch(items, opts, models=models)
    assert [o.status for o in again] == ["failed", "skipped", "skipped"] and models.loads == 1
    with pytest.raises(UserError, match="unknown model"):
        run_batch(items, UpscaleOptions(model="no-such-model", force=True), models=models)


def test_cli_many_files(inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new"  # made by the run
    with pytest.raises(SystemExit) as done:
        main(["upscale", str(inputs / "dog2.mp4"), str(inputs / "broken.mkv"), "--out-dir", str(out), "-m", "bicubic",
              "--frames", ":2", "-q"])
    got = capsys.readouterr()
    assert done.value.code == 1  # one file failed
    errors = [line for line in got.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "broken.mkv" in errors[0]
    assert "dog2.mp4" in got.out and got.out.strip().endswith("1 done, 0 skipped, 1 failed")
    assert probe(out / "dog2.mp4").num_frames == 2


def test_cli_two_paths_or_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["upscale", str(DATA / "dog48.mp4"), str(DATA / "dog64x36.mp4"), str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and len(err) == 1 and "--out-dir" in err[0] and "got 3 paths" in err[0]
