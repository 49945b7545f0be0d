"""Protobuf messages to domain objects and back. No logic beyond the mapping."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from dedup.cluster import ClusterEvent, ClusterEventKind
from dedup.document import Article, parse_timestamp
from dedup.engine import ClusterView, IngestOutcome, LineageEdge
from dedup.errors import InvalidArgument
from dedup.results import DocumentAnalysis, PairResult, PassageKind, Relation
from dedup.v1 import dedup_pb2 as pb

__all__ = [
    "PROBE_ID",
    "analysis_to_pb",
    "article_from_pb",
    "article_to_pb",
    "cluster_to_pb",
    "edge_to_pb",
    "event_to_pb",
    "outcome_to_pb",
    "timestamp",
]

PROBE_ID = "\x00query"
"""The id FindSimilar gives an article sent without one."""

_KIND = {
    PassageKind.VERBATIM: pb.PASSAGE_KIND_VERBATIM,
    PassageKind.NEAR_VERBATIM: pb.PASSAGE_KIND_NEAR_VERBATIM,
    PassageKind.PARAPHRASE: pb.PASSAGE_KIND_PARAPHRASE,
}
_RELATION = {
    Relation.DUPLICATE: pb.RELATION_DUPLICATE,
    Relation.WHOLLY_DERIVED: pb.RELATION_WHOLLY_DERIVED,
    Relation.PARTIALLY_DERIVED: pb.RELATION_PARTIALLY_DERIVED,
    Relation.SAME_STORY: pb.RELATION_SAME_STORY,
}
_OUTCOME = {
    IngestOutcome.CREATED: pb.INGEST_OUTCOME_CREATED,
    IngestOutcome.REPLACED: pb.INGEST_OUTCOME_REPLACED,
    IngestOutcome.UNCHANGED: pb.INGEST_OUTCOME_UNCHANGED,
}
_EVENT = {
    ClusterEventKind.CREATED: pb.CLUSTER_EVENT_TYPE_CREATED,
    ClusterEventKind.DOCUMENT_ADDED: pb.CLUSTER_EVENT_TYPE_DOCUMENT_ADDED,
    ClusterEventKind.MERGED: pb.CLUSTER_EVENT_TYPE_MERGED,
    ClusterEventKind.DOCUMENT_REMOVED: pb.CLUSTER_EVENT_TYPE_DOCUMENT_REMOVED,
}


def timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromtimestamp(seconds, tz=UTC))
    return ts


def article_from_pb(doc: pb.Document, *, id_required: bool = True) -> Article:
    """A domain article from a request's Document; InvalidArgument says which field to fix."""
    if not doc.id and id_required:
        raise InvalidArgument("document.id is empty; give every document a unique id (1 to 256 characters)")
    if not doc.text.strip():
        raise InvalidArgument(f"document {doc.id!r}: document.text is empty; send the article's full text")
    published = None
    if doc.published_at:
        try:
            published = parse_timestamp(doc.published_at)
        except InvalidArgument as exc:
            raise InvalidArgument(f"document.published_at: {exc}") from None
    return Article(
        doc.id or PROBE_ID,
        doc.text,
        doc.title or None,
        doc.outlet or None,
        doc.url or None,
        published,
    )


def article_to_pb(article: Article) -> pb.Document:
    return pb.Document(
        id=article.id,
        text=article.text,
        title=article.title or "",
        outlet=article.outlet or "",
        url=article.url or "",
        published_at=article.published_at.isoformat() if article.published_at else "",
    )


def _match_to_pb(p: PairResult) -> pb.Match:
    return pb.Match(
        document_id=p.b,
        relation=_RELATION[p.relation],
        coverage=p.coverage_a,
        other_coverage=p.coverage_b,
        lexical=p.lexical,
        semantic=p.semantic,
        passages=[
            pb.Passage(
                start=x.a_start,
                end=x.a_end,
                other_start=x.b_start,
                other_end=x.b_end,
                kind=_KIND[x.kind],
                score=x.score,
            )
            for x in p.passages
        ],
    )


def analysis_to_pb(a: DocumentAnalysis) -> pb.Analysis:
    return pb.Analysis(
        document_id="" if a.id == PROBE_ID else a.id,
        cluster_id=a.cluster or "",
        parents=[
            pb.Parent(
                document_id=p.id, confidence=p.confidence, coverage=p.coverage, evidence=list(p.evidence)
            )
            for p in a.parents
        ],
        external_sources=[
            pb.ExternalSource(name=s.name, evidence=s.evidence, start=s.start, end=s.end)
            for s in a.external_sources
        ],
        matches=[_match_to_pb(m) for m in a.matches],
    )


def outcome_to_pb(outcome: IngestOutcome) -> pb.IngestOutcome:
    return _OUTCOME[outcome]


def edge_to_pb(e: LineageEdge) -> pb.Edge:
    return pb.Edge(parent_id=e.parent, child_id=e.child, confidence=e.confidence)


def cluster_to_pb(c: ClusterView) -> pb.Cluster:
    return pb.Cluster(
        id=c.id,
        document_ids=list(c.documents),
        root_ids=list(c.roots),
        edges=[edge_to_pb(e) for e in c.edges],
        create_time=timestamp(c.create_time),
        update_time=timestamp(c.update_time),
    )


def event_to_pb(event: ClusterEvent, at: float) -> pb.ClusterEvent:
    return pb.ClusterEvent(
        type=_EVENT[event.kind],
        cluster_id=event.cluster,
        document_id=event.document or "",
        merged_cluster_ids=list(event.merged),
        event_time=timestamp(at),
    )
