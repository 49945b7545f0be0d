"""Nothing acknowledged is ever lost: `dedup serve` killed with SIGKILL at random moments of a streamed
ingest, again and again on one data directory; after each restart every article it acknowledged is
stored, word for word, and matched.

A real server process (``--model none``: lexical matching, a start in about a second), a client
streaming articles (StreamIngestDocuments) without a pause, and a kill at a moment drawn from a seeded
generator. An article is acknowledged when its own reply came back; articles sent and not yet answered
at the kill may or may not be stored, but nothing else may be there."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from dedup.client import DedupClient
from dedup.document import Article
from dedup.errors import DedupError
from tests.serving import ServerProcess

SEED = 14
TRIALS = int(os.environ.get("DEDUP_KILL9_TRIALS", "20"))
KILL_AFTER = (0.05, 1.2)
"""Seconds from the start of the ingest to the kill, drawn uniformly: from the first stream to a few
hundred articles in."""


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mer", "ti", "van", "su", "bro", "del", "fin", "ga", "hu", "jes", "port", "ra"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def _articles(rng: random.Random, prefix: str) -> Iterator[Article]:
    """Articles with ids ``prefix-0, prefix-1, ...``, each text of its own (6 to 10 sentences of
    random words): an article's text matches that article."""
    words = _vocabulary(rng)
    n = 0
    while True:
        sentences = [
            " ".join(rng.choice(words) for _ in range(rng.randint(8, 14))).capitalize() + "."
            for _ in range(rng.randint(6, 10))
        ]
        yield Article(f"{prefix}-{n}", " ".join(sentences), outlet=rng.choice(["Wire", "Ledger", None]))
        n += 1


def _feed(
    target: str,
    articles: Iterator[Article],
    sent: list[Article],
    acknowledged: list[Article],
    done: threading.Event,
) -> None:
    """Stream articles until the server goes away; record each one sent, and each one answered."""

    def source() -> Iterator[Article]:
        while not done.is_set():
            sent.append(next(articles))
            yield sent[-1]

    with DedupClient(target, timeout=30) as client:
        try:
            for n, reply in enumerate(client.ingest_many(source())):
                assert reply.analysis.id == sent[n].id  # answered in order
                acknowledged.append(sent[n])
        except DedupError:  # the server was killed under the stream
            return


def _check(server: ServerProcess, stored: dict[str, str], new: list[Article], rng: random.Random) -> None:
    """Every acknowledged article is stored as sent; the new ones (and a sample of the others) match."""
    sample = rng.sample(sorted(stored), min(len(stored), 50))
    with DedupClient(server.target, timeout=60) as client:
        for doc_id in {a.id for a in new} | set(sample):
            assert client.get_document(doc_id)[0].text == stored[doc_id], doc_id
        for doc_id, text in [(a.id, a.text) for a in new] + [(d, stored[d]) for d in sample[:10]]:
            assert doc_id in {m.b for m in client.find_similar(text).matches}, doc_id
        every = {d for c in client.list_clusters(page_size=1000) for d in c.documents}
    assert set(stored) <= every
    assert len(every) == server.serving["documents"]


def test_kill_9_at_random_moments_of_a_streamed_ingest_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    stored: dict[str, str] = {}  # every article acknowledged so far: id -> text
    sent: set[str] = set()  # every article sent so far
    started = time.perf_counter()
    server = ServerProcess(data, "--model", "none")
    try:
        for trial in range(TRIALS):
            acknowledged: list[Article] = []
            streamed: list[Article] = []
            articles = _articles(rng, f"t{trial}")
            done = threading.Event()
            feeder = threading.Thread(
                target=_feed, args=(server.target, articles, streamed, acknowledged, done)
            )
            feeder.start()
            time.sleep(rng.uniform(*KILL_AFTER))
            os.kill(server.pid, signal.SIGKILL)
            assert server.wait(60) == -signal.SIGKILL
            done.set()
            feeder.join(60)
            assert not feeder.is_alive()
            sent |= {a.id for a in streamed}
            stored.update({a.id: a.text for a in acknowledged})

            server = ServerProcess(data, "--model", "none")
            assert server.serving["documents"] >= len(stored)
            assert server.serving["indexes"] == "rebuilt from the store"  # never saved: always killed
            _check(server, stored, acknowledged, rng)
            with DedupClient(server.target) as client:
                every = {d for c in client.list_clusters(page_size=1000) for d in c.documents}
            assert every <= sent  # nothing but what was sent
    finally:
        server.kill()
    seconds = time.perf_counter() - started
    print(
        f"\nkill -9 series: {TRIALS} trials, {len(stored)} articles acknowledged, none lost, {seconds:.0f} s"
    )
    assert len(stored) >= TRIALS  # the kills came during ingest, after something was acknowledged
