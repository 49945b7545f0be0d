"""dedup.v1 protobuf messages to domain objects and back, and domain errors to gRPC status codes.

Shared by the server (``server/``) and the client (``dedup.client``), the only two
places that speak protobuf; the core never imports this module.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from dedup.article import Article, parse_timestamp
from dedup.config import LimitsConfig
from dedup.errors import (
    Aborted,
    DeadlineExceeded,
    DedupError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from dedup.results import (
    ClusterEvent,
    ClusterEventKind,
    ClusterView,
    DocumentAnalysis,
    DuplicateGroup,
    EventRecord,
    ExternalSource,
    IngestOutcome,
    LineageEdge,
    PairResult,
    Parent,
    Passage,
    PassageKind,
    Relation,
)
from dedup.v1 import dedup_pb2 as pb

__all__ = [
    "ERROR_STATUS",
    "MAX_MESSAGE_CHARS",
    "PROBE_ID",
    "SHOWN_CHARS",
    "analysis_from_pb",
    "analysis_to_pb",
    "article_from_pb",
    "article_from_stored_pb",
    "article_to_pb",
    "cluster_from_pb",
    "cluster_to_pb",
    "edge_from_pb",
    "edge_to_pb",
    "error_from_status",
    "event_from_pb",
    "event_to_pb",
    "outcome_from_pb",
    "outcome_to_pb",
    "public_message",
    "renamed",
    "shown",
    "shown_id",
    "status_for",
    "time_from_pb",
    "timestamp",
    "valid_id",
]

ERROR_STATUS: list[tuple[type[DedupError], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (OutOfRange, grpc.StatusCode.OUT_OF_RANGE),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (Aborted, grpc.StatusCode.ABORTED),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Internal, grpc.StatusCode.INTERNAL),
]
"""Each domain error and its status code: the server maps one way, the client the other."""


def status_for(error: DedupError) -> grpc.StatusCode:
    for cls, code in ERROR_STATUS:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def error_from_status(code: grpc.StatusCode, details: str) -> DedupError:
    for cls, status in ERROR_STATUS:
        if status == code:
            return cls(f"{code.name}: {details}")
    return DedupError(f"{code.name}: {details}")


def renamed(error: DedupError, message: str) -> DedupError:
    """An error of the same kind (the same status code) with another message."""
    for cls, _ in ERROR_STATUS:
        if isinstance(error, cls):
            return cls(message)
    return DedupError(message)


PROBE_ID = "\x00query"
"""The id FindSimilar gives an article sent without one. Ids with control characters are refused
(``valid_id``), so no stored article can have it."""

SHOWN_CHARS = 80
"""A value echoed in an error message shows at most this many characters (then "...")."""

MAX_MESSAGE_CHARS = 1000
"""Longest error message sent to a client. gRPC carries the message in the trailing metadata, which
clients refuse past 16 KB (the call then fails with RESOURCE_EXHAUSTED instead of its own code)."""

_PROBE_REPR = re.compile(r"""(['"])\\x00(?:query|probe:(.*?))\1""")


def shown(value: str) -> str:
    """``value`` as error messages echo it: quoted, cut to ``SHOWN_CHARS`` characters, its control
    characters written "<U+0000>" (never as Python escapes, which internal ids are recognised by)."""
    cut = value[:SHOWN_CHARS]
    if not cut.isprintable():
        cut = "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) == "Cc" else c for c in cut)
    if len(value) <= SHOWN_CHARS:
        return repr(cut)
    return f"{cut!r}... ({len(value)} characters)"


def shown_id(doc_id: str) -> str:
    """How error messages name a document: its id as ``shown``, or "the query" for FindSimilar's
    document sent without an id."""
    return "the query" if doc_id == PROBE_ID else shown(doc_id)


def public_message(message: str) -> str:
    """An error message as the client gets it: FindSimilar's internal ids (``PROBE_ID``, and the
    engine's ``"\\x00probe:<id>"``) replaced by what the client sent, and at most
    ``MAX_MESSAGE_CHARS`` characters."""

    def client_side(match: re.Match[str]) -> str:
        given = match.group(2)
        return "the query" if not given else f"{match.group(1)}{given}{match.group(1)}"

    message = _PROBE_REPR.sub(client_side, message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 20] + " ... (message cut)"
    return message


def valid_id(value: str, field: str) -> str:
    """``value`` if it can be a document or cluster id; InvalidArgument if it is blank or holds a
    control character (NUL, a line break...): such ids are never stored, and internal ids use them."""
    if not value.strip():
        raise InvalidArgument(f"{field} is empty; give the id of a stored document or cluster")
    for i, c in enumerate(value):
        if unicodedata.category(c) == "Cc":
            raise InvalidArgument(
                f"{field} holds a control character (U+{ord(c):04X}) at position {i}; ids are printable text"
            )
    return value


# The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799


def time_from_pb(ts: Timestamp, field: str) -> float:
    """A request's Timestamp in seconds since the epoch; InvalidArgument if it is not a valid time."""
    if not 0 <= ts.nanos <= 999_999_999:
        raise InvalidArgument(f"{field}.nanos is {ts.nanos}; it must be 0 to 999999999")
    if not _MIN_SECONDS <= ts.seconds <= _MAX_SECONDS:
        raise InvalidArgument(
            f"{field}.seconds is {ts.seconds}; it must be from {_MIN_SECONDS} to {_MAX_SECONDS} "
            "(years 1 to 9999)"
        )
    return ts.seconds + ts.nanos / 1e9


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
    Relation.COMMON_SOURCE: pb.RELATION_COMMON_SOURCE,
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
    """A domain article from a request's Document; InvalidArgument says which field to fix. Lengths
    (text, id, other fields) are the engine's to check: its limits are in the configuration.

    ``published_at`` is ISO 8601; a time without a timezone is UTC (``parse_timestamp``)."""
    if not doc.id and id_required:
        # The default limit (the engine checks the configured one, ``limits.max_id_length``).
        longest = LimitsConfig.max_id_length
        raise InvalidArgument(
            f"document.id is empty; give every document a unique id (1 to {longest} characters)"
        )
    if doc.id:
        valid_id(doc.id, "document.id")
    if not doc.text.strip():
        raise InvalidArgument("document.text is empty; send the article's full text")
    published = None
    if doc.published_at:
        try:
            published = parse_timestamp(doc.published_at)
        except InvalidArgument:
            raise InvalidArgument(
                f"document.published_at {shown(doc.published_at)} is not a date or time; give ISO 8601, "
                "such as 2022-06-17T14:05:00Z (no timezone: UTC) or 2022-06-17"
            ) from None
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
                attributed=x.attributed,
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
                document_id=p.id,
                confidence=p.confidence,
                coverage=p.coverage,
                evidence=list(p.evidence),
                alternative_ids=list(p.alternatives),
                basis=p.basis,
                rules=list(p.rules),
                cautions=list(p.cautions),
            )
            for p in a.parents
        ],
        external_sources=[
            pb.ExternalSource(name=s.name, evidence=s.evidence, start=s.start, end=s.end)
            for s in a.external_sources
        ],
        matches=[_match_to_pb(m) for m in a.matches],
        duplicate_group=_group_to_pb(a.duplicate_group) if a.duplicate_group is not None else None,
    )


