"""One contract, every storage backend: what is committed is what load() gives back."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import dedup.redis_store
from dedup.article import Article, parse_timestamp
from dedup.errors import Aborted, ConfigError, ResourceExhausted
from dedup.redis_store import RedisStore
from dedup.results import (
    ClusterEvent,
    ClusterEventKind,
    DuplicateGroup,
    EventRecord,
    ExternalSource,
    PairResult,
    Parent,
    Passage,
    PassageKind,
    Relation,
)
from dedup.store import Change, ClusterRecord, DocumentRecord, MemoryStore, SqliteStore, Store, open_store
from tests.redis_server import RedisCluster3, RedisServer

Factory = Callable[[], Store]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster3]:
    cluster = RedisCluster3(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(params=["memory", "memory-shared", "sqlite", "redis", "redis-cluster"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory: for sqlite and redis, every call opens the same database again (as a restarted server
    would); each test has a Redis key prefix of its own."""
    shared = MemoryStore(shared=request.param == "memory-shared")
    opened: list[Store] = []
    url = ""
    if request.param.startswith("redis"):
        server = request.getfixturevalue("redis_server" if request.param == "redis" else "redis_cluster")
        url = f"{server.url}?prefix=t{uuid.uuid4().hex[:12]}"

    def factory() -> Store:
        store: Store
        if request.param.startswith("memory"):
            store = shared
        elif request.param == "sqlite":
            store = SqliteStore(tmp_path / "dedup.sqlite3")
        else:
            store = RedisStore(url)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def _record(doc_id: str, seq: int, cluster: str, sentences: int = 3) -> DocumentRecord:
    rng = np.random.default_rng(seq)
    emb = rng.standard_normal((sentences, 8)).astype(np.float16).astype(np.float32)
    vector = emb.mean(axis=0).astype(np.float32) if sentences else np.zeros(8, dtype=np.float32)
    article = Article(
        doc_id, f"Text of {doc_id}.\nSecond line.", title=f"T {doc_id}", outlet="Harbour Wire",
        url=f"https://example.test/{doc_id}", published_at=parse_timestamp("2025-03-04T09:00:00Z"),
    )  # fmt: skip
    return DocumentRecord(article, seq, f"hash-{doc_id}", 1000.0 + seq, cluster, emb, vector)


def _pair(a: str, b: str) -> PairResult:
    return PairResult(
        a, b, Relation.PARTIALLY_DERIVED, 0.4, 0.2, 0.1, 0.8,
        (Passage(0, 10, 5, 15, PassageKind.VERBATIM, 1.0), Passage(20, 30, 40, 52, PassageKind.PARAPHRASE, 0.83)),
    )  # fmt: skip


def _filled(store: Store) -> None:
    store.commit(
        Change(
            put_documents=[_record("a", 1, "c1"), _record("b", 2, "c1"), _record("c", 3, "c2", sentences=0)],
            put_pairs=[_pair("a", "b")],
            parents={"b": (Parent("a", 0.9, 0.4, ("published earlier",)),)},
            external_sources={"a": (ExternalSource("Reuters", "Reuters reported", 3, 19),)},
            put_clusters=[ClusterRecord("c1", 0, 1001.0, 1002.0), ClusterRecord("c2", 1, 1003.0, 1003.0)],
            meta={"note": "kept", "generation": "99"},  # the store keeps its own generation
        )
    )


