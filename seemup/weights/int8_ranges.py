"""int8 calibration of a weights file, kept as data: ``<weights>.int8.json`` beside it, or in the user
weights folder for weights that seemup ships or another package installs.

``--precision int8`` (seemup.runtime.int8) needs each residual block's activation ranges, measured once
on calibration footage for exactly these weights (``seemup weights calibrate``). The file names the
sha256 of the weights it was measured on, so ranges never outlive the weights they describe.
"""

from __future__ import annotations

import json
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seemup.data.train_files import atomic_write_bytes
from seemup.errors import UserError
from seemup.runtime.int8 import int8_unavailable, to_int8

from . import locations
from .hashing import file_sha256

FORMAT = "seemup-int8-ranges/1"


@dataclass(frozen=True)
class Int8Ranges:
    """Per-block (input min, input max, hidden max) of one weights file, and how they were measured."""

    weights_sha256: str
    blocks: dict[str, tuple[float, float, float]]
    calibration: str = ""  # the footage, in words
    command: str = ""  # the command that wrote the file


def _installed(weights: Path) -> bool:
    """Weights that seemup ships or another package installs: their folder is not the user's to write in."""
    folder = weights.resolve().parent
    shipped = locations.shipped_weights_dir()
    paths = sysconfig.get_paths()
    roots = {Path(p).resolve() for p in (paths["purelib"], paths["platlib"])}
    if shipped is not None:
        roots.add(shipped.resolve())
    return any(folder == r or r in folder.parents for r in roots) or not os.access(folder, os.W_OK)


def calibration_target(weights: str | Path) -> Path:
    """Where ``seemup weights calibrate`` writes by default: ``name.int8.json`` beside your own weights, but
    in the user weights folder for shipped or installed weights (a recalibration never edits what ships)."""
    weights = Path(weights)
    name = weights.stem + ".int8.json"
    return locations.user_weights_dir() / name if _installed(weights) else weights.with_name(name)


def ranges_path(weights: str | Path) -> Path:
    """Where the int8 ranges of ``weights`` are read from: for shipped or installed weights the user's own
    calibration (see :func:`calibration_target`) when there is one, else ``name.int8.json`` beside them."""
    weights = Path(weights)
    target = calibration_target(weights)
    return target if target.is_file() else weights.with_name(target.name)


def write_ranges(weights: str | Path, ranges: Int8Ranges, path: str | Path | None = None) -> Path:
    """Write ``ranges`` (to :func:`calibration_target` unless ``path``) atomically; returns the file written."""
    target = Path(path) if path is not None else calibration_target(weights)
    doc = {"format": FORMAT, "weights_sha256": ranges.weights_sha256, "calibration": ranges.calibration,
           "command": ranges.command, "blocks": {k: [round(float(v), 6) for v in r] for k, r in ranges.blocks.items()}}
    atomic_write_bytes(target, (json.dumps(doc, indent=1) + "\n").encode())
    return target


def read_ranges(weights: str | Path, path: str | Path | None = None) -> tuple[Int8Ranges | None, str]:
    """The int8 ranges calibrated for the file ``weights``, or None and why not (missing, unreadable,
    or measured on other weights)."""
    source = Path(path) if path is not None else ranges_path(weights)
    if not source.is_file():
        return None, f"no int8 calibration for {Path(weights).name} (make one with `seemup weights calibrate`)"
    try:
        doc = json.loads(source.read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT!r}")
        blocks = {str(k): (float(v[0]), float(v[1]), float(v[2])) for k, v in doc["blocks"].items()}
        ranges = Int8Ranges(str(doc["weights_sha256"]), blocks, str(doc.get("calibration", "")),
                            str(doc.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        return None, f"{source}: not a readable int8 calibration ({exc})"
    if ranges.weights_sha256 != file_sha256(weights):
        return None, f"{source} was calibrated for other weights than {Path(weights).name} (recalibrate)"
    return ranges, ""


def int8_ranges_for(weights_path: str | Path | None) -> tuple[dict[str, tuple[float, float, float]] | None, str]:
    """The shipped/calibrated ranges of a weights file, or None and why there are none."""
    if weights_path is None:
        return None, "untrained weights have no int8 calibration"
    ranges, why = read_ranges(weights_path)
    return (ranges.blocks if ranges else None), why


def prefer_int8(requested: str, device: torch.device, weights_path: str | Path | None) -> bool:
    """Whether ``--precision auto`` runs int8 blocks: on CPU, where oneDNN has them, for weights that ship
    int8 ranges (the fast CPU model's do; the ~0.01 dB they cost is measured, docs/upscale.md)."""
    if (requested or "auto").strip().lower() != "auto" or device.type != "cpu" or int8_unavailable():
        return False
    return int8_ranges_for(weights_path)[0] is not None


def apply_int8(model: nn.Module, weights_path: str | Path | None, label: str) -> nn.Module:
    """``model`` with int8 residual blocks from its weights' ranges; a UserError when there are none."""
    ranges, why = int8_ranges_for(weights_path)
    if ranges is None:
        raise UserError(f"--precision int8 with {label}: {why}")
    try:
        return to_int8(model, ranges)
    except ValueError as exc:
        raise UserError(f"--precision int8 with {label}: {exc}") from None
