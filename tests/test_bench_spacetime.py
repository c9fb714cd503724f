"""`seemup bench --fps-factor 2`: the space-time protocol of Zooming Slow-Mo / TMNet / RSTT (which frames go
in, which are scored as known or new, how an even-length clip ends), the cascade and the space-time path on
stub networks whose right answers are known, the CLI, its JSON and its one-line errors."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from footage import DATA

from seemup.cli import main
from seemup.data.eval_datasets import resolve_eval_dataset
from seemup.evaluation.spacetime import WINDOW, known_frames, plan_passes, windows
from seemup.evaluation.spacetime_run import SplitClipScore, dense_clip, run_spacetime_bench
from seemup.metrics import psnr
from seemup.pipeline.interpolate import Interpolator
from seemup.weights.load import LoadedModel

GT_DATA = DATA / "bench-gt"
# A clip whose frames are flat colours that change non-linearly: a frame made by blending its neighbours is
# wrong by a known amount, a frame that went in comes back exactly (the x4 stub repeats pixels).
LEVELS = [40, 100, 60, 140, 80, 20, 120, 200, 160, 60, 180, 100, 220, 140]


# ----------------------------------------------------------------------------- the protocol's frame indices

def test_windows_are_the_published_test_codes() -> None:
    """7 frames, each window starting on the last one's last frame; one more ending on the clip's last frame."""
    assert windows(7) == [tuple(range(7))]
    assert windows(13) == [tuple(range(7)), tuple(range(6, 13))]
    assert windows(10) == [tuple(range(7)), tuple(range(3, 10))]
    assert windows(34)[-2:] == [tuple(range(24, 31)), tuple(range(27, 34))]
    with pytest.raises(ValueError, match="at least 7"):
        windows(6)


def test_odd_length_clip_takes_every_second_frame_and_scores_all() -> None:
    (p,) = plan_passes(9)  # the last window (2..8) has the same inputs' parity: one pass
    assert p.inputs == (0, 2, 4, 6, 8) and p.scored == tuple(range(9))
    assert known_frames(9) == [True, False] * 4 + [True]


def test_even_length_clip_ends_with_a_window_on_the_other_frames() -> None:
    """The last GT frame of an even clip has no successor input: as in the papers' code, the frames after
    the regular windows come from a window ending on it, whose inputs are the other half of the frames."""
    main_pass, tail = plan_passes(10)
    assert main_pass.inputs == (0, 2, 4, 6) and main_pass.scored == tuple(range(7))
    assert tail.inputs == (3, 5, 7, 9) and tail.scored == (7, 8, 9)
    assert known_frames(10) == [True, False, True, False, True, False, True, True, False, True]
    main_pass, tail = plan_passes(8)
    assert tail.inputs == (1, 3, 5, 7) and tail.scored == (7,)


@pytest.mark.parametrize(("clip", "frames", "known", "new"), [
    ("calendar", 41, 21, 20), ("city", 34, 18, 16), ("foliage", 49, 25, 24), ("walk", 47, 24, 23),
])
def test_vid4_clips(clip: str, frames: int, known: int, new: int) -> None:
    roles = known_frames(frames)
    assert (sum(roles), len(roles) - sum(roles)) == (known, new), clip
    if frames % 2:  # odd: one pass over the odd-numbered (1-based) frames
        assert [p.inputs for p in plan_passes(frames)] == [tuple(range(0, frames, 2))]


@pytest.mark.parametrize("frames", range(WINDOW, 60))
def test_every_frame_is_scored_once_between_its_own_inputs(frames: int) -> None:
    passes = plan_passes(frames)
    scored = [f for p in passes for f in p.scored]
    assert scored == list(range(frames))  # once each, in order
    for p in passes:
        assert all(b - a == 2 for a, b in zip(p.inputs, p.inputs[1:], strict=False)) and len(p.inputs) >= 4
        assert all(p.inputs[0] <= f <= p.inputs[-1] for f in p.scored)
        assert all(f in p.inputs for f in p.scored if p.is_known(f))


# ----------------------------------------------------------------------------- stub networks

class NearestX4(torch.nn.Module):
    """x4 by repeating pixels: a flat LR frame gives the flat HR frame it came from."""

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        return lr.repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)


class BlendST(torch.nn.Module):
    """A space-time stub: the frame at t is the blend of the two frames, x4 by repeating pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[float]] = []

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts: list[float], masks: object = None) -> torch.Tensor:
        self.calls.append(list(ts))
        out = torch.stack([(1 - t) * lr0 + t * lr1 for t in ts], 1)
        return out.repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)


