"""``--precompute-flows``: a network's frozen SPyNet as a function of LR frames, its cache id, and when it applies.

The flows themselves are computed and stored per clip by ``seemup.data.train_flows``; the training step then
hands each crop's flows to the network (``forward(..., flows=...)``) instead of running SPyNet on it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

from seemup.data.train_flows import FlowFn
from seemup.errors import UserError
from seemup.runtime.frames import clip_to_tensor


def has_compute_flows(model: nn.Module) -> bool:
    return callable(getattr(model, "compute_flows", None)) and hasattr(model, "spynet")


def flow_id(model: nn.Module) -> str:
    """What ``model.compute_flows`` computes: its class, its flow settings and a hash of SPyNet's tensors.

    Other SPyNet weights (another ``--init-spynet``, a fine-tuned flow) give another id, hence other files.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(model.spynet.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    scale = getattr(model, "flow_scale", 1.0)
    return f"{type(model).__name__}/flow_scale={scale}/spynet={h.hexdigest()[:16]}"


def flow_function(model: nn.Module, device: torch.device) -> FlowFn:
    """LR frames [n,h,w,3] uint8 -> the model's (forward, backward) flows [n-1,2,h,w] float32, in float32
    on ``device`` (SPyNet has no normalisation or dropout, so train/eval mode does not matter)."""

    @torch.inference_mode()
    def compute(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fw, bw = model.compute_flows(clip_to_tensor(frames, device))
        return fw[0].float().cpu().numpy(), bw[0].float().cpu().numpy()

    return compute


def spynet_frozen_throughout(freeze_backbone: bool, fix_flow_iters: int, iters: int) -> bool:
    """Whether SPyNet cannot change during the run: the backbone is frozen, or the flow freeze outlasts it."""
    return freeze_backbone or fix_flow_iters >= iters


def check_precompute_flows(model: nn.Module, freeze_backbone: bool, fix_flow_iters: int, iters: int) -> None:
    """Precomputed flows are only right while SPyNet cannot change: refuse a run where it would train."""
    if not has_compute_flows(model):
        raise UserError(f"--precompute-flows: {type(model).__name__} has no flow network (only the BasicVSR "
                        "family estimates flows)")
    if not spynet_frozen_throughout(freeze_backbone, fix_flow_iters, iters):
        raise UserError(f"--precompute-flows needs SPyNet frozen for the whole run, but it trains from iteration "
                        f"{fix_flow_iters} of {iters}: pass --fix-flow-iters {iters} or more (or --freeze-backbone)")
