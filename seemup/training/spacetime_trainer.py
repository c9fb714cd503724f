"""``seemup train --model safa``: the training loop of ``trainer.Trainer`` on space-time windows.

What differs from the SR recipes: samples are windows of K + 1 real frames (``SpaceTimeWindows``) whose frames
0 and K go in and whose frames are the targets at t = k / K, each output compared with the frame at its own
time (``spacetime.spacetime_loss_for``); L1 loss; AdamW with SAFA's head at a tenth of the rate; a linear
warm-up, then one cosine (``scheduler.WarmupCosineLR``); validation scores every frame of held-out windows
(``validate.SpaceTimeValidator``). Resuming, checkpoints, DDP, progress and logs are the SR loop's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler

from seemup.data.spacetime_windows import SpaceTimeWindows, WindowSpec
from seemup.errors import UserError

from .config import SCALE, val_crop_size
from .params import trainable_names
from .scheduler import WarmupCosineLR
from .setup import cache_root
from .spacetime import choose_targets, param_groups, spacetime_loss_for
from .trainer import Trainer
from .validate import SpaceTimeValidator


class SpaceTimeTrainer(Trainer):
    """A :class:`Trainer` whose samples, loss, optimizer and validation are the space-time recipe's."""

    @property
    def span(self) -> int:
        return self.cfg.num_frames - 1

    def _make_dataset(self) -> SpaceTimeWindows:
        cfg = self.cfg
        try:
            spec = WindowSpec(self.span, cfg.patch_size * SCALE)
            return SpaceTimeWindows(self.data.clips, spec, cfg.batch_size, cfg.seed, self.dist.rank, self.data.masks)
        except ValueError as exc:
            raise UserError(f"training data: {exc} (see --num-frames, --patch-size, --hr-downscale)") from exc

    def _make_validator(self, num_frame: int) -> SpaceTimeValidator:
        cfg = self.cfg
        return SpaceTimeValidator(cfg.val_data, span=self.span, hr_downscale=cfg.hr_downscale,
                                  cache_dir=cache_root(cfg), max_frames=cfg.val_frames,
                                  mask_source=self.data.mask_source, space=cfg.val_space,
                                  crop=val_crop_size(cfg.val_crop))

    def _make_optimizer(self) -> tuple[torch.optim.Optimizer, LRScheduler]:
        cfg = self.cfg
        keep = set(trainable_names(self.model, cfg.freeze_backbone))
        optimizer = torch.optim.AdamW(param_groups(self.model, cfg.lr, trainable=keep), lr=cfg.lr,
                                      betas=cfg.betas, weight_decay=cfg.weight_decay)
        return optimizer, WarmupCosineLR(optimizer, cfg.warmup, cfg.periods[0], cfg.lr, cfg.eta_min)

    def targets_of(self, iteration: int) -> list[int]:
        """The window frames supervised at ``iteration``: all, or frames 0, K and ``targets - 2`` between them
        drawn from (seed, iteration), so a resumed run supervises what an uninterrupted one would."""
        rng = np.random.default_rng([self.cfg.seed, iteration, self.dist.rank])
        return choose_targets(self.span, self.cfg.targets, rng)

    def _loss(self, b: dict[str, torch.Tensor]) -> torch.Tensor:
        # a batch has masks exactly when the model uses them: space-time runs have no teacher to feed
        return spacetime_loss_for(self.net, b, self.span, self.targets_of(self.iteration))

    def _print_header(self) -> None:
        super()._print_header()
        if not self.cfg.quiet:
            cfg = self.cfg
            supervised = "all" if cfg.targets is None or cfg.targets > self.span else f"{cfg.targets}"
            self.console.print(f"space-time: windows of {self.span + 1} frames, frames 0 and {self.span} in, "
                               f"{supervised} supervised per step (L1); AdamW, {cfg.warmup} warm-up iterations "
                               f"to {cfg.lr:g}, cosine to {cfg.eta_min:g}; gradient norm clipped at {cfg.grad_clip:g}")
