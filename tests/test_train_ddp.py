"""Two-process DistributedDataParallel training on CPU (gloo), as `torchrun --nproc_per_node 2` would run it."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp
from train_helpers import TINY, make_clips


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(state: dict[str, torch.Tensor], prefix: str = "") -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        if k.startswith(prefix):
            h.update(k.encode())
            h.update(state[k].numpy().tobytes())
    return h.hexdigest()


def _rank_main(rank: int, world: int, port: int, options: dict, out: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    from seemup.training import build_config
    from seemup.training.distributed import shutdown_distributed
    from seemup.training.trainer import make_trainer

    cfg, _, _ = build_config(options)
    try:
        trainer = make_trainer(cfg)
        clips = [c.name for c in trainer.data.clips]
        initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        trainer.run()
        final = trainer.model.state_dict()
        Path(out, f"rank{rank}.txt").write_text("\n".join([
            _digest(final), _digest(final, "spynet."), _digest(initial, "spynet."), ",".join(clips)]))
    finally:
        shutdown_distributed()


def test_two_process_gloo_run_keeps_ranks_in_sync(tmp_path: Path) -> None:
    clips = make_clips(tmp_path / "clips", frames=4)
    options = {**TINY, "model": "basicvsr-tiny", "data": [str(clips)], "iters": 3, "periods": [3], "save_every": 3,
               "fix_flow_iters": 1, "run_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache"),
               "device": "cpu"}
    mp.start_processes(_rank_main, args=(2, _free_port(), options, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0 = (tmp_path / "rank0.txt").read_text().splitlines()
    r1 = (tmp_path / "rank1.txt").read_text().splitlines()
    assert r0[0] == r1[0]  # gradients were averaged: both ranks hold the same weights
    assert r0[1] != r0[2]  # SPyNet was unfrozen after iteration 1 (DDP rebuilt) and then trained
    assert {r0[3], r1[3]} == {"01_dog", "bedroom"}  # each rank read its own shard of the clips
    saved = torch.load(tmp_path / "run" / "model_final.pth", weights_only=True)["params"]
    assert _digest(saved) == r0[0]
    assert (tmp_path / "run" / "states" / "iter_000000003.state").is_file()


def test_two_process_space_time_run_keeps_ranks_in_sync(tmp_path: Path) -> None:
    """safa under DDP: its training-time scale draws and BatchNorm buffers do not split the ranks apart."""
    clips = make_clips(tmp_path / "clips", frames=4)
    options = {**TINY, "model": "safa", "data": [str(clips)], "iters": 2, "periods": [2], "warmup": 1,
               "num_frames": 3, "patch_size": 8, "save_every": 2, "run_dir": str(tmp_path / "run"),
               "cache_dir": str(tmp_path / "cache"), "device": "cpu"}
    mp.start_processes(_rank_main, args=(2, _free_port(), options, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    r0 = (tmp_path / "rank0.txt").read_text().splitlines()
    r1 = (tmp_path / "rank1.txt").read_text().splitlines()
    assert r0[0] == r1[0] and {r0[3], r1[3]} == {"01_dog", "bedroom"}
    saved = torch.load(tmp_path / "run" / "model_final.pth", weights_only=True)["params"]
    assert _digest(saved) == r0[0]
