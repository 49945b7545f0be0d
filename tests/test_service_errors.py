"""Status codes and error messages of the service, against a real in-process server on loopback
(without a model: these are about the adapter, not the matching). Every refusal is a standard code
with a message that names the document and says what to fix; none echoes an unbounded field or an
internal id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dedup.config import config_from_dict
from dedup.engine import Engine
from dedup.store import SqliteStore
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from dedup.wire import MAX_MESSAGE_CHARS, SHOWN_CHARS, public_message, shown
from server.app import MESSAGE_ROOM, RunningServer, build_server
from server.servicer import MAX_PAGE_SIZE
from tests.fixtures import stories as S

MAX_TEXT = 20_000
CONFIG = config_from_dict({"embed": {"model": "none"}, "limits": {"max_text_bytes": MAX_TEXT}})


class Served:
    def __init__(self, tmp: Path) -> None:
        self.engine = Engine(CONFIG, store=SqliteStore(tmp / "dedup.sqlite3"))
        self.running: RunningServer = build_server(self.engine, "127.0.0.1:0")
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.running.port}", options=[("grpc.max_send_message_length", 64 << 20)]
        )
        self.stub = pb_grpc.DedupServiceStub(self.channel)

    def refused(self, call: Callable[..., Any], request: Any) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as info:
            call(request, timeout=30)
        code, details = info.value.code(), info.value.details()
        assert len(details) <= MAX_MESSAGE_CHARS, details
        assert "\\x00" not in details and "\x00" not in details, details  # internal ids hold a NUL
        assert "Traceback" not in details, details
        return code, details


def streamed(stub: pb_grpc.DedupServiceStub) -> Callable[..., Any]:
    """StreamIngestDocuments as a call that raises the stream's error."""
    return lambda requests, timeout: list(stub.StreamIngestDocuments(requests, timeout=timeout))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    s.stub.IngestDocument(
        pb.IngestDocumentRequest(document=pb.Document(id="orig", text=S.original())), timeout=30
    )
    yield s
    s.channel.close()
    s.running.stop(2)


def test_a_timestamp_out_of_range_is_invalid_argument(served: Served) -> None:
    """Negative nanos gave INTERNAL (protobuf's ValueError escaped)."""
    for field in ("start_time", "end_time"):
        for seconds, nanos, hint in [
            (0, -1, "nanos is -1"),
            (0, 1_000_000_000, "nanos is 1000000000"),
            (-(10**12), 0, "seconds"),
            (10**12, 0, "seconds"),
        ]:
            request = pb.ListClustersRequest()
            getattr(request, field).seconds = seconds
            getattr(request, field).nanos = nanos
            code, details = served.refused(served.stub.ListClusters, request)
            assert code is grpc.StatusCode.INVALID_ARGUMENT, (field, seconds, nanos)
            assert field in details and hint in details, details
    request = pb.ListClustersRequest()
    request.start_time.seconds = 0  # the epoch, a valid time: every cluster
    assert len(served.stub.ListClusters(request, timeout=30).clusters) == 1


