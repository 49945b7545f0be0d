"""benchmarks/pan13.py: PAN's measures on hand-made cases, PAN's XML, the clustering into detections, and
the script end to end on a tiny slice of ../shared/data/pan13-train (skipped where it is absent)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.pan13 import (
    Annotation,
    Params,
    main,
    pan_scores,
    read_annotations,
    to_detections,
    write_detections,
)

PAIR = ("suspicious-document00001.txt", "source-document00001.txt")
OTHER = ("suspicious-document00002.txt", "source-document00002.txt")
CASE = Annotation(this_offset=100, this_length=200, source_offset=1000, source_length=200)


def test_perfect_detection_scores_one() -> None:
    s = pan_scores({PAIR: [CASE]}, {PAIR: [CASE]})
    assert (s["plagdet"], s["precision"], s["recall"], s["granularity"]) == (1.0, 1.0, 1.0, 1.0)


def test_half_covered_case_has_recall_one_half() -> None:
    half = Annotation(100, 100, 1000, 100)  # the first half on both sides
    s = pan_scores({PAIR: [CASE]}, {PAIR: [half]})
    assert s["recall"] == pytest.approx(0.5)
    assert s["precision"] == pytest.approx(1.0)
    assert s["granularity"] == 1.0


def test_case_detected_in_two_pieces_has_granularity_two() -> None:
    pieces = [Annotation(100, 100, 1000, 100), Annotation(200, 100, 1100, 100)]
    s = pan_scores({PAIR: [CASE]}, {PAIR: pieces})
    assert s["granularity"] == pytest.approx(2.0)
    assert s["recall"] == pytest.approx(1.0) and s["precision"] == pytest.approx(1.0)
    assert s["plagdet"] == pytest.approx(1 / math.log2(3), abs=1e-4)


def test_no_detections_score_zero() -> None:
    s = pan_scores({PAIR: [CASE]}, {PAIR: []})
    assert (s["plagdet"], s["precision"], s["recall"]) == (0.0, 0.0, 0.0)
    assert pan_scores({PAIR: [CASE]}, {})["plagdet"] == 0.0


def test_a_detection_must_overlap_on_both_sides_and_in_the_same_pair() -> None:
    wrong_source = Annotation(100, 200, 5000, 200)
    assert pan_scores({PAIR: [CASE]}, {PAIR: [wrong_source]})["recall"] == 0.0
    assert pan_scores({PAIR: [CASE]}, {OTHER: [CASE]})["recall"] == 0.0


def test_detections_in_pairs_without_cases_cost_precision() -> None:
    false_alarm = Annotation(0, 300, 0, 300)
    s = pan_scores({PAIR: [CASE], OTHER: []}, {PAIR: [CASE], OTHER: [false_alarm]})
    assert s["recall"] == pytest.approx(1.0)
    assert s["precision"] == pytest.approx(0.5)


def test_overshooting_detection_loses_precision_by_characters() -> None:
    # twice as long on both sides: half of its characters are in the case
    s = pan_scores({PAIR: [CASE]}, {PAIR: [Annotation(100, 400, 1000, 400)]})
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(1.0)


def test_detection_xml_round_trip(tmp_path: Path) -> None:
    found = [Annotation(5, 10, 20, 30), Annotation(100, 7, 0, 9)]
    path = write_detections(tmp_path, PAIR, found)
    assert path.name == "suspicious-document00001-source-document00001.xml"
    text = path.read_text(encoding="utf-8")
    assert '<document reference="suspicious-document00001.txt">' in text
    assert 'name="detected-plagiarism"' in text and 'source_reference="source-document00001.txt"' in text
    assert read_annotations(path, "detected-plagiarism") == found


def test_truth_xml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "truth.xml"
    path.write_text(
        '<document reference="suspicious-document00001.txt">\n'
        '<feature name="about" authors="x" />\n'
        '<feature name="plagiarism" obfuscation="none" source_length="698" source_offset="1300" '
        'source_reference="source-document00001.txt" this_length="698" this_offset="3593" />\n'
        "</document>\n",
        encoding="utf-8",
    )
    assert read_annotations(path) == [Annotation(3593, 698, 1300, 698)]


def test_spans_on_one_diagonal_make_one_detection_and_a_stray_match_is_dropped() -> None:
    spans = [
        (1000, 1100, 2000, 2100, 1.0),
        (1150, 1250, 2150, 2250, 0.8),
        (1300, 1400, 2300, 2400, 0.7),
        (5000, 5010, 90, 100, 1.0),  # a lone two-word match elsewhere
    ]
    assert to_detections(spans, Params(), source_length=10_000) == [Annotation(1000, 400, 2000, 400)]


def test_a_summary_is_matched_to_the_whole_source() -> None:
    # a 600-character stretch whose matches come from all over a 5,000-character source
    spans = [(1000 + 100 * k, 1070 + 100 * k, 800 * k, 800 * k + 70, 0.6) for k in range(6)]
    assert to_detections(spans, Params(), source_length=5000) == [Annotation(1000, 570, 0, 5000)]


def test_the_script_on_a_tiny_slice(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = shared_data / "pan13-train"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is absent")
    assert main(["--corpus", str(corpus), "--out", str(tmp_path), "--limit", "6", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 6
    for who in ("dedup", "baseline"):
        assert {"overall", "no-plagiarism", "none", "random", "translation", "summary"} <= set(result[who])
        overall = result[who]["overall"]
        for key in ("plagdet", "precision", "recall"):
            assert 0.0 <= overall[key] <= 1.0
        assert overall["granularity"] >= 1.0
        written = sorted((tmp_path / who).glob("suspicious-document*-source-document*.xml"))
        assert len(written) == 6
        for path in written:
            read_annotations(path, "detected-plagiarism")  # well-formed PAN XML
    assert result["published"]["best_system"]["plagdet"] == 0.878
    assert result["published"]["pan13_baseline"]["plagdet"] == 0.422
    # a copy taken word for word is found
    assert result["dedup"]["none"]["recall"] > 0.5
