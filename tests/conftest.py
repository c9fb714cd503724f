"""Fixtures shared by several test modules: the training clips, and the 64x36 sample video."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from footage import DOG64
from train_helpers import make_clips


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny frame-folder clips cut from the real footage (committed copies), once per test module."""
    torch.set_num_threads(1)
    return make_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mask, clip and weight caches inside the test's own tmp dir, never the user's."""
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "mask-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tests/data/dog64x36.mp4 (10 frames of real footage at 64x36 with audio), once per module."""
    out = tmp_path_factory.mktemp("clip") / "dog.mp4"
    shutil.copyfile(DOG64, out)
    return out
