"""What dedup reports: passages, pairs, parents, clusters, stored stories and their events. Plain
frozen dataclasses, light enough for the client.

``Analysis.to_dict()`` gives the JSON contract of ``dedup analyze`` (other
tools read it; the names are fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Analysis",
    "ClusterEvent",
    "ClusterEventKind",
    "ClusterResult",
    "ClusterView",
    "DocumentAnalysis",
    "DocumentResult",
    "DuplicateGroup",
    "Edge",
    "EventRecord",
    "ExternalSource",
    "IngestOutcome",
    "LineageEdge",
    "PairResult",
    "Parent",
    "Passage",
    "PassageKind",
    "Relation",
]


class PassageKind(StrEnum):
    VERBATIM = "VERBATIM"
    """The same words in the same order (after normalising case, quotes, dashes and spacing)."""
    NEAR_VERBATIM = "NEAR_VERBATIM"
    """The same words but for light edits: a word changed, added or dropped here and there."""
    PARAPHRASE = "PARAPHRASE"
    """The same statement in other words."""


class Relation(StrEnum):
    DUPLICATE = "DUPLICATE"
    """Near-identical both ways."""
    WHOLLY_DERIVED = "WHOLLY_DERIVED"
    """One is almost all inside the other."""
    PARTIALLY_DERIVED = "PARTIALLY_DERIVED"
    """They share passages."""
    COMMON_SOURCE = "COMMON_SOURCE"
    """They share wording only where one of them attributes it to a source (quoted speech, a phrase
    naming the source): both drew on one source; neither need have copied the other."""
    SAME_STORY = "SAME_STORY"
    """The same event, no shared passages."""


REUSE_RELATIONS = frozenset({Relation.DUPLICATE, Relation.WHOLLY_DERIVED, Relation.PARTIALLY_DERIVED})


def _r(x: float) -> float:
    return round(float(x), 4)


@dataclass(frozen=True, slots=True)
class Passage:
    """A shared passage: half-open character spans in a's and b's original texts."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    kind: PassageKind
    score: float
    attributed: bool = False
    """At least half of it, on one side or the other, is quoted speech or names its source: evidence
    of a common source rather than of copying."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "kind": self.kind.value,
            "score": _r(self.score),
            "attributed": self.attributed,
        }

    def swapped(self) -> Passage:
        return Passage(
            self.b_start, self.b_end, self.a_start, self.a_end, self.kind, self.score, self.attributed
        )


@dataclass(frozen=True, slots=True)
class PairResult:
    """How two articles relate. ``coverage_a`` is the share of a's content inside passages shared with b."""

    a: str
    b: str
    relation: Relation
    coverage_a: float
    coverage_b: float
    lexical: float
    semantic: float
    passages: tuple[Passage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "relation": self.relation.value,
            "coverage_a": _r(self.coverage_a),
            "coverage_b": _r(self.coverage_b),
            "lexical": _r(self.lexical),
            "semantic": _r(self.semantic),
            "passages": [p.to_dict() for p in self.passages],
        }

    def other(self, doc_id: str) -> str:
        return self.b if doc_id == self.a else self.a

    def oriented(self, doc_id: str) -> PairResult:
        """The same pair with ``doc_id`` as side a."""
        if doc_id == self.a:
            return self
        return PairResult(
            self.b, self.a, self.relation, self.coverage_b, self.coverage_a, self.lexical, self.semantic,
            tuple(p.swapped() for p in self.passages),
        )  # fmt: skip

    def coverage_of(self, doc_id: str) -> float:
        return self.coverage_a if doc_id == self.a else self.coverage_b


