"""Which weights a model gets: ``--weights`` (a path or a weight-set name) or the model's default.

For a SEEM model with no explicit weights, an adapter trained for the run's mask source wins; without
one the model gets its backbone's default set, SEEM stays zero, and the result says so (the output is
then exactly the plain backbone's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemup.errors import UserError
from seemup.models import get_spec, resolve_name

from .acceptance import recorded_verdict
from .hashing import check_file, verification_enabled
from .locations import expected_places, find_file, load_manifest
from .manifest import Manifest, WeightSet


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a model was built with (``path`` None: untrained / zero-initialised).

    ``mask_source_id``: the mask source the SEEM weights were trained with; the pipeline must feed
    masks from exactly that source (None when SEEM is untrained, so masks do not matter).
    ``base``: for an adapter, the weight set under it. ``notes``: things the user should be told.
    """

    name: str
    path: Path | None
    mask_source_id: str | None = None
    kind: str = "full"
    base: WeightsInfo | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    entry: WeightSet | None = None
    sha256: str | None = None
    seem_trained: bool = False
    notes: tuple[str, ...] = ()


def canonical_model(model_name: str) -> str:
    try:
        return resolve_name(model_name)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def backbone_of(model: str) -> str:
    """The plain registry name under a SEEM model (``basicvsr-seem`` -> ``basicvsr``)."""
    return model.removesuffix("-seem")


def locate(entry: WeightSet, verify: bool | None = None) -> tuple[Path, str | None]:
    """The verified file of ``entry`` and its sha256 (None when verification is off); UserError if absent/bad."""
    found = find_file(entry)
    if found is None:
        how = f"run `seemup weights download {entry.name}`" if entry.urls else "see docs/weights.md"
        raise UserError(f"weights {entry.name!r} ({entry.file}) not found; {how}, "
                        f"or place the file in one of: {expected_places(entry)}")
    if verify is None:
        verify = verification_enabled()
    if not verify:
        return found.path, None
    check = check_file(entry, found.path)
    if not check.ok:
        want = entry.sha256 or f"{entry.sha256_prefix}..."
        raise UserError(f"{found.path} is not the file of weight set {entry.name!r} (sha256 {check.digest[:16]}..., "
                        f"expected {want}); delete it and run `seemup weights download {entry.name}`")
    return found.path, check.digest


def _check_fits(entry: WeightSet, model: str) -> list[str]:
    """Error unless ``entry`` can be loaded into registry model ``model``; returns notes to show."""
    if entry.kind in ("sam", "component"):
        what = "a SAM checkpoint" if entry.kind == "sam" else f"only the {entry.module} part of {entry.model}"
        raise UserError(f"weight set {entry.name!r} is {what}, not weights for model {model}")
    entry_model = canonical_model(entry.model)
    if entry_model == model:
        return []
    if entry.kind == "full" and get_spec(model).uses_masks and entry_model == backbone_of(model):
        return [f"{entry.name} holds no SEEM weights: SEEM stays zero, so {model} computes exactly what "
                f"{entry_model} computes (train SEEM with `seemup finetune`)"]
    raise UserError(f"weight set {entry.name!r} is for model {entry_model}, not {model}")


def info_from_entry(entry: WeightSet, manifest: Manifest, verify: bool | None = None,
                    notes: list[str] | None = None) -> WeightsInfo:
    """Locate (and verify) ``entry``'s file, and its base set's for an adapter."""
    path, digest = locate(entry, verify)
    if not entry.hash_known:
        notes = [*(notes or ()), f"{entry.name}: no sha256 is published for {path.name}, so only its strict loading "
                 "checks it"]
    base = None
    config = dict(entry.config)
    if entry.kind == "adapter":
        base = info_from_entry(manifest.get(entry.base), manifest, verify)  # type: ignore[arg-type]
        config = {**base.config, **config}
    return WeightsInfo(
        name=entry.name, path=path, mask_source_id=entry.mask_source, kind=entry.kind, base=base, config=config,
        entry=entry, sha256=digest, seem_trained=entry.kind == "adapter" or entry.mask_source is not None,
        notes=tuple(notes or ()),
    )


