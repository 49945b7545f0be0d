"""A readers-writer lock: many readers at once, or one writer.

The engine's queries (FindSimilar, lookups) only read its indexes, and much of their time is spent
where Python lets other threads run (the embedding model, numpy, FAISS). Under one plain lock they
would queue behind each other; under this one they run side by side, while ingest and delete still
have the engine to themselves.

- A writer waits for the readers inside to leave; readers arriving while a writer waits queue behind
  it, so a stream of queries cannot starve ingest.
- The lock is re-entrant per thread: a writer may take it again to write or to read (a listener
  called during ingest may query), a reader may read again. A reader may not start writing (two
  readers doing so would wait for each other forever); that raises ``RuntimeError``.
- ``timeout`` (seconds) bounds the wait: ``TimeoutError`` when the lock is not had by then. A writer
  that gives up wakes the readers that queued behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ReadWriteLock"]


class ReadWriteLock:
    """Many readers or one writer, re-entrant per thread, writers first."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None  # the thread holding the write lock
        self._writers_waiting = 0
        self._local = threading.local()  # this thread's read and write depths

    def _depths(self) -> tuple[int, int]:
        return getattr(self._local, "reads", 0), getattr(self._local, "writes", 0)

    def _wait(self, end: float | None) -> None:
        """Wait for a change (holding the condition's lock) until ``end`` (a ``time.monotonic()``
        value; None: for ever); ``TimeoutError`` once it has passed."""
        if end is None:
            self._cond.wait()
            return
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the lock was not free in time")
        self._cond.wait(left)

    @contextmanager
    def read(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for reading (with any other readers)."""
        reads, writes = self._depths()
        if reads or writes:  # already inside: no second admission (a waiting writer would deadlock it)
            self._local.reads = reads + 1
            try:
                yield
            finally:
                self._local.reads = reads
            return
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._writer is not None or self._writers_waiting:
                self._wait(end)
            self._readers += 1
        self._local.reads = 1
        try:
            yield
        finally:
            self._local.reads = 0
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock alone."""
        reads, writes = self._depths()
        if writes:
            self._local.writes = writes + 1
            try:
                yield
            finally:
                self._local.writes = writes
            return
        if reads:
            raise RuntimeError("cannot take the write lock while holding the read lock")
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._wait(end)
            except BaseException:
                self._writers_waiting -= 1
                self._cond.notify_all()  # readers queued behind this writer may go on
                raise
            self._writers_waiting -= 1
            self._writer = threading.get_ident()
        self._local.writes = 1
        try:
            yield
        finally:
            self._local.writes = 0
            with self._cond:
                self._writer = None
                self._cond.notify_all()
