"""Story clusters kept in a Redis store: a replica keeps only the ones it read or wrote last.

``RedisStoryClusters`` is ``StoryClusters`` (``dedup.story_clusters``) over a ``RedisClusterTable``
(``dedup.redis_cluster_table``) and the store's cluster records (``RedisClusterRecords``), each keeping a
bounded number of answers and dropping those another process's commit names (``follow``,
``follow_record``). What the write in progress changes is kept on top until it is over (``settled``): the
records go in the commit's ``Change`` as they always did, the table's writes in its transaction
(``take_writes``, ``Change.index_writes``).

A store written before the table was kept has none: the first process to start on it builds the table
from the stored articles (their clusters, placements, vectors and publication times, in order of
arrival) and the clusters' records, once (``restore``, then ``restored``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dedup.config import ClusterConfig
from dedup.recent import Recent
from dedup.redis_cluster_table import RedisClusterTable
from dedup.redis_store import RedisStore
from dedup.store import ClusterRecord
from dedup.story_clusters import Member, TableStoryClusters
from dedup.undo import UndoLog

__all__ = ["RedisClusterRecords", "RedisStoryClusters"]

_INDEXED = "story_index"
"""The meta field that says the store keeps the clusters' table."""


class RedisClusterRecords:
    """``ClusterRecords`` read from a Redis store, the write in progress's changes on top."""

    def __init__(self, store: RedisStore, cache: int) -> None:
        self._store = store
        self._read: Recent[str, ClusterRecord | None] = Recent(cache)
        self._changed: dict[str, ClusterRecord | None] = {}
        self.undo: UndoLog | None = None

    def get(self, cluster_id: str) -> ClusterRecord | None:
        if cluster_id in self._changed:
            return self._changed[cluster_id]
        if self._read.hit(cluster_id):
            return self._read[cluster_id]
        found = self._store.cluster_records([cluster_id]).get(cluster_id)
        self._read.keep(cluster_id, found)
        return found

    def _set(self, cluster_id: str, record: ClusterRecord | None) -> None:
        if self.undo is not None:
            self.undo.save(self._changed, cluster_id)
        self._changed[cluster_id] = record

    def put(self, record: ClusterRecord) -> None:
        self._set(record.id, record)

    def drop(self, cluster_id: str) -> None:
        self._set(cluster_id, None)

    def all(self) -> list[ClusterRecord]:
        records = self._store.cluster_records()
        for cid, record in self._changed.items():
            if record is None:
                records.pop(cid, None)
            else:
                records[cid] = record
        return list(records.values())

    def settled(self) -> None:
        for cid, record in self._changed.items():
            self._read.keep(cid, record)
        self._changed.clear()

    def forget(self, cluster_id: str) -> None:
        self._read.pop(cluster_id, None)


class RedisStoryClusters(TableStoryClusters):
    """``StoryClusters`` kept in a Redis store."""

    places_here = False

    def __init__(self, config: ClusterConfig, store: RedisStore, cache: int) -> None:
        self._store = store
        self._table = RedisClusterTable(store, cache)
        self._kept_records = RedisClusterRecords(store, cache)
        super().__init__(config, self._table, self._kept_records)
        with store.errors("reading the store"):
            self.restores = not store.client.hexists(store.key("meta"), _INDEXED)
        """Whether the store has no table yet: ``restore`` then builds it, ``restored`` writes it."""

    def restore(self, record: ClusterRecord, members: Iterable[Member]) -> None:
        if self.restores:
            self._clusterer.restore(record.id, record.created_seq, members)

    def restored(self) -> None:
        if not self.restores:
            return
        writes = self._table.take_writes()

        def build(pipe: Any) -> None:
            pipe.multi()
            for script, keys, args in writes:
                pipe.eval(script, len(keys), *keys, *args)

        self._store.index_once(_INDEXED, "story clusters", build)
        self._table.settled()
        self.restores = False

    def follow(
        self,
        doc_id: str,
        cluster: ClusterRecord | None,
        vector: np.ndarray | None,
        time: float | None,
        placement: float,
    ) -> None:
        self._table.forget([doc_id], [cluster.id] if cluster is not None else [])
        if cluster is not None:
            self._kept_records.forget(cluster.id)

    def follow_record(self, cluster_id: str, record: ClusterRecord | None) -> None:
        self._table.forget([], [cluster_id])
        self._kept_records.forget(cluster_id)

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        return self._table.take_writes()

    def settled(self) -> None:
        self._table.settled()
        self._kept_records.settled()
