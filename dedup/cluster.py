"""Story clusters that keep their ids while articles stream in.

Articles join clusters one at a time, in the order they arrive (or were
published). An article linked to no cluster founds a new one, whose id is
derived from the founding article's id; an article linked to several
clusters merges them, and the oldest cluster's id survives. So an id, once
given, names the same story for as long as the story exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import xxhash

__all__ = ["ClusterEvent", "ClusterEventKind", "StoryClusterer", "cluster_id_for"]


class ClusterEventKind(StrEnum):
    CREATED = "CREATED"
    DOCUMENT_ADDED = "DOCUMENT_ADDED"
    MERGED = "MERGED"


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
    """Incremental clustering: connected components over links, with stable ids."""

    def __init__(self) -> None:
        self._cluster_of: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self._created: dict[str, int] = {}
        self._clock = 0

    def add(self, document: str, links: Iterable[str]) -> list[ClusterEvent]:
        """Place ``document``, linked to the already placed documents ``links``; return what changed."""
        if document in self._cluster_of:
            raise ValueError(f"document {document!r} is already clustered; remove it first")
        targets = sorted({self._cluster_of[d] for d in links if d in self._cluster_of}, key=self._created.__getitem__)
        events: list[ClusterEvent] = []
        if not targets:
            cid = cluster_id_for(document)
            while cid in self._members:  # a re-used founding id after removal: keep ids unique
                cid = cluster_id_for(cid)
            self._members[cid] = []
            self._created[cid] = self._clock
            self._clock += 1
            events.append(ClusterEvent(ClusterEventKind.CREATED, cid, document))
        else:
            cid = targets[0]
            if len(targets) > 1:
                for other in targets[1:]:
                    for d in self._members.pop(other):
                        self._cluster_of[d] = cid
                        self._members[cid].append(d)
                    del self._created[other]
                events.append(ClusterEvent(ClusterEventKind.MERGED, cid, document, tuple(targets[1:])))
            events.append(ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, cid, document))
        self._cluster_of[document] = cid
        self._members[cid].append(document)
        return events

    def remove(self, document: str) -> str | None:
        """Take a document out; its cluster keeps its id (and disappears when empty)."""
        cid = self._cluster_of.pop(document, None)
        if cid is not None:
            self._members[cid].remove(document)
            if not self._members[cid]:
                del self._members[cid]
                del self._created[cid]
        return cid

    def cluster_of(self, document: str) -> str:
        return self._cluster_of[document]

    def members(self, cluster: str) -> list[str]:
        return list(self._members[cluster])

    def clusters(self) -> list[str]:
        """Cluster ids, oldest first."""
        return sorted(self._members, key=self._created.__getitem__)
