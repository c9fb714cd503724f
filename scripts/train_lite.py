"""Train ``basicvsr-lite`` on real footage (HR = footage / 2, LR = MATLAB bicubic / 4).

Knowledge from the official BasicVSR is carried over by initialising the lite model's SPyNet with
the official (REDS4) SPyNet weights and, with ``--teacher-weight > 0``, by an extra loss towards the
official model's output on the same crops. Checkpoints are written atomically, and ``--resume``
continues a run. This is a long job: run it in the background, never in CI.

    python scripts/train_lite.py --out runs/lite --iters 1500
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
import torch

from seemup.data.imresize import imresize_uint8
from seemup.data.train_clips import ClipRef, prepare_video_clip
from seemup.data.train_files import atomic_torch_save
from seemup.evaluation.inference import to_tensor, to_uint8
from seemup.metrics import psnr
from seemup.models import create_model
from seemup.models.lite import has_hr_recurrence, with_hr_recurrence
from seemup.training.distill import FeatureTap, copy_from_teacher, feature_loss, skip_upsampler
from seemup.training.export import export_weights
from seemup.training.frozen_spynet import flow_function
from seemup.training.losses import charbonnier
from seemup.weights import build_model

TRAIN_CLIPS = ["01_dog.mp4", "02_cups.mp4", "03_blocks.mp4", "04_coffee.mp4"]
VAL_CLIP = "05_default_juggle.mp4"


def load_clip(path: Path, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """HR (footage downscaled 2x with an area filter, decoded once into ``seemup train``'s clip cache
    and memory-mapped from there) and LR (MATLAB bicubic /4, cached beside it as ``<clip>.lr.npy``)."""
    hr = np.asarray(prepare_video_clip(ClipRef(path.stem, "video", path), 2, cache).array)
    f = cache / (path.stem + ".lr.npy")
    if f.exists():
        return hr, np.load(f)
    lr = np.stack([imresize_uint8(frame, 0.25) for frame in hr])
    np.save(f, lr)
    return hr, lr


@torch.inference_mode()
def clip_flows(model: torch.nn.Module, lr: np.ndarray, step: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The model's (frozen) flows for a whole clip, [N-1,2,h,w] forward and backward, float16.

    Computed once on full frames: training crops then cut them out instead of re-running SPyNet
    on every crop (which costs more than the rest of the lite model)."""
    flows = flow_function(model, torch.device("cpu"))
    fw, bw = zip(*(flows(lr[s:s + step + 1]) for s in range(0, lr.shape[0] - 1, step)), strict=True)
    return np.concatenate(fw).astype(np.float16), np.concatenate(bw).astype(np.float16)


def sample(groups: list[list], shares: np.ndarray, rng: np.random.Generator, batch: int, frames: int,
           patch: int) -> tuple:
    """Random crops (LR, HR, forward flow, backward flow) with flips, transposes and time reversal.

    Each crop first draws a group of clips by ``shares`` (footage, photos, other videos), then a clip
    uniformly within it, so a long clip or many short ones do not swamp the rest."""
    lrs, hrs, fws, bws = [], [], [], []
    for _ in range(batch):
        group = groups[rng.choice(len(groups), p=shares)]
        hr, lr, fw, bw = group[rng.integers(len(group))]
        t0 = rng.integers(0, lr.shape[0] - frames + 1)
        y = rng.integers(0, lr.shape[1] - patch + 1)
        x = rng.integers(0, lr.shape[2] - patch + 1)
        lr_c = lr[t0:t0 + frames, y:y + patch, x:x + patch]
        hr_c = hr[t0:t0 + frames, 4 * y:4 * (y + patch), 4 * x:4 * (x + patch)]
        fw_c = fw[t0:t0 + frames - 1, :, y:y + patch, x:x + patch].astype(np.float32)
        bw_c = bw[t0:t0 + frames - 1, :, y:y + patch, x:x + patch].astype(np.float32)
        sign = np.array([1.0, 1.0], np.float32).reshape(1, 2, 1, 1)
        if rng.random() < 0.5:  # horizontal flip: x displacements change sign
            lr_c, hr_c, fw_c, bw_c = lr_c[:, :, ::-1], hr_c[:, :, ::-1], fw_c[..., ::-1], bw_c[..., ::-1]
            sign = sign * np.array([-1.0, 1.0], np.float32).reshape(1, 2, 1, 1)
        if rng.random() < 0.5:  # vertical flip
            lr_c, hr_c, fw_c, bw_c = lr_c[:, ::-1], hr_c[:, ::-1], fw_c[:, :, ::-1], bw_c[:, :, ::-1]
            sign = sign * np.array([1.0, -1.0], np.float32).reshape(1, 2, 1, 1)
        fw_c, bw_c = fw_c * sign, bw_c * sign
        if rng.random() < 0.5:  # transpose: x and y swap
            lr_c, hr_c = lr_c.transpose(0, 2, 1, 3), hr_c.transpose(0, 2, 1, 3)
            fw_c, bw_c = fw_c.transpose(0, 1, 3, 2)[:, ::-1], bw_c.transpose(0, 1, 3, 2)[:, ::-1]
        if rng.random() < 0.5:  # time reversal: forward and backward flows trade places
            lr_c, hr_c, fw_c, bw_c = lr_c[::-1], hr_c[::-1], bw_c[::-1], fw_c[::-1]
        lrs.append(np.ascontiguousarray(lr_c))
        hrs.append(np.ascontiguousarray(hr_c))
        fws.append(np.ascontiguousarray(fw_c))
        bws.append(np.ascontiguousarray(bw_c))
    to_t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 1, 4, 2, 3).float() / 255.0  # noqa: E731
    return to_t(lrs), to_t(hrs), torch.from_numpy(np.stack(fws)), torch.from_numpy(np.stack(bws))


