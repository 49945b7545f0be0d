"""dedup.v1.DedupService: requests in, engine calls, replies out. Errors are raised, never
aborted here: the interceptor maps them to status codes."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import grpc

from dedup.document import Article
from dedup.engine import Engine, IngestResult
from dedup.errors import (
    DeadlineExceeded,
    DedupError,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from dedup.wire import (
    PROBE_ID,
    analysis_to_pb,
    article_from_pb,
    article_to_pb,
    cluster_to_pb,
    edge_to_pb,
    event_to_pb,
    outcome_to_pb,
    renamed,
    shown,
    shown_id,
    time_from_pb,
    timestamp,
    valid_id,
)

__all__ = ["DedupServicer"]

STREAM_BATCH = 32
"""A stream's articles are stored (and embedded) together up to this many at a time ..."""
STREAM_IDLE_SECONDS = 0.005
"""... or those that arrived before the stream paused this long."""
STREAM_IDLE_LIMIT = 300.0
"""Default seconds an ingest stream may stay without an article (``DedupServicer.stream_idle``)."""
MAX_BATCH = 1000
"""BatchIngestDocuments takes at most this many requests."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
"""ListClusters pages hold at most this many clusters; a larger page_size is INVALID_ARGUMENT."""
MAX_LINEAGE_DEPTH = 32
WATCH_WAKE_SECONDS = 60.0
"""A watch waiting for events looks again after this long even if nothing woke it."""


def _check_deadline(context: grpc.ServicerContext) -> None:
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceeded("the deadline passed before the request could be served; allow more time")


@contextmanager
def _concerning(doc_id: str, what: str = "document", query: bool = False) -> Iterator[None]:
    """Errors raised inside name the document (or cluster) they concern, its id cut to a readable
    length (``shown``): where the message quotes the id in full, the quote is shortened; otherwise the
    message starts with the name. ``query``: FindSimilar's document sent without an id (the engine
    knows it as ``PROBE_ID``), named "the query document"."""
    try:
        yield
    except DedupError as exc:
        raise renamed(exc, _naming(str(exc), doc_id, what, query)) from None


def _naming(message: str, doc_id: str, what: str, query: bool) -> str:
    if not doc_id and not query:
        return message  # no id to name it by (the message says the id is missing)
    full = repr(doc_id)
    name = "the query document" if query else f"{what} {shown(doc_id)}"
    if f"{what} {full}" in message:
        return message.replace(f"{what} {full}", name)
    if full in message:
        return message.replace(full, "the query" if query else shown(doc_id))
    return f"{name}: {message}"


def _ingest_reply(result: IngestResult) -> pb.IngestDocumentResponse:
    return pb.IngestDocumentResponse(
        analysis=analysis_to_pb(result.analysis), outcome=outcome_to_pb(result.outcome)
    )


def _shorten_ids(message: str, articles: Iterable[Article]) -> str:
    """The engine quotes ids in full: a message names them cut to a readable length."""
    for a in articles:
        message = message.replace(repr(a.id), shown_id(a.id))
    return message


def _stream_error(exc: BaseException, position: int) -> BaseException:
    """The error that ends a stream at ``position``, saying what was stored."""
    if not isinstance(exc, InvalidArgument):
        return exc  # the stream itself broke (cancelled, or the server is stopping)
    return InvalidArgument(
        f"document #{position} of the stream: {exc} ({position} earlier documents are stored and were "
        "answered; send the others again: ingest is idempotent)"
    )


_END = object()  # the client closed its side of the stream
_IDLE = object()  # nothing arrived for a while


class _Inbox:
    """The requests of a stream, read by a thread of its own into a bounded queue, so that the handler
    can wait for the next one with a timeout."""

    def __init__(self, requests: Iterable[Any]) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2 * STREAM_BATCH)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(iter(requests),), daemon=True)
        self._thread.start()

    def _read(self, requests: Iterator[Any]) -> None:
        try:
            for request in requests:
                if not self._put(request):
                    return
            self._put(_END)
        except BaseException as exc:  # a malformed message, or the call ended
            self._put(exc)

    def _put(self, item: Any) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float | None) -> Any:
        """The next request, ``_END``, the exception that broke the stream, or ``_IDLE`` after
        ``timeout`` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return _IDLE

    def close(self) -> None:
        """The handler is done: the reader stops at its next request (the call's end stops it too)."""
        self._closed.set()


