"""The command line's server commands against a real server: `list`, `get`, `delete`, `lineage` and
`watch` beside `ingest`, `query` and `cluster`, each as text for people and JSON for tools, with
times in RFC 3339 and scores to three places in both."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dedup.cli import main
from tests.serving import ServerProcess

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "port-strike" / "wire.jsonl"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:\d\d)$")
LONG_FLOAT = re.compile(r"\d\.\d{4,}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("cli") / "data", "--model", "none")
    assert main(["ingest", "--server", s.target, "-q", str(EXAMPLE)]) == 0
    yield s
    s.kill()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    assert not LONG_FLOAT.search(out), out  # scores to three places
    return json.loads(out)


def test_list_and_cluster(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    clusters = as_json(capsys, "list", "--server", server.target)
    assert {d for c in clusters for d in c["documents"]} >= {"harbour-wire", "coastal-daily", "metro-news"}
    assert all(RFC3339.match(c["update_time"]) and RFC3339.match(c["create_time"]) for c in clusters)
    story = next(c for c in clusters if "harbour-wire" in c["documents"])
    code, out, _ = run(capsys, "cluster", "--server", server.target, story["id"], "--format", "text")
    assert code == 0
    assert f"story {story['id']}: {len(story['documents'])} article(s)" in out
    assert "* Harbour Wire · 2025-03-04 08:00 UTC" in out  # the original, by outlet and time
    assert "harbour-wire -> coastal-daily" in out
    code, out, _ = run(capsys, "list", "--server", server.target, "--limit", "1", "--format", "text")
    assert code == 0 and len(out.splitlines()) == 1 and "updated 20" in out


def test_get_shows_the_article_its_origin_and_the_passage_text(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    got = as_json(capsys, "get", "--server", server.target, "coastal-daily")
    assert got["document"]["outlet"] == "Coastal Daily"
    assert got["document"]["published_at"] == "2025-03-04T10:15:00+00:00"
    assert got["analysis"]["parents"][0]["id"] == "harbour-wire"
    code, out, _ = run(capsys, "get", "--server", server.target, "coastal-daily", "--format", "text")
    assert code == 0
    assert out.startswith("Coastal Daily · 2025-03-04 10:15 UTC  (coastal-daily)")
    assert "derives from Harbour Wire" in out
    assert "“Dock workers in Port Alder walked off the job on Tuesday" in out  # the shared passage


def test_lineage(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    lineage = as_json(capsys, "lineage", "--server", server.target, "harbour-wire")
    assert lineage["ancestors"] == []
    assert {e["child"] for e in lineage["descendants"]} >= {"coastal-daily"}
    code, out, _ = run(capsys, "lineage", "--server", server.target, "coastal-daily", "--format", "text")
    assert code == 0 and "derives from:" in out and "(harbour-wire) -> coastal-daily" in out


def test_watch_resumes_after_a_sequence_and_delete_is_seen(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "watch", "--server", server.target, "--after", "0", "--seconds", "2")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]  # JSON Lines when not at a terminal
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert all(RFC3339.match(e["time"]) for e in events)
    last = events[-1]["sequence"]
    code, out, _ = run(capsys, "delete", "--server", server.target, "river-lane", "--format", "text")
    assert code == 0 and "deleted river-lane" in out
    code, out, _ = run(
        capsys, "watch", "--server", server.target, "--after", str(last), "--seconds", "2", "--format", "text"
    )
    assert code == 0 and out.splitlines()[0].startswith(f"#{last + 1}  ")
    assert "DOCUMENT_REMOVED" in out and "river-lane" in out
    code, _, err = run(capsys, "get", "--server", server.target, "river-lane")
    assert code == 2 and "NOT_FOUND" in err and "river-lane" in err
    code, _, err = run(capsys, "watch", "--server", server.target, "--after", "100000", "--seconds", "1")
    assert code == 2 and "OUT_OF_RANGE" in err


def test_query_and_ingest_print_json_into_a_pipe_and_text_when_asked(
    server: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text("Dock workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the "
                     "city's main container terminal.\n")  # fmt: skip
    code, out, _ = run(capsys, "query", "--server", server.target, str(draft))
    assert code == 0
    found = json.loads(out)[0]  # auto: JSON, since the output is not a terminal
    assert "harbour-wire" in {m["b"] for m in found["matches"]}
    code, out, _ = run(capsys, "query", "--server", server.target, str(draft), "--format", "text")
    assert code == 0 and out.startswith("draft (not stored)") and "VERBATIM" in out
    code, out, _ = run(capsys, "ingest", "--server", server.target, "-q", str(EXAMPLE), "--format", "text")
    assert code == 0 and out.splitlines()[0].startswith("5 article(s): ")
    assert "unchanged" in out
