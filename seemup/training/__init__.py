"""Training: ``seemup train`` (all parameters) and ``seemup finetune`` (optionally SEEM only), resumable exactly."""

from .config import TrainConfig, resolve_config
from .export import export_weights
from .losses import charbonnier
from .params import count_parameters
from .resume import find_resume_state, load_state
from .scheduler import CosineAnnealingRestartLR
from .setup import build_config
from .trainer import FINAL_WEIGHTS, Trainer, TrainResult, train

__all__ = [
    "CosineAnnealingRestartLR", "FINAL_WEIGHTS", "TrainConfig", "TrainResult", "Trainer", "build_config",
    "charbonnier", "count_parameters", "export_weights", "find_resume_state", "load_state", "resolve_config",
    "train",
]
