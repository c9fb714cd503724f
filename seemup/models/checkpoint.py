"""Load BasicSR, MMagic and plain state-dict checkpoints into seemup networks.

Backbone keys must match exactly; SEEM keys (``seem.*``) may be absent, in which case the
zero-initialised SEEM leaves the backbone's output unchanged.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

SEEM_PREFIX = "seem."

# MMagic (mmedit) names that differ from BasicSR's for the same tensors.
_MMAGIC_RENAMES = [
    (re.compile(r"^backward_resblocks\."), "backward_trunk."),
    (re.compile(r"^forward_resblocks\."), "forward_trunk."),
    (re.compile(r"^upsample1\.upsample_conv\."), "upconv1."),
    (re.compile(r"^upsample2\.upsample_conv\."), "upconv2."),
    (re.compile(r"^pcd_alignment\."), "pcd_align."),
]
# mmedit-style SPyNet conv names, also one level deeper as in VSR-Transformer (``spynet.spynet.*``)
_MMAGIC_SPYNET = re.compile(r"^((?:spynet\.)?spynet\.basic_module\.\d+\.basic_module\.)(\d+)\.conv\.(weight|bias)$")


class CheckpointError(ValueError):
    """A checkpoint that does not fit the network (the message names the keys)."""


def read_state_dict(path: str | Path, param_key: str | None = None) -> dict[str, torch.Tensor]:
    """Read a checkpoint file and return its tensors under seemup/BasicSR key names."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files; report one clear error
        raise CheckpointError(f"cannot read weights file {path}: {exc.__class__.__name__}: {exc}") from exc
    return extract_state_dict(obj, param_key)


def extract_state_dict(obj: Any, param_key: str | None = None) -> dict[str, torch.Tensor]:
    """Find the network's tensors inside a loaded checkpoint object of any supported layout."""
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint is a {type(obj).__name__}, expected a dict of tensors")
    keys = [param_key] if param_key else ["params", "params_ema", "state_dict", "model"]
    for key in keys:
        if key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    else:
        if param_key:
            raise CheckpointError(f"checkpoint has no {param_key!r} entry (has: {', '.join(map(str, obj))})")
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError("checkpoint holds no tensors")
    if any(k.startswith("generator.") for k in state):
        state = {k[len("generator."):]: v for k, v in state.items() if k.startswith("generator.")}
    if any(k.startswith("module.") for k in state):  # DataParallel / DDP saves
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def translate_key(key: str, model_keys: set[str]) -> str:
    """Our (BasicSR) name for a checkpoint key of any supported layout, given the model's keys."""
    if key in model_keys:
        return key
    m = _MMAGIC_SPYNET.match(key)
    if m:  # MMagic wraps each SPyNet conv in a ConvModule; BasicSR interleaves ReLUs
        return f"{m.group(1)}{int(m.group(2)) * 2}.{m.group(3)}"
    new = key
    for pattern, repl in _MMAGIC_RENAMES:
        new = pattern.sub(repl, new)
    if new not in model_keys:  # MMagic's ConvModule puts a conv's tensors one level deeper
        stripped = re.sub(r"\.conv\.(weight|bias)$", r".\1", new)
        if stripped in model_keys:
            new = stripped
    return new


def load_weights(model: nn.Module, path: str | Path, param_key: str | None = None,
                 state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Load ``path`` (or an already-read ``state``) into ``model`` strictly for the backbone.

    Missing ``seem.*`` keys are allowed (with a warning); any other missing or unexpected key,
    or a shape mismatch, raises a CheckpointError that lists them.
    """
    if state is None:
        state = read_state_dict(path, param_key)
    own = model.state_dict()
    model_keys = set(own)
    translated = {translate_key(k, model_keys): v for k, v in state.items()}
    missing = sorted(k for k in model_keys if k not in translated)
    unexpected = sorted(k for k in translated if k not in model_keys)
    seem_missing = [k for k in missing if k.startswith(SEEM_PREFIX)]
    missing = [k for k in missing if not k.startswith(SEEM_PREFIX)]
    shape_bad = sorted(
        f"{k} (checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)})"
        for k, v in translated.items() if k in own and v.shape != own[k].shape
    )
    if missing or unexpected or shape_bad:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {_short(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)}: {_short(unexpected)}")
        if shape_bad:
            parts.append(f"wrong shape {len(shape_bad)}: {_short(shape_bad)}")
        raise CheckpointError(f"weights {path} do not fit {type(model).__name__}: " + "; ".join(parts))
    if seem_missing:
        warnings.warn(
            f"{path}: no SEEM weights ({len(seem_missing)} tensors); SEEM stays zero-initialised, "
            "so the model computes exactly what its backbone computes",
            stacklevel=2,
        )
    model.load_state_dict(translated, strict=False)
    return model


def _short(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")
