"""Ingest spread over several servers (``dedup.spread``): every article is answered once, with its index,
whichever server stored it; a stream never has more than its window unanswered, so a slow server is given
fewer; a server that goes away leaves its unanswered articles to the others, and one that refuses an
article ends the ingest. Against stand-in clients, then with real replicas on one Redis, one of them
killed with SIGKILL in the middle, and through `dedup ingest --server A,B`."""

from __future__ import annotations

import json
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dedup.article import Article
from dedup.cli import main as run_cli
from dedup.client import DedupClient, StoreInfo
from dedup.errors import InvalidArgument, ResourceExhausted, Unavailable
from dedup.spread import SpreadReply, ingest_spread
from tests.redis_server import RedisServer
from tests.serving import ServerProcess

NO_MODEL = ("--model", "none")


class _Server:
    """A stand-in client: like grpc, it reads the stream's requests ahead on a thread of its own, and
    answers them in order, each after ``delay`` seconds; it can break (raise ``fail``) once it has
    answered ``fail_after``. It records what it answered (and, in ``stored``, shared by several, the
    texts in the order they were stored) and the most it ever held unanswered; a text starting "slow"
    takes 50 ms more."""

    def __init__(
        self,
        delay: float = 0.0,
        fail_after: int | None = None,
        fail: Exception | None = None,
        store: str = "one store",
        stored: list[str] | None = None,
        close_after: int | None = None,
    ):
        self.close_after = close_after
        self.stored = [] if stored is None else stored
        self.target = f"stand-in-{id(self)}"
        self.store = store
        self.delay = delay
        self.fail_after = fail_after
        self.fail = fail or Unavailable("the server went away")
        self.answered: list[str] = []
        self.most_unanswered = 0

    def get_store(self) -> StoreInfo:
        if self.fail_after == 0:
            raise self.fail
        return StoreInfo(self.store, len(self.answered))

    def ingest_many(self, articles: Iterable[Article]) -> Iterator[Any]:
        inbox: queue.Queue[Article | None] = queue.Queue()
        read = [0]

        def reader() -> None:
            for article in articles:
                read[0] += 1
                self.most_unanswered = max(self.most_unanswered, read[0] - len(self.answered))
                inbox.put(article)
            inbox.put(None)

        threading.Thread(target=reader, daemon=True).start()
        while (article := inbox.get()) is not None:
            if self.fail_after is not None and len(self.answered) >= self.fail_after:
                raise self.fail
            if self.close_after is not None and len(self.answered) >= self.close_after:
                return  # the stream ends without an error, its requests not all answered
            time.sleep(self.delay + (0.05 if article.text.startswith("slow") else 0))
            self.answered.append(article.id)
            self.stored.append(article.text)
            yield article.id  # the reply: what ingest_spread hands back as it is


ARTICLES = [Article(f"a{n}", f"Article number {n} of the stream.") for n in range(60)]


def _spread(servers: list[_Server], articles: list[Article] = ARTICLES, window: int = 4) -> list[SpreadReply]:
    return list(ingest_spread(servers, articles, window))  # type: ignore[arg-type]


def test_each_article_is_answered_once_with_its_index_and_a_slow_server_is_given_fewer() -> None:
    fast, slow = _Server(delay=0.001), _Server(delay=0.02)
    got = _spread([fast, slow])
    assert sorted(r.position for r in got) == list(range(len(ARTICLES)))
    assert all(ARTICLES[r.position].id == r.reply for r in got)
    assert fast.answered == [r.reply for r in got if r.server == 0]  # each server's replies, in order
    assert slow.answered == [r.reply for r in got if r.server == 1]
    assert len(fast.answered) > 2 * len(slow.answered) > 0
    assert fast.most_unanswered <= 4 and slow.most_unanswered <= 4


def test_versions_of_one_article_are_stored_in_the_order_given() -> None:
    """The first version goes to one stream and takes long; the other stream, free, does not store the
    second version before it (it would leave the older text stored)."""
    stored: list[str] = []
    versions = [Article("x", "slow first version of x"), Article("x", "second version of x")]
    got = _spread([_Server(stored=stored), _Server(stored=stored)], [*versions, *ARTICLES[:6]], window=1)
    assert len(got) == 8
    assert stored.index(versions[0].text) < stored.index(versions[1].text)


def test_a_server_that_goes_away_leaves_its_unanswered_articles_to_the_others() -> None:
    doomed, other = _Server(delay=0.005, fail_after=5), _Server(delay=0.005)
    got = _spread([doomed, other])
    assert sorted(r.position for r in got) == list(range(len(ARTICLES)))  # each once, none lost
    assert len(doomed.answered) == 5 and len(other.answered) == len(ARTICLES) - 5


def test_a_stream_closed_early_without_an_error_leaves_its_articles_to_the_others() -> None:
    early, other = _Server(delay=0.005, close_after=5), _Server(delay=0.005)
    got = _spread([early, other])
    assert sorted(r.position for r in got) == list(range(len(ARTICLES)))
    assert len(early.answered) == 5 and len(other.answered) == len(ARTICLES) - 5
    with pytest.raises(Unavailable, match="ended its stream early"):  # and with no other, it says so
        _spread([_Server(close_after=5)])


