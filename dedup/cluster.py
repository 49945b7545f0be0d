"""Story clusters that keep their ids while articles stream in.

Articles join clusters one at a time, in the order they arrive.

Joining. An article that reuses text of placed articles (a reuse link: a pair
in ``link`` relations whose partner explains at least ``min_link_share`` of it,
which the caller decides) joins the cluster of the one it shares most with: the
link that explains the largest share of it, among the clusters it reads at
least ``link_min_cosine`` like (a cluster that a stitched piece or a roundup
founded may read like another story). It joins ONE cluster: a roundup or a
stitched piece that takes paragraphs from two stories joins the story it takes
most from and keeps its pairs with the other, but never joins the two. An
article without links joins the cluster whose members are, on average, closest
to it (cosine of document vectors) when that average reaches ``threshold``,
after the time penalty below; otherwise it founds a cluster, whose id is
derived from its own id.

Re-homing. Every article remembers how it joined (``placement``): the share of
it the link it joined through explains, 1 when it joined on content (it reads
like its story, and stays), 0 when it founded its cluster (nothing held it
there). When a later article explains more of it, by more than
``rehome_margin``, and it reads at least ``link_min_cosine`` like that
article's cluster, it moves there:
a roundup that arrived before the story it takes most from ends in that story,
whatever the order of arrival. The move is reported as DOCUMENT_REMOVED from
the old cluster and DOCUMENT_ADDED to the new one; ids do not change.

Merging. Two clusters merge only on evidence about the clusters, not about one
article: when their members, on average, come within ``threshold`` of each
other (average linkage, with the time penalty on the gap between the two
clusters' median times). The merge is checked for the cluster an article has
just joined, against the clusters near that article. The oldest cluster's id
survives a merge. So an id, once given, names the same story for as long as it
exists.

Time. A story is an event: two earthquakes a week apart read alike but are two
stories. Every cluster keeps the publication times of its members that have
one; an article published more than ``time_tolerance_days`` from a cluster's
median time has ``time_penalty_per_day`` taken off its average cosine to that
cluster for each day beyond (two clusters: the gap between their medians). The
median, not the span: one late copy must not stretch a story over the next
event of its kind. A missing timestamp is unknown, not early: it takes no
penalty and moves no median. Reuse links are not penalised: a copy published a
week later still belongs to the story it copies.

Each cluster keeps the sum of its members' vectors, so the average similarity
of an article to a cluster is one dot product: ``v . sum / n``.

What the clusterer reads and changes (where each article is, and each
cluster's members, vector sum, median time and rank) is kept by a
``ClusterTable`` (``dedup.cluster_table``); the clusterer keeps nothing else.

Undo. While ``undo`` holds an ``UndoLog``, every change is recorded in it, so
that the caller can put the clusters back as they were when a change it made
cannot be committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import xxhash

from dedup.cluster_table import ClusterTable, MemoryClusterTable
from dedup.results import ClusterEvent, ClusterEventKind
from dedup.undo import UndoLog

__all__ = ["Claim", "StoryClusterer", "cluster_id_for"]

DAY = 86400.0


def cluster_id_for(founding_document: str) -> str:
    """The id of the cluster an article founds: short, stable, safe in URLs."""
    return "c" + xxhash.xxh3_64_hexdigest(founding_document.encode("utf-8"))[:12]


@dataclass(frozen=True, slots=True)
class Claim:
    """A placed article a new one explains part of: the share, and the vector and time it was placed
    with (the clusterer keeps neither)."""

    share: float
    vector: np.ndarray | None
    time: float | None


Links = Mapping[str, float] | Iterable[str]
"""Placed articles a new one reuses text of: with the share of the new one each explains (a mapping),
or just their ids (each then counts as explaining all of it)."""


def _strengths(links: Links) -> dict[str, float]:
    if isinstance(links, Mapping):
        return {d: float(s) for d, s in links.items()}
    return dict.fromkeys(links, 1.0)


def _joined(rehomed: Iterable[ClusterEvent]) -> list[str]:
    """The documents that joined a cluster in re-homing events (each left another first)."""
    added = (ev for ev in rehomed if ev.kind is ClusterEventKind.DOCUMENT_ADDED)
    return [ev.document for ev in added if ev.document is not None]


class StoryClusterer:
    """Online average-linkage clustering with stable ids, single-cluster joins and a time penalty, over a
    ``ClusterTable`` (in memory unless one is given)."""

    def __init__(
        self,
        threshold: float = 0.65,
        time_tolerance_days: float = 2.0,
        time_penalty_per_day: float = 0.0,
        link_min_cosine: float = -1.0,
        rehome_margin: float = 0.1,
        table: ClusterTable | None = None,
    ) -> None:
        self.threshold = threshold
        self.link_min_cosine = link_min_cosine
        self.rehome_margin = rehome_margin
        self.time_tolerance = time_tolerance_days * DAY
        self.time_penalty = time_penalty_per_day / DAY
        self.table: ClusterTable = table if table is not None else MemoryClusterTable()

    @property
    def undo(self) -> UndoLog | None:
        """Where changes are recorded while set (``dedup.undo``): the table's log."""
        return self.table.undo

    @undo.setter
    def undo(self, log: UndoLog | None) -> None:
        self.table.undo = log

    # -- similarity ---------------------------------------------------------------------------------------

    def _gap(self, time: float | None, cluster: str) -> float:
        """Seconds between ``time`` and the cluster's median time beyond the tolerance (0 if unknown)."""
        median = self.table.median_time(cluster)
        if time is None or median is None:
            return 0.0
        return max(0.0, abs(time - median) - self.time_tolerance)

    def _average(self, vector: np.ndarray, cluster: str, time: float | None = None) -> float:
        total = self.table.total(cluster)
        if total is None:
            return 0.0
        average = float(vector @ total) / self.table.size(cluster)
        return average - self.time_penalty * self._gap(time, cluster)

    def _between(self, a: str, b: str) -> float:
        sa, sb = self.table.total(a), self.table.total(b)
        if sa is None or sb is None:
            return float("-inf")  # no vectors: only links can join them
        average = float(sa @ sb) / (self.table.size(a) * self.table.size(b))
        return average - self.time_penalty * self._gap(self.table.median_time(a), b)

    # -- placing ------------------------------------------------------------------------------------------

    def _target(
        self, links: Links, vector: np.ndarray | None, near: Iterable[str] | None, time: float | None
    ) -> tuple[str | None, set[str], float]:
        """The cluster a new document joins (None: it founds one), the clusters it was compared with, and
        its placement: how much of it the link it joins through explains (1 when it joins on content, 0
        when it founds a cluster)."""
        table = self.table
        strengths = _strengths(links)
        near = list(near) if near is not None else None
        placed = table.clusters_of([*strengths, *(near or ())])
        linked: dict[str, float] = {}
        for d, s in strengths.items():
            if (c := placed.get(d)) is not None:
                linked[c] = max(linked.get(c, 0.0), s)
        if near is None:
            candidates = set(table.clusters())
        else:
            candidates = {c for d in near if (c := placed.get(d)) is not None}
        candidates |= set(linked)
        table.read_ahead(candidates)
        averages = {c: self._average(vector, c, time) for c in candidates} if vector is not None else {}
        if vector is not None and vector.any():
            # A link into a cluster that reads like another story (a stitched piece or a roundup that
            # founded it) does not pull the article in. (Without a model vectors are zeros: links alone.)
            linked = {c: s for c, s in linked.items() if averages.get(c, 0.0) >= self.link_min_cosine}
        if linked:
            # The story it shares most with; between equal shares, the closer one, then the older.
            best = max(linked, key=lambda c: (round(linked[c], 6), averages.get(c, 0.0), -table.rank(c)))
            return best, candidates, linked[best]
        if averages:
            best = max(averages, key=lambda c: (averages[c], -table.rank(c)))
            if averages[best] >= self.threshold:
                return best, candidates, 1.0  # it reads like the story: nothing moves it
        return None, candidates, 0.0

    def add(
        self,
        document: str,
        links: Links = (),
        vector: np.ndarray | None = None,
        near: Iterable[str] | None = None,
        time: float | None = None,
        claims: Mapping[str, Claim] | None = None,
    ) -> list[ClusterEvent]:
        """Place ``document``; return what changed (``add_moving`` without the moves)."""
        return self.add_moving(document, links, vector, near, time, claims)[0]

    def add_moving(
        self,
        document: str,
        links: Links = (),
        vector: np.ndarray | None = None,
        near: Iterable[str] | None = None,
        time: float | None = None,
        claims: Mapping[str, Claim] | None = None,
    ) -> tuple[list[ClusterEvent], list[str]]:
        """Place ``document``; return what changed, and the other placed documents whose cluster
        changed (those of the clusters merged into another, then those re-homed), in the order they
        joined their new cluster: all of them are then in ``document``'s cluster.

        ``links``: placed documents it reuses text of, with the share of it each explains. ``vector``:
        its L2-normalised document vector, if any; without one it joins only through links. ``near``:
        placed documents close to it (say, its nearest neighbours in a vector index); only their
        clusters (and its links') are compared with it; None compares every cluster. ``time``: its
        publication time in seconds, if known. ``claims``: placed documents it explains part of, which
        may move to its cluster (re-homing).
        """
        table = self.table
        if table.cluster_of(document) is not None:
            raise ValueError(f"document {document!r} is already clustered; remove it first")
        cid, candidates, strength = self._target(links, vector, near, time)
        events: list[ClusterEvent] = []
        if cid is None:
            cid = cluster_id_for(document)
            while table.exists(cid):  # a founding id used before: keep ids unique
                cid = cluster_id_for(cid)
            table.make(cid, table.next_rank())
            events.append(ClusterEvent(ClusterEventKind.CREATED, cid, document))
            table.place(document, cid, vector, time, strength)
            rehomed = self._rehome(cid, claims or {})
            return events + rehomed, _joined(rehomed)
        table.place(document, cid, vector, time, strength)
        moved: list[str] = []
        # Average linkage: the grown cluster may now be close enough to a neighbouring one.
        absorbed = [
            other
            for other in sorted(candidates - {cid}, key=table.rank)
            if table.exists(other) and self._between(cid, other) >= self.threshold
        ]
        if absorbed:
            survivor = min([cid, *absorbed], key=table.rank)
            gone = tuple(c for c in [cid, *absorbed] if c != survivor)
            for other in gone:
                moved.extend(d for d in table.fold(other, survivor) if d != document)
            events.append(ClusterEvent(ClusterEventKind.MERGED, survivor, document, gone))
            cid = survivor
        events.append(ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, cid, document))
        rehomed = self._rehome(cid, claims or {})
        return events + rehomed, moved + _joined(rehomed)

    def _rehome(self, cid: str, claims: Mapping[str, Claim]) -> list[ClusterEvent]:
        """Move to ``cid`` the claimed articles it now explains more of than the link they joined through,
        that read enough like it; return the moves as events."""
        events: list[ClusterEvent] = []
        for other in sorted(claims):
            claim = claims[other]
            old = self.table.cluster_of(other)
            placed = self.placement(other)
            if old is None or old == cid or claim.share <= placed + self.rehome_margin:
                continue
            if (
                claim.vector is not None
                and claim.vector.any()
                and self._average(claim.vector, cid, claim.time) < self.link_min_cosine
            ):
                continue
            self.table.unplace(other, claim.vector, claim.time)
            events.append(ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, old, other))
            self.table.place(other, cid, claim.vector, claim.time, claim.share)
            events.append(ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, cid, other))
        return events

    def peek(
        self,
        links: Links = (),
        vector: np.ndarray | None = None,
        near: Iterable[str] | None = None,
        time: float | None = None,
    ) -> str | None:
        """The cluster a document would join, or None if it would found a new one. Changes nothing."""
        return self._target(links, vector, near, time)[0]

    def placement(self, document: str) -> float:
        """How a placed article joined: the share of it its link explains, 1 on content, 0 as a founder."""
        placement = self.table.placement(document)
        return 1.0 if placement is None else placement

    def restore(
        self,
        cluster: str,
        rank: int,
        members: Iterable[
            tuple[str, np.ndarray | None]
            | tuple[str, np.ndarray | None, float | None]
            | tuple[str, np.ndarray | None, float | None, float]
        ],
    ) -> None:
        """Put back a cluster as it was saved: its id, its creation rank, its members in order (each
        with its vector and, optionally, its publication time and placement)."""
        self.table.make(cluster, rank)
        for member in members:
            document, vector = member[0], member[1]
            time = member[2] if len(member) > 2 else None
            placement = member[3] if len(member) > 3 else 1.0
            self.table.place(document, cluster, vector, time, placement)

    def put(
        self,
        document: str,
        cluster: str,
        rank: int,
        vector: np.ndarray | None,
        time: float | None,
        placement: float,
    ) -> None:
        """Place a document in ``cluster`` as another clusterer did (one sharing the same store): the
        cluster is made with creation ``rank`` if it does not exist here yet, and clusters made here
        later rank after it. The document must not be placed here."""
        if not self.table.exists(cluster):
            self.table.make(cluster, rank)
        self.table.place(document, cluster, vector, time, placement)

    def rank(self, cluster: str) -> int:
        """The creation rank of a cluster: older clusters have smaller ranks."""
        return self.table.rank(cluster)

    def remove(
        self, document: str, vector: np.ndarray | None = None, time: float | None = None
    ) -> str | None:
        """Take a document out; its cluster keeps its id (and disappears when empty). ``vector`` and
        ``time``: those it was placed with, if any (vectors are not kept here: 1.5 KB an article)."""
        return self.table.unplace(document, vector, time)

    def cluster_of(self, document: str) -> str:
        cluster = self.table.cluster_of(document)
        if cluster is None:
            raise KeyError(document)
        return cluster

    def exists(self, cluster: str) -> bool:
        """Whether a cluster holds a document."""
        return self.table.exists(cluster)

    def placed_in(self, document: str) -> str | None:
        """The cluster of a placed document, None when it is not placed."""
        return self.table.cluster_of(document)

    def members(self, cluster: str) -> list[str]:
        return self.table.members(cluster)

    def clusters(self) -> list[str]:
        """Cluster ids, oldest first."""
        return sorted(self.table.clusters(), key=self.table.rank)
