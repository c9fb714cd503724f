"""Several processes on one job under torchrun: who this process is, which device it computes on, and the
few small messages the ranks exchange (a value decided by rank 0, everyone's values, a final barrier).

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; a command started without them (or with a world
of one) is a single process, as always, and nothing here changes what it does. Only a command that calls
:func:`join` takes part in a process group, so a library caller with a process group of its own is not
pulled into one by accident.

The ranks exchange Python objects of a few bytes, never tensors, so the group is gloo (on the CPU) whatever
device computes: each rank computes on ``cuda:LOCAL_RANK`` or on the CPU, and no frame crosses ranks.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from seemup.errors import UserError

T = TypeVar("T")

# Rank 0 counts a long input's frames while the others wait, and a rank that finishes its share waits for
# the slowest: hours for a film. A rank that dies is noticed by torchrun, which stops all of them.
TIMEOUT = timedelta(hours=24)


@dataclass(frozen=True)
class Ranks:
    """This process's place among the ranks of one job (one rank of one when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> range:
        """This rank's items of ``n``: a contiguous block, so that a rank decodes one stretch of the video."""
        return range(n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size)

    def __str__(self) -> str:
        return f"rank {self.rank} of {self.world_size}"


SOLO = Ranks()
_current = SOLO


class RankStopped(SystemExit):
    """An error on this rank alone under torchrun: the process ends with its ``error:`` line (torchrun then
    stops the other ranks), since a caller going on to other work would no longer meet the other ranks at the
    same steps. Errors raised on every rank at once (see :func:`from_main`) are not turned into this."""


def shared_error(exc: UserError) -> UserError:
    """Mark ``exc`` as raised on every rank at once (the ranks stay in step when a caller goes on)."""
    exc.on_every_rank = True  # type: ignore[attr-defined]
    return exc


def stop_alone(exc: Exception, ranks: Ranks) -> None:
    """Raise :class:`RankStopped` for ``exc`` when it was raised on this rank alone under torchrun
    (``SEEMUP_DEBUG=1`` prints its traceback first)."""
    if ranks.enabled and not getattr(exc, "on_every_rank", False):
        if os.environ.get("SEEMUP_DEBUG"):
            traceback.print_exception(exc)
        what = str(exc) if isinstance(exc, UserError) else f"{exc.__class__.__name__}: {exc}"
        raise RankStopped(f"error: {ranks}: {what}") from exc


def launched() -> Ranks:
    """The ranks torchrun describes in the environment (:data:`SOLO` without it)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return SOLO
        ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    except (KeyError, ValueError):
        raise UserError("WORLD_SIZE is set but RANK is missing or not a number: start the ranks with torchrun") \
            from None
    if not 0 <= ranks.rank < world:
        raise UserError(f"RANK {ranks.rank} is outside 0..{world - 1} (WORLD_SIZE {world})")
    return ranks


def current() -> Ranks:
    """The ranks this process joined with :func:`join` (:data:`SOLO` when it joined none)."""
    return _current


def join() -> Ranks:
    """Join the job's process group when launched by torchrun; a plain run stays a single process."""
    global _current
    ranks = launched()
    if ranks.enabled and not dist.is_initialized():
        dist.init_process_group("gloo", timeout=TIMEOUT)
    _current = ranks
    return ranks


def leave() -> None:
    """Leave the process group that :func:`join` joined (a no-op for a single process)."""
    global _current
    if _current.enabled and dist.is_initialized():
        dist.destroy_process_group()
    _current = SOLO


def rank_device(name: str | None, ranks: Ranks) -> str:
    """The device this rank computes on: ``auto`` and ``cuda`` become ``cuda:LOCAL_RANK`` (``auto``: the CPU
    where there is no CUDA); ``cpu`` and an explicit ``cuda:N`` stay as given."""
    name = (name or "auto").strip().lower()
    if not ranks.enabled or name not in ("auto", "cuda"):
        return name
    if name == "auto" and not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{ranks.local_rank}"


def from_main(fn: Callable[[], T], ranks: Ranks) -> T:
    """``fn()`` run on rank 0 only, its result on every rank; its :class:`UserError` is raised on every rank,
    so none of them waits for a message that will never come."""
    if not ranks.enabled:
        return fn()
    message: list[Any] = [None]
    if ranks.is_main:
        try:
            message[0] = ("ok", fn())
        except UserError as exc:
            message[0] = ("error", str(exc), exc.exit_code)
    dist.broadcast_object_list(message, src=0)
    outcome = message[0]
    if outcome[0] == "error":
        raise shared_error(UserError(outcome[1], exit_code=outcome[2]))
    return outcome[1]


def everyone(value: T, ranks: Ranks) -> list[T]:
    """Every rank's ``value``, in rank order, on every rank."""
    if not ranks.enabled:
        return [value]
    values: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values


def check_same(value: Any, what: str, ranks: Ranks, differences: Callable[[Any, Any], Sequence[str]]) -> None:
    """A UserError on every rank unless every rank has rank 0's ``value`` (settings that decide the output)."""
    values = everyone(value, ranks)
    for rank, other in enumerate(values[1:], start=1):
        if other != values[0]:
            diff = "; ".join(differences(values[0], other)[:3])
            raise UserError(f"rank {rank} has other {what} than rank 0 ({diff}): the ranks must run the same "
                            "command on the same files")


def wait_for_all(ranks: Ranks, poll: Callable[[], None] | None = None, every: float = 0.5) -> None:
    """Return when every rank has arrived here; meanwhile ``poll()`` runs every ``every`` seconds (rank 0
    keeps its progress bar moving with the other ranks' work)."""
    if not ranks.enabled:
        return
    work = dist.barrier(async_op=True)
    while not work.is_completed():
        if poll is not None:
            poll()
        time.sleep(every)
    work.wait()
    if poll is not None:
        poll()
