"""`seemup weights calibrate`: measure a weights file's int8 activation ranges on footage and store them.

Calibration clips are made the way training clips are: the first frames of each video, area-downscaled
by ``hr_downscale`` into HR, then MATLAB-bicubic x1/4 into LR, so the ranges describe what the network
saw in training. The network runs in fp32; each residual block's input min/max and hidden max over all
clips become the int8 scales (seemup.runtime.int8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from seemup.data.train_clips import area_downscale, crop_to_scale
from seemup.errors import UserError
from seemup.imresize import imresize_uint8
from seemup.models import get_spec
from seemup.runtime.device import place_model
from seemup.runtime.frames import clip_to_tensor
from seemup.runtime.int8 import calibrate, residual_blocks
from seemup.video import read_frames

from .build import build_model
from .hashing import file_sha256
from .int8_ranges import Int8Ranges, write_ranges


def calibration_clip(path: str | Path, frames: int, hr_downscale: int = 1) -> torch.Tensor:
    """The first ``frames`` frames of a video (or frame folder) as LR [1,T,3,h,w] in [0,1]."""
    lr = []
    with read_frames(path) as reader:
        for frame in reader:
            hr = crop_to_scale(area_downscale(frame, hr_downscale))
            lr.append(imresize_uint8(hr, 0.25))
            if len(lr) == frames:
                break
    if len(lr) < 2:
        raise UserError(f"{path}: calibration needs at least 2 frames, got {len(lr)}")
    return clip_to_tensor(np.stack(lr))


def calibrate_weights(model_name: str, weights: str | Path | None, data: Sequence[str | Path], *, frames: int = 30,
                      hr_downscale: int = 1, out: str | Path | None = None, command: str = "",
                      on_clip: Callable[[int], None] | None = None) -> Path:
    """Calibrate ``model_name`` with ``weights`` (None: its default set) on the videos ``data``; write the
    ranges where ``--precision int8`` looks (or to ``out``) and return where they went: beside your own
    weights, in the user weights folder for shipped ones (see ``calibration_target``). ``on_clip(k)``: k clips
    done."""
    if not data:
        raise UserError("calibration needs footage: give --data VIDEO at least once")
    if frames < 2:
        raise UserError("--frames must be at least 2")
    try:
        spec = get_spec(model_name)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if spec.kind != "recurrent" or spec.uses_masks:
        raise UserError(f"{spec.name}: int8 calibration covers the recurrent models without SEEM masks")
    model, info = build_model(spec.name, weights)
    if info is None or info.path is None:
        raise UserError(f"{spec.name} has no weights file to calibrate")
    if not residual_blocks(model):
        raise UserError(f"{spec.name} has no residual blocks to run in int8")
    model = place_model(model, torch.device("cpu"))
    shapes: list[tuple[int, int, int]] = []

    def clips():  # noqa: ANN202 - read one clip at a time, so only one is in memory
        for i, path in enumerate(data):
            clip = calibration_clip(path, frames, hr_downscale)
            shapes.append((clip.shape[1], clip.shape[-1], clip.shape[-2]))
            yield clip
            if on_clip:
                on_clip(i + 1)

    with torch.inference_mode():
        blocks = calibrate(model, clips())
    words = ", ".join(f"{Path(p).name} ({t} frames, {w}x{h} LR)" for p, (t, w, h) in zip(data, shapes, strict=True))
    ranges = Int8Ranges(file_sha256(info.path), blocks, f"{words}; HR = frames / {hr_downscale}, LR = MATLAB "
                        "bicubic x1/4", command)
    try:
        return write_ranges(info.path, ranges, out)
    except OSError as exc:
        raise UserError(f"cannot write the int8 calibration ({exc}); copy the weights somewhere writable and "
                        "calibrate that copy with --weights") from None
