"""What the engine answers about the stored articles: an article's analysis (its cluster, parents, sources,
pairs and duplicate group), what a new text would be matched with if it were stored (the probe of
``find_similar``), every pair, a story cluster's members and lineage edges, and an article's ancestors
and descendants.

``Answers`` reads the engine's state (``dedup.engine_state``) through its parts and changes nothing of it
but the cache of prepared articles (a probe's candidates may be read back). The engine calls it under
its read lock, after taking what other processes committed (``Engine._reading``); a probe runs under the
engine's query lock too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from dedup.article import Article, quote_id
from dedup.deadline import Due
from dedup.deriving import Deriving
from dedup.document import PreparedDocument
from dedup.engine_state import EngineState, published_time
from dedup.errors import NotFound
from dedup.lineage import walk
from dedup.matching import Matching
from dedup.results import ClusterView, DocumentAnalysis, DuplicateGroup, LineageEdge, PairResult, Relation
from dedup.store import DocumentRecord, Store

__all__ = ["Answers"]


class Answers:
    """Reads over an engine's state: every method asks the parts and the store, and writes nothing."""

    def __init__(self, state: EngineState, store: Store, matching: Matching, deriving: Deriving) -> None:
        self._state = state
        self._store = store
        self._matching = matching
        self._deriving = deriving

    def _stored(self, doc_id: str) -> None:
        if doc_id not in self._state.entries:
            raise NotFound(f"no document with id {quote_id(doc_id)}")

    def cluster_of(self, doc_id: str) -> str:
        """The story cluster of a stored article (``KeyError`` when it is not stored)."""
        cluster = self._state.stories.cluster_of(doc_id)
        if cluster is None:
            raise KeyError(doc_id)
        return cluster

    def analysis(self, doc_id: str, pairs: Sequence[PairResult] | None = None) -> DocumentAnalysis:
        """What is known of a stored article (``NotFound`` when it is not stored); ``pairs``: all its
        pairs, if the caller has them (an article just stored), else they are read from the store."""
        self._stored(doc_id)
        entries = self._state.entries
        cid = self.cluster_of(doc_id)
        matches = []
        known = self._deriving.pairs_touching({doc_id}) if pairs is None else pairs
        for p in sorted(known, key=lambda p: entries.seq(p.other(doc_id))):
            if p.relation is Relation.SAME_STORY and self.cluster_of(p.other(doc_id)) != cid:
                continue
            matches.append(p.oriented(doc_id))
        return DocumentAnalysis(
            doc_id,
            cid,
            self._state.lineage.parents(doc_id),
            entries.sources(doc_id),
            tuple(matches),
            entries.group(doc_id),
        )

    def similar(
        self, article: Article, doc: PreparedDocument, due: Due, hits: list[list[int]] | None = None
    ) -> DocumentAnalysis:
        """What ``article`` (prepared and embedded as ``doc``) would be matched with if it were stored,
        as ``DocumentAnalysis``, without storing it; a stored article of the same id is left out. Its
        parents are derived as a probe's: under an id no stored article can have."""
        exclude = article.id if article.id in self._state.entries else None
        candidates, near = self._matching.candidates(doc, exclude, hits)
        pairs = self._matching.match(doc, candidates, due)
        cid = self._state.stories.peek(
            self._matching.links(doc.id, pairs), doc.vector, near, published_time(doc)
        )
        pairs = [
            p for p in pairs
            if p.relation is not Relation.SAME_STORY or self.cluster_of(p.other(doc.id)) == cid
        ]  # fmt: skip
        probe = f"\x00probe:{doc.id}"  # never a stored id: the probe must not shadow one
        doc.article = Article(
            probe, article.text, article.title, article.outlet, article.url, article.published_at
        )
        renamed = [_rename(p, doc_id=article.id, to=probe) for p in pairs]
        derivation = self._deriving.derive_for({probe}, {probe: doc}, renamed)
        doc.article = article
        self._state.resident.trim()
        group = derivation.groups.get(probe)
        if group is not None:
            name = {probe: article.id}
            group = DuplicateGroup(
                tuple(sorted(name.get(d, d) for d in group.documents)),
                tuple(sorted(name.get(d, d) for d in group.originals)),
                group.confidence,
            )
        return DocumentAnalysis(
            article.id,
            cid,
            derivation.parents[probe],
            derivation.external_sources[probe],
            tuple(p.oriented(article.id) for p in pairs),
            group,
        )

    def document(self, doc_id: str) -> tuple[Article, float]:
        """A stored article and when it was ingested (``NotFound`` when it is not stored)."""
        entry = self._state.entries.get(doc_id)
        if entry is None:
            raise NotFound(f"no document with id {quote_id(doc_id)}")
        doc = self._state.resident.peek(doc_id)
        if doc is not None:
            return doc.article, entry.ingest_time
        return cast(DocumentRecord, self._store.get(doc_id)).article, entry.ingest_time

    def pairs(self) -> list[PairResult]:
        """Every pair, with the earlier-stored article as a; SAME_STORY only within a cluster."""
        seq = self._state.entries.seq
        out = []
        for p in self._store.pairs():
            a, b = sorted((p.a, p.b), key=seq)
            if p.relation is Relation.SAME_STORY and self.cluster_of(a) != self.cluster_of(b):
                continue
            out.append(p.oriented(a))
        return sorted(out, key=lambda p: (seq(p.a), seq(p.b)))

    def cluster(self, cluster_id: str) -> ClusterView:
        """A story cluster's members in order of arrival, its roots (members whose parents are all
        outside it) and the lineage edges among its members (``NotFound`` when there is no such
        cluster)."""
        stories = self._state.stories
        rec = stories.get(cluster_id)
        if rec is None:
            raise NotFound(f"no cluster with id {quote_id(cluster_id)}")
        members = tuple(sorted(stories.members(cluster_id), key=self._state.entries.seq))
        inside = set(members)
        parents = self._state.lineage.parents_many(members)
        edges = tuple(
            LineageEdge(p.id, child, p.confidence)
            for child in members
            for p in parents.get(child, ())
            if p.id in inside
        )
        roots = tuple(d for d in members if not any(p.id in inside for p in parents.get(d, ())))
        return ClusterView(cluster_id, members, roots, edges, rec.create_time, rec.update_time)

    def lineage(self, doc_id: str, max_depth: int) -> tuple[list[LineageEdge], list[LineageEdge]]:
        """Edges to a stored article's ancestors and from it to its descendants, breadth first."""
        self._stored(doc_id)
        entries = self._state.entries
        return walk(self._state.lineage, doc_id, max_depth, entries.seq, entries.__contains__)


def _rename(p: PairResult, doc_id: str, to: str) -> PairResult:
    """The same pair with one article's id changed (a probe must not collide with a stored id)."""
    a = to if p.a == doc_id else p.a
    b = to if p.b == doc_id else p.b
    return PairResult(a, b, p.relation, p.coverage_a, p.coverage_b, p.lexical, p.semantic, p.passages)
