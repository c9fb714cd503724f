"""Training files on disk: written via a temp file and an atomic rename (never half a file), read as memmaps."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seemup.atomicfile import atomic_write_bytes, make_readable

__all__ = ["atomic_write_bytes", "make_readable"]  # the training files' writers import them from here


def source_tag(source_id: str) -> str:
    """Short file-name tag of what made a cached array (a mask source's or a flow network's id)."""
    return hashlib.sha256(source_id.encode()).hexdigest()[:12]


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` with :func:`atomic_write_bytes`'s guarantee."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


class LazyMemmap:
    """A raw array file (uint8 unless told) opened as a read-only memmap on first use; pickles without the mapping.

    DataLoader workers receive the object by pickling, so each process maps the file itself.
    """

    def _init_memmap(self, raw: Path, shape: tuple[int, ...], dtype: type = np.uint8) -> None:
        self.raw = raw
        self._memmap_shape = shape
        self._memmap_dtype = dtype
        self._array: np.ndarray | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.raw, dtype=self._memmap_dtype, mode="r", shape=self._memmap_shape)
        return self._array
