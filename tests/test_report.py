"""The text report as people read it: each pair once, each shared quote once, the README's example real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dedup.inputs import read_articles
from dedup.pipeline import Detector
from dedup.report import render_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "port-strike" / "wire.jsonl"


def report_of(detector: Detector, path: Path) -> str:
    articles = read_articles(path)
    return render_text(detector.analyze(articles), {a.id: a for a in articles})


def test_the_readme_example_is_the_tools_real_output(detector: Detector) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: port-strike -->\n```\n(.*?)```\n", readme, re.S)
    assert match, "README.md lost its port-strike example block"
    assert match.group(1) == report_of(detector, EXAMPLE)


def test_the_example_names_outlets_times_and_the_parent(detector: Detector) -> None:
    text = report_of(detector, EXAMPLE)
    assert "Harbour Wire · 2025-03-04 08:00 UTC" in text
    assert re.search(r"C +derives from A: confidence 0\.\d\d, ordered by time\+attribution", text)
    # The union steward's quote is in four articles and is shown once, with all four.
    assert text.count("asked politely for six months") == 1
    assert re.search(r"VERBATIM · quoted or credited · in A B C D\n.*asked politely", text)
    assert "cites Reuters (“Reuters reported”)" in text


def test_the_seeds_report_names_each_pair_and_quote_once(detector: Detector, shared_data: Path) -> None:
    text = report_of(detector, shared_data / "seeds")
    lines = text.splitlines()
    # One story, one screen.
    assert sum(line.startswith("Story ") for line in lines) == 1
    assert len(lines) <= 60
    # No character offsets: readers get the words.
    assert not re.search(r"\[\d+:\d+\]", text)
    # Dennis Ross's words are shared by three outlets: shown once, with all three.
    assert text.count("consistent hesitancy about wanting any fingerprints") == 1
    # Every pair at most once; pairs of the story that share nothing on one line.
    pair_lines = [line.split()[0] for line in lines if re.match(r"^ {4}[A-E]–[A-E] ", line)]
    assert len(pair_lines) == len(set(pair_lines)) >= 4
    same = [line for line in lines if "same story, nothing shared" in line]
    assert len(same) == 1
    assert text.count("The Wall Street Journal") >= 5


@pytest.mark.parametrize("kind", ["VERBATIM", "PARAPHRASE"])
def test_the_seeds_report_shows_both_kinds(detector: Detector, shared_data: Path, kind: str) -> None:
    assert f"{kind} · " in report_of(detector, shared_data / "seeds")
