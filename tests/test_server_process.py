"""`dedup serve` as a real process: acknowledged articles survive kill -9; SIGTERM drains and closes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dedup.client import DedupClient
from tests.serving import ServerProcess
from tests.test_service import fixture_articles


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def _snapshot(client: DedupClient, ids: list[str]) -> dict[str, Any]:
    out = {}
    for doc_id in ids:
        article, analysis = client.get_document(doc_id)
        out[doc_id] = (article.text, analysis)
    return out


def test_acknowledged_articles_survive_kill_9(data_dir: Path) -> None:
    articles = fixture_articles()
    server = ServerProcess(data_dir)
    assert server.serving["documents"] == 0
    assert server.serving["data_dir"] == str(data_dir.resolve())
    assert "MiniLM" in server.serving["model"]
    with DedupClient(server.target) as client:
        list(client.ingest_many(articles[:3]))
        for a in articles[3:]:
            client.ingest(a)  # acknowledged one at a time
        before = _snapshot(client, [a.id for a in articles])
        probe = client.find_similar(articles[1].text)
    os.kill(server.proc.pid, signal.SIGKILL)
    assert server.wait() == -signal.SIGKILL

    again = ServerProcess(data_dir)
    try:
        assert again.serving["documents"] == len(articles)
        assert again.serving["indexes"] == "rebuilt from the store"  # the saved ones were stale or missing
        with DedupClient(again.target) as client:
            assert _snapshot(client, [a.id for a in articles]) == before
            assert client.find_similar(articles[1].text) == probe  # indexed and matched as before
            reply = client.ingest(articles[0])
            assert reply.outcome.value == "UNCHANGED"
    finally:
        again.proc.kill()
        again.wait()


def test_sigterm_drains_in_flight_calls_and_closes_cleanly(data_dir: Path) -> None:
    articles = fixture_articles()
    server = ServerProcess(data_dir)
    result: dict[str, Any] = {}

    def ingest() -> None:
        with DedupClient(server.target) as client:
            try:
                result["replies"] = list(client.ingest_many(articles))
            except Exception as exc:  # pragma: no cover - reported below
                result["error"] = exc

    t = threading.Thread(target=ingest)
    t.start()
    time.sleep(0.3)  # the stream is being served
    server.proc.send_signal(signal.SIGTERM)
    t.join(120)
    assert server.wait(120) == 0
    assert "error" not in result, result.get("error")
    assert len(result["replies"]) == len(articles)
    messages = [line["msg"] for line in server.logs]
    assert "stopping" in messages and messages[-1] == "stopped"

    again = ServerProcess(data_dir)
    try:
        assert again.serving["documents"] == len(articles)
        assert again.serving["indexes"] == "loaded"  # saved at the clean stop
        with DedupClient(again.target) as client:
            assert {m.b for m in client.find_similar(articles[1].text).matches} >= {"orig"}
    finally:
        again.proc.send_signal(signal.SIGTERM)
        assert again.wait(60) == 0
