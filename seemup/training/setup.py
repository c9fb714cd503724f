"""Building what a run needs before its first step: the resolved config, the networks, and the data."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from seemup.data.train_clips import Clip, ClipRef, default_train_cache_dir, discover_clips, open_clip
from seemup.data.train_flows import ClipFlows, FlowFn, prepare_clip_flows
from seemup.data.train_lr import ClipLR, prepare_clip_lr
from seemup.data.train_masks import ClipMasks, prepare_clip_masks
from seemup.data.train_mix import group_of, split_group
from seemup.errors import UserError
from seemup.models import CheckpointError, create_model, get_spec, read_state_dict

from .config import RESUMABLE_OVERRIDES, TrainConfig, load_toml, merge, resolve_config
from .distill import copy_from_teacher
from .distributed import DistInfo, shard
from .params import has_flow, is_flow
from .resume import find_resume_state, load_state

DEFAULT_NUM_FRAMES = 15  # BasicSR's BasicVSR REDS recipe


def build_config(options: dict[str, Any], config_file: str | None = None,
                 resume: str | None = None) -> tuple[TrainConfig, dict[str, Any] | None, Path | None]:
    """Resolve the run's config: recipe defaults < TOML file < flags, or the saved config when resuming.

    When resuming, only options that cannot change the result (``RESUMABLE_OVERRIDES``) may differ from the
    saved ones; anything else is refused, since the run would no longer be a continuation.
    Returns (config, training state or None, state path or None).
    """
    given = merge({}, load_toml(config_file) if config_file else {}, options)
    if resume is None:
        cfg = TrainConfig.from_dict(merge(TrainConfig().to_dict(), given))
        return _fit_workers(resolve_config(cfg)), None, None
    path = find_resume_state(resume)
    state = load_state(path)
    saved = dict(state["config"])
    changed = sorted(k for k, v in given.items() if k not in RESUMABLE_OVERRIDES and k in saved
                     and _norm(v) != _norm(saved[k]))
    if changed:
        raise UserError("cannot change these options when resuming (the run would not be a continuation): "
                        + ", ".join(f"{k} (saved {saved[k]!r}, given {given[k]!r})" for k in changed))
    saved.update({k: v for k, v in given.items() if k in RESUMABLE_OVERRIDES})
    saved["run_dir"] = str(path.parent.parent)
    cfg = _fit_workers(resolve_config(TrainConfig.from_dict(saved)))
    if cfg.iters < state["iteration"]:
        raise UserError(f"--iters {cfg.iters} is below the resumed iteration {state['iteration']}")
    return cfg, state, path


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: a container's or taskset's share), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity API (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _fit_workers(cfg: TrainConfig) -> TrainConfig:
    """At most one DataLoader worker per available core: more only compete with the training step (and
    PyTorch warns). Worker count never changes what is trained, so resuming may change it too."""
    return dataclasses.replace(cfg, workers=min(cfg.workers, available_cores()))


def _norm(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_norm(x) for x in v]
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    return v


def default_run_dir(model: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{model}-{stamp}"


def weights_file(text: str) -> Path:
    """File of ``text``: a path, or any weight set of the manifest (verified), whatever model it is for."""
    from seemup.weights import load_manifest, locate

    manifest = load_manifest()
    if text in manifest:
        return locate(manifest.get(text))[0]
    path = Path(text).expanduser()
    if not path.is_file():
        raise UserError(f"weights {text!r}: no such file and no such weight set")
    return path


def init_model(cfg: TrainConfig, mask_source_id: str | None,
               teacher: nn.Module | None = None) -> tuple[nn.Module, TrainConfig, list[str]]:
    """Create the student with its starting weights; returns (model, config with defaults filled, notes).

    Weights go through ``seemup.weights.build_model`` (paths, weight-set names, adapters, mask-source check).
    ``finetune`` without ``--weights`` starts from the backbone's default set (SEEM zero); with
    ``--init-from-teacher`` the student starts from the ``teacher``'s tensors that fit.
    """
    from seemup.weights import build_model, load_manifest

    notes: list[str] = []
    pretrained_flow = False
    weights = cfg.weights
    if cfg.mode == "finetune" and weights is None:
        weights = load_manifest().defaults.get(cfg.model)
        if weights is None:
            raise UserError(f"{cfg.model} has no default weights to fine-tune from: pass --weights PATH")
    if weights is not None:
        model, info = build_model(cfg.model, weights, mask_source_id=mask_source_id)
        if info is None or info.path is None:
            raise UserError(f"weights {weights!r} give {cfg.model} no tensors to start from")
        model.train()
        pretrained_flow = True
        notes.append(f"initial weights: {info.name} ({info.path})")
        notes.extend(f"note: {n}" for n in info.notes)
    else:
        model = create_model(cfg.model)
    if cfg.init_from_teacher:
        if teacher is None:
            raise UserError("--init-from-teacher needs a teacher (--teacher NAME:WEIGHTS)")
        fresh = copy_from_teacher(model, teacher)
        pretrained_flow = pretrained_flow or not any(is_flow(k) for k in fresh) and has_flow(model)
        notes.append(f"initialised from the teacher; {len(fresh)} tensors start fresh"
                     + (f" ({', '.join(fresh[:4])}{', ...' if len(fresh) > 4 else ''})" if fresh else ""))
    if cfg.init_spynet is not None:
        path = weights_file(cfg.init_spynet)
        load_flow(model, path)
        pretrained_flow = True
        notes.append(f"SPyNet initialised from {cfg.init_spynet} ({path})")
    fix = cfg.fix_flow_iters
    if fix is None:
        # BasicSR freezes a *pretrained* SPyNet while the rest warms up; a random one would only stay useless.
        fix = 5000 if has_flow(model) and pretrained_flow and not cfg.freeze_backbone else 0
    return model, dataclasses.replace(cfg, weights=weights, fix_flow_iters=fix), notes


def load_flow(model: nn.Module, path: Path) -> None:
    """Copy the ``spynet.*`` tensors of a checkpoint into ``model`` (shapes must match)."""
    from seemup.models.checkpoint import translate_key

    own = model.state_dict()
    try:
        state = read_state_dict(path)
    except CheckpointError as exc:
        raise UserError(str(exc)) from exc
    flow = {}
    for key, value in state.items():
        k = translate_key(key, set(own))
        if is_flow(k):
            flow[k] = value
    wanted = [k for k in own if is_flow(k)]
    missing = [k for k in wanted if k not in flow]
    bad = [k for k in wanted if k in flow and flow[k].shape != own[k].shape]
    if not wanted:
        raise UserError(f"{type(model).__name__} has no SPyNet to initialise")
    if missing or bad:
        raise UserError(f"{path}: SPyNet tensors do not fit ({len(missing)} missing, {len(bad)} of another shape)")
    model.load_state_dict(flow, strict=False)


def build_teacher(spec_text: str, device: torch.device, mask_source_id: str | None) -> tuple[nn.Module, str]:
    """``NAME[:WEIGHTS]`` -> the teacher network in eval mode with gradients off, and its description."""
    from seemup.weights import build_model

    name, _, weights = spec_text.partition(":")
    teacher, info = build_model(name, weights or None, mask_source_id=mask_source_id)
    if info is None or info.path is None:
        raise UserError(f"--teacher {spec_text}: no weights (give NAME:WEIGHTS); an untrained teacher teaches noise")
    teacher.requires_grad_(False)
    return teacher.to(device).eval(), f"{get_spec(name).name} ({info.name})"


@dataclass
class TrainData:
    clips: list[Clip]
    masks: list[ClipMasks] | None
    mask_source: Any
    num_frames: int
    flows: list[list[ClipFlows] | None] | None = None  # per clip: one set per flow network (None: clip too short)
    lrs: list[ClipLR] | None = None  # per clip: full-frame LR (the mixed sampler cuts LR crops from them)
    groups: list[str] | None = None  # per clip: its --mix group


def find_clips(paths: list[str], exclude_eval: bool, held_out: str | None = None) -> tuple[list[ClipRef], list[str]]:
    """Training clips of all ``--data`` entries (``PATH`` or ``GROUP=PATH``; each clip's ``group`` set for
    ``--mix``), minus the validation clip; returns (clips, notes)."""
    refs: list[ClipRef] = []
    for entry in paths:
        tag, p = split_group(entry)
        refs.extend(dataclasses.replace(r, group=group_of(r.name, tag)) for r in discover_clips(p, exclude_eval))
    notes = []
    if held_out:
        val = {r.path.resolve() for r in discover_clips(held_out, exclude_eval=False)}
        kept = [r for r in refs if r.path.resolve() not in val]
        if len(kept) < len(refs):
            notes.append(f"validation clip {held_out} left out of the training clips")
        if not kept:
            raise UserError("every training clip is the validation clip: give --val-data a clip outside --data")
        refs = kept
    return refs, notes


def default_num_frames(refs: list[ClipRef]) -> int:
    """15 frames (BasicSR), or fewer when every clip is shorter (Vimeo-90K septuplets: 7)."""
    longest = max((len(r.frames) if r.kind == "frames" else DEFAULT_NUM_FRAMES) for r in refs)
    return min(DEFAULT_NUM_FRAMES, longest)


def cache_root(cfg: TrainConfig) -> Path:
    return Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_train_cache_dir()


def make_mask_source(cfg: TrainConfig, device: torch.device):  # noqa: ANN201 - a seemup.masks MaskSource
    from seemup.weights.load import open_masks

    return open_masks(cfg.masks, device, quiet=cfg.quiet, sam_checkpoint=cfg.sam_checkpoint)


def prepare_data(cfg: TrainConfig, refs: list[ClipRef], info: DistInfo, mask_source, console: Console,  # noqa: ANN001
                 flow_fns: list[tuple[str, FlowFn]] | None = None) -> TrainData:
    """Open this rank's clips (decoding videos into the cache), compute their masks when a source is given,
    their flows by each of ``flow_fns`` ((id, function) pairs) for ``--precompute-flows``, and their full-frame
    LR for ``--mix``."""
    mine = shard(refs, info)
    cache = cache_root(cfg)
    show = not cfg.quiet and info.is_main
    clips: list[Clip] = []
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not show, transient=True) as progress:
        task = progress.add_task("decoding clips", total=len(mine))
        for ref in mine:
            progress.update(task, description=f"preparing {ref.name}")
            clips.append(open_clip(ref, cfg.hr_downscale, cache))
            progress.advance(task)
        masks = None
        if mask_source is not None:
            task = progress.add_task(f"masks ({mask_source.id[:40]})", total=sum(c.num_frames for c in clips))
            masks = [prepare_clip_masks(c, mask_source, cache, lambda n: progress.advance(task, n)) for c in clips]
        flows = None
        if flow_fns:
            used = [c.num_frames >= max(2, cfg.num_frames or 2) for c in clips]  # the dataset skips the others
            frames = sum(c.num_frames for c, u in zip(clips, used, strict=True) if u)
            task = progress.add_task("flows (frozen SPyNet)", total=len(flow_fns) * frames)
            flows = [[prepare_clip_flows(c, fn, fid, cache, lambda n: progress.advance(task, n))
                      for fid, fn in flow_fns] if u else None for c, u in zip(clips, used, strict=True)]
        lrs = None
        if cfg.mix:
            task = progress.add_task("LR frames", total=sum(c.num_frames for c in clips))
            lrs = [prepare_clip_lr(c, cache, lambda n: progress.advance(task, n)) for c in clips]
    return TrainData(clips, masks, mask_source, cfg.num_frames or 0, flows, lrs, [r.group for r in mine])
