"""Networks only (no I/O beyond reading a checkpoint): BasicVSR, EDVR, VSR-Transformer, their SEEM forms, and a lite
variant."""

from .basicvsr import BasicVSR
from .bicubic import Bicubic
from .checkpoint import CheckpointError, load_weights, read_state_dict
from .edvr import EDVR
from .lite import BasicVSRLite
from .registry import ModelSpec, create_model, get_spec, list_models, resolve_name
from .seem import NUM_MASKS, SamRepresentation, SEEMBlock
from .spynet import SpyNet
from .vsrt import VSRT, VSRTransformer

__all__ = [
    "BasicVSR", "BasicVSRLite", "Bicubic", "CheckpointError", "EDVR", "ModelSpec", "NUM_MASKS", "SEEMBlock",
    "SamRepresentation", "SpyNet", "VSRT", "VSRTransformer", "create_model", "get_spec", "list_models", "load_weights",
    "read_state_dict", "resolve_name",
]