def _group_to_pb(g: DuplicateGroup) -> pb.DuplicateGroup:
    def shown(doc_id: str) -> str:
        return "" if doc_id == PROBE_ID else doc_id

    return pb.DuplicateGroup(
        document_ids=[shown(d) for d in g.documents],
        original_ids=[shown(d) for d in g.originals],
        confidence=g.confidence,
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


def event_to_pb(record: EventRecord) -> pb.WatchClustersResponse:
    event = record.event
    return pb.WatchClustersResponse(
        sequence=record.sequence,
        type=_EVENT[event.kind],
        cluster_id=event.cluster,
        document_id=event.document or "",
        merged_cluster_ids=list(event.merged),
        event_time=timestamp(record.time),
    )


# -- replies back to domain objects (the client) --------------------------------------------------


def _name(value: int, enum_type: Any, prefix: str) -> str:
    return str(enum_type.Name(value)).removeprefix(prefix)


def analysis_from_pb(a: pb.Analysis) -> DocumentAnalysis:
    return DocumentAnalysis(
        a.document_id,
        a.cluster_id or None,
        tuple(
            Parent(
                p.document_id,
                p.confidence,
                p.coverage,
                tuple(p.evidence),
                tuple(p.alternative_ids),
                p.basis,
                tuple(p.rules),
                tuple(p.cautions),
            )
            for p in a.parents
        ),
        tuple(ExternalSource(s.name, s.evidence, s.start, s.end) for s in a.external_sources),
        tuple(
            PairResult(
                a.document_id,
                m.document_id,
                Relation(_name(m.relation, pb.Relation, "RELATION_")),
                m.coverage,
                m.other_coverage,
                m.lexical,
                m.semantic,
                tuple(
                    Passage(
                        x.start,
                        x.end,
                        x.other_start,
                        x.other_end,
                        PassageKind(_name(x.kind, pb.PassageKind, "PASSAGE_KIND_")),
                        x.score,
                        x.attributed,
                    )
                    for x in m.passages
                ),
            )
            for m in a.matches
        ),
        DuplicateGroup(
            tuple(a.duplicate_group.document_ids),
            tuple(a.duplicate_group.original_ids),
            a.duplicate_group.confidence,
        )
        if a.HasField("duplicate_group")
        else None,
    )


def outcome_from_pb(value: int) -> IngestOutcome:
    return IngestOutcome(_name(value, pb.IngestOutcome, "INGEST_OUTCOME_"))


def article_from_stored_pb(d: pb.Document) -> Article:
    return Article(
        d.id,
        d.text,
        d.title or None,
        d.outlet or None,
        d.url or None,
        parse_timestamp(d.published_at) if d.published_at else None,
    )


def edge_from_pb(e: pb.Edge) -> LineageEdge:
    return LineageEdge(e.parent_id, e.child_id, e.confidence)


def cluster_from_pb(c: pb.Cluster) -> ClusterView:
    return ClusterView(
        c.id,
        tuple(c.document_ids),
        tuple(c.root_ids),
        tuple(edge_from_pb(e) for e in c.edges),
        c.create_time.ToMicroseconds() / 1e6,
        c.update_time.ToMicroseconds() / 1e6,
    )


def event_from_pb(ev: pb.WatchClustersResponse) -> EventRecord:
    event = ClusterEvent(
        ClusterEventKind(_name(ev.type, pb.ClusterEventType, "CLUSTER_EVENT_TYPE_")),
        ev.cluster_id,
        ev.document_id or None,
        tuple(ev.merged_cluster_ids),
    )
    return EventRecord(ev.sequence, ev.event_time.ToMicroseconds() / 1e6, event)
