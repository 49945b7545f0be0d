"""The full-disk scenario of tests/test_full_disk.py, run in a child process on a small filesystem.

``scenario(directory)``: ``directory`` is a small, empty filesystem of its own. It raises
AssertionError on any failure and prints "scenario passed" at the end.
"""

from __future__ import annotations

import errno
import json
import os
import random
from pathlib import Path

from dedup.article import Article
from dedup.config import Config
from dedup.embed import NullEmbedder
from dedup.engine import Engine
from dedup.errors import ResourceExhausted
from dedup.store import SqliteStore
from tests.fixtures.state import engine_state

WORDS = (
    "harbour crane union vote ferry council bridge storm ledger river market tender engineer culvert road "
    "quarry mill dock wharf pilot tug barge cargo grain timber freight schedule strike wage offer talks"
).split()


def _article(n: int) -> Article:
    """A made-up article of twenty sentences; every third one copies half of the one before it."""
    rng = random.Random(n)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + f" on day {n} point {k}."
        for k in range(20)
    ]
    if n % 3 == 2:
        sentences[:10] = [s.replace(f"day {n} ", f"day {n - 1} ") for s in _sentences(n - 1)[:10]]
    return Article(f"a{n}", " ".join(sentences))


def _sentences(n: int) -> list[str]:
    return _article(n).text.split(". ")


def _fill(directory: Path, leave: int) -> Path:
    """A file taking all the space left on ``directory``'s filesystem but ``leave`` bytes."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:
        block = b"\0" * 65536
        while True:
            try:
                f.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        os.ftruncate(f.fileno(), max(0, f.tell() - leave))
    return filler


def _as_loaded(state: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in state.items() if k not in ("outlets", "sentence_by_words")}


def scenario(directory: str) -> None:
    root = Path(directory)
    data = root / "data"

    def start() -> Engine:
        store = SqliteStore(data / "dedup.sqlite3")
        return Engine(Config(), NullEmbedder(), store, index_dir=data / "indexes")

    engine = start()
    acknowledged: dict[str, str] = {}
    for n in range(3):
        article = _article(n)
        engine.ingest(article)
        acknowledged[article.id] = article.text
    filler = _fill(root, leave=120_000)

    # Ingest until the disk is full, then a few more: each refused whole, memory unchanged.
    refused, message, n = 0, "", 3
    while refused < 3 and n < 400:
        article = _article(n)
        before = engine_state(engine)
        seq = engine._next_seq
        try:
            engine.ingest(article)
            acknowledged[article.id] = article.text
        except ResourceExhausted as exc:
            refused += 1
            message = str(exc)
            assert engine_state(engine) == before, "a refused ingest changed memory"
            assert engine._next_seq > seq, "the sequence counter went back"
        n += 1
    assert refused == 3, f"the disk never filled ({n} articles)"
    assert "disk" in message and "is full" in message and "Free space" in message, message
    try:
        engine.delete("a0")
        raise AssertionError("a delete on a full disk was stored")
    except ResourceExhausted:
        pass

    # Memory is what the store holds: an engine started now, on the full disk, loads the same.
    fresh = start()
    assert _as_loaded(engine_state(fresh)) == _as_loaded(engine_state(engine)), (
        "memory differs from the store"
    )
    fresh.store.close()
    assert "a0" in {m.b for m in engine.find_similar(Article("query", acknowledged["a0"])).matches}

    engine.close()  # the indexes cannot be saved: logged, not fatal
    engine = start()
    assert sorted(engine.documents()) == sorted(acknowledged), "an acknowledged article is missing"
    engine.close()

    filler.unlink()  # space again
    engine = start()
    for m in range(n, n + 2):
        article = _article(m)
        engine.ingest(article)
        acknowledged[article.id] = article.text
    engine.close()

    engine = start()
    assert engine.indexes_loaded, "indexes saved at the last stop were not read"
    stored = engine.store.load().documents
    assert sorted(d.id for d in stored) == sorted(acknowledged)
    assert len({d.seq for d in stored}) == len(stored), "two articles share a sequence number"
    for doc_id, text in acknowledged.items():
        assert engine.document(doc_id)[0].text == text, doc_id
        found = engine.find_similar(Article("query", text))
        assert doc_id in {m.b for m in found.matches if m.passages}, f"{doc_id} is not matched"
    engine.close()
    print("scenario passed", json.dumps({"acknowledged": len(acknowledged), "refused": refused}))