def test_what_is_committed_is_loaded(make_store: Factory) -> None:
    _filled(make_store())
    store = make_store()
    snap = store.load()
    records = list(store.records())
    assert [r.article for r in records] == [_record(x, n, "").article for n, x in enumerate("abc", start=1)]
    for rec, (doc_id, seq) in zip(records, [("a", 1), ("b", 2), ("c", 3)], strict=True):
        expected = _record(doc_id, seq, "", sentences=0 if doc_id == "c" else 3)
        assert (
            rec.seq == seq and rec.text_hash == expected.text_hash and rec.ingest_time == expected.ingest_time
        )
        np.testing.assert_array_equal(rec.embeddings, expected.embeddings)
        np.testing.assert_array_equal(rec.vector, expected.vector)
    # load() gives every document without its text and embeddings
    for entry, rec in zip(snap.documents, records, strict=True):
        assert (entry.id, entry.seq, entry.text_hash, entry.ingest_time, entry.cluster_id, entry.outlet) == (
            rec.article.id, rec.seq, rec.text_hash, rec.ingest_time, rec.cluster_id, rec.article.outlet
        )  # fmt: skip
        np.testing.assert_array_equal(entry.vector, rec.vector)
    assert [d.cluster_id for d in snap.documents] == ["c1", "c1", "c2"]
    assert snap.pairs == [("a", "b")]
    assert store.pairs() == [_pair("a", "b")]
    assert store.pairs("a") == store.pairs("b") == [_pair("a", "b")] and store.pairs("c") == []
    assert snap.parents == {"b": (Parent("a", 0.9, 0.4, ("published earlier",)),)}
    assert snap.external_sources == {"a": (ExternalSource("Reuters", "Reuters reported", 3, 19),)}
    assert [c.id for c in snap.clusters] == ["c1", "c2"]
    assert snap.meta["generation"] == "1" and snap.meta["note"] == "kept"
    assert snap.meta["last_seq"] == "3" and len(snap.meta["database_id"]) == 32


def test_records_are_read_in_order_of_arrival_a_few_at_a_time(make_store: Factory) -> None:
    store = make_store()
    n = 600  # more than one read of the sqlite store
    store.commit(Change(put_documents=[_record(f"d{i:03}", i + 1, "c1", sentences=1) for i in range(n)]))
    store.commit(Change(delete_documents=["d005"]))
    ids = [r.article.id for r in make_store().records()]
    assert ids == [f"d{i:03}" for i in range(n) if i != 5]


def test_pairs_are_read_by_document(make_store: Factory) -> None:
    store = make_store()
    store.commit(Change(put_documents=[_record(x, n, "c1") for n, x in enumerate("abcd", start=1)]))
    store.commit(Change(put_pairs=[_pair("a", "b"), _pair("c", "a"), _pair("c", "d")]))
    assert [(p.a, p.b) for p in store.pairs("a")] == [("a", "b"), ("c", "a")]
    assert [(p.a, p.b) for p in store.pairs("c")] == [("c", "a"), ("c", "d")]
    store.commit(Change(delete_documents=["a"]))
    store = make_store()
    assert store.pairs("b") == [] and [(p.a, p.b) for p in store.pairs()] == [("c", "d")]
    assert [(p.a, p.b) for p in store.pairs("d")] == [("c", "d")]


def test_the_pairs_among_some_documents_are_read_without_their_pairs_with_others(
    make_store: Factory,
) -> None:
    store = make_store()
    store.commit(Change(put_documents=[_record(x, n, "c1") for n, x in enumerate("abcde", start=1)]))
    store.commit(Change(put_pairs=[_pair("a", "b"), _pair("c", "a"), _pair("c", "d"), _pair("e", "b")]))
    among = store.pairs_among({"a", "b", "c"})
    assert [(p.a, p.b) for p in among] == [("a", "b"), ("c", "a")]
    assert among[0] == _pair("a", "b")  # read whole, passages and all
    # the same pairs as reading each document's pairs and keeping those within the set
    for ids in ({"a"}, {"a", "e"}, {"b", "e", "x"}, {"a", "b", "c", "d", "e"}, set()):
        expected = sorted(
            {(p.a, p.b): p for d in ids for p in store.pairs(d) if p.a in ids and p.b in ids}.values(),
            key=lambda p: (p.a, p.b),
        )
        assert make_store().pairs_among(ids) == expected
    store.commit(Change(delete_documents=["c"]))
    assert [(p.a, p.b) for p in make_store().pairs_among({"a", "b", "c", "d"})] == [("a", "b")]


def test_the_pairs_touching_some_documents_are_each_ones_pairs_read_at_once(make_store: Factory) -> None:
    store = make_store()
    store.commit(Change(put_documents=[_record(x, n, "c1") for n, x in enumerate("abcde", start=1)]))
    store.commit(Change(put_pairs=[_pair("a", "b"), _pair("c", "a"), _pair("c", "d"), _pair("e", "b")]))
    touching = store.pairs_touching({"a", "b"})
    assert [(p.a, p.b) for p in touching] == [("a", "b"), ("c", "a"), ("e", "b")]
    assert touching[0] == _pair("a", "b")  # read whole, passages and all
    for ids in ({"a"}, {"a", "e"}, {"b", "e", "x"}, {"a", "b", "c", "d", "e"}, {"x"}, set()):
        expected = sorted(
            {(p.a, p.b): p for d in ids for p in store.pairs(d)}.values(), key=lambda p: (p.a, p.b)
        )
        assert make_store().pairs_touching(ids) == expected
    store.commit(Change(delete_documents=["c"]))
    assert [(p.a, p.b) for p in make_store().pairs_touching({"a", "c", "d"})] == [("a", "b")]


