"""Training configuration: one flat record, resolved from recipe defaults < TOML file < command-line flags.

The resolved record is saved beside the checkpoints (``config.json``) and inside every training state,
so a run can be resumed or reproduced from its files alone.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemup.errors import UserError
from seemup.models import get_spec

SCALE = 4

# Options that may differ between an interrupted run and its resumption without changing the result.
RESUMABLE_OVERRIDES = frozenset({
    "iters", "workers", "save_every", "val_every", "log_every", "keep_checkpoints", "quiet", "device",
    "cache_dir", "val_frames", "val_space", "val_crop",
})


@dataclass
class TrainConfig:
    """Everything that decides what a training run computes (plus where it writes).

    ``None`` means "the recipe default for this model", filled in by :func:`resolve_config`.
    """

    model: str = ""
    data: list[str] = field(default_factory=list)
    mode: str = "train"  # "train" (all parameters) or "finetune" (start from a backbone checkpoint)
    weights: str | None = None  # initial weights: path or weight-set name
    freeze_backbone: bool = False
    init_spynet: str | None = None  # copy ``spynet.*`` from these weights (path or name) before training
    run_dir: str | None = None
    iters: int | None = None
    batch_size: int | None = None  # per process
    num_frames: int | None = None  # frames per sample (window models: the model's 2N+1; space-time: K + 1)
    patch_size: int | None = None  # LR patch side; HR patch is SCALE times larger
    hr_downscale: int = 1  # area-downscale video-file frames by this factor before they become HR
    exclude_eval_clips: bool = True  # leave REDS4 / Vimeo-90K-T out of REDS / Vimeo layouts
    lr: float | None = None
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    warmup: int | None = None  # space-time: linear warm-up iterations before the cosine
    targets: int | None = None  # space-time: window frames supervised per step (None: all K + 1)
    periods: list[int] | None = None
    restart_weights: list[float] | None = None
    eta_min: float | None = None
    flow_lr_mul: float = 0.125
    fix_flow_iters: int | None = None
    precompute_flows: bool = False  # frozen SPyNet: flows computed once per clip, cut out per crop
    qat: bool = False  # residual blocks trained on the int8 grids of the starting weights' calibration
    mix: str | None = None  # "GROUP=SHARE,...": samples drawn by group share (seemup.data.train_mix)
    charbonnier_eps: float = 1e-12
    grad_clip: float | None = None  # max global gradient norm; 0 = off
    amp: bool | None = None  # float16 on CUDA, bfloat16 on CPU; None: on when training on CUDA
    seed: int = 0
    workers: int = 4
    save_every: int = 5000
    keep_checkpoints: int = 3  # training states kept on disk (exported weights are all kept)
    val_every: int = 5000
    val_data: str | None = None
    val_frames: int = 30
    val_space: str = "rgb"  # PSNR of "rgb" or of "y" (BT.601 luma)
    val_crop: str | None = None  # "WxH": score only the top-left HR crop of that size (LR cut from the full frame)
    log_every: int = 10
    masks: str = "auto"  # mask source kind for SEEM models: auto | sam | classical
    sam_checkpoint: str | None = None
    teacher: str | None = None  # NAME or NAME:WEIGHTS
    teacher_weight: float = 1.0
    feature_weight: float = 0.0  # x Charbonnier between the student's and the teacher's propagated features
    teacher_flows: str = "own"  # "own": the teacher's SPyNet; "student": the student's precomputed flows
    init_from_teacher: bool = False  # start from every teacher tensor of the same name and shape
    device: str = "auto"
    cache_dir: str | None = None
    quiet: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas) if self.betas is not None else None
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with a message naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"unknown training option(s): {', '.join(unknown)}")
        values = dict(values)
        if "betas" in values and values["betas"] is not None:
            values["betas"] = tuple(float(b) for b in values["betas"])
        if isinstance(values.get("data"), str):
            values["data"] = [values["data"]]
        return cls(**values)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config; keys are the option names with ``-`` or ``_`` (``[train]`` table optional)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"cannot parse config file {path}: {exc}") from exc
    if isinstance(raw.get("train"), dict) and len(raw) == 1:
        raw = raw["train"]
    return {k.replace("-", "_"): v for k, v in raw.items()}


def merge(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; ``None`` values in a layer mean "not given" and are skipped."""
    out = dict(base)
    for layer in layers:
        out.update({k: v for k, v in layer.items() if v is not None})
    return out


