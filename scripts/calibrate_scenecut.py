"""The numbers behind seemup.pipeline.scenecut.CUT_THRESHOLD, measured on the footage clips.

    python scripts/calibrate_scenecut.py                      # $SEEMUP_FOOTAGE, frames 320 pixels wide
    python scripts/calibrate_scenecut.py --width 80 --width 640

For every clip: the highest cut score of any two frames 1 or 2 apart (no cut is inside a clip, so all of
these must stay below the threshold). Between clips: the lowest score of frames from two different clips
(every 15th frame of each) and of every join (the last frame of one clip, the first of the next), which
must all be above it. Frames are area-downscaled to --width first, as LR input would be.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import cv2
import numpy as np

from seemup.pipeline.scenecut import CUT_THRESHOLD, colour_histogram, histogram_distance
from seemup.video import read_frames


def clip_histograms(path: Path, width: int) -> list[np.ndarray]:
    hists = []
    with read_frames(path) as frames:
        for frame in frames:
            h, w = frame.shape[:2]
            small = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
            hists.append(colour_histogram(small))
    return hists


def report(clips: dict[str, list[np.ndarray]], width: int) -> None:
    worst_within = 0.0
    for name, hists in clips.items():
        top = max(histogram_distance(hists[i], hists[i + s]) for s in (1, 2) for i in range(len(hists) - s))
        worst_within = max(worst_within, top)
        print(f"  {name}: {len(hists)} frames, highest score within the clip {top:.4f}")
    cross, joins = [], []
    for a, b in itertools.permutations(clips, 2):
        ha, hb = clips[a], clips[b]
        cross += [(histogram_distance(x, y), a, b) for x in ha[::15] for y in hb[::15]]
        joins.append((histogram_distance(ha[-1], hb[0]), a, b))
    low, low_join = min(cross), min(joins)
    print(f"width {width}: within clips max {worst_within:.4f}; between clips min {low[0]:.4f} ({low[1]} / {low[2]}); "
          f"joins min {low_join[0]:.4f} ({low_join[1]} -> {low_join[2]})")
    ok = worst_within < CUT_THRESHOLD < min(low[0], low_join[0])
    print(f"  threshold {CUT_THRESHOLD}: {'separates them' if ok else 'DOES NOT separate them'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--footage", type=Path, default=os.environ.get("SEEMUP_FOOTAGE"),
                    help="the folder of the footage clips (default $SEEMUP_FOOTAGE; docs/training.md)")
    ap.add_argument("--width", type=int, action="append", help="frame width to score at (repeatable; default 320)")
    args = ap.parse_args()
    if args.footage is None:
        ap.error("give --footage or set SEEMUP_FOOTAGE")
    paths = sorted(Path(args.footage).glob("*.mp4"))
    for width in args.width or [320]:
        start = time.perf_counter()
        clips = {p.stem: clip_histograms(p, width) for p in paths}
        report(clips, width)
        print(f"  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
