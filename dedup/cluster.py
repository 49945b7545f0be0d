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

Undo. While ``undo`` holds an ``UndoLog``, every change is recorded in it, so
that the caller can put the clusters back as they were when a change it made
cannot be committed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import xxhash

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
    """Online average-linkage clustering with stable ids, single-cluster joins and a time penalty."""

    def __init__(
        self,
        threshold: float = 0.65,
        time_tolerance_days: float = 2.0,
        time_penalty_per_day: float = 0.0,
        link_min_cosine: float = -1.0,
        rehome_margin: float = 0.1,
    ) -> None:
        self.threshold = threshold
        self.link_min_cosine = link_min_cosine
        self.rehome_margin = rehome_margin
        self._placement: dict[str, float] = {}
        """How each article joined: the share of it its link explains, 1 on content, 0 as a founder."""
        self.time_tolerance = time_tolerance_days * DAY
        self.time_penalty = time_penalty_per_day / DAY
        self._cluster_of: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self._sum: dict[str, np.ndarray | None] = {}
        self._times: dict[str, list[float]] = {}
        """Each cluster's members' publication times (seconds), sorted; members without one are left out."""
        self._created: dict[str, int] = {}
        self._clock = 0
        self.undo: UndoLog | None = None
        """Where changes are recorded while set (``dedup.undo``)."""

    def _save_cluster(self, cid: str) -> None:
        """Record a cluster's state before it changes (while an undo log is set)."""
        if self.undo is not None:
            for table in (self._members, self._sum, self._times, self._created):
                self.undo.save(table, cid)

    def _save_document(self, document: str) -> None:
        """Record where a document is placed before that changes (while an undo log is set)."""
        if self.undo is not None:
            self.undo.save(self._cluster_of, document)
            self.undo.save(self._placement, document)

    # -- similarity ---------------------------------------------------------------------------------------

    def _median(self, cluster: str) -> float | None:
        times = self._times.get(cluster)
        return times[(len(times) - 1) // 2] if times else None

    def _gap(self, time: float | None, cluster: str) -> float:
        """Seconds between ``time`` and the cluster's median time beyond the tolerance (0 if unknown)."""
        median = self._median(cluster)
        if time is None or median is None:
            return 0.0
        return max(0.0, abs(time - median) - self.time_tolerance)

    def _average(self, vector: np.ndarray, cluster: str, time: float | None = None) -> float:
        total = self._sum[cluster]
        if total is None:
            return 0.0
        average = float(vector @ total) / len(self._members[cluster])
        return average - self.time_penalty * self._gap(time, cluster)

    def _between(self, a: str, b: str) -> float:
        sa, sb = self._sum[a], self._sum[b]
        if sa is None or sb is None:
            return float("-inf")  # no vectors: only links can join them
        average = float(sa @ sb) / (len(self._members[a]) * len(self._members[b]))
        return average - self.time_penalty * self._gap(self._median(a), b)

    # -- placing ------------------------------------------------------------------------------------------

    def _target(
        self, links: Links, vector: np.ndarray | None, near: Iterable[str] | None, time: float | None
    ) -> tuple[str | None, set[str], float]:
        """The cluster a new document joins (None: it founds one), the clusters it was compared with, and
        its placement: how much of it the link it joins through explains (1 when it joins on content, 0
        when it founds a cluster)."""
        strength = {d: s for d, s in _strengths(links).items() if d in self._cluster_of}
        linked: dict[str, float] = {}
        for d, s in strength.items():
            c = self._cluster_of[d]
            linked[c] = max(linked.get(c, 0.0), s)
        candidates = (
            set(self._members)
            if near is None
            else {self._cluster_of[d] for d in near if d in self._cluster_of}
        ) | set(linked)
        averages = {c: self._average(vector, c, time) for c in candidates} if vector is not None else {}
        if vector is not None and vector.any():
            # A link into a cluster that reads like another story (a stitched piece or a roundup that
            # founded it) does not pull the article in. (Without a model vectors are zeros: links alone.)
            linked = {c: s for c, s in linked.items() if averages.get(c, 0.0) >= self.link_min_cosine}
        if linked:
            # The story it shares most with; between equal shares, the closer one, then the older.
            best = max(linked, key=lambda c: (round(linked[c], 6), averages.get(c, 0.0), -self._created[c]))
            return best, candidates, linked[best]
        if averages:
            best = max(averages, key=lambda c: (averages[c], -self._created[c]))
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
        if document in self._cluster_of:
            raise ValueError(f"document {document!r} is already clustered; remove it first")
        cid, candidates, strength = self._target(links, vector, near, time)
        self._save_document(document)
        self._placement[document] = strength
        events: list[ClusterEvent] = []
        if cid is None:
            cid = cluster_id_for(document)
            while cid in self._members:  # a founding id used before: keep ids unique
                cid = cluster_id_for(cid)
            self._save_cluster(cid)
            if self.undo is not None:
                clock = self._clock
                self.undo.call(lambda: setattr(self, "_clock", clock))
            self._members[cid] = []
            self._sum[cid] = None
            self._times[cid] = []
            self._created[cid] = self._clock
            self._clock += 1
            events.append(ClusterEvent(ClusterEventKind.CREATED, cid, document))
            self._place(document, vector, time, cid)
            rehomed = self._rehome(cid, claims or {})
            return events + rehomed, _joined(rehomed)
        self._place(document, vector, time, cid)
        moved: list[str] = []
        # Average linkage: the grown cluster may now be close enough to a neighbouring one.
        absorbed = [
            other
            for other in sorted(candidates - {cid}, key=self._created.__getitem__)
            if other in self._members and self._between(cid, other) >= self.threshold
        ]
        if absorbed:
            survivor = min([cid, *absorbed], key=self._created.__getitem__)
            gone = tuple(c for c in [cid, *absorbed] if c != survivor)
            for other in gone:
                moved.extend(d for d in self._fold(other, survivor) if d != document)
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
            old = self._cluster_of.get(other)
            placed = self._placement.get(other, 1.0)
            if old is None or old == cid or claim.share <= placed + self.rehome_margin:
                continue
            if (
                claim.vector is not None
                and claim.vector.any()
                and self._average(claim.vector, cid, claim.time) < self.link_min_cosine
            ):
                continue
            self.remove(other, claim.vector, claim.time)
            events.append(ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, old, other))
            self._place(other, claim.vector, claim.time, cid)
            self._save_document(other)
            self._placement[other] = claim.share
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
        return self._placement.get(document, 1.0)

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
        self._make(cluster, rank)
        for member in members:
            document, vector = member[0], member[1]
            time = member[2] if len(member) > 2 else None
            self._placement[document] = member[3] if len(member) > 3 else 1.0
            self._place(document, vector, time, cluster)

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
        if cluster not in self._members:
            self._make(cluster, rank)
        self._place(document, vector, time, cluster)
        self._save_document(document)
        self._placement[document] = placement

    def _make(self, cluster: str, rank: int) -> None:
        """An empty cluster of creation ``rank``; clusters founded here later rank after it."""
        self._save_cluster(cluster)
        self._members[cluster] = []
        self._sum[cluster] = None
        self._times[cluster] = []
        self._created[cluster] = rank
        self._clock = max(self._clock, rank + 1)

    def rank(self, cluster: str) -> int:
        """The creation rank of a cluster: older clusters have smaller ranks."""
        return self._created[cluster]

    def _place(self, document: str, vector: np.ndarray | None, time: float | None, cid: str) -> None:
        self._save_document(document)
        self._save_cluster(cid)
        self._cluster_of[document] = cid
        self._members[cid].append(document)
        if vector is not None:
            total = self._sum[cid]
            self._sum[cid] = vector.astype(np.float64) if total is None else total + vector
        if time is not None:
            bisect.insort(self._times[cid], time)

    def _fold(self, source: str, target: str) -> list[str]:
        """Move every member of ``source`` to ``target``, which keeps its id; return them, in order."""
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

    def remove(
        self, document: str, vector: np.ndarray | None = None, time: float | None = None
    ) -> str | None:
        """Take a document out; its cluster keeps its id (and disappears when empty). ``vector`` and
        ``time``: those it was placed with, if any (vectors are not kept here: 1.5 KB an article)."""
        self._save_document(document)
        cid = self._cluster_of.pop(document, None)
        self._placement.pop(document, None)
        if cid is None:
            return None
        self._save_cluster(cid)
        self._members[cid].remove(document)
        if not self._members[cid]:
            del self._members[cid], self._sum[cid], self._created[cid], self._times[cid]
            return cid
        if vector is not None and self._sum[cid] is not None:
            self._sum[cid] = self._sum[cid] - vector
        times = self._times[cid]
        if time is not None:
            k = bisect.bisect_left(times, time)
            if k < len(times) and times[k] == time:
                del times[k]
        return cid

    def cluster_of(self, document: str) -> str:
        return self._cluster_of[document]

    def exists(self, cluster: str) -> bool:
        """Whether a cluster holds a document."""
        return cluster in self._members

    def placed_in(self, document: str) -> str | None:
        """The cluster of a placed document, None when it is not placed."""
        return self._cluster_of.get(document)

    def members(self, cluster: str) -> list[str]:
        return list(self._members[cluster])

    def clusters(self) -> list[str]:
        """Cluster ids, oldest first."""
        return sorted(self._members, key=self._created.__getitem__)
