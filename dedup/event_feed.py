"""The cluster events as watchers see them: pages of what the store has committed, the number of the
last one, and a wait for the next.

The store keeps the events (numbered without gaps, the oldest dropped as ``config.events`` says); the
feed adds what one process needs beside it: the number of the last event this process knows of, moved
only after a commit succeeds (a failed commit leaves it as it was), a condition that wakes watchers when
it moves or when they should look at their ``stop`` again, and the listeners called with the events
this process commits. On a store other processes write too (``Store.shared``), their events are seen by
asking the store, every ``poll`` seconds while waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from dedup.config import EventsConfig
from dedup.errors import InvalidArgument, OutOfRange
from dedup.results import ClusterEvent, EventRecord
from dedup.store import EVENT_PAGE, Store

__all__ = ["EVENT_POLL", "EventFeed"]

EVENT_POLL = 0.2
"""Seconds between two looks for other processes' cluster events, for a watcher on a shared store."""


class EventFeed:
    """The events of ``store`` for this process's watchers and listeners. Thread-safe; takes none of the
    engine's locks, so watchers never hold up a write."""

    def __init__(self, store: Store, config: EventsConfig, poll: float = EVENT_POLL) -> None:
        self._store = store
        self._config = config
        self._poll = poll
        self._changed = threading.Condition()
        """Notified when ``_last`` moves, and by ``wake``."""
        self._last = 0
        """The number of the last event this process knows was committed (0: none yet)."""
        self._listeners: list[Callable[[ClusterEvent], None]] = []
        self._listeners_lock = threading.Lock()

    # -- what the engine tells it ----------------------------------------------------------------------

    def committed(self, last: int, wake: bool = True) -> None:
        """Events up to ``last`` are committed (by this process, or read from the store)."""
        with self._changed:
            self._last = last
            if wake:
                self._changed.notify_all()

    def subscribe(self, listener: Callable[[ClusterEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every event this process commits from now on; returns the unsubscribe
        function."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, events: Iterable[ClusterEvent]) -> None:
        """Give the events of a commit to the listeners, in order."""
        with self._listeners_lock:
            listeners = list(self._listeners)
        for ev in events:
            for listener in listeners:
                listener(ev)

    # -- what watchers ask -----------------------------------------------------------------------------

    def last(self) -> int:
        """The number of the last event committed (0 when none was)."""
        if self._store.shared:  # other processes commit events too
            return self._store.event_bounds()[1]
        with self._changed:
            return self._last

    def page(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        """The committed events numbered above ``after``, oldest first, at most ``limit``: empty when
        there is none yet. ``OutOfRange`` when ``after`` is above the last event issued, or when the
        events following it are no longer kept (``config.events``)."""
        if after < 0:
            raise InvalidArgument(
                f"after_sequence must not be negative (got {after}); pass the sequence of the last event "
                "handled, 0 for every event kept, or none for the events from now on"
            )
        page = self._store.events(after, limit)
        # The events kept are a run without gaps: a page that starts right after ``after`` is whole
        # whatever was deleted since. Otherwise the bounds, read after the page, say why.
        if page and page[0].sequence == after + 1:
            return page
        first, last = self._store.event_bounds()
        if after > last:
            raise OutOfRange(
                f"after_sequence {after} is above the last event this server has issued, {last}; pass the "
                "sequence of an event received from this server (its data may have been replaced), or "
                "leave after_sequence unset to watch from now on"
            )
        if after + 1 < first:
            kept = (
                f"the oldest event still kept is {first}" if first <= last
                else f"none is kept now (the last was {last})"
            )  # fmt: skip
            raise OutOfRange(
                f"the events after {after} are no longer kept ({kept}; events.retain "
                f"{self._config.retain}, events.retain_days {self._config.retain_days:g}): read "
                "the clusters again with ListClusters, then watch anew"
            )
        return page  # nothing after ``after`` yet

    def wait(self, after: int, timeout: float | None, stop: Callable[[], bool]) -> bool:
        """Wait until an event numbered above ``after`` is committed, ``stop()`` is true (checked when
        ``wake`` is called), or ``timeout`` seconds pass; whether there is such an event."""
        if self._store.shared:
            return self._wait_polling(after, timeout, stop)
        with self._changed:
            self._changed.wait_for(lambda: self._last > after or stop(), timeout)
            return self._last > after

    def _wait_polling(self, after: int, timeout: float | None, stop: Callable[[], bool]) -> bool:
        """``wait`` on a shared store: other processes' events are seen by asking the store, every
        ``poll`` seconds (this process's own commits and ``wake`` wake it at once)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._store.event_bounds()[1] > after:
                return True
            left = self._poll if end is None else min(self._poll, end - time.monotonic())
            if left <= 0 or stop():
                return False
            with self._changed:
                self._changed.wait(left)

    def wake(self) -> None:
        """Make every ``wait`` check its ``stop`` again (a call was cancelled, the server is stopping)."""
        with self._changed:
            self._changed.notify_all()
