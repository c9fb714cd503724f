"""One upscale job on disk: decode -> processor -> encode chunk by chunk into resumable segments, then join
them and put the result in place (a video2x-style decoder -> processor -> encoder split)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seemup.errors import UserError
from seemup.masks import MaskSource
from seemup.runtime.memory import release_freed_memory
from seemup.video import EncodeSettings, FrameWriter, VideoInfo, frame_name, join_segments, read_frames
from seemup.video.atomic import check_replaceable, commit
from seemup.video.ffmpeg import ffmpeg_cmd, run_ffmpeg

from .prefetch import Prefetcher
from .processors import Processor
from .progress import ProgressSink
from .schedule import Chunk
from .span import FrameSpan
from .state import JobState

_STORED_FRAMES = re.compile(r"frame=\s*(\d+)")


@dataclass
class Output:
    """Where and how the result is written."""

    path: Path
    frame_dir: bool  # a folder of PNGs rather than a video file
    settings: EncodeSettings  # resolved for the target (AVI takes no B-frames, for one)
    segment_suffix: str
    size: tuple[int, int]  # output width, height
    autorotate: bool  # frames turned upright (else the rotation is carried over as metadata)
    force: bool


@dataclass
class UpscaleJob:
    """The plan (in input frames), its on-disk state and the output, with the notes gathered on the way.

    ``out_info``: the output's timeline when it has more frames than the input (``--fps-factor``: each
    chunk then writes ``factor`` frames per input frame); None: the input's."""

    info: VideoInfo
    plan: list[Chunk]
    state: JobState
    out: Output
    progress: ProgressSink
    notes: list[str] = field(default_factory=list)
    out_info: VideoInfo | None = None
    todo: list[Chunk] | None = None  # the chunks this process computes (a torchrun rank's share); None: all left

    def __post_init__(self) -> None:
        self.out_info = self.out_info or self.info
        self.factor = self.out_info.num_frames // self.info.num_frames

    @property
    def written(self) -> FrameSpan:
        """The output frames this job writes, in the output's timeline: all of them, or a preview's part."""
        return FrameSpan(self.plan[0].out_start * self.factor, self.plan[-1].out_end * self.factor,
                         self.out_info.num_frames)

    def run(self, processor: Processor, masker: MaskSource | None,
            on_chunk: Callable[[int], None] | None = None) -> int:
        """Compute the :meth:`pending` chunks; returns the number of frames computed."""
        chunks = self.pending()
        first = chunks[0]
        reader = read_frames(self.info.path, info=self.info, autorotate=self.out.autorotate, start=first.in_start)
        prefetch = Prefetcher(reader, depth=max(4, min(32, first.in_end - first.in_start)), closer=reader.close)
        source = iter(prefetch)
        lr: dict[int, np.ndarray] = {}
        masks: dict[int, np.ndarray] = {}
        next_index = first.in_start
        computed = 0
        finished = self.state.finished
        self.progress.start(self.written.count, completed=sum(self.chunk_frames(c) for c in self.plan
                                                              if c.index in finished))
        try:
            for chunk in chunks:
                end = min(self.info.num_frames, chunk.in_end + getattr(processor, "lookahead", 0))
                next_index = self._read_until(end, source, lr, next_index, keep_from=chunk.in_start)
                for i in [i for i in lr if i < chunk.in_start]:
                    del lr[i]
                    masks.pop(i, None)
                if masker is not None:
                    need = [i for i in range(chunk.in_start, chunk.in_end) if i not in masks]
                    if need:
                        masks.update(zip(need, masker.batch([lr[i] for i in need]), strict=True))
                self._write(chunk, processor.frames(chunk, lr, masks if masker is not None else None,
                                                    self.info.num_frames))
                self.state.mark_done(chunk.index)
                release_freed_memory()
                computed += chunk.size * self.factor
                if on_chunk is not None:
                    on_chunk(chunk.index)
        finally:
            prefetch.close()
            reader.close()
        return computed

    def pending(self) -> list[Chunk]:
        """The chunks this process computes: its share of a torchrun job, else every one not yet finished."""
        if self.todo is not None:
            return self.todo
        finished = self.state.finished
        return [c for c in self.plan if c.index not in finished]

    def chunk_frames(self, chunk: Chunk) -> int:
        """The output frames ``chunk`` writes."""
        return chunk.size * self.factor

    def _read_until(self, end: int, source: Iterator[np.ndarray], lr: dict[int, np.ndarray], index: int,
                    keep_from: int = 0) -> int:
        """Read up to frame ``end``; frames before ``keep_from`` (chunks done before or by other ranks) are
        decoded and dropped."""
        while index < end:
            try:
                frame = next(source)
                if index >= keep_from:
                    lr[index] = frame
            except StopIteration:
                raise UserError(f"{self.info.path}: ended after {index} of {self.info.num_frames} frames") from None
            index += 1
        return index

    def _write(self, chunk: Chunk, frames: Iterator[np.ndarray]) -> None:
        """Encode the chunk's frames as they come (its segment file appears only when all are written)."""
        w, h = self.out.size
        start, stop, info = chunk.out_start * self.factor, chunk.out_end * self.factor, self.out_info
        if self.out.frame_dir:
            writer = FrameWriter(self.state.frames_dir, w, h, info.fps, atomic=False,
                                 start_number=start - self.written.first)
        else:
            writer = FrameWriter(self.state.segment(chunk.index, self.out.segment_suffix), w, h, info.fps,
                                 settings=self.out.settings, force=True, timing=info.timing(start, stop), video=info)
        try:
            with writer:
                written = 0
                for f in frames:
                    writer.write(f)
                    written += 1
                    self.progress.advance(1)
                if written != stop - start:  # a bug, never a short segment kept as if complete
                    raise RuntimeError(f"chunk {chunk.index} produced {written} of its {stop - start} frames")
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a failed write lets go of the network's state for the chunk at once

    def assemble(self) -> None:
        """Put the finished chunks together and check that every planned frame is there before the result is
        renamed onto the output (so a run never ends with a shorter output and exit status 0)."""
        dst, n = self.out.path, self.written.count
        check_replaceable(dst)
        if self.out.frame_dir:
            folder = self.state.frames_dir
            names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
            have = len(names & {frame_name(i) for i in range(n)})
            if have != n or len(names) != have:
                raise UserError(f"partial output in {self.state.dir} has {have} of {n} frames; rerun with --force")
            commit(folder, dst, self.out.force)
            return
        segments = [self.state.segment(c.index, self.out.segment_suffix) for c in self.plan]
        missing = [s.name for s in segments if not s.is_file()]
        if missing:
            raise UserError(f"partial output in {self.state.dir} lacks {', '.join(missing[:3])}; rerun with --force")
        joined = self.state.joined(dst.suffix)
        info, cut = self.written.source_view(self.out_info)
        self.notes += join_segments(segments, joined, info.fps, source=None if info.is_frame_dir else info,
                                    rotation=0 if self.out.autorotate else info.rotation, force=True, cut=cut)
        have = stored_frames(joined)
        if have != n:
            counted = f"has {have} of" if have >= 0 else "cannot be counted against"
            raise UserError(f"the assembled video {counted} the {n} frames planned, so {dst} was not written; "
                            f"the chunks in {self.state.dir} are suspect: rerun with --force")
        commit(joined, dst, self.out.force)

    def after_failure(self, exc: BaseException, say: Callable[[str], None]) -> None:
        """Drop a job that finished no chunk; otherwise keep it and, unless interrupted (the caller is told
        through ``JobInterrupted``), say what was kept."""
        done, total = self.state.done, len(self.plan)
        if done == 0:
            self.state.discard()
        elif not isinstance(exc, KeyboardInterrupt):
            more = "; rerun with --resume to continue" if done < total else ""
            say(f"stopped: {done}/{total} chunks kept in {self.state.dir}{more}")


def stored_frames(path: Path) -> int:
    """Video frames (packets) in ``path``, by stream copy: no decoding, seconds even for a long film."""
    proc = run_ffmpeg(ffmpeg_cmd("-i", str(path.absolute()), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"))
    counts = _STORED_FRAMES.findall(proc.stderr)
    return int(counts[-1]) if proc.returncode == 0 and counts else -1