@dataclass(frozen=True, slots=True)
class Parent:
    """An article this one derives from: ``coverage`` is the share of the child it explains.
    ``alternatives``: other articles that explain the child just as well, which neither time nor
    content can tell from this one; ``confidence`` is that the child derives from one of them."""

    id: str
    confidence: float
    coverage: float
    evidence: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    basis: str = ""
    """What orders the parent before the child: 'time', 'attribution' (the child names its outlet),
    'content' (the child lies inside it), joined by '+' when more than one does ('time+attribution'),
    or '' when nothing decides and the evidence only leans that way."""
    rules: tuple[str, ...] = ()
    """What set other candidates aside: 'named' (the child names this one), 'wording' (it holds more
    of the child's wording), 'near_identical' (the child is a near-identical copy of it, the others
    only contain it), 'copies_it' (the others copy this one)."""
    cautions: tuple[str, ...] = ()
    """What makes it less sure: 'parent_is_a_copy' (the parent itself copies another article: the
    child may be its sibling), 'in_duplicate_group' (the child has near-identical twins nothing
    orders), 'may_be_siblings' (both name the same outside source, each in its own words)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "confidence": _r(self.confidence),
            "coverage": _r(self.coverage),
            "evidence": list(self.evidence),
            "alternatives": list(self.alternatives),
            "basis": self.basis,
            "rules": list(self.rules),
            "cautions": list(self.cautions),
        }


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Near-identical articles (DUPLICATE pairs) whose order neither time, attribution nor content
    decides: their original is undetermined, and no edge is guessed between them."""

    documents: tuple[str, ...]
    originals: tuple[str, ...]
    """The members that may be the original: those no other member is known to precede."""
    confidence: float
    """That any one of ``originals`` is the original: ``1 / len(originals)``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": list(self.documents),
            "originals": list(self.originals),
            "confidence": _r(self.confidence),
        }


@dataclass(frozen=True, slots=True)
class ExternalSource:
    """An outlet outside the corpus that the article names as its source."""

    name: str
    evidence: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "evidence": self.evidence, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class DocumentResult:
    id: str
    cluster: str
    parents: tuple[Parent, ...]
    external_sources: tuple[ExternalSource, ...]
    duplicate_group: DuplicateGroup | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cluster": self.cluster,
            "parents": [p.to_dict() for p in self.parents],
            "external_sources": [s.to_dict() for s in self.external_sources],
            "duplicate_group": self.duplicate_group.to_dict() if self.duplicate_group else None,
        }


@dataclass(frozen=True, slots=True)
class Edge:
    parent: str
    child: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "child": self.child, "confidence": _r(self.confidence)}


@dataclass(frozen=True, slots=True)
class ClusterResult:
    id: str
    documents: tuple[str, ...]
    roots: tuple[str, ...]
    edges: tuple[Edge, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "documents": list(self.documents),
            "roots": list(self.roots),
            "edges": [e.to_dict() for e in self.edges],
        }


@dataclass(frozen=True, slots=True)
class DocumentAnalysis:
    """What dedup knows about one article: its cluster, sources and matches. In each match the
    article is side ``a``."""

    id: str
    cluster: str | None
    parents: tuple[Parent, ...]
    external_sources: tuple[ExternalSource, ...]
    matches: tuple[PairResult, ...]
    duplicate_group: DuplicateGroup | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything ``dedup analyze`` finds in a set of articles."""

    documents: tuple[DocumentResult, ...]
    clusters: tuple[ClusterResult, ...]
    pairs: tuple[PairResult, ...]
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.to_dict() for d in self.documents],
            "clusters": [c.to_dict() for c in self.clusters],
            "pairs": [p.to_dict() for p in self.pairs],
            "stats": self.stats,
        }

    def pair(self, a: str, b: str) -> PairResult | None:
        for p in self.pairs:
            if {p.a, p.b} == {a, b}:
                return p
        return None

    def document(self, doc_id: str) -> DocumentResult:
        for d in self.documents:
            if d.id == doc_id:
                return d
        raise KeyError(doc_id)


class IngestOutcome(StrEnum):
    """What storing an article did."""

    CREATED = "CREATED"
    REPLACED = "REPLACED"
    UNCHANGED = "UNCHANGED"


@dataclass(frozen=True)
class LineageEdge:
    """A derivation edge of a stored story."""

    parent: str
    child: str
    confidence: float


@dataclass(frozen=True)
class ClusterView:
    """A stored story cluster: its articles, roots, derivation edges and when it was made and last
    changed (Unix seconds)."""

    id: str
    documents: tuple[str, ...]
    roots: tuple[str, ...]
    edges: tuple[LineageEdge, ...]
    create_time: float
    update_time: float


class ClusterEventKind(StrEnum):
    """What happened to a story cluster."""

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


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A cluster event as stored and watched: numbered from 1, each one more than the event before, and
    stored in the same commit as the change that caused it."""

    sequence: int
    """Its place in the store's events; pass the last one handled to ``WatchClusters`` to resume."""
    time: float
    """When the change that caused it was made (seconds since the epoch): the time the changed clusters
    record as updated."""
    event: ClusterEvent

    @property
    def kind(self) -> ClusterEventKind:
        return self.event.kind

    @property
    def cluster(self) -> str:
        return self.event.cluster

    @property
    def document(self) -> str | None:
        return self.event.document

    @property
    def merged(self) -> tuple[str, ...]:
        return self.event.merged
