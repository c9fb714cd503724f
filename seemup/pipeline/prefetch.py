"""Decode ahead on a thread into a bounded queue, so ffmpeg works while the network does (memory stays flat)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class Prefetcher(Generic[T]):
    """Iterate ``source`` on a daemon thread, at most ``depth`` items ahead; errors re-raise in the consumer."""

    def __init__(self, source: Iterable[T], depth: int = 8, closer: Callable[[], None] | None = None) -> None:
        self._closer = closer
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=(source,), daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, source: Iterable[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            self._error = exc
        self._put(_END)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the thread: it exits at its next queue operation, or when ``closer`` ends a blocking read."""
        self._stop.set()
        if self._closer is not None:
            self._closer()
        deadline = time.monotonic() + 10
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join(timeout=1)
