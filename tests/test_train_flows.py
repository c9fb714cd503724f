"""--precompute-flows: the frozen SPyNet's flows computed once per clip, cut out and transformed with each crop."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from train_helpers import TINY, params, run

from seemup.data.train_clips import ClipRef, lr_frame, open_clip
from seemup.data.train_datasets import SampleSpec, VideoTrainDataset, augment, augment_flows
from seemup.data.train_flows import prepare_clip_flows
from seemup.errors import UserError
from seemup.models import create_model
from seemup.models.basicvsr import BasicVSR
from seemup.models.blocks import flow_warp
from seemup.training import Trainer, build_config
from seemup.training.export import export_weights
from seemup.training.frozen_spynet import flow_function, flow_id

pytestmark = [pytest.mark.usefixtures("isolated_caches")]


def test_transformed_flows_warp_like_the_transformed_frames() -> None:
    """Warping then flipping/rotating equals flipping/rotating the frame and its flow, then warping."""
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 12, 12, generator=g)
    flow = torch.nn.functional.interpolate(torch.randn(1, 2, 3, 3, generator=g) * 3, size=(12, 12), mode="bilinear")
    warped = flow_warp(image, flow.permute(0, 2, 3, 1))[0].numpy()
    for flips in itertools.product([False, True], repeat=3):
        img_t = torch.from_numpy(np.ascontiguousarray(augment(image[0].numpy(), *flips, h_axis=1)))[None]
        flow_t = torch.from_numpy(np.ascontiguousarray(augment_flows(flow[0].numpy(), *flips)))[None]
        got = flow_warp(img_t, flow_t.permute(0, 2, 3, 1))[0].numpy()
        np.testing.assert_allclose(got, augment(warped, *flips, h_axis=1), atol=1e-5, err_msg=str(flips))
    assert not np.allclose(augment_flows(flow[0].numpy(), True, False, False), np.flip(flow[0].numpy(), axis=2))


def test_crops_get_the_full_frame_flows_cut_out_and_transformed(clips: Path, tmp_path: Path) -> None:
    clip = open_clip(ClipRef("01_dog", "frames", clips / "01_dog", sorted((clips / "01_dog").glob("*.png"))), 1,
                     tmp_path)
    torch.manual_seed(3)
    model = create_model("basicvsr-lite").eval()  # flows at half resolution, upsampled: the lite path
    fid = flow_id(model)
    flows = prepare_clip_flows(clip, flow_function(model, torch.device("cpu")), fid, tmp_path, step=2)
    lr = np.stack([lr_frame(clip, i) for i in range(clip.num_frames)])
    lr_t = torch.from_numpy(lr).permute(0, 3, 1, 2).float().div(255)[None]
    with torch.no_grad():
        fw, bw = model.compute_flows(lr_t)
    full = torch.stack([fw[0], bw[0]]).numpy()  # [2, T-1, 2, h, w]
    assert full.shape == flows.shape and np.abs(full).max() > 0.05
    np.testing.assert_allclose(np.asarray(flows.array, np.float32), full, atol=2e-3, rtol=2e-3)

    spec = SampleSpec(num_frames=3, patch=16)
    dataset = VideoTrainDataset([clip], spec, batch_size=2, seed=1, flows=[[flows, flows]])
    seen = set()
    for i in range(16):
        d, item = dataset.draw(i), dataset[i]
        seen.add((d["hflip"], d["vflip"], d["transpose"]))
        want = augment_flows(full[:, d["start"]:d["start"] + 2, :, d["top"]:d["top"] + 16, d["left"]:d["left"] + 16],
                             d["hflip"], d["vflip"], d["transpose"])
        assert item["flows"].shape == (2, 2, 2, 2, 16, 16) and item["flows"].dtype == torch.float32
        np.testing.assert_allclose(item["flows"][1].numpy(), want, atol=2e-3, rtol=2e-3)
    assert len(seen) >= 4

    # the network uses given flows instead of its own: the same output when they are its own flows
    with torch.no_grad():
        np.testing.assert_allclose(model(lr_t[:, :3], flows=(fw[:, :2], bw[:, :2])).numpy(),
                                   model(lr_t[:, :3]).numpy(), atol=1e-6)
        assert not torch.allclose(model(lr_t[:, :3], flows=(fw[:, :2] * 0, bw[:, :2] * 0)), model(lr_t[:, :3]))
        with pytest.raises(ValueError, match="flows must be"):
            model(lr_t[:, :3], flows=(fw, bw))

    def refuse(_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise AssertionError("prepared flows must be reused")

    again = prepare_clip_flows(clip, refuse, fid, tmp_path)
    assert np.array_equal(np.asarray(again.array), np.asarray(flows.array))
    with pytest.raises(AssertionError):  # other SPyNet weights: another file
        prepare_clip_flows(clip, refuse, fid + "x", tmp_path)
    assert not list((tmp_path / "flows").glob(".*.tmp"))  # the failed attempt left no temp file


def test_training_with_precomputed_flows(clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPyNet runs on full LR frames only (once per clip and network), never on a training crop; the student and
    a teacher with another SPyNet get their own flows; the run resumes exactly; SPyNet stays unchanged."""
    teacher = tmp_path / "teacher.pth"
    torch.manual_seed(123)
    export_weights(teacher, create_model("basicvsr-tiny"), model_name="basicvsr-tiny", mask_source_id=None,
                   config={}, iteration=0)
    sizes: list[tuple[int, int]] = []
    real = BasicVSR.compute_flows

    def counted(self: BasicVSR, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sizes.append(tuple(lr.shape[-2:]))
        return real(self, lr)

    monkeypatch.setattr(BasicVSR, "compute_flows", counted)
    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "cache_dir": str(tmp_path / "c"),
              "precompute_flows": True, "fix_flow_iters": 10, "teacher": f"basicvsr-tiny:{teacher}",
              "teacher_weight": 0.5, "iters": 3, "periods": [3]}
    straight = run({**common, "run_dir": str(tmp_path / "a")})
    assert sizes and all(s == (24, 32) for s in sizes), sizes  # whole LR frames, never a 16 px crop
    assert len(list((tmp_path / "c" / "flows").glob("*.f16"))) == 4  # 2 clips x (student, teacher)
    first = len(sizes)
    run({**common, "run_dir": str(tmp_path / "b"), "iters": 2})
    assert len(sizes) == first  # the flows were reused from the cache
    resumed = run({"iters": 3}, resume=str(tmp_path / "b"))
    a, b = params(straight.weights), params(resumed.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(TINY["seed"])
    init = create_model("basicvsr-tiny").state_dict()
    assert all(torch.equal(a[k], init[k]) for k in a if k.startswith("spynet."))
    assert not all(torch.equal(a[k], init[k]) for k in a)

    plain = run({**common, "run_dir": str(tmp_path / "p"), "precompute_flows": False})
    assert any(s == (16, 16) for s in sizes)  # without the option SPyNet runs on every crop
    assert abs(plain.last_loss - straight.last_loss) < 0.5 * straight.last_loss  # same task, other flows


def test_precompute_flows_needs_a_frozen_spynet(clips: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    common = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "cache_dir": str(tmp_path / "c"),
              "precompute_flows": True, "run_dir": str(tmp_path / "r")}
    with pytest.raises(UserError, match="frozen for the whole run.*--fix-flow-iters 4"):
        run({**common, "fix_flow_iters": 2})
    with pytest.raises(UserError, match="no flow network"):
        run({**common, "model": "edvr-m", "num_frames": 5})
    run({**common, "fix_flow_iters": 4, "iters": 2, "periods": [6]})
    with pytest.raises(UserError, match="frozen for the whole run"):  # extending past the freeze is refused
        run({"iters": 6}, resume=str(tmp_path / "r"))
    assert build_config({}, resume=str(tmp_path / "r"))[0].precompute_flows

    for precompute, said in [(False, "--precompute-flows would compute"), (True, "flows: precomputed once per clip")]:
        log = io.StringIO()
        cfg, _, _ = build_config({**common, "precompute_flows": precompute, "fix_flow_iters": 9, "iters": 1,
                                  "periods": [1], "quiet": False, "run_dir": str(tmp_path / f"h{precompute}")})
        Trainer(cfg, console=Console(file=log, width=200)).run()
        assert said in log.getvalue(), log.getvalue()

    from seemup.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "basicvsr-tiny", "--data", str(clips), "--precompute-flows", "--iters", "3",
              "--fix-flow-iters", "1", "--cache-dir", str(tmp_path / "c"), "--run-dir", str(tmp_path / "cli"), "-q"])
    err = capsys.readouterr().err
    assert exc.value.code != 0 and err.startswith("error:") and "--precompute-flows" in err
    assert "Traceback" not in err