def resolve_weights(model_name: str, weights: str | Path | None, *, mask_source_id: str | None = None,
                    verify: bool | None = None) -> WeightsInfo | None:
    """Turn ``--weights`` (a path, a weight-set name, or None for the model's default) into a file.

    ``mask_source_id``: the masks this run will use; picks the matching SEEM adapter by default.
    ``verify``: check sha256 against the manifest (default on; ``SEEMUP_WEIGHTS_VERIFY=0`` turns it off).
    Returns None for a model that has no weights (bicubic) or no default set (tests' tiny models).
    """
    model = canonical_model(model_name)
    manifest = load_manifest()
    if weights is None:
        return _default(model, manifest, mask_source_id, verify)
    text = str(weights)
    path = Path(text).expanduser()
    if path.is_file():
        return WeightsInfo(path.stem, path)
    if text in manifest:
        entry = manifest.get(text)
        return info_from_entry(entry, manifest, verify, _check_fits(entry, model))
    if path.exists():
        raise UserError(f"weights must be a file or a weight-set name, not a directory: {path}")
    usable = [s.name for s in manifest if s.kind in ("full", "adapter")]
    raise UserError(f"weights {text!r}: no such file and no such weight set (weight sets: {', '.join(usable)})")


def _default(model: str, manifest: Manifest, mask_source_id: str | None, verify: bool | None) -> WeightsInfo | None:
    notes: list[str] = []
    if get_spec(model).uses_masks:
        present = [a for a in manifest.adapters_for(model)
                   if recorded_verdict(a.acceptance) and find_file(a) is not None]
        if mask_source_id is not None:
            matching = [a for a in present if a.mask_source == mask_source_id]
        else:
            matching = present
        if matching:
            return info_from_entry(matching[0], manifest, verify)
        status = seem_status(model, mask_source_id, manifest)
        if status:
            notes.append(status)
    name = manifest.defaults.get(model)
    if name is None:
        return None
    entry = manifest.get(name)
    fit_notes = _check_fits(entry, model)
    return info_from_entry(entry, manifest, verify, notes or fit_notes)


def seem_status(model_name: str, mask_source_id: str | None = None, manifest: Manifest | None = None) -> str | None:
    """Why a SEEM model would run with zero SEEM, in one sentence (None when a usable adapter exists).

    Looks at the adapters in the manifest and the SAM checkpoints present, so the user learns e.g.
    that a SAM checkpoint is installed but nothing was trained on its masks yet.
    """
    model = canonical_model(model_name)
    if not get_spec(model).uses_masks:
        return None
    manifest = manifest or load_manifest()
    adapters = manifest.adapters_for(model)
    present = [a for a in adapters if recorded_verdict(a.acceptance) and find_file(a) is not None]
    plain = f"{model} output equals plain {backbone_of(model)} (SEEM stays zero)"
    fix = "until `seemup finetune` trains SEEM on those masks"
    if mask_source_id is not None:
        if any(a.mask_source == mask_source_id for a in present):
            return None
        trained_for = sorted({a.mask_source for a in present if a.mask_source})
        others = f" (accepted adapters present for: {', '.join(trained_for)})" if trained_for else ""
        return (f"no SEEM adapter for {mask_source_id} passes the acceptance rule{others}; "
                f"running the backbone ({plain})")
    if present:
        return None
    sams = [s for s, _ in sam_checkpoints(manifest)]
    if sams:
        names = ", ".join(s.name for s in sams)
        return f"SAM checkpoint present ({names}) but no SEEM adapter trained on its masks: {plain} {fix}"
    return f"no SEEM adapter for {model} passes the acceptance rule; running the backbone ({plain})"


def sam_checkpoints(manifest: Manifest | None = None) -> list[tuple[WeightSet, Path]]:
    """SAM checkpoints found on disk (not hashed here), in manifest order (= preference)."""
    manifest = manifest or load_manifest()
    found = []
    for entry in manifest:
        if entry.kind == "sam":
            where = find_file(entry)
            if where is not None:
                found.append((entry, where.path))
    return found


def find_sam_checkpoint(name: str | None = None, verify: bool | None = None) -> tuple[WeightSet, Path] | None:
    """The preferred (or the named) SAM checkpoint, hash-checked; None when none is installed."""
    manifest = load_manifest()
    if name is not None:
        entry = manifest.get(name)
        if entry.kind != "sam":
            raise UserError(f"weight set {name!r} is not a SAM checkpoint")
        return entry, locate(entry, verify)[0]
    present = sam_checkpoints(manifest)
    if not present:
        return None
    entry = present[0][0]
    return entry, locate(entry, verify)[0]
