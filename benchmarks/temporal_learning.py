"""Does a fresh BasicVSR-lite learn to use the other frames, and how fast? (fp32 vs bf16 autocast)

    python scripts/make_lite_extra_data.py --root X --out data/lite-extra
    python benchmarks/temporal_learning.py --extra data/lite-extra --precision fp32 --iters 1200
    python benchmarks/temporal_learning.py --extra data/lite-extra --precision bf16 --iters 1200

Trains a small lite model from scratch on the photo clips with a synthetic camera only (exact
sub-pixel motion, so other frames carry real information), with the shipped lite recipe's crops
(``seemup train --mix``'s sampler), precomputed flows (the official SPyNet at half resolution) and
loss. Every ``--eval-every`` iterations it scores clips of photos
held out of training (``--test-photos``) as a sequence and frame by frame; the difference is what
the recurrence has learned. A diagnostic for the training recipe; ~10 minutes on 2 cores; not in CI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from temporal_use import frame_by_frame, y_psnr  # same scoring as the held-out measurement
from torch.utils.data import DataLoader

from seemup.data.train_clips import discover_clips, open_clip
from seemup.data.train_datasets import SampleSpec, VideoTrainDataset
from seemup.data.train_flows import prepare_clip_flows
from seemup.data.train_lr import prepare_clip_lr
from seemup.data.train_mix import MixedSampler
from seemup.models import create_model
from seemup.models.lite import BasicVSRLite
from seemup.runtime.frames import clip_to_tensor
from seemup.training.frozen_spynet import flow_function, flow_id
from seemup.training.losses import charbonnier
from seemup.weights import build_model


def load_photo_clips(extra: Path, test_photos: set[str], cache: Path) -> tuple[list, list]:
    """(train, test) lists of (clip, full-frame LR, flows of the official SPyNet at half resolution), split by
    source photo; LR and flows are prepared once in ``cache``, as ``seemup train --precompute-flows`` does."""
    with torch.random.fork_rng():  # the trained model's initialisation stays that of --seed alone
        flow_net = create_model("basicvsr-lite")
        flow_net.spynet.load_state_dict(build_model("basicvsr", "basicvsr-reds4")[0].spynet.state_dict())
    fid, flows = flow_id(flow_net), flow_function(flow_net, torch.device("cpu"))
    train, test = [], []
    for ref in discover_clips(extra):
        if not ref.name.startswith("photo-"):
            continue
        clip = open_clip(ref, 1, cache)
        item = (clip, prepare_clip_lr(clip, cache), prepare_clip_flows(clip, flows, fid, cache))
        (test if ref.name.split("-")[1] in test_photos else train).append(item)
    if not train or not test:
        raise SystemExit(f"need photo clips for both training and testing in {extra} (test photos: {test_photos})")
    return train, test


@torch.inference_mode()
def sequence_vs_alone(model: BasicVSRLite, clips: list, frames: int = 10) -> tuple[float, float]:
    """Mean Y-PSNR over ``clips`` run as sequences and frame by frame (each frame as a still 2-frame clip)."""
    model.eval()
    seq, alone = [], []
    for clip, lrs, flows in clips:
        hr, lr = np.asarray(clip.array[:frames]), np.asarray(lrs.array[:frames])
        x = clip_to_tensor(lr, torch.device("cpu"))
        f, b = (torch.from_numpy(np.asarray(flows.array[k, :frames - 1], np.float32))[None] for k in (0, 1))
        model.compute_flows = lambda _lr, f=f, b=b: (f, b)
        seq.append(y_psnr(model(x)[0], hr))
        still = torch.zeros(1, 1, 2, *lr.shape[1:3])
        model.compute_flows = lambda _lr, s=still: (s, s)
        alone.append(y_psnr(frame_by_frame(model, x), hr))
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
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/seemup/train",
                    help="where the clips' LR frames and flows are prepared (seemup train's cache)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train, test = load_photo_clips(args.extra, set(args.test_photos.split(",")), args.cache)
    test = test[::4]  # one clip per held-out photo keeps an evaluation under a minute
    model = BasicVSRLite(num_feat=args.num_feat, num_block=args.num_block)
    params = [p for n, p in model.named_parameters() if not n.startswith("spynet.")]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    clips, lrs, flows = zip(*train, strict=True)
    dataset = VideoTrainDataset(clips, SampleSpec(8, 48), 4, 0, flows=[[f] for f in flows], lrs=lrs)
    shapes = [(c.num_frames, c.height // 4, c.width // 4) for c in dataset.clips]
    sampler = MixedSampler([list(range(len(shapes)))], [1.0], shapes, 8, 48, 0, 0, 0, args.iters, 4)
    start = time.time()
    for it, batch in enumerate(DataLoader(dataset, batch_size=4, sampler=sampler), 1):
        lr_b, hr_b = batch["lr"].float() / 255, batch["hr"].float() / 255
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            out = model(lr_b, flows=(batch["flows"][:, 0, 0], batch["flows"][:, 0, 1]))
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
