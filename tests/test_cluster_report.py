"""`dedup report --server`: the report of a stored story is the report `dedup analyze` gives for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup.cli import main
from dedup.client import DedupClient
from dedup.embed import CachingEmbedder
from dedup.engine import Engine
from dedup.inputs import read_articles
from dedup.pipeline import Detector
from dedup.store import SqliteStore
from server.app import build_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "port-strike" / "wire.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("server")
    engine = Engine(Detector(embedder=embedder).config, embedder, SqliteStore(folder / "dedup.sqlite3"))
    running = build_server(engine, "127.0.0.1:0")
    target = f"127.0.0.1:{running.port}"
    with DedupClient(target) as client:
        list(client.ingest_many(read_articles(EXAMPLE)))
    yield target
    running.stop(2)


EDGE = r'class="edge" data-parent="([^"]+)" data-child="([^"]+)" data-confidence="([^"]+)"'


def structure(html: str) -> dict[str, set[tuple[str, ...]]]:
    """What the reader sees, without the cluster-specific labels: edges, sources, pairs, highlights."""
    return {
        "edges": set(re.findall(EDGE, html)),
        "sources": set(re.findall(r'class="source-edge" data-source="([^"]+)" data-child="([^"]+)"', html)),
        "pairs": set(re.findall(r'class="pair" id="[^"]+" data-a="([^"]+)" data-b="([^"]+)"', html)),
        "marks": set(re.findall(r'<mark class="([a-z-]+)" data-start="(\d+)" data-end="(\d+)"', html)),
    }


def test_the_stored_storys_report_is_the_one_analyze_gives(
    server: str, detector: Detector, tmp_path: Path
) -> None:
    with DedupClient(server) as client:
        cluster = client.get_document("harbour-wire")[1].cluster
    assert cluster is not None
    out = tmp_path / "cluster.html"
    assert main(["report", "--server", server, cluster, "--out", str(out)]) == 0
    stored = out.read_text(encoding="utf-8")
    local = tmp_path / "all.html"
    assert main(["analyze", str(EXAMPLE), "--format", "html", "--out", str(local), "-q"]) == 0
    whole = structure(local.read_text(encoding="utf-8"))
    mine = structure(stored)
    assert mine["edges"] == whole["edges"] and mine["edges"]
    assert mine["sources"] == whole["sources"] == {("Reuters", "bay-courier")}
    assert mine["pairs"] == whole["pairs"]
    assert mine["marks"] == whole["marks"]
    # The other story (the cycling lane) is not in this report.
    assert "river-lane" not in stored


def test_the_text_report_of_a_stored_story(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    with DedupClient(server) as client:
        cluster = client.get_document("metro-news")[1].cluster
    assert cluster is not None
    assert main(["report", "--server", server, cluster, "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("4 articles in 1 story cluster;")
    assert "derives from A: confidence" in text and "cites Reuters" in text


def test_an_unknown_story_is_an_error_naming_it(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--server", server, "no-such-story"]) == 2
    assert "no-such-story" in capsys.readouterr().err
