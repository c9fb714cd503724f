"""Does SAFA learn with seemup's space-time training pieces? A short CPU run on footage crops (not in CI).

    SEEMUP_FOOTAGE=/path/to/footage python benchmarks/safa_train_loss.py --iters 60

Trains a fresh SAFA with ``seemup.training.spacetime`` (the reference's recipe: L1, AdamW, warm-up then cosine,
gradient clip 1.0, head at a tenth of the rate) on windows from ``seemup.data.spacetime_windows`` cut from the
training clips 01_dog, 02_cups, 03_blocks and 04_coffee (720p area-downscaled x2, as the lite weights were
trained; never Vid4, REDS4, Vimeo-90K-T or the held-out juggle and bedroom clips). Each step supervises frames 0
and K and one random frame between them. Before and after training, and every ``--eval-every`` steps, it scores a
fixed set of windows (another seed) at every t = k / K in eval mode: the loss there must fall.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seemup.data.spacetime_windows import SpaceTimeWindows, WindowSpec
from seemup.data.train_clips import discover_clips, open_clip
from seemup.models.safa import SAFA
from seemup.training.spacetime import SpaceTimeRecipe, choose_targets, make_optimizer, spacetime_loss_for, train_step

CLIPS = ("01_dog", "02_cups", "03_blocks", "04_coffee")


def stack(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


@torch.no_grad()
def evaluate(model: SAFA, batches: list[dict[str, torch.Tensor]], span: int) -> float:
    model.eval()
    return float(np.mean([spacetime_loss_for(model, b, span).item() for b in batches]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--footage", default=os.environ.get("SEEMUP_FOOTAGE"), help="folder of the footage clips")
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--patch", type=int, default=64, help="HR crop (the recipe: 128; smaller for CPU)")
    ap.add_argument("--span", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=10, help="warm-up steps (the recipe: 2000 of a long run)")
    ap.add_argument("--eval-every", type=int, default=20)
    ap.add_argument("--eval-windows", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=None, help="decoded clips (default: a temporary folder)")
    args = ap.parse_args()
    if not args.footage:
        raise SystemExit("set SEEMUP_FOOTAGE (or --footage) to the folder holding the footage clips")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cache = Path(args.cache_dir or tempfile.mkdtemp(prefix="safa-train-"))
    refs = [r for r in discover_clips(args.footage) if r.name in CLIPS]
    clips = [open_clip(r, 2, cache) for r in refs]
    print(f"clips: {', '.join(c.name for c in clips)} ({clips[0].width}x{clips[0].height} HR)")
    spec = WindowSpec(span=args.span, patch=args.patch)
    train = SpaceTimeWindows(clips, spec, args.batch, seed=args.seed)
    held = SpaceTimeWindows(clips, spec, 1, seed=args.seed + 1000)
    held_batches = [stack([held[i]]) for i in range(args.eval_windows)]
    recipe = SpaceTimeRecipe(span=args.span, patch=args.patch, warmup=args.warmup, targets=3)
    model = SAFA()
    optimizer = make_optimizer(model, recipe)
    rng = np.random.default_rng(args.seed)
    first = evaluate(model, held_batches, args.span)
    print(f"step 0: eval L1 {first:.4f} (all {args.span + 1} times of {args.eval_windows} fixed windows)")
    losses, start = [], time.time()
    for step in range(1, args.iters + 1):
        batch = stack([train[(step - 1) * args.batch + s] for s in range(args.batch)])
        frames = choose_targets(args.span, recipe.targets, rng)
        losses.append(train_step(model, optimizer, batch, step, args.iters, recipe, frames))
        if step % args.eval_every == 0 or step == args.iters:
            window = losses[-args.eval_every:]
            print(f"step {step}: train L1 {np.mean(window):.4f} (mean of the last {len(window)}), eval L1 "
                  f"{evaluate(model, held_batches, args.span):.4f}, {(time.time() - start) / step:.1f} s/step")
    last = evaluate(model, held_batches, args.span)
    print(f"eval L1: {first:.4f} -> {last:.4f} ({'falls' if last < first else 'does not fall'})")


if __name__ == "__main__":
    main()
