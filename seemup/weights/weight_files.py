"""Reading a weights file together with the metadata seemup stores in it, and writing SEEM adapters.

Format (shared with ``seemup.training.export.export_weights``): ``{"params": {name: tensor},
"meta": {"format": "seemup-weights/1", "model": ..., "mask_source_id": ..., ...}}``. An adapter adds
``"kind": "adapter"`` and ``"base"`` (the weight set it extends) and holds only ``seem.*`` tensors.
Official BasicSR files have no ``meta``; that is fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from seemup.atomicfile import atomic_open
from seemup.errors import UserError
from seemup.models.checkpoint import SEEM_PREFIX, CheckpointError, extract_state_dict

META_KEY = "meta"
FORMAT = "seemup-weights/1"


def read_checkpoint(path: str | Path, param_key: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors (BasicSR key names) and seemup metadata (empty dict when the file has none)."""
    path = Path(path)
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise UserError(f"weights file not found: {path}") from exc
    except Exception as exc:  # torch raises many types for foreign/corrupt files; report one line
        raise UserError(f"cannot read weights file {path}: {exc.__class__.__name__}: {exc}") from exc
    try:
        state = extract_state_dict(obj, param_key)
    except CheckpointError as exc:
        raise UserError(f"{path}: {exc}") from exc
    meta = obj.get(META_KEY) if isinstance(obj, dict) else None
    return state, dict(meta) if isinstance(meta, dict) else {}


def seem_keys(state: dict[str, torch.Tensor]) -> list[str]:
    return sorted(k for k in state if k.startswith(SEEM_PREFIX))


def save_adapter(path: str | Path, model: nn.Module, *, model_name: str, base: str, mask_source_id: str,
                 extra_meta: dict[str, Any] | None = None) -> Path:
    """Write only ``model``'s SEEM tensors as an adapter for weight set ``base`` (atomically).

    Adapters are small (the backbone is not repeated) and say which masks they were trained on,
    so loading them with masks of another kind is caught instead of silently degrading the output.
    """
    params = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k.startswith(SEEM_PREFIX)}
    if not params:
        raise UserError(f"{model_name} has no SEEM parameters: nothing to save as an adapter")
    meta = {**(extra_meta or {}), "format": FORMAT, "kind": "adapter", "model": model_name, "base": base,
            "mask_source_id": mask_source_id}
    path = Path(path)
    with atomic_open(path) as f:
        torch.save({"params": params, META_KEY: meta}, f)
    return path
