"""Pretrained weights: the manifest of weight sets, where their files are, and building a model with them.

Public API (others import these names from ``seemup.weights``):

- :func:`build_model` — a registered model in eval mode with its weights, plus :class:`WeightsInfo`.
- :func:`resolve_weights` — ``--weights`` (path / weight-set name / None) to the file(s) to load.
- :func:`load_manifest`, :func:`find_file`, :func:`locate` — the manifest and the search order.
- :func:`download`, :func:`verify_all` — what ``seemup weights download|verify`` run.
- :func:`find_sam_checkpoint`, :func:`sam_checkpoints`, :func:`seem_status` — SAM and SEEM adapter status.
- :func:`save_adapter` — write SEEM-only tensors as an adapter that records its mask source.
"""

from .build import build_model
from .download import download
from .hashing import check_file, file_sha256, verification_enabled
from .locations import (
    find_file,
    load_manifest,
    locate_package_file,
    search_dirs,
    shipped_weights_dir,
    user_weights_dir,
)
from .manifest import Manifest, ManifestError, Validation, WeightSet
from .resolve import WeightsInfo, find_sam_checkpoint, locate, resolve_weights, sam_checkpoints, seem_status
from .status import WeightStatus, list_status, verify_all
from .weight_files import read_checkpoint, save_adapter

__all__ = [
    "Manifest", "ManifestError", "Validation", "WeightSet", "WeightStatus", "WeightsInfo", "build_model",
    "check_file", "download", "file_sha256", "find_file", "find_sam_checkpoint", "list_status", "load_manifest",
    "locate", "locate_package_file", "read_checkpoint", "resolve_weights", "sam_checkpoints", "save_adapter",
    "search_dirs", "seem_status", "shipped_weights_dir", "user_weights_dir", "verification_enabled", "verify_all",
]