def test_a_page_size_above_the_maximum_names_the_maximum(served: Served) -> None:
    code, details = served.refused(
        served.stub.ListClusters, pb.ListClustersRequest(page_size=MAX_PAGE_SIZE + 1)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and str(MAX_PAGE_SIZE) in details, details
    code, details = served.refused(served.stub.ListClusters, pb.ListClustersRequest(page_size=-1))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "page_size" in details
    assert (
        len(served.stub.ListClusters(pb.ListClustersRequest(page_size=MAX_PAGE_SIZE), timeout=30).clusters)
        == 1
    )


def test_huge_values_are_never_echoed_whole(served: Served) -> None:
    """A 100,000-character id gave RESOURCE_EXHAUSTED: the message echoed it into the trailing metadata,
    which clients refuse past 16 KB."""
    huge = "x" * 100_000
    lookups = [
        (served.stub.GetDocument, pb.GetDocumentRequest(id=huge)),
        (served.stub.DeleteDocument, pb.DeleteDocumentRequest(id=huge)),
        (served.stub.GetCluster, pb.GetClusterRequest(id=huge)),
        (served.stub.GetLineage, pb.GetLineageRequest(id=huge)),
        (
            served.stub.IngestDocument,
            pb.IngestDocumentRequest(document=pb.Document(id=huge, text="Some text.")),
        ),
        (served.stub.FindSimilar, pb.FindSimilarRequest(document=pb.Document(id=huge, text="Some text."))),
        (
            served.stub.IngestDocument,
            pb.IngestDocumentRequest(document=pb.Document(id="d", text="Some text.", published_at=huge)),
        ),
    ]
    for call, request in lookups:
        code, details = served.refused(call, request)
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (code, details[:200])
        assert "x" * SHOWN_CHARS in details or "'d'" in details  # it names what it concerns ...
        assert "x" * (SHOWN_CHARS + 1) not in details  # ... cut to SHOWN_CHARS characters
        assert "100000 characters" in details, details
    assert len(served.engine) == 1


def test_find_similar_never_shows_its_internal_ids(served: Served) -> None:
    too_big = "word " * 5_000  # over MAX_TEXT
    code, details = served.refused(
        served.stub.FindSimilar, pb.FindSimilarRequest(document=pb.Document(text=too_big))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("the query document") and f"the limit is {MAX_TEXT} bytes" in details, details
    code, details = served.refused(
        served.stub.FindSimilar, pb.FindSimilarRequest(document=pb.Document(id="mine", text=too_big))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "'mine'" in details, details
    reply = served.stub.FindSimilar(
        pb.FindSimilarRequest(document=pb.Document(text=S.verbatim())), timeout=30
    )
    shown = str(reply)
    assert "\\x00" not in shown and "\\000" not in shown and "probe" not in shown
    assert reply.analysis.document_id == "" and "orig" in {m.document_id for m in reply.analysis.matches}


def test_ids_with_control_characters_are_refused(served: Served) -> None:
    """No stored id can hold a control character, so none clashes with FindSimilar's internal ids."""
    for bad in ["\x00query", "\x00probe:orig", "a\nb", "tab\there", "del\x7f", "c1\x85", "   "]:
        for call, request in [
            (
                served.stub.IngestDocument,
                pb.IngestDocumentRequest(document=pb.Document(id=bad, text=S.verbatim())),
            ),
            (served.stub.FindSimilar, pb.FindSimilarRequest(document=pb.Document(id=bad, text=S.verbatim()))),
            (served.stub.GetDocument, pb.GetDocumentRequest(id=bad)),
            (served.stub.DeleteDocument, pb.DeleteDocumentRequest(id=bad)),
            (served.stub.GetLineage, pb.GetLineageRequest(id=bad)),
            (served.stub.GetCluster, pb.GetClusterRequest(id=bad)),
        ]:
            code, details = served.refused(call, request)
            assert code is grpc.StatusCode.INVALID_ARGUMENT, (bad, code)
            assert "control character" in details or "empty" in details, details
    assert served.engine.documents() == ["orig"]
    # Printable Unicode is fine.
    served.stub.IngestDocument(
        pb.IngestDocumentRequest(document=pb.Document(id="日本語 ✓ é", text=S.dam_story())), timeout=30
    )
    assert (
        served.stub.GetDocument(pb.GetDocumentRequest(id="日本語 ✓ é"), timeout=30).document.id
        == "日本語 ✓ é"
    )


def test_every_error_names_its_document(served: Served) -> None:
    cases = {
        "empty text": pb.Document(id="doc-1", text="  "),
        "too big": pb.Document(id="doc-1", text="word " * 5_000),
        "bad date": pb.Document(id="doc-1", text="Some text.", published_at="yesterday at noon"),
        "long id": pb.Document(id="y" * 300, text="Some text."),
    }
    for name, doc in cases.items():
        code, details = served.refused(served.stub.IngestDocument, pb.IngestDocumentRequest(document=doc))
        assert code is grpc.StatusCode.INVALID_ARGUMENT, name
        assert details.startswith(f"document {doc.id[:SHOWN_CHARS]!r}"), (name, details)
    # In a stream: its position and its id (the documents before it are stored and were answered).
    stream = iter(
        [
            pb.StreamIngestDocumentsRequest(document=pb.Document(id="s1", text=S.dam_story())),
            pb.StreamIngestDocumentsRequest(document=pb.Document(id="s2", text="x", published_at="noon")),
        ]
    )
    code, details = served.refused(streamed(served.stub), stream)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "document #1 of the stream" in details and "'s2'" in details and "published_at" in details, details
    stream = iter([pb.StreamIngestDocumentsRequest(document=pb.Document(id="s3", text="word " * 5_000))])
    code, details = served.refused(streamed(served.stub), stream)
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "'s3'" in details and str(MAX_TEXT) in details, (
        details
    )
    code, details = served.refused(served.stub.GetDocument, pb.GetDocumentRequest(id="nope"))
    assert code is grpc.StatusCode.NOT_FOUND and "'nope'" in details
    code, details = served.refused(served.stub.GetCluster, pb.GetClusterRequest(id="nope"))
    assert code is grpc.StatusCode.NOT_FOUND and "'nope'" in details
    assert served.engine.documents() == ["orig", "s1"]  # s1 came before the bad article


def test_message_size_limits(served: Served) -> None:
    """A request may carry limits.max_text_bytes of text plus MESSAGE_ROOM: a text over the limit but
    inside the room is INVALID_ARGUMENT naming the limit; a larger message is refused by gRPC before
    it is read (RESOURCE_EXHAUSTED)."""
    over = pb.Document(id="big", text="a" * (MAX_TEXT + 1))
    code, details = served.refused(served.stub.IngestDocument, pb.IngestDocumentRequest(document=over))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and f"the limit is {MAX_TEXT} bytes" in details
    huge = pb.Document(id="huge", text="a" * (MAX_TEXT + MESSAGE_ROOM + 1))
    code, details = served.refused(served.stub.IngestDocument, pb.IngestDocumentRequest(document=huge))
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, details
    outlet = pb.Document(id="outlet", text="Some text.", outlet="o" * (MESSAGE_ROOM + MAX_TEXT))
    code, details = served.refused(served.stub.FindSimilar, pb.FindSimilarRequest(document=outlet))
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert served.engine.documents() == ["orig"]


def test_a_time_without_a_timezone_is_utc(served: Served) -> None:
    for doc_id, when in [("naive", "2025-03-04T09:00:00"), ("zulu", "2025-03-04T09:00:00Z")]:
        served.stub.IngestDocument(
            pb.IngestDocumentRequest(document=pb.Document(id=doc_id, text=S.unrelated(), published_at=when)),
            timeout=30,
        )
    naive = served.stub.GetDocument(pb.GetDocumentRequest(id="naive"), timeout=30).document.published_at
    zulu = served.stub.GetDocument(pb.GetDocumentRequest(id="zulu"), timeout=30).document.published_at
    assert naive == zulu == "2025-03-04T09:00:00+00:00"


def test_public_messages_are_bounded_and_hold_no_internal_ids() -> None:
    """The interceptor's last word on every message: the engine's internal ids become what the client
    sent, and no message is longer than MAX_MESSAGE_CHARS (gRPC puts it in the trailing metadata)."""
    assert public_message("document '\\x00query' text is too long") == "document the query text is too long"
    assert public_message("no parent for '\\x00probe:mine'") == "no parent for 'mine'"
    assert public_message('no parent for "\\x00probe:it\'s"') == 'no parent for "it\'s"'
    long = public_message("x" * 20_000)
    assert len(long) <= MAX_MESSAGE_CHARS and long.endswith("(message cut)")
    # A client's own id is shown with its control characters spelled out, never as an internal id.
    assert shown("\x00query") == "'<U+0000>query'"
    assert public_message(f"document {shown(chr(0) + 'query')}") == "document '<U+0000>query'"
    assert shown("z" * 100) == f"{'z' * SHOWN_CHARS!r}... (100 characters)"
