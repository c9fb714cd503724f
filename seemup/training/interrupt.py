"""Stopping a run cleanly: Ctrl-C (or SIGTERM) finishes the current step, saves a state, then exits.

A state written in the middle of an optimizer step would not be a consistent point to resume from, so
the first signal only raises a flag that the loop checks between steps; a second Ctrl-C stops at once.
Under DDP the flag is agreed on by all ranks, so they stop after the same iteration.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import torch
import torch.distributed as dist

from .distributed import DistInfo


class StopRequest:
    """Context manager that turns SIGINT / SIGTERM into :attr:`requested` (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def agreed(self, info: DistInfo, device: torch.device) -> bool:
        """True when any rank was asked to stop (one tiny all-reduce per step under DDP)."""
        if not info.enabled:
            return self.requested
        flag = torch.tensor([1.0 if self.requested else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)
