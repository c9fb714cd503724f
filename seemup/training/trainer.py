"""The training loop of ``seemup train`` / ``seemup finetune``: resumable exactly, DDP-ready, mixed precision."""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader

from seemup.data.train_datasets import (
    IterationSampler,
    SampleSpec,
    VideoTrainDataset,
    degrade_on_device,
    worker_init,
)
from seemup.data.train_flows import FlowFn
from seemup.data.train_mix import MixedSampler, assign_groups, parse_mix
from seemup.errors import UserError
from seemup.models import create_model, get_spec

from .config import SCALE, TrainConfig, save_config_json, val_crop_size
from .distill import FeatureTap, check_feature_distillation, feature_loss, skip_upsampler
from .distributed import DistInfo, init_distributed, mean_across_ranks, shutdown_distributed, wrap_ddp
from .export import export_weights, weights_path
from .frozen_spynet import check_precompute_flows, flow_function, flow_id, has_compute_flows, spynet_frozen_throughout
from .interrupt import StopRequest
from .losses import charbonnier
from .params import count_parameters, param_groups, set_requires_grad
from .progress import TrainLog, TrainProgress
from .qat import calibrated_ranges, fake_quantize_blocks
from .resume import prune_states, save_state, set_rng_states, state_path
from .scheduler import CosineAnnealingRestartLR
from .setup import (
    build_teacher,
    cache_root,
    default_num_frames,
    default_run_dir,
    find_clips,
    init_model,
    make_mask_source,
    prepare_data,
    weights_file,
)
from .validate import Validator

FINAL_WEIGHTS = "model_final.pth"
ADAPTER_WEIGHTS = "seem_adapter.pth"  # SEEM tensors only, for `--weights` on top of the base set


