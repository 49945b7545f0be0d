"""Hostile requests against ONE live `dedup serve` process (``--model none``): Hypothesis generates
requests for every RPC (odd Unicode, NUL bytes, huge and empty fields, out-of-range timestamps, forged
page tokens, pathological repetition, random bytes to each method path). The server must stay up,
answer only standard codes (INTERNAL or UNKNOWN is a bug), never leak a traceback or an internal id,
leave the stored articles unchanged on read-only calls, and stop within its grace period at the end.

The write phase (ingest, delete, random bytes to the writing methods) runs first, then the read-only
phase, each read-only test comparing every stored article before and after. Hypothesis runs
derandomized (the same requests in every run) and keeps no example database.

Requests that would be slow without the engine's bounds (long pathological repetition, megabyte
outlets) are in ``test_engine_bounds``, each on a server of its own."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.client import DedupClient
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from dedup.wire import MAX_MESSAGE_CHARS
from server.app import MESSAGE_ROOM, STOP_MARGIN
from tests.serving import ServerProcess
from tests.test_serve_guards import METHODS, raw_call
from tests.test_service import fixture_articles

GRACE = 5.0
MAX_TEXT = 1_000_000  # limits.max_text_bytes, the default the server runs with
MESSAGE_LIMIT = MAX_TEXT + MESSAGE_ROOM
SLOW = 10.0
"""Seconds any one request may take. The suite's requests are small enough that the worst is well
under a second; past this, one request would be stalling the server."""

C = grpc.StatusCode
REFUSALS = {C.INVALID_ARGUMENT, C.NOT_FOUND}
"""What a request may be answered instead of OK; and RESOURCE_EXHAUSTED when its message is over the
size limit (a huge id echoed into the error message gave it too: that must not come back)."""


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# -- the server and what it answered ------------------------------------------------------------------


@dataclass
class Ledger:
    requests: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    worst: tuple[float, str] = (0.0, "")
    ran: set[str] = field(default_factory=set)


LEDGER = Ledger()
FUZZ_TESTS = {
    "test_fuzz_ingest",
    "test_fuzz_ingest_stream",
    "test_fuzz_delete",
    "test_fuzz_raw_bytes_to_writing_methods",
    "test_fuzz_find_similar",
    "test_fuzz_lookups",
    "test_fuzz_list_clusters",
    "test_fuzz_raw_bytes_to_reading_methods",
}
MIN_REQUESTS = 2_000

_INTERNAL_ID = re.compile(r"""\x00(query|probe|warm)|['"]\\x00(query|probe|warm)""")


class Live:
    def __init__(self, tmp: Path) -> None:
        self.server = ServerProcess(tmp / "data", "--model", "none", "--grace", str(GRACE))
        self.channel = grpc.insecure_channel(
            self.server.target,
            options=[
                ("grpc.max_send_message_length", 64 << 20),
                ("grpc.max_receive_message_length", 64 << 20),
            ],
        )
        self.stub = pb_grpc.DedupServiceStub(self.channel)
        with DedupClient(self.server.target) as client:
            list(client.ingest_many(fixture_articles()))

    def call(
        self, name: str, send: Callable[[], Any], allowed: set[grpc.StatusCode] = REFUSALS, size: int = 0
    ) -> Any:
        """Send one request (of ``size`` bytes); check its answer; the reply, or None if it was refused."""
        assert self.server.proc.poll() is None, "the server died"
        if size > MESSAGE_LIMIT:
            allowed = allowed | {C.RESOURCE_EXHAUSTED}
        started = time.perf_counter()
        reply, code, details = None, C.OK, ""
        try:
            reply = send()
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details() or ""
        took = time.perf_counter() - started
        LEDGER.requests += 1
        LEDGER.codes[f"{name} {code.name}"] += 1
        if took > LEDGER.worst[0]:
            LEDGER.worst = (took, name)
        assert code is C.OK or code in allowed, (name, code, details[:300])
        assert took < SLOW, (name, took)
        assert len(details) <= MAX_MESSAGE_CHARS, (name, len(details))
        assert "Traceback" not in details and 'File "' not in details, details
        assert not _INTERNAL_ID.search(details), details
        if isinstance(reply, Message):
            _check_reply(reply)
        return reply

    def snapshot(self) -> dict[str, bytes]:
        """Every stored article with its analysis, and every cluster, as the service shows them."""
        out: dict[str, bytes] = {}
        token = ""
        while True:
            page = self.stub.ListClusters(
                pb.ListClustersRequest(page_size=1000, page_token=token), timeout=60
            )
            for c in page.clusters:
                out[f"cluster {c.id}"] = c.SerializeToString(deterministic=True)
                for doc_id in c.document_ids:
                    doc = self.stub.GetDocument(pb.GetDocumentRequest(id=doc_id), timeout=60)
                    out[doc_id] = doc.SerializeToString(deterministic=True)
            token = page.next_page_token
            if not token:
                return out

    def stored_ids(self) -> set[str]:
        return {k for k in self.snapshot() if not k.startswith("cluster ")}


def _strings(message: Message, path: str = "") -> Iterator[tuple[str, str]]:
    for descriptor, value in message.ListFields():
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        values = value if descriptor.is_repeated else [value]
        for v in values:
            if isinstance(v, Message):
                yield from _strings(v, name)
            elif isinstance(v, str):
                yield name, v


CONTENT = {"document.text", "document.title", "document.outlet", "document.url", "document.published_at"}
"""A stored document's fields as the client sent them (its text may hold anything)."""


def _check_reply(reply: Message) -> None:
    """No internal id in any string of a reply; ids never hold a NUL (a client's never can)."""
    for name, value in _strings(reply):
        if name in CONTENT:
            continue
        assert not _INTERNAL_ID.search(value), (name, value[:100])
        if name.endswith("id") or name.endswith("ids"):
            assert "\x00" not in value, (name, value[:100])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    s = Live(tmp_path_factory.mktemp("fuzz"))
    yield s
    s.channel.close()
    s.server.kill()


@pytest.fixture
def unchanged(live: Live, request: pytest.FixtureRequest) -> Iterator[None]:
    """The test's requests must leave every stored article and cluster as it was."""
    before = live.snapshot()
    yield
    assert live.snapshot() == before
    LEDGER.ran.add(request.node.name)


@pytest.fixture
def counted(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    LEDGER.ran.add(request.node.name)


# -- strategies ----------------------------------------------------------------------------------------

BASE = [a.text for a in fixture_articles()]
REPEATED = [
    "A b c d.\n",
    "the ",
    "Lorem ipsum dolor sit amet. ",
    "e\u0301 ",
    "\u202erevo\u202c. ",
    ". ",
    '"" ',
    "\n",
]
odd = st.text(max_size=60)  # any code point but surrogates: NUL, controls, combining marks, RTL, emoji
ids = st.one_of(
    odd,
    st.sampled_from(
        ["", " ", "\x00query", "\x00probe:orig", "orig\x00", "orig", "copy", "\u200b", "a" * 256]
    ),
    st.integers(257, 120_000).map(lambda n: "i" * n),
)
texts = st.one_of(
    st.text(max_size=400),
    st.sampled_from(BASE),
    st.tuples(st.sampled_from(BASE), st.integers(0, 3000), st.text(max_size=30)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    ),
    st.tuples(st.sampled_from(REPEATED), st.integers(1, 120)).map(lambda t: t[0] * t[1]),
    st.sampled_from(["", " ", "\n\n\t", "\x00", "\x00" * 100, "\ufeff", "x" * 1000]),
    st.integers(MAX_TEXT - 5, MAX_TEXT + 5).map(lambda n: "x" * n),  # at the text limit
    st.integers(MESSAGE_LIMIT - 100, MESSAGE_LIMIT + 100).map(lambda n: "y" * n),  # at the message limit
)
small = st.one_of(
    st.just(""), odd, st.sampled_from(["Reuters", "AP", "\x00", "http://x.invalid/" + "a" * 200])
)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-14))])
published = st.one_of(
    st.just(""),
    st.datetimes(timezones=zones).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=40),
    st.sampled_from(
        ["2025-13-45", "0000-00-00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "Z"]
    ),
    st.integers(1000, 200_000).map(lambda n: "2" * n),
)
documents = st.builds(
    pb.Document, id=ids, text=texts, title=small, outlet=small, url=small, published_at=published
)
timestamps = st.builds(
    lambda s, n: (s, n),
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-62_135_596_801, 253_402_300_800)),
    st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-1, 1_000_000_000)),
)
int32 = st.integers(-(2**31), 2**31 - 1)
NO_FILTER = hashlib.sha256(b"None|None").hexdigest()[:12]  # the fingerprint of a token without filters
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


