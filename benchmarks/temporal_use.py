"""How much of a recurrent model's gain comes from the other frames of the clip.

    python scripts/make_heldout_set.py --out /tmp/heldout --frames 20
    python benchmarks/temporal_use.py --dataset /tmp/heldout --model basicvsr-lite
    python benchmarks/temporal_use.py --dataset /tmp/heldout --model basicvsr --weights basicvsr-reds4

For each clip (a folder of HR frames; LR = MATLAB bicubic x1/4) it prints the mean Y-PSNR of
- ``sequence``: the model run over the whole clip, as ``seemup upscale`` runs it;
- ``zero-flow``: the same with all flows set to zero (propagation without alignment);
- ``frame-by-frame``: every frame alone (a two-frame clip of that frame twice), so no other frame helps;
- with ``--windows 10,5,3``: the clip cut into non-overlapping windows of that many frames, each run
  alone, so only nearby frames help (how far the useful context reaches);
- ``bicubic``.
``sequence`` minus ``frame-by-frame`` is what the recurrence adds. A VSR model that scores the same
in both has learned single-image super-resolution only. Slow on CPU for the full models; not in CI.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from seemup.imresize import imresize_uint8
from seemup.metrics import psnr
from seemup.runtime.frames import clip_to_tensor, to_uint8
from seemup.video.frame_dir import list_frame_files, read_image_rgb
from seemup.weights import build_model


def y_psnr(out: torch.Tensor, hr: np.ndarray) -> float:
    """Mean Y-PSNR of model output frames [T,3,H,W] against uint8 HR frames [T,H,W,3]."""
    return float(np.mean([psnr(o, h, space="y") for o, h in zip(to_uint8(out), hr, strict=True)]))


def windowed(model: torch.nn.Module, x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` [1,T,3,h,w] run as separate clips of ``size`` frames (a last single frame is doubled), [T,3,4h,4w]."""
    outs = []
    for s in range(0, x.shape[1], size):
        win = x[:, s:s + size]
        outs.append(model(win if win.shape[1] > 1 else win[:, [0, 0]])[0, :win.shape[1]])
    return torch.cat(outs)


def frame_by_frame(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Every frame of ``x`` [1,T,3,h,w] upscaled alone (a two-frame clip of itself), [T,3,4h,4w]."""
    return windowed(model, x, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True, help="a folder of clips (GT/<clip>/ or <clip>/ frames)")
    ap.add_argument("--model", default="basicvsr-lite")
    ap.add_argument("--weights", default=None, help="weight set or file (default: the model's default)")
    ap.add_argument("--max-frames", type=int, default=20)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--windows", default="", help="comma-separated window sizes to score as well, e.g. 10,5,3")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = build_model(args.model, args.weights)
    model.eval()
    root = args.dataset / "GT" if (args.dataset / "GT").is_dir() else args.dataset
    real_flows = model.compute_flows
    for clip in sorted(p for p in root.iterdir() if p.is_dir()):
        hr = np.stack([read_image_rgb(f) for f in list_frame_files(clip)[: args.max_frames]])
        lr = np.stack([imresize_uint8(f, 0.25) for f in hr])
        x = clip_to_tensor(lr, torch.device("cpu"))
        with torch.inference_mode():
            seq = y_psnr(model(x)[0], hr)
            model.compute_flows = lambda lrs: tuple(torch.zeros_like(f) for f in real_flows(lrs))
            try:
                zero = y_psnr(model(x)[0], hr)
            finally:
                model.compute_flows = real_flows
            alone = y_psnr(frame_by_frame(model, x), hr)
            windows = {int(n): y_psnr(windowed(model, x, int(n)), hr) for n in args.windows.split(",") if n}
        bic = float(np.mean([psnr(imresize_uint8(f, 4), h, space="y") for f, h in zip(lr, hr, strict=True)]))
        print(f"{clip.name:20s} sequence {seq:.4f}  zero-flow {zero:.4f}  frame-by-frame {alone:.4f}  "
              f"bicubic {bic:.4f}  (recurrence adds {seq - alone:+.2f} dB)"
              + "".join(f"  window {n} {v:.4f}" for n, v in windows.items()), flush=True)


if __name__ == "__main__":
    main()
