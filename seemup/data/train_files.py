"""Training files on disk: written via a temp file and an atomic rename (never half a file), read as memmaps."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


def source_tag(source_id: str) -> str:
    """Short file-name tag of what made a cached array (a mask source's or a flow network's id)."""
    return hashlib.sha256(source_id.encode()).hexdigest()[:12]


def make_readable(path: str | Path) -> None:
    """Give a temp file (mkstemp makes them 0600) the mode a normally created file would get."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path`` then rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