tokens = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(_b64),
    st.fixed_dictionaries(
        {
            "v": st.one_of(st.just(1), json_values),
            "t": st.one_of(st.floats(), json_values),
            "id": st.one_of(st.text(max_size=30), json_values, st.just("c" * 5000)),
            "f": st.one_of(st.just(NO_FILTER), json_values),
        }
    ).map(lambda d: _b64(json.dumps(d).encode())),
    json_values.map(lambda v: _b64(json.dumps(v).encode())),
    st.integers(10_000, 300_000).map(lambda n: "A" * n),
)


# -- the write phase -----------------------------------------------------------------------------------


def test_fuzz_ingest(live: Live, counted: None) -> None:
    @fuzz_settings(450)
    @given(documents)
    def ingest(doc: pb.Document) -> None:
        request = pb.IngestDocumentRequest(document=doc)
        live.call(
            "IngestDocument", lambda: live.stub.IngestDocument(request, timeout=60), size=request.ByteSize()
        )

    ingest()


def test_fuzz_ingest_stream(live: Live, counted: None) -> None:
    @fuzz_settings(150)
    @given(st.lists(documents, min_size=0, max_size=5))
    def stream(docs: list[pb.Document]) -> None:
        requests = [pb.StreamIngestDocumentsRequest(document=d) for d in docs]
        size = max((r.ByteSize() for r in requests), default=0)
        replies = live.call(
            "StreamIngestDocuments",
            lambda: list(live.stub.StreamIngestDocuments(iter(requests), timeout=60)),
            size=size,
        )
        if replies is not None:
            assert [r.analysis.document_id for r in replies] == [d.id for d in docs]

    stream()


