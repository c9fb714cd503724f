"""The evaluation sets of the VSR papers (Vid4, REDS4, Vimeo-90K-T) and user clips, found on disk and loaded.

Layouts follow BasicSR's, so an existing ``datasets/`` folder works as is. Shipped low-resolution (LR)
frames are used untouched (they were made with MATLAB); missing ones are made with our MATLAB-exact
bicubic, never with OpenCV/PIL, whose results are not comparable (docs/bench.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from seemup.errors import UserError
from seemup.imresize import imresize_uint8

SCALE = 4
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".y4m")
DATA_ROOT_ENV = "SEEMUP_DATA_ROOT"

VID4_CLIPS = {"calendar": 41, "city": 34, "foliage": 49, "walk": 47}
REDS4_CLIPS = {"000": 100, "011": 100, "015": 100, "020": 100}
VIMEO_GROUP = "vimeo90k-t"
VIMEO_CENTRE = 3  # im4.png, 0-based within im1..im7

PUBLISHED = {
    "vid4": "BasicSR's dataset page https://github.com/XPixelGroup/BasicSR/blob/master/docs/DatasetPreparation.md "
    "(GT frames also in https://github.com/yhjo09/VSR-DUF, folder inputs/G)",
    "reds4": "https://seungjunnah.github.io/Datasets/reds.html (train_sharp and train_sharp_bicubic)",
    "vimeo90k-t": "http://toflow.csail.mit.edu/ (vimeo_septuplet.zip, with sep_testlist.txt)",
}
DATASET_ALIASES = {
    "vid4": "vid4", "reds4": "reds4", "reds": "reds4",
    "vimeo90k-t": "vimeo90k-t", "vimeo90k": "vimeo90k-t", "vimeo-90k-t": "vimeo90k-t", "vimeo": "vimeo90k-t",
}


@dataclass(frozen=True)
class EvalSequence:
    """One input sequence: HR frames (files or a video), optional shipped LR files, and which frames count.

    ``group`` is the row it is reported under: the clip itself for Vid4/REDS4, one shared group for the
    7,824 Vimeo-90K-T septuplets (the papers report only their average, as BasicSR does).
    """

    name: str
    group: str
    hr_paths: tuple[Path, ...] = ()
    lr_paths: tuple[Path, ...] | None = None
    video: Path | None = None
    score_frames: tuple[int, ...] | None = None  # None: every frame; Vimeo-90K-T: the centre only

    @property
    def centre_only(self) -> bool:
        return self.score_frames is not None


@dataclass
class ClipData:
    """A loaded sequence: LR input for the model, HR ground truth of the scored frames."""

    lr: np.ndarray  # [T, h, w, 3] uint8 RGB
    hr: np.ndarray  # [K, 4h, 4w, 3] uint8 RGB, K = len(targets)
    targets: list[int]  # indices into lr of the frames that are scored
    lr_generated: bool


@dataclass
class EvalDataset:
    """A resolved evaluation set: what it is, where, its sequences, and the space its papers report."""

    name: str
    root: Path
    sequences: list[EvalSequence]
    default_space: str = "y"
    lr_note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(s.group for s in self.sequences))


def _natural_key(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, in natural order (``frame2`` before ``frame10``)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: _natural_key(p.name))


def _subfolders(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name))


def read_image(path: Path) -> np.ndarray:
    """An 8-bit image file as HxWx3 uint8 RGB; refuses what would silently change the scores."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise UserError(f"cannot read image {path}")
    if img.dtype != np.uint8:
        raise UserError(f"{path} is a {img.dtype} image; the protocol scores 8-bit frames: convert it to 8-bit first")
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] == 4:
        if img[..., 3].min() != 255:
            raise UserError(f"{path} has a transparent alpha channel; save the frames as RGB")
        img = img[..., :3]
    return np.ascontiguousarray(img[..., ::-1])


