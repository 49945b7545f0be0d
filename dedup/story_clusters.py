"""Story clusters: which story each stored article belongs to, and the record kept of every story.

``StoryClusters`` is the part of the engine that keeps them, behind a narrow protocol: place a new
article (or take one out) and say what that changed, as cluster events and as the store's side of the
change; restore the clusters at start; and answer which clusters there are, what each holds and where an
article would go. ``MemoryStoryClusters`` keeps them in process: a ``StoryClusterer`` (``dedup.cluster``)
that decides where articles go, over a ``ClusterTable`` in memory (``dedup.cluster_table``: where each
article is, each cluster's members, vector sum, times and rank), and a ``ClusterRecord`` per cluster (its
creation rank and times).

What a placement changes, in the store (``Change``):

- a cluster founded (CREATED): its record, created and updated now;
- clusters merged into another (MERGED): their records deleted; the articles they held, and any
  re-homed into the surviving cluster, named in ``cluster_of``;
- an article re-homed (DOCUMENT_REMOVED from its old cluster, DOCUMENT_ADDED to the new one): its old
  cluster's record deleted when that is now empty, else updated now; its new cluster in ``cluster_of``
  and how it joined in ``placement``;
- the cluster the new article is in: updated now.

The cluster of each stored article is kept here (``cluster_of``), and nowhere else in the engine; the
cluster of a new article is given by the engine to the store with its record.

Undo. While ``undo`` holds an ``UndoLog``, an implementation records every change in it, so that the
engine can put the clusters back as they were when the change it made cannot be committed (``dedup.undo``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dedup.cluster import Claim, StoryClusterer
from dedup.cluster_table import ClusterTable, MemoryClusterTable
from dedup.config import ClusterConfig
from dedup.results import ClusterEvent, ClusterEventKind
from dedup.store import Change, ClusterRecord
from dedup.undo import UndoLog

__all__ = [
    "ClusterRecords",
    "MemoryClusterRecords",
    "MemoryStoryClusters",
    "Placement",
    "StoryClusters",
    "TableStoryClusters",
    "make_story_clusters",
]

Member = tuple[str, np.ndarray | None, float | None, float]
"""A stored article as a cluster is restored with it: its id, vector, publication time (seconds since the
epoch, if known) and placement (how it joined: ``StoryClusterer.placement``)."""


@dataclass(frozen=True)
class Placement:
    """Where ``StoryClusters.place`` put an article, and what else that changed."""

    cluster: str
    """The cluster the article is in."""
    placement: float
    """How it joined: the share of it the link it joined through explains, 1 on content, 0 as a founder."""
    events: tuple[ClusterEvent, ...]
    """The cluster events, in order."""


class StoryClusters(Protocol):
    """The story clusters of the stored articles. Every article placed is stored; a cluster exists while
    it holds an article, and its id never changes (merged away, it is gone)."""

    undo: UndoLog | None
    """While set, every change is recorded in it (``dedup.undo``); the engine sets it for one write."""

    def restore(self, record: ClusterRecord, members: Iterable[Member]) -> None:
        """Put back a stored cluster with its stored members, in order (at start)."""
        ...

    def place(
        self,
        doc_id: str,
        links: Mapping[str, float],
        vector: np.ndarray | None,
        near: Iterable[str],
        time: float | None,
        claims: Mapping[str, Claim],
        now: float,
        change: Change,
    ) -> Placement:
        """Place a new article (``StoryClusterer.add``: its reuse ``links`` with the share of it each
        explains, its ``vector``, the articles ``near`` it, its publication ``time``, and the ``claims``
        on stored articles that may move to its cluster); record in ``change`` what that changes in the
        store, stamping the clusters it touched ``now``."""
        ...

    def remove(
        self, doc_id: str, vector: np.ndarray | None, time: float | None, now: float, change: Change
    ) -> ClusterEvent | None:
        """Take an article out (``vector`` and ``time``: those it was placed with); its cluster is updated
        ``now`` in ``change``, or deleted there when it is left empty. The DOCUMENT_REMOVED event, or None
        when the article was in no cluster."""
        ...

    def follow(
        self,
        doc_id: str,
        cluster: ClusterRecord | None,
        vector: np.ndarray | None,
        time: float | None,
        placement: float,
    ) -> None:
        """Put an article where another process sharing the store has put it: in ``cluster`` (made here
        if it is not), or in none (deleted); out of the cluster it was in here, which is dropped when
        left empty. ``vector`` and ``time``: those it was placed with."""
        ...

    def follow_record(self, cluster_id: str, record: ClusterRecord | None) -> None:
        """Take a cluster's record as another process stored it (None: it was deleted)."""
        ...

    def peek(
        self, links: Mapping[str, float], vector: np.ndarray | None, near: Iterable[str], time: float | None
    ) -> str | None:
        """The cluster an article would join (as ``place``), None if it would found one. Changes nothing."""
        ...

    def get(self, cluster_id: str) -> ClusterRecord | None:
        """A cluster's record, None when there is no such cluster."""
        ...

    def cluster_of(self, doc_id: str) -> str | None:
        """The cluster an article is in, None when it is in none (not stored)."""
        ...

    def members(self, cluster_id: str) -> list[str]:
        """The articles of an existing cluster, in the order they joined it."""
        ...

    def records(self) -> list[ClusterRecord]:
        """Every cluster's record, oldest first (by ``created_seq``)."""
        ...

    places_here: bool
    """Whether ``cluster_of`` answers from placements this process made or followed (so it says which
    articles the process holds), not from a store others change too."""

    restores: bool
    """Whether ``restore`` must be given every stored cluster at start (False when the clusters are kept
    in the store already)."""

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        """What the write in progress changed that the store's commit writes besides the ``Change``'s
        records (``Change.index_writes``; none when the clusters are kept in process)."""
        ...

    def settled(self) -> None:
        """The write in progress is over, committed or undone by its log."""
        ...

    def restored(self) -> None:
        """Every stored cluster was given to ``restore`` (at start)."""
        ...


