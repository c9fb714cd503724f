"""A damaged H.264 file for tests: one frame the decoder refuses, as in the broken first frames of some camera
or screen recordings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from seemup.video import ffmpeg_exe


def damaged_h264(folder: Path, frames: int = 20, size: str = "64x36") -> Path:
    """``frames`` frames whose first P slice is relabelled as an IDR slice: the decoder drops that one frame
    ("Invalid inter IDR frame"), so ``frames - 1`` decode."""
    good = folder / "undamaged.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25",
                    "-frames:v", str(frames), "-g", "8", "-bf", "0", "-c:v", "libx264", str(good)], check=True)
    data = bytearray(good.read_bytes())
    first_p = data.find(b"\x41\x9a")  # NAL header of a referenced P slice (nal_ref_idc 2, type 1), after its length
    assert first_p > 0 and data[first_p - 4:first_p - 1] == b"\x00\x00\x00"
    data[first_p] = 0x65  # nal_ref_idc 3, type 5 (IDR)
    bad = folder / "damaged.mp4"
    bad.write_bytes(bytes(data))
    return bad
