"""Ingest by stream and by batch against a real server: each article of a stream is answered once it
is committed, in order, while the stream is still open; the replies never grow with the stream (a
stream's replies pass gRPC's 4 MB message limit together); a bad article ends the stream after the
ones before it are stored and answered; a batch is checked whole before anything is stored."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dedup.article import Article
from dedup.client import DedupClient
from dedup.results import IngestOutcome
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from tests.serving import ServerProcess

SEED = 15
GRPC_MESSAGE_LIMIT = 4 * 1024 * 1024


def _words(rng: random.Random, n: int = 2000) -> list[str]:
    syllables = ["ka", "lo", "mer", "ti", "van", "su", "bro", "del", "fin", "ga", "hu", "jes", "port", "ra"]
    return sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)})


def _sentences(rng: random.Random, words: list[str], n: int) -> list[str]:
    return [
        " ".join(rng.choice(words) for _ in range(rng.randint(9, 14))).capitalize() + "." for _ in range(n)
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("stream") / "data", "--model", "none")
    yield s
    s.kill()


def test_each_article_is_answered_while_the_stream_is_open(server: ServerProcess) -> None:
    """The next article is sent only after the reply to the one before came back: a server that
    answered at the end of the stream would never answer."""
    rng = random.Random(SEED)
    words = _words(rng)
    articles = [Article(f"open-{n}", " ".join(_sentences(rng, words, 6))) for n in range(5)]
    answered: queue.Queue[str] = queue.Queue()

    def requests() -> Iterator[pb.StreamIngestDocumentsRequest]:
        for a in articles:
            yield pb.StreamIngestDocumentsRequest(document=pb.Document(id=a.id, text=a.text))
            assert answered.get(timeout=20) == a.id  # its reply came before the next is sent

    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
    for reply in stub.StreamIngestDocuments(requests(), timeout=60):
        assert reply.outcome == pb.INGEST_OUTCOME_CREATED
        answered.put(reply.analysis.document_id)
    with DedupClient(server.target) as client:
        for a in articles:
            assert client.get_document(a.id)[0].text == a.text  # every answered article is stored


def test_a_streams_replies_pass_4_mb_in_one_stream(server: ServerProcess) -> None:
    """Wire copies: ten stories, each republished 40 times under long ids (as some systems make them).
    Each reply lists the copies before it, and together the replies of one stream are well past the
    4 MB a single reply may have (a stream answered in one reply would fail)."""
    rng = random.Random(SEED + 1)
    words = _words(rng)
    articles = []
    for story in range(10):
        text = " ".join(_sentences(rng, words, 8))
        for n in range(40):
            articles.append(Article(f"wire-{story}-{n}-" + "x" * 230, text, outlet=f"Outlet {n}"))
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
    requests = (
        pb.StreamIngestDocumentsRequest(document=pb.Document(id=a.id, text=a.text, outlet=a.outlet or ""))
        for a in articles
    )
    sizes, ids = [], []
    for reply in stub.StreamIngestDocuments(requests, timeout=600):
        sizes.append(reply.ByteSize())
        ids.append(reply.analysis.document_id)
    assert ids == [a.id for a in articles]  # the n-th reply is the n-th article's
    assert sum(sizes) > GRPC_MESSAGE_LIMIT, sum(sizes)
    assert max(sizes) < GRPC_MESSAGE_LIMIT / 20  # no reply grows with the stream


def test_a_bad_article_ends_the_stream_after_the_ones_before_it_are_answered(server: ServerProcess) -> None:
    rng = random.Random(SEED + 2)
    words = _words(rng)
    good = [Article(f"before-{n}", " ".join(_sentences(rng, words, 5))) for n in range(3)]
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
    requests = [pb.StreamIngestDocumentsRequest(document=pb.Document(id=a.id, text=a.text)) for a in good]
    requests.append(pb.StreamIngestDocumentsRequest(document=pb.Document(id="bad", text="  ")))
    requests.append(pb.StreamIngestDocumentsRequest(document=pb.Document(id="after", text="Never stored.")))
    replies = []
    with pytest.raises(grpc.RpcError) as info:
        for reply in stub.StreamIngestDocuments(iter(requests), timeout=60):
            replies.append(reply.analysis.document_id)
    assert replies == [a.id for a in good]
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details()
    assert "document #3 of the stream" in details and "'bad'" in details and "3 earlier" in details, details
    with DedupClient(server.target) as client:
        assert all(client.get_document(a.id)[0].text == a.text for a in good)
        with pytest.raises(Exception, match="no document"):
            client.get_document("after")


def test_client_ingest_many_yields_replies_in_order_and_reports_a_broken_source(
    server: ServerProcess,
) -> None:
    rng = random.Random(SEED + 3)
    words = _words(rng)
    articles = [Article(f"client-{n}", " ".join(_sentences(rng, words, 5))) for n in range(70)]
    with DedupClient(server.target) as client:
        replies = client.ingest_many(iter(articles))
        first = next(replies)  # a generator: replies come as the server stores the articles
        assert first.analysis.id == "client-0" and first.outcome is IngestOutcome.CREATED
        rest = list(replies)
        assert [r.analysis.id for r in rest] == [a.id for a in articles[1:]]
        again = list(client.ingest_many(articles[:3]))
        assert [r.outcome for r in again] == [IngestOutcome.UNCHANGED] * 3

        def broken() -> Iterator[Article]:
            yield Article("client-broken-0", " ".join(_sentences(rng, words, 5)))
            raise ValueError("line 2 of the input is not JSON")

        with pytest.raises(ValueError, match="line 2 of the input"):
            list(client.ingest_many(broken()))


def test_batch_ingest_checks_every_article_before_storing_any(server: ServerProcess) -> None:
    rng = random.Random(SEED + 4)
    words = _words(rng)
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
    docs = [pb.Document(id=f"batch-{n}", text=" ".join(_sentences(rng, words, 5))) for n in range(4)]
    reply = stub.BatchIngestDocuments(
        pb.BatchIngestDocumentsRequest(requests=[pb.IngestDocumentRequest(document=d) for d in docs]),
        timeout=60,
    )
    assert [r.analysis.document_id for r in reply.responses] == [d.id for d in docs]
    bad = [pb.Document(id="batch-x", text="Fine text here."), pb.Document(id="batch-y", text="")]
    with pytest.raises(grpc.RpcError) as info:
        stub.BatchIngestDocuments(
            pb.BatchIngestDocumentsRequest(requests=[pb.IngestDocumentRequest(document=d) for d in bad]),
            timeout=60,
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "requests[1]" in info.value.details() and "nothing in this batch was stored" in info.value.details()
    )
    with DedupClient(server.target) as client, pytest.raises(Exception, match="no document"):
        client.get_document("batch-x")
    for n in (0, 1001):
        with pytest.raises(grpc.RpcError) as info:
            stub.BatchIngestDocuments(
                pb.BatchIngestDocumentsRequest(requests=[pb.IngestDocumentRequest(document=docs[0])] * n),
                timeout=60,
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "1 to 1000" in info.value.details()


def test_cli_ingest_redirected_to_a_file_writes_parseable_json(server: ServerProcess, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.serving import ROOT

    rng = random.Random(SEED + 5)
    words = _words(rng)
    path = tmp_path / "articles.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"cli-{n}", "text": " ".join(_sentences(rng, words, 5))}) + "\n"
            for n in range(12)
        )
    )
    out = tmp_path / "out.json"
    with out.open("w") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "ingest", str(path), "--server", server.target],
            cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["ingested"] == 12 and result["outcomes"] == {"CREATED": 12}
    assert [r["id"] for r in result["results"]] == [f"cli-{n}" for n in range(12)]


def test_cancelled_streams_keep_what_was_answered_and_the_server_serving(server: ServerProcess) -> None:
    """A client that cancels its stream after a reply: the article answered is stored, and twenty
    such streams later the server still serves."""
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
    hold = threading.Event()

    def slow() -> Iterator[pb.StreamIngestDocumentsRequest]:
        yield pb.StreamIngestDocumentsRequest(
            document=pb.Document(id="slow-0", text="A slow stream starts here.")
        )
        hold.wait(30)

    for _ in range(20):
        call = stub.StreamIngestDocuments(slow(), timeout=30)
        assert next(call).analysis.document_id == "slow-0"
        call.cancel()
    hold.set()
    with DedupClient(server.target) as client:
        assert client.get_document("slow-0")[0].text == "A slow stream starts here."


def test_an_idle_stream_is_closed_and_frees_its_place(tmp_path: Path) -> None:
    """A stream that sends nothing for --stream-idle seconds is closed with UNAVAILABLE saying so; what
    it sent before the pause was stored and answered."""
    server = ServerProcess(tmp_path / "data", "--model", "none", "--stream-idle", "1", "--max-streams", "1")
    try:
        stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(server.target))
        hold = threading.Event()

        def one_then_silence() -> Iterator[pb.StreamIngestDocumentsRequest]:
            yield pb.StreamIngestDocumentsRequest(
                document=pb.Document(id="early", text="Sent before a pause.")
            )
            hold.wait(30)

        call = stub.StreamIngestDocuments(one_then_silence(), timeout=30)
        assert next(call).analysis.document_id == "early"
        with pytest.raises(grpc.RpcError) as info:
            next(call)
        hold.set()
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE
        assert "no article came on this stream for 1 s" in info.value.details()
        assert "1 articles were stored and answered" in info.value.details()
        # Its place is free again: the one stream place takes a new stream at once.
        with DedupClient(server.target) as client:
            assert [
                r.analysis.id for r in client.ingest_many([Article("later", "Sent on a new stream.")])
            ] == ["later"]
    finally:
        server.kill()


def test_the_articles_read_ahead_of_a_batch_stop_at_the_first_bad_one_and_are_all_handled_after() -> None:
    """What a stream handler passes the engine as ``upcoming``: the requests that have already arrived,
    kept (``held``) to be handled in order after the batch; articles only up to the first that is not
    one, and nothing past the end of the stream."""
    from server.servicer import _END, _Inbox, _read_ahead

    def request(doc_id: str, text: str) -> pb.StreamIngestDocumentsRequest:
        return pb.StreamIngestDocumentsRequest(document=pb.Document(id=doc_id, text=text))

    requests = [
        request("n1", "First."),
        request("n2", "Second."),
        request("", "No id."),
        request("n4", "Late."),
    ]
    inbox = _Inbox(iter(requests))
    held: Any = deque()
    for _ in range(500):  # the reader thread puts what arrived; wait until it has put the end
        articles = _read_ahead(inbox, held)
        if held and held[-1] is _END:
            break
        time.sleep(0.01)
    assert [a.id for a in articles] == ["n1", "n2"]
    assert list(held) == [*requests, _END]
    assert _read_ahead(inbox, held) == articles  # read again: nothing more is taken from the inbox
    inbox.close()
