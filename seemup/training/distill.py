"""Distillation from a bigger recurrent network: start from its tensors, and match its propagated features.

This is how basicvsr-lite is made from the official BasicVSR: the student has the teacher's width and fewer
residual blocks, so every tensor but the trunks' later blocks and the lite upsampler can be copied
(``copy_from_teacher``), and the features each trunk hands to the next frame are pulled towards the
teacher's (``FeatureTap`` + ``feature_loss``), which teaches the thin trunks what the deep ones carry along.
"""

from __future__ import annotations

import torch
from torch import nn

from seemup.errors import UserError

from .losses import charbonnier

TRUNKS = ("backward_trunk.", "forward_trunk.")  # BasicVSR's propagation branches (BasicSR's names)


def _is_recurrent(model: nn.Module) -> bool:
    return callable(getattr(model, "_propagate", None)) and hasattr(model, "num_feat")


def check_feature_distillation(student: nn.Module, teacher: nn.Module) -> None:
    """Feature matching needs two BasicVSR-family networks of one width (else a clear error)."""
    for role, net in (("student", student), ("teacher", teacher)):
        if not _is_recurrent(net):
            raise UserError(f"--feature-weight needs BasicVSR-family networks; the {role} "
                            f"({type(net).__name__}) has no propagated features")
    if student.num_feat != teacher.num_feat:
        raise UserError(f"--feature-weight needs the teacher's width: the student has {student.num_feat} "
                        f"channels, the teacher {teacher.num_feat}")


def copy_from_teacher(student: nn.Module, teacher: nn.Module) -> list[str]:
    """Copy every teacher tensor whose name and shape the student shares; returns the student's other names.

    Refused when the propagation trunks share nothing (another width or family): the student would then start
    almost from scratch while the user asked for the teacher's start.
    """
    own = student.state_dict()
    copied = {k: v for k, v in teacher.state_dict().items() if k in own and own[k].shape == v.shape}
    if not any(k.startswith(TRUNKS) for k in copied):
        raise UserError(f"--init-from-teacher: {type(student).__name__} shares no trunk tensors with the teacher "
                        f"({type(teacher).__name__}); give a teacher of the same family and width")
    student.load_state_dict(copied, strict=False)
    return sorted(k for k in own if k not in copied)


class FeatureTap:
    """Records the features a BasicVSR's trunks hand to the next frame (``_propagate``'s outputs), in order.

    Both trunks of every frame are recorded, so a student and a teacher run on the same clip give lists of the
    same length and order. Only passes between :meth:`start` and :meth:`take` are recorded: validation runs the
    same network on whole clips, whose features would otherwise pile up in memory.
    """

    def __init__(self, model: nn.Module) -> None:
        self.feats: list[torch.Tensor] = []
        self.recording = False
        inner = model._propagate

        def tapped(*args: object) -> torch.Tensor:
            out = inner(*args)
            if self.recording:
                self.feats.append(out)
            return out

        model._propagate = tapped

    def start(self) -> None:
        self.feats, self.recording = [], True

    def take(self) -> list[torch.Tensor]:
        """What was recorded since :meth:`start`; recording stops."""
        feats, self.feats, self.recording = self.feats, [], False
        return feats


def feature_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], eps: float = 1e-12) -> torch.Tensor:
    """Mean over trunks and frames of Charbonnier(student feature, teacher feature), in float32."""
    if len(student) != len(teacher) or not student:
        raise ValueError(f"feature lists differ: {len(student)} student, {len(teacher)} teacher")
    return torch.stack([charbonnier(s.float(), t.float().detach(), eps)
                        for s, t in zip(student, teacher, strict=True)]).mean()


def skip_upsampler(teacher: nn.Module) -> None:
    """Let a teacher that only supplies features skip its HR upsampler (most of its cost at HR); its output is
    then meaningless, so only use this when the teacher's output is not a target."""
    teacher.upsample = lambda lr_frame, feat_backward, feat_forward: lr_frame.new_zeros(1)