class BlendRife(Interpolator):
    """RIFE's rule (``frames_after``) around a stand-in for its network: the frame at t is (1 - t) a + t b,
    rounded; records the pairs it is asked."""

    weights = "blend"

    def __init__(self, **_: object) -> None:  # no network to load
        self.pairs: list[tuple[int, int]] = []

    def between(self, a: np.ndarray, b: np.ndarray, ts: list[float]) -> list[np.ndarray]:
        self.pairs.append((int(a[0, 0, 0]), int(b[0, 0, 0])))
        return [np.round((1 - t) * a.astype(np.float64) + t * b).astype(np.uint8) for t in ts]


def _flat(level: int, size: tuple[int, int] = (16, 16)) -> np.ndarray:
    return np.full((*size, 3), level, np.uint8)


def _dataset(root: Path, clips: dict[str, list[int]]) -> Path:
    for name, levels in clips.items():
        folder = root / "GT" / name
        folder.mkdir(parents=True)
        for i, v in enumerate(levels):
            cv2.imwrite(str(folder / f"{i:03d}.png"), _flat(v))
    return root


def _expected(levels: list[int]) -> tuple[float, float]:
    """Mean Y-PSNR of the new frames if each is the blend of its pass's inputs around it (known: exact)."""
    values = []
    for p in plan_passes(len(levels)):
        for f in p.scored:
            if not p.is_known(f):
                guess = _flat(round((levels[f - 1] + levels[f + 1]) / 2), (64, 64))
                values.append(psnr(guess, _flat(levels[f], (64, 64)), 0, "y"))
    return float(np.mean(values)), float(len(values))


def test_dense_clip_is_the_upscale_paths_rule() -> None:
    """Between two inputs the frame at t = 1/2; across a scene cut the earlier frame; the last one repeated."""
    frames = [_flat(v, (4, 6)) for v in (0, 40, 80, 200)]
    blend = BlendRife()
    dense = dense_clip(np.stack(frames), blend, is_cut=lambda a, b: int(b[0, 0, 0]) - int(a[0, 0, 0]) > 100)
    assert [int(f[0, 0, 0]) for f in dense] == [0, 20, 40, 60, 80, 80, 200, 200]
    assert blend.pairs == [(0, 40), (40, 80)]


def test_cascade_scores_known_and_new_frames_apart(tmp_path: Path) -> None:
    clips = {"odd": LEVELS[:9], "even": LEVELS[:10]}
    ds = resolve_eval_dataset(_dataset(tmp_path, clips))
    run = LoadedModel.of(NearestX4(), "nearest")
    blend = BlendRife()
    report = run_spacetime_bench(ds, [run], device=torch.device("cpu"), interpolator=blend, is_cut=lambda a, b: False)
    (result,) = report.results
    for name, levels in clips.items():
        clip = result.clips[name]
        assert isinstance(clip, SplitClipScore)
        assert clip.known is not None and clip.new is not None and clip.frames == len(levels)
        assert clip.known.psnr == float("inf") and clip.known.frames == sum(known_frames(len(levels)))
        new_psnr, new_frames = _expected(levels)
        assert clip.new.frames == new_frames and clip.new.psnr == pytest.approx(new_psnr, abs=1e-9)
    assert (LEVELS[3], LEVELS[5]) in blend.pairs  # the even clip's last window: inputs 3, 5, 7, 9
    assert result.interpolator == "blend" and report.fps_factor == 2 and report.published == ()
    assert result.part("new").frames == 4 + 4 and result.ms_per_frame > 0


def test_spacetime_model_makes_each_frame_from_its_pair(tmp_path: Path) -> None:
    ds = resolve_eval_dataset(_dataset(tmp_path, {"even": LEVELS[:10]}))
    net = BlendST()
    run = LoadedModel.of(net, "blend-st", kind="spacetime")
    report = run_spacetime_bench(ds, [run], device=torch.device("cpu"))  # no cascade: RIFE is not loaded
    clip = report.results[0].clips["even"]
    assert clip.known.psnr == float("inf") and clip.new.psnr == pytest.approx(_expected(LEVELS[:10])[0], abs=1e-9)
    # main pass 0, 2, 4, 6: t = 0 and 1/2 per pair, t = 1 after the last; the tail (3, 5, 7, 9): only its last
    # pair, for the frames 7, 8, 9 it scores
    assert net.calls == [[0.0, 0.5], [0.0, 0.5], [0.0, 0.5, 1.0], [0.0, 0.5, 1.0]]
    assert report.results[0].interpolator is None


# ----------------------------------------------------------------------------- the command

class StubInterpolator(BlendRife):
    """Replaces RIFE in the command's run (``Interpolator(device=..., precision=...)``)."""

    weights = "stub-rife"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


