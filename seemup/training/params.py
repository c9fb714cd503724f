"""Which parameters train: full training, SEEM-only tuning (frozen backbone), and the SPyNet warm-up freeze."""

from __future__ import annotations

from torch import nn

SEEM_PREFIX = "seem."
FLOW_PREFIX = "spynet."


def is_seem(name: str) -> bool:
    return name.startswith(SEEM_PREFIX)


def is_flow(name: str) -> bool:
    return name.startswith(FLOW_PREFIX)


def trainable_names(model: nn.Module, freeze_backbone: bool) -> list[str]:
    """Parameters the optimizer owns: all of them, or only ``seem.*`` (``f_r`` + SEEM blocks)."""
    return [n for n, _ in model.named_parameters() if not freeze_backbone or is_seem(n)]


def set_requires_grad(model: nn.Module, freeze_backbone: bool, flow_frozen: bool) -> None:
    """Mark what gets gradients now; frozen tensors get none, so nothing can change them."""
    for name, p in model.named_parameters():
        if freeze_backbone and not is_seem(name):
            p.requires_grad_(False)
        elif flow_frozen and is_flow(name):
            p.requires_grad_(False)
        else:
            p.requires_grad_(True)


def param_groups(model: nn.Module, lr: float, freeze_backbone: bool, flow_lr_mul: float) -> list[dict]:
    """Optimizer groups: the network at ``lr`` and SPyNet at ``lr * flow_lr_mul`` (BasicVSR's recipe)."""
    keep = set(trainable_names(model, freeze_backbone))
    normal = [p for n, p in model.named_parameters() if n in keep and not is_flow(n)]
    flow = [p for n, p in model.named_parameters() if n in keep and is_flow(n)]
    groups = [{"params": normal, "lr": lr, "name": "main"}]
    if flow:
        groups.append({"params": flow, "lr": lr * flow_lr_mul, "name": "spynet"})
    return groups


def count_parameters(model: nn.Module, freeze_backbone: bool) -> tuple[int, int]:
    """(total, trainable) parameter counts that training reports (docs/training.md)."""
    keep = set(trainable_names(model, freeze_backbone))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for n, p in model.named_parameters() if n in keep)
    return total, trainable


def has_flow(model: nn.Module) -> bool:
    return any(is_flow(n) for n, _ in model.named_parameters())
