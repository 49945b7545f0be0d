"""Contract tests of the engine's parts: every implementation of a part's protocol must pass the same
tests. Each part's fixture is parametrised over its implementations; another implementation (one kept
in Redis, say) slots in as a further entry of that fixture's factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import xxhash

from dedup.article import Article
from dedup.article_index import ArticleIndex, MemoryArticleIndex, sentence_signatures, split_key, words_key
from dedup.config import Config
from dedup.document import PreparedDocument, prepare
from dedup.engine import story_vector
from dedup.lineage import Lineage, MemoryLineage, install_parents, ranked, reaches, walk
from dedup.minhash import signatures
from dedup.results import LineageEdge, Parent
from dedup.undo import UndoLog

# -- lineage ------------------------------------------------------------------------------------------

LINEAGES: dict[str, Callable[[], Lineage]] = {"memory": MemoryLineage}


@pytest.fixture(params=sorted(LINEAGES))
def lineage(request: pytest.FixtureRequest) -> Iterator[Lineage]:
    yield LINEAGES[request.param]()


def _p(doc_id: str, confidence: float = 0.9, coverage: float = 0.5) -> Parent:
    return Parent(doc_id, confidence, coverage)


def _state(lineage: Lineage, ids: str = "abcdefg") -> dict[str, tuple[tuple[Parent, ...], list[str]]]:
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

ARTICLE_INDEXES: dict[str, Callable[[], ArticleIndex]] = {
    "memory": lambda: MemoryArticleIndex(CONFIG, lambda: DIM),
}

SHARED = "The harbour board voted on Monday to repair the north wall before the winter storms arrive."
TEXTS = {
    "wire": f"{SHARED} Work will start next month and last until the spring. The chair said it could not wait.",
    "copy": f"{SHARED} Work will start next month and last until the spring. The chair said it could not wait.",
    "local": f"{SHARED} Fishermen at the quay said the repair was long overdue after last year's floods.",
    "other": "A new library opened in the town centre with a reading room for children and a cafe by the door.",
}


@pytest.fixture(params=sorted(ARTICLE_INDEXES))
def make_article_index(request: pytest.FixtureRequest) -> Callable[[], ArticleIndex]:
    """Makes empty indexes of one implementation (a second one reads what the first saved)."""
    return ARTICLE_INDEXES[request.param]


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
            [index.sentence_with_words(words_key(doc, s)) for s in range(len(doc.sentences))],
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
    assert article_index.sentence_with_words(words_key(doc, 0)) is None
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
    assert article_index.sentence_with_words(words_key(probe, 0)) == ("wire", 0)
    assert article_index.sentence_with_words(words_key(local, 1)) == ("local", 1)
    assert sorted(article_index.articles_near_sentences(cast(np.ndarray, probe.embeddings), 4, 0.99)) == [
        1,
        1,
        1,
        2,
    ]
    nearest = article_index.nearest_articles(cast(np.ndarray, probe.vector), 2)
    assert [seq for _, seq in nearest] == [1, 2] and nearest[0][0] == pytest.approx(1.0, abs=1e-3)
    assert nearest[0][0] >= nearest[1][0]


def test_article_index_remove_forgets_the_article(article_index: ArticleIndex) -> None:
    wire, local, other = _doc("wire", 1), _doc("local", 2), _doc("other", 3)
    article_index.add([local, other])
    before = _answers(article_index, [wire, local, other])
    article_index.add([wire])
    article_index.remove(wire)
    assert _answers(article_index, [wire, local, other]) == before  # local held the shared words first
    article_index.remove(local)
    article_index.remove(other)
    assert article_index.articles() == 0 and article_index.sentences() == 0
    # An article is added once (it drops its sentence signatures): the same article again is a new one.
    wire, local = _doc("wire", 4), _doc("local", 5)
    article_index.add([wire])
    article_index.add([local])
    article_index.remove(wire)  # it held the shared words: no article removed is named for them
    assert article_index.sentence_with_words(words_key(local, 0)) in (None, ("local", 0))
    assert article_index.sentence_with_words(words_key(wire, 1)) is None
    assert article_index.articles() == 1 and article_index.sentences() == len(local.sentences)
    assert article_index.articles_sharing_sentences(sentence_signatures(wire, CONFIG.minhash)) == [5]


def test_article_index_undo_puts_back_every_change(article_index: ArticleIndex) -> None:
    docs = [_doc("wire", 1), _doc("local", 2), _doc("other", 3)]
    article_index.add(docs[:2])
    before = _answers(article_index, docs)
    log = UndoLog()
    article_index.undo = log
    article_index.remove(docs[0])
    article_index.add([docs[2]])
    article_index.undo = None
    assert _answers(article_index, docs) != before
    log.undo()
    assert _answers(article_index, docs) == before


def test_article_index_save_and_load(
    article_index: ArticleIndex, make_article_index: Callable[[], ArticleIndex], tmp_path: Path
) -> None:
    docs = [_doc("wire", 1), _doc("local", 2), _doc("other", 3)]
    article_index.add(docs)
    seqs = {d.id: d.order for d in docs}
    path = tmp_path / "indexes.npz"
    if not article_index.save(path, {"binding": "this"}, seqs.__getitem__):
        pytest.skip("this implementation is not saved to a file")
    ids = {d.order: d.id for d in docs}
    loaded = make_article_index()
    assert loaded.load(path, "this", ids)
    assert _answers(loaded, docs) == _answers(article_index, docs)
    # Saved from another state or for other articles: not read, and nothing of it kept.
    for binding, names in (("that", ids), ("this", {1: "wire", 2: "local"})):
        other = make_article_index()
        assert not other.load(path, binding, names)
        assert other.sentences() == 0 and other.articles() == 0
