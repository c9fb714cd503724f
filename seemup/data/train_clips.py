"""Training clips: find them in the supported layouts, and read HR frames (or crops of them) fast.

Layouts: REDS (``train_sharp/<clip>/*.png``), Vimeo-90K (``sequences/<a>/<b>/im1..7.png``), any folder of
clips (one sub-folder of frames per clip, video files, or ``.npz`` arrays of HR frames), a single frame folder, or a
single video or ``.npz`` file. Video files are decoded once into a cached uint8 array (optionally area-downscaled,
which docs/training.md advises for compressed footage), and ``.npz`` arrays copied there, so random access during
training costs a memory-mapped slice, not a decode.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seemup.errors import UserError
from seemup.imresize import imresize_uint8

from .train_files import LazyMemmap, atomic_write_bytes, make_readable

SCALE = 4
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".y4m", ".flv", ".wmv")
# Evaluation clips that must never be trained on (docs/bench.md): REDS4 and the Vimeo-90K test list.
REDS4_CLIPS = ("000", "011", "015", "020")


def default_train_cache_dir() -> Path:
    """Where decoded clips and per-clip mask arrays live (beside seemup's other caches)."""
    from seemup.masks.paths import default_cache_root

    return default_cache_root() / "train"


def _list_frames(folder: Path) -> list[Path]:
    from seemup.video.frame_dir import list_frame_files

    return list_frame_files(folder)


@dataclass(frozen=True)
class ClipRef:
    """A clip found on disk, before anything is decoded: a folder of frames or a video file."""

    name: str
    kind: str  # "frames" | "video" | "npz"
    path: Path
    frames: tuple[Path, ...] = field(default=(), repr=False)
    group: str = ""  # the --data entry's GROUP (GROUP=PATH), for --mix


def _file_clip(path: Path) -> ClipRef | None:
    """A video file or an ``.npz`` array of HR frames as a clip (None for any other file)."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return ClipRef(path.stem, "video", path)
    if path.suffix.lower() == ".npz":
        return ClipRef(path.stem, "npz", path)
    return None


def _file_clips(folder: Path) -> list[ClipRef]:
    return [ref for p in sorted(folder.iterdir()) if p.is_file() and (ref := _file_clip(p)) is not None]


def _frame_clip(folder: Path, name: str) -> ClipRef | None:
    frames = _list_frames(folder)
    return ClipRef(name, "frames", folder, tuple(frames)) if frames else None


def _reds_clips(root: Path, exclude_eval: bool) -> list[ClipRef]:
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if exclude_eval and d.name in REDS4_CLIPS:
            continue
        ref = _frame_clip(d, f"REDS/{d.name}")
        if ref:
            out.append(ref)
    return out


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _vimeo_clips(root: Path, exclude_eval: bool) -> list[ClipRef]:
    seq = root / "sequences"
    trainlist = root / "sep_trainlist.txt"
    if trainlist.is_file():
        names = _read_list(trainlist)
    else:
        names = [f"{a.name}/{b.name}" for a in sorted(seq.iterdir()) if a.is_dir()
                 for b in sorted(a.iterdir()) if b.is_dir()]
    testlist = root / "sep_testlist.txt"
    if exclude_eval and testlist.is_file():
        test = set(_read_list(testlist))
        names = [n for n in names if n not in test]
    out = []
    for n in names:
        ref = _frame_clip(seq / n, f"Vimeo/{n}")
        if ref:
            out.append(ref)
    return out


def discover_clips(path: str | Path, exclude_eval: bool = True) -> list[ClipRef]:
    """All clips under ``path`` (see the module docstring for the layouts); UserError if there are none."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"training data not found: {path}")
    if path.is_file():
        ref = _file_clip(path)
        if ref is None:
            raise UserError(f"{path} is neither a video file ({', '.join(VIDEO_SUFFIXES)}), an .npz clip nor a folder")
        return [ref]
    if (path / "train_sharp").is_dir():
        clips = _reds_clips(path / "train_sharp", exclude_eval)
    elif path.name == "train_sharp":
        clips = _reds_clips(path, exclude_eval)
    elif (path / "sequences").is_dir():
        clips = _vimeo_clips(path, exclude_eval)
    else:
        single = _frame_clip(path, path.name)
        if single is not None:
            clips = [single]
        else:
            clips = _file_clips(path)
            for d in sorted(p for p in path.iterdir() if p.is_dir()):
                ref = _frame_clip(d, d.name)
                if ref:
                    clips.append(ref)
    if not clips:
        raise UserError(f"no clips found in {path}: expected REDS (train_sharp/<clip>/*.png), Vimeo-90K "
                        "(sequences/<a>/<b>/im*.png), a folder of frame folders, video files or .npz clips, "
                        "or one such file")
    return clips


def area_downscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """``frame`` shrunk by an integer ``factor`` with area averaging (how footage becomes HR: --hr-downscale)."""
    if factor == 1:
        return frame
    import cv2

    h, w = frame.shape[:2]
    return cv2.resize(frame, (w // factor, h // factor), interpolation=cv2.INTER_AREA)


def crop_to_scale(frame: np.ndarray) -> np.ndarray:
    """``frame`` cut to a multiple of the x4 scale (so its LR has whole pixels)."""
    h, w = frame.shape[:2]
    return frame[: h - h % SCALE, : w - w % SCALE]


class Clip:
    """HR frames of one clip (cut to multiples of 4, so the LR frame is exactly 1/4 of it).

    Picklable (DataLoader workers re-open files lazily); ``key`` identifies the content for caches.
    """

    name: str
    key: str
    num_frames: int
    height: int
    width: int

    def frame(self, index: int) -> np.ndarray:
        """Full HR frame HxWx3 uint8 RGB."""
        raise NotImplementedError

    def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
        """HR crops [count, size, size, 3] of frames start..start+count-1."""
        return np.stack([self.frame(i)[top:top + size, left:left + size] for i in range(start, start + count)])


def lr_frame(clip: Clip, index: int) -> np.ndarray:
    """The BI-degraded LR frame the model sees (MATLAB bicubic x1/4 of the full HR frame)."""
    return imresize_uint8(clip.frame(index), 1 / SCALE)


class FrameFolderClip(Clip):
    """Frames read (and downscaled) on demand from image files; nothing is cached."""

    def __init__(self, ref: ClipRef, hr_downscale: int = 1) -> None:
        from seemup.video.frame_dir import read_image_rgb

        self.name = ref.name
        self.files = ref.frames
        self.hr_downscale = hr_downscale
        first = crop_to_scale(area_downscale(read_image_rgb(self.files[0]), hr_downscale))
        self.height, self.width = first.shape[:2]
        self.num_frames = len(self.files)
        st = self.files[0].stat()
        ident = f"frames|{ref.path.resolve()}|{len(self.files)}|{st.st_size}|{st.st_mtime_ns}|{hr_downscale}"
        self.key = hashlib.sha256(ident.encode()).hexdigest()[:20]

    def frame(self, index: int) -> np.ndarray:
        from seemup.video.frame_dir import read_image_rgb

        img = crop_to_scale(area_downscale(read_image_rgb(self.files[index]), self.hr_downscale))
        if img.shape[:2] != (self.height, self.width):
            raise UserError(f"{self.files[index]}: size {img.shape[1]}x{img.shape[0]} differs from the clip's "
                            f"first frame ({self.width}x{self.height})")
        return img


class ArrayClip(LazyMemmap, Clip):
    """Frames in a raw uint8 file [T,H,W,3] with a JSON sidecar, memory-mapped per process."""

    def __init__(self, name: str, key: str, raw: Path, shape: tuple[int, int, int, int]) -> None:
        self.name, self.key = name, key
        self.num_frames, self.height, self.width = shape[0], shape[1], shape[2]
        self._init_memmap(raw, shape)

    def frame(self, index: int) -> np.ndarray:
        return np.asarray(self.array[index])

    def crops(self, start: int, count: int, top: int, left: int, size: int) -> np.ndarray:
        return np.ascontiguousarray(self.array[start:start + count, top:top + size, left:left + size])


def _video_key(path: Path, hr_downscale: int, skip_damaged: bool = False) -> str:
    st = path.stat()
    ident = f"video|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{hr_downscale}"
    if skip_damaged:
        ident += "|skip-damaged"
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def _cached_clip(ref: ClipRef, key: str, cache_dir: Path) -> ArrayClip | None:
    raw, meta = cache_dir / "clips" / f"{key}.u8", cache_dir / "clips" / f"{key}.json"
    if meta.is_file() and raw.is_file():
        shape = tuple(json.loads(meta.read_text())["shape"])
        if raw.stat().st_size == int(np.prod(shape)):
            return ArrayClip(ref.name, key, raw, shape)  # type: ignore[arg-type]
    return None


def _store_clip(ref: ClipRef, key: str, cache_dir: Path, frames: Iterator[np.ndarray], meta: dict,
                on_frame: Callable[[], None] | None = None) -> ArrayClip:
    """Write HR ``frames`` into ``cache_dir`` as one raw array and its sidecar.

    The raw file is written under a temp name and renamed, then the sidecar is written the same way: a
    sidecar present means a complete array, so concurrent preparers (DDP ranks) are safe."""
    folder = cache_dir / "clips"
    raw = folder / f"{key}.u8"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)
    count, size = 0, None
    try:
        with os.fdopen(fd, "wb") as fh:
            for frame in frames:
                if size is None:
                    size = frame.shape[:2]
                fh.write(np.ascontiguousarray(frame).tobytes())
                count += 1
                if on_frame is not None:
                    on_frame()
        if count == 0 or size is None:
            raise UserError(f"{ref.path}: no frames decoded")
        make_readable(tmp)
        os.replace(tmp, raw)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    shape = (count, size[0], size[1], 3)
    atomic_write_bytes(folder / f"{key}.json", json.dumps({"shape": list(shape), "source": str(ref.path),
                                                           **meta}).encode())
    return ArrayClip(ref.name, key, raw, shape)


def prepare_video_clip(ref: ClipRef, hr_downscale: int, cache_dir: Path, on_frame=None,  # noqa: ANN001
                       *, skip_damaged: bool = False) -> ArrayClip:
    """Decode a video file once into ``cache_dir`` (reused while the file is unchanged).

    A stream whose decoder loses frames to errors is refused, as ``seemup upscale`` refuses it, unless
    ``skip_damaged``: then the frames that decode make the clip (and the cache key says so).
    """
    from seemup.video import probe, read_frames

    key = _video_key(ref.path, hr_downscale, skip_damaged)
    cached = _cached_clip(ref, key, cache_dir)
    if cached is not None:
        return cached
    info = probe(ref.path, skip_damaged=skip_damaged)
    with read_frames(ref.path, info=info) as frames:
        hr = (crop_to_scale(area_downscale(frame, hr_downscale)) for frame in frames)
        return _store_clip(ref, key, cache_dir, hr, {"hr_downscale": hr_downscale}, on_frame)


def prepare_npz_clip(ref: ClipRef, cache_dir: Path) -> ArrayClip:
    """An ``.npz`` clip's ``hr`` array (uint8 [T,H,W,3], already HR: ``--hr-downscale`` does not apply), copied
    once into ``cache_dir`` so that DataLoader workers memory-map it instead of each holding a copy."""
    st = ref.path.stat()
    key = hashlib.sha256(f"npz|{ref.path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]
    cached = _cached_clip(ref, key, cache_dir)
    if cached is not None:
        return cached
    try:
        with np.load(ref.path) as arrays:
            hr = arrays["hr"] if "hr" in arrays.files else None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {ref.path}: {exc}") from exc
    if hr is None or hr.dtype != np.uint8 or hr.ndim != 4 or hr.shape[-1] != 3:
        raise UserError(f"{ref.path}: expected an 'hr' array of uint8 [T,H,W,3] frames "
                        "(the layout scripts/make_lite_extra_data.py writes)")
    return _store_clip(ref, key, cache_dir, (crop_to_scale(f) for f in hr), {})


def open_clip(ref: ClipRef, hr_downscale: int, cache_dir: Path, on_frame=None) -> Clip:  # noqa: ANN001
    """A readable clip for ``ref`` (video files are decoded, ``.npz`` arrays copied, into the cache first)."""
    if ref.kind == "video":
        return prepare_video_clip(ref, hr_downscale, cache_dir, on_frame)
    if ref.kind == "npz":
        return prepare_npz_clip(ref, cache_dir)
    return FrameFolderClip(ref, hr_downscale)