def test_fuzz_delete(live: Live, counted: None) -> None:
    stored = live.stored_ids()

    @fuzz_settings(150)
    @given(ids.filter(lambda i: i not in stored))
    def delete(doc_id: str) -> None:
        request = pb.DeleteDocumentRequest(id=doc_id)
        live.call("DeleteDocument", lambda: live.stub.DeleteDocument(request, timeout=60))

    delete()
    assert live.stored_ids() == stored  # nothing stored had those ids


WRITING = [
    "/dedup.v1.DedupService/IngestDocument",
    "/dedup.v1.DedupService/BatchIngestDocuments",
    "/dedup.v1.DedupService/StreamIngestDocuments",
    "/dedup.v1.DedupService/DeleteDocument",
]
READING = [m for m in METHODS if m not in WRITING]
ENDLESS = {
    "/dedup.v1.DedupService/WatchClusters",
    "/grpc.health.v1.Health/Watch",
}
"""Streams that stay open until the client leaves: they end at the fuzz's short deadline."""
POSITIONAL = {"/dedup.v1.DedupService/WatchClusters"}
"""Methods that may also answer OUT_OF_RANGE: a watch cursor (after_sequence) past the events issued."""


def _raw(live: Live, method: str, payloads: list[bytes]) -> None:
    endless = method in ENDLESS or (method.endswith("ServerReflectionInfo") and not payloads)
    allowed = (
        REFUSALS
        | ({C.DEADLINE_EXCEEDED} if endless else set())
        | ({C.OUT_OF_RANGE} if method in POSITIONAL else set())
    )
    timeout = 0.5 if endless else 60

    def send() -> None:
        code, details = raw_call(live.channel, method, payloads or [b""], timeout)
        if code is not C.OK:
            raise _Refused(code, details)

    live.call(method.rsplit("/", 1)[-1] + " (bytes)", send, allowed)


