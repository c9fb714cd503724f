"""The acceptance rule for SEEM adapters: better than the backbone on average, and never clearly worse.

An adapter is judged against the backbone it extends, clip by clip, on clips nothing in its making has
seen (docs/weights.md, "Acceptance rule for adapters"). The rule's thresholds are data here so that the
script, the manifest check and the default-weights choice all read the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MIN_MEAN_GAIN = 0.02
"""dB: the adapter's mean Y-PSNR gain over the backbone, across the acceptance clips, must reach this."""
MAX_CLIP_LOSS = 0.05
"""dB: no acceptance clip may lose more than this to the backbone."""
MAX_LR_SMALL = 120
"""px: the set must hold a clip whose LR frames are at most this wide ..."""
MIN_LR_LARGE = 320
"""px: ... and one whose LR frames are at least this wide (adapters must hold at every size)."""
_EPS = 1e-9  # dB: a sum of float scores landing a hair under a threshold it meets exactly still meets it


@dataclass(frozen=True)
class ClipDelta:
    """One clip's Y-PSNR with the backbone and with the adapter."""

    clip: str
    backbone: float
    adapter: float

    @property
    def delta(self) -> float:
        return self.adapter - self.backbone


@dataclass(frozen=True)
class Verdict:
    """The rule applied to a table of clips."""

    clips: tuple[ClipDelta, ...]
    mean_gain: float
    worst: ClipDelta
    passed: bool
    reasons: tuple[str, ...]

    def table(self) -> list[str]:
        """The per-clip table as short text lines (also what the manifest records)."""
        lines = [f"{c.clip}: {c.backbone:.4f} -> {c.adapter:.4f} ({c.delta:+.4f})" for c in self.clips]
        word = "pass" if self.passed else "fail"
        lines.append(f"mean {self.mean_gain:+.4f} dB, worst {self.worst.clip} {self.worst.delta:+.4f} dB: {word}")
        return lines


def judge(backbone: Mapping[str, float], adapter: Mapping[str, float], min_mean_gain: float = MIN_MEAN_GAIN,
          max_clip_loss: float = MAX_CLIP_LOSS) -> Verdict:
    """Apply the rule to per-clip Y-PSNR of the backbone and of the adapter (same clips, same frames)."""
    if not backbone:
        raise ValueError("no clips to judge")
    if set(backbone) != set(adapter):
        raise ValueError(f"backbone and adapter were scored on different clips: {sorted(backbone)}, {sorted(adapter)}")
    clips = tuple(ClipDelta(name, float(backbone[name]), float(adapter[name])) for name in sorted(backbone))
    if any(not math.isfinite(c.delta) for c in clips):
        raise ValueError("a clip's score is not finite (identical frames or a broken run)")
    mean_gain = sum(c.delta for c in clips) / len(clips)
    worst = min(clips, key=lambda c: c.delta)
    reasons = []
    if mean_gain < min_mean_gain - _EPS:
        reasons.append(f"mean gain {mean_gain:+.4f} dB is below +{min_mean_gain:g} dB")
    if worst.delta < -max_clip_loss - _EPS:
        reasons.append(f"{worst.clip} loses {-worst.delta:.4f} dB, more than {max_clip_loss:g} dB")
    return Verdict(clips, mean_gain, worst, not reasons, tuple(reasons))


def check_coverage(lr_widths: Mapping[str, int]) -> None:
    """Refuse a set too narrow to judge with: it needs small and large LR frames and at least four clips."""
    if len(lr_widths) < 4:
        raise ValueError(f"the acceptance set needs at least 4 clips, got {len(lr_widths)}")
    if min(lr_widths.values()) > MAX_LR_SMALL:
        raise ValueError(f"the acceptance set needs a clip with LR at most {MAX_LR_SMALL} px wide")
    if max(lr_widths.values()) < MIN_LR_LARGE:
        raise ValueError(f"the acceptance set needs a clip with LR at least {MIN_LR_LARGE} px wide")


def recorded_verdict(record: Mapping[str, object] | None) -> bool:
    """Whether a manifest ``acceptance`` record passes the rule as it stands now (numbers, not a flag)."""
    if not record:
        return False
    try:
        mean_gain = float(record["mean_gain"])  # type: ignore[arg-type]
        worst = float(record["worst"])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return False
    return mean_gain >= MIN_MEAN_GAIN - _EPS and worst >= -MAX_CLIP_LOSS - _EPS
