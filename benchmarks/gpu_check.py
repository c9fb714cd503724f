"""One-shot check of seemup's CUDA paths on one GPU, in a few minutes, as a table (docs/upscale.md, "GPU check").

    python benchmarks/gpu_check.py                        # every check; a table on stdout
    python benchmarks/gpu_check.py --markdown gpu.md      # ... and the same table as Markdown
    python benchmarks/gpu_check.py --only fp16,tiled      # some checks (--only may be repeated)
    python benchmarks/gpu_check.py --dry-run              # what would run; needs no GPU

The CUDA code paths were written on machines without a GPU; this script runs each of them once and compares
it with what it must agree with. Each check is isolated: one that fails gives a FAIL row with a one-line
reason and the others still run. Exit status: 0 all passed, 1 a check failed, 2 bad arguments or no CUDA.
Pick the GPU with CUDA_VISIBLE_DEVICES. Never run in CI.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seemup.errors import UserError

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = REPO / "samples" / "dog_160x90.mp4"  # real footage: 24 frames of 01_dog at 160x90
CLIPS = REPO / "tests" / "data" / "clips"  # two 6-frame HR clips of real footage (training data)
MIN_PSNR = 50.0  # dB between two runs that must agree (issue 25)
# 96-pixel tiles overlapping by 32: on CPU, fp32, the first 12 frames of the sample, basicvsr's tiled output
# is 54.2 dB from the untiled one (64/16: 50.2 dB, 48/16: 47.4 dB); tiling changes the recurrence's context
TILE, TILE_OVERLAP = 96, 32
OOM_SIZE, OOM_FRAMES = (640, 360), 4  # a frame whose x4 reconstruction dominates memory, so tiles help
OOM_SHARE_OF_PEAK = 0.5  # the memory limit of the forced out-of-memory run: this share of the untiled peak
SAM_MIN_COSINE = 0.999  # image embeddings under autocast against fp32
TRAIN_ITERS = 20
NCCL_TRAIN_ITERS = 5
SPEED_MODELS = ("basicvsr", "basicvsr-seem", "basicvsr-lite")
SPEED_SIZES = ((320, 180), (640, 360))
SPEED_FRAMES = 20
COMMAND_TIMEOUT = 180  # seconds for one training subprocess
# open SAM filters: a random tiny SAM's masks would all be filtered by the defaults (tests/test_masks_sam.py)
SAM_OPEN = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}
NO_CUDA = "no CUDA device: gpu_check.py runs seemup's CUDA paths and needs one (--dry-run lists its checks)"
MIB = 1024**2


@dataclass
class Row:
    """One line of the table: what was measured, against what, and whether it passed."""

    check: str
    value: str
    threshold: str
    passed: bool
    seconds: float = 0.0

    @property
    def result(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass
class Context:
    """What the checks share: the device, the footage, a scratch folder and runs already made."""

    workdir: Path
    footage: Path = FOOTAGE
    device: str = "cuda"
    _runs: dict[str, tuple[np.ndarray, object]] = field(default_factory=dict)

    def require_cuda(self) -> None:
        """Every check runs a CUDA path: without CUDA it fails at once with the reason."""
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("CUDA is not available")

    def upscale(self, key: str, source: Path | None = None, **options: object) -> tuple[np.ndarray, object]:
        """``seemup upscale`` of ``source`` (the footage) into PNG frames, read back as [T,H,W,3] uint8, with its
        UpscaleResult; a run with the same ``key`` is made once."""
        if key not in self._runs:
            from seemup.pipeline import UpscaleOptions, upscale_video
            from seemup.video import read_frames

            out = self.workdir / f"up-{key}"
            opts = UpscaleOptions(model="basicvsr", device=self.device, quiet=True, **options)
            result = upscale_video(source or self.footage, out, opts)
            with read_frames(out) as reader:
                self._runs[key] = (np.stack(list(reader)), result)
        return self._runs[key]

    def footage_frames(self) -> np.ndarray:
        """The decoded footage, [T,h,w,3] uint8."""
        from seemup.video import read_frames

        with read_frames(self.footage) as reader:
            return np.stack(list(reader))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of one shape (inf when equal)."""
    if a.shape != b.shape:
        raise ValueError(f"outputs differ in shape: {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def db(value: float) -> str:
    return "identical" if math.isinf(value) else f"{value:.2f} dB"


def _clip_text(frames: np.ndarray) -> str:
    return f"{frames.shape[0]} frames of {frames.shape[2] // 4}x{frames.shape[1] // 4}"


# ----------------------------------------------------------------------------------------------- the checks


def check_precision(ctx: Context, precision: str) -> Row:
    """basicvsr's output in ``precision`` (autocast) against fp32, through `seemup upscale`."""
    ctx.require_cuda()
    ref, _ = ctx.upscale("fp32", precision="fp32")
    out, result = ctx.upscale(precision, precision=precision)
    if result.precision != precision:
        raise RuntimeError(f"asked for {precision}, the run used {result.precision}")
    value = psnr(out, ref)
    return Row(precision, f"{db(value)} vs fp32 (basicvsr, {_clip_text(ref)})", f">= {MIN_PSNR:g} dB",
               value >= MIN_PSNR)


def check_fp16(ctx: Context) -> Row:
    return check_precision(ctx, "fp16")


def check_bf16(ctx: Context) -> Row:
    return check_precision(ctx, "bf16")


def check_tiled(ctx: Context) -> Row:
    """basicvsr in tiles against whole frames, both fp32."""
    ctx.require_cuda()
    ref, _ = ctx.upscale("fp32", precision="fp32")
    out, result = ctx.upscale("tiled", precision="fp32", tile=TILE, tile_overlap=TILE_OVERLAP)
    if result.tile != TILE:
        raise RuntimeError(f"asked for tile {TILE}, the run used {result.tile}")
    value = psnr(out, ref)
    return Row("tiled", f"{db(value)} vs untiled (tile {TILE}, overlap {TILE_OVERLAP}, fp32)",
               f">= {MIN_PSNR:g} dB", value >= MIN_PSNR)


def oom_fraction(reserved: int, peak: int, total: int, share: float = OOM_SHARE_OF_PEAK) -> float:
    """The memory fraction that leaves a run ``share`` of the ``peak`` it needed untiled, on top of the
    ``reserved`` bytes already held (all in bytes of a device with ``total``)."""
    if peak <= 0 or total <= 0:
        raise ValueError(f"no memory use to scale (peak {peak}, total {total})")
    return min(1.0, (reserved + share * peak) / total)


def write_large_input(ctx: Context) -> Path:
    """The footage's first OOM_FRAMES frames, bicubic-enlarged to OOM_SIZE, as a PNG folder."""
    from PIL import Image

    folder = ctx.workdir / "large-input"
    folder.mkdir(exist_ok=True)
    for i, frame in enumerate(ctx.footage_frames()[:OOM_FRAMES]):
        Image.fromarray(frame).resize(OOM_SIZE, Image.BICUBIC).save(folder / f"{i:08d}.png")
    return folder


def check_oom_retry(ctx: Context) -> Row:
    """A forced CUDA out-of-memory error (set_per_process_memory_fraction) must end in tiles, not a failure."""
    ctx.require_cuda()
    device = torch.device(ctx.device)
    source = write_large_input(ctx)
    _release()
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    free_run, _ = ctx.upscale("oom-free", source)
    peak = torch.cuda.max_memory_allocated(device) - base
    _release()
    total = torch.cuda.get_device_properties(device).total_memory
    fraction = oom_fraction(torch.cuda.memory_reserved(device), peak, total)
    torch.cuda.set_per_process_memory_fraction(fraction, device)
    try:
        out, result = ctx.upscale("oom-limited", source)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    retries = [n.removeprefix("CUDA out of memory: ") for n in result.notes if "out of memory" in n]
    value = (f"limit {fraction * total / MIB:.0f} MiB ({OOM_SHARE_OF_PEAK:g} x untiled peak {peak / MIB:.0f} MiB): "
             f"{'; '.join(retries) or 'no out-of-memory error'}; {db(psnr(out, free_run))} vs untiled")
    return Row("oom-retry", value, "finishes in tiles", bool(retries))


def check_sam_autocast(ctx: Context) -> Row:
    """The tiny SAM's image encoder under the mask source's CUDA autocast against fp32; then masks from it."""
    ctx.require_cuda()
    import torch.nn.functional as F

    from seemup.masks import NUM_MASKS, build_sam_tiny, get_mask_source

    frames = ctx.footage_frames()[:3]
    source = get_mask_source("sam", sam_model=build_sam_tiny(0), device=ctx.device, **SAM_OPEN)
    predictor = source.predictor
    if predictor.autocast_dtype is None:
        raise RuntimeError(f"the SAM mask source does not autocast on {ctx.device}")
    resized = np.stack([predictor.transform.apply_image(f) for f in frames])
    x = torch.as_tensor(resized, device=source.device).permute(0, 3, 1, 2).contiguous()
    with torch.inference_mode():
        auto = predictor.encode(x)
        ref = source.model.image_encoder(source.model.preprocess(x)).float()
    if torch.equal(auto, ref):
        raise RuntimeError("the autocast embeddings equal the fp32 ones bit for bit: autocast was not in effect")
    cosine = float(F.cosine_similarity(auto.flatten(1).double(), ref.flatten(1).double()).min())
    start = time.perf_counter()
    masks = source.batch(list(frames))
    ms = (time.perf_counter() - start) * 1000 / len(frames)
    if masks.shape != (len(frames), NUM_MASKS, *frames.shape[1:3]):
        raise RuntimeError(f"masks of shape {masks.shape}")
    dtype = str(predictor.autocast_dtype).removeprefix("torch.")
    return Row("sam-autocast", f"embedding cosine {cosine:.6f} ({dtype} vs fp32); masks {ms:.0f} ms/frame",
               f"cosine >= {SAM_MIN_COSINE:g}", cosine >= SAM_MIN_COSINE)


def train_amp_command(run_dir: Path, cache_dir: Path, device: str = "cuda", iters: int = TRAIN_ITERS) -> list[str]:
    """`seemup finetune` of basicvsr-seem with --freeze-backbone and AMP on the committed training clips."""
    return [sys.executable, "-m", "seemup", "finetune", "--model", "basicvsr-seem", "--freeze-backbone", "--amp",
            "--masks", "classical", "--data", str(CLIPS), "--iters", str(iters), "--batch-size", "2",
            "--num-frames", "5", "--patch-size", "24", "--workers", "0", "--save-every", str(iters),
            "--log-every", "5", "--device", device, "--run-dir", str(run_dir), "--cache-dir", str(cache_dir)]


def train_nccl_command(run_dir: Path, cache_dir: Path, iters: int = NCCL_TRAIN_ITERS) -> list[str]:
    """`torchrun --nproc-per-node=1 -m seemup train` of the tiny BasicVSR on CUDA."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1", "-m", "seemup",
            "train", "--model", "basicvsr-tiny", "--data", str(CLIPS), "--iters", str(iters), "--batch-size", "2",
            "--num-frames", "4", "--patch-size", "16", "--workers", "0", "--save-every", str(iters),
            "--log-every", "1", "--device", "cuda", "--run-dir", str(run_dir), "--cache-dir", str(cache_dir)]


_TRAINED = re.compile(r"trained \S+ to iteration (\d+)(?:, loss (\S+?))?[,;]")
_PROCESSES = re.compile(r"x (\d+) process\(es\)")


@dataclass
class TrainOutcome:
    """What a training command printed: the last iteration, its loss, processes, whether AMP was on."""

    iteration: int
    loss: float | None
    processes: int | None
    amp: bool


def parse_train_output(text: str) -> TrainOutcome:
    """Read `seemup train`'s header and closing line; a run that did not close is an error."""
    done = _TRAINED.search(text)
    if done is None:
        raise RuntimeError("the training printed no closing 'trained ... to iteration N' line")
    procs = _PROCESSES.search(text)
    loss = float(done.group(2)) if done.group(2) else None
    return TrainOutcome(int(done.group(1)), loss, int(procs.group(1)) if procs else None, "mixed precision" in text)


def run_command(cmd: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
    """Run ``cmd`` in the repository with seemup importable; its stdout and stderr, or an error with the last
    line it printed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()] or ["(nothing printed)"]
        raise RuntimeError(f"exit status {proc.returncode}: {lines[-1].strip()}")
    return text


def check_train_amp(ctx: Context) -> Row:
    """TRAIN_ITERS AMP iterations of basicvsr-seem with --freeze-backbone; the loss must stay finite."""
    ctx.require_cuda()
    run_dir = ctx.workdir / "train-amp"
    start = time.perf_counter()
    out = parse_train_output(run_command(train_amp_command(run_dir, ctx.workdir / "train-cache", ctx.device)))
    seconds = time.perf_counter() - start
    if not out.amp:
        raise RuntimeError("the run did not use mixed precision")
    if not (run_dir / "seem_adapter.pth").is_file():
        raise RuntimeError("no seem_adapter.pth was written")
    finite = out.loss is not None and math.isfinite(out.loss)
    return Row("train-amp", f"{out.iteration} it, loss {out.loss}, {out.iteration / seconds:.1f} it/s with start-up",
               f"{TRAIN_ITERS} it, finite loss", finite and out.iteration == TRAIN_ITERS)


def check_train_nccl(ctx: Context) -> Row:
    """`seemup train` under torchrun on one GPU, and an NCCL all-reduce with a DDP step in a torchrun worker.

    One process forms no process group in seemup (seemup.training.distributed starts DDP at WORLD_SIZE > 1),
    so the NCCL backend is checked by the worker, which runs what DDP needs from it."""
    ctx.require_cuda()
    run_dir = ctx.workdir / "train-nccl"
    out = parse_train_output(run_command(train_nccl_command(run_dir, ctx.workdir / "nccl-cache")))
    if not (run_dir / "model_final.pth").is_file():
        raise RuntimeError("no model_final.pth was written")
    worker = run_command([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1",
                          str(Path(__file__).resolve()), "--nccl-worker"])
    said = [line for line in worker.splitlines() if line.startswith("nccl ok")]
    if not said:
        raise RuntimeError("the NCCL worker did not report")
    return Row("train-nccl", f"torchrun train: {out.iteration} it on {out.processes} process(es); {said[0]}",
               f"{NCCL_TRAIN_ITERS} it, NCCL ok", out.iteration == NCCL_TRAIN_ITERS)


def nccl_worker() -> int:
    """Under torchrun: collective_check on this rank's GPU with NCCL."""
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(device)
    print(collective_check(device, "nccl"), flush=True)
    return 0


def collective_check(device: torch.device, backend: str) -> str:
    """A process group of ``backend`` (from torchrun's environment), one all-reduce and one DDP backward on
    ``device``: what DistributedDataParallel training needs of the backend. Returns the line to report."""
    import torch.distributed as dist
    from torch import nn

    dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    try:
        world = dist.get_world_size()
        t = torch.full((4,), float(dist.get_rank() + 1), device=device)
        dist.all_reduce(t)
        if not torch.all(t == world * (world + 1) / 2):
            raise RuntimeError(f"all-reduce gave {t.tolist()}")
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(nn.Conv2d(3, 8, 3).to(device), device_ids=ids)
        net(torch.rand(2, 3, 16, 16, device=device)).square().mean().backward()
        if not all(torch.isfinite(p.grad).all() for p in net.parameters()):
            raise RuntimeError("DDP gradients are not finite")
        lib = f" (NCCL {'.'.join(str(v) for v in torch.cuda.nccl.version())})" if backend == "nccl" else ""
        return f"{backend} ok{lib}: all-reduce and DDP backward over {world} rank(s)"
    finally:
        dist.destroy_process_group()


def speed_row(ctx: Context, model_name: str, size: tuple[int, int]) -> Row:
    """Network milliseconds per frame in fp16 for SPEED_FRAMES random frames of ``size`` (masks for SEEM)."""
    ctx.require_cuda()
    from seemup.runtime import ModelRunner, place_model
    from seemup.weights import build_model

    device = torch.device(ctx.device)
    model, _ = build_model(model_name)
    runner = ModelRunner(place_model(model, device), device, precision="fp16")
    w, h = size
    x = torch.rand(1, SPEED_FRAMES, 3, h, w, device=device)
    uses_masks = model_name.endswith("-seem")
    masks = (torch.rand(1, SPEED_FRAMES, 64, h, w, device=device) > 0.5).float() if uses_masks else None
    runner.forward(x[:, :3], None if masks is None else masks[:, :3])  # warm-up: kernels, cuDNN choices
    best = math.inf
    for _ in range(2):
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        runner.forward(x, masks)
        torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    ms = best * 1000 / SPEED_FRAMES
    if runner.notes:
        raise RuntimeError("; ".join(runner.notes))
    return Row(f"speed {model_name} {w}x{h}", f"{ms:.1f} ms/frame ({1000 / ms:.1f} fps), network only, fp16",
               "runs", True)


def check_speed(ctx: Context) -> list[Row]:
    """speed_row for every model and size, each isolated."""
    ctx.require_cuda()
    rows = []
    for name in SPEED_MODELS:
        for size in SPEED_SIZES:
            label = f"speed {name} {size[0]}x{size[1]}"
            rows += isolated(label, lambda name=name, size=size: speed_row(ctx, name, size))
    return rows


# --------------------------------------------------------------------------------------------- running them

Check = Callable[[Context], "Row | list[Row]"]
CHECKS: dict[str, tuple[Check, str]] = {
    "fp16": (check_fp16, f"basicvsr fp16 vs fp32 on the sample footage, PSNR >= {MIN_PSNR:g} dB"),
    "bf16": (check_bf16, f"basicvsr bf16 vs fp32 on the sample footage, PSNR >= {MIN_PSNR:g} dB"),
    "tiled": (check_tiled, f"basicvsr tiled ({TILE}/{TILE_OVERLAP}) vs untiled, fp32, PSNR >= {MIN_PSNR:g} dB"),
    "oom-retry": (check_oom_retry, "an out-of-memory error forced by set_per_process_memory_fraction ends in tiles"),
    "sam-autocast": (check_sam_autocast, f"tiny SAM encoder under autocast vs fp32, cosine >= {SAM_MIN_COSINE:g}; "
                     "masks on CUDA"),
    "train-amp": (check_train_amp, f"seemup finetune basicvsr-seem --freeze-backbone, {TRAIN_ITERS} AMP iterations"),
    "train-nccl": (check_train_nccl, "torchrun --nproc-per-node=1 -m seemup train; NCCL all-reduce + DDP step"),
    "speed": (check_speed, "ms/frame, fp16: " + ", ".join(SPEED_MODELS) + " at "
              + " and ".join(f"{w}x{h}" for w, h in SPEED_SIZES)),
}


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _release() -> None:
    """Drop what a check left behind, so the next one starts from free memory."""
    if torch.cuda.is_available():  # the checks run only then
        gc.collect()
        torch.cuda.empty_cache()


def isolated(name: str, fn: Callable[[], Row | list[Row]]) -> list[Row]:
    """``fn``'s rows, timed; an exception becomes one FAIL row with the reason, so the next check still runs."""
    start = time.perf_counter()
    try:
        out = fn()
        rows = out if isinstance(out, list) else [out]
    except Exception as exc:  # noqa: BLE001 - any failure of a check is its FAIL row
        rows = [Row(name, one_line(exc), "-", False)]
    finally:
        _release()
    seconds = time.perf_counter() - start
    for row in rows:
        row.seconds = row.seconds or seconds / len(rows)
    return rows


def run_checks(names: Sequence[str], ctx: Context, say: Callable[[str], None] = print,
               checks: dict[str, tuple[Check, str]] | None = None) -> list[Row]:
    """Run the named checks in order; ``say`` gets one progress line per row."""
    checks = CHECKS if checks is None else checks
    rows: list[Row] = []
    for name in names:
        fn = checks[name][0]
        for row in isolated(name, lambda fn=fn: fn(ctx)):
            say(f"{row.result} {row.check} ({row.seconds:.1f} s): {row.value}")
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------- the table

COLUMNS = ("check", "value", "threshold", "result", "s")


def _cells(row: Row) -> tuple[str, ...]:
    return row.check, row.value, row.threshold, row.result, f"{row.seconds:.1f}"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as aligned plain-text columns, headed."""
    table = [COLUMNS, *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table)


def format_markdown(rows: Sequence[Row], about: str) -> str:
    """The rows as a Markdown table under a line saying where and how they were measured."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [about, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def summary(rows: Sequence[Row], seconds: float) -> str:
    failed = [r.check for r in rows if not r.passed]
    verdict = f"{len(failed)} failed: {', '.join(failed)}" if failed else "all passed"
    return f"{len(rows)} rows, {verdict}, in {seconds:.0f} s"


def about_machine() -> str:
    """GPU, memory, torch and CUDA versions, and the date: the line above a Markdown table."""
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return (f"`python benchmarks/gpu_check.py` on {props.name} ({props.total_memory / 1024**3:.0f} GiB), "
            f"torch {torch.__version__}, CUDA {torch.version.cuda}, {datetime.date.today().isoformat()}")


# ----------------------------------------------------------------------------------------------- the command


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, as every seemup error
        raise UserError(message)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME[,NAME]",
                    help=f"run only these checks (of {', '.join(CHECKS)}); may be repeated")
    ap.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table as Markdown to FILE")
    ap.add_argument("--footage", type=Path, default=FOOTAGE, help="the real footage of the precision and tiling "
                    "checks (default samples/dog_160x90.mp4)")
    ap.add_argument("--dry-run", action="store_true", help="list the checks that would run and stop")
    ap.add_argument("--nccl-worker", action="store_true", help=argparse.SUPPRESS)  # the train-nccl check's worker
    return ap.parse_args(argv)


def select_checks(only: Sequence[str] | None) -> list[str]:
    """The checks ``--only`` names (all when None), in the table's order; an unknown name is a UserError."""
    if not only:
        return list(CHECKS)
    wanted = {n.strip() for text in only for n in text.split(",") if n.strip()}
    unknown = sorted(wanted - set(CHECKS))
    if unknown:
        raise UserError(f"unknown check {', '.join(map(repr, unknown))} (choose from {', '.join(CHECKS)})")
    if not wanted:
        raise UserError("--only names no check")
    return [n for n in CHECKS if n in wanted]


def check_paths(args: argparse.Namespace) -> None:
    """Mistakes in paths are said before minutes of checks, not after."""
    if not args.footage.is_file():
        raise UserError(f"footage not found: {args.footage}")
    if args.markdown is not None and not args.markdown.parent.is_dir():
        raise UserError(f"--markdown: folder does not exist: {args.markdown.parent}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        names = select_checks(args.only)
        check_paths(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print("\n".join(f"{name}: {CHECKS[name][1]}" for name in names))
        return 0
    if not torch.cuda.is_available():
        print(NO_CUDA, file=sys.stderr)
        return 2
    if args.nccl_worker:
        return nccl_worker()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seemup-gpu-check-") as tmp:
        rows = run_checks(names, Context(Path(tmp), footage=args.footage),
                          say=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(rows))
    print(summary(rows, time.perf_counter() - start))
    if args.markdown is not None:
        args.markdown.write_text(format_markdown(rows, about_machine()))
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
