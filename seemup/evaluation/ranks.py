"""`seemup bench` under torchrun: each rank scores a contiguous block of the sequences on its own device, and
every rank then holds all ranks' per-frame scores in the order a single process would have made them, so
the averages (and the JSON) are the same numbers; only times and memory are each rank's own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from seemup.runtime.ranks import current, everyone

T = TypeVar("T")

# per run (in the runner's order): group -> per-frame (PSNR, SSIM), group -> seconds, group -> peak bytes
Records = tuple[dict[str, list[tuple[float, float]]], dict[str, float], dict[str, int]]


def my_part(sequences: Sequence[T]) -> list[T]:
    """This rank's block of ``sequences`` (all of them in a plain run)."""
    return [sequences[i] for i in current().share(len(sequences))]


def gather_records(records: list[Records], lr_generated: bool,
                   progress: Callable[[int, str], None] | None = None) -> tuple[list[Records], bool]:
    """Every rank's records, joined run by run in rank order (= sequence order, the blocks being
    contiguous); ``progress`` is told the frames the other ranks scored."""
    ranks = current()
    if not ranks.enabled:
        return records, lr_generated
    every: list[Any] = everyone((records, lr_generated), ranks)
    joined = [_join([r[k] for r, _ in every]) for k in range(len(records))]
    if progress is not None:
        others = sum(len(s) for rank, (r, _) in enumerate(every) if rank != ranks.rank for run in r
                     for s in run[0].values())
        progress(others, "other ranks")
    return joined, any(generated for _, generated in every)


def _join(parts: list[Records]) -> Records:
    scores: dict[str, list[tuple[float, float]]] = {}
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {}
    for part_scores, part_seconds, part_peaks in parts:
        for group, frames in part_scores.items():
            scores.setdefault(group, []).extend(frames)
        for group, secs in part_seconds.items():
            seconds[group] = seconds.get(group, 0.0) + secs
        for group, peak in part_peaks.items():
            peaks[group] = max(peaks.get(group, 0), peak)
    return scores, seconds, peaks
