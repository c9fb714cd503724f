"""The weights manifest: every usable weight set described as data (``weights/manifest.toml``).

Keeping the sets as data means a new one (a lite model, a SEEM adapter) is added by dropping a file
into ``weights/`` and writing one table, never by editing code. Parsing is strict so that a typo in
the manifest fails the tests instead of silently disabling a weight set.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemup.errors import UserError

MANIFEST_NAME = "manifest.toml"
SCHEMA = 1

KINDS = ("full", "adapter", "component", "sam")
ORIGINS = ("official", "seemup")
SAM_TYPES = ("vit_b", "vit_l", "vit_h")  # keys of segment_anything.sam_model_registry
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_HEX = re.compile(r"^[0-9a-f]+$")

_KNOWN_KEYS = {
    "name", "kind", "model", "config", "file", "sha256", "sha256_prefix", "size", "package", "package_file",
    "urls", "homepage", "base", "mask_source", "sam_weights", "module", "param_key", "training_data", "origin",
    "produced_by", "command", "reference", "license", "notes", "validation", "acceptance",
}
_ACCEPTANCE_KEYS = {"dataset", "mean_gain", "worst", "table"}
_VALIDATION_KEYS = {"dataset", "space", "psnr", "ssim", "source", "frames", "notes"}


class ManifestError(UserError):
    """The manifest (shipped or user) is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Validation:
    """One quality measurement of a weight set (x4 PSNR/SSIM on a named test set)."""

    dataset: str
    space: str  # "rgb" or "y"
    psnr: float
    ssim: float | None
    source: str  # who measured it: a paper/model zoo reference, or the `seemup bench` command


