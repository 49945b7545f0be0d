"""The incremental detector: articles arrive one at a time (or in batches) and are matched
against everything stored so far.

The engine holds its working state in memory (the LSH and FAISS indexes,
parents, clusters, and the most recently used prepared articles with their
embeddings; texts, embeddings and pairs are read from the store when needed)
and writes each change through a ``Store`` as one atomic ``Change`` before it
answers, so an acknowledged article survives a crash: on start the engine
rebuilds from the store, without re-embedding anything. A prepared article that
is no longer in memory is prepared again from the store when a match needs it.

A write that fails before its change is committed (a full disk, another
writer, a deadline) leaves memory as it was: every in-memory change an ingest
or a delete makes is recorded in an undo log (``dedup.undo``) and put back,
without reading or writing the disk. Sequence numbers come from the store
(``Store.next_seq``), never from a counter that could go back.

Every cluster event is numbered (one more than the event before) and stored in
the commit of the change that caused it; watchers read them back from the store
by number (``events``) and wait for new ones on a condition each commit
notifies (``wait_for_events``), so none is missed between the two.

The state is kept in parts, each behind a narrow protocol with an in-process implementation: the
article indexes that find candidates (``dedup.article_index``), the lineage (``dedup.lineage``), the
story clusters (``dedup.story_clusters``) and the entries of the stored articles (``dedup.article_entries``:
what is known of each without reading the store). ``dedup.engine_state`` holds them, loads them from the
store and keeps them in step with it; ``dedup.preparation`` prepares and embeds new articles;
``dedup.matching`` finds their candidates and aligns them; ``dedup.deriving`` derives the parents of
the articles a write affects; ``dedup.answers`` answers what is known of the stored articles (an
analysis, a probe's matches, a cluster, a lineage); the engine runs an ingest, a delete or a query
across them, under its locks.

Processes sharing a store (``Store.shared``: replicas on one Redis) each keep these parts in memory
and follow one another through the store's history of commits (``Store.history``): before a read, and
before a write under the store's write lock (``Store.writing``), an engine reads again what the
commits made since its own name, so its memory is the store's state; a change computed from an older
state is refused at commit (``Change.expect_generation``) and computed again. Replicas therefore answer
as one engine that made the same changes in the order the store committed them. The article indexes
are the exception: on a Redis store they are kept in Redis, shared (``ArticleIndex.shared``,
``dedup.redis_index``), so a replica adds and removes only the articles it writes, never another's,
and ignores hits on articles it does not hold.

``dedup analyze`` runs the same engine over an in-memory store, so the batch
command and the service give the same answers for the same input.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dedup.answers import Answers
from dedup.article import Article, quote_id
from dedup.article_entries import ArticleEntries, Entry
from dedup.article_index import ArticleIndex
from dedup.attribution import find_citations
from dedup.config import Config
from dedup.deadline import Deadline, Due
from dedup.deriving import Deriving
from dedup.document import PreparedDocument, check_article, prepare
from dedup.embed import Embedder, default_embedder
from dedup.engine_state import EngineState, published_time
from dedup.errors import (
    Aborted,
    DeadlineExceeded,
    DedupError,
    NotFound,
)
from dedup.event_feed import EventFeed
from dedup.lineage import Lineage
from dedup.matching import Ahead, Matching
from dedup.minhash import load_lookup
from dedup.preparation import NullProgress, Preparation, Progress
from dedup.relation import compare
from dedup.resident import Resident
from dedup.results import (
    REUSE_RELATIONS,
    ClusterEvent,
    ClusterView,
    DocumentAnalysis,
    EventRecord,
    IngestOutcome,
    LineageEdge,
    PairResult,
)
from dedup.rwlock import ReadWriteLock
from dedup.store import (
    EVENT_PAGE,
    Change,
    ClusterRecord,
    DocumentRecord,
    MemoryStore,
    Store,
)
from dedup.story_clusters import StoryClusters
from dedup.undo import UndoLog

__all__ = [
    "Deadline",
    "Engine",
    "IngestResult",
    "NullProgress",
    "Progress",
]


SHARED_TRIES = 8
"""Times a write on a shared store is computed again when another process committed first."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    analysis: DocumentAnalysis
    outcome: IngestOutcome
    events: tuple[ClusterEvent, ...]


