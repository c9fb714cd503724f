"""Finding SAM checkpoints, telling their model type, and hashing them (the hash goes into the source id)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path

from seemup.errors import UserError

from .paths import default_cache_root

SAM_CHECKPOINTS = {
    "vit_h": "sam_vit_h_4b8939.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_b": "sam_vit_b_01ec64.pth",
}
"""Official file names; when several are present the largest model wins (best masks), in this order."""

_ENCODER_WIDTH_TO_TYPE = {1280: "vit_h", 1024: "vit_l", 768: "vit_b"}
_NAME_TYPE = re.compile(r"vit[_-]?([bhl])(?![a-z])", re.IGNORECASE)


def weights_dirs() -> list[Path]:
    """Where SAM checkpoints are looked for, in order: ``$SEEMUP_WEIGHTS_DIR``, ``~/.cache/seemup/weights``,
    the repository's ``weights/`` (and the copy bundled in an installed wheel)."""
    dirs: list[Path] = []
    env = os.environ.get("SEEMUP_WEIGHTS_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path.home() / ".cache" / "seemup" / "weights")
    package_dir = Path(__file__).resolve().parents[1]
    dirs.append(package_dir.parent / "weights")
    dirs.append(package_dir / "_weights")
    return dirs


def find_sam_checkpoint() -> Path | None:
    """The first official SAM checkpoint found in :func:`weights_dirs` (None when there is none)."""
    for directory in weights_dirs():
        for name in SAM_CHECKPOINTS.values():
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def sam_type_from_name(path: str | Path) -> str | None:
    """``vit_b``/``vit_l``/``vit_h`` when the file name says so (official names all do)."""
    match = _NAME_TYPE.search(Path(path).name)
    return f"vit_{match.group(1).lower()}" if match else None


def sam_type_from_state_dict(state: dict) -> str:
    """Model type from the image encoder's width (the ``pos_embed`` / patch-embedding shapes)."""
    for key in ("image_encoder.pos_embed", "image_encoder.patch_embed.proj.weight"):
        tensor = state.get(key)
        if tensor is not None:
            width = int(tensor.shape[-1] if key.endswith("pos_embed") else tensor.shape[0])
            if width in _ENCODER_WIDTH_TO_TYPE:
                return _ENCODER_WIDTH_TO_TYPE[width]
            raise UserError(f"not a known SAM checkpoint: image encoder width {width} (expected 768, 1024 or 1280)")
    raise UserError("not a SAM checkpoint: it has no image_encoder weights")


_hash_lock = threading.Lock()
_hash_memo: dict[tuple[str, int, int], str] = {}


def _hash_index_path() -> Path:
    return default_cache_root() / "checkpoint-sha256.json"


def file_sha256(path: str | Path) -> str:
    """Full sha256 of a file, remembered on disk by (path, mtime, size) so a 2.5 GB checkpoint is hashed once."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    with _hash_lock:
        if key in _hash_memo:
            return _hash_memo[key]
    index_key = f"{key[0]}|{key[1]}|{key[2]}"
    index = _read_index()
    digest = index.get(index_key)
    if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        digest = h.hexdigest()
        index = _read_index()  # re-read: another process may have added entries meanwhile
        index[index_key] = digest
        _write_index(index)
    with _hash_lock:
        _hash_memo[key] = digest
    return digest


def _read_index() -> dict:
    try:
        data = json.loads(_hash_index_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # missing or damaged index: it is only a memo, rebuild it


def _write_index(index: dict) -> None:
    target = _hash_index_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(index, f)
        os.replace(tmp, target)
    except OSError:
        pass  # read-only cache dir: hashing still works, just is not remembered across runs
