"""Embedding beside matching: ``dedup.embed.Encoding`` gives each text its own vector whatever the order
it was embedded in, lets a caller take the first rows while the rest are embedded, and hands a model's
error to the caller; an ingest matches its first articles while the model embeds the later ones, and
stores what it had matched when the model fails."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dedup.preparation
from dedup.article import Article
from dedup.config import Config, config_from_dict
from dedup.document import prepare
from dedup.embed import BACKGROUND_NICE, Encoding
from dedup.engine import Engine
from dedup.matching import Matching
from dedup.store import SqliteStore


class _Recording:
    """A stand-in model: a text's vector is made from its length and first letter; every call is recorded,
    and a call may be held until ``release`` is set, or fail on a text holding ``fail_word``."""

    dim = 3
    name = "recording"

    def __init__(self, hold: bool = False, fail_word: str = "", free_calls: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.free_calls = free_calls  # calls answered at once even while held
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.fail_word = fail_word
        self.lock = threading.Lock()

    @staticmethod
    def vector(text: str) -> np.ndarray:
        v = np.array([len(text), ord(text[0]) if text else 0, 1.0], dtype=np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
            free = len(self.calls) <= self.free_calls
        if self.fail_word and any(self.fail_word in t for t in texts):
            raise RuntimeError("the model failed")
        assert free or self.release.wait(30)
        return np.vstack([self.vector(t) for t in texts]) if texts else np.zeros((0, 3), np.float32)


TEXTS = [f"{chr(97 + n % 26)} sentence {'x' * ((n * 7) % 23)}" for n in range(23)]


@pytest.mark.parametrize("worker", [False, True])
def test_each_text_gets_its_own_vector_whatever_the_chunks(worker: bool) -> None:
    model = _Recording()
    encoding = Encoding(model, TEXTS, chunk=5)
    if worker:
        encoding.start()
    encoding.wait(len(TEXTS))
    np.testing.assert_array_equal(encoding.vectors, np.vstack([model.vector(t) for t in TEXTS]))
    assert encoding.done == len(TEXTS)
    # chunks of 5 in the order of the texts, each sorted by length before it reaches the model
    assert [sorted(c) for c in model.calls] == [sorted(TEXTS[lo : lo + 5]) for lo in range(0, 23, 5)]
    assert all([len(t) for t in c] == sorted(len(t) for t in c) for c in model.calls)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no scheduling priorities on this system")
def test_the_worker_embeds_at_a_lower_priority_than_the_caller_matches() -> None:
    """Work done ahead yields the core to the caller, who may hold a shared store's write lock."""
    seen: list[int] = []

    class Noting(_Recording):
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return super().encode(texts)

    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    encoding = Encoding(Noting(), TEXTS, chunk=5).start()
    encoding.wait(len(TEXTS))
    assert seen and set(seen) == {min(19, caller + BACKGROUND_NICE)} and caller < 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller  # the caller's is untouched


def test_chunks_grow_from_the_first_to_the_largest() -> None:
    model = _Recording()
    encoding = Encoding(model, TEXTS, chunk=8, first=2)
    encoding.run()
    assert [len(c) for c in model.calls] == [2, 4, 8, 8, 1]
    np.testing.assert_array_equal(encoding.vectors, np.vstack([model.vector(t) for t in TEXTS]))


def test_the_first_rows_are_given_while_the_rest_wait_for_the_model() -> None:
    model = _Recording()
    encoding = Encoding(model, TEXTS, chunk=5)
    encoding.wait(3)  # no worker: embeds the first chunk here, and no more
    assert encoding.done == 5 and len(model.calls) == 1
    held = _Recording(hold=True)
    ahead = Encoding(held, TEXTS, chunk=5).start()
    with pytest.raises(TimeoutError):
        ahead.wait(1, check=_timeout_after(0.2))  # the model has not answered yet
    held.release.set()
    ahead.wait(23)
    np.testing.assert_array_equal(ahead.vectors[:5], encoding.vectors[:5])


def _timeout_after(seconds: float):  # type: ignore[no-untyped-def]
    until = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > until:
            raise TimeoutError

    return check


def test_an_error_in_the_worker_is_raised_by_wait_and_stop_ends_it() -> None:
    model = _Recording(fail_word="x" * 22)  # TEXTS[13] only, in the third chunk
    encoding = Encoding(model, TEXTS, chunk=5).start()
    encoding.wait(5)  # the first chunk holds no failing text
    with pytest.raises(RuntimeError, match="the model failed"):
        encoding.wait(23)
    held = _Recording(hold=True)
    stopped = Encoding(held, TEXTS, chunk=5).start()
    threading.Timer(0.1, held.release.set).start()
    stopped.stop()  # returns once the chunk in progress is done, and no chunk follows
    assert stopped.done == 5 and len(held.calls) == 1
    with pytest.raises(RuntimeError, match="stopped"):
        stopped.wait(23)