@torch.inference_mode()
def validate(model: torch.nn.Module, hr: np.ndarray, lr: np.ndarray) -> float:
    model.eval()
    out = to_uint8(model(to_tensor(lr, torch.device("cpu")))[0])
    model.train()
    return float(np.mean([psnr(o, h, space="y") for o, h in zip(out, hr, strict=True)]))


def grow_from(model: torch.nn.Module, state: dict) -> None:
    """Load ``state`` into a model that may have more residual blocks per trunk (or ``hr_recurrence``).

    The extra blocks start as identities (last conv zeroed), so the grown model computes exactly
    what the smaller one did and training continues from there instead of from scratch."""
    if getattr(model, "hr_recurrence", False) and not has_hr_recurrence(state):
        state = with_hr_recurrence(state)
        print("hr_recurrence: previous-output inputs added, zero-initialised", flush=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(".main.2." not in k for k in missing):
        raise SystemExit(f"--init does not fit: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in missing and ".conv2." in name:
                p.zero_()
    if missing:
        print(f"grown: {len(missing)} new tensors in identity-initialised blocks", flush=True)


def keep_blocks(state: dict, keep: list[int]) -> dict:
    """``state`` with only the residual blocks ``keep`` of each trunk, renumbered from 0 (shrinks a model
    to a faster depth; the blocks whose removal costs least are found by scoring each choice held out)."""
    out = {}
    for name, value in state.items():
        parts = name.split(".")
        if parts[0] in ("backward_trunk", "forward_trunk") and parts[1:3] == ["main", "2"]:
            if int(parts[3]) not in keep:
                continue
            parts[3] = str(keep.index(int(parts[3])))
        out[".".join(parts)] = value
    return out


def init_from_teacher(model: torch.nn.Module, teacher: torch.nn.Module) -> None:
    """Start a lite model of the teacher's width from the official BasicVSR: SPyNet, the trunks' input
    convs, their first ``num_block`` residual blocks, ``fusion`` and ``upconv1`` are copied; only the
    lite upsampler's last conv starts fresh. The truncated trunks' features are far from the teacher's
    at first (~80% relative error after 8 of 30 blocks), but the filters are learned ones, and
    ``--feature-weight`` then pulls the propagated features towards the teacher's."""
    if getattr(model, "hr_recurrence", False):
        raise SystemExit("--init-teacher: the teacher has no previous-output inputs; leave out --hr-recurrence")
    if model.num_feat != teacher.num_feat:
        raise SystemExit(f"--init-teacher needs the teacher's width: --num-feat {teacher.num_feat} "
                         f"(got {model.num_feat}); only SPyNet would be copied")
    fresh = copy_from_teacher(model, teacher)
    print(f"init from teacher: {len(model.state_dict()) - len(fresh)} of {len(model.state_dict())} tensors copied; "
          f"fresh: {', '.join(fresh)}", flush=True)


def fake_quantize_blocks(model: torch.nn.Module, ranges_file: Path) -> None:
    """Make every residual block's convolutions compute as `--precision int8` will (seemup.training.qat,
    which `seemup train --qat` uses too); the state dict keeps its keys, so checkpoints load as before."""
    import json

    from seemup.training.qat import fake_quantize_blocks as fake_quantize

    ranges = json.loads(ranges_file.read_text())["blocks"]
    try:
        count = fake_quantize(model, ranges)
    except ValueError as exc:
        raise SystemExit(f"--qat {ranges_file}: {exc}") from None
    print(f"quantization-aware: {count} blocks with the ranges of {ranges_file}", flush=True)


def export(checkpoint: Path, target: Path, command: str) -> None:
    """Weights only (no optimizer state), in the seemup-weights/1 format that ``seemup.weights`` loads."""
    ck = torch.load(checkpoint, weights_only=False)
    num_block = len({k.split(".")[3] for k in ck["params"] if k.startswith("backward_trunk.main.2.")})
    num_feat = ck["params"]["fusion.weight"].shape[0]
    model_config = {"num_feat": num_feat, "num_block": num_block, "hr_recurrence": has_hr_recurrence(ck["params"])}
    model = create_model("basicvsr-lite", **model_config)
    model.load_state_dict(ck["params"])
    export_weights(target, model, model_name="basicvsr-lite", mask_source_id=None,
                   config={**model_config, "command": command}, iteration=ck["iter"], model_config=model_config)
    print(f"wrote {target} (iteration {ck['iter']})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    footage = os.environ.get("SEEMUP_FOOTAGE")
    ap.add_argument("--footage", type=Path, default=footage, required=not footage,
                    help="the folder of the footage clips (default $SEEMUP_FOOTAGE; docs/training.md)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/seemup/footage")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--iters", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--teacher-weight", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, help="start from these weights (a new stage: fresh optimizer and schedule)")
    ap.add_argument("--num-block", type=int, default=None, help="trunk depth (default: the registry's basicvsr-lite)")
    ap.add_argument("--num-feat", type=int, default=None, help="trunk width (default: the registry's basicvsr-lite)")
    ap.add_argument("--init-teacher", action="store_true",
                    help="start from the official BasicVSR (needs --num-feat 64): its first --num-block blocks")
    ap.add_argument("--keep-blocks", default=None,
                    help="with --init: keep only these residual blocks of each trunk, e.g. 0,1,2,4,6,7")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="save and stop after this iteration (the schedule still spans --iters)")
    ap.add_argument("--feature-weight", type=float, default=0.0,
                    help="distil the teacher's propagated features (both trunks, every frame) with this weight")
    ap.add_argument("--hr-recurrence", action="store_true",
                    help="the forward trunk also sees the previous output frame, warped (BasicVSRLite.hr_recurrence)")
    ap.add_argument("--export", type=Path, help="write the run's last checkpoint as a shipped weights file, then exit")
    ap.add_argument("--export-iter", type=int, default=None,
                    help="with --export: the weights saved at this validation point instead of the last")
    ap.add_argument("--command", default="", help="with --export: the commands that produced the run (recorded)")
    ap.add_argument("--extra", type=Path, help="folder of extra clips from scripts/make_lite_extra_data.py")
    ap.add_argument("--mix", default="footage=0.4,photo=0.35,video=0.25",
                    help="sampling share of each clip group (footage, and the name prefixes of --extra clips)")
    ap.add_argument("--val-clip", default=VAL_CLIP,
                    help="validation clip: a footage file, or the name of an --extra clip (then not trained on)")
    ap.add_argument("--qat", type=Path, default=None,
                    help="int8 ranges file (seemup weights calibrate) of the --init weights: train with the residual "
                         "blocks' convolutions seeing int8-rounded inputs and weights (straight-through gradients)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CPUs with avx512_bf16/AMX train ~1.5x faster)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.export is not None:
        source = args.out / ("last.pth" if args.export_iter is None else f"iter_{args.export_iter}.pth")
        export(source, args.export, args.command)
        return
    args.out.mkdir(parents=True, exist_ok=True)

    size = {k: v for k, v in (("num_block", args.num_block), ("num_feat", args.num_feat)) if v is not None}
    model = create_model("basicvsr-lite", hr_recurrence=args.hr_recurrence, **size)
    teacher, _ = build_model("basicvsr", "basicvsr-reds4")
    model.spynet.load_state_dict(teacher.spynet.state_dict())  # the official flow network
    def with_flows(hr: np.ndarray, lr: np.ndarray, flow_file: Path) -> tuple:
        if not flow_file.exists():
            fw, bw = clip_flows(model, lr)
            np.savez(flow_file, fw=fw, bw=bw)
        fl = np.load(flow_file)
        return hr, lr, fl["fw"], fl["bw"]

    groups: dict[str, list] = {"footage": []}
    for c in TRAIN_CLIPS:
        hr, lr = load_clip(args.footage / c, args.cache)
        groups["footage"].append(with_flows(hr, lr, args.cache / f"{Path(c).stem}.flows-lite.npz"))
        print(f"loaded {c}: {lr.shape[0]} frames", flush=True)
    val_hr = val_lr = None
    if args.extra is not None:  # clips written by scripts/make_lite_extra_data.py
        for f in sorted(args.extra.glob("*.npz")):
            if f.name.endswith(".flows-lite.npz"):
                continue
            d = np.load(f)
            if f.stem == args.val_clip:
                val_hr, val_lr = d["hr"], d["lr"]
                continue
            groups.setdefault(f.stem.split("-")[0], []).append(
                with_flows(d["hr"], d["lr"], f.with_name(f.stem + ".flows-lite.npz")))
        print("extra clips: " + ", ".join(f"{k} {len(v)}" for k, v in groups.items() if k != "footage"), flush=True)
    if val_hr is None:
        val_hr, val_lr = load_clip(args.footage / args.val_clip, args.cache)
    val_hr, val_lr = val_hr[:20, :180, :320], val_lr[:20, :45, :80]
    share_of = dict(item.split("=") for item in args.mix.split(","))
    group_list = [g for g in groups.values() if g]
    shares = np.array([float(share_of.get(k, 0)) for k, g in groups.items() if g])
    if shares.sum() <= 0:
        raise SystemExit(f"--mix {args.mix} gives no weight to any group ({', '.join(groups)})")
    shares = shares / shares.sum()
    real_flows = model.compute_flows
    if args.init_teacher and args.init is None and not args.resume:
        init_from_teacher(model, teacher)
    if args.teacher_weight <= 0 and args.feature_weight <= 0:
        teacher = None
    else:  # the teacher sees the student's (precomputed, half-resolution) flows: -0.04 dB held out, much cheaper
        teacher.eval()
        teacher_tap, student_tap = FeatureTap(teacher), FeatureTap(model)
        if args.teacher_weight <= 0:  # features only: skip the teacher's costly HR upsampler
            skip_upsampler(teacher)
    for p in model.spynet.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.iters, eta_min=1e-6)
    start = 0
    ckpt_path = args.out / "last.pth"
    if args.init is not None:
        init_state = torch.load(args.init, weights_only=True)["params"]
        if args.keep_blocks:
            init_state = keep_blocks(init_state, [int(k) for k in args.keep_blocks.split(",")])
        grow_from(model, init_state)
    if args.qat is not None:
        fake_quantize_blocks(model, args.qat)
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["params"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start = ck["iter"]
    rng = np.random.default_rng(args.seed + start)
    log = open(args.out / "log.csv", "a", newline="")
    writer = csv.writer(log)
    # one PSNR over all frames' pixels (frames stacked into one tall image), as this script has always reported it
    bicubic_psnr = psnr(np.concatenate([imresize_uint8(f, 4) for f in val_lr]), np.concatenate(val_hr),
                        space="y") if start == 0 else None
    if bicubic_psnr is not None:
        print(f"val bicubic Y-PSNR {bicubic_psnr:.3f}", flush=True)
    t0 = time.time()
    model.train()
    for it in range(start + 1, args.iters + 1):
        lr_b, hr_b, fw_b, bw_b = sample(group_list, shares, rng, args.batch, args.frames, args.patch)
        if teacher is not None:
            student_tap.start()
            teacher_tap.start()
        precomputed = lambda _lr, f=fw_b, b=bw_b: (f, b)  # noqa: E731 - the frozen SPyNet's flows of this crop
        model.compute_flows = precomputed
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            out = model(lr_b)
        out = out.float()
        model.compute_flows = real_flows
        loss = pixel = charbonnier(out, hr_b)
        feat_loss = None
        if teacher is not None:
            teacher.compute_flows = precomputed
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                target = teacher(lr_b)
            t_feats, s_feats = teacher_tap.take(), student_tap.take()
            if args.teacher_weight > 0:
                loss = loss + args.teacher_weight * charbonnier(out, target.float())
            if args.feature_weight > 0:
                feat_loss = feature_loss(s_feats, t_feats)
                loss = loss + args.feature_weight * feat_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        val = None
        stop = it == args.stop_after
        if it % args.val_every == 0 or it == args.iters or stop:
            val = validate(model, val_hr, val_lr)
            atomic_torch_save({"params": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "iter": it}, ckpt_path)
            # the weights of every validation point, to score held out later (scores swing between them)
            atomic_torch_save({"params": model.state_dict(), "iter": it}, args.out / f"iter_{it}.pth")
        rate = (it - start) / (time.time() - t0)
        writer.writerow([it, f"{loss.item():.5f}", "" if val is None else f"{val:.3f}", f"{rate:.3f}"])
        log.flush()
        if it % 10 == 0 or val is not None:
            print(f"it {it} loss {loss.item():.5f} pixel {pixel.item():.5f}"
                  + ("" if feat_loss is None else f" feat {feat_loss.item():.4f}")
                  + f" {rate:.2f} it/s" + (f" val {val:.3f}" if val else ""), flush=True)
        if stop:
            print(f"stopped after iteration {it} (--stop-after)", flush=True)
            break


if __name__ == "__main__":
    main()
