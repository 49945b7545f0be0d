"""Durable state: articles, their embeddings, pairs, parents, sources and clusters.

The engine keeps its working state in memory and writes every change through a
``Store`` as one atomic ``Change``; after a crash, ``load()`` gives back exactly
what was committed. Every backend shares one contract (tests/test_store.py):

- a document's sequence number is never used twice in one database: ``next_seq``
  reads the next free one from the database, and ``commit`` refuses (``Aborted``)
  a document whose number is not above every number the database has held, or
  whose id is stored already (a second writer on the same file): nothing is
  ever overwritten but an article the change itself deletes first;
- the store keeps its own ``generation`` (one more per commit, returned by
  ``commit``) and a random ``database_id`` made when it is created: together
  they say which state of which database saved indexes were built from;
- cluster events are numbered from 1, each one more than the event before:
  ``commit`` stores a change's events in its transaction and refuses
  (``Aborted``) events that do not follow the last one issued; it deletes the
  oldest events beyond the change's retention, always a run from the oldest, so
  the events kept are those after ``event_bounds()``'s first minus one, up to
  its last, with no gap;
- a full disk is ``ResourceExhausted`` (the change is not stored, and nothing
  in the store changes).

- ``sqlite:PATH`` — the embedded default: one SQLite file, WAL journal,
  ``synchronous=FULL``, so a committed change survives ``kill -9``;
- ``memory:`` — nothing on disk, for batch analysis and tests;
- ``redis://HOST:PORT/DB`` — on a Redis server (``dedup.redis_store``).
"""

from __future__ import annotations

import base64
import itertools
import json
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dedup.article import Article, parse_timestamp, quote_id
from dedup.errors import Aborted, ConfigError, ResourceExhausted, Unavailable
from dedup.results import (
    ClusterEvent,
    ClusterEventKind,
    DuplicateGroup,
    EventRecord,
    ExternalSource,
    PairResult,
    Parent,
    Passage,
    PassageKind,
    Relation,
)

__all__ = [
    "HISTORY_KEPT",
    "Change",
    "ClusterRecord",
    "Commit",
    "DocumentEntry",
    "DocumentRecord",
    "MemoryStore",
    "Snapshot",
    "SqliteStore",
    "Store",
    "open_store",
]


@dataclass(frozen=True)
class DocumentRecord:
    """A stored article and what is expensive to recompute: its sentence embeddings."""

    article: Article
    seq: int
    """Order of arrival, from 1; never reused (``Store.next_seq``)."""
    text_hash: str
    ingest_time: float
    cluster_id: str
    embeddings: np.ndarray
    vector: np.ndarray
    placement: float = 1.0
    """How it joined its story cluster (``StoryClusterer``): the share of it the reuse link it joined
    through explains, 1 on content, 0 as the cluster's founder."""


@dataclass(frozen=True)
class DocumentEntry:
    """A stored article without its text and embeddings: what the engine reads of every article at
    start (the rest it reads through ``Store.get`` or ``Store.records`` when it needs it)."""

    id: str
    seq: int
    text_hash: str
    ingest_time: float
    cluster_id: str
    outlet: str | None
    vector: np.ndarray
    published: float | None = None
    """Its publication time in seconds since the epoch, if it has one (a date alone: its midnight UTC)."""
    placement: float = 1.0


@dataclass(frozen=True)
class ClusterRecord:
    id: str
    created_seq: int
    """Clusters are ordered by creation: in a merge the smallest survives."""
    create_time: float
    update_time: float


@dataclass
class Change:
    """Everything one ingest or delete changes, written atomically."""

    put_documents: list[DocumentRecord] = field(default_factory=list)
    delete_documents: list[str] = field(default_factory=list)
    """Deleting a document also deletes its pairs, its parents and its sources."""
    put_pairs: list[PairResult] = field(default_factory=list)
    parents: dict[str, tuple[Parent, ...]] = field(default_factory=dict)
    """Replaces the parents of each child named."""
    external_sources: dict[str, tuple[ExternalSource, ...]] = field(default_factory=dict)
    groups: dict[str, DuplicateGroup | None] = field(default_factory=dict)
    """Replaces the duplicate group of each document named (None: in none)."""
    put_clusters: list[ClusterRecord] = field(default_factory=list)
    delete_clusters: list[str] = field(default_factory=list)
    cluster_of: dict[str, str] = field(default_factory=dict)
    """Moves stored documents to another cluster."""
    placement: dict[str, float] = field(default_factory=dict)
    """Sets the placement of stored documents (those that moved cluster)."""
    meta: dict[str, str] = field(default_factory=dict)
    """Other settings to keep. The store's own keys (``STORE_KEYS``) are the store's to write: values
    given for them here are ignored."""
    events: list[EventRecord] = field(default_factory=list)
    """The cluster events the change causes, numbered on from the last the store has issued
    (``event_bounds``), one more each."""
    retain_events: int | None = None
    """After storing ``events``, keep at most this many events, the newest (None: no limit)."""
    retain_events_since: float | None = None
    """... and delete the oldest events stamped before this time (seconds since the epoch), up to the
    first one that is not (None: no limit). Events are deleted oldest first only, so those kept never
    have a gap, even if the clock once went back."""
    index_writes: list[tuple[str, Sequence[Any], Sequence[Any]]] = field(default_factory=list)
    """Writes of the article indexes kept beside the store (``ArticleIndex.take_writes``), made in the
    commit's transaction: Lua scripts (body, keys, arguments) for a Redis store; no other store takes
    any."""
    index_binding: tuple[str, str] | None = None
    """(key, value): commit only while the hash ``key`` of the article indexes kept beside the store
    holds ``value`` in its ``binding`` field, the settings this process built or checked them with
    (``ArticleIndex.write_guard``); ``FailedPrecondition`` otherwise, with nothing stored: another
    process rebuilt them with other settings, and writing with these would corrupt them. Only a Redis
    store keeps indexes beside it (None: no check)."""
    expect_generation: int | None = None
    """Commit only if the store's generation is still this one, the state the change was computed from;
    ``Aborted`` otherwise, with nothing stored (None: whatever it is). Processes that share a store set
    it, so that a change computed before another process's commit is never stored over it."""


