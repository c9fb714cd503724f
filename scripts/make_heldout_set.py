"""Build the held-out evaluation set used for the README's quality table (never trained on).

Frames of the shared footage clips that no shipped weights were trained on (05_default_juggle,
bedroom), area-downscaled by 2 as SOURCES.md advises for the compressed 720p footage, written as PNG
in the Vid4 layout (`GT/<clip>/NNNNNNNN.png`); `seemup bench` then makes the LR with MATLAB bicubic.

    python scripts/make_heldout_set.py --out /tmp/heldout --frames 20
    seemup bench --dataset /tmp/heldout --model bicubic --model basicvsr --model basicvsr-lite
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from seemup.video import read_frames

CLIPS = ["05_default_juggle.mp4", "bedroom.mp4"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--footage", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/footage")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=20)
    args = ap.parse_args()
    for clip in CLIPS:
        dst = args.out / "GT" / Path(clip).stem
        dst.mkdir(parents=True, exist_ok=True)
        with read_frames(args.footage / clip) as frames:
            for i, frame in enumerate(frames):
                if i >= args.frames:
                    break
                h, w = frame.shape[:2]
                hr = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
                cv2.imwrite(str(dst / f"{i:08d}.png"), cv2.cvtColor(hr, cv2.COLOR_RGB2BGR))
        print(f"{clip}: {min(i + 1, args.frames)} frames -> {dst}")


if __name__ == "__main__":
    main()
