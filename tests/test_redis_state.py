"""The article store on Redis, with real processes: the engine gives the same answers on it as in
memory and starts again from it; `dedup serve --state redis://...` keeps every acknowledged article
through kill -9 of the servers and of redis-server (append-only, fsync always); a second server on the
store is a replica; Redis gone is UNAVAILABLE."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest

from dedup.article import Article, parse_timestamp
from dedup.client import DedupClient
from dedup.config import Config, EmbedConfig
from dedup.engine import Engine
from dedup.errors import Aborted, Unavailable
from dedup.redis_store import RedisStore
from dedup.store import Change, MemoryStore, open_store
from tests.redis_server import RedisCluster3, RedisServer
from tests.serving import ServerProcess
from tests.test_store import _record

NO_MODEL = ("--model", "none")
LEXICAL = Config(embed=EmbedConfig(model="none"))


def _articles() -> list[Article]:
    lead = (
        "Dock workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the city's main "
        "container terminal. The Allied Dockers Union said the strike would last at least three days."
    )
    return [
        Article("wire", lead + " The terminal handles roughly 40,000 containers a week.", outlet="Harbour Wire",
                published_at=parse_timestamp("2025-03-04T08:00:00Z")),
        Article("copy", lead, outlet="Coastal Daily", published_at=parse_timestamp("2025-03-04T10:00:00Z")),
        Article("other", "The city council approved a new budget for the public library on Monday evening, "
                "adding two branches in the east of the city.", outlet="Metro News"),
    ]  # fmt: skip


def _url(redis: RedisServer | RedisCluster3) -> str:
    return f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}"


def test_the_engine_answers_the_same_on_redis_and_starts_again_from_it(
    any_redis: RedisServer | RedisCluster3,
) -> None:
    url = _url(any_redis)
    in_memory = Engine(LEXICAL, store=MemoryStore())
    on_redis = Engine(LEXICAL, store=open_store(url))
    for a in _articles():
        assert on_redis.ingest(a).analysis == in_memory.ingest(a).analysis
    probe = Article("probe", _articles()[1].text)
    expected = on_redis.find_similar(probe)
    on_redis.close()
    again = Engine(LEXICAL, store=open_store(url))
    assert len(again) == 3
    assert again.find_similar(probe) == expected
    assert again.analysis("copy") == in_memory.analysis("copy")
    again.close()


def test_a_replica_starts_without_reading_every_article(
    any_redis: RedisServer | RedisCluster3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every part in Redis (indexes, vectors, clusters, lineage, entries), a start reads the store's
    meta and the outlets' names, not the articles: it answers as the process that stored them, and
    knows the outlets they name (a store from before the outlets were kept gets them, once)."""
    url = _url(any_redis)
    first = Engine(LEXICAL, store=open_store(url))
    for a in _articles():
        first.ingest(a)
    probe = Article("probe", _articles()[1].text)
    expected = first.find_similar(probe)
    first.close()
    store = RedisStore(url)
    store.client.delete(store.key("outlets"))
    store.client.hdel(store.key("meta"), "outlets_index")
    store.close()
    reads: list[object] = []
    real_load = RedisStore.load

    def load(self: RedisStore, documents: object = None, clusters: object = None) -> object:
        reads.append(documents)
        return real_load(self, documents, clusters)  # type: ignore[arg-type]

    monkeypatch.setattr(RedisStore, "load", load)
    again = Engine(LEXICAL, store=open_store(url))
    assert None not in reads and again.indexes_loaded
    assert again._state.entries.outlets() == ["Coastal Daily", "Harbour Wire", "Metro News"]
    assert again.find_similar(probe) == expected and len(again) == 3
    in_memory = Engine(LEXICAL, store=MemoryStore())
    for a in _articles():
        in_memory.ingest(a)
    edited = Article("copy", _articles()[1].text + " Talks resume on Friday.", outlet="Coastal Daily")
    assert again.ingest(edited).analysis == in_memory.ingest(edited).analysis
    again.close()


