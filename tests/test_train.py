"""seemup train / finetune on tiny real clips: learning, SEEM-only tuning, exact resume, data layouts, recipe."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from damaged import damaged_h264
from train_helpers import TINY, params, run

from seemup.data.train_clips import discover_clips, open_clip, prepare_video_clip
from seemup.data.train_datasets import SampleSpec, VideoTrainDataset, augment
from seemup.data.train_masks import prepare_clip_masks
from seemup.errors import UserError
from seemup.imresize import imresize_uint8
from seemup.models import create_model, load_weights
from seemup.training import build_config, charbonnier
from seemup.training.distill import FeatureTap, copy_from_teacher, feature_loss
from seemup.training.export import export_weights
from seemup.training.scheduler import CosineAnnealingRestartLR

pytestmark = pytest.mark.usefixtures("isolated_caches")


# -- recipe pieces ------------------------------------------------------------------------------------------------

def test_cosine_restart_schedule_follows_basicsr() -> None:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [p], "lr": 1.0}])
    sched = CosineAnnealingRestartLR(opt, periods=[10, 10], restart_weights=[1, 0.5], eta_min=0.1)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[5] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lrs[10] == pytest.approx(0.1)  # end of the first cycle
    assert lrs[11] == pytest.approx(0.1 + 0.5 * 0.9 * 0.5 * (1 + math.cos(math.pi * 0.1)))  # restart at weight 0.5


def test_charbonnier_is_basicsr_form() -> None:
    a, b = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    assert charbonnier(a, b).item() == pytest.approx(math.sqrt(0.25 + 1e-12))
    assert charbonnier(a, a).item() == pytest.approx(1e-6)


def test_recipe_defaults_and_bad_options() -> None:
    cfg, _, _ = build_config({"model": "basicvsr", "data": ["x"]})
    assert (cfg.lr, cfg.batch_size, cfg.iters, cfg.periods, cfg.eta_min) == (2e-4, 6, 300_000, [300_000], 1e-7)
    assert cfg.betas == (0.9, 0.99) and cfg.flow_lr_mul == 0.125 and cfg.charbonnier_eps == 1e-12
    edvr, _, _ = build_config({"model": "edvr", "data": ["x"]})
    assert (edvr.model, edvr.lr, edvr.batch_size, edvr.num_frames, sum(edvr.periods)) == ("edvr-m", 4e-4, 4, 5, 600_000)
    with pytest.raises(UserError, match="SEEM model"):
        build_config({"model": "basicvsr", "data": ["x"], "freeze_backbone": True})
    with pytest.raises(UserError, match="periods"):
        build_config({"model": "basicvsr", "data": ["x"], "iters": 100, "periods": [50]})
    with pytest.raises(UserError, match="unknown model"):
        build_config({"model": "nope", "data": ["x"]})


def test_toml_config_file_is_overridden_by_flags(tmp_path: Path) -> None:
    from seemup.training.setup import build_config as bc

    (tmp_path / "run.toml").write_text('model = "basicvsr-tiny"\ndata = ["d"]\nlr = 1e-3\nbatch-size = 3\n')
    cfg, _, _ = bc({"batch_size": 5}, config_file=str(tmp_path / "run.toml"))
    assert (cfg.model, cfg.lr, cfg.batch_size) == ("basicvsr-tiny", 1e-3, 5)


# -- data ----------------------------------------------------------------------------------------------------------

def test_layouts_reds_vimeo_and_folders(tmp_path: Path) -> None:
    from seemup.video.frame_dir import write_image_rgb as write

    def write_image_rgb(path: Path, frame: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, frame)

    img = np.zeros((8, 8, 3), np.uint8)
    for clip in ("000", "001", "011"):
        write_image_rgb(tmp_path / "REDS" / "train_sharp" / clip / "00000000.png", img)
    for seq in ("00001/0001", "00001/0002"):
        for i in range(1, 8):
            write_image_rgb(tmp_path / "vimeo" / "sequences" / seq / f"im{i}.png", img)
    (tmp_path / "vimeo" / "sep_testlist.txt").write_text("00001/0002\n")
    write_image_rgb(tmp_path / "mixed" / "a" / "1.png", img)
    (tmp_path / "mixed" / "b.mp4").write_bytes(b"")

    assert [c.name for c in discover_clips(tmp_path / "REDS")] == ["REDS/001"]  # REDS4 clips left out
    assert len(discover_clips(tmp_path / "REDS", exclude_eval=False)) == 3
    vimeo = discover_clips(tmp_path / "vimeo")
    assert [c.name for c in vimeo] == ["Vimeo/00001/0001"] and len(vimeo[0].frames) == 7
    assert sorted((c.name, c.kind) for c in discover_clips(tmp_path / "mixed")) == [("a", "frames"), ("b", "video")]
    with pytest.raises(UserError, match="no clips"):
        discover_clips(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


class _FakeMasks:
    """A pointwise mask source (mask k = red > 4k), so a crop's masks can be checked against its LR pixels."""

    id = "fake-threshold-v1"

    def batch(self, frames: list[np.ndarray]) -> np.ndarray:
        return np.stack([(f[None, :, :, 0] > 4 * np.arange(64)[:, None, None]).astype(np.uint8) for f in frames])


