"""Build a registered model with its weights: full sets strictly, adapters as base + SEEM tensors.

Also the mask-source guard: SEEM weights are only meaningful with masks of the kind they were trained
on, so the id recorded with them is checked here and handed to the pipeline in ``WeightsInfo``.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seemup.errors import UserError
from seemup.models import create_model, get_spec, load_weights
from seemup.models.checkpoint import SEEM_PREFIX, CheckpointError

from .locations import load_manifest
from .resolve import WeightsInfo, backbone_of, canonical_model, info_from_entry, resolve_weights
from .weight_files import read_checkpoint, seem_keys


def build_model(model_name: str, weights: str | Path | None = None, *, mask_source_id: str | None = None,
                verify: bool | None = None) -> tuple[nn.Module, WeightsInfo | None]:
    """Create ``model_name`` in eval mode with its weights (default set when ``weights`` is None).

    ``mask_source_id``: id of the masks this run will feed; SEEM weights trained on other masks are
    refused (UserError) rather than silently producing worse output. ``verify``: see resolve_weights.
    """
    model_name = canonical_model(model_name)
    info = resolve_weights(model_name, weights, mask_source_id=mask_source_id, verify=verify)
    if info is None or info.path is None:
        return create_model(model_name).eval(), info

    param_key = info.entry.param_key if info.entry else None
    state, meta = read_checkpoint(info.path, param_key)
    adapter_state: dict[str, torch.Tensor] | None = None
    config: dict[str, Any] = dict(info.config)
    if info.kind == "adapter":
        adapter_state, state = state, _read_base(info)
    elif meta.get("kind") == "adapter":  # an adapter file given by path: its metadata names the base set
        info = _adapter_info_from_meta(info, meta, verify)
        adapter_state, state = state, _read_base(info)
        config = dict(info.config)
    _check_meta_model(meta, model_name, info.path)
    if info.entry is None and isinstance(meta.get("model_config"), dict):
        config.update(meta["model_config"])

    recorded = _recorded_mask_source(info, meta)
    try:
        model = create_model(model_name, **config)
    except TypeError as exc:
        raise UserError(f"weights {info.name!r}: model options {config} do not fit {model_name}: {exc}") from exc
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no SEEM weights.*")  # reported through info.notes instead
        try:
            load_weights(model, info.base.path if adapter_state is not None and info.base else info.path, state=state)
        except CheckpointError as exc:
            raise UserError(str(exc)) from exc
    if adapter_state is not None:
        _load_adapter(model, adapter_state, info.path)

    notes = list(info.notes)
    seem_trained = adapter_state is not None or bool(seem_keys(state))
    uses_masks = get_spec(model_name).uses_masks
    if uses_masks and seem_trained:
        if recorded is None:
            msg = (f"weights {info.name!r} hold trained SEEM tensors but record no mask source: "
                   "nothing checks that this run's masks are the kind they were trained on")
            warnings.warn(msg, stacklevel=2)
            notes.append(msg)
        elif mask_source_id is not None and mask_source_id != recorded:
            raise UserError(f"weights {info.name!r} were trained on masks from {recorded}, but this run's masks "
                            f"come from {mask_source_id}; use that mask source or weights trained on these masks")
    else:
        recorded = None  # SEEM is zero (or absent): any masks give the same output
        if uses_masks and not notes:
            notes.append(f"{info.name} holds no SEEM weights: SEEM stays zero, so {model_name} computes exactly "
                         f"what {backbone_of(model_name)} computes")
    info = dataclasses.replace(info, mask_source_id=recorded, seem_trained=seem_trained, config=config,
                               notes=tuple(notes))
    return model.eval(), info


def _read_base(info: WeightsInfo) -> dict[str, torch.Tensor]:
    base = info.base
    if base is None or base.path is None:
        raise UserError(f"adapter {info.name!r} has no base weights")
    state, _ = read_checkpoint(base.path, base.entry.param_key if base.entry else None)
    return state


def _adapter_info_from_meta(info: WeightsInfo, meta: dict[str, Any], verify: bool | None) -> WeightsInfo:
    base_name = meta.get("base")
    manifest = load_manifest()
    if not isinstance(base_name, str) or base_name not in manifest:
        raise UserError(f"adapter {info.path} names base weights {base_name!r}, which is not a known weight set")
    base = info_from_entry(manifest.get(base_name), manifest, verify)
    return dataclasses.replace(info, kind="adapter", base=base, config=dict(base.config))


def _check_meta_model(meta: dict[str, Any], model_name: str, path: Path) -> None:
    saved_for = meta.get("model")
    if not isinstance(saved_for, str):
        return
    try:
        saved_for = canonical_model(saved_for)
    except UserError:
        return  # a name this version does not know: let the key check decide
    if saved_for not in (model_name, backbone_of(model_name)):
        raise UserError(f"{path} holds weights for model {saved_for}, not {model_name}")


def _recorded_mask_source(info: WeightsInfo, meta: dict[str, Any]) -> str | None:
    in_file = meta.get("mask_source_id")
    in_file = in_file if isinstance(in_file, str) and in_file else None
    if info.mask_source_id and in_file and info.mask_source_id != in_file:
        raise UserError(f"{info.path} records mask source {in_file}, but the manifest entry {info.name!r} says "
                        f"{info.mask_source_id}; fix the manifest")
    return info.mask_source_id or in_file


def _load_adapter(model: nn.Module, adapter: dict[str, torch.Tensor], path: Path) -> None:
    """Load SEEM-only tensors strictly: exactly the model's ``seem.*`` keys, with the same shapes."""
    own = {k: v for k, v in model.state_dict().items() if k.startswith(SEEM_PREFIX)}
    if not own:
        raise UserError(f"adapter {path}: model {type(model).__name__} has no SEEM part to load it into")
    missing = sorted(set(own) - set(adapter))
    unexpected = sorted(set(adapter) - set(own))
    wrong = sorted(k for k, v in adapter.items() if k in own and v.shape != own[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{label} {len(keys)}: {', '.join(keys[:4])}" for label, keys in
                 (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise UserError(f"adapter {path} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(adapter, strict=False)