def test_one_document_is_read_back_by_id(make_store: Factory) -> None:
    _filled(make_store())
    store = make_store()
    rec = store.get("b")
    assert rec is not None and rec.article == _record("b", 2, "").article
    assert (rec.seq, rec.cluster_id, rec.text_hash) == (2, "c1", "hash-b")
    np.testing.assert_array_equal(rec.embeddings, _record("b", 2, "").embeddings)
    np.testing.assert_array_equal(rec.vector, _record("b", 2, "").vector)
    empty = store.get("c")
    assert empty is not None and empty.embeddings.shape == (0, 8)
    assert store.get("missing") is None
    store.commit(Change(delete_documents=["b"], cluster_of={"a": "c2"}))
    assert store.get("b") is None
    moved = make_store().get("a")
    assert moved is not None and moved.cluster_id == "c2"


def test_documents_are_found_by_a_phrase_of_their_text(make_store: Factory) -> None:
    _filled(make_store())
    store = make_store()
    assert store.containing("Second line") == ["a", "b", "c"]
    assert store.containing("Text of b.") == ["b"]
    assert store.containing("text of b") == []  # case matters, as in `in`
    assert store.containing("Harbour Wire") == []  # the outlet is not the text


def test_a_phrase_is_found_as_written_across_pages_of_articles(
    make_store: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phrase is matched character for character, whatever it holds (no pattern syntax, accents),
    in every stored article however many pages of them a store reads (Redis: two a page here)."""
    monkeypatch.setattr(dedup.redis_store, "PAGE", 2)
    texts = {
        "p1": "Le Monde (Paris) a rapporté 5% de hausse.",
        "p2": "Nothing cited here.",
        "p3": "Citing Le Monde (Paris) again, and São Paulo's Folha.",
        "p4": "Le Monde Paris without brackets.",
        "p5": "A dot . and a star * and [brackets].",
    }
    store = make_store()
    records = []
    for n, (doc_id, text) in enumerate(texts.items(), start=1):
        rec = _record(doc_id, n, "c1")
        records.append(dataclasses.replace(rec, article=dataclasses.replace(rec.article, text=text)))
    store.commit(Change(put_documents=records, put_clusters=[ClusterRecord("c1", 0, 1001.0, 1002.0)]))
    assert store.containing("Le Monde (Paris)") == ["p1", "p3"]
    assert store.containing("São Paulo") == ["p3"]
    assert store.containing("5%") == ["p1"]
    assert store.containing(". and a star *") == ["p5"]
    assert store.containing("[brackets]") == ["p5"]
    assert store.containing("Sao Paulo") == []


def test_deleting_a_document_takes_its_pairs_parents_and_sources(make_store: Factory) -> None:
    store = make_store()
    _filled(store)
    store.commit(Change(delete_documents=["a"], parents={"b": ()}, delete_clusters=[]))
    snap = make_store().load()
    assert [d.id for d in snap.documents] == ["b", "c"]
    assert snap.pairs == [] and make_store().pairs("b") == []
    assert "a" not in snap.external_sources
    assert snap.parents.get("b", ()) == ()


def test_moves_merges_and_replacements(make_store: Factory) -> None:
    store = make_store()
    _filled(store)
    store.commit(
        Change(
            cluster_of={"c": "c1"},
            delete_clusters=["c2"],
            put_clusters=[ClusterRecord("c1", 0, 1001.0, 2000.0)],
            put_pairs=[
                PairResult("b", "a", Relation.DUPLICATE, 1.0, 1.0, 1.0, 1.0, ())
            ],  # same pair, other order
            parents={"b": (Parent("a", 0.7, 1.0, ()), Parent("c", 0.6, 0.3, ("x",)))},
        )
    )
    store = make_store()
    snap = store.load()
    assert [d.cluster_id for d in snap.documents] == ["c1", "c1", "c1"]
    assert [(c.id, c.update_time) for c in snap.clusters] == [("c1", 2000.0)]
    assert snap.pairs == [("b", "a")]
    assert (
        [p.relation for p in store.pairs()] == [Relation.DUPLICATE] == [p.relation for p in store.pairs("a")]
    )
    assert [p.id for p in snap.parents["b"]] == ["a", "c"]


def test_a_failed_commit_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "dedup.sqlite3")
    _filled(store)
    bad = Change(put_pairs=[_pair("a", "d")], put_documents=[_record("d", 4, "c1")])
    object.__setattr__(bad.put_documents[0], "embeddings", object())  # cannot be stored
    with pytest.raises(Exception):  # noqa: B017 - any failure, as long as nothing half-lands
        store.commit(bad)
    snap = store.load()
    assert [d.id for d in snap.documents] == ["a", "b", "c"]
    assert snap.pairs == [("a", "b")] and store.pairs() == [_pair("a", "b")]
    store.close()


def test_open_store_by_url(tmp_path: Path) -> None:
    assert isinstance(open_store("memory:"), MemoryStore)
    store = open_store(f"sqlite:{tmp_path / 'x.sqlite3'}")
    assert isinstance(store, SqliteStore) and store.location.endswith("x.sqlite3")
    store.close()
    with pytest.raises(ConfigError):
        open_store("postgres://nowhere")
    with pytest.raises(ConfigError):
        open_store("sqlite:")


def test_a_schema_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    """Databases written before parents named their alternatives and groups were stored still open."""
    path = tmp_path / "old.sqlite3"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.executescript(
        """
        DROP TABLE parents;
        DROP TABLE duplicate_groups;
        ALTER TABLE documents DROP COLUMN placement;
        CREATE TABLE parents (
            child TEXT NOT NULL, parent TEXT NOT NULL, rank INTEGER NOT NULL,
            confidence REAL NOT NULL, coverage REAL NOT NULL, evidence TEXT NOT NULL,
            PRIMARY KEY (child, parent)
        );
        INSERT INTO parents VALUES ('copy', 'orig', 0, 0.9, 1.0, '["published earlier"]');
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
        """
    )
    db.commit()
    db.close()
    store = SqliteStore(path)
    snap = store.load()
    assert snap.parents == {"copy": (Parent("orig", 0.9, 1.0, ("published earlier",)),)}
    assert [d.placement for d in snap.documents] == []
    assert snap.groups == {}
    group = DuplicateGroup(("a", "b"), ("a", "b"), 0.5)
    store.commit(Change(groups={"a": group}, parents={"b": (Parent("x", 0.7, 0.5, (), ("y",)),)}))
    snap = store.load()
    assert snap.groups == {"a": group}
    assert snap.parents["b"][0].alternatives == ("y",)
    store.close()


def test_generation_and_sequence_numbers_come_from_the_store(make_store: Factory) -> None:
    store = make_store()
    assert store.next_seq() == 1
    assert store.commit(Change(put_documents=[_record("a", 1, "c1")])) == 1
    assert store.commit(Change(put_documents=[_record("b", 2, "c1")])) == 2
    assert store.commit(Change(delete_documents=["a", "b"])) == 3
    again = make_store()
    assert again.next_seq() == 3  # numbers of deleted documents are not given again
    assert again.load().meta["generation"] == "3"
    assert again.load().meta["database_id"] == store.load().meta["database_id"]


def test_a_taken_sequence_number_or_id_is_refused_never_overwritten(tmp_path: Path) -> None:
    """Two stores on one file (two processes): each reads the next free number inside its write; a
    document under a number or an id the other stored is refused, and the other's stays."""
    first, second = SqliteStore(tmp_path / "s.sqlite3"), SqliteStore(tmp_path / "s.sqlite3")
    assert first.next_seq() == second.next_seq() == 1
    first.commit(Change(put_documents=[_record("a", 1, "c1")]))
    assert second.next_seq() == 2
    with pytest.raises(Aborted, match="sequence number 1"):
        second.commit(Change(put_documents=[_record("b", 1, "c1")]))  # read 1 before the first wrote
    with pytest.raises(Aborted, match="id"):
        second.commit(Change(put_documents=[_record("a", 2, "c1")]))  # an id it did not know was stored
    second.commit(Change(put_documents=[_record("b", 2, "c1")]))
    second.commit(Change(delete_documents=["b"]))
    assert first.next_seq() == 3  # a deleted document's number is not given again
    # Replacing by id (delete and put in one change) under a new number works.
    first.commit(Change(delete_documents=["a"], put_documents=[_record("a", 3, "c1")]))
    assert [(d.id, d.seq) for d in SqliteStore(tmp_path / "s.sqlite3").load().documents] == [("a", 3)]
    memory = MemoryStore()
    memory.commit(Change(put_documents=[_record("a", 1, "c1")]))
    with pytest.raises(Aborted):
        memory.commit(Change(put_documents=[_record("b", 1, "c1")]))
    with pytest.raises(Aborted):
        memory.commit(Change(put_documents=[_record("a", 2, "c1")]))
    assert memory.next_seq() == 2 and [d.id for d in memory.load().documents] == ["a"]
    first.close()
    second.close()


def test_a_full_disk_is_resource_exhausted_and_the_store_stays_usable(tmp_path: Path) -> None:
    """SQLite's "database or disk is full" (here: a page limit the test sets, as a full disk would) is a
    ResourceExhausted that says what to do; the transaction is rolled back, and once there is room the
    next commit works."""
    store = SqliteStore(tmp_path / "full.sqlite3")
    _filled(store)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    big = _record("d", 4, "c1", sentences=2000)
    with pytest.raises(ResourceExhausted, match=r"is full: nothing was stored\. Free space"):
        store.commit(Change(put_documents=[big]))
    assert not store._db.in_transaction
    assert [d.id for d in store.load().documents] == ["a", "b", "c"]
    store._db.execute("PRAGMA max_page_count = 1073741823")
    store.commit(Change(put_documents=[big]))
    assert [d.id for d in SqliteStore(tmp_path / "full.sqlite3").load().documents] == ["a", "b", "c", "d"]
    store.close()


# -- cluster events -----------------------------------------------------------------------------------


def _event(sequence: int, base: float = 999.0) -> EventRecord:
    """Event ``sequence``, stamped ``base`` plus its number; its kind and ids follow from the number."""
    kind = [ClusterEventKind.CREATED, ClusterEventKind.DOCUMENT_ADDED, ClusterEventKind.MERGED][sequence % 3]
    merged = kind is ClusterEventKind.MERGED
    event = ClusterEvent(
        kind, f"c{sequence}", None if merged else f"d{sequence}", ("x", "y") if merged else ()
    )
    return EventRecord(sequence, base + sequence, event)


def _events(first: int, n: int, base: float = 999.0) -> list[EventRecord]:
    return [_event(first + k, base) for k in range(n)]


def test_events_are_stored_with_their_change_and_read_back_a_page_at_a_time(make_store: Factory) -> None:
    store = make_store()
    assert store.event_bounds() == (1, 0) and store.events(0) == []
    store.commit(Change(put_documents=[_record("a", 1, "c1")], events=_events(1, 3)))
    store.commit(Change(events=_events(4, 2)))
    store.commit(Change(delete_documents=["a"]))  # a change without events
    again = make_store()
    assert again.event_bounds() == (1, 5)
    assert again.events(0) == _events(1, 5)  # merged ids, a missing document and times come back
    assert again.events(2, limit=2) == _events(3, 2)
    assert again.events(5) == [] and again.events(9) == []
    assert again.load().meta["last_event"] == "5"


def test_events_must_follow_the_last_one_issued(make_store: Factory) -> None:
    """A second writer's events (or a skipped number) are refused with the whole change."""
    store = make_store()
    store.commit(Change(events=_events(1, 2)))
    for bad in (_events(2, 1), _events(4, 1), [*_events(3, 1), *_events(5, 1)]):
        with pytest.raises(Aborted, match="the next is"):
            store.commit(Change(put_documents=[_record("a", 1, "c1")], events=bad))
    assert store.event_bounds() == (1, 2) and store.events(0) == _events(1, 2)
    assert [d.id for d in store.load().documents] == []
    store.commit(Change(events=_events(3, 1)))
    assert make_store().event_bounds() == (1, 3)


def test_retention_deletes_the_oldest_events_by_count_and_by_age(make_store: Factory) -> None:
    store = make_store()
    store.commit(Change(events=_events(1, 10), retain_events=4))
    assert store.event_bounds() == (7, 10) and store.events(0) == _events(7, 4)
    # Times 1000 to 1009 for 1 to 10, then 11 and 12 stamped 2000, 2001: before 1008.5 means up to 9.
    store.commit(Change(events=_events(11, 2, base=1989.0), retain_events=100, retain_events_since=1008.5))
    assert store.event_bounds() == (10, 12)
    assert [e.sequence for e in store.events(0)] == [10, 11, 12]
    # A change with no events still applies retention; an event stamped older after a younger one (the
    # clock went back) stays until the ones before it go: the events kept never have a gap.
    store.commit(Change(events=_events(13, 1, base=487.0), retain_events_since=1500.0))
    assert store.event_bounds() == (11, 13)
    store.commit(Change(retain_events_since=3000.0))
    again = make_store()
    assert again.event_bounds() == (14, 13) and again.events(0) == []  # all deleted: none kept
    again.commit(Change(events=_events(14, 1, base=3986.0), retain_events=1))
    assert again.event_bounds() == (14, 14) and again.events(13) == _events(14, 1, base=3986.0)


def test_a_failed_commit_stores_no_events(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "dedup.sqlite3")
    store.commit(Change(events=_events(1, 2)))
    bad = Change(put_documents=[_record("d", 4, "c1")], events=_events(3, 2), retain_events=1)
    object.__setattr__(bad.put_documents[0], "embeddings", object())  # cannot be stored
    with pytest.raises(Exception):  # noqa: B017 - any failure, as long as nothing half-lands
        store.commit(bad)
    assert store.event_bounds() == (1, 2) and store.events(0) == _events(1, 2)
    store.commit(Change(events=_events(3, 1)))
    assert [e.sequence for e in store.events(0)] == [1, 2, 3]
    store.close()


def test_a_schema_2_database_gets_the_events_table(tmp_path: Path) -> None:
    """A data directory written before events were stored opens; its events start at 1."""
    path = tmp_path / "old.sqlite3"
    store = SqliteStore(path)
    store.commit(Change(put_documents=[_record("a", 1, "c1")]))
    store.close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE events; UPDATE meta SET value = '2' WHERE key = 'schema_version';")
    db.commit()
    db.close()
    store = SqliteStore(path)
    assert store.load().meta["schema_version"] == "3"
    assert [d.id for d in store.load().documents] == ["a"]
    assert store.event_bounds() == (1, 0)
    store.commit(Change(events=_events(1, 1)))
    assert store.events(0) == _events(1, 1)
    store.close()


# -- sharing a store: history, partial loads, the generation a change expects -------------------------


def test_the_history_names_what_each_commit_changed(make_store: Factory) -> None:
    store = make_store()
    _filled(store)
    store.commit(Change(delete_documents=["a"], parents={"b": ()}, cluster_of={"c": "c1"}))
    store.commit(Change(put_clusters=[ClusterRecord("c1", 0, 1001.0, 3000.0)], delete_clusters=["c2"]))
    reader = make_store()  # another process's connection
    assert reader.generation() == 3
    first, second, third = reader.history(0) or []
    assert (first.generation, first.documents, first.clusters) == (1, ("a", "b", "c"), ("c1", "c2"))
    assert first.removed == ()
    # A deleted document comes with its text: a process needs it to take the document out of its indexes.
    assert second.documents == ("a", "b", "c")
    [(seq, article, vector)] = second.removed
    assert (seq, article) == (1, _record("a", 1, "").article)
    np.testing.assert_array_equal(vector, _record("a", 1, "").vector)
    assert (third.documents, third.clusters) == ((), ("c1", "c2"))
    assert [c.generation for c in reader.history(1) or []] == [2, 3]
    assert reader.history(3) == []


def test_a_partial_load_reads_only_the_documents_and_clusters_named(make_store: Factory) -> None:
    store = make_store()
    _filled(store)
    part = make_store().load(documents=["b", "gone"], clusters=["c2", "c9"])
    assert [d.id for d in part.documents] == ["b"] and part.documents[0].cluster_id == "c1"
    np.testing.assert_array_equal(part.documents[0].vector, _record("b", 2, "").vector)
    assert part.parents == {"b": (Parent("a", 0.9, 0.4, ("published earlier",)),)}
    assert part.external_sources == {} and part.pairs == []
    assert [c.id for c in part.clusters] == ["c2"] and part.meta["generation"] == "1"
    assert make_store().load(documents=[], clusters=[]).documents == []


def test_a_change_computed_from_an_older_generation_is_refused(make_store: Factory) -> None:
    store = make_store()
    _filled(store)
    other = make_store()
    other.commit(Change(put_documents=[_record("d", 4, "c1")], expect_generation=1))
    stale = Change(put_documents=[_record("e", 5, "c1")], expect_generation=1)
    with pytest.raises(Aborted, match="computed from commit 1"):
        store.commit(stale)
    assert [d.id for d in make_store().load().documents] == ["a", "b", "c", "d"]
    assert store.generation() == 2 and len(store.history(0) or []) == 2
    store.commit(Change(put_documents=[_record("e", 5, "c1")], expect_generation=2))


@pytest.mark.parametrize("make_store", ["memory-shared", "redis", "redis-cluster"], indirect=True)
def test_an_optimistic_writer_takes_no_lock_when_none_is_held_and_waits_for_one_that_is(
    make_store: Factory,
) -> None:
    """``writing(optimistic=True)`` goes on at once without taking the lock when it is free (so another
    writer is not held up by it), and waits for a writer that holds it."""
    store, other = make_store(), make_store()
    entered = threading.Event()

    def take_it() -> None:
        with other.writing():
            entered.set()

    with store.writing(optimistic=True):
        taker = threading.Thread(target=take_it)
        taker.start()
        assert entered.wait(5)  # the lock was free all along
        taker.join()
    order: list[str] = []
    release = threading.Event()

    def hold_it() -> None:
        with other.writing():
            entered.set()
            release.wait(5)
            order.append("holder done")

    entered.clear()
    holder = threading.Thread(target=hold_it)
    holder.start()
    assert entered.wait(5)
    threading.Timer(0.2, release.set).start()
    with store.writing(optimistic=True):
        order.append("optimistic in")
    holder.join()
    assert order == ["holder done", "optimistic in"]


@pytest.mark.parametrize("make_store", ["memory-shared", "redis", "redis-cluster"], indirect=True)
def test_a_commit_made_while_another_process_holds_the_write_lock_is_refused(make_store: Factory) -> None:
    """The holder's write, computed on the state it read once it held the lock, is never overtaken: a
    commit of another writer meanwhile (an optimistic one that started before the lock was taken) is
    refused with nothing stored, the holder's goes through, and the other's once the lock is free."""
    store, other = make_store(), make_store()
    store.commit(Change(put_documents=[_record("a", 1, "c1")], expect_generation=0))
    holding, go_on = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with other.writing():
                holding.set()
                go_on.wait(5)
                other.commit(Change(put_documents=[_record("b", 2, "c1")], expect_generation=1))
        except BaseException as exc:  # raised below
            failures.append(exc)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    with pytest.raises(Aborted, match="holds the write lock"):
        store.commit(Change(put_documents=[_record("c", 2, "c1")], expect_generation=1))
    go_on.set()
    holder.join()
    assert failures == []
    assert [d.id for d in make_store().load().documents] == ["a", "b"]
    with store.writing(optimistic=True):
        store.commit(Change(put_documents=[_record("c", 3, "c1")], expect_generation=2))
    assert [d.id for d in make_store().load().documents] == ["a", "b", "c"]


@pytest.mark.parametrize("make_store", ["memory-shared", "redis", "redis-cluster"], indirect=True)
def test_writers_take_turns_under_the_write_lock(make_store: Factory) -> None:
    """Stores that processes share (``shared``); one process writes the others."""
    store, other = make_store(), make_store()
    assert store.shared
    inside: list[int] = []
    overlaps: list[int] = []

    def write(n: int) -> None:
        s = store if n % 2 else other
        for _ in range(5):
            with s.writing():
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(n)
                time.sleep(0.002)
                inside.remove(n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [] and inside == []
