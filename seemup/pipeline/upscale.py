"""The upscale job: stream frames in, run the network chunk by chunk, write resumable segments, assemble.

Memory is bounded by the chunk (plus context) whatever the video's length; the output appears only when
complete, and an interrupted job continues from its last finished chunk with ``resume``.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from seemup.errors import UserError
from seemup.models import ModelSpec, get_spec
from seemup.userpaths import check_mask_cache
from seemup.video import (
    EncodeSettings,
    FrameWriter,
    VideoInfo,
    frame_name,
    join_segments,
    list_frame_files,
    probe,
    read_frames,
    segment_suffix,
)
from seemup.video.atomic import check_replaceable, check_target, commit, file_kind, is_frame_dir_target
from seemup.video.ffmpeg import ffmpeg_cmd, run_ffmpeg
from seemup.video.negotiate import check_output
from seemup.weights.int8_ranges import ranges_path

from .device import (
    autocast_dtype,
    cpu_conv_seconds,
    cpu_estimate_seconds,
    default_chunk,
    place_model,
    resolve_device,
    resolve_precision,
)
from .int8 import apply_int8, prefer_int8
from .memory import GIB, free_memory, inference_bytes, release_freed_memory
from .prefetch import Prefetcher
from .progress import NullProgress, ProgressSink
from .runner import MIN_TILE, SCALE, ModelRunner
from .schedule import Chunk, plan_chunks, window_context, window_indices
from .state import JobLock, JobState, open_job, partial_dir_for, read_state, saved_chunk

CPU_FAST_MODEL = "basicvsr-lite"  # what the CPU notice suggests instead of a model at least twice as slow
_STORED_FRAMES = re.compile(r"frame=\s*(\d+)")


@dataclass
class UpscaleOptions:
    """Everything ``seemup upscale`` can be told (defaults as on the command line)."""

    model: str = "basicvsr"
    weights: str | Path | None = None
    scale: int = 4
    chunk: int | None = None  # None: sized for the device
    overlap: int = 10
    tile: int | None = None  # LR pixels; None/0: whole frames
    tile_overlap: int = 16
    device: str = "auto"
    precision: str = "auto"  # auto, fp32, fp16 (CUDA), bf16; see device.resolve_precision
    fp32: bool = False  # shorthand for precision="fp32"
    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    force: bool = False
    resume: bool = False
    quiet: bool = False
    mask_source: str = "auto"
    sam_checkpoint: Path | None = None
    cache_dir: Path | None = None
    fps: Fraction | None = None  # frame rate of a frame-folder input (default 25)
    skip_damaged: bool = False  # upscale the frames of a damaged stream that decode (else it is refused)

    def validate(self) -> None:
        """One clear error for a bad value, before any work starts."""
        if self.scale != SCALE:
            raise UserError(f"--scale {self.scale} is not supported: the models upscale x4 only")
        if self.chunk is not None and self.chunk < 1:
            raise UserError(f"--chunk must be at least 1, got {self.chunk}")
        if self.overlap < 0:
            raise UserError(f"--overlap must be 0 or more, got {self.overlap}")
        if self.tile is not None and self.tile != 0 and self.tile < MIN_TILE:
            raise UserError(f"--tile must be 0 (off) or at least {MIN_TILE}, got {self.tile}")
        if self.tile_overlap < 0:
            raise UserError(f"--tile-overlap must be 0 or more, got {self.tile_overlap}")
        if self.tile and self.tile_overlap * 2 > self.tile:
            raise UserError(f"--tile-overlap {self.tile_overlap} must be at most half of --tile {self.tile}")
        self.encode_settings().validate()

    def encode_settings(self) -> EncodeSettings:
        return EncodeSettings(codec=self.codec, crf=self.crf, preset=self.preset)


@dataclass
class UpscaleResult:
    """What was done, for the summary line(s)."""

    output: Path
    model: str
    weights: str | None
    device: str
    precision: str
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    frames: int
    computed_frames: int
    seconds: float
    chunk: int
    overlap: int
    tile: int | None
    resumed_from: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.computed_frames / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """A short human summary (model, device, size in -> out, frames, time, speed, pads/crops, notes)."""
        w = f" ({self.weights})" if self.weights else ""
        tile = f", tile {self.tile}" if self.tile else ""
        resumed = f", resumed at frame {self.resumed_from}" if self.resumed_from else ""
        line = (f"{self.output}: {self.model}{w} on {self.device} {self.precision}, "
                f"{self.in_size[0]}x{self.in_size[1]} -> {self.out_size[0]}x{self.out_size[1]}, {self.frames} frames "
                f"in {self.seconds:.1f} s ({self.fps:.2f} fps), chunk {self.chunk} overlap {self.overlap}{tile}"
                f"{resumed}")
        return "\n".join([line, *(f"  note: {n}" for n in self.notes)])


def _fingerprint(opts: UpscaleOptions, model_name: str, weights: Path | None, mask_id: str | None, info: VideoInfo,
                 device: torch.device, precision: str, chunk: int, overlap: int, tile: int | None,
                 frame_dir_out: bool) -> dict:
    wstat = weights.stat() if weights is not None else None
    istat = info.path.stat()
    return {
        "input": str(info.path.resolve()), "input_size": istat.st_size if not info.is_frame_dir else None,
        "input_mtime_ns": istat.st_mtime_ns, "num_frames": info.num_frames, "fps": str(info.fps),
        "model": model_name, "weights": str(weights) if weights else None,
        "weights_size": wstat.st_size if wstat else None, "mask_source": mask_id,
        "device": device.type, "precision": precision, "chunk": chunk, "overlap": overlap, "tile": tile,
        # a recalibration between a stop and --resume would change int8 output mid-video
        "int8_ranges": _file_stamp(ranges_path(weights)) if precision == "int8" and weights is not None else None,
        "tile_overlap": opts.tile_overlap, "output": "png" if frame_dir_out else "video",
        "codec": None if frame_dir_out else [opts.codec, opts.crf, opts.preset],
    }


def _file_stamp(path: Path) -> list[int] | None:
    """Size and modification time of ``path`` (None when it does not exist)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _human_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _cpu_estimate_note(spec: ModelSpec, width: int, height: int, num_frames: int, precision: str,
                       fast_precision: str) -> str | None:
    """How long ``spec``'s network will take on this CPU, from one convolution timed now, and what the fast
    model would take (at ``fast_precision``, which auto may make int8 for it); None when the model is not at
    least twice as slow as that one (or its cost is unknown)."""
    fast_costs = get_spec(CPU_FAST_MODEL).cpu_cost
    cost, fast = spec.cpu_cost.get(precision), fast_costs.get(fast_precision, fast_costs.get(precision))
    if cost is None or fast is None or cost < 2 * fast:
        return None
    conv = cpu_conv_seconds(precision)
    same_dtype = autocast_dtype(fast_precision) == autocast_dtype(precision)
    fast_conv = conv if same_dtype else cpu_conv_seconds(fast_precision)
    est = cpu_estimate_seconds(cost, width, height, num_frames, conv)
    lite = cpu_estimate_seconds(fast, width, height, num_frames, fast_conv)
    where = "no CUDA device: " if not torch.cuda.is_available() else ""
    masks = " plus the masks" if spec.uses_masks else ""
    return (f"{where}{spec.name} on CPU needs about {est / num_frames:.1f} s per frame here{masks} "
            f"(~{_human_seconds(est)} for {num_frames} frames of {width}x{height}); --model {CPU_FAST_MODEL} "
            f"would need about {lite / num_frames:.2f} s per frame (~{_human_seconds(lite)})")