def test_samples_are_deterministic_aligned_and_augmented(clips: Path, tmp_path: Path) -> None:
    opened = [open_clip(r, 1, tmp_path) for r in discover_clips(clips)]
    masks = [prepare_clip_masks(c, _FakeMasks(), tmp_path) for c in opened]
    ds = VideoTrainDataset(opened, SampleSpec(3, 16), batch_size=2, seed=5, rank=0, masks=masks)
    again = VideoTrainDataset(opened, SampleSpec(3, 16), batch_size=2, seed=5, rank=0, masks=masks)
    flips = set()
    for index in range(12):
        item, other = ds[index], again[index]
        assert all(torch.equal(item[k], other[k]) for k in item)
        d = ds.draw(index)
        flips.add((d["hflip"], d["vflip"], d["transpose"]))
        assert item["lr"].shape == (3, 3, 16, 16) and item["hr"].shape == (3, 3, 64, 64)
        assert item["masks"].shape == (3, 64, 16, 16) and item["masks"].dtype == torch.uint8
        hr = item["hr"].permute(0, 2, 3, 1).numpy()
        lr = item["lr"].permute(0, 2, 3, 1).numpy()
        # LR is the MATLAB-bicubic x1/4 of the HR crop, whatever flips/rotation were applied to both
        redo = np.stack([imresize_uint8(np.ascontiguousarray(f), 0.25) for f in hr])
        assert np.abs(redo.astype(int) - lr.astype(int)).max() <= 1
        # masks are the full frame's masks at the same place, transformed the same way (inside the crop, where
        # the full-frame LR and the crop's LR agree)
        want = np.stack([_FakeMasks().batch([f])[0] for f in lr])
        inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
        agree = (np.abs(redo.astype(int) - lr.astype(int)) == 0)
        assert (item["masks"].numpy()[inner] == want[inner]).mean() > 0.97 and agree.any()
    assert len(flips) >= 4
    assert not torch.equal(ds[0]["lr"], VideoTrainDataset(opened, SampleSpec(3, 16), 2, seed=6, masks=masks)[0]["lr"])


@pytest.mark.parametrize("centre_only", [False, True])
def test_device_side_degradation_matches_the_workers(clips: Path, tmp_path: Path, centre_only: bool) -> None:
    from seemup.training.trainer import _to_device

    opened = [open_clip(r, 1, tmp_path) for r in discover_clips(clips)]
    spec = SampleSpec(3, 16, centre_only)
    cpu = VideoTrainDataset(opened, spec, batch_size=2, seed=1)
    gpu_style = VideoTrainDataset(opened, spec, batch_size=2, seed=1, make_lr=False)
    for index in range(4):
        a = _to_device({k: v[None] for k, v in cpu[index].items()}, torch.device("cpu"), centre_only)
        b = _to_device({k: v[None] for k, v in gpu_style[index].items()}, torch.device("cpu"), centre_only)
        assert "lr" not in gpu_style[index] and a["hr"].shape == b["hr"].shape and torch.equal(a["hr"], b["hr"])
        assert (a["lr"] - b["lr"]).abs().max().item() <= 1 / 255 + 1e-6
        assert (a["lr"] != b["lr"]).float().mean().item() < 1e-3


