"""Contract tests of the engine's parts: every implementation of a part's protocol must pass the same
tests. Each part's fixture is parametrised over its implementations; another implementation (one kept
in Redis, say) slots in as a further entry of that fixture's factories."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.article import Article
from dedup.article_entries import ArticleEntries, Entry, MemoryArticleEntries
from dedup.article_index import (
    MAX_SENTENCES,
    ArticleIndex,
    MemoryArticleIndex,
    sentence_signatures,
    split_key,
    words_key,
)
from dedup.cluster import Claim, cluster_id_for
from dedup.cluster_table import ClusterTable, MemoryClusterTable
from dedup.config import ClusterConfig, Config
from dedup.document import PreparedDocument, prepare
from dedup.engine_state import story_vector
from dedup.lineage import Lineage, MemoryLineage, install_parents, ranked, reaches, walk
from dedup.minhash import signatures
from dedup.redis_cluster_table import RedisClusterTable
from dedup.redis_entries import RedisArticleEntries
from dedup.redis_index import RedisArticleIndex
from dedup.redis_lineage import RedisLineage
from dedup.redis_store import RedisStore
from dedup.results import ClusterEvent, ClusterEventKind, DuplicateGroup, ExternalSource, LineageEdge, Parent
from dedup.store import Change, ClusterRecord
from dedup.story_clusters import MemoryStoryClusters, Placement, StoryClusters
from dedup.undo import UndoLog
from tests.redis_server import RedisCluster3, RedisServer

# -- lineage ------------------------------------------------------------------------------------------

LINEAGES = ["memory", "redis", "redis cluster"]
"""In process; read from a Redis store (``RedisLineage``) on one redis-server, and on a three-node Redis
Cluster."""

IDS = "abcdefg"


class Settle:
    """How a lineage's changes reach the store: ``__call__`` commits what the lineage says of ``IDS`` (the
    engine's ``Change.parents``) and the articles ``deleted``, as the engine's commit does, then settles
    the lineage; ``fresh`` is a lineage as another process sharing the store reads it."""

    def __init__(self, lineage: Lineage, store: RedisStore | None = None) -> None:
        self.lineage, self.store = lineage, store

    def __call__(self, deleted: str = "") -> None:
        if self.store is not None:
            parents = {d: self.lineage.parents(d) for d in IDS if d not in deleted}
            self.store.commit(Change(parents=parents, delete_documents=list(deleted)))
        self.lineage.settled()

    def fresh(self) -> Lineage:
        return self.lineage if self.store is None else RedisLineage(self.store, cache=2)


@pytest.fixture(params=LINEAGES)
def settle(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settle]:
    if request.param == "memory":
        yield Settle(MemoryLineage())
        return
    server = RedisServer(tmp_path / "one") if request.param == "redis" else RedisCluster3(tmp_path / "three")
    store = RedisStore(server.url)
    try:
        yield Settle(RedisLineage(store, cache=2), store)
    finally:
        store.close()
        server.stop()


@pytest.fixture
def lineage(settle: Settle) -> Lineage:
    return settle.lineage


def _p(doc_id: str, confidence: float = 0.9, coverage: float = 0.5) -> Parent:
    return Parent(doc_id, confidence, coverage)


def _state(lineage: Lineage, ids: str = IDS) -> dict[str, tuple[tuple[Parent, ...], list[str]]]:
    """What the protocol answers for every id: parents, and children in order."""
    return {d: (lineage.parents(d), sorted(lineage.children(d))) for d in ids}


def test_lineage_starts_empty(lineage: Lineage) -> None:
    assert lineage.parents("a") == () and not lineage.children("a")
    assert lineage.remove("a") == set()


def test_lineage_children_are_the_inverse_of_parents(lineage: Lineage) -> None:
    lineage.set_parents("c", (_p("a"), _p("b", 0.5)))
    lineage.set_parents("d", (_p("a"),))
    assert lineage.parents("c") == (_p("a"), _p("b", 0.5))  # in the order given
    assert sorted(lineage.children("a")) == ["c", "d"] and sorted(lineage.children("b")) == ["c"]
    lineage.set_parents("c", (_p("b"),))  # replaced: no longer a child of a
    assert sorted(lineage.children("a")) == ["d"] and lineage.parents("c") == (_p("b"),)
    lineage.set_parents("c", ())
    assert lineage.parents("c") == () and not lineage.children("b")


def test_lineage_children_is_a_copy(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    children = lineage.children("a")
    lineage.set_parents("c", (_p("a"),))
    assert sorted(children) == ["b"]


def test_lineage_remove_takes_the_article_out_of_both_directions(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a", 0.4)))
    lineage.set_parents("d", (_p("b"),))
    assert lineage.remove("b") == {"c", "d"}
    assert lineage.parents("b") == () and not lineage.children("b")
    assert not any(p.id == "b" for d in "acd" for p in lineage.parents(d))
    assert lineage.parents("c") == (_p("a", 0.4),)  # its other parent stays
    assert sorted(lineage.children("a")) == ["c"]  # b was a's child: gone with it


def test_lineage_undo_puts_back_every_change(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a")))
    before = _state(lineage)
    log = UndoLog()
    lineage.undo = log
    lineage.set_parents("d", (_p("c"),))
    lineage.set_parents("c", (_p("a"),))
    lineage.remove("b")
    install_parents(lineage, {"e": (_p("d"), _p("a", 0.3))}, "abcdefg".index)
    lineage.undo = None
    assert _state(lineage) != before
    log.undo()
    assert _state(lineage) == before


def test_lineage_committed_changes_are_what_every_process_reads(settle: Settle) -> None:
    lineage = settle.lineage
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a", 0.4)))
    lineage.set_parents("d", (_p("b"),))
    settle()
    assert _state(lineage) == _state(settle.fresh())
    assert sorted(settle.fresh().children("b")) == ["c", "d"]
    orphans = lineage.remove("b")  # as the engine deletes b: its children derived again, without it
    install_parents(
        lineage, {d: tuple(p for p in lineage.parents(d) if p.id != "b") for d in orphans}, IDS.index
    )
    expected = _state(lineage)
    settle(deleted="b")
    assert _state(lineage) == _state(settle.fresh()) == expected
    assert not settle.fresh().children("b") and sorted(settle.fresh().children("a")) == ["c"]
    assert settle.fresh().parents_many("abcd") == {"c": (_p("a", 0.4),)}


def test_lineage_undone_write_leaves_what_was_committed(settle: Settle) -> None:
    lineage = settle.lineage
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"),))
    settle()
    before = _state(lineage)
    log = UndoLog()
    lineage.undo = log
    lineage.remove("b")
    lineage.set_parents("d", (_p("c"), _p("a")))
    lineage.undo = None
    log.undo()
    lineage.settled()
    assert _state(lineage) == _state(settle.fresh()) == before


def test_lineage_parents_many_answers_as_parents_one_by_one(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a", 0.3)))
    assert lineage.parents_many("abcz") == {d: lineage.parents(d) for d in "bc"}
    assert lineage.parents_many([]) == {}


def test_redis_store_children_follow_deletes_and_replacements(redis: RedisServer) -> None:
    from tests.test_store import _record

    store = RedisStore(redis.url)
    store.commit(Change(put_documents=[_record(d, n, "c1") for n, d in enumerate("abc", 1)],
                        parents={"b": (_p("a"),), "c": (_p("a"), _p("b"))}))  # fmt: skip
    assert store.children_of("abc") == {"a": frozenset("bc"), "b": frozenset("c")}
    # b replaced (deleted and stored again in one change), its children derived again: all kept.
    store.commit(Change(put_documents=[_record("b", 4, "c1")], delete_documents=["b"],
                        parents={"b": (_p("a"),), "c": (_p("b"),)}))  # fmt: skip
    assert store.children_of("abc") == {"a": frozenset("b"), "b": frozenset("c")}
    # a deleted: gone from every children set, and its own set gone.
    store.commit(Change(delete_documents=["a"], parents={"b": ()}))
    assert store.children_of("abc") == {"b": frozenset("c")}
    assert not store.client.exists(store.key("children", "a"))
    store.close()


def test_redis_store_writes_the_children_of_a_store_made_before_it_kept_them(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "r")
    try:
        store = RedisStore(server.url)
        store.commit(Change(parents={"c": (_p("a"), _p("b")), "d": (_p("a"),)}))
        expected = store.children_of("abcd")
        assert expected == {"a": frozenset("cd"), "b": frozenset("c")}
        # As a store written by an older dedup: parents, no children sets, no mark.
        client = store.client
        client.delete(store.key("children", "a"), store.key("children", "b"))
        client.hdel(store.key("meta"), "children_index")
        store.close()
        reopened = RedisStore(server.url)
        assert reopened.children_of("abcd") == expected
        assert _state(RedisLineage(reopened, cache=2), "abcd")["a"] == ((), ["c", "d"])
        reopened.close()
    finally:
        server.stop()


def test_lineage_changes_without_an_undo_log_are_kept(lineage: Lineage) -> None:
    log = UndoLog()
    lineage.undo = log
    lineage.undo = None
    lineage.set_parents("b", (_p("a"),))
    log.undo()
    assert lineage.parents("b") == (_p("a"),)


def test_install_parents_drops_the_edge_that_closes_a_cycle(lineage: Lineage) -> None:
    order = "abcdefg".index
    lineage.set_parents("b", (_p("a"),))  # a -> b stored
    got = install_parents(lineage, {"a": (_p("b", 0.95),), "c": (_p("a", 0.7), _p("b", 0.9))}, order)
    # b -> a would close a -> b -> a; the others stand, most confident first.
    assert got == {"a": (), "c": (_p("b", 0.9), _p("a", 0.7))}
    assert lineage.parents("c") == (_p("b", 0.9), _p("a", 0.7)) and lineage.parents("a") == ()


def test_install_parents_keeps_the_more_confident_of_two_edges_in_a_cycle(lineage: Lineage) -> None:
    got = install_parents(lineage, {"a": (_p("b", 0.6),), "b": (_p("a", 0.8),)}, "abcdefg".index)
    assert got == {"a": (), "b": (_p("a", 0.8),)}
    # Equal confidence: the earlier child's edge first (by ``order``).
    lineage.set_parents("b", ())
    got = install_parents(lineage, {"c": (_p("d", 0.6),), "d": (_p("c", 0.6),)}, "abcdefg".index)
    assert got == {"c": (_p("d", 0.6),), "d": ()}


def test_install_parents_ranks_and_replaces(lineage: Lineage) -> None:
    lineage.set_parents("c", (_p("a"),))
    got = install_parents(lineage, {"c": (_p("b", 0.5, 0.2), _p("d", 0.5, 0.9))}, "abcdefg".index)
    assert got == {"c": ranked([_p("b", 0.5, 0.2), _p("d", 0.5, 0.9)])}
    assert got["c"] == (_p("d", 0.5, 0.9), _p("b", 0.5, 0.2))  # equal confidence: the larger coverage first
    assert not lineage.children("a")


def test_walk_goes_breadth_first_both_ways(lineage: Lineage) -> None:
    order = "abcdefg".index
    lineage.set_parents("b", (_p("a", 0.9),))
    lineage.set_parents("c", (_p("a", 0.8),))
    lineage.set_parents("d", (_p("c", 0.7), _p("b", 0.6)))
    up, down = walk(lineage, "d", 32, order)
    assert up == [
        LineageEdge("c", "d", 0.7), LineageEdge("b", "d", 0.6), LineageEdge("a", "c", 0.8), LineageEdge("a", "b", 0.9)
    ]  # fmt: skip
    assert down == []
    up, down = walk(lineage, "a", 32, order)
    assert up == []
    assert down == [
        LineageEdge("a", "b", 0.9), LineageEdge("a", "c", 0.8), LineageEdge("b", "d", 0.6), LineageEdge("c", "d", 0.7)
    ]  # fmt: skip
    assert walk(lineage, "a", 1, order)[1] == [LineageEdge("a", "b", 0.9), LineageEdge("a", "c", 0.8)]


def test_walk_leaves_out_the_articles_the_caller_does_not_hold(lineage: Lineage) -> None:
    """A lineage read from a shared store may name an article another process stored after the state
    the caller holds: the walk reaches only those it holds."""
    order = "abcdefg".index
    lineage.set_parents("b", (_p("a", 0.9),))
    lineage.set_parents("c", (_p("b", 0.8),))
    lineage.set_parents("d", (_p("b", 0.7),))
    up, down = walk(lineage, "b", 32, order, held=lambda d: d != "c")
    assert up == [LineageEdge("a", "b", 0.9)] and down == [LineageEdge("b", "d", 0.7)]
    assert walk(lineage, "d", 32, order, held=lambda d: d != "b") == ([], [])


def test_reaches_follows_children_only() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "d": {"a"}}

    def children(node: str) -> set[str]:
        return graph.get(node, set())

    assert reaches(children, "a", "c") and reaches(children, "d", "c") and reaches(children, "a", "a")
    assert not reaches(children, "c", "a") and not reaches(children, "b", "d")


# -- article indexes ----------------------------------------------------------------------------------

DIM = 16
CONFIG = replace(Config(), align=replace(Config().align, candidate_neighbours=4))
"""With sentence vectors indexed (``align.candidate_neighbours`` > 0), so every index is exercised."""

ARTICLE_INDEXES = ["memory", "redis", "redis cluster"]
"""In process; in Redis (``RedisArticleIndex``) on one redis-server, and on a three-node Redis Cluster."""

SHARED = "The harbour board voted on Monday to repair the north wall before the winter storms arrive."
TEXTS = {
    "wire": f"{SHARED} Work will start next month and last until the spring. The chair said it could not wait.",
    "copy": f"{SHARED} Work will start next month and last until the spring. The chair said it could not wait.",
    "local": f"{SHARED} Fishermen at the quay said the repair was long overdue after last year's floods.",
    "other": "A new library opened in the town centre with a reading room for children and a cafe by the door.",
}


@pytest.fixture(params=ARTICLE_INDEXES)
def make_article_index(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], ArticleIndex]]:
    """Makes empty indexes of one implementation: in Redis, each under a prefix of its own."""
    if request.param == "memory":
        yield lambda: MemoryArticleIndex(CONFIG, lambda: DIM)
        return
    server = RedisServer(tmp_path / "one") if request.param == "redis" else RedisCluster3(tmp_path / "three")
    stores: list[RedisStore] = []

    def make() -> ArticleIndex:
        stores.append(RedisStore(f"{server.url}?prefix=t{len(stores)}&index_capacity=2000"))
        return RedisArticleIndex(CONFIG, stores[-1], lambda: DIM)

    yield make
    for store in stores:
        store.close()
    server.stop()


@pytest.fixture
def article_index(make_article_index: Callable[[], ArticleIndex]) -> Iterator[ArticleIndex]:
    yield make_article_index()


def _vector(text: str) -> np.ndarray:
    """A made-up embedding: the same for the same text, far apart for different ones."""
    rng = np.random.default_rng(xxhash.xxh3_64_intdigest(text.encode("utf-8")))
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _doc(doc_id: str, seq: int, text: str | None = None) -> PreparedDocument:
    """A prepared article, signed and embedded as the engine would before indexing it."""
    doc = prepare(Article(doc_id, TEXTS[doc_id] if text is None else text), seq, CONFIG)
    mh = CONFIG.minhash
    doc.doc_minhash = signatures([doc.doc_shingles], mh.num_perm, mh.seed)[0]
    doc.sentence_minhashes = signatures(list(doc.sentence_shingles), mh.num_perm, mh.seed)
    doc.embeddings = np.stack([_vector(doc.sentence_text(s)) for s in range(len(doc.sentences))]).astype(
        np.float16
    )
    doc.vector = story_vector(doc.embeddings, DIM)
    return doc


def _sentence_vectors(index: ArticleIndex) -> bool:
    """Whether the index keeps sentence vectors (the shared one does not: ``make_article_index``)."""
    return not index.shared


def _answers(index: ArticleIndex, docs: list[PreparedDocument]) -> dict[str, Any]:
    """What the index answers about each of ``docs`` (indexed or not), as plain values."""
    out: dict[str, Any] = {"sentences": index.sentences(), "articles": index.articles()}
    for doc in docs:
        sigs = sentence_signatures(doc, CONFIG.minhash)
        assert doc.embeddings is not None and doc.vector is not None and doc.doc_minhash is not None
        out[doc.id] = (
            sorted(index.articles_like(doc.doc_minhash)),
            [sorted(hits) for hits in index.sentence_hits(sigs)],
            index.articles_sharing_sentences(sigs),
            index.sentences_with_words([words_key(doc, s) for s in range(len(doc.sentences))]),
            sorted(index.articles_near_sentences(doc.embeddings, 4, 0.99)),
            sorted(seq for _, seq in index.nearest_articles(doc.vector, 10)),
        )
    return out


def test_article_index_starts_empty(article_index: ArticleIndex) -> None:
    doc = _doc("wire", 1)
    assert article_index.sentences() == 0 and article_index.articles() == 0
    assert article_index.articles_like(cast(np.ndarray, doc.doc_minhash)) == []
    assert article_index.sentence_hits(doc.sentence_minhashes) == [[] for _ in doc.sentences]
    assert article_index.articles_sharing_sentences(doc.sentence_minhashes) == []
    assert article_index.sentences_with_words([words_key(doc, 0)]) == [None]
    assert article_index.articles_near_sentences(cast(np.ndarray, doc.embeddings), 4, 0.5) == []
    assert article_index.nearest_articles(cast(np.ndarray, doc.vector), 5) == []


def test_article_index_finds_what_was_added(article_index: ArticleIndex) -> None:
    wire, local, other = _doc("wire", 1), _doc("local", 2), _doc("other", 3)
    signatures_before = wire.sentence_minhashes.copy()
    article_index.add([wire, local])
    article_index.add([other])
    assert article_index.articles() == 3
    assert article_index.sentences() == sum(len(d.sentences) for d in (wire, local, other))
    # Indexed articles drop their sentence signatures; they are signed again when asked for.
    assert len(wire.sentence_minhashes) == 0
    assert np.array_equal(sentence_signatures(wire, CONFIG.minhash), signatures_before)
    probe = _doc("copy", 9)  # the wire's text word for word
    assert 1 in article_index.articles_like(cast(np.ndarray, probe.doc_minhash))  # and maybe 2: LSH
    assert 3 not in article_index.articles_like(cast(np.ndarray, probe.doc_minhash))
    hits = article_index.sentence_hits(probe.sentence_minhashes)
    assert [split_key(k) for k in sorted(hits[0])] == [(1, 0), (2, 0)]  # the shared first sentence
    assert [split_key(k) for k in hits[1]] == [(1, 1)]
    assert article_index.articles_sharing_sentences(probe.sentence_minhashes) == [1, 2]
    # The first article stored with a sentence's words holds it (its embedding is shared).
    assert article_index.sentences_with_words([words_key(probe, 0), words_key(local, 1)]) == [
        MAX_SENTENCES * 1 + 0,
        MAX_SENTENCES * 2 + 1,
    ]
    near = sorted(article_index.articles_near_sentences(cast(np.ndarray, probe.embeddings), 4, 0.99))
    assert near == ([1, 1, 1, 2] if _sentence_vectors(article_index) else [])
    nearest = article_index.nearest_articles(cast(np.ndarray, probe.vector), 2)
    assert [seq for _, seq in nearest] == [1, 2] and nearest[0][0] == pytest.approx(1.0, abs=1e-3)
    assert nearest[0][0] >= nearest[1][0]


def test_article_index_remove_forgets_the_article(article_index: ArticleIndex) -> None:
    wire, local, other = _doc("wire", 1), _doc("local", 2), _doc("other", 3)
    article_index.add([local, other])
    before = _answers(article_index, [wire, local, other])
    article_index.add([wire])
    article_index.remove([wire])
    assert _answers(article_index, [wire, local, other]) == before  # local held the shared words first
    article_index.remove([local])
    article_index.remove([other])
    assert article_index.articles() == 0 and article_index.sentences() == 0
    # An article is added once (it drops its sentence signatures): the same article again is a new one.
    wire, local = _doc("wire", 4), _doc("local", 5)
    article_index.add([wire])
    article_index.add([local])
    article_index.remove([wire])  # it held the shared words: no article removed is named for them
    assert article_index.sentences_with_words([words_key(local, 0)])[0] in (None, 5 * MAX_SENTENCES)
    assert article_index.sentences_with_words([words_key(wire, 1)]) == [None]
    assert article_index.articles() == 1 and article_index.sentences() == len(local.sentences)
    assert article_index.articles_sharing_sentences(sentence_signatures(wire, CONFIG.minhash)) == [5]


def test_article_index_removes_many_at_once_as_one_by_one(
    make_article_index: Callable[[], ArticleIndex],
) -> None:
    names = ["wire", "local", "other", "copy"]
    at_once, one_by_one = make_article_index(), make_article_index()
    for index in (at_once, one_by_one):
        index.add([_doc(name, n) for n, name in enumerate(names, start=1)])
    at_once.remove([_doc(name, n) for n, name in enumerate(names[:3], start=1)])
    for n, name in enumerate(names[:3], start=1):
        one_by_one.remove([_doc(name, n)])
    probes = [_doc(name, 9) for name in names]
    assert _answers(at_once, probes) == _answers(one_by_one, probes)
    assert at_once.articles() == one_by_one.articles() == 1


def test_article_index_undo_puts_back_every_change(article_index: ArticleIndex) -> None:
    """In a write (an undo log set), in-process indexes change at once and the log puts them back;
    indexes kept in a server (the article vectors too) change nothing there: they queue their writes
    for the commit (``take_writes``), so that a write that is not committed leaves nothing."""
    docs = [_doc("wire", 1), _doc("local", 2), _doc("other", 3)]
    article_index.add(docs[:2])
    before = _answers(article_index, docs)
    log = UndoLog()
    article_index.undo = log
    article_index.remove([docs[0]])
    article_index.add([docs[2]])
    article_index.undo = None
    assert (_answers(article_index, docs) != before) == (not article_index.shared)
    writes = article_index.take_writes()
    assert bool(writes) == article_index.shared and article_index.take_writes() == []
    log.undo()
    assert _answers(article_index, docs) == before


@pytest.mark.parametrize("make_article_index", ["memory"], indirect=True)  # the others are kept in a
# server, with their binding beside them (tests/test_redis_index.py, test_shared_article_index_binding)
def test_article_index_save_and_load(
    article_index: ArticleIndex, make_article_index: Callable[[], ArticleIndex], tmp_path: Path
) -> None:
    docs = [_doc("wire", 1), _doc("local", 2), _doc("other", 3)]
    article_index.add(docs)
    seqs = {d.id: d.order for d in docs}
    path = tmp_path / "indexes.npz"
    assert article_index.save(path, {"binding": "this"}, seqs.__getitem__)
    ids = {d.order: d.id for d in docs}
    loaded = make_article_index()
    assert loaded.load(path, "this", ids)
    assert _answers(loaded, docs) == _answers(article_index, docs)
    # Saved from another state or for other articles: not read, and nothing of it kept.
    for binding, names in (("that", ids), ("this", {1: "wire", 2: "local"})):
        other = make_article_index()
        assert not other.load(path, binding, names)
        assert other.sentences() == 0 and other.articles() == 0


# -- story clusters -----------------------------------------------------------------------------------

STORY_CLUSTERS: dict[str, Callable[[ClusterConfig], StoryClusters]] = {"memory": MemoryStoryClusters}

MERGING = replace(ClusterConfig(), threshold=0.75, link_min_cosine=-1.0, time_penalty_per_day=0.0)
"""Clusters that merge on average linkage (``test_cluster``'s numbers); links always pull."""
REHOMING = replace(ClusterConfig(), threshold=0.6, link_min_cosine=0.5, rehome_margin=0.1)
"""Links pull only into a cluster read like the article; an article explained more elsewhere moves."""


@pytest.fixture(params=sorted(STORY_CLUSTERS))
def make_story_clusters(request: pytest.FixtureRequest) -> Callable[[ClusterConfig], StoryClusters]:
    """Makes empty story clusters of one implementation, with the settings given."""
    return STORY_CLUSTERS[request.param]


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


def _stories_state(stories: StoryClusters) -> dict[str, Any]:
    """What the protocol answers about every cluster, and where each probe would go."""
    records = stories.records()
    members = {r.id: stories.members(r.id) for r in records}
    near = [d for ids in members.values() for d in ids]
    return {
        "records": records,
        "members": members,
        "peek": [stories.peek({}, _unit(1, x), near, None) for x in (0.0, 0.5, 1.2, 3.0, -9.0)],
    }


def test_story_clusters_start_empty(make_story_clusters: Callable[[ClusterConfig], StoryClusters]) -> None:
    stories = make_story_clusters(MERGING)
    change = Change()
    assert stories.records() == [] and stories.get("c1") is None
    assert stories.peek({}, _unit(1, 0), [], None) is None
    assert stories.remove("a", _unit(1, 0), None, 5.0, change) is None
    assert change == Change()


def test_story_clusters_place_founds_then_joins(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    stories = make_story_clusters(MERGING)
    change = Change()
    placed = stories.place("a", {}, _unit(1, 0), [], None, {}, 10.0, change)
    cid = cluster_id_for("a")
    assert placed == Placement(cid, 0.0, (ClusterEvent(ClusterEventKind.CREATED, cid, "a"),))
    # Created, then updated now: the record goes to the store twice, the same.
    assert change == Change(put_clusters=[ClusterRecord(cid, 0, 10.0, 10.0)] * 2)
    assert stories.get(cid) == ClusterRecord(cid, 0, 10.0, 10.0) and stories.members(cid) == ["a"]
    # A copy of it joins through its link, whatever it reads like; the cluster is updated now.
    change = Change()
    placed = stories.place("b", {"a": 0.9}, _unit(0, 1), [], None, {}, 20.0, change)
    assert placed == Placement(cid, 0.9, (ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, cid, "b"),))
    assert change == Change(put_clusters=[ClusterRecord(cid, 0, 10.0, 20.0)])
    assert stories.members(cid) == ["a", "b"] and stories.records() == [ClusterRecord(cid, 0, 10.0, 20.0)]
    assert stories.peek({"b": 1.0}, None, [], None) == cid
    assert stories.peek({}, _unit(-1, 0), ["a"], None) is None  # reads like nothing placed
    assert stories.cluster_of("a") == stories.cluster_of("b") == cid and stories.cluster_of("x") is None


def test_story_clusters_follow_what_another_process_placed(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    """A replica takes the placements another replica committed: into a cluster it does not have yet
    (with that cluster's rank: clusters it founds later rank after it), from one cluster to another, and
    out; then it answers as the other does."""
    mine, theirs = make_story_clusters(MERGING), make_story_clusters(MERGING)
    theirs.place("a", {}, _unit(1, 0), [], None, {}, 10.0, Change())
    theirs.place("b", {"a": 0.9}, _unit(1, 0.1), [], None, {}, 20.0, Change())
    cid = cluster_id_for("a")
    record = theirs.get(cid)
    assert record is not None
    mine.follow("a", record, _unit(1, 0), None, 0.0)
    mine.follow("b", record, _unit(1, 0.1), None, 0.9)
    assert _stories_state(mine) == _stories_state(theirs) and mine.cluster_of("b") == cid
    # Founded here next, a cluster ranks after the one followed.
    placed = mine.place("c", {}, _unit(-1, 0), [], None, {}, 30.0, Change())
    assert mine.get(placed.cluster) == ClusterRecord(placed.cluster, 1, 30.0, 30.0)
    # Moved out of the cluster it founded, which is then gone, into a's.
    mine.follow("c", record, _unit(-1, 0), None, 1.0)
    assert mine.get(placed.cluster) is None and mine.members(cid) == ["a", "b", "c"]
    mine.follow("c", None, _unit(-1, 0), None, 1.0)  # deleted
    mine.follow_record(cid, ClusterRecord(cid, 0, 10.0, 40.0))
    assert mine.cluster_of("c") is None and mine.records() == [ClusterRecord(cid, 0, 10.0, 40.0)]
    mine.follow("a", None, _unit(1, 0), None, 0.0)
    mine.follow("b", None, _unit(1, 0.1), None, 0.9)
    mine.follow_record(cid, None)
    assert _stories_state(mine) == _stories_state(make_story_clusters(MERGING))


def test_story_clusters_merge_keeps_the_oldest_id_and_names_the_moved_articles(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    stories = make_story_clusters(MERGING)
    stories.place("zzz", {}, _unit(1, 0.0), [], None, {}, 1.0, Change())
    stories.place("aaa", {}, _unit(1, 1.2), [], None, {}, 2.0, Change())  # cosine 0.64: a story of its own
    old, young = cluster_id_for("zzz"), cluster_id_for("aaa")
    assert [r.id for r in stories.records()] == [old, young]  # oldest first
    # Between them: joins aaa's cluster, which then reads close enough to zzz's; the older id survives.
    change = Change()
    placed = stories.place("m", {}, _unit(1, 0.5), ["zzz", "aaa"], None, {}, 3.0, change)
    assert placed == Placement(
        old,
        1.0,
        (
            ClusterEvent(ClusterEventKind.MERGED, old, "m", (young,)),
            ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, old, "m"),
        ),
    )
    assert change == Change(
        put_clusters=[ClusterRecord(old, 0, 1.0, 3.0)], delete_clusters=[young], cluster_of={"aaa": old}
    )
    assert stories.get(young) is None and stories.records() == [ClusterRecord(old, 0, 1.0, 3.0)]
    assert sorted(stories.members(old)) == ["aaa", "m", "zzz"] and stories.cluster_of("aaa") == old


def test_story_clusters_rehome_moves_the_article_explained_more_elsewhere(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    port, dam, roundup = _unit(1, 0.1, 0.0), _unit(0.0, 1, 0.1), _unit(0.8, 0.7, 0.0)
    stories = make_story_clusters(REHOMING)
    first = stories.place("roundup", {}, roundup, [], None, {}, 1.0, Change()).cluster
    assert stories.place("port", {"roundup": 0.3}, port, [], None, {}, 2.0, Change()).cluster == first
    change = Change()
    claims = {"roundup": Claim(0.6, roundup, None)}
    placed = stories.place("dam", {"roundup": 0.5}, dam, ["roundup"], None, claims, 3.0, change)
    dam_cluster = cluster_id_for("dam")
    assert placed == Placement(
        dam_cluster,
        0.0,
        (
            ClusterEvent(ClusterEventKind.CREATED, dam_cluster, "dam"),
            ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, first, "roundup"),
            ClusterEvent(ClusterEventKind.DOCUMENT_ADDED, dam_cluster, "roundup"),
        ),
    )
    assert change == Change(
        put_clusters=[
            ClusterRecord(dam_cluster, 1, 3.0, 3.0),
            ClusterRecord(first, 0, 1.0, 3.0),  # the port story is left, and updated now
            ClusterRecord(dam_cluster, 1, 3.0, 3.0),
        ],
        cluster_of={"roundup": dam_cluster},
        placement={"roundup": 0.6},
    )
    assert stories.members(first) == ["port"] and stories.members(dam_cluster) == ["dam", "roundup"]


def test_story_clusters_remove_updates_the_cluster_or_deletes_the_last(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    stories = make_story_clusters(MERGING)
    cid = stories.place("a", {}, _unit(1, 0), [], None, {}, 1.0, Change()).cluster
    stories.place("b", {"a": 1.0}, _unit(1, 0), [], None, {}, 2.0, Change())
    change = Change()
    assert stories.remove("a", _unit(1, 0), None, 3.0, change) == ClusterEvent(
        ClusterEventKind.DOCUMENT_REMOVED, cid, "a"
    )
    assert change == Change(put_clusters=[ClusterRecord(cid, 0, 1.0, 3.0)])
    assert stories.members(cid) == ["b"]  # the id stays while the cluster holds an article
    change = Change()
    assert stories.remove("b", _unit(1, 0), None, 4.0, change) == ClusterEvent(
        ClusterEventKind.DOCUMENT_REMOVED, cid, "b"
    )
    assert change == Change(delete_clusters=[cid])
    assert stories.get(cid) is None and stories.records() == []


def test_story_clusters_restore_answers_as_before(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    vectors = {"zzz": _unit(1, 0.0), "aaa": _unit(1, 1.2), "b": _unit(1, 1.1)}
    stories = make_story_clusters(MERGING)
    stories.place("zzz", {}, vectors["zzz"], [], None, {}, 1.0, Change())
    stories.place("aaa", {}, vectors["aaa"], [], None, {}, 2.0, Change())
    stories.place("b", {"aaa": 0.4}, vectors["b"], [], None, {}, 3.0, Change())
    restored = make_story_clusters(MERGING)
    for record in stories.records():
        restored.restore(record, [(d, vectors[d], None, 1.0) for d in stories.members(record.id)])
    assert _stories_state(restored) == _stories_state(stories)
    change = Change()
    assert restored.place(
        "c", {}, _unit(1, 0.01), ["zzz", "b"], None, {}, 4.0, change
    ).cluster == cluster_id_for("zzz")
    assert change.put_clusters == [ClusterRecord(cluster_id_for("zzz"), 0, 1.0, 4.0)]


def test_story_clusters_undo_puts_back_every_change(
    make_story_clusters: Callable[[ClusterConfig], StoryClusters],
) -> None:
    stories = make_story_clusters(MERGING)
    stories.place("zzz", {}, _unit(1, 0.0), [], None, {}, 1.0, Change())
    stories.place("aaa", {}, _unit(1, 1.2), [], None, {}, 2.0, Change())
    stories.place("b", {"zzz": 1.0}, _unit(1, 0.0), [], None, {}, 2.5, Change())
    before = _stories_state(stories)
    log = UndoLog()
    stories.undo = log
    stories.place("m", {}, _unit(1, 0.5), ["zzz", "aaa"], None, {}, 3.0, Change())  # a merge
    stories.remove("zzz", _unit(1, 0.0), None, 4.0, Change())
    stories.place("new", {}, _unit(-1, 0), [], None, {}, 5.0, Change())  # a new cluster
    stories.undo = None
    assert _stories_state(stories) != before
    log.undo()
    assert _stories_state(stories) == before
    # Undone, it goes on as if those changes had never been made.
    change = Change()
    placed = stories.place("m", {}, _unit(1, 0.5), ["zzz", "aaa"], None, {}, 3.0, change)
    assert placed.events[0].kind is ClusterEventKind.MERGED and change.delete_clusters == [
        cluster_id_for("aaa")
    ]


# -- cluster tables -----------------------------------------------------------------------------------

CLUSTER_TABLES = ["memory", "redis", "redis cluster"]
"""In process; kept in a Redis store (``RedisClusterTable``) on one redis-server, and on a three-node Redis
Cluster."""


class _Tables:
    """Cluster tables of one implementation to test: ``new`` makes an empty one (on Redis, under a prefix
    of its own); ``commit`` ends a write by committing what the table changed (on Redis, its writes in the
    store's transaction), ``abandon`` one whose undo log took its changes back; ``fresh`` is the table
    as another process reads it from the store."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.server: RedisServer | RedisCluster3 | None = None
        if kind != "memory":
            self.server = (
                RedisServer(tmp_path / "one") if kind == "redis" else RedisCluster3(tmp_path / "three")
            )
        self.stores: list[RedisStore] = []
        self.table: ClusterTable = MemoryClusterTable()

    def new(self) -> ClusterTable:
        if self.server is None:
            self.table = MemoryClusterTable()
        else:
            self.stores.append(RedisStore(f"{self.server.url}?prefix=t{len(self.stores)}"))
            self.table = RedisClusterTable(self.stores[-1], cache=2)
        return self.table

    def commit(self) -> None:
        if isinstance(self.table, RedisClusterTable):
            self.stores[-1].commit(Change(index_writes=self.table.take_writes()))
            self.table.settled()

    def abandon(self) -> None:
        if isinstance(self.table, RedisClusterTable):
            self.table.settled()

    def fresh(self) -> ClusterTable:
        return self.table if not self.stores else RedisClusterTable(self.stores[-1], cache=2)

    def close(self) -> None:
        for store in self.stores:
            store.close()
        if self.server is not None:
            self.server.stop()


@pytest.fixture(params=CLUSTER_TABLES)
def tables(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Tables]:
    made = _Tables(request.param, tmp_path)
    yield made
    made.close()


class _TableModel:
    """What a cluster table must answer, kept the plainest way: every placed article with its cluster,
    vector, time and placement; every cluster with its rank and members in order."""

    def __init__(self) -> None:
        self.placed: dict[str, tuple[str, np.ndarray | None, float | None, float]] = {}
        self.ranks: dict[str, int] = {}
        self.order: dict[str, list[str]] = {}

    def check(self, table: ClusterTable) -> None:
        assert sorted(table.clusters()) == sorted(self.order)
        table.read_ahead([*self.order, "c9"])
        assert table.clusters_of([*self.placed, "nobody"]) == {d: c for d, (c, *_) in self.placed.items()}
        for cid, members in self.order.items():
            assert table.exists(cid) and table.members(cid) == members
            assert table.size(cid) == len(members) and table.rank(cid) == self.ranks[cid]
            vectors = [v for d in members if (v := self.placed[d][1]) is not None]
            total = table.total(cid)
            if vectors:
                assert total is not None and np.allclose(total, np.sum(vectors, axis=0))
            times = sorted(t for d in members if (t := self.placed[d][2]) is not None)
            assert table.median_time(cid) == (times[(len(times) - 1) // 2] if times else None)
        for d, (cid, _, _, placement) in self.placed.items():
            assert table.cluster_of(d) == cid and table.placement(d) == placement
        assert all(table.next_rank() > r for r in self.ranks.values())


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["place", "place", "unplace", "fold", "make"]),
        st.integers(0, 7),
        st.integers(0, 3),
        st.sampled_from([None, 0.0, 1.0, 2.0, 3.0]),
        st.booleans(),
    ),
    min_size=8,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS, undone=st.integers(0, 6), commit_every=st.integers(1, 6))
def test_a_cluster_table_answers_as_its_articles_were_placed(
    tables: _Tables, ops: list[tuple[str, int, int, float | None, bool]], undone: int, commit_every: int
) -> None:
    """Members in join order, vector sums, median times (the lower middle one), ranks and placements
    are those of the articles placed, taken out and folded, in the write in progress and, once it is
    committed, as another process reads them; and what an undo log recorded in the last write (its
    last ``undone`` operations) is put back as it was, the store left as it was."""
    table = tables.new()
    undo_from = len(ops) - undone if undone else len(ops)
    model = _TableModel()
    snapshot: _TableModel | None = None
    log = UndoLog()
    for n, (op, doc, cluster, time, with_vector) in enumerate(ops):
        if n == undo_from:
            tables.commit()
            snapshot = copy.deepcopy(model)
            table.undo = log
        elif snapshot is None and n % commit_every == 0:
            tables.commit()
            model.check(tables.fresh())
        d, cid = f"d{doc}", f"c{cluster}"
        vector = np.array([doc + 1.0, -float(cluster)]) if with_vector else None
        if op in ("make", "place") and not table.exists(cid):
            rank = table.next_rank() + cluster
            table.make(cid, rank)
            model.ranks[cid], model.order[cid] = rank, []
        if op == "place" and d not in model.placed:
            table.place(d, cid, vector, time, doc / 8)
            model.placed[d] = (cid, vector, time, doc / 8)
            model.order[cid].append(d)
        elif op == "unplace":
            held = model.placed.pop(d, None)
            assert table.unplace(d, held[1] if held else None, held[2] if held else None) == (
                held[0] if held else None
            )
            if held is not None:
                model.order[held[0]].remove(d)
                if not model.order[held[0]]:
                    del model.order[held[0]], model.ranks[held[0]]
        elif op == "fold":
            target = f"c{(cluster + 1) % 4}"
            if cid != target and table.exists(cid) and table.exists(target):
                moved = model.order.pop(cid)
                assert table.fold(cid, target) == moved
                del model.ranks[cid]
                model.order[target].extend(moved)
                for m in moved:
                    model.placed[m] = (target, *model.placed[m][1:])
        model.check(table)
    if snapshot is None:
        tables.commit()
        model.check(table)
        model.check(tables.fresh())
        return
    table.undo = None
    log.undo()
    tables.abandon()
    for reader in (table, tables.fresh()):
        snapshot.check(reader)
        assert all(reader.cluster_of(d) is None for d in model.placed.keys() - snapshot.placed.keys())


@pytest.mark.parametrize("kind", ["redis", "redis cluster"])
def test_a_cluster_table_in_redis_reads_again_what_another_process_committed(
    kind: str, tmp_path: Path
) -> None:
    """A table keeps what it read until told that another process's commit changed it (``forget``, with
    the articles and clusters the commit names): then it answers as the store holds them."""
    tables = _Tables(kind, tmp_path)
    try:
        writer = tables.new()
        writer.make("c0", 0)
        writer.place("a", "c0", np.array([1.0, 0.0]), 5.0, 1.0)
        tables.commit()
        reader = tables.fresh()
        assert reader.size("c0") == 1 and reader.cluster_of("a") == "c0"  # now kept by the reader
        writer.place("b", "c0", np.array([0.0, 1.0]), 1.0, 0.5)
        writer.unplace("a", np.array([1.0, 0.0]), 5.0)
        writer.make("c1", 1)
        writer.place("a", "c1", None, None, 0.25)
        tables.commit()
        assert reader.size("c0") == 1 and reader.cluster_of("a") == "c0"  # what it kept
        reader.forget(["a", "b"], ["c0", "c1"])
        assert reader.members("c0") == ["b"] and reader.median_time("c0") == 1.0
        assert np.array_equal(cast(np.ndarray, reader.total("c0")), [0.0, 1.0])
        assert reader.cluster_of("a") == "c1" and reader.placement("a") == 0.25
        assert sorted(reader.clusters()) == ["c0", "c1"] and reader.next_rank() == 2
    finally:
        tables.close()


# -- article entries ----------------------------------------------------------------------------------

ARTICLE_ENTRIES = ["memory", "redis", "redis cluster"]
"""In process; read from a Redis store (``RedisArticleEntries``, keeping at most 3 entries, so that most
reads go to Redis) on one redis-server, and on a three-node Redis Cluster."""


@pytest.fixture(params=ARTICLE_ENTRIES)
def entries_and_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ArticleEntries, Any]]:
    if request.param == "memory":
        yield MemoryArticleEntries(), None
        return
    server = RedisServer(tmp_path / "one") if request.param == "redis" else RedisCluster3(tmp_path / "three")
    store = RedisStore(server.url)
    try:
        yield RedisArticleEntries(store, cache=3), store
    finally:
        store.close()
        server.stop()


@pytest.fixture
def entries(entries_and_store: tuple[ArticleEntries, Any]) -> ArticleEntries:
    return entries_and_store[0]


SOURCE = ExternalSource("Coast Times", "according to the Coast Times", 10, 38)
GROUP = DuplicateGroup(("a", "b"), ("a", "b"), 0.5)


def _entry(seq: int, ingest_time: float = 100.0) -> Entry:
    return Entry(seq, f"hash-{seq}", ingest_time)


def _entries_state(entries: ArticleEntries, ids: str = "abcdef") -> dict[str, Any]:
    """What the protocol answers for every id and sequence number."""
    by_seq = {}
    for seq in range(10):
        with contextlib.suppress(KeyError):  # no article has that number
            by_seq[seq] = entries.id_at(seq)
    return {
        "ids": entries.ids(),
        "len": len(entries),
        "by_seq": by_seq,
        "entries": {d: entries.get(d) for d in ids},
        "sources": {d: entries.sources(d) for d in ids},
        "groups": {d: entries.group(d) for d in ids},
        "outlets": entries.outlets(),
        "before": entries.ingested_before(1e9, 100),
    }


def test_article_entries_start_empty(entries: ArticleEntries) -> None:
    assert len(entries) == 0 and entries.ids() == [] and "a" not in entries and entries.get("a") is None
    assert entries.sources("a") == () and entries.group("a") is None
    assert entries.outlets() == [] and not entries.has_outlet("Coast Times")
    assert entries.ingested_before(1e9, 10) == []
    with pytest.raises(KeyError):
        entries.seq("a")
    with pytest.raises(KeyError):
        entries.id_at(1)


def test_article_entries_name_each_article_by_its_sequence_number(entries: ArticleEntries) -> None:
    entries.put("b", _entry(2, 200.0))
    entries.put("a", _entry(5, 100.0))
    entries.put("c", _entry(3, 300.0))
    assert len(entries) == 3 and "a" in entries and "d" not in entries
    assert entries.get("c") == _entry(3, 300.0)
    assert entries.ids() == ["b", "c", "a"]  # in order of arrival: by sequence number
    assert [entries.seq(d) for d in "abc"] == [5, 2, 3]
    assert [entries.id_at(s) for s in (2, 3, 5)] == ["b", "c", "a"]
    assert entries.ids_at([5, 4, 2]) == {5: "a", 2: "b"}  # in the order asked, those that name one
    assert entries.stored("abcd") == {"a", "b", "c"}
    # Ingested before a time: the earliest ingested first, at most as many as asked, in order of arrival.
    assert entries.ingested_before(250.0, 10) == ["b", "a"]
    assert entries.ingested_before(1e9, 2) == ["b", "a"] and entries.ingested_before(100.0, 10) == []


def test_article_entries_remove_takes_the_sources_and_group_too(entries: ArticleEntries) -> None:
    entries.put("a", _entry(1))
    entries.put("b", _entry(2))
    entries.set_sources("a", (SOURCE,))
    entries.set_group("a", GROUP)
    entries.set_group("b", GROUP)
    assert entries.sources("a") == (SOURCE,) and entries.group("a") == GROUP
    entries.remove("a")
    assert "a" not in entries and entries.get("a") is None and entries.ids() == ["b"]
    assert entries.sources("a") == () and entries.group("a") is None
    with pytest.raises(KeyError):
        entries.id_at(1)
    assert entries.group("b") == GROUP  # the others keep theirs
    entries.set_group("b", None)
    assert entries.group("b") is None
    entries.put("a", _entry(3))  # stored again, under a new number
    assert entries.ids() == ["b", "a"] and entries.sources("a") == ()


def test_article_entries_outlets_once_named_stay(entries: ArticleEntries) -> None:
    entries.add_outlet("Wire Daily")
    entries.add_outlet("Coast Times")
    entries.add_outlet("Wire Daily")
    assert entries.outlets() == ["Coast Times", "Wire Daily"] and entries.has_outlet("Coast Times")
    entries.put("a", _entry(1))
    entries.remove("a")
    assert entries.outlets() == ["Coast Times", "Wire Daily"]


def test_article_entries_undo_puts_back_every_change(entries: ArticleEntries) -> None:
    entries.put("a", _entry(1))
    entries.put("b", _entry(2))
    entries.set_sources("a", (SOURCE,))
    entries.set_group("b", GROUP)
    entries.add_outlet("Wire Daily")
    before = _entries_state(entries)
    log = UndoLog()
    entries.undo = log
    entries.remove("a")
    entries.put("a", _entry(3, 50.0))
    entries.put("c", _entry(4))
    entries.set_group("b", None)
    entries.set_sources("c", (SOURCE,))
    entries.add_outlet("Coast Times")
    entries.undo = None
    assert _entries_state(entries) != before
    log.undo()
    assert _entries_state(entries) == before


def _stored(doc_id: str, entry: Entry) -> Any:
    """The store's record of an article with this entry (as the engine's commit writes it)."""
    from tests.test_store import _record

    rec = _record(doc_id, entry.seq, "c1")
    return replace(rec, text_hash=entry.text_hash, ingest_time=entry.ingest_time)


def test_article_entries_committed_are_what_every_process_reads(
    entries_and_store: tuple[ArticleEntries, Any],
) -> None:
    """A write's changes, committed as the engine commits them and settled, are what the part and a
    fresh one over the same store answer (the fresh one knows the outlets the stored articles name,
    read from the store, where this one learns them from the engine's ``add_outlet``)."""
    entries, store = entries_and_store
    entries.put("a", _entry(1, 300.0))
    entries.put("b", _entry(2, 100.0))
    entries.set_sources("a", (SOURCE,))
    entries.set_group("b", GROUP)
    if store is not None:
        store.commit(Change(put_documents=[_stored("a", _entry(1, 300.0)), _stored("b", _entry(2, 100.0))],
                            external_sources={"a": (SOURCE,)}, groups={"b": GROUP}))  # fmt: skip
    entries.settled()
    first = _entries_state(entries)
    assert first["ids"] == ["a", "b"] and first["sources"]["a"] == (SOURCE,) and first["groups"]["b"] == GROUP
    # a replaced (stored again under a new number), b deleted, c new: in one write.
    entries.remove("a")
    entries.put("a", _entry(3, 50.0))
    entries.remove("b")
    entries.put("c", _entry(4, 400.0))
    during = _entries_state(entries)
    if store is not None:
        store.commit(Change(put_documents=[_stored("a", _entry(3, 50.0)), _stored("c", _entry(4, 400.0))],
                            delete_documents=["a", "b"]))  # fmt: skip
    entries.settled()
    assert _entries_state(entries) == during
    assert during["ids"] == ["a", "c"] and during["by_seq"] == {3: "a", 4: "c"} and during["len"] == 2
    assert during["sources"]["a"] == () and during["groups"]["b"] is None
    if store is not None:
        fresh = _entries_state(RedisArticleEntries(store, cache=3))
        assert fresh == {**during, "outlets": ["Harbour Wire"]} and during["outlets"] == []


def test_article_entries_follow_what_another_process_committed(
    entries_and_store: tuple[ArticleEntries, Any],
) -> None:
    """After ``follow`` of what another process committed, the part answers as the store holds it, even
    for an article it had read before (and kept) that changed since."""
    entries, store = entries_and_store
    entries.follow("a", _entry(1, 100.0))
    entries.follow("b", _entry(2, 100.0), (SOURCE,), GROUP)
    if store is not None:
        store.commit(Change(put_documents=[_stored("a", _entry(1, 100.0)), _stored("b", _entry(2, 100.0))],
                            external_sources={"b": (SOURCE,)}, groups={"b": GROUP}))  # fmt: skip
    assert [entries.get(d) for d in "ab"] == [_entry(1, 100.0), _entry(2, 100.0)]  # read, and kept
    assert entries.sources("b") == (SOURCE,) and entries.group("b") == GROUP
    # Another process stores a again under a new number and deletes b.
    if store is not None:
        store.commit(Change(put_documents=[_stored("a", _entry(5, 200.0))], delete_documents=["a", "b"]))
    entries.follow("a", _entry(5, 200.0))
    entries.follow("b", None)
    assert entries.get("a") == _entry(5, 200.0) and entries.ids_at([1, 2, 5]) == {5: "a"}
    assert "b" not in entries and entries.sources("b") == () and entries.group("b") is None
    assert len(entries) == 1 and entries.ids() == ["a"]


def test_redis_store_writes_the_ingest_times_of_a_store_made_before_it_kept_them(redis: RedisServer) -> None:
    store = RedisStore(redis.url)
    store.commit(
        Change(put_documents=[_stored(d, _entry(n, 400.0 - 100 * n)) for n, d in enumerate("abc", 1)])
    )
    expected = store.ingested_before(1e9, 10)
    assert expected == ["c", "b", "a"]  # the earliest ingested first
    # As a store written by an older dedup: no ids by ingest time, no mark.
    store.client.delete(store.key("ingested"))
    store.client.hdel(store.key("meta"), "ingested_index")
    store.close()
    reopened = RedisStore(redis.url)
    assert reopened.ingested_before(1e9, 10) == expected and reopened.ingested_before(250.0, 1) == ["c"]
    assert RedisArticleEntries(reopened, cache=2).ingested_before(250.0, 10) == [
        "b",
        "c",
    ]  # in order of arrival
    reopened.close()
