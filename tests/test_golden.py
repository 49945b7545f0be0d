"""End to end against a golden file: `examples/port-strike` analysed, compared with what we checked by hand.

Regenerate after a deliberate change with ``DEDUP_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``
and review the diff: it is the user-visible behaviour.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dedup.config import Config
from dedup.embed import CachingEmbedder
from dedup.inputs import read_articles
from dedup.pipeline import Detector

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "port-strike" / "wire.jsonl"
GOLDEN = Path(__file__).resolve().parent / "golden" / "port-strike.json"
SCORE_TOLERANCE = 0.02  # float32 arithmetic differs slightly between machines


def _strip(result: dict[str, Any]) -> dict[str, Any]:
    result = dict(result)
    result.pop("stats", None)
    return result


def _compare(actual: Any, expected: Any, path: str = "$") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{path}: keys differ"
        for key in expected:
            _compare(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: lengths differ"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, abs=SCORE_TOLERANCE), path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def test_port_strike_matches_the_golden_file(detector: Detector) -> None:
    result = _strip(detector.analyze(read_articles(EXAMPLE)).to_dict())
    if os.environ.get("DEDUP_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    _compare(result, expected)


def test_keeping_one_prepared_article_in_memory_gives_the_golden_answers(embedder: CachingEmbedder) -> None:
    """Every match then prepares the stored article again from the store."""
    detector = Detector(Config(resident_documents=1), embedder)
    result = _strip(detector.analyze(read_articles(EXAMPLE)).to_dict())
    _compare(result, json.loads(GOLDEN.read_text(encoding="utf-8")))


def test_the_golden_file_says_what_we_checked_by_hand() -> None:
    """The facts the golden file must hold, so that regenerating it cannot bless a regression."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    docs = {d["id"]: d for d in golden["documents"]}
    assert docs["harbour-wire"]["parents"] == []
    assert [p["id"] for p in docs["coastal-daily"]["parents"]] == ["harbour-wire"]
    assert [p["id"] for p in docs["metro-news"]["parents"]] == ["harbour-wire"]  # it names Harbour Wire
    assert docs["metro-news"]["external_sources"] == []  # its source is in the corpus
    assert docs["river-lane"]["cluster"] != docs["harbour-wire"]["cluster"]
    relations = {frozenset((p["a"], p["b"])): p["relation"] for p in golden["pairs"]}
    assert relations[frozenset(("harbour-wire", "coastal-daily"))] == "WHOLLY_DERIVED"