def test_augment_keeps_frames_masks_in_register() -> None:
    a = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    m = a.transpose(0, 3, 1, 2)
    for flags in [(True, False, False), (False, True, True), (True, True, True)]:
        assert np.array_equal(augment(a, *flags, h_axis=1).transpose(0, 3, 1, 2), augment(m, *flags, h_axis=2))


def test_video_file_is_decoded_once_and_downscaled(tmp_path: Path) -> None:
    import subprocess

    from seemup.video import ffmpeg_exe

    video = tmp_path / "v.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=488x270:r=25", "-frames:v", "12",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True)
    ref = discover_clips(video)[0]
    clip = open_clip(ref, 4, tmp_path)  # 488x270 / 4 = 122x67, cut to a multiple of 4
    assert (clip.width, clip.height) == (120, 64) and clip.num_frames == 12
    again = open_clip(ref, 4, tmp_path)
    assert np.array_equal(clip.frame(7), again.frame(7))
    assert len(list((tmp_path / "clips").glob("*.u8"))) == 1


# -- training ------------------------------------------------------------------------------------------------------

def _fixed_loss(model: torch.nn.Module, dataset: VideoTrainDataset, indices: range) -> float:
    """Charbonnier loss on the same samples every time (iterations far past the run's own draws)."""
    with torch.no_grad():
        items = [dataset[i] for i in indices]
        lr = torch.stack([it["lr"] for it in items]).float() / 255
        hr = torch.stack([it["hr"] for it in items]).float() / 255
        return charbonnier(model(lr), hr).item()


def test_training_reduces_loss_and_exports_loadable_weights(clips: Path, tmp_path: Path) -> None:
    from seemup.training import Trainer

    out = tmp_path / "run"
    opts = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "run_dir": str(out), "iters": 12,
            "periods": [12], "lr": 2e-3, "batch_size": 2, "cache_dir": str(tmp_path / "c"),
            "val_data": str(clips / "01_dog"), "val_every": 12, "val_frames": 4}
    cfg, _, _ = build_config(opts)
    trainer = Trainer(cfg)
    assert [c.name for c in trainer.data.clips] == ["bedroom"]  # the validation clip is not trained on
    held_out = range(10_000, 10_006)
    before = _fixed_loss(trainer.model, trainer.dataset, held_out)
    result = trainer.run()
    after = _fixed_loss(trainer.model, trainer.dataset, held_out)
    assert after < 0.9 * before
    rows = list(csv.DictReader((out / "train_log.csv").open()))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 13)) and rows[-1]["val_psnr"]
    assert result.val_psnr is not None and 15 < result.val_psnr < 50
    assert result.total_params == result.trainable_params > 0
    model = load_weights(create_model("basicvsr-tiny"), result.weights)
    saved = torch.load(result.weights, weights_only=True)
    assert saved["meta"]["model"] == "basicvsr-tiny" and saved["meta"]["config"]["iters"] == 12
    assert all(torch.equal(v, saved["params"][k]) for k, v in model.state_dict().items())
    assert all(torch.equal(v, trainer.model.state_dict()[k]) for k, v in model.state_dict().items())
    assert (out / "config.json").is_file() and len(list((out / "weights").glob("iter_*.pth"))) == 6


