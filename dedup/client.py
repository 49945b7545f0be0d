"""A small Python client for the dedup.v1 service. It speaks plain dataclasses, not protobuf.

    from dedup.client import DedupClient

    with DedupClient("localhost:50051") as dedup:
        reply = dedup.ingest(Article("a1", text, outlet="Reuters"))
        print(reply.analysis.cluster, [p.id for p in reply.analysis.parents])

Errors come back as dedup's own exceptions: ``InvalidArgument``, ``NotFound``,
``ResourceExhausted``, ``DeadlineExceeded``, ``Unavailable``, ``Internal``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc

from dedup.article import Article
from dedup.errors import DedupError, InvalidArgument
from dedup.results import (
    Analysis,
    ClusterResult,
    ClusterView,
    DocumentAnalysis,
    DocumentResult,
    Edge,
    EventRecord,
    IngestOutcome,
    LineageEdge,
    PairResult,
)
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from dedup.wire import (
    analysis_from_pb,
    article_from_stored_pb,
    article_to_pb,
    cluster_from_pb,
    edge_from_pb,
    error_from_status,
    event_from_pb,
    outcome_from_pb,
)

__all__ = ["DedupClient", "IngestReply", "Lineage", "StoreInfo", "progress_bar"]


@dataclass(frozen=True)
class IngestReply:
    analysis: DocumentAnalysis
    outcome: IngestOutcome


@dataclass(frozen=True)
class StoreInfo:
    """The store a server answers from: servers with the same ``id`` share it (replicas)."""

    id: str
    document_count: int


@dataclass(frozen=True)
class Lineage:
    document_id: str
    ancestors: tuple[LineageEdge, ...]
    descendants: tuple[LineageEdge, ...]


class DedupClient:
    """A connection to a dedup server at ``target`` ("host:port").

    Over TLS when given ``tls_ca`` (the PEM file of the CA that signed the server's certificate) or
    ``tls=True`` (the system's CAs); with ``tls_cert`` and ``tls_key`` too for a server that wants
    client certificates (mutual TLS). ``token`` is sent with every call as
    ``authorization: Bearer <token>`` for a server started with ``--tokens``."""

    def __init__(
        self,
        target: str,
        timeout: float | None = 60.0,
        channel: grpc.Channel | None = None,
        *,
        tls: bool = False,
        tls_ca: str | Path | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        token: str | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        options = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
        if channel is not None:
            self._channel = channel
        elif tls or tls_ca or tls_cert or tls_key:
            if (tls_cert is None) != (tls_key is None):
                raise InvalidArgument("give both --tls-cert and --tls-key (a client certificate and its key)")
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(tls_ca, "CA certificate (--tls-ca)"),
                private_key=_pem(tls_key, "client key (--tls-key)"),
                certificate_chain=_pem(tls_cert, "client certificate (--tls-cert)"),
            )
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = pb_grpc.DedupServiceStub(self._channel)

    def __enter__(self) -> DedupClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(
                request, timeout=timeout if timeout is not None else self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise _translate(exc) from None

    # -- writes ---------------------------------------------------------------------------------------

    def ingest(self, article: Article) -> IngestReply:
        """Store one article; its analysis comes back."""
        reply = self._call(
            self._stub.IngestDocument, pb.IngestDocumentRequest(document=article_to_pb(article))
        )
        return IngestReply(
            analysis_from_pb(reply.analysis),
            outcome_from_pb(reply.outcome),
        )

    def ingest_many(
        self,
        articles: Iterable[Article],
        progress: bool = False,
        total: int | None = None,
    ) -> Iterator[IngestReply]:
        """Stream articles to the server (StreamIngestDocuments) and yield each one's reply, in order, as
        soon as the server has stored it: an article whose reply came is durable. The articles are read
        from ``articles`` as the stream goes, so any iterable, however long, will do. If the stream
        breaks, the error says how many were answered; sending the others again is safe (ingest is
        idempotent). ``progress``: a bar on stderr (``total``: how many to expect)."""
        source = _Requests(articles)
        with progress_bar(progress, total) as advance:
            stream = self._stub.StreamIngestDocuments(iter(source), timeout=None, metadata=self._metadata)
            try:
                for reply in stream:
                    yield IngestReply(analysis_from_pb(reply.analysis), outcome_from_pb(reply.outcome))
                    advance()
            except grpc.RpcError as exc:
                if source.error is not None:  # reading the articles failed: grpc cancelled the stream
                    raise source.error from None
                raise _translate(exc) from None
            finally:
                stream.cancel()
        if source.error is not None:
            raise source.error

    def delete(self, doc_id: str) -> None:
        """Remove an article everywhere: it is never matched again."""
        self._call(self._stub.DeleteDocument, pb.DeleteDocumentRequest(id=doc_id))

    # -- reads ----------------------------------------------------------------------------------------

    def find_similar(self, article: Article | str) -> DocumentAnalysis:
        """What the article (or bare text) would match if it were stored; nothing is stored."""
        doc = pb.Document(text=article) if isinstance(article, str) else article_to_pb(article)
        reply = self._call(self._stub.FindSimilar, pb.FindSimilarRequest(document=doc))
        return analysis_from_pb(reply.analysis)

    def get_store(self) -> StoreInfo:
        """The store the server answers from (GetStore)."""
        reply = self._call(self._stub.GetStore, pb.GetStoreRequest())
        return StoreInfo(reply.id, reply.document_count)

    def get_document(self, doc_id: str) -> tuple[Article, DocumentAnalysis]:
        reply = self._call(self._stub.GetDocument, pb.GetDocumentRequest(id=doc_id))
        return article_from_stored_pb(reply.document), analysis_from_pb(reply.analysis)

    def get_cluster(self, cluster_id: str) -> ClusterView:
        return cluster_from_pb(self._call(self._stub.GetCluster, pb.GetClusterRequest(id=cluster_id)).cluster)

    def cluster_analysis(self, cluster_id: str) -> tuple[Analysis, dict[str, Article]]:
        """One stored story as ``dedup analyze`` would give it, for a report: its articles, their
        parents and sources, every pair they are in (each once), and the articles outside the story
        those pairs reach (which a report shows under "across stories")."""
        view = self.get_cluster(cluster_id)
        articles: dict[str, Article] = {}
        documents: dict[str, DocumentResult] = {}
        pairs: dict[frozenset[str], PairResult] = {}

        def fetch(doc_id: str) -> DocumentAnalysis:
            article, a = self.get_document(doc_id)
            articles[doc_id] = article
            documents[doc_id] = DocumentResult(
                doc_id, a.cluster or "", a.parents, a.external_sources, a.duplicate_group
            )
            return a

        for doc_id in view.documents:
            for m in fetch(doc_id).matches:
                pairs.setdefault(frozenset((m.a, m.b)), m)
        for p in list(pairs.values()):
            for doc_id in (p.a, p.b):
                if doc_id not in articles:
                    fetch(doc_id)
        edges = tuple(Edge(e.parent, e.child, e.confidence) for e in view.edges)
        cluster = ClusterResult(view.id, view.documents, view.roots, edges)
        analysis = Analysis(tuple(documents.values()), (cluster,), tuple(pairs.values()))
        return analysis, articles

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
                yield cluster_from_pb(c)
            if not reply.next_page_token:
                return
            request.page_token = reply.next_page_token

    def lineage(self, doc_id: str, max_depth: int = 32) -> Lineage:
        reply = self._call(self._stub.GetLineage, pb.GetLineageRequest(id=doc_id, max_depth=max_depth))
        return Lineage(
            reply.document_id,
            tuple(edge_from_pb(e) for e in reply.ancestors),
            tuple(edge_from_pb(e) for e in reply.descendants),
        )

    def watch(self, timeout: float | None = None, after: int | None = None) -> Iterator[EventRecord]:
        """Cluster events, each with its sequence number, until the server ends the stream or ``timeout``
        passes. ``after``: the sequence of the last event handled; the stored events after it come
        first, then new ones as they happen, none missed and none twice (``OutOfRange`` when they are no
        longer kept: read the clusters again, then watch anew). None: the events from now on."""
        request = pb.WatchClustersRequest(after_sequence=after)  # None leaves the field unset
        stream = self._stub.WatchClusters(request, timeout=timeout, metadata=self._metadata)
        try:
            for ev in stream:
                yield event_from_pb(ev)
        except grpc.RpcError as exc:
            if (
                exc.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED)
                and timeout is not None
            ):
                return
            raise _translate(exc) from None
        finally:
            stream.cancel()


@contextmanager
def progress_bar(shown: bool, total: int | None, what: str = "ingesting") -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (stdout carries a command's result: `dedup ingest ... > out.json`) while
    the block runs; yields the function that advances it by one. Nothing is shown when ``shown`` is
    false or rich is not installed (a client-only install)."""
    try:
        from rich.console import Console
        from rich.progress import Progress
    except ImportError:
        shown = False
    if not shown:
        yield lambda: None
        return
    bar = Progress(console=Console(stderr=True), transient=False)
    bar.start()
    task = bar.add_task(what, total=total)
    try:
        yield lambda: bar.advance(task, 1)
    finally:
        bar.stop()


class _Requests:
    """The stream's requests, made from the articles as grpc asks for them. grpc reads them on a thread
    of its own, and an error there only cancels the call: it is kept here for the caller to see."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self._articles = articles
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pb.StreamIngestDocumentsRequest]:
        try:
            for article in self._articles:
                yield pb.StreamIngestDocumentsRequest(document=article_to_pb(article))
        except Exception as exc:
            self.error = exc
            raise


def _pem(path: str | Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read the {what} {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise InvalidArgument(f"the {what} {path} is not PEM (it has no -----BEGIN line)")
    return data


def _translate(exc: grpc.RpcError) -> DedupError:
    return error_from_status(exc.code(), exc.details() or exc.code().name)