def resolve_config(cfg: TrainConfig) -> TrainConfig:
    """Fill the recipe defaults that depend on the model (SEEM paper, BasicSR and SAFA recipes; docs/training.md).

    BasicVSR (BasicSR ``train_BasicVSR_REDS.yml``): lr 2e-4, one cosine period over 300k iterations,
    15 frames, SPyNet at lr x0.125 and frozen for 5000 iterations; batch 6 (SEEM paper).
    EDVR (``train_EDVR_M_x4_SR_REDS.yml``): lr 4e-4, periods 50k/100k/150k/150k/150k (600k), batch 4.
    SAFA: windows of 9 frames, AdamW (weight decay 1e-4), 2000 warm-up iterations to 2e-4 then cosine to 2e-6,
    gradient norm clipped at 1.0, 32 px LR (128 px HR) patches, batch 6.
    """
    if not cfg.model:
        raise UserError("no model given (--model)")
    try:
        spec = get_spec(cfg.model)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if spec.name == "bicubic":
        raise UserError("the bicubic model has no parameters to train")
    if spec.kind not in ("recurrent", "window", "spacetime"):
        raise UserError(f"seemup train does not train {spec.kind} models such as {spec.name}")
    if cfg.mode not in ("train", "finetune"):
        raise UserError(f"mode must be 'train' or 'finetune', got {cfg.mode!r}")
    if cfg.freeze_backbone and not spec.uses_masks:
        raise UserError(f"--freeze-backbone needs a SEEM model (e.g. {spec.name}-seem): {spec.name} is all backbone")
    out = dataclasses.replace(cfg, model=spec.name)
    if spec.kind == "spacetime":
        _spacetime_defaults(out)
    else:
        _sr_defaults(out, spec.kind == "window", spec.num_frame)
    if out.restart_weights is None:
        out.restart_weights = [1.0] * len(out.periods)
    if len(out.restart_weights) != len(out.periods):
        raise UserError(f"{len(out.periods)} periods but {len(out.restart_weights)} restart weights")
    if any(p <= 0 for p in out.periods):
        raise UserError("scheduler periods must be positive")
    if sum(out.periods) < out.iters:
        raise UserError(f"scheduler periods cover {sum(out.periods)} iterations, fewer than --iters {out.iters}")
    for name in ("iters", "batch_size", "patch_size", "hr_downscale", "save_every", "val_every", "log_every"):
        if getattr(out, name) <= 0:
            raise UserError(f"{name.replace('_', '-')} must be positive, got {getattr(out, name)}")
    if out.workers < 0:
        raise UserError("--workers must be >= 0")
    if out.grad_clip < 0 or out.weight_decay < 0 or out.eta_min < 0:
        raise UserError("--grad-clip, weight decay and --eta-min must be >= 0")
    if out.masks not in ("auto", "sam", "classical"):
        raise UserError(f"--masks must be auto, sam or classical, got {out.masks!r}")
    if not out.data:
        raise UserError("no training data given (--data PATH)")
    if out.teacher_weight < 0:
        raise UserError("--teacher-weight must be >= 0")
    if out.feature_weight < 0:
        raise UserError("--feature-weight must be >= 0")
    if (out.feature_weight > 0 or out.init_from_teacher) and not out.teacher:
        raise UserError("--feature-weight and --init-from-teacher need a teacher (--teacher NAME:WEIGHTS)")
    if out.qat and out.weights is None and out.mode == "train":
        raise UserError("--qat needs starting weights with an int8 calibration: --weights W "
                        "(calibrated by `seemup weights calibrate --weights W`)")
    if out.init_from_teacher and out.weights is not None:
        raise UserError("--init-from-teacher and --weights both give the starting weights: choose one")
    _check_sampling_and_validation(out)
    return out


def _sr_defaults(out: TrainConfig, window: bool, num_frame: int) -> None:
    """Defaults and checks of the recurrent (BasicVSR) and window (EDVR) recipes, in place."""
    if out.warmup or out.targets is not None:
        raise UserError("--warmup and --targets apply to space-time models (e.g. safa)")
    if out.iters is None:
        out.iters = 600_000 if window else 300_000
    if out.lr is None:
        out.lr = 4e-4 if window else 2e-4
    if out.batch_size is None:
        out.batch_size = 4 if window else 6
    out.patch_size = 64 if out.patch_size is None else out.patch_size
    out.betas = out.betas or (0.9, 0.99)
    out.weight_decay = 0.0 if out.weight_decay is None else out.weight_decay
    out.eta_min = 1e-7 if out.eta_min is None else out.eta_min
    out.grad_clip = 0.0 if out.grad_clip is None else out.grad_clip
    out.warmup = 0
    if window:
        if out.num_frames not in (None, num_frame):
            raise UserError(f"the model sees exactly {num_frame} frames; --num-frames {out.num_frames} does not fit")
        out.num_frames = num_frame
        if out.patch_size % 4:
            raise UserError("window models need --patch-size divisible by 4 (the pyramid halves it twice)")
    if out.periods is None:
        out.periods = [50_000, 100_000, 150_000, 150_000, 150_000] if window and out.iters == 600_000 else [out.iters]
    if out.num_frames is not None and out.num_frames < 2 and not window:
        raise UserError("recurrent models need at least 2 frames per sample (--num-frames)")


