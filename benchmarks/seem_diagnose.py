"""Why does a SEEM adapter help or hurt? Measurements on one clip (docs/history.md, "SEEM adapters").

For a clip (video file or frame folder, used as HR after an optional area resize to ``--width``), LR by MATLAB
bicubic x1/4, it prints:

- Y-PSNR of the backbone and of the SEEM model, whole clip in one pass;
- the same with the clip cut into independent runs of ``--seq`` frames (the recurrence length seen in tuning);
- per insertion point, the size of SEEM's residual relative to the features it is added to
  (RMS(SEEM(F, R)) / RMS(F)), averaged over frames;
- optionally (``--zero-point``) the PSNR with one insertion point switched off at a time.

    python benchmarks/seem_diagnose.py CLIP --width 416 --frames 32 --adapter runs/seem-classical/seem_adapter.pth
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import torch

from seemup.imresize import imresize_uint8
from seemup.masks import ClassicalMaskSource
from seemup.metrics import psnr
from seemup.video import read_frames
from seemup.weights import build_model


def load_clip(path: Path, width: int | None, frames: int) -> list[np.ndarray]:
    """HR frames (RGB uint8), area-resized to ``width`` and cropped to multiples of 4."""
    out = []
    with read_frames(path) as it:
        for i, frame in enumerate(it):
            if i >= frames:
                break
            if width:
                h = round(frame.shape[0] * width / frame.shape[1])
                frame = cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA)
            out.append(np.ascontiguousarray(frame[: frame.shape[0] // 4 * 4, : frame.shape[1] // 4 * 4]))
    return out


def to_lr_tensors(hr: list[np.ndarray]) -> tuple[list[np.ndarray], torch.Tensor, torch.Tensor]:
    lr = [imresize_uint8(f, 0.25) for f in hr]
    masks = ClassicalMaskSource().batch(lr)
    x = torch.from_numpy(np.stack(lr)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    m = torch.from_numpy(np.asarray(masks)).float().unsqueeze(0)
    return lr, x, m


def run(model: torch.nn.Module, x: torch.Tensor, m: torch.Tensor, seq: int | None) -> list[np.ndarray]:
    t = x.shape[1]
    step = seq or t
    frames = []
    with torch.inference_mode():
        for s in range(0, t, step):
            e = min(t, s + step)
            if e - s < 2:  # a last run of one frame: give it its predecessor as context
                s = e - 2
            out = model(x[:, s:e], m[:, s:e] if model.uses_masks else None)[0]
            keep = out[-(e - max(s, len(frames))):] if s < len(frames) else out
            for f in keep:
                frames.append((f.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())
    return frames


def score(frames: list[np.ndarray], hr: list[np.ndarray]) -> float:
    return float(np.mean([psnr(a, b) for a, b in zip(frames, hr, strict=True)]))


@contextmanager
def residual_probe(model: torch.nn.Module):
    """Record RMS(SEEM out) / RMS(feature in) per insertion point while the model runs."""
    ratios: dict[str, list[float]] = {}
    handles = []
    for name, block in model.seem.blocks.items():
        def hook(_mod, inputs, output, name=name):
            feat = inputs[0]
            ratios.setdefault(name, []).append(float(output.float().pow(2).mean().sqrt() /
                                                     feat.float().pow(2).mean().sqrt().clamp_min(1e-12)))
        handles.append(block.register_forward_hook(hook))
    try:
        yield ratios
    finally:
        for h in handles:
            h.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", type=Path)
    ap.add_argument("--width", type=int, help="area-resize HR frames to this width first")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--seq", type=int, default=5, help="recurrence length of the chunked comparison")
    ap.add_argument("--adapter", required=True, help="adapter file or weight-set name")
    ap.add_argument("--zero-point", action="store_true", help="also score with each insertion point off")
    args = ap.parse_args()
    torch.set_num_threads(2)
    hr = load_clip(args.clip, args.width, args.frames)
    lr, x, m = to_lr_tensors(hr)
    plain, _ = build_model("basicvsr", "basicvsr-reds4")
    seem, _ = build_model("basicvsr-seem", args.adapter)
    print(f"{args.clip.name}: HR {hr[0].shape[1]}x{hr[0].shape[0]}, LR {lr[0].shape[1]}x{lr[0].shape[0]}, "
          f"{len(hr)} frames, {int((m[0].sum((2, 3)) > 0).sum(1).float().mean())} masks/frame on average")
    base = score(run(plain, x, m, None), hr)
    with residual_probe(seem) as ratios:
        full = score(run(seem, x, m, None), hr)
    print(f"  whole clip:   basicvsr {base:.4f}  seem {full:.4f}  delta {full - base:+.4f}")
    print("  residual RMS / feature RMS: " + ", ".join(f"{k} {np.mean(v):.4f}" for k, v in ratios.items()))
    base_s = score(run(plain, x, m, args.seq), hr)
    seem_s = score(run(seem, x, m, args.seq), hr)
    print(f"  runs of {args.seq}:    basicvsr {base_s:.4f}  seem {seem_s:.4f}  delta {seem_s - base_s:+.4f}")
    if args.zero_point:
        for name, block in seem.seem.blocks.items():
            saved = {k: v.clone() for k, v in block.conv2.state_dict().items()}
            with torch.no_grad():
                block.conv2.weight.zero_()
                block.conv2.bias.zero_()
            print(f"  without {name}: delta {score(run(seem, x, m, None), hr) - base:+.4f}")
            block.conv2.load_state_dict(saved)


if __name__ == "__main__":
    main()
