"""`seemup bench --save-images`: the comparison picture of each clip's middle frame, kept while bench runs.

The collector is the bench runner's ``on_output`` hook: it keeps one frame per clip (the middle scored frame
of the clip's middle sequence), not the clip, so memory stays what bench needs anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seemup.data.eval_datasets import EvalSequence
from seemup.metrics import psnr

from .inputs import SCALE, default_crop
from .layout import Panel, compose, panel_label
from .picture import GT_LABEL, save_png

if TYPE_CHECKING:
    from seemup.evaluation import LoadedModel


class MiddleFrames:
    """Per clip (bench's group): each model's output of the middle frame, its PSNR, and the ground truth."""

    def __init__(self, sequences: Iterable[EvalSequence], space: str, crop_border: int = 0) -> None:
        groups: dict[str, list[EvalSequence]] = {}
        for seq in sequences:
            groups.setdefault(seq.group, []).append(seq)
        self.middle = {group: seqs[len(seqs) // 2] for group, seqs in groups.items()}
        self.space, self.crop_border = space, crop_border
        self.panels: dict[str, list[Panel]] = {}
        self.gt: dict[str, np.ndarray] = {}
        self.titles: dict[str, str] = {}

    def __call__(self, seq: EvalSequence, run: LoadedModel, sr: np.ndarray, hr: np.ndarray) -> None:
        if self.middle.get(seq.group) != seq:
            return
        k = len(sr) // 2
        score = psnr(sr[k], hr[k], self.crop_border, self.space)
        self.panels.setdefault(seq.group, []).append(Panel(sr[k].copy(), panel_label(run.label, score, self.space)))
        self.gt[seq.group] = hr[k].copy()
        self.titles[seq.group] = f"{seq.name}: scored frame {k + 1} of {len(sr)}"

    def pictures(self) -> dict[str, np.ndarray]:
        """One picture per clip: the models in bench's order, then the ground truth; crop: the centre."""
        out = {}
        for group, panels in self.panels.items():
            gt = self.gt[group]
            crop = default_crop(gt.shape[1] // SCALE, gt.shape[0] // SCALE).scaled(SCALE)
            out[group] = compose([*panels, Panel(gt, GT_LABEL)], crop, title=self.titles[group])
        return out


def image_names(groups: Iterable[str]) -> dict[str, str]:
    """A file name per clip: characters other than letters, digits, '.', '-' and '_' become '_'; names that
    would then clash get a number."""
    names: dict[str, str] = {}
    for group in groups:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", group).strip(".") or "clip"
        name, n = f"{stem}.png", 1
        while name in names.values():
            n += 1
            name = f"{stem}-{n}.png"
        names[group] = name
    return names


def write_bench_images(frames: MiddleFrames, folder: Path) -> list[Path]:
    """Write ``folder/<clip>.png`` for every clip (an earlier picture of the same name is replaced, as --json is)."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    pictures = frames.pictures()
    names = image_names(pictures)
    return [save_png(image, folder / names[group], force=True) for group, image in pictures.items()]
