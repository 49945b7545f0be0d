"""What the story clusterer keeps: where each placed article is, and what it needs of each cluster.

``StoryClusterer`` (``dedup.cluster``) decides where articles go; a ``ClusterTable`` holds what those
decisions read and change, behind a narrow protocol, so that the table can live elsewhere than in the
process that decides:

- for each placed article, its cluster and its placement (how it joined: the share of it the link it
  joined through explains, 1 on content, 0 as a founder);
- for each cluster, its members in the order they joined, the sum of the vectors they were placed with
  (None while none had one), the median of their publication times (members without one left out) and
  its creation rank (older clusters rank lower; ranks are never given twice).

A cluster exists while it holds an article: ``unplace`` of its last member drops it.

``MemoryClusterTable`` keeps them in dicts. While its ``undo`` holds an ``UndoLog``, every change is
recorded there, so that the caller can put the table back as it was (``dedup.undo``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from dedup.undo import UndoLog

__all__ = ["ClusterTable", "MemoryClusterTable"]


class ClusterTable(Protocol):
    """The placed articles' clusters and placements, and each cluster's members, vector sum, median
    publication time and creation rank."""

    undo: UndoLog | None
    """While set, every change is recorded in it (``dedup.undo``)."""

    def cluster_of(self, document: str) -> str | None:
        """The cluster of a placed article, None when it is not placed."""
        ...

    def placement(self, document: str) -> float | None:
        """How a placed article joined, None when it is not placed."""
        ...

    def clusters_of(self, documents: Iterable[str]) -> dict[str, str]:
        """The cluster of each of ``documents`` that is placed, read at once."""
        ...

    def read_ahead(self, clusters: Iterable[str]) -> None:
        """Clusters whose size, sum, median and rank are about to be asked: a table that reads them from
        elsewhere reads them at once."""
        ...

    def exists(self, cluster: str) -> bool:
        """Whether a cluster holds an article."""
        ...

    def size(self, cluster: str) -> int:
        """How many articles an existing cluster holds."""
        ...

    def total(self, cluster: str) -> np.ndarray | None:
        """The sum of the vectors an existing cluster's members were placed with (float64), None when
        none was placed with one."""
        ...

    def median_time(self, cluster: str) -> float | None:
        """The median publication time of an existing cluster's members that have one (the lower middle
        one of an even count), None when none has."""
        ...

    def rank(self, cluster: str) -> int:
        """The creation rank of an existing cluster."""
        ...

    def members(self, cluster: str) -> list[str]:
        """The articles of an existing cluster, in the order they joined it."""
        ...

    def clusters(self) -> list[str]:
        """Every existing cluster, in no particular order."""
        ...

    def next_rank(self) -> int:
        """A rank above every cluster's made so far: the next cluster founded takes it."""
        ...

    def make(self, cluster: str, rank: int) -> None:
        """An empty cluster of creation ``rank`` (which ``next_rank`` then exceeds)."""
        ...

    def place(
        self, document: str, cluster: str, vector: np.ndarray | None, time: float | None, placement: float
    ) -> None:
        """Put an article that is not placed at the end of an existing cluster."""
        ...

    def unplace(self, document: str, vector: np.ndarray | None, time: float | None) -> str | None:
        """Take an article out of its cluster (``vector`` and ``time``: those it was placed with), which
        is dropped when left empty; the cluster, None when the article was not placed."""
        ...

    def fold(self, source: str, target: str) -> list[str]:
        """Move every member of ``source`` to the end of ``target``, in order, and drop ``source``; the
        members moved."""
        ...


