"""`seemup upscale` as a library call: check, load, plan, then run the job chunk by chunk.

Memory is bounded by the chunk (plus context) whatever the video's length; the output appears only when
complete, and an interrupted job continues from its last finished chunk with ``resume``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from seemup.masks import MaskSource, NoMasks
from seemup.models import ModelSpec
from seemup.models.seem import seem_is_zero
from seemup.runtime.device import default_chunk, resolve_device, resolve_precision
from seemup.video import VideoInfo, probe, segment_suffix
from seemup.video.atomic import check_target, is_frame_dir_target
from seemup.video.negotiate import check_output
from seemup.weights.int8_ranges import ranges_path
from seemup.weights.load import LoadedModel

from . import team
from .checks import check_frame_folder, check_memory, preflight
from .estimate import notice_for
from .job import Output, UpscaleJob
from .loaded import ModelCache
from .options import UpscaleOptions, UpscaleResult
from .processors import InterpolatingProcessor, Processor, RecurrentProcessor, SpaceTimeProcessor, WindowProcessor
from .progress import NullProgress, ProgressSink
from .resize import ResizingProcessor, pixel_aspect, plan_output_size
from .schedule import plan_chunks
from .span import resolve_span
from .state import finished_count, partial_dir_for, read_state, saved_chunk

__all__ = ["JobInterrupted", "UpscaleOptions", "UpscaleResult", "kept_after_stop", "upscale_video"]


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
    models: ModelCache | None = None,
) -> UpscaleResult:
    """Upscale ``input`` (video file or frame folder) x4 into ``output`` (video file or PNG folder).

    ``log`` receives notices (estimates, hints); ``on_chunk(k)`` runs after chunk ``k`` is safely on disk
    (tests interrupt there). ``models`` keeps the network loaded for the next call (many files, one load).
    Bad input or options raise :class:`UserError`; an interruption raises :class:`JobInterrupted`, which
    says what was kept.
    """
    progress = progress or NullProgress()
    try:  # the display may already be live while the input is checked, so it is stopped on any way out
        return _upscale(Path(input), Path(output), options or UpscaleOptions(), progress, log, on_chunk,
                        models or ModelCache())
    except JobInterrupted:
        raise
    except KeyboardInterrupt as exc:
        raise JobInterrupted(kept_after_stop(Path(output))) from exc
    except Exception as exc:
        team.on_error(exc)  # under torchrun, an error of this rank alone ends the process
        raise
    finally:
        progress.close()


def kept_after_stop(output: Path) -> str:
    """What an interrupted run of ``output`` left on disk, from the partial folder's state."""
    saved = read_state(output) or {}
    done = finished_count(output)
    if done > 0:
        return (f"{done}/{saved.get('num_chunks', '?')} chunks kept in {partial_dir_for(output)}; "
                "rerun with --resume to continue")
    return f"no chunk was finished, nothing kept; {output} is unchanged"


def _upscale(src: Path, dst: Path, opts: UpscaleOptions, progress: ProgressSink,
             log: Callable[[str], None] | None, on_chunk: Callable[[int], None] | None,
             models: ModelCache) -> UpscaleResult:
    opts = team.for_this_rank(opts)  # under torchrun: this rank's GPU
    opts.validate()
    spec = preflight(src, dst, opts)
    with team.locked(dst) as lock:  # held until the output is in place or the run has stopped; dropped on a crash
        check_target(dst, opts.force)
        result = _run_job(src, dst, spec, opts, progress, log or (lambda _msg: None), on_chunk, models)
    if lock.note:
        result.notes.append(lock.note)
    return result