def read_video(path: Path, max_frames: int | None = None) -> np.ndarray:
    """All frames (or the first ``max_frames``) of a video as [T,H,W,3] uint8 RGB."""
    frames: list[np.ndarray] = []
    try:
        from seemup.video import read_frames
    except ImportError:  # the video package is optional at this layer; imageio-ffmpeg is a dependency
        read_frames = None
    if read_frames is not None:
        with read_frames(path) as reader:
            for frame in reader:
                frames.append(np.asarray(frame))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    else:
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(gen)
        w, h = meta["size"]
        try:
            for buf in gen:
                frames.append(np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3).copy())
                if max_frames is not None and len(frames) >= max_frames:
                    break
        finally:
            gen.close()
    if not frames:
        raise UserError(f"no frames could be read from {path}")
    return np.stack(frames)


def mod_crop(img: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """Crop bottom/right so H and W are multiples of ``scale`` (the output of a x4 model must match GT)."""
    h, w = img.shape[-3:-1]
    return img[..., : h - h % scale, : w - w % scale, :]


# ----------------------------------------------------------------------------- discovery


def default_data_root() -> Path:
    """``$SEEMUP_DATA_ROOT``, else ``./datasets`` (BasicSR's convention)."""
    env = os.environ.get(DATA_ROOT_ENV)
    return Path(env).expanduser() if env else Path("datasets")


def _missing(name: str, expected: str, root: Path) -> UserError:
    return UserError(
        f"{name} not found under data root {root}: expected {expected}. Set --data-root or ${DATA_ROOT_ENV}. "
        f"It is published at {PUBLISHED[_DISPLAY_KEYS[name]]}"
    )


_DISPLAY_KEYS = {"Vid4": "vid4", "REDS4": "reds4", "Vimeo-90K-T": "vimeo90k-t"}


def _first_dir(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def _clip_sequences(gt_root: Path, lr_root: Path | None, clips: list[str]) -> list[EvalSequence]:
    seqs = []
    for clip in clips:
        hr = list_images(gt_root / clip)
        lr = list_images(lr_root / clip) if lr_root is not None and (lr_root / clip).is_dir() else None
        if not hr:
            raise UserError(f"no frames in {gt_root / clip}")
        if lr is not None and len(lr) != len(hr):
            raise UserError(f"{lr_root / clip} has {len(lr)} LR frames but {gt_root / clip} has {len(hr)} GT frames")
        seqs.append(EvalSequence(clip, clip, tuple(hr), tuple(lr) if lr else None))
    return seqs


def _lr_note(seqs: list[EvalSequence]) -> str:
    shipped = sum(s.lr_paths is not None for s in seqs)
    if shipped == len(seqs):
        return "shipped LR"
    if shipped == 0:
        return "LR made with MATLAB-bicubic x1/4"
    return f"shipped LR for {shipped}/{len(seqs)} clips, the rest made with MATLAB-bicubic x1/4"


def _check_counts(seqs: list[EvalSequence], expected: dict[str, int], name: str) -> list[str]:
    return [
        f"{name} clip {s.name} has {len(s.hr_paths)} frames, the published set has {expected[s.name]}"
        for s in seqs if len(s.hr_paths) != expected[s.name]
    ]


def _named_clips(display: str, gt_root: Path | None, lr_root: Path | None, expected: dict[str, int],
                 where: str, root: Path, space: str) -> EvalDataset:
    if gt_root is None or not all((gt_root / c).is_dir() for c in expected):
        raise _missing(display, where, root)
    seqs = _clip_sequences(gt_root, lr_root, list(expected))
    return EvalDataset(display, gt_root.parent, seqs, space, _lr_note(seqs), _check_counts(seqs, expected, display))


def _vid4(root: Path) -> EvalDataset:
    base = _first_dir(root / "Vid4", root / "vid4")
    gt = _first_dir(base / "GT") if base else None
    lr = _first_dir(base / "BIx4") if base else None
    return _named_clips("Vid4", gt, lr, VID4_CLIPS, f"{root}/Vid4/GT/<clip>/*.png for clips "
                        f"{', '.join(VID4_CLIPS)} (LR optional in Vid4/BIx4/<clip>/)", root, "y")


def _reds4(root: Path) -> EvalDataset:
    gt = _first_dir(root / "REDS" / "train_sharp", root / "REDS4" / "GT")
    lr = _first_dir(root / "REDS" / "train_sharp_bicubic" / "X4", root / "REDS4" / "sharp_bicubic")
    return _named_clips("REDS4", gt, lr, REDS4_CLIPS, f"{root}/REDS/train_sharp/<clip>/*.png for clips "
                        f"{', '.join(REDS4_CLIPS)} (LR optional in REDS/train_sharp_bicubic/X4/<clip>/; "
                        "BasicSR's REDS4/GT + REDS4/sharp_bicubic also work)", root, "rgb")


def _vimeo(root: Path) -> EvalDataset:
    sept = _first_dir(root / "vimeo90k" / "vimeo_septuplet", root / "vimeo_septuplet")
    where = (f"{root}/vimeo90k/vimeo_septuplet/sequences/<a>/<b>/im1..im7.png and "
             "vimeo_septuplet/sep_testlist.txt (LR optional in vimeo90k/BIx4/<a>/<b>/)")
    if sept is None or not (sept / "sequences").is_dir() or not (sept / "sep_testlist.txt").is_file():
        raise _missing("Vimeo-90K-T", where, root)
    lr_root = _first_dir(sept.parent / "BIx4", sept / "BIx4", sept.parent / "vimeo_septuplet_matlabLRx4" / "sequences")
    names = [ln.split()[0] for ln in (sept / "sep_testlist.txt").read_text().splitlines() if ln.strip()]
    frames = [f"im{i}.png" for i in range(1, 8)]
    seqs = []
    for n in names:
        lr = tuple(lr_root / n / f for f in frames) if lr_root is not None and (lr_root / n).is_dir() else None
        seqs.append(EvalSequence(n, VIMEO_GROUP, tuple(sept / "sequences" / n / f for f in frames), lr,
                                 score_frames=(VIMEO_CENTRE,)))
    warnings = [] if len(seqs) == 7824 else [f"sep_testlist.txt lists {len(seqs)} septuplets, the published 7824"]
    return EvalDataset("Vimeo-90K-T", sept, seqs, "rgb", _lr_note(seqs), warnings)


def _folder(path: Path) -> EvalDataset:
    gt = _first_dir(path / "GT")
    if gt is not None:  # Vid4 layout: GT/<clip>/, optional BIx4/<clip>/
        clips = [p.name for p in _subfolders(gt) if list_images(p)]
        if not clips:
            raise UserError(f"{gt} has no clip folders with frames (expected GT/<clip>/*.png)")
        seqs = _clip_sequences(gt, _first_dir(path / "BIx4"), clips)
        return EvalDataset(path.name, path, seqs, "y", _lr_note(seqs))
    clip_dirs = [p for p in _subfolders(path) if list_images(p)]
    if clip_dirs:  # a folder of HR clips, one sub-folder of frames each
        seqs = [EvalSequence(p.name, p.name, tuple(list_images(p))) for p in clip_dirs]
        return EvalDataset(path.name, path, seqs, "y", _lr_note(seqs))
    frames = list_images(path)
    if frames:  # the folder itself is one clip
        return EvalDataset(path.name, path, [EvalSequence(path.name, path.name, tuple(frames))], "y", _lr_note([]))
    raise UserError(f"{path} holds no frames: expected GT/<clip>/*.png, <clip>/*.png folders, or image files")


def resolve_eval_dataset(spec: str | Path, data_root: str | Path | None = None) -> EvalDataset:
    """``vid4`` / ``reds4`` / ``vimeo90k-t`` (under the data root), or a path: Vid4-layout folder, folder of
    HR clips, folder of frames, or a video file. Raises UserError saying where files are expected."""
    key = DATASET_ALIASES.get(str(spec).lower())
    path = Path(spec).expanduser()
    if key is not None and not path.exists():
        root = Path(data_root).expanduser() if data_root is not None else default_data_root()
        return {"vid4": _vid4, "reds4": _reds4, "vimeo90k-t": _vimeo}[key](root)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_EXTENSIONS:
            raise UserError(f"{path} is not a video file ({', '.join(VIDEO_EXTENSIONS)}) or a dataset folder")
        return EvalDataset(path.stem, path.parent, [EvalSequence(path.stem, path.stem, video=path)], "y",
                           "LR made with MATLAB-bicubic x1/4")
    if path.is_dir():
        return _folder(path)
    raise UserError(f"dataset {str(spec)!r} not found: give vid4, reds4, vimeo90k-t or an existing folder/video")


# ----------------------------------------------------------------------------- loading


def _stack(paths: list[Path] | tuple[Path, ...]) -> np.ndarray:
    frames = [read_image(p) for p in paths]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise UserError(f"frames of {paths[0].parent} differ in size: {sorted(shapes)}")
    return np.stack(frames)


def load_sequence(seq: EvalSequence, max_frames: int | None = None) -> ClipData:
    """Read a sequence; make its LR with MATLAB bicubic x1/4 unless shipped. ``max_frames`` keeps the first N.

    With shipped LR the GT must be exactly 4x the LR size (as in the published sets); generated LR comes
    from GT cropped to a multiple of 4, so the x4 output always matches the GT it is scored against.
    """
    n_all = len(seq.hr_paths) if seq.video is None else None
    if seq.video is not None:
        hr_all = mod_crop(read_video(seq.video, max_frames))
        return ClipData(_downscale(hr_all), hr_all, list(range(len(hr_all))), True)
    n = n_all if max_frames is None or seq.centre_only else min(n_all, max_frames)
    targets = list(seq.score_frames) if seq.score_frames is not None else list(range(n))
    if seq.lr_paths is not None:
        lr = _stack(seq.lr_paths[:n])
        hr = _stack([seq.hr_paths[t] for t in targets])
        expect = (lr.shape[1] * SCALE, lr.shape[2] * SCALE)
        if hr.shape[1:3] != expect:
            raise UserError(f"{seq.hr_paths[0].parent}: GT is {hr.shape[2]}x{hr.shape[1]} but the shipped LR "
                            f"{lr.shape[2]}x{lr.shape[1]} needs GT {expect[1]}x{expect[0]} for x{SCALE}")
        return ClipData(lr, hr, targets, False)
    hr_all = mod_crop(_stack(seq.hr_paths[:n]))
    return ClipData(_downscale(hr_all), hr_all[targets], targets, True)


def _downscale(hr: np.ndarray) -> np.ndarray:
    return np.stack([imresize_uint8(f, 1 / SCALE) for f in hr])


def iter_sequences(dataset: EvalDataset, max_frames: int | None = None) -> Iterator[EvalSequence]:
    """The sequences to evaluate; for Vimeo-90K-T ``max_frames`` keeps the first N septuplets."""
    if max_frames is not None and all(s.centre_only for s in dataset.sequences):
        yield from dataset.sequences[:max_frames]
    else:
        yield from dataset.sequences


def scored_frame_count(dataset: EvalDataset, max_frames: int | None = None) -> int:
    """How many frames will be scored per model (for the progress bar), without reading any."""
    total = 0
    for s in iter_sequences(dataset, max_frames):
        if s.score_frames is not None:
            total += len(s.score_frames)
        elif s.video is not None:
            total += max_frames or _video_frame_count(s.video)
        else:
            total += len(s.hr_paths) if max_frames is None else min(len(s.hr_paths), max_frames)
    return total


def _video_frame_count(path: Path) -> int:
    try:
        from seemup.video import probe

        return int(probe(path).num_frames)
    except ImportError:
        import imageio_ffmpeg

        return int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