@pytest.mark.parametrize("pieces", [[23], [1, 1, 1, 20], [3, 7, 0, 2, 11], [1] * 23])
def test_texts_added_while_the_worker_runs_are_embedded_in_the_same_chunks(pieces: list[int]) -> None:
    """Texts that arrive a few at a time (``more=True``, ``extend``, ``close``) are embedded in the chunks
    all of them at once would be: the worker waits for a whole chunk, so the vectors are the same."""
    model = _Recording()
    encoding = Encoding(model, (), chunk=8, first=2, more=True).start()
    at = 0
    for n in pieces:
        encoding.extend(TEXTS[at : at + n])
        at += n
        encoding.wait(max(b for b in (0, 2, 6, 14, 22) if b <= at))  # the whole chunks come at once
    encoding.close()
    encoding.wait(len(TEXTS))
    assert [sorted(c) for c in model.calls] == [
        sorted(TEXTS[lo:hi]) for lo, hi in [(0, 2), (2, 6), (6, 14), (14, 22), (22, 23)]
    ]
    np.testing.assert_array_equal(encoding.vectors, np.vstack([model.vector(t) for t in TEXTS]))
    with pytest.raises(RuntimeError, match="closed"):
        encoding.extend(["one more"])


def test_flush_embeds_a_short_chunk_and_the_texts_after_it_start_a_new_one() -> None:
    """An open encoding flushed embeds what it holds though it does not fill a chunk (a caller waiting
    for those rows is not left waiting for texts that may never come); later texts chunk from there."""
    model = _Recording()
    encoding = Encoding(model, TEXTS[:3], chunk=8, first=4, more=True).start()
    encoding.flush()
    encoding.wait(3, check=_timeout_after(5))
    encoding.extend(TEXTS[3:13])
    encoding.wait(11, check=_timeout_after(5))  # 3 + a whole chunk of 8 (the chunks went on doubling)
    assert encoding.done == 11
    encoding.close()
    encoding.wait(13)
    assert [sorted(c) for c in model.calls] == [
        sorted(TEXTS[lo:hi]) for lo, hi in [(0, 3), (3, 11), (11, 13)]
    ]
    np.testing.assert_array_equal(encoding.vectors, np.vstack([model.vector(t) for t in TEXTS[:13]]))


def test_an_open_encoding_waits_for_a_whole_chunk_and_stop_ends_its_worker() -> None:
    model = _Recording()
    encoding = Encoding(model, TEXTS[:3], chunk=8, first=4, more=True).start()
    with pytest.raises(TimeoutError):
        encoding.wait(1, check=_timeout_after(0.2))  # 3 texts of a chunk of 4: not sent yet
    assert model.calls == []
    encoding.stop()  # returns: the worker was waiting for texts, not in the model
    assert encoding.done == 0


def _articles(n: int) -> list[Article]:
    return [
        Article(
            f"a{i}",
            f"Story {i} opens here with its own words about topic number {i}. "
            f"A second sentence on item {i} follows, longer than the first one was. "
            f"The third line of article {i} closes it with a quote from a witness.",
        )
        for i in range(n)
    ]


def test_an_ingest_matches_early_articles_while_the_model_embeds_later_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup.preparation, "EMBED_CHUNK", 3)  # one article a chunk
    model = _Recording(hold=True, free_calls=1)  # the model answers its first chunk, then waits
    engine = Engine(Config(), model, SqliteStore(tmp_path / "d.sqlite3"))
    matched: list[str] = []
    real = Matching.candidates

    def candidates(self: Matching, doc, exclude=None):  # type: ignore[no-untyped-def]
        matched.append(doc.id)
        model.release.set()  # the first article is being matched: the model may go on
        return real(self, doc, exclude)

    monkeypatch.setattr(Matching, "candidates", candidates)
    results = engine.ingest_many(_articles(6))
    assert [r.outcome.value for r in results] == ["CREATED"] * 6
    assert len(model.calls) == 6 and matched == [f"a{i}" for i in range(6)]
    assert engine.counters["sentences_embedded"] == 18
    for article in _articles(6):
        stored = engine.store.get(article.id)
        assert stored is not None
        doc = prepare(article, 0, Config())
        expected = [model.vector(doc.sentence_text(s)) for s in range(len(doc.sentences))]
        np.testing.assert_array_equal(stored.embeddings, np.vstack(expected).astype(np.float16))