def _run_job(src: Path, dst: Path, spec: ModelSpec, opts: UpscaleOptions, progress: ProgressSink,
             say: Callable[[str], None], on_chunk: Callable[[int], None] | None,
             models: ModelCache) -> UpscaleResult:
    frame_dir_out = is_frame_dir_target(dst)
    # counting the frames decodes the whole input (once: rank 0 tells the other ranks)
    info = team.decide(lambda: _probe_input(src, dst, opts, frame_dir_out, progress))
    span = resolve_span(opts.span_request(), info)  # a preview's frames, or all of them
    device = resolve_device(opts.device)
    requested = "fp32" if opts.fp32 else opts.precision
    notes = [f"{info.undecodable} of {info.num_frames + info.undecodable} frames could not be decoded and "
             "were skipped (--skip-damaged)"] if info.undecodable else []
    # frames of a video output keep their stored orientation; the rotation is carried over as metadata
    # (unless they are resized: sizes are as displayed)
    autorotate = frame_dir_out or info.rotation == 0 or opts.size_request().given
    width, height = info.display_size if autorotate else (info.width, info.height)
    even = not frame_dir_out and opts.encode_settings().for_target(dst).needs_even_size()
    sizing = plan_output_size(opts.size_request(), (width, height), pixel_aspect(info, autorotate), even)
    if not autorotate:
        notes.append(f"display rotation {info.rotation} degrees kept")
    if device.type == "cpu":  # before the weights load: the slow models are the ones to warn about
        note = notice_for(spec.name, spec.uses_masks, (width, height), span.count, requested,
                          resolve_precision(device, requested))
        if note:
            say(note)
    masker = models.masks(opts.mask_source, device, quiet=opts.quiet, sam_checkpoint=opts.sam_checkpoint,
                          cache_dir=opts.cache_dir) if spec.uses_masks else None
    loaded = models.load(spec.name, opts.weights, device, requested, auto_int8=True,
                         mask_source_id=masker.id if masker else None, tile=opts.tile,
                         tile_overlap=opts.tile_overlap, spacetime=spec.kind == "spacetime")
    notes += loaded.notes
    if spec.uses_masks:  # e.g. no adapter passes the acceptance rule: said before the work, not only after
        for note in loaded.notes:
            say(note)
    mask_id = masker.id if masker else None  # the job's identity: zero SEEM gives the same frames either way
    if masker is not None and seem_is_zero(loaded.model):
        masker = NoMasks()
        notes.append("SEEM is zero, so the output does not depend on the masks: none were computed")
    window = loaded.num_frame
    if window and (width % 4 or height % 4):
        notes.append(f"input edge-padded to {width + (-width) % 4}x{height + (-height) % 4} for {spec.name} "
                     "(cropped back)")
    processor: Processor = (SpaceTimeProcessor(loaded.runner, opts.fps_factor) if spec.kind == "spacetime"
                            else WindowProcessor(loaded.runner, window) if window
                            else RecurrentProcessor(loaded.runner, uses_context=spec.name != "bicubic"))
    chunk, overlap = team.decide(lambda: _chunking(opts, dst, loaded, processor, (width, height)))
    plan = span.restrict(plan_chunks(info.num_frames, chunk, overlap))  # a preview: the whole run's chunks
    at_once = processor.frames_at_once if window else max(2, (plan[0].in_end - plan[0].in_start) * opts.fps_factor)
    check_memory(loaded.runner, spec, window, (width, height), at_once)
    out_info = info
    if spec.kind == "spacetime":
        out_info = info.with_fps_factor(opts.fps_factor)
    elif opts.fps_factor > 1:
        processor, out_info = _interpolating(processor, info, opts.fps_factor, loaded, masker, notes)
    fingerprint = _fingerprint(opts, loaded, mask_id, info, chunk, overlap, frame_dir_out)
    if opts.fps_factor > 1:  # absent otherwise, so jobs stopped before the option existed still resume
        fingerprint["fps_factor"] = opts.fps_factor
    fingerprint.update({**span.stamp(), **sizing.stamp()})  # likewise absent for the whole video at x4
    state = team.open_shared_job(dst, fingerprint, len(plan), resume=opts.resume, force=opts.force)
    if opts.resume and state.done:
        say(f"resuming {dst}: {state.done}/{len(plan)} chunks already done")
    settings = opts.encode_settings().for_target(dst)
    out = Output(dst, frame_dir_out, settings, segment_suffix(settings.resolved_codec()), sizing.size, autorotate,
                 opts.force)
    if sizing.filter:
        processor = ResizingProcessor(processor, sizing)
    if sizing.square_pixels:  # resized to the display aspect: written with a 1:1 pixel aspect ratio
        out_info = replace(out_info, sar=Fraction(1))
    notes += [*sizing.notes, *([] if span.whole else [f"preview: {span.describe(info)}"])]
    job = UpscaleJob(info, plan, state, out, progress, notes, out_info)
    team.deal(job)  # under torchrun: this rank's block of the chunks left
    finished = state.finished  # the first chunk left is where a resumed run starts (ranks finish in any order)
    left = [c for c in plan if c.index not in finished]
    resumed_from = (left[0].out_start * job.factor if left else out_info.num_frames) if finished else 0
    computed, seconds = _execute(job, processor, masker, on_chunk, say)
    if getattr(processor, "cuts", 0):
        job.notes.append(f"{processor.cuts} scene cut(s): frames next to them repeated, not blended")
    return UpscaleResult(
        output=dst, model=spec.name, weights=loaded.weights, device=str(device), precision=loaded.precision,
        in_size=(width, height), out_size=out.size, frames=job.written.count, computed_frames=computed,
        seconds=seconds, chunk=chunk, overlap=overlap, tile=loaded.runner.tile, resumed_from=resumed_from,
        notes=job.notes + loaded.runner.notes,
    )


