"""Retention: articles older than the retention period are expired everywhere, as a deletion of many,
leaving no reference to them behind; `dedup serve --retain` does it on its own."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest

from dedup.article import Article, parse_timestamp
from dedup.cli import _duration
from dedup.client import DedupClient
from dedup.config import Config, EmbedConfig
from dedup.engine import Engine
from dedup.errors import NotFound
from dedup.results import ClusterEvent, ClusterEventKind
from dedup.store import MemoryStore, SqliteStore, Store
from tests.serving import ServerProcess

LEXICAL = Config(embed=EmbedConfig(model="none"))
LEAD = (
    "Dock workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the city's main "
    "container terminal. The Allied Dockers Union said the strike would last at least three days unless "
    "the terminal operator restored the night-shift bonus."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _articles() -> list[Article]:
    stamp = parse_timestamp
    return [
        Article("wire", LEAD + " The terminal handles roughly 40,000 containers a week.", outlet="Harbour Wire",
                published_at=stamp("2025-03-04T08:00:00Z")),
        Article("copy", LEAD, outlet="Coastal Daily", published_at=stamp("2025-03-04T10:00:00Z")),
        Article("copy-2", LEAD + " Talks resume on Friday.", outlet="Metro News",
                published_at=stamp("2025-03-04T12:00:00Z")),
        Article("other", "The city council approved a new budget for the public library on Monday evening, "
                "adding two branches in the east of the city.", outlet="Metro News"),
    ]  # fmt: skip


def _mentions(store: Store, doc_id: str) -> list[str]:
    """Every place the store still names ``doc_id``."""
    snap = store.load()
    found = [f"document {d.id}" for d in snap.documents if d.id == doc_id]
    found += [f"pair {a}-{b}" for a, b in snap.pairs if doc_id in (a, b)]
    found += [
        f"parent of {c}" for c, ps in snap.parents.items() if c == doc_id or any(p.id == doc_id for p in ps)
    ]
    found += [f"group of {d}" for d, g in snap.groups.items() if d == doc_id or doc_id in g.documents]
    found += [f"sources of {d}" for d in snap.external_sources if d == doc_id]
    return found


def _engine(store: Store, clock: Clock) -> Engine:
    engine = Engine(LEXICAL, store=store, clock=clock)
    for n, article in enumerate(_articles()):
        clock.now = 1_000_000.0 + 10 * n
        engine.ingest(article)
    return engine


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_expired_articles_leave_no_reference_behind(kind: str, tmp_path: Path) -> None:
    clock = Clock()
    store: Store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "r.sqlite3")
    engine = _engine(store, clock)
    assert engine.analysis("copy").parents[0].id == "wire"
    events: list[ClusterEvent] = []
    engine.subscribe(events.append)
    clock.now += 100
    assert engine.expire(before=1_000_000.0 + 5) == ["wire"]  # ingested first, 10 s before the next
    assert ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, events[0].cluster, "wire") in events
    with pytest.raises(NotFound):
        engine.document("wire")
    assert _mentions(store, "wire") == []
    assert all("wire" not in c.documents for c in map(engine.cluster, (r.id for r in engine.clusters())))
    assert engine.lineage("copy")[0] == []  # no ancestor left
    assert all(p.id != "wire" for p in engine.analysis("copy").parents)
    assert "wire" not in {m.b for m in engine.find_similar(Article("q", LEAD)).matches}
    assert engine.expire(before=1_000_000.0 + 5) == []  # nothing older is left
    engine.close()


def test_expiring_in_small_batches_gives_what_one_batch_gives() -> None:
    results = []
    for batch in (1, 1000):
        clock = Clock()
        store = MemoryStore()
        engine = _engine(store, clock)
        assert engine.expire(before=1_000_000.0 + 25, batch=batch) == ["wire", "copy", "copy-2"]
        results.append((engine.documents(), engine.analysis("other"), store.load().pairs))
        engine.close()
    assert results[0] == results[1] and results[0][0] == ["other"]


def test_retain_durations_on_the_command_line() -> None:
    assert _duration("30d") == 30 * 86400 and _duration("1.5h") == 5400 and _duration("45s") == 45
    for bad in ("30", "d", "-1d", "0s", "3x"):
        with pytest.raises(argparse.ArgumentTypeError):
            _duration(bad)


def test_serve_with_retain_expires_articles_on_its_own(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", "--model", "none", "--retain", "2s")
    try:
        with DedupClient(server.target) as client:
            client.ingest(_articles()[0])
            assert client.get_document("wire")[0].id == "wire"
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    client.get_document("wire")
                except NotFound:
                    break
                time.sleep(0.25)
            else:
                pytest.fail("the article outlived its retention")
            assert [c for c in client.list_clusters()] == []
        assert any(line.get("msg") == "expired" and line["documents"] == 1 for line in server.logs)
    finally:
        server.kill()
