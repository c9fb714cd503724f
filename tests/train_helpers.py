"""Helpers of the training tests: tiny real-footage clips and a one-call training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from footage import DATA, FOOTAGE

from seemup.training import build_config, train

CLIPS = DATA / "clips"  # make_clips' default output, committed

# Small enough for 2 busy CPU cores: HR clips of 96x128, LR patches of 16 px, 2-frame samples, batch 1.
TINY = dict(iters=4, periods=[4], batch_size=1, num_frames=2, patch_size=16, workers=0, save_every=2, log_every=1,
            quiet=True, seed=7, lr=1e-3)


def make_clips(root: Path, names: tuple[str, ...] = ("01_dog.mp4", "bedroom.mp4"), frames: int = 6,
               size: tuple[int, int] = (96, 128)) -> Path:
    """Frame folders cut from the real footage: area-downscaled by 2, centre crop of ``size`` (h, w).

    The default clips are committed under tests/data/clips (``make_clips(CLIPS)`` rebuilds them), so the
    training tests run without the footage beside the repository."""
    import shutil

    import cv2

    from seemup.video import read_frames
    from seemup.video.frame_dir import write_image_rgb

    for name in names:
        out = root / Path(name).stem
        out.mkdir(parents=True, exist_ok=True)
        committed = sorted((CLIPS / Path(name).stem).glob("*.png"))
        if size == (96, 128) and len(committed) >= frames and root != CLIPS:
            for png in committed[:frames]:
                shutil.copyfile(png, out / png.name)
            continue
        with read_frames(FOOTAGE / name) as reader:
            for i, frame in enumerate(reader):
                if i >= frames:
                    break
                f = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
                y, x = (f.shape[0] - size[0]) // 2, (f.shape[1] - size[1]) // 2
                write_image_rgb(out / f"{i:04d}.png", np.ascontiguousarray(f[y:y + size[0], x:x + size[1]]))
    return root


def run(options: dict, resume: str | None = None):  # noqa: ANN201
    cfg, state, _ = build_config(options, resume=resume)
    return train(cfg, state)


def params(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["params"]