@dataclass
class TrainResult:
    """What a finished (or resumed-and-finished) run produced."""

    run_dir: Path
    iteration: int
    weights: Path
    total_params: int
    trainable_params: int
    last_loss: float | None
    val_psnr: float | None
    mask_source_id: str | None
    adapter: Path | None = None
    config: TrainConfig | None = None
    is_main: bool = True  # False on the other ranks of a DDP run (they write and report nothing)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _to_device(batch: dict[str, torch.Tensor], device: torch.device, centre_only: bool) -> dict[str, torch.Tensor]:
    """Move a uint8 batch to the device as floats in [0, 1], making LR there when the workers did not."""
    nb = device.type == "cuda"
    out = {k: v.to(device, non_blocking=nb) for k, v in batch.items()}
    if "lr" not in out:
        out["lr"] = degrade_on_device(out["hr"])
        if centre_only:
            out["hr"] = out["hr"][:, out["hr"].shape[1] // 2]
    else:
        out["lr"] = out["lr"].float().div_(255.0)
    out["hr"] = out["hr"].float().div_(255.0)
    return out


class Trainer:
    """Owns model, optimizer, scheduler and data of one process; :meth:`run` trains to ``cfg.iters``."""

    def __init__(self, cfg: TrainConfig, state: dict[str, Any] | None = None, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.dist, self.device = init_distributed(cfg.device)
        self.main = self.dist.is_main
        seed_everything(cfg.seed)
        spec = get_spec(cfg.model)
        self.window = spec.kind == "window"

        tspec = get_spec(cfg.teacher.partition(":")[0]) if cfg.teacher else None
        if tspec is not None and (tspec.kind != spec.kind or tspec.num_frame != spec.num_frame):
            raise UserError(f"teacher {tspec.name} ({tspec.kind}) does not produce what {spec.name} does")
        self.uses_masks = spec.uses_masks
        teacher_masks = bool(tspec is not None and tspec.uses_masks)
        mask_source = make_mask_source(cfg, self.device) if self.uses_masks or teacher_masks else None
        self.mask_source_id = mask_source.id if mask_source is not None else None
        if state is not None and state.get("mask_source_id") != self.mask_source_id:
            raise UserError(f"the run was trained with masks {state.get('mask_source_id')!r} but now gets "
                            f"{self.mask_source_id!r}: pass the same --masks / --sam-checkpoint to resume")

        self.teacher: nn.Module | None = None
        teacher_desc = ""
        if cfg.teacher:  # built aside from the seeded RNG, so the student starts the same with or without it
            with torch.random.fork_rng(devices=[]):
                self.teacher, teacher_desc = build_teacher(cfg.teacher, self.device, self.mask_source_id)
        if state is None:
            model, cfg, notes = init_model(cfg, self.mask_source_id, self.teacher)
        else:  # the saved weights replace any initialisation; the saved config already has its defaults filled
            model, notes = create_model(cfg.model), []
            model.load_state_dict(state["model"])
        self.qat_ranges = self._quantization_aware(model, cfg, state, notes) if cfg.qat else None
        refs, data_notes = find_clips(cfg.data, cfg.exclude_eval_clips, cfg.val_data)
        notes.extend(data_notes)
        if cfg.num_frames is None:
            cfg = dataclasses.replace(cfg, num_frames=default_num_frames(refs))
        if cfg.run_dir is None:
            cfg = dataclasses.replace(cfg, run_dir=str(default_run_dir(cfg.model)))
        if cfg.amp is None:
            cfg = dataclasses.replace(cfg, amp=self.device.type == "cuda")
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.amp = bool(cfg.amp)  # float16 with loss scaling on CUDA, bfloat16 on CPU
        self.amp_dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16

        self.model = model.to(self.device).train()
        self.total_params, self.trainable_params = count_parameters(model, cfg.freeze_backbone)

        self.teacher_tap = self.student_tap = None
        if self.teacher is not None:
            notes.append(f"teacher: {teacher_desc}, weight {cfg.teacher_weight}"
                         + (f", feature weight {cfg.feature_weight}" if cfg.feature_weight > 0 else ""))
            if cfg.feature_weight > 0:
                check_feature_distillation(self.model, self.teacher)
                self.teacher_tap, self.student_tap = FeatureTap(self.teacher), FeatureTap(self.model)
                if cfg.teacher_weight == 0:
                    skip_upsampler(self.teacher)

        flow_fns = None
        self.flow_slots: tuple[int, int | None] | None = None  # which precomputed set the student / teacher gets
        if cfg.precompute_flows:
            check_precompute_flows(self.model, cfg.freeze_backbone, cfg.fix_flow_iters, cfg.iters)
            flow_fns, self.flow_slots = self._flow_functions()
        self.data = prepare_data(cfg, refs, self.dist, mask_source, self.console, flow_fns)
        self.dataset = self._make_dataset()
        skipped = len(self.data.clips) - len(self.dataset.clips)
        if skipped:
            notes.append(f"{skipped} clip(s) skipped: fewer than {cfg.num_frames} frames or smaller than "
                         f"{cfg.patch_size * 4}x{cfg.patch_size * 4} px")
        self.mix_groups = None
        if cfg.mix:
            groups, shares, mix_notes = assign_groups(parse_mix(cfg.mix),
                                                      [self.data.groups[i] for i in self.dataset.usable])
            self.mix_groups = (groups, shares)
            notes.extend(mix_notes)

        self.validator = self._make_validator(spec.num_frame) if cfg.val_data and self.main else None

        self.iteration = 0 if state is None else int(state["iteration"])
        self.flow_frozen = self.iteration < cfg.fix_flow_iters
        set_requires_grad(self.model, cfg.freeze_backbone, self.flow_frozen)
        self.optimizer, self.scheduler = self._make_optimizer()
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp and self.device.type == "cuda")
        if state is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler") is not None:
                self.scaler.load_state_dict(state["scaler"])
            set_rng_states(state["rng"])
        self.net = wrap_ddp(self.model, self.dist, self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.notes = notes

    # -- what differs between model kinds (seemup.training.spacetime_trainer overrides these) ---------------------
    def _make_dataset(self) -> VideoTrainDataset:
        cfg = self.cfg
        try:
            return VideoTrainDataset(self.data.clips, SampleSpec(cfg.num_frames, cfg.patch_size, self.window),
                                     cfg.batch_size, cfg.seed, self.dist.rank, self.data.masks,
                                     make_lr=self.device.type != "cuda", flows=self.data.flows, lrs=self.data.lrs)
        except ValueError as exc:
            raise UserError(f"training data: {exc} (see --num-frames, --hr-downscale)") from exc

    def _make_validator(self, num_frame: int) -> Validator:
        cfg = self.cfg
        return Validator(cfg.val_data, hr_downscale=cfg.hr_downscale, cache_dir=cache_root(cfg),
                         max_frames=cfg.val_frames, mask_source=self.data.mask_source,
                         window=num_frame if self.window else None, space=cfg.val_space,
                         crop=val_crop_size(cfg.val_crop))

    def _make_optimizer(self) -> tuple[torch.optim.Optimizer, LRScheduler]:
        """Adam with SPyNet's slower group, and cosine annealing with restarts (BasicSR's recipe)."""
        cfg = self.cfg
        optimizer = torch.optim.Adam(param_groups(self.model, cfg.lr, cfg.freeze_backbone, cfg.flow_lr_mul),
                                     lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        return optimizer, CosineAnnealingRestartLR(optimizer, cfg.periods, cfg.restart_weights, cfg.eta_min)

    def _loss(self, b: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of one batch on the device: Charbonnier against HR, plus the teacher's terms."""
        cfg = self.cfg
        masks = b.get("masks")
        student_slot, teacher_slot = self.flow_slots or (None, None)
        out = self.net(b["lr"], masks if self.uses_masks else None, **self._flows_of(b, student_slot))
        loss = charbonnier(out, b["hr"], cfg.charbonnier_eps)
        if self.teacher is not None and (cfg.teacher_weight > 0 or cfg.feature_weight > 0):
            with torch.no_grad():
                target = self.teacher(b["lr"], masks if getattr(self.teacher, "uses_masks", False) else None,
                                      **self._flows_of(b, teacher_slot))
            if cfg.teacher_weight > 0:
                loss = loss + cfg.teacher_weight * charbonnier(out, target.detach(), cfg.charbonnier_eps)
            if self.student_tap is not None:
                loss = loss + cfg.feature_weight * feature_loss(self.student_tap.take(), self.teacher_tap.take(),
                                                                cfg.charbonnier_eps)
        return loss

    @staticmethod
    def _quantization_aware(model: nn.Module, cfg: TrainConfig, state: dict[str, Any] | None,
                            notes: list[str]) -> dict[str, Any]:
        """``--qat``: fake-quantize the model's residual blocks with the starting weights' int8 ranges (kept in
        every training state, so a resumed run rounds exactly as before); returns the ranges."""
        if state is not None:
            ranges = state.get("extra", {}).get("qat_ranges")
            if not ranges:
                raise UserError("--qat: this training state holds no int8 ranges")
            source = "the run's starting weights"
        else:  # resolve_config refuses --qat without starting weights; finetune always has them
            path = weights_file(cfg.weights)
            ranges, source = calibrated_ranges(path), f"{path.stem}.int8.json"
        try:
            count = fake_quantize_blocks(model, ranges)
        except ValueError as exc:
            raise UserError(f"--qat: {exc}") from None
        notes.append(f"quantization-aware: {count} residual blocks on the int8 grids of {source}")
        return ranges

    def _flow_functions(self) -> tuple[list[tuple[str, FlowFn]], tuple[int, int | None]]:
        """One flow function per distinct frozen SPyNet (student, teacher); a teacher computing the same flows
        as the student shares its set. Returns the (id, function) pairs and the student's and teacher's slots."""
        nets = [self.model]
        if self.teacher is not None and has_compute_flows(self.teacher):
            nets.append(self.teacher)
        if self.cfg.teacher_flows == "student":  # the teacher warps with the student's flows
            return [(flow_id(self.model), flow_function(self.model, self.device))], (0, 0 if len(nets) > 1 else None)
        fns: dict[str, FlowFn] = {}
        slots = []
        for net in nets:
            fid = flow_id(net)
            if fid not in fns:
                fns[fid] = flow_function(net, self.device)
            slots.append(list(fns).index(fid))
        return list(fns.items()), (slots[0], slots[1] if len(slots) > 1 else None)

    @staticmethod
    def _flows_of(b: dict[str, torch.Tensor], slot: int | None) -> dict[str, Any]:
        """``flows=`` for a network whose precomputed flows are set ``slot`` of the batch (none: it runs SPyNet)."""
        if slot is None or "flows" not in b:
            return {}
        return {"flows": (b["flows"][:, slot, 0], b["flows"][:, slot, 1])}

    # -- one step ----------------------------------------------------------------------------------------------
    def _set_flow_frozen(self, frozen: bool) -> None:
        """Freeze / unfreeze SPyNet; DDP is rebuilt because it tracks the parameters that need gradients."""
        self.flow_frozen = frozen
        set_requires_grad(self.model, self.cfg.freeze_backbone, frozen)
        self.net = wrap_ddp(self.model, self.dist, self.device)

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        """One optimisation step on one batch; returns the loss."""
        cfg = self.cfg
        if self.flow_frozen and self.iteration >= cfg.fix_flow_iters:
            self._set_flow_frozen(False)
        b = _to_device(batch, self.device, self.window)
        if self.student_tap is not None:
            self.student_tap.start()
            self.teacher_tap.start()
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            loss = self._loss(b)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            params = [p for p in self.model.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.iteration += 1
        value = float(loss.detach())
        if not np.isfinite(value) and not self.scaler.is_enabled():  # a scaled step skips itself instead
            raise UserError(f"loss became {value} at iteration {self.iteration}: lower --lr or set --grad-clip")
        return value

    # -- saving ------------------------------------------------------------------------------------------------
    def save(self) -> Path:
        """Training state + exported weights for the current iteration (main process only)."""
        cfg_dict = self.cfg.to_dict()
        save_state(state_path(self.run_dir, self.iteration), model=self.model, optimizer=self.optimizer,
                   scheduler=self.scheduler, scaler=self.scaler if self.scaler.is_enabled() else None,
                   iteration=self.iteration,
                   config=cfg_dict, mask_source_id=self.mask_source_id,
                   extra={"qat_ranges": self.qat_ranges} if self.qat_ranges else None)
        out = weights_path(self.run_dir, self.iteration)
        export_weights(out, self.model, model_name=self.cfg.model, mask_source_id=self.mask_source_id,
                       config=cfg_dict, iteration=self.iteration)
        prune_states(self.run_dir, self.cfg.keep_checkpoints)
        return out

    # -- the loop ----------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        loader = DataLoader(
            self.dataset, batch_size=cfg.batch_size, sampler=self._sampler(),
            num_workers=cfg.workers, pin_memory=self.device.type == "cuda", worker_init_fn=worker_init,
            prefetch_factor=4 if cfg.workers > 0 else None, persistent_workers=False, drop_last=False,
            generator=torch.Generator().manual_seed(cfg.seed),  # its draw leaves the global RNG (the model's) alone
        )
        log = None
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config_json(cfg, self.run_dir / "config.json")
            log = TrainLog(self.run_dir / "train_log.csv", self.iteration)
            self._print_header()
        last_loss = val_psnr = None
        window_losses: list[float] = []
        start_time = time.monotonic()
        stop = StopRequest()
        try:
            with stop, TrainProgress(cfg.iters, self.iteration, quiet=cfg.quiet or not self.main,
                                     console=self.console) as progress:
                for batch in loader:
                    window_losses.append(self.step(batch))
                    it = self.iteration
                    psnr_now = None
                    if it % cfg.log_every == 0 or it == cfg.iters:
                        last_loss = mean_across_ranks(float(np.mean(window_losses)), self.dist, self.device)
                        window_losses.clear()
                    if self.validator is not None and (it % cfg.val_every == 0 or it == cfg.iters):
                        psnr_now = val_psnr = self.validator.run(self.model, self.device, self.amp)
                    if self.main and (it % cfg.log_every == 0 or it == cfg.iters or psnr_now is not None):
                        log.write(iteration=it, loss=f"{last_loss:.6f}" if last_loss is not None else None,
                                  lr=f"{self.optimizer.param_groups[0]['lr']:.4e}",
                                  val_psnr=f"{psnr_now:.4f}" if psnr_now is not None else None,
                                  it_per_s=f"{progress.rate(it):.3f}",
                                  elapsed_s=f"{time.monotonic() - start_time:.1f}")
                    saved = it % cfg.save_every == 0 or it == cfg.iters
                    if self.main and saved:
                        self.save()
                    progress.update(it, last_loss, psnr_now)
                    if it < cfg.iters and stop.agreed(self.dist, self.device):
                        if self.main:
                            if not saved:
                                self.save()
                            self.console.print(f"stopped at iteration {it}; state saved, continue with "
                                               f"--resume {self.run_dir}")
                        raise KeyboardInterrupt
        finally:
            if log is not None:
                log.close()
        final = self.run_dir / FINAL_WEIGHTS
        adapter = None
        if self.main:
            export_weights(final, self.model, model_name=cfg.model, mask_source_id=self.mask_source_id,
                           config=cfg.to_dict(), iteration=self.iteration)
            adapter = self._export_adapter()
        return TrainResult(self.run_dir, self.iteration, final, self.total_params, self.trainable_params,
                           last_loss, val_psnr, self.mask_source_id, adapter, cfg, self.main)

    def _sampler(self) -> IterationSampler | MixedSampler:
        """The draws from the current iteration on: by index, or by group share with ``--mix``."""
        cfg = self.cfg
        if self.mix_groups is None:
            return IterationSampler(self.iteration, cfg.iters, cfg.batch_size)
        shapes = [(c.num_frames, c.height // SCALE, c.width // SCALE) for c in self.dataset.clips]
        return MixedSampler(*self.mix_groups, shapes, cfg.num_frames, cfg.patch_size, cfg.seed, self.dist.rank,
                            self.iteration, cfg.iters, cfg.batch_size)

    def _export_adapter(self) -> Path | None:
        """After SEEM-only tuning from a weight set, also write the SEEM tensors alone as an adapter of it."""
        from seemup.weights import load_manifest, save_adapter

        cfg = self.cfg
        if not (cfg.freeze_backbone and self.mask_source_id and cfg.weights and cfg.weights in load_manifest()):
            return None
        return save_adapter(self.run_dir / ADAPTER_WEIGHTS, self.model, model_name=cfg.model, base=cfg.weights,
                            mask_source_id=self.mask_source_id,
                            extra_meta={"iteration": self.iteration, "config": cfg.to_dict()})

    def _print_header(self) -> None:
        if self.cfg.quiet:
            return
        c, cfg = self.console, self.cfg
        c.print(f"model {cfg.model}: {self.total_params:,} parameters, {self.trainable_params:,} trainable"
                + (" (backbone frozen: f_r + SEEM blocks only)" if cfg.freeze_backbone else ""))
        for note in self.notes:
            c.print(note)
        clips = len(self.data.clips)
        c.print(f"data: {clips} clip(s) on this process, {cfg.num_frames} frames x {cfg.patch_size}px LR patches, "
                f"batch {cfg.batch_size} x {self.dist.world_size} process(es), device {self.device}"
                + (f", mixed precision ({str(self.amp_dtype).removeprefix('torch.')})" if self.amp else ""))
        if self.mask_source_id:
            c.print(f"masks: {self.mask_source_id}")
        if self.flow_slots is not None:
            sets = "student and teacher" if self.flow_slots[1] not in (None, self.flow_slots[0]) else "one set"
            c.print(f"flows: precomputed once per clip by the frozen SPyNet ({sets}), cut out with each crop")
        elif has_compute_flows(self.model) and spynet_frozen_throughout(cfg.freeze_backbone, cfg.fix_flow_iters,
                                                                        cfg.iters):
            c.print("SPyNet stays frozen for the whole run: --precompute-flows would compute its flows once per clip "
                    "instead of at every step")
        elif cfg.fix_flow_iters and self.iteration < cfg.fix_flow_iters:
            c.print(f"SPyNet frozen until iteration {cfg.fix_flow_iters}, then trained at lr x{cfg.flow_lr_mul}")
        c.print(f"run directory: {self.run_dir} (start at iteration {self.iteration} of {cfg.iters})")


def make_trainer(cfg: TrainConfig, state: dict[str, Any] | None = None, console: Console | None = None) -> Trainer:
    """The trainer of ``cfg.model``'s kind: the SR loop, or its space-time form for models such as SAFA."""
    from .spacetime_trainer import SpaceTimeTrainer  # a Trainer subclass: imported here, not at the top

    kind = SpaceTimeTrainer if get_spec(cfg.model).kind == "spacetime" else Trainer
    return kind(cfg, state, console)


def train(cfg: TrainConfig, state: dict[str, Any] | None = None, console: Console | None = None) -> TrainResult:
    """Train (or resume) a run and return what it produced; tears the process group down afterwards."""
    try:
        return make_trainer(cfg, state, console).run()
    finally:
        shutdown_distributed()


__all__ = ["DistInfo", "FINAL_WEIGHTS", "TrainResult", "Trainer", "make_trainer", "train"]