def test_a_model_failing_half_way_stores_the_articles_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup.preparation, "EMBED_CHUNK", 3)
    model = _Recording(fail_word="article 4 ")
    engine = Engine(Config(), model, SqliteStore(tmp_path / "d.sqlite3"))
    with pytest.raises(RuntimeError, match="the model failed"):
        engine.ingest_many(_articles(6))
    assert sorted(engine.documents()) == ["a0", "a1", "a2", "a3"]
    again = Engine(Config(), _Recording(), SqliteStore(tmp_path / "d.sqlite3"))
    assert sorted(again.documents()) == ["a0", "a1", "a2", "a3"]
    assert [r.outcome.value for r in again.ingest_many(_articles(6))] == ["UNCHANGED"] * 4 + ["CREATED"] * 2


def test_the_model_starts_on_the_first_articles_while_later_ones_are_prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``ahead``, an ingest lists the first articles' sentences for the model before it prepares
    the later ones: preparing article a4 can wait for the model's first call, and gets it."""
    monkeypatch.setattr(dedup.preparation, "EMBED_CHUNK", 3)  # one article a chunk
    monkeypatch.setattr(dedup.preparation, "PREPARE_CHUNK", 2)
    model = _Recording()
    called = threading.Event()
    real_encode = model.encode

    def encode(texts: Sequence[str]) -> np.ndarray:
        called.set()
        return real_encode(texts)

    model.encode = encode  # type: ignore[method-assign]
    real_prepare = dedup.preparation.prepare
    waited: list[bool] = []

    def prepare_waiting(article, seq, config):  # type: ignore[no-untyped-def]
        if article.id == "a4":
            waited.append(called.wait(10))
        return real_prepare(article, seq, config)

    monkeypatch.setattr(dedup.preparation, "prepare", prepare_waiting)
    engine = Engine(Config(), model, SqliteStore(tmp_path / "d.sqlite3"))
    assert [r.outcome.value for r in engine.ingest_many(_articles(6))] == ["CREATED"] * 6
    assert waited == [True]
    assert engine.counters["sentences_embedded"] == 18