def _fast_model_precision(requested: str, precision: str) -> str:
    """The precision the fast CPU model would run at under the same ``--precision``: auto makes it int8
    where its default weights ship int8 ranges."""
    from seemup.weights import resolve_weights

    if precision == "int8":
        return precision
    try:
        info = resolve_weights(CPU_FAST_MODEL, None)
    except UserError:
        return precision
    return "int8" if prefer_int8(requested, torch.device("cpu"), info.path if info else None) else precision


class JobInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, which the CLI turns into one) during a run; ``kept`` says what stays on disk."""

    def __init__(self, kept: str) -> None:
        super().__init__(kept)
        self.kept = kept


def upscale_video(
    input: str | Path,
    output: str | Path,
    options: UpscaleOptions | None = None,
    *,
    progress: ProgressSink | None = None,
    log: Callable[[str], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> UpscaleResult:
    """Upscale ``input`` (video file or frame folder) x4 into ``output`` (video file or PNG folder).

    ``log`` receives notices (estimates, hints); ``on_chunk(k)`` runs after chunk ``k`` is safely on disk
    (tests interrupt there). Bad input or options raise :class:`UserError`; an interruption raises
    :class:`JobInterrupted`, which says what was kept.
    """
    progress = progress or NullProgress()
    try:  # the display may already be live while the input is checked, so it is stopped on any way out
        return _upscale(Path(input), Path(output), options or UpscaleOptions(), progress, log, on_chunk)
    except JobInterrupted:
        raise
    except KeyboardInterrupt as exc:
        raise JobInterrupted(kept_after_stop(Path(output))) from exc
    finally:
        progress.close()


def kept_after_stop(output: Path) -> str:
    """What an interrupted run of ``output`` left on disk, from the partial folder's state."""
    saved = read_state(output) or {}
    done = saved.get("done")
    if isinstance(done, int) and done > 0:
        return (f"{done}/{saved.get('num_chunks', '?')} chunks kept in {partial_dir_for(output)}; "
                "rerun with --resume to continue")
    return f"no chunk was finished, nothing kept; {output} is unchanged"