def _read_ahead(inbox: _Inbox, held: deque[Any]) -> list[Article]:
    """The articles of the requests that have already arrived after a batch, up to a batch of them: read
    from ``inbox`` into ``held`` (handled, in order, once the batch is stored), without waiting, and
    up to the first request that is not a valid article."""
    while len(held) < STREAM_BATCH and (not held or isinstance(held[-1], pb.StreamIngestDocumentsRequest)):
        item = inbox.get(0)
        if item is _IDLE:
            break
        held.append(item)
    articles = []
    for item in held:
        if not isinstance(item, pb.StreamIngestDocumentsRequest):
            break
        try:
            articles.append(article_from_pb(item.document))
        except DedupError:
            break
    return articles


class DedupServicer(pb_grpc.DedupServiceServicer):
    def __init__(self, engine: Engine, stream_idle: float = STREAM_IDLE_LIMIT) -> None:
        self.engine = engine
        self.stream_idle = stream_idle
        """Seconds an ingest stream may wait for its next article before it is closed (UNAVAILABLE):
        an idle stream holds one of the server's few stream places."""
        self._closing = threading.Event()
        self._pending = 0
        self._pending_lock = threading.Lock()

    @property
    def pending_articles(self) -> int:
        """Articles received and not yet acknowledged (the metrics' ingest queue depth)."""
        return self._pending

    @contextmanager
    def _receiving(self, n: int) -> Iterator[None]:
        """``n`` articles are pending while the block runs."""
        self._count(n)
        try:
            yield
        finally:
            self._count(-n)

    def close(self) -> None:
        """Ends the watch streams (the server is shutting down)."""
        self._closing.set()
        self.engine.wake_watchers()

    def _id(self, value: str) -> str:
        """A request's id, checked before the engine sees it: no stored document or cluster can have
        an id that is blank, holds a control character or is longer than ``limits.max_id_length``."""
        limit = self.engine.config.limits.max_id_length
        if len(value) > limit:
            raise InvalidArgument(
                f"id is {len(value)} characters long; ids are at most {limit} characters "
                "(limits.max_id_length), so nothing has this one"
            )
        return valid_id(value, "id")

    # -- writes ---------------------------------------------------------------------------------------

    def IngestDocument(self, request: pb.IngestDocumentRequest, context: grpc.ServicerContext) -> Any:
        with _concerning(request.document.id), self._receiving(1):
            _check_deadline(context)
            return _ingest_reply(
                self.engine.ingest(article_from_pb(request.document), deadline=context.time_remaining)
            )

    def BatchIngestDocuments(
        self, request: pb.BatchIngestDocumentsRequest, context: grpc.ServicerContext
    ) -> Any:
        n = len(request.requests)
        if not 1 <= n <= MAX_BATCH:
            raise InvalidArgument(
                f"a batch holds 1 to {MAX_BATCH} requests (got {n}); split it into several calls, or "
                "use StreamIngestDocuments"
            )
        articles = []
        for i, r in enumerate(request.requests):
            try:
                with _concerning(r.document.id):
                    article = article_from_pb(r.document)
                    self.engine.check(article)
            except InvalidArgument as exc:
                raise InvalidArgument(f"requests[{i}]: {exc} (nothing in this batch was stored)") from None
            articles.append(article)
        with self._receiving(n):
            _check_deadline(context)
            try:
                results = self.engine.ingest_many(articles, deadline=context.time_remaining)
            except DedupError as exc:
                raise renamed(exc, _shorten_ids(str(exc), articles)) from None
        return pb.BatchIngestDocumentsResponse(responses=[_ingest_reply(r) for r in results])

    def StreamIngestDocuments(
        self, request_iterator: Iterable[pb.StreamIngestDocumentsRequest], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        """Reads the stream on a thread of its own, so that the articles that arrived while a batch was
        being stored form the next batch; answers each article once its batch is committed. The
        articles already received after a batch go to the engine with it as ``upcoming``: the model
        embeds them while the batch is matched."""
        inbox = _Inbox(request_iterator)
        answered = 0  # articles answered so far: the stream position of batch[0]
        batch: list[Article] = []
        held: deque[Any] = deque()  # requests read ahead of the batch being stored (``_read_ahead``)
        try:
            while True:
                # A full batch is stored at once; a partial one when the stream pauses (or ends).
                timeout = self.stream_idle if not batch else STREAM_IDLE_SECONDS
                item = held.popleft() if held else inbox.get(timeout)
                if item is _IDLE and not batch:
                    raise Unavailable(
                        f"no article came on this stream for {self.stream_idle:g} s: it is closed to free "
                        f"its place ({answered} articles were stored and answered); open a new stream when "
                        "there is more to send"
                    )
                failure: BaseException | None = None
                if isinstance(item, pb.StreamIngestDocumentsRequest):
                    try:
                        with _concerning(item.document.id):
                            article = article_from_pb(item.document)
                            self.engine.check(article)
                        batch.append(article)
                        self._count(1)
                        if len(batch) < STREAM_BATCH:
                            continue
                    except InvalidArgument as exc:
                        failure = exc
                elif isinstance(item, BaseException):
                    failure = item
                upcoming = _read_ahead(inbox, held) if failure is None and item is not _END else []
                for reply in self._store_batch(batch, answered, context, upcoming):
                    answered += 1
                    self._count(-1)
                    del batch[0]
                    yield reply
                if failure is not None:
                    raise _stream_error(failure, answered) from None
                if item is _END:
                    return
        finally:
            inbox.close()
            self._count(-len(batch))  # received, never answered

    def _count(self, n: int) -> None:
        with self._pending_lock:
            self._pending += n

    def _store_batch(
        self,
        batch: list[Article],
        first: int,
        context: grpc.ServicerContext,
        upcoming: Sequence[Article] = (),
    ) -> Iterator[pb.StreamIngestDocumentsResponse]:
        """Stores the articles of a stream from position ``first``; their replies, in order."""
        if not batch:
            return
        try:
            _check_deadline(context)
            results = self.engine.ingest_many(batch, deadline=context.time_remaining, upcoming=upcoming)
        except DedupError as exc:
            ids = ", ".join(shown_id(a.id) for a in batch[:3]) + (", ..." if len(batch) > 3 else "")
            raise renamed(
                exc,
                f"documents #{first} to #{first + len(batch) - 1} of the stream ({ids}): "
                f"{_shorten_ids(str(exc), batch)} ({first} earlier documents are stored and were answered; "
                "send the others again: ingest is idempotent)",
            ) from None
        for r in results:
            yield pb.StreamIngestDocumentsResponse(
                analysis=analysis_to_pb(r.analysis), outcome=outcome_to_pb(r.outcome)
            )

    def DeleteDocument(self, request: pb.DeleteDocumentRequest, context: grpc.ServicerContext) -> Any:
        with _concerning(request.id):
            self.engine.delete(self._id(request.id), deadline=context.time_remaining)
        return pb.DeleteDocumentResponse()

    # -- reads ----------------------------------------------------------------------------------------

    def FindSimilar(self, request: pb.FindSimilarRequest, context: grpc.ServicerContext) -> Any:
        with _concerning(request.document.id or PROBE_ID, query=not request.document.id):
            _check_deadline(context)
            article = article_from_pb(request.document, id_required=False)
            found = self.engine.find_similar(article, deadline=context.time_remaining)
            return pb.FindSimilarResponse(analysis=analysis_to_pb(found))

    def GetDocument(self, request: pb.GetDocumentRequest, context: grpc.ServicerContext) -> Any:
        with _concerning(request.id):
            doc_id = self._id(request.id)
            article, ingested = self.engine.document(doc_id)
            return pb.GetDocumentResponse(
                document=article_to_pb(article),
                analysis=analysis_to_pb(self.engine.analysis(doc_id)),
                ingest_time=timestamp(ingested),
            )

    def GetCluster(self, request: pb.GetClusterRequest, context: grpc.ServicerContext) -> Any:
        with _concerning(request.id, "cluster"):
            return pb.GetClusterResponse(cluster=cluster_to_pb(self.engine.cluster(self._id(request.id))))

    def ListClusters(self, request: pb.ListClustersRequest, context: grpc.ServicerContext) -> Any:
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            raise InvalidArgument(
                f"page_size is {request.page_size}; give 1 to {MAX_PAGE_SIZE} (the maximum), "
                f"or 0 for {DEFAULT_PAGE_SIZE}"
            )
        size = request.page_size or DEFAULT_PAGE_SIZE
        start = time_from_pb(request.start_time, "start_time") if request.HasField("start_time") else None
        end = time_from_pb(request.end_time, "end_time") if request.HasField("end_time") else None
        if start is not None and end is not None and end <= start:
            raise InvalidArgument("end_time must be after start_time")
        fingerprint = hashlib.sha256(f"{start}|{end}".encode()).hexdigest()[:12]
        after = _decode_token(request.page_token, fingerprint) if request.page_token else None
        records = [
            c
            for c in self.engine.clusters()
            if (start is None or c.update_time >= start) and (end is None or c.update_time < end)
        ]
        records.sort(key=lambda c: (-c.update_time, c.id))
        if after is not None:
            records = [c for c in records if (-c.update_time, c.id) > (-after[0], after[1])]
        page = records[:size]
        clusters = []
        for rec in page:
            try:
                clusters.append(cluster_to_pb(self.engine.cluster(rec.id)))
            except NotFound:  # merged away since the list was taken
                continue
        token = _encode_token(page[-1].update_time, page[-1].id, fingerprint) if len(records) > size else ""
        return pb.ListClustersResponse(clusters=clusters, next_page_token=token)

    def GetLineage(self, request: pb.GetLineageRequest, context: grpc.ServicerContext) -> Any:
        if request.max_depth < 0:
            raise InvalidArgument(f"max_depth must not be negative (got {request.max_depth})")
        depth = min(request.max_depth or MAX_LINEAGE_DEPTH, MAX_LINEAGE_DEPTH)
        with _concerning(request.id):
            doc_id = self._id(request.id)
            up, down = self.engine.lineage(doc_id, depth)
        return pb.GetLineageResponse(
            document_id=doc_id,
            ancestors=[edge_to_pb(e) for e in up],
            descendants=[edge_to_pb(e) for e in down],
        )

    def GetStore(self, request: pb.GetStoreRequest, context: grpc.ServicerContext) -> Any:
        return pb.GetStoreResponse(id=self.engine.store_id, document_count=len(self.engine))

    def WatchClusters(self, request: pb.WatchClustersRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        """The stored events after ``after_sequence`` (when set), then new ones as they are committed.
        Every event is read from the store by its sequence, so one committed while the stream reads or
        waits is read next: none is missed and none sent twice. A cursor that falls behind the events
        kept is OUT_OF_RANGE (``Engine.events``). Ends when the call does (cancelled, past its deadline),
        and with UNAVAILABLE when the server stops."""
        ended = threading.Event()

        def end() -> None:
            ended.set()
            self.engine.wake_watchers()

        context.add_callback(end)

        def stopping() -> bool:
            return ended.is_set() or self._closing.is_set() or not context.is_active()

        cursor = request.after_sequence if request.HasField("after_sequence") else self.engine.last_event()
        while not stopping():
            page = self.engine.events(cursor)
            for record in page:
                yield event_to_pb(record)
                cursor = record.sequence
            if not page:
                # Woken by the next commit, the call's end or the server's stop; the timeout only bounds
                # a wait that something unforeseen failed to wake.
                self.engine.wait_for_events(cursor, WATCH_WAKE_SECONDS, stopping)
        if self._closing.is_set():
            raise Unavailable("the server is shutting down; reconnect to go on watching")


def _encode_token(update_time: float, cluster_id: str, fingerprint: str) -> str:
    raw = json.dumps({"v": 1, "t": update_time, "id": cluster_id, "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> tuple[float, str]:
    bad = InvalidArgument(
        "page_token is not one this server issued; pass the next_page_token of the previous reply, "
        "or no token for the first page"
    )
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if raw.get("v") != 1:
            raise bad
        if raw["f"] != fingerprint:
            raise InvalidArgument(
                "page_token was issued for other start_time/end_time filters; keep them the same"
            )
        when, cluster_id = float(raw["t"]), raw["id"]
        if not math.isfinite(when) or not isinstance(cluster_id, str):  # ours never are
            raise bad
        return when, cluster_id
    except InvalidArgument:
        raise
    except Exception:
        raise bad from None