SPACETIME_UNUSED = {  # options of the SR recipes that a space-time run has no use for
    "teacher": "a teacher", "qat": "--qat", "mix": "--mix", "init_spynet": "--init-spynet",
    "precompute_flows": "--precompute-flows", "fix_flow_iters": "--fix-flow-iters", "init_from_teacher":
    "--init-from-teacher",
}


def _spacetime_defaults(out: TrainConfig) -> None:
    """Defaults and checks of the SAFA recipe, in place: one warm-up then one cosine over ``periods[0]``."""
    for key, flag in SPACETIME_UNUSED.items():
        if getattr(out, key):
            raise UserError(f"{flag} does not apply to space-time models such as {out.model}")
    out.iters = 300_000 if out.iters is None else out.iters
    out.lr = 2e-4 if out.lr is None else out.lr
    out.batch_size = 6 if out.batch_size is None else out.batch_size
    out.num_frames = 9 if out.num_frames is None else out.num_frames
    out.patch_size = 32 if out.patch_size is None else out.patch_size
    out.betas = out.betas or (0.9, 0.999)
    out.weight_decay = 1e-4 if out.weight_decay is None else out.weight_decay
    out.eta_min = 2e-6 if out.eta_min is None else out.eta_min
    out.grad_clip = 1.0 if out.grad_clip is None else out.grad_clip
    out.warmup = min(2000, out.iters // 10) if out.warmup is None else out.warmup
    out.fix_flow_iters = 0
    if out.num_frames < 2:
        raise UserError(f"space-time windows need at least 2 frames (--num-frames), got {out.num_frames}")
    if out.targets is not None and not 2 <= out.targets:
        raise UserError(f"--targets counts the supervised frames of a window, at least its 2 input frames; "
                        f"got {out.targets}")
    if out.warmup < 0:
        raise UserError(f"--warmup must be >= 0, got {out.warmup}")
    if out.periods is None:
        out.periods = [out.iters]
    if len(out.periods) != 1:
        raise UserError("space-time training runs one cosine after the warm-up: give one period (--periods)")
    if out.warmup >= out.periods[0]:
        raise UserError(f"--warmup {out.warmup} leaves no cosine in a period of {out.periods[0]} iterations")


def val_crop_size(text: str | None) -> tuple[int, int] | None:
    """``"320x180"`` -> (320, 180): HR width and height, multiples of the x4 scale."""
    if text is None:
        return None
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0 and not int(w) % SCALE
            and not int(h) % SCALE):
        raise UserError(f"--val-crop must be WIDTHxHEIGHT in HR pixels, multiples of {SCALE}, got {text!r}")
    return int(w), int(h)


def _check_sampling_and_validation(cfg: TrainConfig) -> None:
    """The options of the mixed sampler, the teacher's flows and validation scoring (one message each)."""
    from seemup.data.train_mix import parse_mix

    if cfg.mix is not None:
        parse_mix(cfg.mix)
    if cfg.teacher_flows not in ("own", "student"):
        raise UserError(f"--teacher-flows must be own or student, got {cfg.teacher_flows!r}")
    if cfg.teacher_flows == "student" and not (cfg.teacher and cfg.precompute_flows):
        raise UserError("--teacher-flows student hands the teacher the student's precomputed flows: it needs "
                        "--teacher and --precompute-flows")
    if cfg.val_space not in ("rgb", "y"):
        raise UserError(f"--val-space must be rgb or y, got {cfg.val_space!r}")
    val_crop_size(cfg.val_crop)


def save_config_json(cfg: TrainConfig, path: Path) -> None:
    """Write the resolved config atomically (temp file + rename)."""
    from seemup.data.train_files import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(cfg.to_dict(), indent=2, sort_keys=True) + "\n").encode())