@dataclass(frozen=True)
class WeightSet:
    """One manifest entry.

    ``kind``: ``full`` (every tensor of ``model``), ``adapter`` (only the ``seem.*`` tensors, layered on
    ``base``), ``component`` (one sub-module such as SPyNet, loaded into ``module``), ``sam`` (a Segment
    Anything checkpoint; ``model`` is its ``sam_model_registry`` key).
    """

    name: str
    kind: str
    model: str
    file: str
    origin: str
    config: Mapping[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    sha256_prefix: str | None = None
    size: int | None = None
    package: str | None = None
    package_file: str | None = None
    urls: tuple[str, ...] = ()
    homepage: str | None = None
    base: str | None = None
    mask_source: str | None = None
    sam_weights: str | None = None
    module: str | None = None
    param_key: str | None = None
    training_data: str = ""
    produced_by: str = ""
    command: str = ""
    reference: str = ""
    license: str = ""
    notes: str = ""
    validation: tuple[Validation, ...] = ()
    acceptance: Mapping[str, Any] | None = None  # an adapter's acceptance-rule result (docs/weights.md)
    manifest: Path | None = None  # the file this entry came from (its directory holds shipped files)

    @property
    def expected_hash(self) -> str | None:
        """The full sha256 when known, else the known prefix (both lowercase hex)."""
        return self.sha256 or self.sha256_prefix

    @property
    def hash_is_full(self) -> bool:
        return self.sha256 is not None

    @property
    def hash_known(self) -> bool:
        """False for an official file whose publisher gives no hash (the file is then checked only by loading
        it strictly)."""
        return self.expected_hash is not None

    def hash_matches(self, digest: str) -> bool:
        """Does a file's full sha256 ``digest`` match what the manifest records?"""
        expected = self.expected_hash
        return expected is not None and digest.lower().startswith(expected)


@dataclass(frozen=True)
class Manifest:
    """All weight sets by name plus the default set of each model name."""

    sets: Mapping[str, WeightSet]
    defaults: Mapping[str, str]
    sources: tuple[Path, ...] = ()

    def get(self, name: str) -> WeightSet:
        if name not in self.sets:
            raise UserError(f"unknown weight set {name!r}; known: {', '.join(self.sets)}")
        return self.sets[name]

    def __contains__(self, name: object) -> bool:
        return name in self.sets

    def __iter__(self):
        return iter(self.sets.values())

    def adapters_for(self, model: str) -> list[WeightSet]:
        """SEEM adapters trained for registry model ``model``, in manifest order (= preference)."""
        return [s for s in self.sets.values() if s.kind == "adapter" and s.model == model]


def parse_manifest(text: str, source: Path | None = None) -> tuple[list[WeightSet], dict[str, str]]:
    """Parse and check one manifest file's text; returns its entries and its ``[defaults]`` table."""
    where = str(source) if source else "manifest"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{where}: not valid TOML: {exc}") from exc
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise ManifestError(f"{where}: schema {schema!r} is not supported (this seemup reads schema {SCHEMA})")
    unknown_top = set(data) - {"schema", "defaults", "weights"}
    if unknown_top:
        raise ManifestError(f"{where}: unknown top-level keys: {', '.join(sorted(unknown_top))}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise ManifestError(f"{where}: [defaults] must map model names to weight-set names")
    raw_sets = data.get("weights", [])
    if not isinstance(raw_sets, list):
        raise ManifestError(f"{where}: 'weights' must be an array of tables ([[weights]])")
    return [_parse_entry(raw, where, source) for raw in raw_sets], dict(defaults)


def _parse_entry(raw: Any, where: str, source: Path | None) -> WeightSet:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: every [[weights]] entry must be a table")
    name = raw.get("name")
    label = f"{where}: weight set {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ManifestError(f"{label}: 'name' must be lowercase letters, digits, '.', '_' or '-'")
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise ManifestError(f"{label}: unknown keys: {', '.join(sorted(unknown))}")

    def need_str(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ManifestError(f"{label}: '{key}' is required (a non-empty string)")
        return value

    def opt_str(key: str) -> str | None:
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ManifestError(f"{label}: '{key}' must be a non-empty string")
        return value

    kind = need_str("kind")
    if kind not in KINDS:
        raise ManifestError(f"{label}: kind {kind!r} is not one of {', '.join(KINDS)}")
    origin = need_str("origin")
    if origin not in ORIGINS:
        raise ManifestError(f"{label}: origin {origin!r} is not one of {', '.join(ORIGINS)}")
    file = need_str("file")
    if Path(file).name != file:
        raise ManifestError(f"{label}: 'file' must be a bare file name, not a path: {file!r}")
    model = need_str("model")
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise ManifestError(f"{label}: 'config' must be a table of model options")

    sha256 = opt_str("sha256")
    prefix = opt_str("sha256_prefix")
    if sha256 is not None and (len(sha256) != 64 or not _HEX.match(sha256)):
        raise ManifestError(f"{label}: 'sha256' must be 64 lowercase hex digits")
    if prefix is not None and (not 6 <= len(prefix) < 64 or not _HEX.match(prefix)):
        raise ManifestError(f"{label}: 'sha256_prefix' must be 6 to 63 lowercase hex digits")
    if sha256 is not None and prefix is not None:
        raise ManifestError(f"{label}: give exactly one of 'sha256' or 'sha256_prefix'")
    if sha256 is None and prefix is None and origin != "official":
        raise ManifestError(f"{label}: give 'sha256' or 'sha256_prefix' (only an official file whose publisher "
                            "states no hash may go without)")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ManifestError(f"{label}: 'size' must be a positive number of bytes")

    urls = raw.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
        raise ManifestError(f"{label}: 'urls' must be a list of URLs")
    package, package_file = opt_str("package"), opt_str("package_file")
    if (package is None) != (package_file is None):
        raise ManifestError(f"{label}: 'package' and 'package_file' go together")

    base, mask_source, module = opt_str("base"), opt_str("mask_source"), opt_str("module")
    if kind == "adapter" and (base is None or mask_source is None):
        raise ManifestError(f"{label}: an adapter needs 'base' (the weight set it extends) and 'mask_source'")
    if kind != "adapter" and base is not None:
        raise ManifestError(f"{label}: only adapters have a 'base'")
    if kind == "component" and module is None:
        raise ManifestError(f"{label}: a component needs 'module' (the sub-module it loads into, e.g. 'spynet')")
    if kind == "sam" and model not in SAM_TYPES:
        raise ManifestError(f"{label}: a SAM checkpoint's model must be one of {', '.join(SAM_TYPES)}")

    validation = tuple(_parse_validation(v, label) for v in raw.get("validation", []))
    entry = WeightSet(
        name=name, kind=kind, model=model, file=file, origin=origin, config=dict(config),
        sha256=sha256, sha256_prefix=prefix, size=size, package=package, package_file=package_file,
        urls=tuple(urls), homepage=opt_str("homepage"), base=base, mask_source=mask_source,
        sam_weights=opt_str("sam_weights"), module=module, param_key=opt_str("param_key"),
        training_data=opt_str("training_data") or "", produced_by=opt_str("produced_by") or "",
        command=opt_str("command") or "", reference=opt_str("reference") or "", license=opt_str("license") or "",
        notes=opt_str("notes") or "", validation=validation, acceptance=_parse_acceptance(raw, kind, label),
        manifest=source,
    )
    if origin == "seemup" and kind in ("full", "adapter"):
        # What we train ourselves must say how to reproduce it and how good it is.
        for key in ("training_data", "command"):
            if not getattr(entry, key):
                raise ManifestError(f"{label}: weights produced by seemup need '{key}'")
        if not entry.validation:
            raise ManifestError(f"{label}: weights produced by seemup need at least one [[weights.validation]]")
    if origin == "official" and not entry.reference:
        raise ManifestError(f"{label}: official weights need 'reference' (where the file and its recipe come from)")
    return entry


def _parse_acceptance(raw: Any, kind: str, label: str) -> dict[str, Any] | None:
    """``[weights.acceptance]``: what scripts/accept_adapter.py measured (adapters only)."""
    acc = raw.get("acceptance")
    if acc is None:
        return None
    if kind != "adapter" or not isinstance(acc, dict):
        raise ManifestError(f"{label}: 'acceptance' is a table, and only adapters have one")
    unknown = set(acc) - _ACCEPTANCE_KEYS
    if unknown or not {"dataset", "mean_gain", "worst"} <= set(acc):
        raise ManifestError(f"{label}: acceptance needs dataset, mean_gain and worst (and may have table), "
                            f"not {', '.join(sorted(acc))}")
    if not all(isinstance(acc[k], int | float) for k in ("mean_gain", "worst")):
        raise ManifestError(f"{label}: acceptance mean_gain and worst are numbers in dB")
    return dict(acc)


def _parse_validation(raw: Any, label: str) -> Validation:
    if not isinstance(raw, dict):
        raise ManifestError(f"{label}: each [[weights.validation]] must be a table")
    unknown = set(raw) - _VALIDATION_KEYS
    if unknown:
        raise ManifestError(f"{label}: unknown validation keys: {', '.join(sorted(unknown))}")
    try:
        dataset, space, source = str(raw["dataset"]), str(raw["space"]).lower(), str(raw["source"])
        psnr = float(raw["psnr"])
        ssim = None if raw.get("ssim") is None else float(raw["ssim"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{label}: validation needs dataset, space, psnr and source ({exc})") from exc
    if space not in ("rgb", "y"):
        raise ManifestError(f"{label}: validation space must be 'rgb' or 'y', not {space!r}")
    if not 0 < psnr < 100 or (ssim is not None and not 0 < ssim <= 1):
        raise ManifestError(f"{label}: validation numbers out of range (psnr {psnr}, ssim {ssim})")
    return Validation(dataset, space, psnr, ssim, source)


def merge_manifests(parts: list[tuple[Path, str]]) -> Manifest:
    """Combine manifests (shipped first, then the user's); a name defined twice is an error."""
    sets: dict[str, WeightSet] = {}
    defaults: dict[str, str] = {}
    for path, text in parts:
        entries, part_defaults = parse_manifest(text, path)
        for entry in entries:
            if entry.name in sets:
                first = sets[entry.name].manifest
                raise ManifestError(f"weight set {entry.name!r} is defined twice: in {first} and in {path}")
            sets[entry.name] = entry
        defaults.update(part_defaults)  # the user's manifest may choose other defaults
    manifest = Manifest(sets, defaults, tuple(p for p, _ in parts))
    _check_references(manifest)
    return manifest


def _check_references(manifest: Manifest) -> None:
    for model, name in manifest.defaults.items():
        if name not in manifest.sets:
            raise ManifestError(f"[defaults] {model} = {name!r}: no such weight set")
        if manifest.sets[name].kind not in ("full", "adapter"):
            raise ManifestError(f"[defaults] {model} = {name!r}: a default must be a full set or an adapter")
    for entry in manifest:
        if entry.base is not None:
            base = manifest.sets.get(entry.base)
            if base is None or base.kind != "full":
                raise ManifestError(f"adapter {entry.name!r}: base {entry.base!r} is not a full weight set")
        if entry.sam_weights is not None:
            sam = manifest.sets.get(entry.sam_weights)
            if sam is None or sam.kind != "sam":
                raise ManifestError(f"{entry.name!r}: sam_weights {entry.sam_weights!r} is not a SAM checkpoint")


def read_manifest_files(paths: list[Path]) -> Manifest:
    """Read and merge the manifest files that exist among ``paths`` (in order)."""
    parts = []
    for path in paths:
        if path.is_file():
            try:
                parts.append((path, path.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ManifestError(f"cannot read {path}: {exc}") from exc
    return merge_manifests(parts)