def _analyses(engine: Engine, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """What a user reads back of each article: its cluster, parents and pairs."""
    out: list[tuple[Any, ...]] = []
    for doc_id in ids:
        a = engine.analysis(doc_id)
        out.append((a.cluster, a.parents, a.matches))
    return out


def _stream_articles() -> list[Article]:
    """Eight articles in two batches, the second batch sharing sentences with the first and with itself
    (so the second batch's plan copies vectors from articles stored meanwhile and from each other)."""
    arts = _articles(4)
    extra = [
        Article(f"b{i}", arts[i % 4].text + f" A new closing line for copy {i} says something of its own.")
        for i in range(4)
    ]
    return arts + extra


def test_a_stream_embeds_its_next_batch_while_the_batch_before_it_is_matched(tmp_path: Path) -> None:
    """``upcoming``: the next batch's sentences go to the model during this call, and the next call
    takes that work (no sentence is sent twice) with the answers of two calls without it."""
    articles = _stream_articles()
    model = _Recording()
    engine = Engine(Config(), model, SqliteStore(tmp_path / "ahead.sqlite3"))
    first = engine.ingest_many(articles[:4], upcoming=articles[4:])
    assert [r.outcome.value for r in first] == ["CREATED"] * 4
    sent = {t for call in model.calls for t in call}
    deadline = time.monotonic() + 10
    while not any("copy 3" in t for t in sent) and time.monotonic() < deadline:
        time.sleep(0.01)  # the worker goes on with the next batch after the call returned
        sent = {t for call in model.calls for t in call}
    assert any("copy 3" in t for t in sent), "the next batch's new sentences were embedded ahead"
    calls = len(model.calls)
    second = engine.ingest_many(articles[4:])
    assert [r.outcome.value for r in second] == ["CREATED"] * 4
    assert len(model.calls) == calls  # nothing left for the model: it was all done ahead
    texts = [t for call in model.calls for t in call]
    assert len(texts) == len(set(texts)) == engine.counters["sentences_embedded"]

    plain = Engine(Config(), _Recording(), SqliteStore(tmp_path / "plain.sqlite3"))
    plain.ingest_many(articles[:4])
    plain.ingest_many(articles[4:])
    ids = [a.id for a in articles]
    assert _analyses(engine, ids) == _analyses(plain, ids)
    for doc_id in ids:
        got, want = engine.store.get(doc_id), plain.store.get(doc_id)
        assert got is not None and want is not None
        np.testing.assert_array_equal(got.embeddings, want.embeddings)


def test_a_write_between_the_calls_drops_the_work_done_ahead(tmp_path: Path) -> None:
    """What was planned before a delete is not taken after it: the next call plans again, with the
    answers of an engine that never looked ahead."""
    articles = _stream_articles()
    engine = Engine(Config(), _Recording(), SqliteStore(tmp_path / "ahead.sqlite3"))
    plain = Engine(Config(), _Recording(), SqliteStore(tmp_path / "plain.sqlite3"))
    engine.ingest_many(articles[:4], upcoming=articles[4:])
    plain.ingest_many(articles[:4])
    for e in (engine, plain):
        e.delete("a1")
        e.ingest_many(articles[4:])
    ids = [a.id for a in articles if a.id != "a1"]
    assert _analyses(engine, ids) == _analyses(plain, ids)
    assert engine.preparation._carried is None and engine.preparation._pending is None


def test_a_next_call_that_is_not_the_announced_one_is_stored_as_given(tmp_path: Path) -> None:
    """A caller that announced one batch and sends another (or the same articles changed) gets the
    answers for what it sent."""
    articles = _stream_articles()
    changed = [
        Article(a.id, a.text + " One more sentence makes this version different.") for a in articles[4:]
    ]
    engine = Engine(Config(), _Recording(), SqliteStore(tmp_path / "ahead.sqlite3"))
    plain = Engine(Config(), _Recording(), SqliteStore(tmp_path / "plain.sqlite3"))
    engine.ingest_many(articles[:4], upcoming=articles[4:])
    engine.ingest_many(changed)
    plain.ingest_many(articles[:4])
    plain.ingest_many(changed)
    ids = [a.id for a in articles]
    assert _analyses(engine, ids) == _analyses(plain, ids)
    assert all(engine.document(a.id)[0] == a for a in changed)


def test_an_upcoming_article_that_cannot_be_stored_ends_the_look_ahead_and_fails_nothing(
    tmp_path: Path,
) -> None:
    articles = _stream_articles()
    config = config_from_dict({"limits": {"max_sentences": 3}})
    too_long = Article("long", articles[4].text)  # four sentences
    model = _Recording()
    engine = Engine(config, model, SqliteStore(tmp_path / "ahead.sqlite3"))
    results = engine.ingest_many(articles[:2], upcoming=[articles[2], too_long, articles[3]])
    assert [r.outcome.value for r in results] == ["CREATED"] * 2
    carried = engine.preparation._carried
    assert carried is not None and [d.id for d in carried[1]] == ["a2"]
    assert [r.outcome.value for r in engine.ingest_many(articles[2:4])] == ["CREATED"] * 2


def test_a_stream_through_the_service_is_answered_as_unary_ingests_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StreamIngestDocuments hands the engine the articles that arrived after each batch as ``upcoming``;
    the answers are those of ingesting the articles one call at a time, and each sentence went to the
    model once."""
    import server.servicer
    from dedup.client import DedupClient
    from server.app import build_server

    monkeypatch.setattr(server.servicer, "STREAM_BATCH", 4)
    base = _articles(4)
    articles = base + [
        Article(f"{kind}{i}", a.text + f" Copy {kind}{i} adds one sentence about matter number {i}.")
        for kind in "cd"
        for i, a in enumerate(base)
    ]
    model = _Recording()
    engine = Engine(Config(), model, SqliteStore(tmp_path / "stream.sqlite3"))
    running = build_server(engine, "127.0.0.1:0")
    ids = [a.id for a in articles]
    try:
        with DedupClient(f"127.0.0.1:{running.port}", timeout=120) as client:
            replies = list(client.ingest_many(articles))
        streamed = _analyses(engine, ids)
    finally:
        running.stop(2)
    assert [r.analysis.id for r in replies] == ids
    texts = [t for call in model.calls for t in call]
    assert len(texts) == len(set(texts))
    plain = Engine(Config(), _Recording(), SqliteStore(tmp_path / "plain.sqlite3"))
    for a in articles:
        plain.ingest(a)
    assert streamed == _analyses(plain, ids)


def test_a_query_looks_up_the_sentence_index_once_and_finds_what_two_lookups_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FindSimilar plans its embeddings with the stored sentences its sentences hit, and takes its
    candidates from the same hits: one lookup of the sentence LSH, the answer of looking up again."""
    articles = _stream_articles()
    engine = Engine(Config(), _Recording(), SqliteStore(tmp_path / "q.sqlite3"))
    engine.ingest_many(articles[:6])
    query = Article("probe", articles[6].text)
    index = engine._article_index
    calls: list[int] = []
    real = index.sentence_hits

    def counted(signatures: np.ndarray) -> list[list[int]]:
        calls.append(len(signatures))
        return real(signatures)

    monkeypatch.setattr(index, "sentence_hits", counted)
    found = engine.find_similar(query)
    assert len(calls) == 1
    assert "a2" in {m.b for m in found.matches}  # the query is b2, a copy of a2 with a line added
    monkeypatch.setattr(
        engine.preparation,
        "query",
        lambda a, seq, due: (
            engine.preparation.prepare([a], seq, dedup.preparation.NullProgress(), due)[0],
            None,
        ),
    )
    again = engine.find_similar(query)
    assert len(calls) == 3 and again == found  # looked up twice, the same answer