def test_a_store_written_before_the_story_table_was_kept_gets_one_with_the_same_clusters(
    any_redis: RedisServer | RedisCluster3,
) -> None:
    """A Redis store whose articles were stored before the story clusters' table was kept beside them
    gets the table from its articles and records, once: the clusters, their members in order, and
    where the next articles go are those of the store that always kept it."""
    url = _url(any_redis)
    arts = _articles()
    engine = Engine(LEXICAL, store=open_store(url))
    for a in arts[:2]:
        engine.ingest(a)
    expected = {c.id: engine._state.stories.members(c.id) for c in engine._state.stories.records()}
    engine.close()
    store = RedisStore(url)
    table = [store.key("story-of"), store.key("stories")] + [
        store.key(kind, c) for c in expected for kind in ("story", "story-members", "story-times")
    ]
    assert store.client.exists(*table) >= 2 + 2 * len(expected), "the table is kept in the store"
    for key in table:
        store.client.delete(key)
    store.client.hdel(store.key("meta"), "story_index")
    store.close()
    again = Engine(LEXICAL, store=open_store(url))
    assert {c.id: again._state.stories.members(c.id) for c in again._state.stories.records()} == expected
    in_memory = Engine(LEXICAL, store=MemoryStore())
    for a in arts[:2]:
        in_memory.ingest(a)
    assert again.ingest(arts[2]).analysis == in_memory.ingest(arts[2]).analysis
    again.close()


def test_two_writers_never_share_a_sequence_number(any_redis: RedisServer | RedisCluster3) -> None:
    url = _url(any_redis)
    first, second = RedisStore(url), RedisStore(url)
    assert first.next_seq() == second.next_seq() == 1
    first.commit(Change(put_documents=[_record("a", 1, "c1")]))
    with pytest.raises(Aborted, match="sequence number 1"):
        second.commit(Change(put_documents=[_record("b", 1, "c1")]))
    with pytest.raises(Aborted, match="id"):
        second.commit(Change(put_documents=[_record("a", 2, "c1")]))
    assert [d.id for d in second.load().documents] == ["a"]
    first.close()
    second.close()


def test_redis_gone_is_unavailable(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "gone")
    store = RedisStore(server.url)
    server.stop()
    with pytest.raises(Unavailable, match="check that it runs"):
        store.next_seq()
    store.close()


def test_serve_on_redis_keeps_every_acknowledged_article_through_kill_9_of_both(
    redis: RedisServer, tmp_path: Path
) -> None:
    url = _url(redis)
    articles = _articles()
    server = ServerProcess(tmp_path / "replica", *NO_MODEL, "--state", url)
    replica: ServerProcess | None = None
    try:
        assert server.serving["documents"] == 0
        with DedupClient(server.target) as client:
            acknowledged = [r.analysis.id for r in client.ingest_many(articles)]
        assert acknowledged == [a.id for a in articles]
        # A second server on the same store is a replica: it serves what the first stored.
        replica = ServerProcess(tmp_path / "second", *NO_MODEL, "--state", url)
        assert replica.serving["documents"] == len(articles)
        with DedupClient(replica.target) as client:
            assert client.get_document("copy")[1].parents[0].id == "wire"
    finally:
        server.proc.send_signal(signal.SIGKILL)
        server.wait()
        if replica is not None:
            replica.kill()
    # redis-server killed too: what it acknowledged was fsynced to its append-only file.
    redis.stop(signal.SIGKILL)
    redis.start()  # on the same port, from its append-only file
    again = ServerProcess(tmp_path / "replica-2", *NO_MODEL, "--state", url, timeout=90)
    try:
        assert again.serving["documents"] == len(articles)
        with DedupClient(again.target) as client:
            for a in articles:
                assert client.get_document(a.id)[0].text == a.text
            assert "wire" in {m.b for m in client.find_similar(articles[1].text).matches}
    finally:
        again.kill()
