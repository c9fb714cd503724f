"""Training states: everything ``--resume`` needs to continue a run exactly, written atomically.

A training state holds weights, optimizer, scheduler, AMP scaler, iteration, config, mask-source id and
RNG states. The plain weights a run exports for inference are ``seemup.training.export``'s.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seemup.data.train_files import atomic_torch_save
from seemup.errors import UserError

STATE_FORMAT = "seemup-train-state/1"
STATE_DIR = "states"
_STATE_RE = re.compile(r"^iter_(\d+)\.state$")


def rng_states() -> dict[str, Any]:
    """Global RNG states (torch CPU/CUDA, numpy, python) in a form ``torch.load(weights_only=True)`` reads."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


def state_path(run_dir: Path, iteration: int) -> Path:
    return run_dir / STATE_DIR / f"iter_{iteration:09d}.state"


def list_states(run_dir: Path) -> list[tuple[int, Path]]:
    """(iteration, path) of the training states in a run directory, oldest first."""
    found = []
    for p in (run_dir / STATE_DIR).glob("iter_*.state"):
        m = _STATE_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def find_resume_state(target: str | Path) -> Path:
    """A state file, or the latest state of a run directory."""
    target = Path(target).expanduser()
    if target.is_file():
        return target
    if target.is_dir():
        states = list_states(target)
        if not states:
            raise UserError(f"no training state to resume in {target} (expected {STATE_DIR}/iter_*.state)")
        return states[-1][1]
    raise UserError(f"cannot resume: {target} does not exist")


def save_state(path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
               scaler: Any, iteration: int, config: dict[str, Any], mask_source_id: str | None,
               extra: dict[str, Any] | None = None) -> None:
    """Write a full training state atomically."""
    atomic_torch_save({
        "format": STATE_FORMAT,
        "iteration": iteration,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "config": config,
        "mask_source_id": mask_source_id,
        "rng": rng_states(),
        "extra": extra or {},
    }, path)


def load_state(path: Path) -> dict[str, Any]:
    """Read a training state written by :func:`save_state` (tensors to CPU)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: one clear error
        raise UserError(f"cannot read training state {path}: {exc.__class__.__name__}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise UserError(f"{path} is not a seemup training state")
    return state


def prune_states(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` training states (exported weights are never deleted)."""
    if keep <= 0:
        return
    for _, p in list_states(run_dir)[:-keep]:
        p.unlink(missing_ok=True)
