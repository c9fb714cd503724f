"""Plain weights a run exports for inference (``weights/iter_N.pth``, ``model_final.pth``), written atomically.

BasicSR-style ``{"params": state_dict}`` plus ``meta``, the ``seemup-weights/1`` format that
``seemup.models.load_weights`` and ``seemup.weights`` read (``seemup.weights.weight_files``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seemup.data.train_files import atomic_torch_save

WEIGHTS_DIR = "weights"


def weights_path(run_dir: Path, iteration: int) -> Path:
    return run_dir / WEIGHTS_DIR / f"iter_{iteration:09d}.pth"


def export_weights(path: Path, model: torch.nn.Module, *, model_name: str, mask_source_id: str | None,
                   config: dict[str, Any], iteration: int, model_config: dict[str, Any] | None = None) -> None:
    """Plain weights for inference: ``{"params": state_dict, "meta": {...}}`` (BasicSR-compatible).

    ``config`` records how the weights were made; ``model_config`` holds the network options that differ
    from the registered defaults, so that ``--weights FILE`` builds the right network."""
    params = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    meta = {"model": model_name, "mask_source_id": mask_source_id, "iteration": iteration, "config": config,
            "format": "seemup-weights/1"}
    if model_config:
        meta["model_config"] = model_config
    atomic_torch_save({"params": params, "meta": meta}, path)
