"""Story clusters that keep their ids while articles stream in.

Articles join clusters one at a time, in the order they arrive. This is
online average linkage: an article joins the cluster whose members are, on
average, closest to it (cosine of document vectors) when that average reaches
``threshold``; an article that copies from another (a reuse link) always joins
that article's cluster. An article that joins several clusters merges them,
and so do two clusters whose members come, on average, within ``threshold`` of
each other. An article close to no cluster founds a new one, whose id is
derived from the founding article's id; in a merge the oldest cluster's id
survives. So an id, once given, names the same story for as long as it exists.

Each cluster keeps the sum of its members' vectors, so the average similarity
of an article to a cluster is one dot product: ``v . sum / n``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import xxhash

__all__ = ["ClusterEvent", "ClusterEventKind", "StoryClusterer", "cluster_id_for"]


class ClusterEventKind(StrEnum):
    CREATED = "CREATED"
    DOCUMENT_ADDED = "DOCUMENT_ADDED"
    MERGED = "MERGED"
    DOCUMENT_REMOVED = "DOCUMENT_REMOVED"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    kind: ClusterEventKind
    cluster: str
    """The cluster created, added to, or surviving a merge."""
    document: str | None = None
    merged: tuple[str, ...] = ()
    """For MERGED: the ids that were folded into ``cluster`` and no longer exist."""


def cluster_id_for(founding_document: str) -> str:
    """The id of the cluster an article founds: short, stable, safe in URLs."""
    return "c" + xxhash.xxh3_64_hexdigest(founding_document.encode("utf-8"))[:12]


class StoryClusterer:
    """Online average-linkage clustering with stable ids."""

    def __init__(self, threshold: float = 0.65) -> None:
        self.threshold = threshold
        self._cluster_of: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self._sum: dict[str, np.ndarray | None] = {}
        self._created: dict[str, int] = {}
        self._clock = 0

    def _average(self, vector: np.ndarray, cluster: str) -> float:
        total = self._sum[cluster]
        if total is None:
            return 0.0
        return float(vector @ total) / len(self._members[cluster])

    def _between(self, a: str, b: str) -> float:
        sa, sb = self._sum[a], self._sum[b]
        if sa is None or sb is None:
            return float("-inf")  # no vectors: only links can join them
        return float(sa @ sb) / (len(self._members[a]) * len(self._members[b]))

    def add(
        self,
        document: str,
        links: Iterable[str] = (),
        vector: np.ndarray | None = None,
        near: Iterable[str] | None = None,
    ) -> list[ClusterEvent]:
        """Place ``document``; return what changed.

        ``links``: placed documents it reuses text with (it joins their clusters). ``vector``: its
        L2-normalised document vector, if any; without one it joins only through links.
        ``near``: placed documents close to it (say,
        its nearest neighbours in a vector index); only their clusters are compared with it. When
        ``near`` is None every cluster is compared.
        """
        if document in self._cluster_of:
            raise ValueError(f"document {document!r} is already clustered; remove it first")
        targets, candidates = self._targets(links, vector, near)
        events: list[ClusterEvent] = []
        if not targets:
            cid = cluster_id_for(document)
            while cid in self._members:  # a founding id used before: keep ids unique
                cid = cluster_id_for(cid)
            self._members[cid] = []
            self._sum[cid] = None
            self._created[cid] = self._clock
            self._clock += 1
            events.append(ClusterEvent(ClusterEventKind.CREATED, cid, document))
            self._place(document, vector, cid)
            return events
        ordered = sorted(targets, key=self._created.__getitem__)
        cid = ordered[0]
        self._place(document, vector, cid)
        absorbed = ordered[1:]
        # Average linkage: the grown cluster may now be close enough to a neighbouring one.
        for other in sorted(candidates - targets, key=self._created.__getitem__):
            if other in self._members and self._between(cid, other) >= self.threshold:
                absorbed.append(other)
        if absorbed:
            survivor = min([cid, *absorbed], key=self._created.__getitem__)
            gone = tuple(c for c in [cid, *absorbed] if c != survivor)
            for other in gone:
                self._fold(other, survivor)
            events.append(ClusterEvent(ClusterEventKind.MERGED, survivor, document, gone))
            cid = survivor
        events.append(ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, cid, document))
        return events

    def _targets(
        self, links: Iterable[str], vector: np.ndarray | None, near: Iterable[str] | None
    ) -> tuple[set[str], set[str]]:
        """The clusters a new document joins, and the clusters it was compared with."""
        forced = {self._cluster_of[d] for d in links if d in self._cluster_of}
        candidates = (
            set(self._members)
            if near is None
            else {self._cluster_of[d] for d in near if d in self._cluster_of}
        ) | forced
        targets = set(forced)
        if vector is not None and candidates:
            scored = sorted(((self._average(vector, c), c) for c in candidates), key=lambda x: (-x[0], x[1]))
            if scored[0][0] >= self.threshold:
                targets.add(scored[0][1])
        return targets, candidates

    def peek(
        self, links: Iterable[str] = (), vector: np.ndarray | None = None, near: Iterable[str] | None = None
    ) -> str | None:
        """The cluster a document would join (the surviving one if it would merge some), or None if it
        would found a new one. Changes nothing."""
        targets, _ = self._targets(links, vector, near)
        return min(targets, key=self._created.__getitem__) if targets else None

    def restore(self, cluster: str, rank: int, members: Iterable[tuple[str, np.ndarray | None]]) -> None:
        """Put back a cluster as it was saved: its id, its creation rank, its members in order."""
        self._members[cluster] = []
        self._sum[cluster] = None
        self._created[cluster] = rank
        self._clock = max(self._clock, rank + 1)
        for document, vector in members:
            self._place(document, vector, cluster)

    def rank(self, cluster: str) -> int:
        """The creation rank of a cluster: older clusters have smaller ranks."""
        return self._created[cluster]

    def _place(self, document: str, vector: np.ndarray | None, cid: str) -> None:
        self._cluster_of[document] = cid
        self._members[cid].append(document)
        if vector is not None:
            total = self._sum[cid]
            self._sum[cid] = vector.astype(np.float64) if total is None else total + vector

    def _fold(self, source: str, target: str) -> None:
        for d in self._members.pop(source):
            self._cluster_of[d] = target
            self._members[target].append(d)
        extra = self._sum.pop(source)
        if extra is not None:
            total = self._sum[target]
            self._sum[target] = extra if total is None else total + extra
        del self._created[source]

    def remove(self, document: str, vector: np.ndarray | None = None) -> str | None:
        """Take a document out; its cluster keeps its id (and disappears when empty). ``vector``: the
        one it was placed with, if any (vectors are not kept here: 1.5 KB an article)."""
        cid = self._cluster_of.pop(document, None)
        if cid is None:
            return None
        self._members[cid].remove(document)
        if not self._members[cid]:
            del self._members[cid], self._sum[cid], self._created[cid]
        elif vector is not None and self._sum[cid] is not None:
            self._sum[cid] = self._sum[cid] - vector
        return cid

    def cluster_of(self, document: str) -> str:
        return self._cluster_of[document]

    def members(self, cluster: str) -> list[str]:
        return list(self._members[cluster])

    def clusters(self) -> list[str]:
        """Cluster ids, oldest first."""
        return sorted(self._members, key=self._created.__getitem__)