def _interpolating(processor: Processor, info: VideoInfo, factor: int, loaded: LoadedModel,
                   masker: MaskSource | None, notes: list[str]) -> tuple[InterpolatingProcessor, VideoInfo]:
    """``--fps-factor``: RIFE in front of the x4 processor, and the output's timeline."""
    from .interpolate import Interpolator
    from .scenecut import is_cut

    rife = Interpolator(device=loaded.runner.device, precision=loaded.precision)
    out_info = info.with_fps_factor(factor)
    notes.append(f"{factor}x frames by {rife.weights}: {info.fps} -> {out_info.fps} fps, "
                 f"{info.num_frames} -> {out_info.num_frames} frames")
    return InterpolatingProcessor(processor, rife.frames_after, factor, is_cut,
                                  masker.batch if masker is not None else None), out_info


def _probe_input(src: Path, dst: Path, opts: UpscaleOptions, frame_dir_out: bool,
                 progress: ProgressSink) -> VideoInfo:
    """The input's facts, after the checks that need them and before any frame is computed."""
    info = probe(src, fps=opts.fps, skip_damaged=opts.skip_damaged, on_progress=progress.checking)
    if not frame_dir_out:  # the output must take the codec and the source's streams
        check_output(dst, opts.encode_settings(), info)
    if info.is_frame_dir:
        check_frame_folder(info, progress)
    return info


def _execute(job: UpscaleJob, processor: Processor, masker: MaskSource | None,
             on_chunk: Callable[[int], None] | None, say: Callable[[str], None]) -> tuple[int, float]:
    """Run the remaining chunks and assemble; (frames computed, seconds)."""
    t0 = time.perf_counter()
    computed = 0
    try:
        if job.pending():
            computed = job.run(processor, masker, on_chunk)
        computed = team.finish(job, computed)  # every rank's chunks are on disk
        if team.is_main():
            job.assemble()
    except BaseException as exc:
        job.after_failure(exc, say)
        raise
    try:
        job.progress.close()  # the bar ends before the summary is printed
        seconds = time.perf_counter() - t0
        left = job.state.discard()
    except KeyboardInterrupt as exc:  # too late to lose anything: the output is in place
        raise JobInterrupted(f"{job.out.path} is complete") from exc
    if left:
        job.notes.append(f"{job.state.dir} was left in place: it holds files seemup did not write "
                         f"({', '.join(left[:3])})")
    return computed, seconds


def _chunking(opts: UpscaleOptions, dst: Path, loaded: LoadedModel, processor: Processor,
              size: tuple[int, int]) -> tuple[int, int]:
    """Chunk length and context. The length is --chunk, or on --resume the interrupted run's (stored in its
    state.json: free memory may differ now, and a length chosen from it is no option the user gave), or
    what fits in free memory."""
    chunk = opts.chunk or (saved_chunk(dst) if opts.resume else None)
    if loaded.num_frame or loaded.kind == "spacetime":
        return chunk or 16, processor.context(opts.overlap)
    num_feat = int(loaded.spec.config.get("num_feat", 64))
    chunk = chunk or max(2, default_chunk(loaded.runner.device, size[1], size[0], num_feat,
                                          loaded.precision in ("fp16", "bf16"), streamed=hasattr(loaded.model, "stream")
                                          ) // opts.fps_factor)  # the network sees fps_factor frames per input frame
    return chunk, processor.context(opts.overlap)


def _fingerprint(opts: UpscaleOptions, loaded: LoadedModel, mask_id: str | None, info: VideoInfo, chunk: int,
                 overlap: int, frame_dir_out: bool) -> dict:
    """What a --resume must find unchanged for the chunks already written to stay valid."""
    weights, device, precision = loaded.weights_path, loaded.runner.device, loaded.precision
    wstat = weights.stat() if weights is not None else None
    istat = info.path.stat()
    return {
        "input": str(info.path.resolve()), "input_size": istat.st_size if not info.is_frame_dir else None,
        "input_mtime_ns": istat.st_mtime_ns, "num_frames": info.num_frames, "fps": str(info.fps),
        "model": loaded.name, "weights": str(weights) if weights else None,
        "weights_size": wstat.st_size if wstat else None, "mask_source": mask_id,
        "device": device.type, "precision": precision, "chunk": chunk, "overlap": overlap, "tile": opts.tile or None,
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
