"""Samples drawn by group share (``--mix``): the sampler the shipped basicvsr-lite was trained with.

Each sample first draws a group of clips by its share (basicvsr-lite: footage 35%, photo clips 45%, other videos
20%), then a clip uniformly within the group, so that neither a long clip nor many short ones swamp the rest.
Then, in this order: its start frame, its LR crop corner, and four coin flips (horizontal flip, vertical flip,
transpose, time reversal). Everything comes from one random stream per process. A resumed run replays the
stream up to its iteration (draws only, no data is read), so it sees exactly what an uninterrupted run would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from torch.utils.data import Sampler

from seemup.errors import UserError

_GROUP_RE = re.compile(r"^[A-Za-z0-9_.]+$")


def parse_mix(text: str) -> list[tuple[str, float]]:
    """``"footage=0.35,photo=0.45"`` -> [("footage", 0.35), ("photo", 0.45)], in the given order."""
    out: list[tuple[str, float]] = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        name, sep, share = item.partition("=")
        try:
            value = float(share) if sep else -1.0
        except ValueError:
            value = -1.0
        if not _GROUP_RE.match(name.strip()) or not value >= 0:
            raise UserError(f"--mix: expected GROUP=SHARE pairs such as footage=0.35,photo=0.45, got {item!r}")
        out.append((name.strip(), value))
    names = [n for n, _ in out]
    if not out or len(set(names)) < len(names) or sum(v for _, v in out) <= 0:
        raise UserError(f"--mix {text!r}: name each group once and give at least one a share above 0")
    return out


def split_group(entry: str) -> tuple[str, str]:
    """A ``--data`` entry ``GROUP=PATH`` -> (GROUP, PATH); any other entry (or an existing path) -> ("", entry)."""
    name, sep, path = entry.partition("=")
    if sep and _GROUP_RE.match(name) and path and not Path(entry).expanduser().exists():
        return name, path
    return "", entry


def group_of(name: str, tag: str) -> str:
    """A clip's group: its ``--data`` entry's GROUP, else its name up to the first '-' (photo-Kite-0: photo)."""
    return tag or name.split("-")[0]


def assign_groups(mix: list[tuple[str, float]], clip_groups: Sequence[str]) -> tuple[list[list[int]], list[float],
                                                                                      list[str]]:
    """Clip indices per ``mix`` group, the groups' shares, and notes; groups without clips are left out (the
    others' shares then fill the whole), a clip in a group ``mix`` does not name is refused."""
    names = [n for n, _ in mix]
    stray = sorted({g for g in clip_groups if g not in names})
    if stray:
        raise UserError(f"--mix gives no share to the clips of group(s) {', '.join(stray)}: add them to --mix, or "
                        "tag their --data as GROUP=PATH")
    groups, shares, notes = [], [], []
    for name, share in mix:
        members = [i for i, g in enumerate(clip_groups) if g == name]
        if members:
            groups.append(members)
            shares.append(share)
        else:
            notes.append(f"--mix group {name} has no clips; the other groups share its samples")
    if not groups or sum(shares) <= 0:
        raise UserError("--mix: no group with a share above 0 has clips")
    return groups, shares, notes


class MixedSampler(Sampler[dict]):
    """Draws (dicts for ``VideoTrainDataset``) for iterations ``start .. total-1``, ``batch_size`` per iteration.

    ``shapes`` are (frames, LR height, LR width) of the dataset's clips; ``groups`` index them. Rank 0 seeds its
    stream with the seed alone, other DDP ranks with (seed, rank)."""

    def __init__(self, groups: list[list[int]], shares: list[float], shapes: Sequence[tuple[int, int, int]],
                 num_frames: int, patch: int, seed: int, rank: int, start_iteration: int, total_iterations: int,
                 batch_size: int) -> None:
        self.groups, self.shapes = groups, list(shapes)
        p = np.array(shares, dtype=np.float64)
        self.p = p / p.sum()
        self.num_frames, self.patch, self.seed, self.rank = num_frames, patch, seed, rank
        self.start, self.total, self.batch_size = start_iteration, total_iterations, batch_size

    def __len__(self) -> int:
        return max(0, self.total - self.start) * self.batch_size

    def __iter__(self) -> Iterator[dict]:
        rng = np.random.default_rng(self.seed if self.rank == 0 else [self.seed, self.rank])
        for _ in range(self.start * self.batch_size):  # replay: the draws of the iterations already trained
            self.draw(rng)
        for _ in range(len(self)):
            yield self.draw(rng)

    def draw(self, rng: np.random.Generator) -> dict:
        group = self.groups[rng.choice(len(self.groups), p=self.p)]
        clip = group[rng.integers(len(group))]
        frames, height, width = self.shapes[clip]
        d = {"clip": int(clip), "start": int(rng.integers(0, frames - self.num_frames + 1)),
             "top": int(rng.integers(0, height - self.patch + 1)), "left": int(rng.integers(0, width - self.patch + 1))}
        for flag in ("hflip", "vflip", "transpose", "reverse"):
            d[flag] = bool(rng.random() < 0.5)
        return d