def preflight(src: Path, dst: Path, opts: UpscaleOptions) -> ModelSpec:
    """The checks that need no decoding, so that a mistake is one line before anything is loaded or written."""
    if src.exists() and dst.exists() and src.resolve() == dst.resolve():
        raise UserError("output must not be the input")
    if not src.exists():
        raise UserError(f"input not found: {src}")
    _check_input_kind(src)
    if not dst.parent.is_dir():
        raise UserError(f"output folder does not exist: {dst.parent}")
    check_replaceable(dst)
    _check_name_length(dst)
    try:
        spec = get_spec(opts.model)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if spec.name == "bicubic" and opts.weights is not None:
        raise UserError("the bicubic model has no weights; drop --weights")
    if spec.uses_masks:
        check_mask_cache(opts.cache_dir)
    return spec


def _check_input_kind(src: Path) -> None:
    """A FIFO or device as input would block or never end: only regular files and folders are read."""
    mode = src.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UserError(f"input {src} is {file_kind(mode)}, not a video file or a folder of frames")


def _check_name_length(dst: Path) -> None:
    """The hidden partial folder's name is the output's plus 16 bytes; it must fit the file system's limit."""
    try:
        limit = os.pathconf(dst.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    partial = len(os.fsencode(partial_dir_for(dst).name))
    if partial > limit:
        room = limit - (partial - len(os.fsencode(dst.name)))
        raise UserError(f"output name too long ({len(os.fsencode(dst.name))} bytes): seemup keeps the unfinished "
                        f"output beside it under a name {partial - len(os.fsencode(dst.name))} bytes longer and "
                        f"the file system allows {limit}; use at most {room} bytes")


def check_frame_folder(info: VideoInfo, progress: ProgressSink) -> None:
    """Every image of a frame-folder input has the first one's size and is intact, checked from its header
    (and, for PNG, its chunk checksums) without decoding, before any work: the reader would only find a bad
    frame when it got there, after hours."""
    files = list_frame_files(info.path)
    for i, f in enumerate(files):
        w, h = _image_size(f)
        if (w, h) != (info.width, info.height):
            raise UserError(f"{f.name} is {w}x{h}, the first frame is {info.width}x{info.height}: all frames of "
                            "a folder must have one size")
        progress.checking(i + 1, len(files))


def _image_size(path: Path) -> tuple[int, int]:
    """Width and height as displayed (JPEG EXIF orientation applied, as the reader does); a damaged file is
    a :class:`UserError`."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            (w, h), fmt = im.size, im.format
            turned = fmt == "JPEG" and im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            if fmt == "PNG":
                im.verify()
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError) as exc:
        raise UserError(f"frame {path} is damaged or not an image ({exc})") from None
    if fmt == "JPEG" and not _jpeg_complete(path):
        raise UserError(f"frame {path} is damaged or not an image (the JPEG data is cut short)")
    return (h, w) if turned else (w, h)


def _jpeg_complete(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        return f.read().rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


def _upscale(src: Path, dst: Path, opts: UpscaleOptions, progress: ProgressSink,
             log: Callable[[str], None] | None, on_chunk: Callable[[int], None] | None) -> UpscaleResult:
    opts.validate()
    frame_dir_out = is_frame_dir_target(dst)
    spec = preflight(src, dst, opts)
    with JobLock(dst) as lock:  # held until the output is in place or the run has stopped; dropped on a crash
        check_target(dst, opts.force)
        result = _run_job(src, dst, spec, opts, frame_dir_out, progress, log, on_chunk)
    if lock.note:
        result.notes.append(lock.note)
    return result


def _run_job(src: Path, dst: Path, spec: ModelSpec, opts: UpscaleOptions, frame_dir_out: bool,
             progress: ProgressSink, log: Callable[[str], None] | None,
             on_chunk: Callable[[int], None] | None) -> UpscaleResult:
    say = log or (lambda _msg: None)
    # after the quick checks: counting the frames decodes the whole input
    info = probe(src, fps=opts.fps, skip_damaged=opts.skip_damaged, on_progress=progress.checking)
    if not frame_dir_out:  # before any frame: the output must take the codec and the source's streams
        check_output(dst, opts.encode_settings(), info)
    if info.is_frame_dir:
        check_frame_folder(info, progress)
    device = resolve_device(opts.device)
    requested = "fp32" if opts.fp32 else opts.precision
    precision = resolve_precision(device, requested)
    notes: list[str] = []
    if info.undecodable:
        notes.append(f"{info.undecodable} of {info.num_frames + info.undecodable} frames could not be decoded and "
                     f"were skipped (--skip-damaged)")

    # frames of a video output keep their stored orientation; the rotation is carried over as metadata
    autorotate = frame_dir_out or info.rotation == 0
    width, height = info.display_size if autorotate else (info.width, info.height)
    if not autorotate:
        notes.append(f"display rotation {info.rotation} degrees kept")
    # before the weights load: the slow models are the ones to warn about (those with a known cost, not lite)
    if log and device.type == "cpu" and spec.name != CPU_FAST_MODEL and spec.cpu_cost.get(precision):
        note = _cpu_estimate_note(spec, width, height, info.num_frames, precision,
                                  _fast_model_precision(requested, precision))
        if note:
            say(note)
    masker = None
    if spec.uses_masks:
        from seemup.masks import CachedMasks, MaskCache, get_mask_source

        source = get_mask_source(opts.mask_source, sam_checkpoint=opts.sam_checkpoint, device=str(device),
                                 quiet=opts.quiet)
        masker = CachedMasks(source, MaskCache(opts.cache_dir))

    from seemup.weights import build_model

    # untrained networks (tests' tiny models, zero SEEM) come from a fixed seed, so a resumed run continues
    # with the same network; fork_rng keeps the caller's random state untouched
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model, winfo = build_model(spec.name, opts.weights, mask_source_id=masker.id if masker else None)
    model = place_model(model, device)
    weights_path = winfo.path if winfo else None
    if precision == "int8" or prefer_int8(requested, device, weights_path):
        precision = "int8"
        model = apply_int8(model, weights_path, winfo.name if winfo else spec.name)
    if winfo is not None:
        notes += list(winfo.notes)
        if spec.uses_masks:  # e.g. no adapter passes the acceptance rule: said before the work, not only after
            for note in winfo.notes:
                say(note)

    window = getattr(model, "num_frame", None) if spec.kind == "window" else None  # weights may change it
    chunk, overlap = _chunking(opts, dst, spec, model, window, device, precision, (width, height))
    tile = opts.tile or None
    plan = plan_chunks(info.num_frames, chunk, overlap)
    multiple = 4 if window else 1
    if window and (width % 4 or height % 4):
        notes.append(f"input edge-padded to {width + (-width) % 4}x{height + (-height) % 4} for {spec.name} "
                     "(cropped back)")
    runner = ModelRunner(model, device, precision=precision, tile=tile, tile_overlap=opts.tile_overlap,
                         multiple=multiple)
    at_once = (4 if device.type == "cuda" else 1) * window if window else max(2, plan[0].in_end - plan[0].in_start)
    check_memory(runner, spec, window, (width, height), at_once)
    fingerprint = _fingerprint(opts, spec.name, weights_path, masker.id if masker else None, info, device, precision,
                               chunk, overlap, tile, frame_dir_out)
    job = open_job(dst, fingerprint, len(plan), resume=opts.resume, force=opts.force)
    if opts.resume and job.done:
        say(f"resuming {dst}: {job.done}/{len(plan)} chunks already done")
    settings = opts.encode_settings().for_target(dst)  # AVI takes no B-frames, for one
    seg_suffix = segment_suffix(settings.resolved_codec())
    out_w, out_h = width * SCALE, height * SCALE
    resumed_from = (plan[job.done].out_start if job.done < len(plan) else info.num_frames) if job.done else 0

    t0 = time.perf_counter()
    computed = 0
    try:
        if job.done < len(plan):
            computed = _run_chunks(info, plan, job, runner, masker, window, autorotate, (out_w, out_h), settings,
                                   seg_suffix, frame_dir_out, progress, on_chunk)
        _assemble(job, plan, dst, info, settings, seg_suffix, frame_dir_out, autorotate, opts.force, notes)
    except BaseException as exc:
        _after_failure(job, len(plan), exc, say)
        raise
    try:
        progress.close()  # the bar ends before the summary is printed
        seconds = time.perf_counter() - t0
        left = job.discard()
    except KeyboardInterrupt as exc:  # too late to lose anything: the output is in place
        raise JobInterrupted(f"{dst} is complete") from exc
    if left:
        notes.append(f"{job.dir} was left in place: it holds files seemup did not write ({', '.join(left[:3])})")
    notes += runner.notes
    return UpscaleResult(
        output=dst, model=spec.name, weights=winfo.name if winfo else None, device=str(device),
        precision=precision, in_size=(width, height), out_size=(out_w, out_h),
        frames=info.num_frames, computed_frames=computed, seconds=seconds, chunk=chunk, overlap=overlap,
        tile=runner.tile, resumed_from=resumed_from, notes=notes,
    )


def _chunking(opts: UpscaleOptions, dst: Path, spec: ModelSpec, model: torch.nn.Module, window: int | None,
              device: torch.device, precision: str, size: tuple[int, int]) -> tuple[int, int]:
    """Chunk length and context. The length is --chunk, or on --resume the interrupted run's (stored in its
    state.json: free memory may differ now, and a length chosen from it is no option the user gave), or
    what fits in free memory."""
    chunk = opts.chunk or (saved_chunk(dst) if opts.resume else None)
    if window:
        return chunk or 16, window_context(window)
    num_feat = int(spec.config.get("num_feat", 64))
    chunk = chunk or default_chunk(device, size[1], size[0], num_feat, precision in ("fp16", "bf16"),
                                   streamed=hasattr(model, "stream"))
    return chunk, 0 if spec.name == "bicubic" else opts.overlap  # frame by frame: context would be wasted work


SUGGESTED_TILE = 256
_SMALLER_CHUNKS = ((4, 2), (2, 1), (1, 0))  # (--chunk, --overlap) to suggest, largest first


def check_memory(runner: ModelRunner, spec: ModelSpec, window: int | None, size: tuple[int, int],
                 frames: int) -> None:
    """Refuse a job whose ``frames`` at a time cannot fit in free memory, with the numbers and settings that
    would fit, before it allocates until it dies (a 50 KB file can declare 4096x4096 frames). On CUDA a job
    that fits in tiles is left to the out-of-memory fallback, which finds the tile itself."""
    w, h = size
    num_feat = 0 if spec.name == "bicubic" else int(spec.config.get("num_feat", 64))
    element = 2 if runner.precision in ("fp16", "bf16") else 4
    streamed = hasattr(runner.model, "stream")

    def need(n: int, tile: int | None) -> int:
        return inference_bytes(h, w, n, num_feat, element, streamed=streamed, tile=tile,
                               tile_overlap=runner.tile_overlap, window=window)

    free = free_memory(runner.device)
    if need(frames, runner.tile) <= free:
        return
    tile = runner.tile or SUGGESTED_TILE
    if not runner.tile and need(frames, tile) <= free:
        if runner.device.type == "cuda":
            return
        advice = f"try --tile {tile}"
    else:
        sizes = [(c, o, max(2, c + 2 * o)) for c, o in _SMALLER_CHUNKS]
        fits = [(c, o) for c, o, n in sizes if n < frames and need(n, tile) <= free]
        advice = (f"try --chunk {fits[0][0]} --overlap {fits[0][1]} --tile {tile}" if fits and not window
                  else "it is too large for this machine")
    raise UserError(f"{w}x{h} frames need about {need(frames, runner.tile) / GIB:.1f} GiB ({frames} frames at a "
                    f"time) and {free / GIB:.1f} GiB is free on {runner.device.type}: {advice}")


def _after_failure(job: JobState, num_chunks: int, exc: BaseException, say: Callable[[str], None]) -> None:
    """Drop a job that finished no chunk; otherwise keep it and, unless interrupted (the caller is told
    through :class:`JobInterrupted`), say what was kept."""
    if job.done == 0:
        job.discard()
    elif not isinstance(exc, KeyboardInterrupt):
        more = "; rerun with --resume to continue" if job.done < num_chunks else ""
        say(f"stopped: {job.done}/{num_chunks} chunks kept in {job.dir}{more}")


def _run_chunks(info: VideoInfo, plan: list[Chunk], job: JobState, runner: ModelRunner, masker, window: int | None,
                autorotate: bool, out_size: tuple[int, int], settings: EncodeSettings, seg_suffix: str,
                frame_dir_out: bool, progress: ProgressSink, on_chunk: Callable[[int], None] | None) -> int:
    """Compute chunks ``job.done`` .. end; returns the number of frames computed."""
    first = plan[job.done]
    reader = read_frames(info.path, info=info, autorotate=autorotate, start=first.in_start)
    depth = max(4, min(32, first.in_end - first.in_start))
    prefetch = Prefetcher(reader, depth=depth, closer=reader.close)
    frames_iter = iter(prefetch)
    buf: dict[int, np.ndarray] = {}
    mbuf: dict[int, np.ndarray] = {}
    next_index = first.in_start
    computed = 0
    progress.start(info.num_frames, completed=first.out_start)
    try:
        for chunk in plan[job.done:]:
            while next_index < chunk.in_end:
                try:
                    buf[next_index] = next(frames_iter)
                except StopIteration:
                    raise UserError(f"{info.path}: ended after {next_index} of {info.num_frames} frames") from None
                next_index += 1
            for i in [i for i in buf if i < chunk.in_start]:
                del buf[i]
                mbuf.pop(i, None)
            if masker is not None:
                need = [i for i in range(chunk.in_start, chunk.in_end) if i not in mbuf]
                if need:
                    for i, m in zip(need, masker.batch([buf[i] for i in need]), strict=True):
                        mbuf[i] = m
            if window:
                out = _window_chunk(runner, chunk, buf, mbuf if masker else None, info.num_frames, window)
            else:
                idx = range(chunk.in_start, chunk.in_end)
                lr = np.stack([buf[i] for i in idx])
                masks = np.stack([mbuf[i] for i in idx]) if masker is not None else None
                out = runner.stream_recurrent(lr, masks, chunk.out_start - chunk.in_start,
                                              chunk.out_end - chunk.in_start)
                del lr, masks
            _write_chunk(job, chunk, out, out_size, info, settings, seg_suffix, frame_dir_out, progress)
            job.mark_done(chunk.index)
            del out
            release_freed_memory()
            computed += chunk.size
            if on_chunk is not None:
                on_chunk(chunk.index)
    finally:
        prefetch.close()
        reader.close()
    return computed


def _window_chunk(runner: ModelRunner, chunk: Chunk, buf: dict[int, np.ndarray], mbuf: dict[int, np.ndarray] | None,
                  num_frames: int, window: int) -> Generator[np.ndarray, None, None]:
    """Each output frame of ``chunk`` from its 2N+1 neighbourhood; a few centres per network call on CUDA."""
    batch = 4 if runner.device.type == "cuda" else 1
    centres = list(range(chunk.out_start, chunk.out_end))
    for s in range(0, len(centres), batch):
        group = [window_indices(c, num_frames, window) for c in centres[s:s + batch]]
        lr = np.stack([np.stack([buf[i] for i in g]) for g in group])
        masks = np.stack([np.stack([mbuf[i] for i in g]) for g in group]) if mbuf is not None else None
        yield from runner.run(lr, masks)


def _write_chunk(job: JobState, chunk: Chunk, frames: Generator[np.ndarray, None, None], size: tuple[int, int],
                 info: VideoInfo, settings: EncodeSettings, seg_suffix: str, frame_dir_out: bool,
                 progress: ProgressSink) -> None:
    """Encode the chunk's frames as they come (its segment file appears only when all are written)."""
    if frame_dir_out:
        writer = FrameWriter(job.frames_dir, size[0], size[1], info.fps, atomic=False, start_number=chunk.out_start)
    else:
        writer = FrameWriter(job.segment(chunk.index, seg_suffix), size[0], size[1], info.fps, settings=settings,
                             force=True, timing=info.timing(chunk.out_start, chunk.out_end), video=info)
    try:
        with writer:
            written = 0
            for f in frames:
                writer.write(f)
                written += 1
                progress.advance(1)
            if written != chunk.size:  # a bug, never a short segment kept as if complete
                raise RuntimeError(f"chunk {chunk.index} produced {written} of its {chunk.size} frames")
    finally:
        frames.close()  # a failed write lets go of the network's state for the chunk at once