def test_a_refused_article_ends_the_ingest_with_the_servers_error() -> None:
    refusing = _Server(fail_after=3, fail=InvalidArgument("document 'a9': text is too long"))
    with pytest.raises(InvalidArgument, match="too long"):
        _spread([refusing, _Server(delay=0.01)])


def test_with_every_server_gone_the_error_says_how_many_were_answered() -> None:
    servers = [_Server(fail_after=3), _Server(fail_after=4, fail=ResourceExhausted("no stream places left"))]
    answered = []
    with pytest.raises((Unavailable, ResourceExhausted), match="no server is left") as caught:
        for r in ingest_spread(servers, ARTICLES, 4):  # type: ignore[arg-type]
            answered.append(r.position)
    assert len(answered) == 7 and f"{len(answered)} article(s) were answered" in str(caught.value)


def test_servers_with_stores_of_their_own_are_refused_before_anything_is_sent() -> None:
    mine, theirs = _Server(delay=0.002, store="mine"), _Server(delay=0.002, store="theirs")
    gone = _Server(fail_after=0)
    with pytest.raises(InvalidArgument, match="do not share one store") as caught:
        _spread([mine, gone, theirs])
    assert mine.target in str(caught.value) and theirs.target in str(caught.value)
    assert mine.answered == theirs.answered == []
    # Kept apart on purpose (a benchmark's shared-nothing baseline), they are not asked.
    apart = list(ingest_spread([mine, theirs], ARTICLES, 4, one_store=False))  # type: ignore[list-item]
    assert len(apart) == len(ARTICLES) and mine.answered and theirs.answered
    # A server already gone is left out of the check: its stream fails over like any other.
    assert len(_spread([_Server(store="mine"), _Server(fail_after=0)])) == len(ARTICLES)


def test_no_server_or_no_room_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="at least one server"):
        list(ingest_spread([], ARTICLES))
    with pytest.raises(InvalidArgument, match="window"):
        list(ingest_spread([_Server()], ARTICLES, 0))  # type: ignore[list-item]


def _store_of(target: str) -> StoreInfo:
    with DedupClient(target) as client:
        return client.get_store()


def _story(n: int) -> list[Article]:
    return [
        Article(f"s{k}", f"Report {k}: the harbour authority met the dockworkers' union on day {k} and "
                f"agreed nothing. Talks resume on day {k + 1}, a spokesperson for pier {k % 7} said.")
        for k in range(n)
    ]  # fmt: skip


def test_replicas_on_one_redis_store_everything_when_one_is_killed_mid_ingest(
    redis: RedisServer, tmp_path: Path
) -> None:
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}"
    replicas = [ServerProcess(tmp_path / f"replica-{k}", *NO_MODEL, "--state", url) for k in range(2)]
    articles = _story(120)
    try:
        clients = [DedupClient(r.target) for r in replicas]
        answered: dict[int, int] = {}
        for position, server, reply in ingest_spread(clients, articles, window=8):
            assert reply.analysis.id == articles[position].id and position not in answered
            answered[position] = server
            if len(answered) == 30:
                assert set(answered.values()) == {0, 1}  # both were storing when one was killed
                replicas[0].proc.send_signal(signal.SIGKILL)
        assert sorted(answered) == list(range(len(articles)))
        with DedupClient(replicas[1].target) as survivor:
            assert {survivor.get_document(a.id)[0].id for a in articles} == {a.id for a in articles}
        for client in clients:
            client.close()
    finally:
        for replica in replicas:
            replica.kill()


def test_dedup_ingest_spreads_a_file_over_the_servers_it_names(
    redis: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}"
    articles = _story(40)
    path = tmp_path / "story.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in articles))
    replicas = [ServerProcess(tmp_path / f"replica-{k}", *NO_MODEL, "--state", url) for k in range(2)]
    try:
        servers = ",".join(r.target for r in replicas)
        assert run_cli(["ingest", "--quiet", "--format", "json", "--server", servers, str(path)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["ingested"] == 40 and [r["id"] for r in out["results"]] == [a.id for a in articles]
        for replica in replicas:
            with DedupClient(replica.target) as client:
                assert client.get_document("s39")[0].id == "s39"
        # Both report one store; a server with a store of its own is refused before anything is sent.
        stores = [_store_of(r.target) for r in replicas]
        assert stores[0] == stores[1] and stores[0].document_count == 40 and stores[0].id
        alone = ServerProcess(tmp_path / "alone", *NO_MODEL)
        try:
            assert _store_of(alone.target).id != stores[0].id
            mixed = ["ingest", "--quiet", "--server", f"{replicas[0].target},{alone.target}", str(path)]
            assert run_cli(mixed) == 2
            assert "do not share one store" in capsys.readouterr().err
            assert _store_of(alone.target).document_count == 0
        finally:
            alone.kill()
        # A server that is not there leaves everything to the other; the answers are the same.
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            nobody = f"127.0.0.1:{closed.getsockname()[1]}"
        again = ["ingest", "--quiet", "--format", "json", "--server", f"{nobody},{replicas[1].target}"]
        assert run_cli([*again, str(path)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["outcomes"] == {"UNCHANGED": 40} and len(out["results"]) == 40
        assert run_cli(["ingest", "--quiet", "--server", f"{replicas[0].target},", str(path)]) == 2
        assert "names an empty server" in capsys.readouterr().err
    finally:
        for replica in replicas:
            replica.kill()