def test_freeze_backbone_trains_only_seem(clips: Path, tmp_path: Path) -> None:
    init = tmp_path / "backbone.pth"
    torch.manual_seed(0)
    export_weights(init, create_model("basicvsr-tiny"), model_name="basicvsr-tiny", mask_source_id=None, config={},
                   iteration=0)
    result = run({**TINY, "mode": "finetune", "model": "basicvsr-tiny-seem", "weights": str(init),
                  "freeze_backbone": True, "masks": "classical", "data": [str(clips)], "iters": 3, "periods": [3],
                  "run_dir": str(tmp_path / "ft"), "cache_dir": str(tmp_path / "c")})
    before, after = params(init), params(result.weights)
    backbone = [k for k in after if not k.startswith("seem.")]
    assert sorted(backbone) == sorted(before)
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # bit for bit
    fresh = create_model("basicvsr-tiny-seem").state_dict()
    zero_init = [k for k in after if k.startswith("seem.") and k.endswith("conv2.weight") and ".blocks." in k]
    assert zero_init and all(after[k].abs().sum() > 0 and fresh[k].abs().sum() == 0 for k in zero_init)
    assert result.trainable_params == sum(v.numel() for k, v in after.items() if k.startswith("seem."))
    assert result.trainable_params < result.total_params
    meta = torch.load(result.weights, weights_only=True)["meta"]
    assert meta["mask_source_id"].startswith("classical") and meta["mask_source_id"] == result.mask_source_id


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(clips: Path, tmp_path: Path) -> None:
    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "cache_dir": str(tmp_path / "c")}
    straight = run({**common, "run_dir": str(tmp_path / "a")})
    run({**common, "run_dir": str(tmp_path / "b"), "iters": 2})  # "interrupted" after 2 of 4 iterations
    with pytest.raises(UserError, match="cannot change"):
        build_config({"lr": 5e-3}, resume=str(tmp_path / "b"))
    resumed = run({"iters": 4, "workers": 1}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], params(tmp_path / "b" / "weights" / "iter_000000002.pth")[k]) for k in a)
    rows = list(csv.DictReader((tmp_path / "b" / "train_log.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert [r["loss"] for r in rows] == [r["loss"] for r in csv.DictReader((tmp_path / "a" / "train_log.csv").open())]


def test_ctrl_c_saves_a_state_that_resumes_exactly(clips: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from seemup.training import Trainer

    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "cache_dir": str(tmp_path / "c"),
              "save_every": 10, "workers": 1}
    straight = run({**common, "run_dir": str(tmp_path / "a")})
    step = Trainer.step

    def step_then_ctrl_c(self: Trainer, batch: dict) -> float:
        loss = step(self, batch)
        if self.iteration == 1:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during step 1
        return loss

    monkeypatch.setattr(Trainer, "step", step_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run({**common, "run_dir": str(tmp_path / "b")})
    assert [p.name for p in (tmp_path / "b" / "states").iterdir()] == ["iter_000000001.state"]
    monkeypatch.setattr(Trainer, "step", step)
    resumed = run({}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert resumed.iteration == 4 and all(torch.equal(a[k], b[k]) for k in a)


def test_reflection_circle_padding_like_basicsr() -> None:
    from seemup.data.frame_indices import window_indices as reflection_circle_indices

    assert reflection_circle_indices(0, 10, 5) == [4, 3, 0, 1, 2]
    assert reflection_circle_indices(9, 10, 5) == [7, 8, 9, 6, 5]
    assert reflection_circle_indices(4, 10, 5) == [2, 3, 4, 5, 6]


def test_teacher_adds_a_distillation_term(clips: Path, tmp_path: Path) -> None:
    teacher = tmp_path / "teacher.pth"
    torch.manual_seed(123)
    export_weights(teacher, create_model("basicvsr-tiny"), model_name="basicvsr-tiny", mask_source_id=None,
                   config={}, iteration=0)
    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "iters": 1, "periods": [1],
              "cache_dir": str(tmp_path / "c")}
    plain = run({**common, "run_dir": str(tmp_path / "plain")})
    taught = run({**common, "run_dir": str(tmp_path / "taught"), "teacher": f"basicvsr-tiny:{teacher}",
                  "teacher_weight": 0.5})
    assert taught.last_loss > plain.last_loss + 1e-4  # same first batch and weights, plus 0.5 x teacher term
    with pytest.raises(UserError, match="teacher"):
        run({**common, "run_dir": str(tmp_path / "bad"), "teacher": "edvr-m:" + str(teacher)})


def test_cli_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seemup.cli import main

    for argv, message in [
        (["train", "--model", "basicvsr-tiny", "--data", str(tmp_path / "none")], "not found"),
        (["train", "--model", "basicvsr-tiny"], "no training data"),
        (["finetune", "--model", "basicvsr-tiny", "--freeze-backbone", "--data", "x"], "SEEM model"),
        (["train", "--resume", str(tmp_path)], "no training state"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code != 0 and err.startswith("error:") and message in err, (argv, err)
        assert "Traceback" not in err


def test_exported_model_config_rebuilds_the_network(tmp_path: Path) -> None:
    """Weights of a non-default network (here a lite model with 2 blocks and 16 channels) load from a path alone."""
    from seemup.weights import build_model

    model = create_model("basicvsr-lite", num_block=2, num_feat=16)
    path = tmp_path / "lite-small.pth"
    export_weights(path, model, model_name="basicvsr-lite", mask_source_id=None, config={"command": "test"},
                   iteration=1, model_config={"num_block": 2, "num_feat": 16})
    built, _ = build_model("basicvsr-lite", str(path))
    assert built.num_feat == 16 and len(built.forward_trunk.main[2]) == 2
    assert all(torch.equal(v, built.state_dict()[k]) for k, v in model.state_dict().items())


def test_damaged_training_video_is_refused_unless_skipped(tmp_path: Path) -> None:
    """Training data goes through the same frame count as upscaling: a clip that loses frames to decoding errors
    is refused with the count, or cached as the frames that decode when asked (a separate cache entry)."""
    bad = damaged_h264(tmp_path, frames=12)
    ref = discover_clips(bad)[0]
    with pytest.raises(UserError, match="1 of 12 frames cannot be decoded"):
        prepare_video_clip(ref, 1, tmp_path / "cache")
    clip = prepare_video_clip(ref, 1, tmp_path / "cache", skip_damaged=True)
    assert clip.num_frames == 11 and len(list((tmp_path / "cache" / "clips").glob("*.u8"))) == 1


def test_copy_from_teacher_and_feature_tap() -> None:
    """basicvsr-lite shares all of the official BasicVSR's tensors but the dropped blocks and its last conv; the
    tap records both trunks' hand-over features of every frame, so student and teacher lists line up."""
    torch.manual_seed(0)
    teacher, student = create_model("basicvsr").eval(), create_model("basicvsr-lite").eval()
    fresh = copy_from_teacher(student, teacher)
    assert fresh == ["conv_last.bias", "conv_last.weight"]
    t_state = teacher.state_dict()
    assert all(torch.equal(v, t_state[k]) for k, v in student.state_dict().items() if k not in fresh)
    with pytest.raises(UserError, match="shares no trunk tensors"):
        copy_from_teacher(create_model("basicvsr-tiny"), teacher)
    t_tap, s_tap = FeatureTap(teacher), FeatureTap(student)
    lr = torch.rand(1, 3, 3, 16, 16)
    with torch.no_grad():
        teacher(lr)  # not recording yet (a validation pass)
        t_tap.start()
        s_tap.start()
        teacher(lr)
        student(lr)
    t_feats, s_feats = t_tap.take(), s_tap.take()
    assert len(t_feats) == len(s_feats) == 6 and all(f.shape == (1, 64, 16, 16) for f in t_feats)
    with torch.no_grad():
        teacher(lr)  # recording stopped at take()
    assert t_tap.take() == []
    assert float(feature_loss(t_feats, t_feats)) < 1e-5 < float(feature_loss(s_feats, t_feats))


def test_feature_distillation_run(clips: Path, tmp_path: Path) -> None:
    """--init-from-teacher starts basicvsr-lite from the teacher's tensors, --feature-weight adds the feature
    term to the loss (same first batch, so the loss grows by it), and bad combinations are one-line errors."""
    teacher_file = tmp_path / "teacher.pth"
    torch.manual_seed(5)
    teacher = create_model("basicvsr")
    export_weights(teacher_file, teacher, model_name="basicvsr", mask_source_id=None, config={}, iteration=0)
    common = {**TINY, "model": "basicvsr-lite", "data": [str(clips)], "iters": 1, "periods": [1], "lr": 1e-12,
              "cache_dir": str(tmp_path / "c"), "teacher": f"basicvsr:{teacher_file}", "teacher_weight": 0.0,
              "init_from_teacher": True}
    plain = run({**common, "run_dir": str(tmp_path / "plain")})
    taught = run({**common, "run_dir": str(tmp_path / "taught"), "feature_weight": 0.5})
    assert taught.last_loss > plain.last_loss + 1e-3
    block = "forward_trunk.main.2.7.conv1.weight"
    assert torch.allclose(params(taught.weights)[block], teacher.state_dict()[block], atol=1e-9)
    for extra, message in [({"teacher": None, "feature_weight": 0.2}, "need a teacher"),
                           ({"weights": str(teacher_file)}, "choose one"),
                           ({"model": "basicvsr-tiny", "init_from_teacher": False, "feature_weight": 0.2}, "width")]:
        with pytest.raises(UserError, match=message):
            run({**common, "run_dir": str(tmp_path / "bad"), **extra})
