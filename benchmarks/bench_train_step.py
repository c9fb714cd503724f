"""Seconds per training step of `seemup train` / `seemup finetune`, with and without --precompute-flows.

    F="$SEEMUP_FOOTAGE"
    python benchmarks/bench_train_step.py --data $F/01_dog.mp4 --hr-downscale 2        # the lite recipe
    python benchmarks/bench_train_step.py --mode finetune --model basicvsr-seem --freeze-backbone \\
        --masks classical --data $F/01_dog.mp4 --hr-downscale 2 --teacher "" --feature-weight 0

The run is built as the CLI builds it (``Trainer``), and its data prepared (decoding, masks, flows: timed
apart). Then ``--steps`` optimisation steps are timed after one warm-up step, first with SPyNet running on
every crop, then with the flows precomputed. Batches are drawn before the clock starts, so only the step
is timed. The default is the shipped basicvsr-lite recipe's last stages: 2 x 15 frames x 48 px, the official
BasicVSR as teacher of the output and the propagated features. Run it on an otherwise idle machine; never in CI.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch.utils.data import default_collate

from seemup.training import Trainer, build_config


def time_steps(options: dict, steps: int) -> tuple[float, float]:
    """(seconds to build the run and prepare its data, mean seconds per step)."""
    t0 = time.perf_counter()
    cfg, _, _ = build_config(options)
    trainer = Trainer(cfg)
    prepare = time.perf_counter() - t0
    bs = cfg.batch_size
    batches = [default_collate([trainer.dataset[i * bs + s] for s in range(bs)]) for i in range(steps + 1)]
    trainer.step(batches[0])  # warm-up: allocator, oneDNN kernels
    t0 = time.perf_counter()
    for batch in batches[1:]:
        trainer.step(batch)
    return prepare, (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", default="train", choices=["train", "finetune"])
    ap.add_argument("--model", default="basicvsr-lite")
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--freeze-backbone", action="store_true")
    ap.add_argument("--masks", default="auto")
    ap.add_argument("--hr-downscale", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--num-frames", type=int, default=15)
    ap.add_argument("--patch-size", type=int, default=48)
    ap.add_argument("--teacher", default="basicvsr:basicvsr-reds4", help="'' for none")
    ap.add_argument("--teacher-weight", type=float, default=1.0)
    ap.add_argument("--feature-weight", type=float, default=0.2)
    ap.add_argument("--init-from-teacher", action="store_true")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--cache-dir", default=None, help="training cache (default a temporary folder)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        common = {
            "mode": args.mode, "model": args.model, "data": args.data, "weights": args.weights,
            "freeze_backbone": args.freeze_backbone, "masks": args.masks, "hr_downscale": args.hr_downscale,
            "batch_size": args.batch_size, "num_frames": args.num_frames, "patch_size": args.patch_size,
            "teacher": args.teacher or None, "teacher_weight": args.teacher_weight,
            "feature_weight": args.feature_weight if args.teacher else 0.0,
            "init_from_teacher": args.init_from_teacher, "fix_flow_iters": 10**9, "iters": args.steps + 1,
            "workers": 0, "quiet": True, "cache_dir": args.cache_dir or f"{tmp}/cache",
        }
        print(f"{args.mode} {args.model}: batch {args.batch_size} x {args.num_frames} frames x {args.patch_size} px"
              f", teacher {args.teacher or 'none'}, {args.threads} threads, {args.steps} timed steps")
        results = {}
        for precompute in (False, True):
            label = "precomputed flows" if precompute else "SPyNet per crop"
            prep, step = time_steps({**common, "precompute_flows": precompute, "run_dir": f"{tmp}/{label}"},
                                    args.steps)
            results[precompute] = step
            print(f"{label}: {step:.2f} s/step ({1 / step:.3f} it/s); building the run and its data {prep:.1f} s")
        print(f"speed-up {results[False] / results[True]:.2f}x")


if __name__ == "__main__":
    main()