def _assemble(job: JobState, plan: list[Chunk], dst: Path, info: VideoInfo, settings: EncodeSettings,
              seg_suffix: str, frame_dir_out: bool, autorotate: bool, force: bool, notes: list[str]) -> None:
    """Put the finished chunks together and check that every planned frame is there before the result is
    renamed onto ``dst`` (so a run never ends with a shorter output and exit status 0)."""
    check_replaceable(dst)
    if frame_dir_out:
        names = {p.name for p in job.frames_dir.iterdir()} if job.frames_dir.is_dir() else set()
        have = len(names & {frame_name(i) for i in range(info.num_frames)})
        if have != info.num_frames or len(names) != have:
            raise UserError(f"partial output in {job.dir} has {have} of {info.num_frames} frames; "
                            "rerun with --force")
        commit(job.frames_dir, dst, force)
        return
    segments = [job.segment(c.index, seg_suffix) for c in plan]
    missing = [s.name for s in segments if not s.is_file()]
    if missing:
        raise UserError(f"partial output in {job.dir} lacks {', '.join(missing[:3])}; rerun with --force")
    joined = job.joined(dst.suffix)
    notes += join_segments(segments, joined, info.fps, source=None if info.is_frame_dir else info,
                           rotation=0 if autorotate else info.rotation, force=True)
    have = stored_frames(joined)
    if have != info.num_frames:
        counted = f"has {have} of" if have >= 0 else "cannot be counted against"
        raise UserError(f"the assembled video {counted} the {info.num_frames} frames planned, so {dst} was "
                        f"not written; the chunks in {job.dir} are suspect: rerun with --force")
    commit(joined, dst, force)


def stored_frames(path: Path) -> int:
    """Video frames (packets) in ``path``, by stream copy: no decoding, seconds even for a long film."""
    proc = run_ffmpeg(ffmpeg_cmd("-i", str(path.absolute()), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"))
    counts = _STORED_FRAMES.findall(proc.stderr)
    return int(counts[-1]) if proc.returncode == 0 and counts else -1