@pytest.fixture
def vid4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root with Vid4's four clip names: a crop of real footage (tests/data/bench-gt) panned back and forth."""
    monkeypatch.setattr("seemup.pipeline.interpolate.Interpolator", StubInterpolator)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    frame = cv2.imread(str(GT_DATA / "dog" / "000.png"))
    for clip, n in (("calendar", 7), ("city", 8), ("foliage", 7), ("walk", 8)):
        folder = tmp_path / "Vid4" / "GT" / clip
        folder.mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(folder / f"{i:03d}.png"), frame[16:48, 8 * [0, 1, 2, 1][i % 4]:][:, :48])
    return tmp_path


def test_cli_table_json_and_published_rows(vid4: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "st.json"
    code, out, err = _cli(["bench", "--dataset", "vid4", "--data-root", str(vid4), "--fps-factor", "2", "--model",
                           "basicvsr-tiny", "--device", "cpu", "--json", str(out_json), "--quiet"], capsys)
    assert code == 0, err
    for needle in ("stub-rife → basicvsr-tiny on Vid4 · x2 time", "Known", "New", "Zooming Slow-Mo (published)",
                   "26.31/0.7976", "TMNet (published)", "26.43/0.8016", "RSTT-L (published)", "26.43/0.7994"):
        assert needle in out, needle
    data = json.loads(out_json.read_text())
    assert data["fps_factor"] == 2 and data["interpolator"] == "stub-rife" and data["model"] == "basicvsr-tiny"
    assert [p["method"] for p in data["published"]] == ["Zooming Slow-Mo", "TMNet", "RSTT-L"]
    city = data["clips"]["city"]
    assert (city["frames"], city["known"]["frames"], city["new"]["frames"]) == (8, 5, 3)
    avg = data["average"]
    assert avg["frames"] == 30 and avg["known"]["frames"] == 4 + 5 + 4 + 5 and avg["new"]["frames"] == 3 * 4
    base = data["baseline"]
    assert base["model"] == "bicubic" and base["interpolator"] == "stub-rife"
    assert base["average"]["known"]["psnr"] > base["average"]["new"]["psnr"] + 1  # new: the stub's blends of motion


@pytest.mark.slow
def test_cli_runs_a_space_time_model_from_an_official_layout_file(vid4: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from seemup.models.safa import SAFA

    with torch.random.fork_rng():
        torch.manual_seed(1)
        state = SAFA().state_dict()
    path = tmp_path / "my-safa.pkl"
    torch.save(OrderedDict((f"module.{k}", v) for k, v in state.items()), path)
    code, out, err = _cli(["bench", "--dataset", str(vid4 / "Vid4"), "--fps-factor", "2", "--model", "safa",
                           "--weights", str(path), "--baseline", "none", "--max-frames", "7", "--device", "cpu",
                           "--quiet"], capsys)
    assert code == 0, err
    assert "safa (my-safa) on Vid4 · x2 time" in out and "Known" in out and "published" not in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--fps-factor", "3"], "x2 in time"),
    (["--max-frames", "5"], "--max-frames 7 or more"),
    (["--model", "safa"], "safa-adobe240"),
])
def test_cli_errors_are_one_line(vid4: Path, extra: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "--dataset", "vid4", "--data-root", str(vid4), "--device", "cpu", "--quiet", "--fps-factor", "2",
            *extra]
    code, _, err = _cli(args if "--model" in extra else [*args, "--model", "bicubic"], capsys)
    assert code != 0 and "error:" in err and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_refuses_centre_only_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seq = tmp_path / "vimeo90k" / "vimeo_septuplet"
    (seq / "sequences" / "00001" / "0001").mkdir(parents=True)
    for i in range(1, 8):
        cv2.imwrite(str(seq / "sequences" / "00001" / "0001" / f"im{i}.png"), _flat(10 * i))
    (seq / "sep_testlist.txt").write_text("00001/0001\n")
    code, _, err = _cli(["bench", "--dataset", "vimeo90k-t", "--data-root", str(tmp_path), "--model", "bicubic",
                         "--fps-factor", "2", "--device", "cpu"], capsys)
    assert code != 0 and "centre frame" in err and "Traceback" not in err