class ClusterRecords(Protocol):
    """Each cluster's record, by cluster id."""

    undo: UndoLog | None

    def get(self, cluster_id: str) -> ClusterRecord | None: ...

    def put(self, record: ClusterRecord) -> None: ...

    def drop(self, cluster_id: str) -> None: ...

    def all(self) -> list[ClusterRecord]:
        """Every record, in no particular order."""
        ...


class MemoryClusterRecords:
    """``ClusterRecords`` in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, ClusterRecord] = {}
        self.undo: UndoLog | None = None

    def get(self, cluster_id: str) -> ClusterRecord | None:
        return self._records.get(cluster_id)

    def put(self, record: ClusterRecord) -> None:
        if self.undo is not None:
            self.undo.save(self._records, record.id)
        self._records[record.id] = record

    def drop(self, cluster_id: str) -> None:
        if self.undo is not None:
            self.undo.save(self._records, cluster_id)
        self._records.pop(cluster_id, None)

    def all(self) -> list[ClusterRecord]:
        return list(self._records.values())


class TableStoryClusters:
    """``StoryClusters`` from a ``StoryClusterer`` deciding over a ``ClusterTable``, with the clusters'
    records beside it (``ClusterRecords``)."""

    places_here = True
    restores = True

    def __init__(self, config: ClusterConfig, table: ClusterTable, records: ClusterRecords) -> None:
        self._clusterer = StoryClusterer(
            config.threshold,
            config.time_tolerance_days,
            config.time_penalty_per_day,
            config.link_min_cosine,
            config.rehome_margin,
            table,
        )
        self._records = records
        self._undo: UndoLog | None = None

    @property
    def undo(self) -> UndoLog | None:
        return self._undo

    @undo.setter
    def undo(self, log: UndoLog | None) -> None:
        # One log for the records and the clusterer: undone together, newest change first.
        self._undo = self._clusterer.undo = self._records.undo = log

    def restore(self, record: ClusterRecord, members: Iterable[Member]) -> None:
        self._records.put(record)
        self._clusterer.restore(record.id, record.created_seq, members)

    def place(
        self,
        doc_id: str,
        links: Mapping[str, float],
        vector: np.ndarray | None,
        near: Iterable[str],
        time: float | None,
        claims: Mapping[str, Claim],
        now: float,
        change: Change,
    ) -> Placement:
        events, changed = self._clusterer.add_moving(doc_id, links, vector, near, time, claims)
        cid = self._clusterer.cluster_of(doc_id)
        for ev in events:
            if ev.kind is ClusterEventKind.CREATED:
                record = ClusterRecord(ev.cluster, self._clusterer.rank(ev.cluster), now, now)
                self._records.put(record)
                change.put_clusters.append(record)
            elif ev.kind is ClusterEventKind.MERGED:
                for gone in ev.merged:
                    self._records.drop(gone)
                    change.delete_clusters.append(gone)
                # The merged clusters' articles, then those re-homed: all now in the survivor.
                for member in changed:
                    change.cluster_of[member] = ev.cluster
            elif ev.kind is ClusterEventKind.DOCUMENT_REMOVED:  # re-homed: left its cluster ...
                if not self._clusterer.exists(ev.cluster):
                    if self._records.get(ev.cluster) is not None:
                        self._records.drop(ev.cluster)
                        change.delete_clusters.append(ev.cluster)
                elif self._records.get(ev.cluster) is not None:
                    self._touch(ev.cluster, now, change)
            elif ev.document is not None and ev.document != doc_id:  # ... and joined this one
                change.cluster_of[ev.document] = ev.cluster
                change.placement[ev.document] = self._clusterer.placement(ev.document)
        self._touch(cid, now, change)
        return Placement(cid, self._clusterer.placement(doc_id), tuple(events))

    def remove(
        self, doc_id: str, vector: np.ndarray | None, time: float | None, now: float, change: Change
    ) -> ClusterEvent | None:
        cid = self._clusterer.remove(doc_id, vector, time)
        if cid is None:
            return None
        if self._clusterer.exists(cid):
            self._touch(cid, now, change)
        else:  # it was the last: the cluster is gone
            self._records.drop(cid)
            change.delete_clusters.append(cid)
        return ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, cid, doc_id)

    def follow(
        self,
        doc_id: str,
        cluster: ClusterRecord | None,
        vector: np.ndarray | None,
        time: float | None,
        placement: float,
    ) -> None:
        left = self._clusterer.remove(doc_id, vector, time)
        if left is not None and not self._clusterer.exists(left):
            self._records.drop(left)
        if cluster is not None:
            self._clusterer.put(doc_id, cluster.id, cluster.created_seq, vector, time, placement)
            self.follow_record(cluster.id, cluster)

    def follow_record(self, cluster_id: str, record: ClusterRecord | None) -> None:
        if record is None:
            self._records.drop(cluster_id)
        else:
            self._records.put(record)

    def _touch(self, cluster_id: str, now: float, change: Change) -> None:
        """Record that a cluster changed at ``now``."""
        old = self._records.get(cluster_id)
        assert old is not None, cluster_id
        record = ClusterRecord(cluster_id, old.created_seq, old.create_time, now)
        self._records.put(record)
        change.put_clusters.append(record)

    def peek(
        self, links: Mapping[str, float], vector: np.ndarray | None, near: Iterable[str], time: float | None
    ) -> str | None:
        return self._clusterer.peek(links, vector, near, time)

    def get(self, cluster_id: str) -> ClusterRecord | None:
        return self._records.get(cluster_id)

    def cluster_of(self, doc_id: str) -> str | None:
        return self._clusterer.placed_in(doc_id)

    def members(self, cluster_id: str) -> list[str]:
        return self._clusterer.members(cluster_id)

    def records(self) -> list[ClusterRecord]:
        return sorted(self._records.all(), key=lambda c: c.created_seq)

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        return []

    def settled(self) -> None:
        pass

    def restored(self) -> None:
        pass


class MemoryStoryClusters(TableStoryClusters):
    """``StoryClusters`` in process: the table and the records in dicts."""

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config, MemoryClusterTable(), MemoryClusterRecords())


def make_story_clusters(
    config: ClusterConfig, store: object, shared_indexes: bool, cache: int
) -> StoryClusters:
    """The story clusters for the engine over ``store``: kept in a Redis store beside the article indexes
    kept there (``shared_indexes``), each process keeping the ``cache`` clusters and articles it read last
    (``dedup.redis_story_clusters``); in process otherwise."""
    from dedup.redis_store import RedisStore  # (imports redis only when a RedisStore is made)

    if isinstance(store, RedisStore) and shared_indexes:
        from dedup.redis_story_clusters import RedisStoryClusters

        return RedisStoryClusters(config, store, cache)
    return MemoryStoryClusters(config)