class _Refused(grpc.RpcError):
    """``raw_call``'s answer, raised as the stubs raise theirs."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_fuzz_raw_bytes_to_writing_methods(live: Live, counted: None) -> None:
    @fuzz_settings(150)
    @given(st.sampled_from(WRITING), st.lists(st.binary(max_size=300), min_size=1, max_size=3))
    def send(method: str, payloads: list[bytes]) -> None:
        _raw(live, method, payloads)

    send()


# -- the read-only phase: the stored articles must not change ------------------------------------------


def test_fuzz_find_similar(live: Live, unchanged: None) -> None:
    @fuzz_settings(450)
    @given(documents)
    def find(doc: pb.Document) -> None:
        request = pb.FindSimilarRequest(document=doc)
        live.call("FindSimilar", lambda: live.stub.FindSimilar(request, timeout=60), size=request.ByteSize())

    find()


def test_fuzz_lookups(live: Live, unchanged: None) -> None:
    stored = sorted(live.stored_ids())
    clusters = [
        c.id for c in live.stub.ListClusters(pb.ListClustersRequest(page_size=1000), timeout=60).clusters
    ]
    known = st.one_of(ids, st.sampled_from(stored), st.sampled_from(clusters))

    @fuzz_settings(350)
    @given(st.sampled_from(["GetDocument", "GetCluster", "GetLineage"]), known, int32)
    def look(method: str, value: str, depth: int) -> None:
        if method == "GetDocument":
            live.call(method, lambda: live.stub.GetDocument(pb.GetDocumentRequest(id=value), timeout=60))
        elif method == "GetCluster":
            live.call(method, lambda: live.stub.GetCluster(pb.GetClusterRequest(id=value), timeout=60))
        else:
            request = pb.GetLineageRequest(id=value, max_depth=depth)
            live.call(method, lambda: live.stub.GetLineage(request, timeout=60))

    look()


def test_fuzz_list_clusters(live: Live, unchanged: None) -> None:
    real = live.stub.ListClusters(pb.ListClustersRequest(page_size=1), timeout=60).next_page_token
    assert real  # there are clusters enough for a second page
    page_tokens = st.one_of(
        st.just(""),
        tokens,
        st.just(real),
        st.tuples(st.integers(0, len(real)), st.text(max_size=3)).map(lambda t: real[: t[0]] + t[1]),
    )

    @fuzz_settings(350)
    @given(
        st.one_of(int32, st.integers(-1, 1001)), page_tokens, st.none() | timestamps, st.none() | timestamps
    )
    def page(size: int, token: str, start: tuple[int, int] | None, end: tuple[int, int] | None) -> None:
        request = pb.ListClustersRequest(page_size=size, page_token=token)
        for name, value in (("start_time", start), ("end_time", end)):
            if value is not None:
                getattr(request, name).seconds, getattr(request, name).nanos = value
        live.call("ListClusters", lambda: live.stub.ListClusters(request, timeout=60))

    page()


def test_fuzz_raw_bytes_to_reading_methods(live: Live, unchanged: None) -> None:
    @fuzz_settings(250)
    @given(st.sampled_from(READING), st.lists(st.binary(max_size=300), min_size=0, max_size=3))
    def send(method: str, payloads: list[bytes]) -> None:
        _raw(live, method, payloads)

    send()


# -- the end: still up, and SIGTERM within the grace period --------------------------------------------


def test_the_server_survived_and_stops_within_its_grace_period(live: Live) -> None:
    with grpc.insecure_channel(live.server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert not live.server.other_lines, live.server.other_lines[:5]  # nothing but JSON log lines
    every_fuzz_test_ran = LEDGER.ran >= FUZZ_TESTS
    if every_fuzz_test_ran:
        assert LEDGER.requests >= MIN_REQUESTS, LEDGER.requests
    assert not any(code.endswith((" INTERNAL", " UNKNOWN")) for code in LEDGER.codes)
    started = time.perf_counter()
    live.server.terminate()
    assert live.server.wait(GRACE + STOP_MARGIN + 10) == 0
    took = time.perf_counter() - started
    assert took < GRACE, took  # nothing was in flight: no need for the grace period
    stopped = live.server.logs[-1]
    assert stopped["msg"] == "stopped" and stopped["indexes"] == "saved", stopped
    print(
        f"\nfuzz: {LEDGER.requests} requests, worst {LEDGER.worst[0]:.2f} s ({LEDGER.worst[1]}), "
        f"SIGTERM to exit {took:.2f} s\n" + "\n".join(f"  {k}: {v}" for k, v in sorted(LEDGER.codes.items()))
    )


# -- the engine's bounds: no request stalls the server --------------------------------------------------

BOUND = 5.0
"""Seconds each of these requests may take once the engine bounds its work."""


@pytest.mark.parametrize(
    "first, refused, then",
    [
        pytest.param(
            pb.Document(id="abcd", text="A b c d.\n" * 1000),
            False,
            pb.Document(text="A b c d.\n" * 995),
            id="pathological-repetition",
        ),
        *(
            pytest.param(
                pb.Document(id=name, text="Some text about the port.", **{name: name[0] * 1_000_000}),
                True,
                pb.Document(text=BASE[0]),
                id=f"megabyte-{name}",
            )
            for name in ("outlet", "title", "url")
        ),
    ],
)
def test_engine_bounds(tmp_path: Path, first: pb.Document, refused: bool, then: pb.Document) -> None:
    """Each on a server of its own (a slow request must not slow the suite's server), killed by its
    pid at the end. An
    over-long field must be INVALID_ARGUMENT naming the limit (``refused``); the next request must be
    as quick as ever."""
    server = ServerProcess(tmp_path / "data", "--model", "none")
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.DedupServiceStub(channel)
            started = time.perf_counter()
            try:
                stub.IngestDocument(pb.IngestDocumentRequest(document=first), timeout=BOUND)
                assert not refused, "an over-long field was stored"
            except grpc.RpcError as exc:
                assert refused and exc.code() is C.INVALID_ARGUMENT, exc
                assert "limit" in (exc.details() or ""), exc.details()
            assert time.perf_counter() - started < BOUND
            started = time.perf_counter()
            stub.FindSimilar(pb.FindSimilarRequest(document=then), timeout=BOUND)
            assert time.perf_counter() - started < BOUND
    finally:
        server.kill()
