"""Model registry: a name maps to a builder and its default configuration (timm style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .basicvsr import BasicVSR
from .bicubic import Bicubic
from .edvr import EDVR
from .lite import BasicVSRLite
from .rife import IFNet
from .safa import SAFA
from .vsrt import VSRT


@dataclass(frozen=True)
class ModelSpec:
    """What a registered name builds, and how the inference pipeline must feed it."""

    name: str
    builder: Callable[..., nn.Module]
    config: dict[str, Any] = field(default_factory=dict)
    # "recurrent" (whole clip -> all frames), "window" (2N+1 -> centre), or "interpolator" (two frames and a
    # time t -> the frame at t; not an x4 model: seemup.pipeline.interpolate runs it on LR frames), or
    # "spacetime" (two LR frames and times t -> x4 frames at those t: SAFA, seemup.models.safa.upscale_pair)
    kind: str = "recurrent"
    description: str = ""

    @property
    def uses_masks(self) -> bool:
        return bool(self.config.get("seem", False))

    @property
    def num_frame(self) -> int | None:
        return self.config.get("num_frame") if self.kind == "window" else None


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    _REGISTRY[spec.name] = spec
    return spec


def _both(name: str, builder: Callable[..., nn.Module], config: dict[str, Any], kind: str, desc: str) -> None:
    """Register ``name`` and ``name-seem`` (the same network with the SEEM plug-in)."""
    register(ModelSpec(name, builder, {**config, "seem": False}, kind, desc))
    register(ModelSpec(f"{name}-seem", builder, {**config, "seem": True}, kind, f"{desc} + SEEM"))


_both("basicvsr", BasicVSR, {"num_feat": 64, "num_block": 30}, "recurrent", "BasicVSR (64 feat, 30 blocks)")
_both("edvr-m", EDVR, {"num_feat": 64, "num_frame": 5, "num_extract_block": 5, "num_reconstruct_block": 10},
      "window", "EDVR-M (64 feat, 5 frames, TSA)")
_both("edvr-l", EDVR, {"num_feat": 128, "num_frame": 7, "num_extract_block": 5, "num_reconstruct_block": 40},
      "window", "EDVR-L (128 feat, 7 frames, TSA)")
_both("basicvsr-lite", BasicVSRLite, {"num_feat": 64, "num_block": 8, "flow_width": 1.0, "flow_scale": 0.5},
      "recurrent", "BasicVSR-lite for CPU (64 feat, 8 blocks, half-resolution flow)")
_both("vsrt", VSRT, {"num_feat": 64, "num_frame": 5, "depth": 5}, "window",
      "VSR-Transformer, REDS configuration (5 frames, depth 5, 64x64 patches)")
_both("vsrt-vimeo", VSRT, {"num_feat": 64, "num_frame": 7, "depth": 7}, "window",
      "VSR-Transformer, Vimeo-90K configuration (7 frames, depth 7, 64x64 patches)")
_both("basicvsr-tiny", BasicVSR, {"num_feat": 16, "num_block": 2}, "recurrent",
      "tiny BasicVSR for tests and smoke runs (untrained)")

register(ModelSpec("bicubic", Bicubic, {}, "recurrent", "MATLAB bicubic x4 (no weights)"))
register(ModelSpec("rife", IFNet, {}, "interpolator", "RIFE v4.0 frame interpolation (Practical-RIFE, fast mode)"))
_both("safa", SAFA, {"num_feat": 80, "num_blocks": 6}, "spacetime",
      "SAFA space-time x4: two LR frames -> x4 frames at any t (only with --fps-factor)")

ALIASES = {"edvr": "edvr-m", "edvr-seem": "edvr-m-seem"}


def resolve_name(name: str) -> str:
    """Canonical registered name for ``name`` (aliases resolved); ValueError if unknown."""
    name = ALIASES.get(name, name)
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose from: {', '.join(list_models())}")
    return name


def get_spec(name: str) -> ModelSpec:
    return _REGISTRY[resolve_name(name)]


def list_models() -> list[str]:
    """The x4 models' names (aliases included), sorted: what ``--model`` of upscale, bench and train takes."""
    return sorted([*(n for n, s in _REGISTRY.items() if s.kind not in ("interpolator", "spacetime")), *ALIASES])


def list_interpolators() -> list[str]:
    """Registered frame interpolators (two frames -> the frame between), sorted."""
    return sorted(n for n, s in _REGISTRY.items() if s.kind == "interpolator")


def list_spacetime() -> list[str]:
    """Registered space-time models (two LR frames and times t -> x4 frames at those t), sorted."""
    return sorted(n for n, s in _REGISTRY.items() if s.kind == "spacetime")


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the network registered as ``name``; ``overrides`` replace entries of its default config."""
    spec = get_spec(name)
    return spec.builder(**{**spec.config, **overrides})
