"""Networks and mask sources kept for the next file: many inputs in one run load the model once.

Keyed by everything the load is given, so a file that needs another network (another device, say) gets its
own. A load that failed fails again at once with the same message, instead of being retried for every file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seemup.errors import UserError
from seemup.masks import CachedMasks
from seemup.weights.load import LoadedModel, load_for_inference, open_masks


class ModelCache:
    """``load``/``masks`` as :func:`load_for_inference`/:func:`open_masks`, each distinct call made once."""

    def __init__(self) -> None:
        self._models: dict[tuple, LoadedModel | UserError] = {}
        self._masks: dict[tuple, CachedMasks] = {}
        self.loads = 0  # networks actually built (what a test counts)

    def load(self, model: str, weights: str | Path | None, device: torch.device, precision: str = "fp32",
             **options: Any) -> LoadedModel:
        key = (model, str(weights), str(device), precision, tuple(sorted(options.items())))
        if key not in self._models:
            try:
                self._models[key] = load_for_inference(model, weights, device, precision, **options)
                self.loads += 1
            except UserError as exc:
                self._models[key] = exc
        found = self._models[key]
        if isinstance(found, UserError):
            raise UserError(str(found), found.exit_code)
        return found

    def masks(self, kind: str, device: torch.device | str, **options: Any) -> CachedMasks:
        key = (kind, str(device), tuple(sorted((k, str(v)) for k, v in options.items())))
        if key not in self._masks:
            self._masks[key] = open_masks(kind, device, **options)
        return self._masks[key]
