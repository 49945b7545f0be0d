"""New articles prepared in worker processes while the engine matches the ones before them: batch
analysis without a model (``Detector.analyze``, ``dedup analyze --model none``).

Preparing an article (segmenting, words, shingles, citations, signatures: ``prepare_signed``) holds
the GIL, so a thread beside the engine would only take turns with it; a process does not. What an
article's preparation needs is its text, the settings and the outlets named in the batch, nothing of
the engine's state, so workers can prepare a batch in order, a chunk at a time, a few chunks ahead of
the engine, which takes each article as it arrives (``Arriving``) and matches it meanwhile.

The workers are forked, when they are made: a forked worker starts with the modules the parent has
imported, where a spawned one would spend most of a small batch importing them. Forking is safe only
from a process with one thread (a lock another thread holds at that moment stays held in the child),
so there are workers only on Linux, in a process whose only thread is the caller's, with a core to
spare (``PrepareWorkers.available``); otherwise the engine prepares the batch itself. The answers are
the same either way: preparing an article depends on nothing but its inputs.

An article that cannot be prepared (more sentences than ``limits.max_sentences``) raises its
``InvalidArgument`` when the engine reaches it, after the articles before it were stored: so only
batch analysis, whose store is thrown away when it fails, uses the workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import overload

from dedup.article import Article
from dedup.config import Config
from dedup.document import PreparedDocument
from dedup.embed import usable_cpus
from dedup.preparation import prepare_signed

__all__ = ["MIN_ARTICLES", "Arriving", "PrepareWorkers"]

CHUNK = 16
"""Articles a worker prepares at once (a pickled chunk is a few hundred KB)."""
AHEAD = 8
"""Chunks given to the workers and not yet taken by the engine, at most: bounds the memory they hold."""
MIN_ARTICLES = 4 * CHUNK
"""Batches smaller than this are prepared by the engine itself: the workers would barely start."""

_config: Config | None = None
"""A worker's settings (``_start_worker``)."""


def _prepare(articles: list[Article], first_seq: int, outlets: list[str]) -> list[PreparedDocument]:
    assert _config is not None  # set by _start_worker, in the worker, before any chunk
    return prepare_signed(articles, first_seq, _config, outlets)


def _ready() -> None:
    """A chunk of no work: waiting for it makes the pool fork its workers now."""


def _start_worker(config: Config) -> None:
    """In a new worker: its settings; and Ctrl-C left to the parent, which stops the workers (a worker
    interrupted mid-chunk would only print a traceback beside the parent's message)."""
    global _config
    _config = config
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PrepareWorkers:
    """``processes`` forked worker processes preparing articles with ``config``; ``close`` stops them."""

    min_articles = MIN_ARTICLES
    """Batches smaller than this are prepared by the engine itself."""

    def __init__(self, config: Config, processes: int) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(config,),
        )
        # Forked now, while the caller's thread is the only one (``available``), not at the first chunk.
        for _ in range(processes):
            self._pool.submit(_ready).result()

    @staticmethod
    def available() -> bool:
        """Whether workers can be forked safely here (Linux, and no thread but the caller's) and a core
        is left for them beside the engine."""
        return sys.platform == "linux" and threading.active_count() == 1 and usable_cpus() >= 2

    @staticmethod
    def processes() -> int:
        """Workers worth starting: one per core beside the engine's."""
        return max(1, usable_cpus() - 1)

    def prepare(
        self, articles: Sequence[Article], first_seq: int, outlets: Sequence[str]
    ) -> Iterator[PreparedDocument]:
        """The articles prepared (``prepare_signed``), in order, numbered from ``first_seq``, while the
        workers go on with the next chunks. Closing the iterator early cancels what was not started."""
        chunks = [(lo, list(articles[lo : lo + CHUNK])) for lo in range(0, len(articles), CHUNK)]
        pending: deque[Future[list[PreparedDocument]]] = deque()
        todo = iter(chunks)
        try:
            for lo, chunk in todo:
                pending.append(self._pool.submit(_prepare, chunk, first_seq + lo, list(outlets)))
                if len(pending) >= AHEAD:
                    break
            while pending:
                done = pending.popleft().result()
                for lo, chunk in todo:  # one more in flight for each one taken
                    pending.append(self._pool.submit(_prepare, chunk, first_seq + lo, list(outlets)))
                    break
                yield from done
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Arriving(Sequence[PreparedDocument]):
    """The prepared articles of a batch as they arrive from ``PrepareWorkers.prepare``: asking for one
    waits until it and those before it have arrived; ``finish`` is applied to each as it arrives."""

    def __init__(
        self, count: int, arriving: Iterator[PreparedDocument], finish: Callable[[PreparedDocument], None]
    ) -> None:
        self._count = count
        self._arriving = arriving
        self._finish = finish
        self._docs: list[PreparedDocument] = []

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> PreparedDocument: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[PreparedDocument]: ...

    def __getitem__(self, i: int | slice) -> PreparedDocument | Sequence[PreparedDocument]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        while len(self._docs) <= i:
            doc = next(self._arriving)
            self._finish(doc)
            self._docs.append(doc)
        return self._docs[i]

    def close(self) -> None:
        """Stop waiting for the rest (a write that ends early): what was not started is cancelled."""
        close = getattr(self._arriving, "close", None)
        if close is not None:
            close()