@pytest.mark.slow
def test_two_torchrun_ranks_give_the_single_process_scores(tmp_path: Path) -> None:
    """Under torchrun each rank scores a block of the clips (RIFE itself, as a user runs it); the JSON equals a
    single process's but for times and memory."""
    import os
    import subprocess
    import sys

    for name in ("dog", "blocks"):
        folder = tmp_path / "set" / "GT" / name
        folder.mkdir(parents=True)
        for i in range(7):
            frame = cv2.imread(str(GT_DATA / name / f"{[0, 1, 2, 1][i % 4]:03d}.png"))
            cv2.imwrite(str(folder / f"{i:03d}.png"), frame[:32, 4 * i:][:, :48])
    args = ["bench", "--dataset", "set", "--fps-factor", "2", "--model", "basicvsr-tiny", "--device", "cpu",
            "--quiet", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "seemup"]
    two = subprocess.run([*launcher, *args, "two.json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "seemup", *args, "one.json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.stdout.count("Average") == one.stdout.count("Average") > 0  # rank 0 prints, rank 1 does not

    def scores(data: object) -> object:
        if isinstance(data, dict):
            return {k: scores(v) for k, v in data.items() if k not in ("ms_per_frame", "peak_memory_mb")}
        return data

    single, ranks = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two"))
    assert scores(ranks) == scores(single) and set(single["clips"]) == {"dog", "blocks"}
    assert single["average"]["new"]["frames"] == 2 * 3


# ----------------------------------------------------------------------------- window and SEEM models in the cascade

def _threshold_masks(frames: list[np.ndarray]) -> np.ndarray:
    """A pointwise mask source (mask k = red > 4k): a frame's masks say which frame they belong to."""
    return np.stack([(f[None, :, :, 2] > 4 * np.arange(64)[:, None, None]).astype(np.uint8) for f in frames])


def _masks_of(lr: torch.Tensor) -> torch.Tensor:
    """What ``_threshold_masks`` gives for LR frames [..., 3, h, w] in 0..1 (channel 0 is red here)."""
    red = (lr[..., 0, :, :] * 255).round()
    return (red.unsqueeze(-3) > 4 * torch.arange(64).view(64, 1, 1)).to(torch.uint8)


class CentreX4(torch.nn.Module):
    """A window stub: the centre frame of the window, x4 by repeating pixels; with SEEM it checks that the masks
    of every frame of the window are that frame's."""

    def __init__(self, seem: bool = False) -> None:
        super().__init__()
        self.seem, self.windows = seem, 0

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        assert lr.shape[1] == 3 and (masks is not None) == self.seem
        if self.seem:
            assert torch.equal(masks.to(torch.uint8), _masks_of(lr))
        self.windows += 1
        return lr[:, 1].repeat_interleave(4, dim=-2).repeat_interleave(4, dim=-1)


class MaskCheckingX4(NearestX4):
    """A recurrent SEEM stub: checks the masks of every frame of the dense clip, new frames included."""

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        assert masks is not None and masks.shape[:2] == lr.shape[:2]
        assert torch.equal(masks.to(torch.uint8), _masks_of(lr))
        return super().forward(lr)


class MaskCheckingST(BlendST):
    """A space-time SEEM stub: checks that it gets the masks of its two input frames, in order."""

    def forward(self, lr0: torch.Tensor, lr1: torch.Tensor, ts: list[float], masks: object = None) -> torch.Tensor:
        assert isinstance(masks, torch.Tensor) and masks.shape[:2] == (1, 2)
        assert torch.equal(masks.to(torch.uint8), _masks_of(torch.stack((lr0, lr1), 1)))
        return super().forward(lr0, lr1, ts)


def test_window_and_seem_models_run_the_cascade_on_the_dense_clip(tmp_path: Path) -> None:
    clips = {"odd": LEVELS[:9], "even": LEVELS[:10]}
    ds = resolve_eval_dataset(_dataset(tmp_path, clips))
    window, seem_window = CentreX4(), CentreX4(seem=True)
    runs = [LoadedModel.of(window, "win", kind="window", num_frame=3),
            LoadedModel.of(seem_window, "win-seem", kind="window", num_frame=3, seem=True),
            LoadedModel.of(MaskCheckingX4(), "rec-seem", seem=True),
            LoadedModel.of(MaskCheckingST(), "st-seem", kind="spacetime", seem=True)]
    report = run_spacetime_bench(ds, runs, device=torch.device("cpu"), interpolator=BlendRife(),
                                 is_cut=lambda a, b: False, masks=_threshold_masks, mask_source="threshold")
    for result in report.results:
        for name, levels in clips.items():
            clip = result.clips[name]
            assert clip.frames == len(levels) and clip.known.psnr == float("inf")
            assert clip.new.psnr == pytest.approx(_expected(levels)[0], abs=1e-9)
    scored = sum(len(p.scored) for levels in clips.values() for p in plan_passes(len(levels)))
    assert window.windows == seem_window.windows == scored  # one window per scored frame
    with pytest.raises(ValueError, match="mask function"):
        run_spacetime_bench(ds, runs[1:2], device=torch.device("cpu"), interpolator=BlendRife())
