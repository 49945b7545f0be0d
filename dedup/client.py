"""A small Python client for the dedup.v1 service. It speaks plain dataclasses, not protobuf.

    from dedup.client import DedupClient

    with DedupClient("localhost:50051") as dedup:
        reply = dedup.ingest(Article("a1", text, outlet="Reuters"))
        print(reply.analysis.cluster, [p.id for p in reply.analysis.parents])

Errors come back as dedup's own exceptions: ``InvalidArgument``, ``NotFound``,
``ResourceExhausted``, ``DeadlineExceeded``, ``Unavailable``, ``Internal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc

from dedup.cluster import ClusterEvent, ClusterEventKind
from dedup.document import Article, parse_timestamp
from dedup.engine import ClusterView, IngestOutcome, LineageEdge
from dedup.errors import (
    DeadlineExceeded,
    DedupError,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from dedup.results import DocumentAnalysis, ExternalSource, PairResult, Parent, Passage, PassageKind, Relation
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc

__all__ = ["DedupClient", "IngestReply", "Lineage"]

_ERRORS: dict[grpc.StatusCode, type[DedupError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.INTERNAL: Internal,
}


@dataclass(frozen=True)
class IngestReply:
    analysis: DocumentAnalysis
    outcome: IngestOutcome


@dataclass(frozen=True)
class Lineage:
    document_id: str
    ancestors: tuple[LineageEdge, ...]
    descendants: tuple[LineageEdge, ...]


def _enum(value: int, enum_type: Any, prefix: str) -> str:
    return str(enum_type.Name(value)).removeprefix(prefix)


def _document(article: Article) -> pb.Document:
    return pb.Document(
        id=article.id,
        text=article.text,
        title=article.title or "",
        outlet=article.outlet or "",
        url=article.url or "",
        published_at=article.published_at.isoformat() if article.published_at else "",
    )


def _analysis(a: pb.Analysis) -> DocumentAnalysis:
    return DocumentAnalysis(
        a.document_id,
        a.cluster_id or None,
        tuple(Parent(p.document_id, p.confidence, p.coverage, tuple(p.evidence)) for p in a.parents),
        tuple(ExternalSource(s.name, s.evidence, s.start, s.end) for s in a.external_sources),
        tuple(
            PairResult(
                a.document_id,
                m.document_id,
                Relation(_enum(m.relation, pb.Relation, "RELATION_")),
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
                        PassageKind(_enum(x.kind, pb.PassageKind, "PASSAGE_KIND_")),
                        x.score,
                    )
                    for x in m.passages
                ),
            )
            for m in a.matches
        ),
    )


def _edge(e: pb.Edge) -> LineageEdge:
    return LineageEdge(e.parent_id, e.child_id, e.confidence)


def _cluster(c: pb.Cluster) -> ClusterView:
    return ClusterView(
        c.id,
        tuple(c.document_ids),
        tuple(c.root_ids),
        tuple(_edge(e) for e in c.edges),
        c.create_time.ToMicroseconds() / 1e6,
        c.update_time.ToMicroseconds() / 1e6,
    )


class DedupClient:
    """A connection to a dedup server at ``target`` ("host:port")."""

    def __init__(
        self, target: str, timeout: float | None = 60.0, channel: grpc.Channel | None = None
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = channel or grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        self._stub = pb_grpc.DedupServiceStub(self._channel)

    def __enter__(self) -> DedupClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=timeout if timeout is not None else self.timeout)
        except grpc.RpcError as exc:
            raise _translate(exc) from None

    # -- writes ---------------------------------------------------------------------------------------

    def ingest(self, article: Article) -> IngestReply:
        """Store one article; its analysis comes back."""
        reply = self._call(self._stub.IngestDocument, pb.IngestDocumentRequest(document=_document(article)))
        return IngestReply(
            _analysis(reply.analysis),
            IngestOutcome(_enum(reply.outcome, pb.IngestOutcome, "INGEST_OUTCOME_")),
        )

    def ingest_many(
        self,
        articles: Iterable[Article],
        batch_size: int = 256,
        progress: bool = False,
        total: int | None = None,
    ) -> list[IngestReply]:
        """Stream articles to the server, ``batch_size`` per IngestDocuments call. Each batch is stored
        when its call returns; on an error, re-sending is safe (ingest is idempotent)."""
        bar = None
        if progress:
            from rich.progress import Progress

            bar = Progress(transient=False)
            bar.start()
            task = bar.add_task("ingesting", total=total)
        replies: list[IngestReply] = []
        try:
            batch: list[Article] = []
            for article in articles:
                batch.append(article)
                if len(batch) >= batch_size:
                    replies.extend(self._stream(batch))
                    if bar is not None:
                        bar.advance(task, len(batch))
                    batch = []
            if batch:
                replies.extend(self._stream(batch))
                if bar is not None:
                    bar.advance(task, len(batch))
        finally:
            if bar is not None:
                bar.stop()
        return replies

    def _stream(self, batch: list[Article]) -> list[IngestReply]:
        requests = iter([pb.IngestDocumentRequest(document=_document(a)) for a in batch])
        reply = self._call(self._stub.IngestDocuments, requests, timeout=None)
        return [
            IngestReply(
                _analysis(r.analysis), IngestOutcome(_enum(r.outcome, pb.IngestOutcome, "INGEST_OUTCOME_"))
            )
            for r in reply.results
        ]

    def delete(self, doc_id: str) -> None:
        """Remove an article everywhere: it is never matched again."""
        self._call(self._stub.DeleteDocument, pb.DeleteDocumentRequest(id=doc_id))

    # -- reads ----------------------------------------------------------------------------------------

    def find_similar(self, article: Article | str) -> DocumentAnalysis:
        """What the article (or bare text) would match if it were stored; nothing is stored."""
        doc = pb.Document(text=article) if isinstance(article, str) else _document(article)
        reply = self._call(self._stub.FindSimilar, pb.FindSimilarRequest(document=doc))
        return _analysis(reply.analysis)

    def get_document(self, doc_id: str) -> tuple[Article, DocumentAnalysis]:
        reply = self._call(self._stub.GetDocument, pb.GetDocumentRequest(id=doc_id))
        d = reply.document
        article = Article(
            d.id,
            d.text,
            d.title or None,
            d.outlet or None,
            d.url or None,
            parse_timestamp(d.published_at) if d.published_at else None,
        )
        return article, _analysis(reply.analysis)

    def get_cluster(self, cluster_id: str) -> ClusterView:
        return _cluster(self._call(self._stub.GetCluster, pb.GetClusterRequest(id=cluster_id)))

    def list_clusters(
        self, page_size: int = 100, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[ClusterView]:
        """Every cluster updated in [start, end), most recently updated first; pages are fetched for you."""
        request = pb.ListClustersRequest(page_size=page_size)
        if start is not None:
            request.start_time.FromDatetime(start)
        if end is not None:
            request.end_time.FromDatetime(end)
        while True:
            reply = self._call(self._stub.ListClusters, request)
            for c in reply.clusters:
                yield _cluster(c)
            if not reply.next_page_token:
                return
            request.page_token = reply.next_page_token

    def lineage(self, doc_id: str, max_depth: int = 32) -> Lineage:
        reply = self._call(self._stub.GetLineage, pb.GetLineageRequest(id=doc_id, max_depth=max_depth))
        return Lineage(
            reply.document_id,
            tuple(_edge(e) for e in reply.ancestors),
            tuple(_edge(e) for e in reply.descendants),
        )

    def watch(self, timeout: float | None = None) -> Iterator[ClusterEvent]:
        """Cluster events as they happen, until the server ends the stream or ``timeout`` passes."""
        stream = self._stub.WatchClusters(pb.WatchClustersRequest(), timeout=timeout)
        try:
            for ev in stream:
                yield ClusterEvent(
                    ClusterEventKind(_enum(ev.type, pb.ClusterEventType, "CLUSTER_EVENT_TYPE_")),
                    ev.cluster_id,
                    ev.document_id or None,
                    tuple(ev.merged_cluster_ids),
                )
        except grpc.RpcError as exc:
            if (
                exc.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED)
                and timeout is not None
            ):
                return
            raise _translate(exc) from None
        finally:
            stream.cancel()


def _translate(exc: grpc.RpcError) -> DedupError:
    code = exc.code()
    details = exc.details() or code.name
    cls = _ERRORS.get(code, DedupError)
    return cls(f"{code.name}: {details}")