class MemoryClusterTable:
    """``ClusterTable`` in dicts."""

    def __init__(self) -> None:
        self._cluster_of: dict[str, str] = {}
        self._placement: dict[str, float] = {}
        self._members: dict[str, list[str]] = {}
        self._sum: dict[str, np.ndarray | None] = {}
        self._times: dict[str, list[float]] = {}
        """Each cluster's members' publication times (seconds), sorted; members without one are left out."""
        self._created: dict[str, int] = {}
        self._clock = 0
        self.undo: UndoLog | None = None

    def _save_cluster(self, cluster: str) -> None:
        """Record a cluster's state before it changes (while an undo log is set)."""
        if self.undo is not None:
            for table in (self._members, self._sum, self._times, self._created):
                self.undo.save(table, cluster)

    def _save_document(self, document: str) -> None:
        """Record where an article is placed before that changes (while an undo log is set)."""
        if self.undo is not None:
            self.undo.save(self._cluster_of, document)
            self.undo.save(self._placement, document)

    def cluster_of(self, document: str) -> str | None:
        return self._cluster_of.get(document)

    def placement(self, document: str) -> float | None:
        return self._placement.get(document)

    def clusters_of(self, documents: Iterable[str]) -> dict[str, str]:
        return {d: c for d in documents if (c := self._cluster_of.get(d)) is not None}

    def read_ahead(self, clusters: Iterable[str]) -> None:
        pass

    def exists(self, cluster: str) -> bool:
        return cluster in self._members

    def size(self, cluster: str) -> int:
        return len(self._members[cluster])

    def total(self, cluster: str) -> np.ndarray | None:
        return self._sum[cluster]

    def median_time(self, cluster: str) -> float | None:
        times = self._times.get(cluster)
        return times[(len(times) - 1) // 2] if times else None

    def rank(self, cluster: str) -> int:
        return self._created[cluster]

    def members(self, cluster: str) -> list[str]:
        return list(self._members[cluster])

    def clusters(self) -> list[str]:
        return list(self._members)

    def next_rank(self) -> int:
        return self._clock

    def make(self, cluster: str, rank: int) -> None:
        self._save_cluster(cluster)
        if self.undo is not None:
            clock = self._clock
            self.undo.call(lambda: setattr(self, "_clock", clock))
        self._members[cluster] = []
        self._sum[cluster] = None
        self._times[cluster] = []
        self._created[cluster] = rank
        self._clock = max(self._clock, rank + 1)

    def place(
        self, document: str, cluster: str, vector: np.ndarray | None, time: float | None, placement: float
    ) -> None:
        self._save_document(document)
        self._save_cluster(cluster)
        self._cluster_of[document] = cluster
        self._placement[document] = placement
        self._members[cluster].append(document)
        if vector is not None:
            total = self._sum[cluster]
            self._sum[cluster] = vector.astype(np.float64) if total is None else total + vector
        if time is not None:
            bisect.insort(self._times[cluster], time)

    def unplace(self, document: str, vector: np.ndarray | None, time: float | None) -> str | None:
        self._save_document(document)
        cluster = self._cluster_of.pop(document, None)
        self._placement.pop(document, None)
        if cluster is None:
            return None
        self._save_cluster(cluster)
        self._members[cluster].remove(document)
        if not self._members[cluster]:
            del self._members[cluster], self._sum[cluster], self._created[cluster], self._times[cluster]
            return cluster
        total = self._sum[cluster]
        if vector is not None and total is not None:
            self._sum[cluster] = total - vector
        times = self._times[cluster]
        if time is not None:
            k = bisect.bisect_left(times, time)
            if k < len(times) and times[k] == time:
                del times[k]
        return cluster

    def fold(self, source: str, target: str) -> list[str]:
        self._save_cluster(source)
        self._save_cluster(target)
        for d in self._members[source]:
            self._save_document(d)
        folded = self._members.pop(source)
        for d in folded:
            self._cluster_of[d] = target
            self._members[target].append(d)
        extra = self._sum.pop(source)
        if extra is not None:
            total = self._sum[target]
            self._sum[target] = extra if total is None else total + extra
        self._times[target] = sorted(self._times[target] + self._times.pop(source))
        del self._created[source]
        return folded
