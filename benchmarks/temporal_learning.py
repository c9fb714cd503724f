"""Does a fresh BasicVSR-lite learn to use the other frames, and how fast? (fp32 vs bf16 autocast)

    python scripts/make_lite_extra_data.py --root X --out data/lite-extra
    python benchmarks/temporal_learning.py --extra data/lite-extra --precision fp32 --iters 1200
    python benchmarks/temporal_learning.py --extra data/lite-extra --precision bf16 --iters 1200

Trains a small lite model from scratch on the photo clips with a synthetic camera only (exact
sub-pixel motion, so other frames carry real information), with the same crops, precomputed flows
and loss as ``scripts/train_lite.py``. Every ``--eval-every`` iterations it scores clips of photos
held out of training (``--test-photos``) as a sequence and frame by frame; the difference is what
the recurrence has learned. A diagnostic for the training recipe; ~10 minutes on 2 cores; not in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # benchmarks/ is already on the path
from temporal_use import frame_by_frame, y_psnr  # noqa: E402  (same scoring as the held-out measurement)
from train_lite import sample  # noqa: E402  (the training script's crop sampler, not duplicated here)

from seemup.models.lite import BasicVSRLite  # noqa: E402
from seemup.runtime.frames import clip_to_tensor  # noqa: E402
from seemup.training.losses import charbonnier  # noqa: E402


def load_photo_clips(extra: Path, test_photos: set[str]) -> tuple[list, list]:
    """(train, test) lists of (hr, lr, forward flows, backward flows), split by source photo."""
    train, test = [], []
    for f in sorted(extra.glob("photo-*.npz")):
        if f.name.endswith(".flows-lite.npz"):
            continue
        flows = f.with_name(f.stem + ".flows-lite.npz")
        if not flows.exists():
            raise SystemExit(f"{flows} is missing: run scripts/train_lite.py --extra {extra} once to compute flows")
        d, fl = np.load(f), np.load(flows)
        item = (d["hr"], d["lr"], fl["fw"].astype(np.float32), fl["bw"].astype(np.float32))
        (test if f.stem.split("-")[1] in test_photos else train).append(item)
    if not train or not test:
        raise SystemExit(f"need photo clips for both training and testing in {extra} (test photos: {test_photos})")
    return train, test


@torch.inference_mode()
def sequence_vs_alone(model: BasicVSRLite, clips: list, frames: int = 10) -> tuple[float, float]:
    """Mean Y-PSNR over ``clips`` run as sequences and frame by frame (each frame as a still 2-frame clip)."""
    model.eval()
    seq, alone = [], []
    for hr, lr, fw, bw in clips:
        x = clip_to_tensor(lr[:frames], torch.device("cpu"))
        f, b = torch.from_numpy(fw[:frames - 1])[None], torch.from_numpy(bw[:frames - 1])[None]
        model.compute_flows = lambda _lr, f=f, b=b: (f, b)
        seq.append(y_psnr(model(x)[0], hr[:frames]))
        still = torch.zeros(1, 1, 2, *lr.shape[1:3])
        model.compute_flows = lambda _lr, s=still: (s, s)
        alone.append(y_psnr(frame_by_frame(model, x), hr[:frames]))
    model.train()
    return float(np.mean(seq)), float(np.mean(alone))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extra", type=Path, required=True, help="folder from scripts/make_lite_extra_data.py")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--iters", type=int, default=1200)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--num-feat", type=int, default=32)
    ap.add_argument("--num-block", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--test-photos", default="Garden,Kite,Wood", help="photos whose clips are held out")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train, test = load_photo_clips(args.extra, set(args.test_photos.split(",")))
    test = test[::4]  # one clip per held-out photo keeps an evaluation under a minute
    model = BasicVSRLite(num_feat=args.num_feat, num_block=args.num_block)
    params = [p for n, p in model.named_parameters() if not n.startswith("spynet.")]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(0)
    start = time.time()
    for it in range(1, args.iters + 1):
        lr_b, hr_b, fw_b, bw_b = sample([train], np.array([1.0]), rng, 4, 8, 48)
        model.compute_flows = lambda _lr, f=fw_b, b=bw_b: (f, b)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            out = model(lr_b)
        loss = charbonnier(out.float(), hr_b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if it % args.eval_every == 0 or it == args.iters:
            seq, alone = sequence_vs_alone(model, test)
            print(f"{args.precision} it {it} ({it / (time.time() - start):.2f} it/s): sequence {seq:.3f} "
                  f"frame-by-frame {alone:.3f}  recurrence adds {seq - alone:+.3f} dB", flush=True)


if __name__ == "__main__":
    main()
