"""The ranks of one upscale job under torchrun, and what each of them does.

Rank 0 locks the output, counts the input's frames, picks the chunk length and opens (or resumes) the
job's state, and tells the others; every rank checks that its own settings are rank 0's, so the chunk plan
and every pixel are what one process would make. The chunks not yet finished are dealt in contiguous
blocks, one per rank, and each rank writes its chunks' segments into the job's partial folder on its own
device. Rank 0 shows one bar for the whole job and, once every rank is done, joins the segments into the
output as a single process would. A rank that dies takes only its unfinished chunks with it (torchrun
then stops the others, which keep theirs); ``--resume``, with any number of ranks, finishes the job.

In a plain run (one process) every function here does exactly what `seemup upscale` always did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from seemup.errors import UserError
from seemup.runtime.ranks import current, everyone, from_main, rank_device, shared_error, stop_alone, wait_for_all

from .job import UpscaleJob
from .options import UpscaleOptions
from .progress import ProgressSink
from .state import JobLock, JobState, open_job

T = TypeVar("T")


def is_main() -> bool:
    """True for the one process that assembles and reports: rank 0, or a plain run."""
    return current().is_main


def for_this_rank(opts: UpscaleOptions) -> UpscaleOptions:
    """``opts`` with this rank's device (``auto``/``cuda`` -> ``cuda:LOCAL_RANK``)."""
    ranks = current()
    return replace(opts, device=rank_device(opts.device, ranks)) if ranks.enabled else opts


@contextmanager
def locked(output: Path) -> Iterator[JobLock]:
    """The output's :class:`JobLock`, held by rank 0 for the whole job on behalf of all ranks (one job's
    ranks share it; a second job on the same output is refused on every one of its ranks)."""
    lock = JobLock(output)

    def take() -> None:
        lock.acquire()

    from_main(take, current())
    try:
        yield lock
    finally:
        lock.release()  # a no-op on the ranks that hold nothing


def decide(fn: Callable[[], T]) -> T:
    """``fn()`` on rank 0, its result on every rank (the input's facts, the chunk length)."""
    return from_main(fn, current())


def open_shared_job(output: Path, fingerprint: dict[str, Any], num_chunks: int, *, resume: bool,
                    force: bool) -> JobState:
    """The job's state, opened by rank 0 after every rank was found to have its settings; the other ranks
    get a view that writes chunks but never state.json and never deletes."""
    ranks = current()
    if ranks.enabled:
        _check_same_settings(fingerprint)
    state = from_main(lambda: open_job(output, fingerprint, num_chunks, resume=resume, force=force), ranks)
    return state if ranks.is_main else replace(state, owner=False)


def _check_same_settings(fingerprint: dict[str, Any]) -> None:
    """A UserError on every rank unless all ranks would make the same output (same input, weights, device
    kind, precision, chunk plan, codec): a rank on another machine could see other files or another CPU."""
    main, *others = everyone(fingerprint, current())
    for rank, other in enumerate(others, start=1):
        diff = [f"{k}: {main.get(k)!r} on rank 0, {other.get(k)!r} on rank {rank}"
                for k in sorted(set(main) | set(other)) if main.get(k) != other.get(k)]
        if diff:
            raise shared_error(UserError(f"the ranks would make different outputs ({'; '.join(diff[:3])}): "
                                         "every rank must see the same input, weights and settings"))


def on_error(exc: Exception) -> None:
    """Under torchrun, end the process on an error of this rank alone (many files: the next file must not
    start while the other ranks still wait for this one); errors every rank raised are the caller's."""
    stop_alone(exc, current())


def deal(job: UpscaleJob) -> None:
    """Give this rank its block of the chunks not yet finished (a plain run keeps them all); rank 0's bar
    then follows the whole job."""
    ranks = current()
    if not ranks.enabled:
        return
    finished = set(from_main(lambda: sorted(job.state.finished), ranks))
    left = [c for c in job.plan if c.index not in finished]
    job.todo = [left[i] for i in ranks.share(len(left))]
    if ranks.is_main:
        frames = {c.index: job.chunk_frames(c) for c in job.plan}
        job.progress = JobProgress(job.progress, job.state, frames, {c.index for c in job.todo})
        job.notes.append(f"{ranks.world_size} ranks: {len(left)} chunks dealt out, {len(job.todo)} computed "
                         "by rank 0")


def finish(job: UpscaleJob, computed: int) -> int:
    """Wait until every rank has written its chunks (rank 0's bar moving with them); the frames computed by
    all ranks."""
    ranks = current()
    if not ranks.enabled:
        return computed
    poll = job.progress.refresh if isinstance(job.progress, JobProgress) else None
    wait_for_all(ranks, poll)
    return sum(everyone(computed, ranks))


class JobProgress:
    """Rank 0's bar for the whole job: its own frames as it writes them, the other ranks' chunks as they
    finish (read from the job's ``done_`` files at most every ``every`` seconds)."""

    def __init__(self, sink: ProgressSink, state: JobState, frames: dict[int, int], own: set[int],
                 every: float = 0.5) -> None:
        self.sink, self.state, self.frames, self.own, self.every = sink, state, frames, own, every
        self.own_written = 0
        self.shown = 0
        self.started = False
        self._last = 0.0

    def checking(self, done: int, total: int) -> None:
        self.sink.checking(done, total)

    def start(self, total: int, completed: int = 0) -> None:
        """The job's total and what is already done come from the plan and the folder, not the caller."""
        if not self.started:
            self.started = True
            self.shown = self._target()
            self.sink.start(sum(self.frames.values()), completed=self.shown)

    def advance(self, frames: int) -> None:
        self.own_written += frames
        self.shown += frames
        self.sink.advance(frames)
        if time.monotonic() - self._last >= self.every:
            self.refresh()

    def refresh(self) -> None:
        """Bring the bar up to every rank's finished chunks."""
        self.start(0)
        self._last = time.monotonic()
        target = self._target()
        if target > self.shown:
            self.sink.advance(target - self.shown)
            self.shown = target

    def _target(self) -> int:
        finished = self.state.finished
        own_finished = sum(self.frames[i] for i in finished & self.own)
        return sum(self.frames[i] for i in finished) + self.own_written - own_finished

    def close(self) -> None:
        self.sink.close()
