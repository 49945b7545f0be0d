"""Deadlines are honoured during the work, not only before it: past one, ingest, delete and find_similar
stop with DeadlineExceeded (waiting for a lock, between sentences embedded, between the stored articles
aligned, before the commit), and nothing of the article at hand is stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import dedup.matching
from dedup.article import Article
from dedup.config import Config
from dedup.embed import NullEmbedder
from dedup.engine import Engine
from dedup.errors import DeadlineExceeded
from dedup.store import SqliteStore
from tests.fixtures import stories as S
from tests.fixtures.state import engine_state


def _engine(tmp_path: Path) -> Engine:
    engine = Engine(Config(), NullEmbedder(), SqliteStore(tmp_path / "d.sqlite3"))
    engine.ingest_many(
        [Article("orig", S.original()), Article("copy", S.verbatim()), Article("trim", S.trimmed())]
    )
    return engine


class _AfterAlignments:
    """A deadline (seconds left) that passes once ``n`` pairs of articles have been aligned."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
        self.aligned = 0
        self.n = n
        real = dedup.matching.compare

        def counting(*args: Any) -> Any:
            self.aligned += 1
            return real(*args)

        monkeypatch.setattr(dedup.matching, "compare", counting)

    def __call__(self) -> float:
        return 60.0 if self.aligned < self.n else 0.0


def test_a_deadline_passing_between_alignments_stops_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(tmp_path)
    before = engine_state(engine)
    deadline = _AfterAlignments(monkeypatch, 1)
    with pytest.raises(DeadlineExceeded, match="while aligning document 'edit'"):
        engine.ingest(Article("edit", S.lightly_edited()), deadline=deadline)
    assert deadline.aligned == 1  # it stopped before the second of three candidates
    assert engine_state(engine) == before
    assert "edit" not in [d.id for d in SqliteStore(tmp_path / "d.sqlite3").load().documents]
    deadline.aligned = 0
    with pytest.raises(DeadlineExceeded, match="aligning"):
        engine.find_similar(Article("q", S.lightly_edited()), deadline=deadline)
    assert deadline.aligned == 1
    deadline.n = 100
    assert engine.ingest(Article("edit", S.lightly_edited()), deadline=deadline).analysis.matches


def test_a_batch_stops_at_the_article_the_deadline_passes_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(tmp_path)
    deadline = _AfterAlignments(monkeypatch, 4)  # the first new article is aligned with three
    batch = [Article("edit", S.lightly_edited()), Article("para", S.paraphrased())]
    with pytest.raises(DeadlineExceeded, match="'para' was not stored; the 1 before it in this call were"):
        engine.ingest_many(batch, deadline=deadline)
    assert sorted(engine.documents()) == ["copy", "edit", "orig", "trim"]


def test_a_monotonic_deadline(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with pytest.raises(DeadlineExceeded):
        engine.find_similar(Article("q", S.trimmed()), deadline=time.monotonic() - 1)
    with pytest.raises(DeadlineExceeded):
        engine.delete("orig", deadline=time.monotonic() - 1)
    assert "orig" in engine.documents()
    assert engine.find_similar(Article("q", S.trimmed()), deadline=time.monotonic() + 60).matches
    engine.delete("orig", deadline=time.monotonic() + 60)


def test_waiting_for_a_lock_ends_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow query holds the query lock, and a write waits for it: another query and a write with short
    deadlines give up at their deadlines instead of waiting behind them."""
    engine = _engine(tmp_path)
    inside, release = threading.Event(), threading.Event()
    real = dedup.matching.compare

    def slow(*args: Any) -> Any:
        inside.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(dedup.matching, "compare", slow)
    query = threading.Thread(target=lambda: engine.find_similar(Article("q", S.trimmed())))
    query.start()
    try:
        assert inside.wait(30)
        for call in (
            lambda: engine.find_similar(Article("q2", S.trimmed()), deadline=time.monotonic() + 0.3),
            lambda: engine.ingest(Article("late", S.unrelated()), deadline=time.monotonic() + 0.3),
        ):
            start = time.monotonic()
            with pytest.raises(DeadlineExceeded, match="while waiting"):
                call()
            assert time.monotonic() - start < 5
    finally:
        release.set()
        query.join(30)
    monkeypatch.setattr(dedup.matching, "compare", real)
    assert (
        engine.ingest(Article("late", S.unrelated()), deadline=time.monotonic() + 60).outcome.value
        == "CREATED"
    )


class _GatedEmbedder:
    """A stand-in model: texts holding ``gate_word`` wait for ``release`` before they are embedded."""

    dim = 4
    name = "gated"

    def __init__(self, gate_word: str) -> None:
        self.gate_word = gate_word
        self.entered = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: Any) -> Any:
        import numpy as np

        if any(self.gate_word in t for t in texts):
            self.entered.set()
            assert self.release.wait(30)
        return np.ones((len(texts), self.dim), dtype=np.float32) / 2


def test_a_long_text_being_embedded_does_not_hold_up_the_queries_behind_it(tmp_path: Path) -> None:
    embedder = _GatedEmbedder("zeppelin")
    engine = Engine(Config(), embedder, SqliteStore(tmp_path / "d.sqlite3"))
    engine.ingest_many([Article("orig", S.original()), Article("copy", S.verbatim())])
    slow = threading.Thread(
        target=engine.find_similar, args=(Article("slow", "A zeppelin landed in the harbour today."),)
    )
    slow.start()
    try:
        assert embedder.entered.wait(30)
        # While the first query waits on the model, another is answered in full.
        found = engine.find_similar(Article("q", S.verbatim()), deadline=time.monotonic() + 20)
        assert {m.b for m in found.matches} == {"orig", "copy"}
        assert slow.is_alive()
    finally:
        embedder.release.set()
        slow.join(30)