EXPIRE_BATCH = 1000
"""Articles ``Engine.expire`` removes per commit."""


def _text_hash(article: Article) -> str:
    h = hashlib.sha256()
    for part in (article.text, article.title, article.outlet, article.url):
        h.update((part or "").encode("utf-8"))
        h.update(b"\x00")
    h.update((article.published_at.isoformat() if article.published_at else "").encode())
    return h.hexdigest()


_BLAS_LIMITED = False


def _limit_blas_threads() -> None:
    """Run BLAS (numpy's and FAISS's) and FAISS's OpenMP on one thread. The engine multiplies small
    matrices (sentences by sentences) thousands of times per second; a multi-threaded BLAS spends more
    time waking threads than multiplying, and on a busy two-core machine a 30 x 384 product went from
    0.06 ms to 30 ms."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        import faiss  # loaded first, so that its own BLAS is found and limited too
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        faiss.omp_set_num_threads(1)
        _BLAS_LIMITED = True


class Engine:
    """Stores articles and answers, for each, what it shares with the others and where it came from.

    Thread-safe: every public method runs under one lock. Creating one limits numpy's BLAS to one
    thread in this process (see ``_limit_blas_threads``).
    """

    def __init__(
        self,
        config: Config | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        index_dir: str | Path | None = None,
        rebuild_indexes: bool = False,
    ) -> None:
        _limit_blas_threads()
        self.config = config or Config()
        if embedder is None:
            c = self.config.embed
            embedder = default_embedder(c)
        self.embedder = embedder
        self.store: Store = store if store is not None else MemoryStore()
        self._clock = clock
        self.index_dir = Path(index_dir) if index_dir is not None else None
        """Where the LSH and FAISS indexes are saved between runs (None: rebuilt at every start)."""
        # Lookups read side by side; ingest and delete write alone. FindSimilar also reads, and matches
        # one at a time (its embedding runs side by side): matching is CPU-bound Python, and
        # interleaving it under the GIL makes each query slower than running them one after another.
        self._lock = ReadWriteLock()
        self._query_lock = threading.Lock()
        self._undo: UndoLog | None = None
        """The undo log of the write in progress (``_undoable``), None outside one."""
        self.counters: dict[str, int] = {
            "candidate_pairs": 0,
            "documents_reloaded": 0,
            "sentences_embedded": 0,
            "writes_retried": 0,
        }
        """Work done since start: candidate pairs aligned, prepared articles read back from the store
        because they were no longer resident, sentences sent to the model, and writes computed again
        because another process sharing the store committed first."""
        self.write_wait_seconds = 0.0
        """Time writes spent waiting for the store's write lock (held by other processes sharing it)."""
        self._feed = EventFeed(self.store, self.config.events)
        self._state = EngineState(
            self.config, self.embedder, self.store, self._feed, self.counters, self.index_dir, rebuild_indexes
        )
        self.preparation = Preparation(self.config, self.embedder, self._state, self.store, self.counters)
        """Prepares and embeds new articles (``dedup.preparation``)."""
        self._matching = Matching(self.config, self._state, self.counters)
        """Finds new articles' candidates and aligns them (``dedup.matching``)."""
        self._deriving = Deriving(self.config, self._state, self.store)
        """Derives the parents of the articles a write affects (``dedup.deriving``)."""
        self._answers = Answers(self._state, self.store, self._matching, self._deriving)
        """Answers what is known of the stored articles (``dedup.answers``)."""

    # -- state: the parts, in ``self._state`` ---------------------------------------------------------

    @property
    def _entries(self) -> ArticleEntries:
        return self._state.entries

    @property
    def _lineage(self) -> Lineage:
        return self._state.lineage

    @property
    def _stories(self) -> StoryClusters:
        return self._state.stories

    @property
    def _article_index(self) -> ArticleIndex:
        return self._state.article_index

    @property
    def _resident(self) -> Resident:
        return self._state.resident

    @property
    def _generation(self) -> int:
        return self._state.generation

    @property
    def _next_seq(self) -> int:
        return self._state.next_seq

    @property
    def last_embedding_stats(self) -> dict[str, int]:
        """Sentences in the last batch prepared, and of them those sent to the model."""
        return self.preparation.last_embedding_stats

    @property
    def embedding_seconds(self) -> float:
        """Time spent in the model since the engine started (the service's metrics report it)."""
        return self.preparation.embedding_seconds

    @property
    def store_id(self) -> str:
        """The store's random id, made when it was created: engines that share a store (replicas on one
        Redis) report the same one."""
        return self._state.database_id or ""

    @property
    def indexes_loaded(self) -> bool:
        """Whether the last start read saved indexes (True) or rebuilt them from the store."""
        return self._state.indexes_loaded

    def save_indexes(self) -> None:
        """Save the LSH and FAISS indexes beside the store, bound to the store's database id and
        generation and to the settings, so that the next start can skip rebuilding them. A crash, or
        any write after the save, leaves them stale; they are then rebuilt. A full disk is
        ``ResourceExhausted`` (and nothing is left half-written)."""
        with self._lock.write():  # alone: two saves at once would write the same temporary file
            self._state.save_indexes()

    def warm_up(self) -> None:
        """Compile the engine's inner loops (numba), or load them from numba's on-disk cache, on two small
        articles written here: seconds on a fresh install, a fraction of one afterwards. A server calls
        this before it says it is ready, so that its first request does not pay for it. Stores nothing."""
        counters, seconds = dict(self.counters), self.embedding_seconds
        docs = [prepare(Article(f"\x00warm-up:{n}", text), n, self.config) for n, text in enumerate(_WARM_UP)]
        self._state.sign(docs)
        compare(docs[0], docs[1], self.config)
        load_lookup()
        self.counters.update(counters)  # in place: the state counts in the same dict
        self.preparation.embedding_seconds = seconds

    # -- following other processes that share the store ------------------------------------------------

    def _catch_up(self) -> None:
        """Before a read: take the commits other processes made to a shared store (one cheap read of the
        store's generation when there is none)."""
        if self.store.shared and self.store.generation() != self._generation:
            with self._lock.write():
                self._state.sync()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        self._catch_up()
        with self._lock.read():
            yield

    # -- undo -----------------------------------------------------------------------------------------

    def _on_undo(self, step: Callable[[], None]) -> None:
        """Record the step that undoes a change just made, in the write in progress."""
        if self._undo is not None:
            self._undo.call(step)

    @contextmanager
    def _undoable(self) -> Iterator[None]:
        """A write (under the write lock) whose in-memory changes are undone if anything in it fails,
        its commit included: memory is then again what the store holds, and the disk is not needed to
        get there. The block must end with the commit: nothing after it is undone."""
        log = UndoLog()
        self._undo = log
        self._state.record(log)
        try:
            yield
        except BaseException:
            self._undo = None
            self._state.record(None)
            try:
                log.undo()
            except Exception:  # a bug in undoing: the store still holds the truth
                logger.exception("undoing a failed change failed; rebuilding the engine from the store")
                self._state.load()
            raise
        finally:
            self._undo = None
            self._state.record(None)
            self._state.settled()

    # -- preparing new articles -----------------------------------------------------------------------

    def check(self, article: Article) -> None:
        """``InvalidArgument`` when ``ingest`` would refuse the article for itself (an empty text, a field
        over its limit): a stream can refuse one article before storing those that came before it."""
        check_article(article, self.config.limits)

    # -- matching -------------------------------------------------------------------------------------

    def _refresh_citations(self, outlet: str, change: Change) -> set[str]:
        """A new outlet name: articles already stored that name it get their citations again."""
        self._entries.add_outlet(outlet)
        outlets = self._entries.outlets()
        # Articles not resident find their citations again, with every outlet, when next prepared.
        touched = {d for d in self.store.containing(outlet) if d in self._entries}
        for doc in self._resident:
            if doc.id in touched:
                doc.citations = find_citations(doc.text, outlets)

        def forget() -> None:  # undone: those articles are prepared again from the store
            for d in touched:
                self._resident.discard(d)

        self._on_undo(forget)
        return touched

    # -- public: writing ------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[ClusterEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every cluster event this engine commits from now on; returns the
        unsubscribe function."""
        return self._feed.subscribe(listener)

    def ingest(self, article: Article, deadline: Deadline = None) -> IngestResult:
        """Store an article (``ingest_many`` of one)."""
        return self.ingest_many([article], deadline=deadline)[0]

    def ingest_many(
        self,
        articles: Sequence[Article],
        progress: Progress | None = None,
        deadline: Deadline = None,
        upcoming: Sequence[Article] = (),
    ) -> list[IngestResult]:
        """Store articles in order, as if ingested one by one; each is committed before the next is
        matched. Preparing and embedding are done for the whole batch at once (it is faster).
        ``deadline``: see ``Deadline``.

        ``upcoming``: articles the caller will most likely pass next (a stream's next batch). They are
        not stored, nor checked beyond being prepared; they are prepared and their sentences embedded
        while these are matched, so that the model has work when the next call starts. The next call
        takes that work for the articles it begins with if nothing was written in between (with the
        model; without one there is nothing to gain)."""
        progress = progress or NullProgress()
        due = Due(deadline)
        for article in articles:
            self.check(article)
        with due.holding(self._lock, True, "while waiting for other writes to finish; nothing was stored"):
            # What can need storing: anything new or changed, and anything after a first occurrence.
            digests = [_text_hash(a) for a in articles]
            seen: set[str] = set()
            todo = []
            for i, article in enumerate(articles):
                stored = self._entries.get(article.id)
                if article.id in seen or stored is None or stored.text_hash != digests[i]:
                    todo.append(i)
                seen.add(article.id)
            batch = [articles[i] for i in todo]
            prepared, later = self.preparation.batch(batch, upcoming, self._next_seq, progress, due)
            slot = {i: k for k, i in enumerate(todo)}  # each prepared article taken when its turn comes
            progress.start("matching", len(articles))
            results = []
            for i, article in enumerate(articles):
                stored = self._entries.get(article.id)
                if stored is not None and stored.text_hash == digests[i]:
                    results.append(
                        IngestResult(self._answers.analysis(article.id), IngestOutcome.UNCHANGED, ())
                    )
                    continue
                try:
                    if i in slot:
                        doc = prepared[slot[i]]
                    else:  # stored unchanged when the call began, removed since by another process
                        doc = self.preparation.prepare([article], self._next_seq, NullProgress(), due)[0]
                    self.preparation.embedded(doc, due)
                    results.append(self._store_one(doc, digests[i], due))
                except DeadlineExceeded as exc:
                    self.preparation.stop()
                    raise DeadlineExceeded(
                        f"{exc} (document {quote_id(article.id)} was not stored; the {i} before it in this "
                        "call were)"
                    ) from None
                except BaseException:
                    self.preparation.stop()
                    raise
                progress.advance()
            self.preparation.carry(later)
            return results

    def _store_one(self, doc: PreparedDocument, digest: str, due: Due | None = None) -> IngestResult:
        """Store a prepared article (the local write lock held). On a shared store, on the state other
        processes have committed, computed again if one committed meanwhile: the first try takes no
        lock (it waits for a process holding the store's write lock to free it: ``Store.writing``),
        the others take it, and no other process's commit goes through while they hold it.
        Indexes shared too (``ArticleIndex.shared``) are written by the commit itself
        (``ArticleIndex.take_writes``), so two writes at once, even with the same sequence number,
        leave only the committed one's entries."""
        ahead = self._matching.align_ahead(doc, due) if self.store.shared else None
        for attempt in itertools.count(1):
            with self._store_writing(attempt):
                self._state.sync()
                stored = self._entries.get(doc.id)
                if stored is not None and stored.text_hash == digest:  # another process stored it meanwhile
                    return IngestResult(self._answers.analysis(doc.id), IngestOutcome.UNCHANGED, ())
                if len(doc.sentence_minhashes) != len(doc.sentences):
                    self._state.sign([doc])  # indexed by an attempt that was undone, which dropped them
                try:
                    return self._store_now(doc, digest, due, ahead)
                except Aborted:
                    if not self.store.shared or attempt >= SHARED_TRIES:
                        raise
                    self.counters["writes_retried"] += 1
                    logger.info("another process committed while %s was matched; matching it again", doc.id)
        raise AssertionError("unreachable")

    @contextmanager
    def _store_writing(self, attempt: int) -> Iterator[None]:
        """The store's write lock for a write's ``attempt`` (the first one optimistic: ``Store.writing``),
        the time spent waiting for it counted in ``write_wait_seconds``."""
        asked = time.perf_counter()
        with self.store.writing(optimistic=attempt == 1):
            self.write_wait_seconds += time.perf_counter() - asked
            yield

    def _store_now(
        self,
        doc: PreparedDocument,
        digest: str,
        due: Due | None,
        ahead: Ahead | None = None,
    ) -> IngestResult:
        now = self._clock()
        change = Change()
        events: list[ClusterEvent] = []
        affected: set[str] = set()
        outcome = IngestOutcome.CREATED
        article = doc.article
        with self._undoable():
            if doc.id in self._entries:
                outcome = IngestOutcome.REPLACED
                gone: list[PreparedDocument] = []
                affected |= self._remove(doc.id, change, events, now, gone)
                self._state.unindex(gone)
            doc.order = self._state.allocate_seq()
            if article.outlet and not self._entries.has_outlet(article.outlet):
                affected |= self._refresh_citations(article.outlet, change)
            if (
                ahead is not None
                and ahead.generation == self._generation
                and outcome is IngestOutcome.CREATED
            ):
                candidates, near = set(ahead.candidates), list(ahead.near)  # nothing was committed since
            else:
                candidates, near = self._matching.candidates(doc)
            pairs = self._matching.match(doc, candidates, due, ahead.aligned if ahead is not None else None)
            placed = self._stories.place(
                doc.id,
                self._matching.links(doc.id, pairs),
                doc.vector,
                near,
                published_time(doc),
                self._matching.claims(doc.id, pairs),
                now,
                change,
            )
            events.extend(placed.events)
            cid = placed.cluster
            assert doc.embeddings is not None and doc.vector is not None
            record = DocumentRecord(
                article,
                doc.order,
                digest,
                now,
                cid,
                doc.embeddings,
                doc.vector,
                placed.placement,
            )
            self._entries.put(doc.id, Entry(doc.order, digest, now))
            self._state.index(doc)
            change.put_documents.append(record)
            change.put_pairs.extend(pairs)
            affected.add(doc.id)
            affected |= {p.other(doc.id) for p in pairs if p.relation in REUSE_RELATIONS}
            affected = {d for d in affected if d in self._entries}
            self._deriving.apply(self._deriving.derive_for(affected, change=change), change)
            if due is not None:
                due.check("before the article could be stored")
            self._commit(change, events, now)  # last: everything before it is undone if it fails
        self._resident.trim()
        self._publish(events)
        # Its pairs are all new, so the analysis takes them as they are instead of reading them back.
        return IngestResult(self._answers.analysis(doc.id, pairs), outcome, tuple(events))

    def _remove(
        self,
        doc_id: str,
        change: Change,
        events: list[ClusterEvent],
        now: float,
        gone: list[PreparedDocument],
    ) -> set[str]:
        """Take an article out of memory; return the articles whose parents must be recomputed. Its
        prepared form goes to ``gone``: the caller takes those out of the article indexes, all at once,
        and commits ``change``."""
        doc = self._resident.get(doc_id)
        partners = {p.other(doc_id) for p in self._deriving.pairs_touching({doc_id}, change)}
        gone.append(doc)
        orphans = self._lineage.remove(doc_id)
        removed = self._stories.remove(doc_id, doc.vector, published_time(doc), now, change)
        if removed is not None:
            events.append(removed)
        self._entries.remove(doc_id)  # with its sequence number, sources and group
        change.delete_documents.append(doc_id)
        return (partners | orphans) - {doc_id}

    def delete(self, doc_id: str, deadline: Deadline = None) -> tuple[ClusterEvent, ...]:
        """Remove an article from the store and every index. ``deadline``: see ``Deadline``."""
        due = Due(deadline)
        with due.holding(self._lock, True, "while waiting for other writes to finish; nothing was deleted"):
            self._state.sync()
            if doc_id not in self._entries:
                raise NotFound(f"no document with id {quote_id(doc_id)}")
            return self._remove_committed([doc_id], due)

    def expire(self, before: float, batch: int = EXPIRE_BATCH) -> list[str]:
        """Remove every article ingested before ``before`` (seconds since the epoch), oldest first, from
        the store and every index, as ``delete`` would: their pairs, parents and lineage edges go with
        them, the articles they touched get their parents again, and each removal is a
        DOCUMENT_REMOVED event. ``batch`` articles a commit (each one atomic), so that writes waiting
        for the lock wait for one batch at most; the ids removed, in order. Retention (``dedup serve
        --retain``) calls it."""
        removed: list[str] = []
        while True:
            with self._lock.write():
                self._state.sync()
                ids = self._entries.ingested_before(before, batch)
                if not ids:
                    return removed
                self._remove_committed(ids, None)
            removed.extend(ids)

    def _remove_committed(self, ids: Sequence[str], due: Due | None) -> tuple[ClusterEvent, ...]:
        """Remove the stored articles ``ids`` in one change (the local write lock held): the articles they
        touched get their parents again, and the change is committed, or undone whole if that fails;
        the events, published. On a shared store, as ``_store_one``: those another process removed
        meanwhile are left out."""
        for attempt in itertools.count(1):
            with self._store_writing(attempt):
                self._state.sync()
                there = [d for d in ids if d in self._entries]
                if not there:
                    return ()
                try:
                    return self._remove_now(there, due)
                except Aborted:
                    if not self.store.shared or attempt >= SHARED_TRIES:
                        raise
                    self.counters["writes_retried"] += 1
                    logger.info("another process committed while removing %d articles; again", len(there))
        raise AssertionError("unreachable")

    def _remove_now(self, ids: Sequence[str], due: Due | None) -> tuple[ClusterEvent, ...]:
        change = Change()
        events: list[ClusterEvent] = []
        now = self._clock()
        with self._undoable():
            affected: set[str] = set()
            gone: list[PreparedDocument] = []
            for doc_id in ids:
                affected |= self._remove(doc_id, change, events, now, gone)
            self._state.unindex(gone)
            affected = {d for d in affected if d in self._entries}
            if affected:
                self._deriving.apply(self._deriving.derive_for(affected, change=change), change)
            if due is not None:
                due.check("before the deletion could be stored; nothing was deleted")
            self._commit(change, events, now)  # last: everything before it is undone if it fails
        self._resident.trim()
        self._publish(events)
        return tuple(events)

    def _commit(self, change: Change, events: Sequence[ClusterEvent], now: float) -> None:
        """Store ``change`` with ``events``, numbered on from the last event the store has issued and
        stamped ``now``, and let the store delete the events past retention (``config.events``) in the
        same transaction. The numbers come from the store, as documents' do, so that a second writer's
        events are counted (and the store refuses numbers taken meanwhile: ``Aborted``); the engine's
        counter moves only once the commit has succeeded."""
        first = self.store.event_bounds()[1] + 1 if events else 0
        change.events = [EventRecord(first + n, now, ev) for n, ev in enumerate(events)]
        retain = self.config.events
        change.retain_events = retain.retain
        change.retain_events_since = (
            now - retain.retain_days * 86_400.0 if math.isfinite(retain.retain_days) else None
        )
        if self.store.shared:
            change.expect_generation = self._generation  # what the change was computed from
        change.index_writes = self._article_index.take_writes() + self._stories.take_writes()
        change.index_binding = self._article_index.write_guard()
        self._state.generation = self.store.commit(change)
        if events:
            self._feed.committed(first + len(events) - 1)

    def _publish(self, events: Iterable[ClusterEvent]) -> None:
        self._feed.publish(events)

    # -- public: cluster events -----------------------------------------------------------------------

    def last_event(self) -> int:
        """The number of the last cluster event committed (0 when none was)."""
        return self._feed.last()

    def events(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        """The committed cluster events numbered above ``after`` (``EventFeed.page``). Takes none of the
        engine's locks, so watchers never hold up a write."""
        return self._feed.page(after, limit)

    def wait_for_events(self, after: int, timeout: float | None, stop: Callable[[], bool]) -> bool:
        """Wait until an event numbered above ``after`` is committed, ``stop()`` is true (checked when
        ``wake_watchers`` is called), or ``timeout`` seconds pass; whether there is such an event."""
        return self._feed.wait(after, timeout, stop)

    def wake_watchers(self) -> None:
        """Make every ``wait_for_events`` check its ``stop`` again (a call was cancelled, the server is
        stopping)."""
        self._feed.wake()

    # -- public: reading ------------------------------------------------------------------------------

    def find_similar(self, article: Article, deadline: Deadline = None) -> DocumentAnalysis:
        """What ``article`` would be matched with if it were stored, without storing it. If its id names
        a stored article, that article is left out. ``deadline``: see ``Deadline``."""
        self.check(article)
        due = Due(deadline)
        self._catch_up()
        with due.holding(self._lock, False, "while waiting for a write to finish"):
            # Embedding runs outside the query lock: the model releases the GIL, so a long text being
            # embedded does not hold up the queries behind it. The read lock is the OUTER lock: the
            # query lock is only ever taken while holding it, never the other way round.
            doc, hits = self.preparation.query(article, self._next_seq, due)
            due.wait(self._query_lock, "while waiting for the queries before it")
            try:
                return self._answers.similar(article, doc, due, hits)
            finally:
                self._query_lock.release()

    def analysis(self, doc_id: str) -> DocumentAnalysis:
        with self._reading():
            return self._answers.analysis(doc_id)

    def document(self, doc_id: str) -> tuple[Article, float]:
        """A stored article and when it was ingested."""
        with self._reading():
            return self._answers.document(doc_id)

    def documents(self) -> list[str]:
        """Stored ids in order of arrival."""
        with self._reading():
            return self._entries.ids()

    def pairs(self) -> list[PairResult]:
        """Every pair, with the earlier-stored article as a; SAME_STORY only within a cluster."""
        with self._reading():
            return self._answers.pairs()

    def cluster(self, cluster_id: str) -> ClusterView:
        with self._reading():
            return self._answers.cluster(cluster_id)

    def clusters(self) -> list[ClusterRecord]:
        """All clusters, oldest first."""
        with self._reading():
            return self._stories.records()

    def lineage(self, doc_id: str, max_depth: int = 32) -> tuple[list[LineageEdge], list[LineageEdge]]:
        """Edges to the article's ancestors and from it to its descendants, breadth first."""
        with self._reading():
            return self._answers.lineage(doc_id, max_depth)

    def __len__(self) -> int:
        with self._reading():
            return len(self._entries)

    def close(self) -> None:
        """Save the indexes (if there is an index folder) and close the store. Indexes that cannot be
        saved (a full disk) are logged and left: they are rebuilt from the store at the next start, so
        the engine closes, and the store with it, whatever the disk."""
        with self._lock.write():
            self.preparation.stop()
            try:
                self.save_indexes()
            except (OSError, DedupError) as exc:
                logger.warning("indexes not saved (they are rebuilt at the next start): %s", exc)
            self.store.close()


_WARM_UP = (
    "The harbour board met on Monday. It voted to repair the north wall before the winter storms arrive, "
    'and the work will start next month. "We cannot wait another year," the chair said.',
    "The harbour board met on Monday. It voted to repair the old north wall before winter storms arrive, "
    'and work starts next month. "We cannot wait another year," the chair said after the vote.',
)