@dataclass(frozen=True)
class Commit:
    """What one commit changed, as the store's history keeps it (``Store.history``): enough for a
    process that shares the store to bring what it keeps in memory up to date by reading those things
    again."""

    generation: int
    documents: tuple[str, ...]
    """The documents whose stored state it changed: stored, deleted, moved to another cluster, or given
    other parents, sources or a duplicate group."""
    clusters: tuple[str, ...]
    """The clusters it stored or deleted."""
    removed: tuple[tuple[int, Article, np.ndarray], ...] = ()
    """The documents it deleted, with the sequence numbers and vectors they had: they are gone from the
    store, and a process needs them to take the documents out of its indexes and clusters."""


HISTORY_KEPT = 10_000
"""Commits a store keeps in its history; a process further behind than that reads the whole state."""


def _no_index_writes(change: Change, location: str) -> None:
    """Only a Redis store keeps article indexes beside it (``Change.index_writes``, ``index_binding``)."""
    if change.index_writes or change.index_binding is not None:
        raise ValueError(f"{location} keeps no article indexes: a change for it has no index writes")


def history_entry(change: Change, removed: Iterable[DocumentRecord]) -> str:
    """The history's JSON for a commit of ``change`` that deletes the records ``removed``."""
    documents = {
        *change.delete_documents,
        *(r.article.id for r in change.put_documents),
        *change.parents,
        *change.external_sources,
        *change.groups,
        *change.cluster_of,
        *change.placement,
    }
    clusters = {*change.delete_clusters, *(c.id for c in change.put_clusters)}
    return json.dumps(
        {
            "documents": sorted(documents),
            "clusters": sorted(clusters),
            "removed": [
                [r.seq, _article_json(r.article), base64.b64encode(_f32(r.vector)).decode()] for r in removed
            ],
        }
    )


def read_history_entry(generation: int, text: str | bytes) -> Commit:
    v = json.loads(text)
    return Commit(
        generation,
        tuple(v["documents"]),
        tuple(v["clusters"]),
        tuple(
            (int(seq), _article(a), np.frombuffer(base64.b64decode(vec), np.float32).copy())
            for seq, a, vec in v["removed"]
        ),
    )


