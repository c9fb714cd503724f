"""SAM checkpoints: their official names, telling their model type, and hashing them (the hash goes into the
source id). Where checkpoints are looked for is the weights layer's business; it passes the path down."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from seemup.errors import UserError

SAM_CHECKPOINTS = {
    "vit_h": "sam_vit_h_4b8939.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_b": "sam_vit_b_01ec64.pth",
}
"""Official file names (the weights manifest lists them; when several are present the largest model wins)."""

_ENCODER_WIDTH_TO_TYPE = {1280: "vit_h", 1024: "vit_l", 768: "vit_b"}
_NAME_TYPE = re.compile(r"vit[_-]?([bhl])(?![a-z])", re.IGNORECASE)


def file_sha256(path: str | Path) -> str:
    """Full sha256 of a file, read in 1 MiB blocks (a caller that caches hashes passes its digest instead)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
