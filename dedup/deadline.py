"""When a call must be done (``Deadline``) and how the engine checks it (``Due``): while it waits for
its locks, between chunks of work, and before it commits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from dedup.errors import DeadlineExceeded
from dedup.rwlock import ReadWriteLock

__all__ = ["Deadline", "Due"]


Deadline = float | Callable[[], float | None] | None
"""When a call must be done: a ``time.monotonic()`` value, or a function giving the seconds left (None:
no limit), such as ``grpc.ServicerContext.time_remaining``; None: no deadline. The engine checks it
while it waits for its locks, between chunks of sentences embedded, between the stored articles a new
one is aligned with, and before it commits: past it, ``DeadlineExceeded``, and nothing of the article
at hand is stored (the articles of a batch before it are)."""


class Due:
    """A ``Deadline`` to check."""

    __slots__ = ("_at", "_left")

    def __init__(self, deadline: Deadline = None) -> None:
        self._at = float(deadline) if isinstance(deadline, int | float) else None
        self._left = deadline if callable(deadline) else None

    def left(self) -> float | None:
        """Seconds left (None: no limit)."""
        if self._at is not None:
            return self._at - time.monotonic()
        return self._left() if self._left is not None else None

    def check(self, doing: str) -> None:
        left = self.left()
        if left is not None and left <= 0:
            raise DeadlineExceeded(f"the deadline passed {doing}; allow more time")

    def wait(self, lock: Any, doing: str) -> None:
        """Acquire ``lock`` (a ``threading.Lock``) before the deadline."""
        left = self.left()
        if not lock.acquire(timeout=-1 if left is None else max(left, 0.0)):
            raise DeadlineExceeded(f"the deadline passed {doing}; allow more time")

    @contextmanager
    def holding(self, lock: ReadWriteLock, write: bool, doing: str) -> Iterator[None]:
        """Hold ``lock`` (alone if ``write``, else for reading), if it can be had before the deadline."""
        self.check(doing)
        with ExitStack() as held:
            try:
                held.enter_context(lock.write(self.left()) if write else lock.read(self.left()))
            except TimeoutError:
                raise DeadlineExceeded(f"the deadline passed {doing}; allow more time") from None
            yield