def _f32(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _article_json(a: Article) -> list[Any]:
    published = a.published_at.isoformat() if a.published_at is not None else None
    return [a.id, a.text, a.title, a.outlet, a.url, published]


def _article(v: list[Any]) -> Article:
    doc_id, text, title, outlet, url, published = v
    return Article(doc_id, text, title, outlet, url, parse_timestamp(published) if published else None)


def _check_generation(change: Change, generation: int, location: str) -> None:
    """``Aborted`` unless the store is at the generation the change expects."""
    if change.expect_generation is not None and change.expect_generation != generation:
        raise Aborted(
            f"the change was computed from commit {change.expect_generation} of {location}, which has "
            f"taken {generation - change.expect_generation} more since (another process shares it); "
            "nothing was stored: read the new state and compute the change again"
        )


STORE_KEYS = frozenset(
    {"database_id", "events_pruned", "generation", "last_event", "last_seq", "schema_version"}
)
"""Meta keys the store writes itself: which database this is, the last cluster event deleted by
retention, how many commits it has seen, the last event it has issued, the highest sequence number it
has held, and its schema."""

EVENT_PAGE = 256
"""Events ``Store.events`` returns at most, unless asked for fewer."""


def _event_cut(
    change: Change, pruned: int, last: int, first_young: Callable[[int, float], int | None]
) -> int:
    """The last event to delete after ``change`` (``pruned`` when none more): those beyond the newest
    ``change.retain_events``, then the oldest ones stamped before ``change.retain_events_since``, up to
    the first that is not. ``first_young(after, since)``: the first kept event numbered above ``after``
    stamped at ``since`` or later, None when there is none."""
    cut = pruned if change.retain_events is None else max(pruned, last - change.retain_events)
    if change.retain_events_since is None:
        return cut
    young = first_young(cut, change.retain_events_since)
    return last if young is None else young - 1


def _check_events(events: list[EventRecord], last: int, location: str) -> None:
    """``Aborted`` unless ``events`` number on from ``last``, one more each."""
    for n, record in enumerate(events):
        if record.sequence != last + 1 + n:
            raise Aborted(
                f"cluster event {record.sequence} was not stored: {location} has issued events up to "
                f"{last}, so the next is {last + 1 + n}; another process writes to it. Only one dedup "
                "server may use a data directory"
            )


@dataclass
class Snapshot:
    documents: list[DocumentEntry]
    """In order of arrival."""
    pairs: list[tuple[str, str]]
    """``(a, b)`` of every stored pair; ``Store.pairs`` reads them whole."""
    parents: dict[str, tuple[Parent, ...]]
    external_sources: dict[str, tuple[ExternalSource, ...]]
    clusters: list[ClusterRecord]
    meta: dict[str, str]
    groups: dict[str, DuplicateGroup] = field(default_factory=dict)


class Store(Protocol):
    """Where the engine's state lives between runs."""

    shared: bool
    """Whether other processes may write to it while this one runs (``history`` says what they
    changed; ``writing`` makes them take turns)."""

    def load(
        self, documents: Collection[str] | None = None, clusters: Collection[str] | None = None
    ) -> Snapshot:
        """Everything but the documents' texts and embeddings (at a million articles those would not
        fit in memory at once). Given ``documents`` and ``clusters``, only what concerns them: those
        of the documents still stored with their parents, sources and groups, those of the clusters
        that exist, the meta, and no pairs."""
        ...

    def generation(self) -> int:
        """How many commits the store has taken (``commit`` returns the new number)."""
        ...

    def history(self, after: int) -> list[Commit] | None:
        """What each commit after generation ``after`` changed, oldest first; None when the store no
        longer keeps all of them (it keeps the last ``HISTORY_KEPT``): read the whole state again."""
        ...

    def writing(self, optimistic: bool = False) -> AbstractContextManager[None]:
        """Held around each write of a process that shares the store with others, so that they take
        turns (a write computed from a state that another changed meanwhile is refused anyway:
        ``Change.expect_generation``). Nothing to wait for where one process writes.

        ``optimistic``: go on without taking the lock (taking and freeing it are two writes of their
        own), once no process holds it: a holder is waited for, not queued behind, so writers take the
        lock only to try again, not one after another for good. A commit made while another process
        holds the lock is refused (``Aborted``), as is one that another overtook: the holder's write,
        computed on the state it read once it held the lock, is never overtaken, and the caller of a
        refused write tries again holding the lock."""
        ...

    def records(self) -> Iterator[DocumentRecord]:
        """Every stored document with its text and embeddings, in order of arrival, read a few at a
        time (for rebuilding indexes)."""
        ...

    def pairs(self, doc_id: str | None = None) -> list[PairResult]:
        """Every stored pair, or those of one document, ordered by ``(a, b)``."""
        ...

    def pairs_among(self, ids: Collection[str]) -> list[PairResult]:
        """The stored pairs whose two documents are both in ``ids``, ordered by ``(a, b)``: the pairs
        of a few documents with one another, without reading (or decoding) their pairs with others."""
        ...

    def pairs_touching(self, ids: Collection[str]) -> list[PairResult]:
        """The stored pairs with at least one of their documents in ``ids``, each once, ordered by
        ``(a, b)``: the pairs of many documents in one read (``pairs`` of each, merged)."""
        ...

    def get(self, doc_id: str) -> DocumentRecord | None:
        """One stored document, or None (an engine that keeps only some documents in memory reads the
        others back through this)."""
        ...

    def containing(self, text: str) -> list[str]:
        """Ids of the stored documents whose text contains ``text``, in order of arrival."""
        ...

    def next_seq(self) -> int:
        """The next free sequence number: one above every number the database has held (deleted
        documents' included), read from the database itself, so that another writer's are counted."""
        ...

    def events(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        """The kept events numbered above ``after``, oldest first, at most ``limit`` of them."""
        ...

    def event_bounds(self) -> tuple[int, int]:
        """``(first, last)``: the oldest event kept and the last issued (0 when none was). The events
        kept are ``first`` to ``last``, every one of them; ``first`` is ``last + 1`` when retention has
        deleted them all."""
        ...

    def commit(self, change: Change) -> int:
        """Store ``change`` atomically and return the store's new generation. ``Aborted`` (nothing
        stored) when a new document's sequence number is not above every number held so far or its id
        is stored and not deleted by the change; ``ResourceExhausted`` when the disk is full."""
        ...

    def close(self) -> None: ...

    @property
    def location(self) -> str: ...


# -- memory -----------------------------------------------------------------------------------------


class MemoryStore:
    """Keeps the committed state in dictionaries: nothing survives the process. ``shared``: engines in
    this process share it as processes share a Redis store (``writing`` is then a lock they take turns
    on), to test them without one."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self._writing = threading.Lock()
        self._writer: int | None = None
        """The thread holding ``_writing`` (``writing``); a commit of another thread is refused meanwhile."""
        self._docs: dict[str, DocumentRecord] = {}
        self._pairs: dict[tuple[str, str], PairResult] = {}
        self._pairs_of: dict[str, set[tuple[str, str]]] = {}
        self._parents: dict[str, tuple[Parent, ...]] = {}
        self._external: dict[str, tuple[ExternalSource, ...]] = {}
        self._groups: dict[str, DuplicateGroup] = {}
        self._clusters: dict[str, ClusterRecord] = {}
        self._meta: dict[str, str] = {"database_id": uuid.uuid4().hex}
        self._events: deque[EventRecord] = deque()
        """The kept events, oldest first (deleted from the left)."""
        self._events_lock = threading.Lock()
        """Held while the events change or are read: watchers read them outside the engine's lock."""
        self._history: deque[str] = deque(maxlen=HISTORY_KEPT)
        """The last commits' history entries (``history_entry``), oldest first."""

    @property
    def location(self) -> str:
        return "memory:"

    def load(
        self, documents: Collection[str] | None = None, clusters: Collection[str] | None = None
    ) -> Snapshot:
        if documents is None and clusters is None:
            return Snapshot(
                [_entry(r) for r in self.records()],
                sorted(self._pairs),
                dict(self._parents),
                dict(self._external),
                sorted(self._clusters.values(), key=lambda c: c.created_seq),
                dict(self._meta),
                dict(self._groups),
            )
        ids = set(documents or ())
        cids = set(clusters or ())
        return Snapshot(
            [_entry(r) for r in self.records() if r.article.id in ids],
            [],
            {d: p for d, p in self._parents.items() if d in ids},
            {d: x for d, x in self._external.items() if d in ids},
            sorted((c for c in self._clusters.values() if c.id in cids), key=lambda c: c.created_seq),
            dict(self._meta),
            {d: g for d, g in self._groups.items() if d in ids},
        )

    def generation(self) -> int:
        return int(self._meta.get("generation", "0"))

    def history(self, after: int) -> list[Commit] | None:
        generation = self.generation()
        if after >= generation:
            return []
        if generation - after > len(self._history):
            return None
        kept = list(self._history)[len(self._history) - (generation - after) :]
        return [read_history_entry(after + 1 + n, entry) for n, entry in enumerate(kept)]

    @contextmanager
    def writing(self, optimistic: bool = False) -> Iterator[None]:
        if not self.shared:
            yield
            return
        if optimistic:
            with self._writing:  # wait for a holder to finish; hold nothing while writing
                pass
            yield
            return
        with self._writing:
            self._writer = threading.get_ident()
            try:
                yield
            finally:
                self._writer = None

    def records(self) -> Iterator[DocumentRecord]:
        return iter(sorted(self._docs.values(), key=lambda d: d.seq))

    def pairs(self, doc_id: str | None = None) -> list[PairResult]:
        keys = self._pairs if doc_id is None else self._pairs_of.get(doc_id, ())
        return [self._pairs[k] for k in sorted(keys)]

    def pairs_among(self, ids: Collection[str]) -> list[PairResult]:
        among = set(ids)
        keys = {k for d in among for k in self._pairs_of.get(d, ()) if k[0] in among and k[1] in among}
        return [self._pairs[k] for k in sorted(keys)]

    def pairs_touching(self, ids: Collection[str]) -> list[PairResult]:
        keys = {k for d in set(ids) for k in self._pairs_of.get(d, ())}
        return [self._pairs[k] for k in sorted(keys)]

    def get(self, doc_id: str) -> DocumentRecord | None:
        return self._docs.get(doc_id)

    def containing(self, text: str) -> list[str]:
        found = [r for r in self._docs.values() if text in r.article.text]
        return [r.article.id for r in sorted(found, key=lambda d: d.seq)]

    def _high_water(self) -> int:
        # Every commit sets last_seq to at least each sequence number it stores, and only commits store.
        return int(self._meta.get("last_seq", "0"))

    def next_seq(self) -> int:
        return self._high_water() + 1

    def events(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        with self._events_lock:
            first, _ = self._event_bounds()
            start = max(0, after + 1 - first)  # the deque holds first, first + 1, ... in order
            return list(itertools.islice(self._events, start, start + max(limit, 0)))

    def event_bounds(self) -> tuple[int, int]:
        with self._events_lock:
            return self._event_bounds()

    def _event_bounds(self) -> tuple[int, int]:
        return int(self._meta.get("events_pruned", "0")) + 1, int(self._meta.get("last_event", "0"))

    def _first_young(self, after: int, since: float) -> int | None:
        young = (r.sequence for r in self._events if r.sequence > after and r.time >= since)
        return next(young, None)

    def commit(self, change: Change) -> int:
        _no_index_writes(change, self.location)
        # Checked before anything changes: a refused change leaves the store as it was.
        if self._writer not in (None, threading.get_ident()):
            raise Aborted(_lock_held(self.location))
        high = self._high_water()
        _, last_event = self._event_bounds()
        _check_events(change.events, last_event, self.location)
        _check_generation(change, self.generation(), self.location)
        deleted = set(change.delete_documents)
        seqs = [r.seq for r in change.put_documents]
        for rec in change.put_documents:
            doc_id = rec.article.id
            if rec.seq <= high or seqs.count(rec.seq) > 1:
                raise Aborted(_seq_taken(rec, high, self.location))
            if doc_id in self._docs and doc_id not in deleted:
                raise Aborted(_id_taken(rec, self.location))
        self._history.append(history_entry(change, [self._docs[d] for d in deleted if d in self._docs]))
        for doc_id in change.delete_documents:
            self._docs.pop(doc_id, None)
            self._parents.pop(doc_id, None)
            self._external.pop(doc_id, None)
            self._groups.pop(doc_id, None)
            for a, b in self._pairs_of.pop(doc_id, set()):
                self._pairs.pop((a, b), None)
                self._pairs_of.get(b if a == doc_id else a, set()).discard((a, b))
        for rec in change.put_documents:
            self._docs[rec.article.id] = rec
        for p in change.put_pairs:
            if self._pairs.pop((p.b, p.a), None) is not None:
                for d in (p.a, p.b):
                    self._pairs_of[d].discard((p.b, p.a))
            self._pairs[(p.a, p.b)] = p
            for d in (p.a, p.b):
                self._pairs_of.setdefault(d, set()).add((p.a, p.b))
        self._parents.update(change.parents)
        self._external.update(change.external_sources)
        for doc_id, group in change.groups.items():
            if group is None:
                self._groups.pop(doc_id, None)
            else:
                self._groups[doc_id] = group
        for cid in change.delete_clusters:
            self._clusters.pop(cid, None)
        for c in change.put_clusters:
            self._clusters[c.id] = c
        for doc_id, cid in change.cluster_of.items():
            if doc_id in self._docs:
                self._docs[doc_id] = replace(self._docs[doc_id], cluster_id=cid)
        for doc_id, placement in change.placement.items():
            if doc_id in self._docs:
                self._docs[doc_id] = replace(self._docs[doc_id], placement=placement)
        self._meta.update((k, v) for k, v in change.meta.items() if k not in STORE_KEYS)
        self._meta["last_seq"] = str(max([high, *seqs]))
        with self._events_lock:
            self._events.extend(change.events)
            last_event += len(change.events)
            self._meta["last_event"] = str(last_event)
            pruned = int(self._meta.get("events_pruned", "0"))
            cut = _event_cut(change, pruned, last_event, self._first_young)
            while self._events and self._events[0].sequence <= cut:
                self._events.popleft()
            self._meta["events_pruned"] = str(cut)
        generation = int(self._meta.get("generation", "0")) + 1
        self._meta["generation"] = str(generation)
        return generation

    def close(self) -> None:
        pass


# -- sqlite -----------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    title TEXT, outlet TEXT, url TEXT, published_at TEXT,
    text_hash TEXT NOT NULL,
    ingest_time REAL NOT NULL,
    cluster_id TEXT NOT NULL,
    embeddings BLOB NOT NULL,
    sentences INTEGER NOT NULL,
    vector BLOB NOT NULL,
    placement REAL NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS pairs (
    a TEXT NOT NULL, b TEXT NOT NULL, relation TEXT NOT NULL,
    coverage_a REAL NOT NULL, coverage_b REAL NOT NULL, lexical REAL NOT NULL, semantic REAL NOT NULL,
    passages TEXT NOT NULL,
    PRIMARY KEY (a, b)
);
CREATE INDEX IF NOT EXISTS pairs_by_b ON pairs (b);
CREATE TABLE IF NOT EXISTS parents (
    child TEXT NOT NULL, parent TEXT NOT NULL, rank INTEGER NOT NULL,
    confidence REAL NOT NULL, coverage REAL NOT NULL, evidence TEXT NOT NULL,
    alternatives TEXT NOT NULL DEFAULT '[]', basis TEXT NOT NULL DEFAULT '', rules TEXT NOT NULL DEFAULT '[]',
    cautions TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (child, parent)
);
CREATE TABLE IF NOT EXISTS duplicate_groups (
    doc TEXT PRIMARY KEY, documents TEXT NOT NULL, originals TEXT NOT NULL, confidence REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS external_sources (
    doc TEXT NOT NULL, rank INTEGER NOT NULL, name TEXT NOT NULL, evidence TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    PRIMARY KEY (doc, rank)
);
CREATE TABLE IF NOT EXISTS clusters (
    id TEXT PRIMARY KEY, created_seq INTEGER NOT NULL, create_time REAL NOT NULL, update_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL, cluster TEXT NOT NULL,
    document TEXT, merged TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (generation INTEGER PRIMARY KEY, entry TEXT NOT NULL);
"""
SCHEMA_VERSION = "3"
_MIGRATIONS = {
    # 1 -> 2: parents name the articles they cannot be told from, what orders them and what set rivals
    # aside; duplicate groups are stored.
    "1": (
        "ALTER TABLE parents ADD COLUMN alternatives TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE parents ADD COLUMN basis TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE parents ADD COLUMN rules TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE parents ADD COLUMN cautions TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE documents ADD COLUMN placement REAL NOT NULL DEFAULT 1",
    ),
    # 2 -> 3: cluster events are stored (the events table); their numbering starts at 1. A dedup that
    # reads version 2 would store changes without their events, so it may not open version 3.
    "2": (),
}
"""Statements that bring a database of an older schema version to the next one (the tables added in a
version are created by the schema itself)."""


class SqliteStore:
    """One SQLite file. Every commit is one transaction, flushed to disk before it returns.

    Another process may open the same file (SQLite locks it for each transaction): the sequence numbers
    and the generation are read and written inside each commit's transaction, so two writers never store
    two documents under one number, and neither overwrites the other's documents."""

    shared = False  # one dedup server writes a data directory (it claims it)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._errors():
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=OFF")
            self._create()

    def _create(self) -> None:
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row is not None else None
            while version in _MIGRATIONS:
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)
                version = str(int(version) + 1)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif version != SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path} holds schema version {row[0]}, this dedup reads {SCHEMA_VERSION}; "
                    "use a new --data-dir or the dedup version that wrote it"
                )
            # Made once, when the database is created (or first opened by a dedup that makes them).
            db.execute("INSERT OR IGNORE INTO meta VALUES ('database_id', ?)", (uuid.uuid4().hex,))

    @property
    def location(self) -> str:
        return f"sqlite:{self.path}"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors that have a domain meaning as domain errors: a full disk, a database that
        another process keeps locked."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary result code
            if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
                raise ResourceExhausted(disk_full_message(self.path.parent)) from exc
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise Unavailable(
                    f"the database {self.path} is locked by another process; retry later (only one "
                    "dedup server may use a data directory)"
                ) from exc
            raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends. On any error (in the block or in the
        commit itself, say a full disk) it is rolled back: the database stays as it was, and the
        connection is ready for the next one."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT may have rolled back already
                    self._db.execute("ROLLBACK")
                raise

    def _high_water(self, db: sqlite3.Connection) -> int:
        """The highest sequence number the database has held (0 when none)."""
        row = db.execute(
            "SELECT max(coalesce((SELECT max(seq) FROM documents), 0), "
            "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_seq'), 0))"
        ).fetchone()
        return int(row[0])

    def next_seq(self) -> int:
        with self._errors(), self._lock:
            return self._high_water(self._db) + 1

    @staticmethod
    def _event_bounds(db: sqlite3.Connection) -> tuple[int, int]:
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('events_pruned', 'last_event')"))
        return int(meta.get("events_pruned", "0")) + 1, int(meta.get("last_event", "0"))

    def event_bounds(self) -> tuple[int, int]:
        with self._errors(), self._lock:
            return self._event_bounds(self._db)

    def events(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        with self._errors(), self._lock:
            rows = self._db.execute(
                "SELECT sequence, time, kind, cluster, document, merged FROM events WHERE sequence > ? "
                "ORDER BY sequence LIMIT ?",
                (after, max(limit, 0)),
            ).fetchall()
        return [
            EventRecord(
                sequence,
                at,
                ClusterEvent(ClusterEventKind(kind), cluster, document, tuple(json.loads(merged))),
            )
            for sequence, at, kind, cluster, document, merged in rows
        ]

    def commit(self, change: Change) -> int:
        _no_index_writes(change, self.location)
        with self._errors():
            try:
                return self._commit(change)
            except sqlite3.IntegrityError as exc:  # a sequence number or id stored by another writer
                ids = ", ".join(quote_id(r.article.id) for r in change.put_documents)
                raise Aborted(
                    f"document {ids} was not stored: the database {self.path} already holds its sequence "
                    f"number or id ({exc}); another process writes to it. Only one dedup server may use a "
                    "data directory"
                ) from exc

    def _commit(self, change: Change) -> int:
        with self._transaction() as db:
            # Read inside the write transaction (BEGIN IMMEDIATE: no other writer until it ends).
            high = self._high_water(db)
            for rec in change.put_documents:
                if rec.seq <= high:
                    raise Aborted(_seq_taken(rec, high, self.location))
            first_event, last_event = self._event_bounds(db)
            _check_events(change.events, last_event, self.location)
            generation = self._generation(db) + 1
            _check_generation(change, generation - 1, self.location)
            removed = [
                _document(row)
                for doc_id in change.delete_documents
                for row in db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,))
            ]
            db.execute("INSERT INTO history VALUES (?, ?)", (generation, history_entry(change, removed)))
            db.execute("DELETE FROM history WHERE generation <= ?", (generation - HISTORY_KEPT,))
            for doc_id in change.delete_documents:
                db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
                db.execute("DELETE FROM pairs WHERE a = ? OR b = ?", (doc_id, doc_id))
                db.execute("DELETE FROM parents WHERE child = ?", (doc_id,))
                db.execute("DELETE FROM external_sources WHERE doc = ?", (doc_id,))
                db.execute("DELETE FROM duplicate_groups WHERE doc = ?", (doc_id,))
            for rec in change.put_documents:
                a = rec.article
                emb = np.ascontiguousarray(rec.embeddings, dtype=np.float16)
                # Never OR REPLACE: a sequence number or an id that is taken is an error, not an overwrite
                # (a replaced article's old row was deleted above, by id).
                db.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        rec.seq, a.id, a.text, a.title, a.outlet, a.url,
                        a.published_at.isoformat() if a.published_at else None,
                        rec.text_hash, rec.ingest_time, rec.cluster_id,
                        emb.tobytes(), emb.shape[0], np.asarray(rec.vector, dtype=np.float32).tobytes(),
                        rec.placement,
                    ),
                )  # fmt: skip
            for p in change.put_pairs:
                db.execute("DELETE FROM pairs WHERE a = ? AND b = ?", (p.b, p.a))
                db.execute(
                    "INSERT OR REPLACE INTO pairs VALUES (?,?,?,?,?,?,?,?)",
                    (
                        p.a, p.b, p.relation.value, p.coverage_a, p.coverage_b, p.lexical, p.semantic,
                        json.dumps([[x.a_start, x.a_end, x.b_start, x.b_end, x.kind.value, x.score,
                                     int(x.attributed)] for x in p.passages]),
                    ),
                )  # fmt: skip
            for child, parents in change.parents.items():
                db.execute("DELETE FROM parents WHERE child = ?", (child,))
                db.executemany(
                    "INSERT INTO parents VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [
                        (child, p.id, rank, p.confidence, p.coverage, json.dumps(list(p.evidence)),
                         json.dumps(list(p.alternatives)), p.basis, json.dumps(list(p.rules)),
                         json.dumps(list(p.cautions)))
                        for rank, p in enumerate(parents)
                    ],
                )  # fmt: skip
            for doc_id, group in change.groups.items():
                db.execute("DELETE FROM duplicate_groups WHERE doc = ?", (doc_id,))
                if group is not None:
                    db.execute(
                        "INSERT INTO duplicate_groups VALUES (?,?,?,?)",
                        (doc_id, json.dumps(list(group.documents)), json.dumps(list(group.originals)),
                         group.confidence),
                    )  # fmt: skip
            for doc_id, sources in change.external_sources.items():
                db.execute("DELETE FROM external_sources WHERE doc = ?", (doc_id,))
                db.executemany(
                    "INSERT INTO external_sources VALUES (?,?,?,?,?,?)",
                    [(doc_id, rank, s.name, s.evidence, s.start, s.end) for rank, s in enumerate(sources)],
                )
            for cid in change.delete_clusters:
                db.execute("DELETE FROM clusters WHERE id = ?", (cid,))
            for c in change.put_clusters:
                db.execute(
                    "INSERT OR REPLACE INTO clusters VALUES (?,?,?,?)",
                    (c.id, c.created_seq, c.create_time, c.update_time),
                )
            for doc_id, cid in change.cluster_of.items():
                db.execute("UPDATE documents SET cluster_id = ? WHERE id = ?", (cid, doc_id))
            for doc_id, placement in change.placement.items():
                db.execute("UPDATE documents SET placement = ? WHERE id = ?", (placement, doc_id))
            for key, value in change.meta.items():
                if key not in STORE_KEYS:
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            last = max([high] + [r.seq for r in change.put_documents])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (str(last),))
            self._store_events(db, change, first_event - 1, last_event)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
        return generation

    @staticmethod
    def _generation(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row is not None else 0

    def generation(self) -> int:
        with self._errors(), self._lock:
            return self._generation(self._db)

    def history(self, after: int) -> list[Commit] | None:
        with self._errors(), self._lock:
            generation = self._generation(self._db)
            rows = self._db.execute(
                "SELECT generation, entry FROM history WHERE generation > ? ORDER BY generation", (after,)
            ).fetchall()
        if len(rows) < generation - after:
            return None  # no longer kept (or written by a dedup that kept none)
        return [read_history_entry(g, entry) for g, entry in rows]

    def writing(self, optimistic: bool = False) -> AbstractContextManager[None]:
        return nullcontext()  # one process writes a data directory (the server claims it)

    @staticmethod
    def _store_events(db: sqlite3.Connection, change: Change, pruned: int, last: int) -> None:
        """Insert the change's events (checked to follow ``last``) and delete those past retention, in
        the commit's transaction."""
        db.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?)",
            [
                (r.sequence, r.time, r.event.kind.value, r.event.cluster, r.event.document,
                 json.dumps(list(r.event.merged)))
                for r in change.events
            ],
        )  # fmt: skip
        last += len(change.events)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('last_event', ?)", (str(last),))

        def first_young(after: int, since: float) -> int | None:
            # Walks the events in order from ``after`` and stops at the first young one: it reads the
            # events it deletes, and one more.
            row = db.execute(
                "SELECT sequence FROM events WHERE sequence > ? AND time >= ? ORDER BY sequence LIMIT 1",
                (after, since),
            ).fetchone()
            return None if row is None else int(row[0])

        cut = _event_cut(change, pruned, last, first_young)
        if cut > pruned:
            db.execute("DELETE FROM events WHERE sequence <= ?", (cut,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('events_pruned', ?)", (str(cut),))

    def records(self) -> Iterator[DocumentRecord]:
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT * FROM documents WHERE seq > ? ORDER BY seq LIMIT 256", (last,)
                ).fetchall()
            if not rows:
                return
            yield from map(_document, rows)
            last = rows[-1][0]

    def pairs(self, doc_id: str | None = None) -> list[PairResult]:
        with self._lock:
            if doc_id is None:
                rows = self._db.execute("SELECT * FROM pairs ORDER BY a, b").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM pairs WHERE a = ? UNION ALL SELECT * FROM pairs WHERE b = ? ORDER BY 1, 2",
                    (doc_id, doc_id),
                ).fetchall()
        return [_pair_row(row) for row in rows]

    def pairs_among(self, ids: Collection[str]) -> list[PairResult]:
        listed = json.dumps(sorted(set(ids)))  # one parameter however many ids (json_each)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM pairs WHERE a IN (SELECT value FROM json_each(?1)) "
                "AND b IN (SELECT value FROM json_each(?1)) ORDER BY a, b",
                (listed,),
            ).fetchall()
        return [_pair_row(row) for row in rows]

    def pairs_touching(self, ids: Collection[str]) -> list[PairResult]:
        listed = json.dumps(sorted(set(ids)))
        with self._lock:
            rows = self._db.execute(  # each half by its own index (the key, and pairs_by_b), each pair once
                "SELECT * FROM pairs WHERE a IN (SELECT value FROM json_each(?1)) UNION ALL "
                "SELECT * FROM pairs WHERE b IN (SELECT value FROM json_each(?1)) "
                "AND a NOT IN (SELECT value FROM json_each(?1)) ORDER BY 1, 2",
                (listed,),
            ).fetchall()
        return [_pair_row(row) for row in rows]

    def get(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else _document(row)

    def containing(self, text: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM documents WHERE instr(text, ?) > 0 ORDER BY seq", (text,)
            ).fetchall()
        return [r[0] for r in rows]

    def load(
        self, documents: Collection[str] | None = None, clusters: Collection[str] | None = None
    ) -> Snapshot:
        whole = documents is None and clusters is None
        # Only some: the ids go in as one JSON array (``json_each``), not one placeholder each.
        ids = () if whole else (json.dumps(sorted(documents or ())),)
        cids = () if whole else (json.dumps(sorted(clusters or ())),)

        def where(column: str) -> str:
            return "" if whole else f" WHERE {column} IN (SELECT value FROM json_each(?))"

        with self._lock:
            db = self._db
            rows = db.execute(
                "SELECT id, seq, text_hash, ingest_time, cluster_id, outlet, vector, published_at, placement "
                f"FROM documents{where('id')} ORDER BY seq",
                ids,
            )
            documents_ = [
                DocumentEntry(
                    doc_id, seq, text_hash, time, cid, outlet, np.frombuffer(vec, np.float32),
                    parse_timestamp(published).value.timestamp() if published else None, placement,
                )
                for doc_id, seq, text_hash, time, cid, outlet, vec, published, placement in rows
            ]  # fmt: skip
            pairs = db.execute("SELECT a, b FROM pairs ORDER BY a, b").fetchall() if whole else []
            parents: dict[str, list[Parent]] = {}
            for child, parent, _, conf, cov, evidence, alternatives, basis, rules, cautions in db.execute(
                "SELECT child, parent, rank, confidence, coverage, evidence, alternatives, basis, rules, "
                f"cautions FROM parents{where('child')} ORDER BY child, rank",
                ids,
            ):
                parents.setdefault(child, []).append(
                    Parent(
                        parent, conf, cov, tuple(json.loads(evidence)), tuple(json.loads(alternatives)),
                        basis, tuple(json.loads(rules)), tuple(json.loads(cautions)),
                    )
                )  # fmt: skip
            groups = {
                doc_id: DuplicateGroup(tuple(json.loads(docs)), tuple(json.loads(originals)), conf)
                for doc_id, docs, originals, conf in db.execute(
                    f"SELECT * FROM duplicate_groups{where('doc')}", ids
                )
            }
            external: dict[str, list[ExternalSource]] = {}
            for doc_id, _, name, evidence, start, end in db.execute(
                f"SELECT * FROM external_sources{where('doc')} ORDER BY doc, rank", ids
            ):
                external.setdefault(doc_id, []).append(ExternalSource(name, evidence, start, end))
            clusters_ = [
                ClusterRecord(*row)
                for row in db.execute(f"SELECT * FROM clusters{where('id')} ORDER BY created_seq", cids)
            ]
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        return Snapshot(
            documents_,
            pairs,
            {k: tuple(v) for k, v in parents.items()},
            {k: tuple(v) for k, v in external.items()},
            clusters_,
            meta,
            groups,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def disk_full_message(where: Path) -> str:
    """What a full disk means for a write, and what to do about it."""
    return (
        f"the disk holding {where} is full: nothing was stored. Free space on it (or move the data "
        "directory to a larger disk) and retry"
    )


def _seq_taken(rec: DocumentRecord, high: int, location: str) -> str:
    return (
        f"document {quote_id(rec.article.id)} was not stored: it was given sequence number {rec.seq}, but "
        f"{location} has held numbers up to {high}: another process writes to it. Only one dedup server "
        "may use a data directory"
    )


def _lock_held(location: str) -> str:
    return (
        f"another process holds the write lock of {location} (it is writing a change computed on the "
        "state it read under the lock); nothing was stored: read the new state and compute the change "
        "again"
    )


def _id_taken(rec: DocumentRecord, location: str) -> str:
    return (
        f"document {quote_id(rec.article.id)} was not stored: {location} holds a document with that id "
        "that this change does not replace (another writer stored it)"
    )


def _entry(r: DocumentRecord) -> DocumentEntry:
    a = r.article
    published = a.published_at.value.timestamp() if a.published_at is not None else None
    return DocumentEntry(
        a.id, r.seq, r.text_hash, r.ingest_time, r.cluster_id, a.outlet, r.vector, published, r.placement
    )


def _document(row: tuple[Any, ...]) -> DocumentRecord:
    (seq, doc_id, text, title, outlet, url, published, text_hash, ingest_time, cid,
     emb, n_sent, vector, placement) = row  # fmt: skip
    article = Article(doc_id, text, title, outlet, url, parse_timestamp(published) if published else None)
    dim = len(vector) // 4  # float32
    embeddings = np.frombuffer(emb, dtype=np.float16).reshape(n_sent, dim).copy()
    vec = np.frombuffer(vector, dtype=np.float32).copy()
    return DocumentRecord(article, seq, text_hash, ingest_time, cid, embeddings, vec, placement)


def _pair_row(row: tuple[Any, ...]) -> PairResult:
    a, b, rel, ca, cb, lex, sem, passages = row
    return PairResult(a, b, Relation(rel), ca, cb, lex, sem, _passages(passages))


def _passages(encoded: str) -> tuple[Passage, ...]:
    return passages_of(json.loads(encoded))


_PASSAGE_KINDS = {kind.value: kind for kind in PassageKind}  # a dict lookup: PassageKind(v) is far slower


def passages_of(rows: Sequence[Sequence[Any]]) -> tuple[Passage, ...]:
    """Passages from their stored form (a pair's ``passages``, decoded from JSON): the SQLite and Redis
    stores both keep them so."""
    kinds = _PASSAGE_KINDS
    return tuple(
        Passage(p[0], p[1], p[2], p[3], kinds[p[4]], p[5], bool(p[6]) if len(p) > 6 else False) for p in rows
    )


def open_store(spec: str) -> Store:
    """A store from a URL-like spec: ``memory:``, ``sqlite:PATH``, or ``redis://HOST:PORT/DB``
    (``rediss://`` for TLS; ``?prefix=NAME`` keeps several stores apart on one Redis)."""
    if spec.startswith(("redis://", "rediss://")):
        from dedup.redis_store import RedisStore

        return RedisStore(spec)
    if spec in ("memory", "memory:"):
        return MemoryStore()
    if spec.startswith("sqlite:"):
        path = spec[len("sqlite:") :]
        if not path:
            raise ConfigError("sqlite store needs a path: sqlite:/var/lib/dedup/dedup.sqlite3")
        return SqliteStore(path)
    raise ConfigError(f"unknown store {spec!r}; use 'memory:', 'sqlite:PATH' or 'redis://HOST:PORT/DB'")
