"""`seemup train` and `seemup finetune`: parse options, hand them to seemup.training, print the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from seemup.errors import UserError
from seemup.userpaths import check_writable_dir

from .app import app

Opt = typer.Option
ModelOpt = Annotated[str | None, Opt("--model", "-m", help="Model to train, e.g. basicvsr-lite.")]
DataOpt = Annotated[list[str] | None, Opt("--data", "-d", help="Training clips: REDS or Vimeo-90K root, a folder of "
                                          "frame folders / video files / .npz clips, a frame folder, a video or .npz "
                                          "file (repeatable); GROUP=PATH puts its clips in a --mix group.")]
ConfigOpt = Annotated[Path | None, Opt("--config", help="TOML file with any of these options (flags override it).")]
ResumeOpt = Annotated[Path | None, Opt("--resume", help="Continue a run exactly: its directory or a .state file.")]
RunDirOpt = Annotated[Path | None, Opt("--run-dir", "-o", help="Where checkpoints, config and log go "
                                       "(default runs/<model>-<time>).")]
ItersOpt = Annotated[int | None, Opt("--iters", help="Total iterations (default 300000 BasicVSR, 600000 EDVR).")]
BatchOpt = Annotated[int | None, Opt("--batch-size", "-b", help="Samples per step and process "
                                   "(default 6 BasicVSR, 4 EDVR).")]
FramesOpt = Annotated[int | None, Opt("--num-frames", help="Frames per sample (default 15; EDVR: its window; "
                                     "space-time: K + 1 = 9, frames 0 and K in).")]
PatchOpt = Annotated[int | None, Opt("--patch-size", help="LR patch side in pixels; the HR patch is 4x (default 64; "
                                     "space-time 32).")]
DownOpt = Annotated[int | None, Opt("--hr-downscale", help="Area-downscale source frames by this factor before they "
                                    "become HR (2 for compressed 720p footage) (default 1).")]
LrOpt = Annotated[float | None, Opt("--lr", help="Adam learning rate (default 2e-4 BasicVSR, 4e-4 EDVR).")]
PeriodsOpt = Annotated[str | None, Opt("--periods", help="Cosine restart periods, comma-separated (default --iters).")]
RestartOpt = Annotated[str | None, Opt("--restart-weights", help="Restart weights, comma-separated (default 1,...).")]
EtaOpt = Annotated[float | None, Opt("--eta-min", help="Lowest learning rate of the cosine (default 1e-7; "
                                   "space-time 2e-6).")]
FlowMulOpt = Annotated[float | None, Opt("--flow-lr-mul", help="SPyNet learning-rate multiplier (default 0.125).")]
FixFlowOpt = Annotated[int | None, Opt("--fix-flow-iters", help="Keep SPyNet frozen this many iterations "
                                       "(default 5000 when it starts pretrained, else 0).")]
PrecomputeOpt = Annotated[bool | None, Opt("--precompute-flows", help="Compute the frozen SPyNet's flows once per "
                                            "clip and cut them out per crop instead of running SPyNet every step "
                                            "(needs SPyNet frozen for the whole run).")]
QatOpt = Annotated[bool | None, Opt("--qat", help="Quantization-aware: the residual blocks train on the int8 grids "
                                   "of the starting weights' calibration (`seemup weights calibrate`), so that "
                                   "`--precision int8` costs nothing; calibrate the result again afterwards.")]
InitFlowOpt = Annotated[str | None, Opt("--init-spynet", help="Copy SPyNet from these weights (path or weight-set "
                                        "name, e.g. basicvsr-reds4) before training.")]
ClipOpt = Annotated[float | None, Opt("--grad-clip", help="Clip the gradient norm to this; 0 is off (default 0; "
                                    "space-time 1).")]
AmpOpt = Annotated[bool | None, Opt("--amp/--no-amp", help="Mixed precision: float16 on CUDA (default on there), "
                                   "bfloat16 on CPU (default off; fast on CPUs with avx512_bf16 or AMX).")]
MixOpt = Annotated[str | None, Opt("--mix", help="Draw each sample's group by share, e.g. footage=0.35,photo=0.45,"
                                   "video=0.2, then a clip within it (a clip's group: GROUP of --data GROUP=PATH, "
                                   "else its name up to the first '-'); LR crops cut from the full-frame LR.")]
WarmupOpt = Annotated[int | None, Opt("--warmup", help="Space-time models: linear warm-up iterations before the cosine "
                                     "(default 2000, or a tenth of --iters when fewer).")]
TargetsOpt = Annotated[int | None, Opt("--targets", help="Space-time models: frames of each window supervised per "
                                       "step, its two input frames and random ones between (default all).")]
SeedOpt = Annotated[int | None, Opt("--seed", help="Seed of initialisation and of every sample drawn (default 0).")]
WorkersOpt = Annotated[int | None, Opt("--workers", "-j", help="DataLoader worker processes (default 4; never more "
                                       "than the CPU cores available).")]
SaveOpt = Annotated[int | None, Opt("--save-every", help="Save a training state and weights every N iterations "
                                    "(default 5000).")]
KeepOpt = Annotated[int | None, Opt("--keep-checkpoints", help="Training states kept; weights all kept (default 3).")]
ValEveryOpt = Annotated[int | None, Opt("--val-every", help="Validation PSNR every N iterations (default 5000).")]
ValDataOpt = Annotated[str | None, Opt("--val-data", help="Held-out clip for validation PSNR (not trained on).")]
ValFramesOpt = Annotated[int | None, Opt("--val-frames", help="Frames of the validation clip used (default 30).")]
ValSpaceOpt = Annotated[str | None, Opt("--val-space", help="Validation PSNR of rgb or y (default rgb).")]
ValCropOpt = Annotated[str | None, Opt("--val-crop", help="Validate on the top-left WxH HR pixels of each frame only, "
                                       "e.g. 320x180 (default the whole frame).")]
LogOpt = Annotated[int | None, Opt("--log-every", help="Write a train_log.csv row every N iterations (default 10).")]
MasksOpt = Annotated[str | None, Opt("--masks", help="Mask source for SEEM models: auto, sam, "
                                  "classical (default auto).")]
SamOpt = Annotated[str | None, Opt("--sam-checkpoint", help="SAM checkpoint for --masks sam/auto.")]
TeacherOpt = Annotated[str | None, Opt("--teacher", help="Distil from NAME[:WEIGHTS] (e.g. basicvsr:basicvsr-reds4).")]
TeacherWOpt = Annotated[float | None, Opt("--teacher-weight", help="Weight of the teacher term (default 1.0).")]
FeatureWOpt = Annotated[float | None, Opt("--feature-weight", help="Weight of Charbonnier between the student's "
                                          "and the teacher's propagated features, BasicVSR family (default 0).")]
TeacherFlowsOpt = Annotated[str | None, Opt("--teacher-flows", help="own: the teacher's SPyNet (default); student: the "
                                            "student's precomputed flows (cheaper; needs --precompute-flows).")]
DeviceOpt = Annotated[str | None, Opt("--device", help="auto, cpu, cuda, cuda:N (default auto).")]
CacheOpt = Annotated[str | None, Opt("--cache-dir", help="Where decoded clips and mask arrays are cached.")]
QuietOpt = Annotated[bool, Opt("--quiet", "-q", help="No progress output.")]


def _floats(text: str | None, name: str, kind: type = float) -> list | None:
    if text is None:
        return None
    try:
        return [kind(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError as exc:
        raise UserError(f"{name} must be comma-separated numbers, got {text!r}") from exc


def _run(mode: str, options: dict[str, Any], config: Path | None, resume: Path | None) -> None:
    from seemup.training import build_config, train
    from seemup.training.setup import cache_root

    options = dict(options)
    options["periods"] = _floats(options.get("periods"), "--periods", int)
    options["restart_weights"] = _floats(options.get("restart_weights"), "--restart-weights")
    if options.get("quiet") is False:
        options["quiet"] = None  # not given
    for key in ("run_dir",):
        if options.get(key) is not None:
            options[key] = str(options[key])
    options["data"] = options.get("data") or None
    if resume is None:
        options["mode"] = mode
    cfg, state, _ = build_config(options, str(config) if config else None, str(resume) if resume else None)
    check_writable_dir(cache_root(cfg), "--cache-dir" if cfg.cache_dir else "clip cache")
    result = train(cfg, state, Console(stderr=True, highlight=False, markup=False, soft_wrap=True))  # paths as they are
    cfg = result.config or cfg
    if result.is_main:
        out = Console(highlight=False, markup=False, soft_wrap=True)
        psnr = f", validation PSNR {result.val_psnr:.2f} dB" if result.val_psnr is not None else ""
        loss = f", loss {result.last_loss:.5f}" if result.last_loss is not None else ""
        out.print(f"trained {cfg.model} to iteration {result.iteration}{loss}{psnr}; "
                  f"{result.total_params:,} parameters, {result.trainable_params:,} trainable")
        out.print(f"weights: {result.weights}")
        if result.adapter is not None:
            out.print(f"SEEM adapter (on top of {cfg.weights}): {result.adapter}")
        if cfg.qat:
            out.print(f"for --precision int8, calibrate them: seemup weights calibrate --model {cfg.model} "
                      f"--weights {result.weights} --data CLIP (footage like the training data)")


@app.command()
def train(
    model: ModelOpt = None, data: DataOpt = None, weights: Annotated[str | None, Opt(
        "--weights", "-w", help="Initial weights (path or weight-set name) (default none: from scratch).")] = None,
    config: ConfigOpt = None, resume: ResumeOpt = None, run_dir: RunDirOpt = None, iters: ItersOpt = None,
    batch_size: BatchOpt = None, num_frames: FramesOpt = None, patch_size: PatchOpt = None,
    hr_downscale: DownOpt = None, lr: LrOpt = None, periods: PeriodsOpt = None, restart_weights: RestartOpt = None,
    eta_min: EtaOpt = None, flow_lr_mul: FlowMulOpt = None, fix_flow_iters: FixFlowOpt = None,
    precompute_flows: PrecomputeOpt = None, init_spynet: InitFlowOpt = None, qat: QatOpt = None,
    grad_clip: ClipOpt = None, warmup: WarmupOpt = None, targets: TargetsOpt = None, amp: AmpOpt = None,
    seed: SeedOpt = None,
    workers: WorkersOpt = None, save_every: SaveOpt = None, keep_checkpoints: KeepOpt = None,
    val_every: ValEveryOpt = None, val_data: ValDataOpt = None, val_frames: ValFramesOpt = None,
    val_space: ValSpaceOpt = None, val_crop: ValCropOpt = None, mix: MixOpt = None,
    log_every: LogOpt = None, masks: MasksOpt = None, sam_checkpoint: SamOpt = None, teacher: TeacherOpt = None,
    teacher_weight: TeacherWOpt = None, feature_weight: FeatureWOpt = None, teacher_flows: TeacherFlowsOpt = None,
    init_from_teacher: Annotated[bool | None, Opt(
        "--init-from-teacher", help="Start from every teacher tensor of the same name and shape (e.g. "
        "basicvsr-lite from basicvsr: all but the dropped blocks and the lite upsampler).")] = None,
    device: DeviceOpt = None, cache_dir: CacheOpt = None, quiet: QuietOpt = False,
) -> None:
    """Train every parameter of a model on video clips (BI x4 degradation made on the fly); space-time models
    (safa) on windows of real frames, each output supervised at its own time.

    Runs under `torchrun --nproc_per_node N` as DistributedDataParallel.
    """
    opts = {k: v for k, v in locals().items() if k not in ("config", "resume")}
    _run("train", opts, config, resume)


@app.command()
def finetune(
    model: ModelOpt = None, data: DataOpt = None, weights: Annotated[str | None, Opt(
        "--weights", "-w", help="Backbone checkpoint (path or weight-set name) "
        "(default the model's default set).")] = None,
    freeze_backbone: Annotated[bool | None, Opt(
        "--freeze-backbone/--no-freeze-backbone", help="Train only f_r and the SEEM blocks; the backbone stays "
        "bit-for-bit unchanged.")] = None,
    config: ConfigOpt = None, resume: ResumeOpt = None, run_dir: RunDirOpt = None, iters: ItersOpt = None,
    batch_size: BatchOpt = None, num_frames: FramesOpt = None, patch_size: PatchOpt = None,
    hr_downscale: DownOpt = None, lr: LrOpt = None, periods: PeriodsOpt = None, restart_weights: RestartOpt = None,
    eta_min: EtaOpt = None, flow_lr_mul: FlowMulOpt = None, fix_flow_iters: FixFlowOpt = None,
    precompute_flows: PrecomputeOpt = None, qat: QatOpt = None, grad_clip: ClipOpt = None, warmup: WarmupOpt = None,
    targets: TargetsOpt = None, amp: AmpOpt = None, seed: SeedOpt = None, workers: WorkersOpt = None,
    save_every: SaveOpt = None, keep_checkpoints: KeepOpt = None, val_every: ValEveryOpt = None,
    val_data: ValDataOpt = None, val_frames: ValFramesOpt = None, val_space: ValSpaceOpt = None,
    val_crop: ValCropOpt = None, mix: MixOpt = None, log_every: LogOpt = None, masks: MasksOpt = None,
    sam_checkpoint: SamOpt = None, teacher: TeacherOpt = None, teacher_weight: TeacherWOpt = None,
    feature_weight: FeatureWOpt = None, teacher_flows: TeacherFlowsOpt = None, device: DeviceOpt = None,
    cache_dir: CacheOpt = None, quiet: QuietOpt = False,
) -> None:
    """Fine-tune a model from a backbone checkpoint, e.g. basicvsr-seem from the official BasicVSR.

    With --freeze-backbone only SEEM (f_r + blocks) learns: the paper's efficient tuning.
    """
    opts = {k: v for k, v in locals().items() if k not in ("config", "resume")}
    _run("finetune", opts, config, resume)
