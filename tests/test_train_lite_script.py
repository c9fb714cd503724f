"""scripts/train_lite.py's distillation helpers: starting from the official BasicVSR and shrinking a run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from seemup.models import create_model

_spec = importlib.util.spec_from_file_location("train_lite", Path(__file__).parents[1] / "scripts" / "train_lite.py")
train_lite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_lite)


def _teacher() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("basicvsr", num_feat=16, num_block=5).eval()


def test_init_from_teacher_copies_the_first_blocks_and_keeps_the_last_conv_fresh() -> None:
    teacher = _teacher()
    student = create_model("basicvsr-lite", num_feat=16, num_block=2)
    fresh = student.conv_last.weight.detach().clone()
    train_lite.init_from_teacher(student, teacher)
    t = teacher.state_dict()
    for name, value in student.state_dict().items():
        if name.startswith("conv_last"):
            continue
        assert torch.equal(value, t[name]), name
    assert torch.equal(student.conv_last.weight, fresh)
    assert "backward_trunk.main.2.2.conv1.weight" not in student.state_dict()


def test_init_from_teacher_refuses_a_student_of_another_width() -> None:
    student = create_model("basicvsr-lite", num_feat=8, num_block=2)
    with pytest.raises(SystemExit, match="--num-feat 16"):
        train_lite.init_from_teacher(student, _teacher())


def test_keep_blocks_renumbers_and_the_model_computes_with_only_those_blocks() -> None:
    torch.manual_seed(1)
    big = create_model("basicvsr-lite", num_feat=8, num_block=4).eval()
    small = create_model("basicvsr-lite", num_feat=8, num_block=2).eval()
    small.load_state_dict(train_lite.keep_blocks(big.state_dict(), [1, 3]))
    for trunk in ("backward_trunk", "forward_trunk"):
        blocks = getattr(big, trunk).main[2]
        getattr(big, trunk).main[2] = torch.nn.Sequential(blocks[1], blocks[3])
    x = torch.rand(1, 3, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(small(x), big(x))
