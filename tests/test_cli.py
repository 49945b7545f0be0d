"""`dedup analyze` as a user runs it: outputs, exit codes, and nothing half-written on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.cli import main

ORIGINAL = """Harbour workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the city's main terminal.

The union said the strike would last at least three days unless the operator restored the night-shift bonus it cut in March.

"We have asked politely for six months and nobody listened," said union steward Mara Keel. "Now the cranes are quiet."

The terminal handles roughly 40,000 containers a week, according to the port authority.
"""

COPY = """By Lee Park, Coastal Daily

Harbour workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the city's main terminal.

The union said the strike would last at least three days unless the operator restored the night-shift bonus it cut in March.

"We have asked politely for six months and nobody listened," said union steward Mara Keel. "Now the cranes are quiet."

The terminal handles roughly 40,000 containers a week, according to the port authority.
"""

OTHER = """The city council of Brennmoor approved a new cycling lane along the river on Monday evening.

Construction is due to start in spring and will take about eight months, the mayor's office said.
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "original.txt").write_text(ORIGINAL, encoding="utf-8")
    (folder / "copy.txt").write_text(COPY, encoding="utf-8")
    (folder / "other.txt").write_text(OTHER, encoding="utf-8")
    return folder


def test_json_output_follows_the_contract(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main(["analyze", str(corpus), "--format", "json", "--out", str(out), "-q"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) >= {"documents", "clusters", "pairs"}
    assert {d["id"] for d in data["documents"]} == {"original", "copy", "other"}
    pair = next(p for p in data["pairs"] if {p["a"], p["b"]} == {"original", "copy"})
    assert pair["relation"] == "DUPLICATE"
    assert all(p["kind"] == "VERBATIM" for p in pair["passages"])
    cluster_of = {d["id"]: d["cluster"] for d in data["documents"]}
    assert cluster_of["original"] == cluster_of["copy"] != cluster_of["other"]


def test_text_output_quotes_shared_passages(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(corpus), "-q"]) == 0
    text = capsys.readouterr().out
    assert "Story " in text
    assert "DUPLICATE" in text and "VERBATIM" in text
    assert "Harbour workers in Port Alder walked off the job" in text


def test_jsonl_input_with_dates(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "text": ORIGINAL, "outlet": "Harbour Herald", "published_at": "2025-03-04T08:00:00Z"},
        {"id": "b", "text": COPY, "published_at": "2025-03-04T11:30:00+01:00"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["analyze", str(path), "--format", "json", "--out", str(out), "-q"]) == 0
    docs = {d["id"]: d for d in json.loads(out.read_text(encoding="utf-8"))["documents"]}
    assert [p["id"] for p in docs["b"]["parents"]] == ["a"]
    assert docs["a"]["parents"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "text": "fine"}\n[1, 2]\n', ":2: each line must be a JSON object"),
        ('{"id": "a"}\n', ":1: missing 'text'"),
        ('{"text": "no id here"}\n', ":1: missing 'id'"),
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', ":2: duplicate id 'a'"),
        ('{"id": "a", "text": "x", "published_at": "last Tuesday"}\n', ":1: cannot parse timestamp"),
        ('{"id": "a", "text": "x"\n', ":1: not valid JSON"),
    ],
)
def test_bad_jsonl_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out.json"
    out.write_text("previous result", encoding="utf-8")
    assert main(["analyze", str(path), "--format", "json", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and message in err
    assert out.read_text(encoding="utf-8") == "previous result"  # nothing half-written
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_invalid_utf8_file_in_a_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text(OTHER, encoding="utf-8")
    (folder / "broken.txt").write_bytes("caf\u00e9 au lait".encode("latin-1"))
    out = tmp_path / "out.json"
    assert main(["analyze", str(folder), "--out", str(out), "-q"]) == 2
    assert "broken.txt" in capsys.readouterr().err
    assert not out.exists()


def test_missing_path_and_bad_config_exit_2(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(tmp_path / "nowhere"), "-q"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    # `query` reads its file before it connects: no server is needed to be told.
    assert main(["query", "--server", "127.0.0.1:1", str(tmp_path / "draft.txt")]) == 2
    assert "draft.txt: no such file or folder" in capsys.readouterr().err
    config = tmp_path / "bad.toml"
    config.write_text("[align]\nparaphrase_cosin = 0.7\n", encoding="utf-8")
    assert main(["analyze", str(corpus), "--config", str(config), "-q"]) == 2
    assert "paraphrase_cosin" in capsys.readouterr().err


def test_config_file_changes_the_result(corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "strict.toml"
    # With a verbatim run longer than any sentence, the copy no longer shares VERBATIM passages.
    config.write_text("[align]\nmin_verbatim_tokens = 500\nnear_verbatim_ratio = 1.0\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert (
        main(["analyze", str(corpus), "--config", str(config), "--format", "json", "--out", str(out), "-q"])
        == 0
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    kinds = {p["kind"] for pair in data["pairs"] for p in pair["passages"]}
    assert "VERBATIM" not in kinds


def test_the_installed_command_runs(corpus: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "analyze", str(corpus), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["documents"]) == 3


def test_the_command_writes_its_whole_answer_and_says_when_it_fails(corpus: Path, tmp_path: Path) -> None:
    """The program leaves without tearing the interpreter down after `analyze` has written its answer:
    the file is whole, and a failing run still exits with its own status and message."""
    out = tmp_path / "result.json"
    command = [sys.executable, "-m", "dedup", "analyze", str(corpus), "--format", "json", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["stats"]["documents"] == 3
    missing = [sys.executable, "-m", "dedup", "analyze", str(tmp_path / "nowhere"), "-q"]
    failed = subprocess.run(missing, capture_output=True, text=True, timeout=300, check=False)
    assert failed.returncode == 2
    assert "nowhere" in failed.stderr


def test_json_output_holds_one_record_a_line(corpus: Path, tmp_path: Path) -> None:
    """Each article, cluster and pair is one line of its own that parses alone (a line tool can pick
    records out), and text outside ASCII is written as it is."""
    (corpus / "café.txt").write_text(OTHER.replace("Brennmoor", "Brennmöor"), encoding="utf-8")
    out = tmp_path / "result.json"
    assert main(["analyze", str(corpus), "--format", "json", "--out", str(out), "-q"]) == 0
    text = out.read_text(encoding="utf-8")
    data = json.loads(text)
    lines = text.splitlines()
    for key in ("documents", "clusters", "pairs"):
        start = lines.index(f'  "{key}": [')
        records = [
            json.loads(line.strip().rstrip(",")) for line in lines[start + 1 : start + 1 + len(data[key])]
        ]
        assert records == data[key]
        assert lines[start + 1 + len(data[key])] == "  ],"
    assert '"café"' in text


def test_backend_flag_picks_what_runs_the_model(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--backend onnx runs the same model without PyTorch at query time: the same answers as torch."""
    assert main(["analyze", str(corpus), "--backend", "onnx-fp16", "-q"]) == 2
    assert "embed.backend" in capsys.readouterr().err
    monkeypatch.setenv("DEDUP_CACHE_DIR", str(tmp_path / "cache"))
    answers = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.json"
        args = ["analyze", str(corpus), "--backend", backend, "--format", "json", "--out", str(out), "-q"]
        assert main(args) == 0
        data = json.loads(out.read_text(encoding="utf-8"))
        answers[backend] = (
            sorted((d["id"], d["cluster"]) for d in data["documents"]),
            sorted((p["a"], p["b"], p["relation"], len(p["passages"])) for p in data["pairs"]),
        )
    assert answers["onnx"] == answers["torch"]
    assert list((tmp_path / "cache").rglob("model.onnx"))


def test_device_flag_runs_the_model_there_or_says_why_it_cannot(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--device cpu is the default's answers; a device this machine lacks (no CUDA in the CPU build of
    PyTorch the project pins) is a clear error, before anything is written."""
    out = tmp_path / "cpu.json"
    assert main(["analyze", str(corpus), "--device", "cpu", "--format", "json", "--out", str(out), "-q"]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["documents"]) == 3
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the error path needs one without")
    missing = tmp_path / "cuda.json"
    assert main(["analyze", str(corpus), "--device", "cuda", "--out", str(missing), "-q"]) == 2
    assert "CUDA" in capsys.readouterr().err and not missing.exists()
