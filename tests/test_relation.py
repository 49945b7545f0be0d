"""Tests of dedup.relation.classify_pair on hand-built passages and coverages, branch by branch."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import merge_spans
from dedup.config import RelationConfig
from dedup.relation import _minus, classify_pair
from dedup.results import Passage, PassageKind, Relation

CFG = RelationConfig()
V, N, P = PassageKind.VERBATIM, PassageKind.NEAR_VERBATIM, PassageKind.PARAPHRASE


def passage(
    a_start: int, a_end: int, kind: PassageKind = V, b_offset: int = 0, score: float = 1.0
) -> Passage:
    """A passage at the same place in a and (shifted by ``b_offset``) in b."""
    return Passage(a_start, a_end, a_start + b_offset, a_end + b_offset, kind, score)


def classify(
    passages: list[Passage],
    coverage_a: float,
    coverage_b: float,
    semantic: float = 0.0,
    cfg: RelationConfig = CFG,
) -> Relation | None:
    return classify_pair(passages, coverage_a, coverage_b, semantic, cfg)


CASES = [
    # (id, passages, coverage_a, coverage_b, semantic, expected)
    ("duplicate-verbatim", [passage(0, 1000)], 0.97, 0.95, 0.99, Relation.DUPLICATE),
    ("duplicate-near-verbatim", [passage(0, 1000, N, score=0.9)], 0.95, 0.95, 0.99, Relation.DUPLICATE),
    (
        "duplicate-mixed-lexical-kinds",
        [passage(0, 500), passage(500, 1000, N, score=0.9)],
        0.95,
        0.95,
        0.9,
        Relation.DUPLICATE,
    ),
    (
        "duplicate-at-exact-lexical-share",
        [passage(0, 800), passage(800, 1000, P, score=0.85)],
        0.95,
        0.95,
        0.9,
        Relation.DUPLICATE,
    ),
    (
        "duplicate-at-exact-coverage",
        [passage(0, 1000)],
        CFG.duplicate_coverage,
        CFG.duplicate_coverage,
        0.9,
        Relation.DUPLICATE,
    ),
    # Paraphrase all the way through, both sides covered: a rewrite, never a duplicate.
    (
        "paraphrase-only-full-cover",
        [passage(0, 1000, P, score=0.9)],
        0.97,
        0.97,
        0.95,
        Relation.WHOLLY_DERIVED,
    ),
    (
        "lexical-share-below-duplicate",
        [passage(0, 700), passage(700, 1000, P, score=0.85)],
        0.95,
        0.95,
        0.9,
        Relation.WHOLLY_DERIVED,
    ),
    # A quote lifted word for word inside a paraphrased passage is a small lexical share.
    (
        "quote-inside-paraphrase",
        [passage(0, 1000, P, score=0.85), passage(100, 230)],
        0.95,
        0.95,
        0.9,
        Relation.WHOLLY_DERIVED,
    ),
    (
        "one-side-below-duplicate-coverage",
        [passage(0, 1000)],
        0.95,
        CFG.duplicate_coverage - 0.01,
        0.9,
        Relation.WHOLLY_DERIVED,
    ),
    ("wholly-a-side", [passage(0, 600)], CFG.wholly_coverage, 0.55, 0.9, Relation.WHOLLY_DERIVED),
    ("wholly-b-side", [passage(0, 600)], 0.55, 0.99, 0.9, Relation.WHOLLY_DERIVED),
    ("partial", [passage(0, 300)], 0.3, 0.4, 0.8, Relation.PARTIALLY_DERIVED),
    (
        "partial-just-below-wholly",
        [passage(0, 300)],
        CFG.wholly_coverage - 0.01,
        CFG.wholly_coverage - 0.01,
        0.8,
        Relation.PARTIALLY_DERIVED,
    ),
    (
        "partial-at-min-shared-chars",
        [passage(0, CFG.min_shared_chars)],
        0.05,
        0.05,
        0.0,
        Relation.PARTIALLY_DERIVED,
    ),
    (
        "partial-even-when-unlike",
        [passage(0, 200)],
        0.2,
        0.2,
        0.1,
        Relation.PARTIALLY_DERIVED,
    ),
    (
        "whole-rewrite-in-other-words",
        [passage(0, CFG.min_paraphrase_chars, P, score=0.85)],
        CFG.min_paraphrase_coverage,
        CFG.min_paraphrase_coverage,
        0.7,
        Relation.PARTIALLY_DERIVED,
    ),
    # Paraphrase covering most of one article but little of the other: two reports of one event.
    (
        "one-sided-paraphrase-same-story",
        [passage(0, CFG.min_paraphrase_chars, P, score=0.85)],
        0.9,
        0.2,
        0.7,
        Relation.SAME_STORY,
    ),
    # A little paraphrase alone is what two reports of one event share: not reuse.
    (
        "little-paraphrase-same-story",
        [passage(0, CFG.min_paraphrase_chars, P, score=0.85)],
        0.2,
        0.2,
        0.7,
        Relation.SAME_STORY,
    ),
    # Too little shared word for word: not reuse; the vectors decide between SAME_STORY and None.
    (
        "short-lexical-same-story",
        [passage(0, CFG.min_shared_chars - 1)],
        0.05,
        0.05,
        0.7,
        Relation.SAME_STORY,
    ),
    ("short-lexical-unrelated", [passage(0, CFG.min_shared_chars - 1)], 0.05, 0.05, 0.2, None),
    # One short sentence in other words is what any two reports of one event have.
    ("short-paraphrase-same-story", [passage(0, 120, P, score=0.9)], 0.1, 0.1, 0.8, Relation.SAME_STORY),
    ("short-paraphrase-unrelated", [passage(0, 120, P, score=0.9)], 0.1, 0.1, 0.3, None),
    # Even a paraphrase that covers almost all of a short article is not reuse on its own.
    ("short-paraphrase-high-coverage", [passage(0, 120, P, score=0.9)], 0.95, 0.95, 0.9, Relation.SAME_STORY),
    # Two short paraphrases add up past the threshold.
    (
        "paraphrases-add-up",
        [passage(0, 80, P, score=0.9), passage(200, 280, P, score=0.9)],
        0.65,
        0.6,
        0.8,
        Relation.PARTIALLY_DERIVED,
    ),
    # ... but overlapping ones are not counted twice.
    (
        "overlapping-paraphrases-count-once",
        [passage(0, 100, P, score=0.9), passage(40, 140, P, score=0.9)],
        0.3,
        0.3,
        0.8,
        Relation.SAME_STORY,
    ),
    (
        "overlapping-verbatim-count-once",
        [passage(0, 30), passage(10, 35)],
        0.05,
        0.05,
        0.0,
        None,
    ),
    ("same-story", [], 0.0, 0.0, 0.8, Relation.SAME_STORY),
    ("same-story-at-threshold", [], 0.0, 0.0, CFG.same_story_cosine, Relation.SAME_STORY),
    ("unrelated", [], 0.0, 0.0, CFG.same_story_cosine - 0.01, None),
    ("nothing", [], 0.0, 0.0, 0.0, None),
]


@pytest.mark.parametrize(
    ("passages", "coverage_a", "coverage_b", "semantic", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_classify_pair(
    passages: list[Passage], coverage_a: float, coverage_b: float, semantic: float, expected: Relation | None
) -> None:
    assert classify(passages, coverage_a, coverage_b, semantic) is expected


@pytest.mark.parametrize(
    ("passages", "coverage_a", "coverage_b", "semantic", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_classify_pair_does_not_depend_on_which_side_is_a(
    passages: list[Passage], coverage_a: float, coverage_b: float, semantic: float, expected: Relation | None
) -> None:
    swapped = [p.swapped() for p in passages]
    assert classify(swapped, coverage_b, coverage_a, semantic) is expected


def test_paraphrase_threshold_takes_the_shorter_side() -> None:
    # 200 characters of paraphrase in a, but only 120 in b: the shorter side decides.
    p = Passage(0, 200, 0, 120, P, 0.9)
    assert classify([p], 0.7, 0.6, 0.3) is None
    assert classify([p.swapped()], 0.6, 0.7, 0.3) is None
    assert classify([Passage(0, 200, 0, 150, P, 0.9)], 0.7, 0.6, 0.3) is Relation.PARTIALLY_DERIVED


def test_thresholds_come_from_the_config() -> None:
    short = [passage(0, 20)]
    assert classify(short, 0.1, 0.1) is None
    loose = dataclasses.replace(CFG, min_shared_chars=20)
    assert classify(short, 0.1, 0.1, cfg=loose) is Relation.PARTIALLY_DERIVED
    para = [passage(0, 1000, P, score=0.9)]
    assert classify(para, 0.95, 0.95, 0.9) is Relation.WHOLLY_DERIVED
    anything_goes = dataclasses.replace(CFG, duplicate_lexical_share=0.0)
    assert classify(para, 0.95, 0.95, 0.9, cfg=anything_goes) is Relation.DUPLICATE
    strict_story = dataclasses.replace(CFG, same_story_cosine=0.9)
    assert classify([], 0.0, 0.0, 0.8, cfg=strict_story) is None


def test_lexical_share_is_symmetric_when_spans_differ_in_length() -> None:
    p = Passage(0, 39, 0, 46, V, 1.0)
    assert classify([p], 0.05, 0.05, 0.2) is classify([p.swapped()], 0.05, 0.05, 0.2)


def test_a_shared_headline_alone_is_no_reuse() -> None:
    # The two headlines read alike, as headlines of one event do; nothing else is shared.
    headline = Passage(0, 120, 0, 118, N, 0.85)
    assert classify_pair([headline], 0.05, 0.05, 0.8, CFG) is Relation.PARTIALLY_DERIVED  # no headline known
    judged = classify_pair([headline], 0.05, 0.05, 0.8, CFG, headline_a=[(0, 120)], headline_b=[(0, 118)])
    assert judged is Relation.SAME_STORY
    # A headline and the lead paragraph under it: reuse.
    lead = Passage(122, 360, 120, 358, V, 1.0)
    assert classify_pair([headline, lead], 0.4, 0.4, 0.8, CFG, headline_a=[(0, 120)]) is (
        Relation.PARTIALLY_DERIVED
    )


def test_a_phrase_in_common_is_reuse_only_when_one_names_the_other() -> None:
    phrase = Passage(0, 60, 0, 60, V, 1.0)  # "at the Betty Ford Center in Rancho Mirage, Calif."
    assert CFG.min_shared_chars_named <= 60 < CFG.min_shared_chars
    assert classify_pair([phrase], 0.05, 0.05, 0.8, CFG) is Relation.SAME_STORY
    assert classify_pair([phrase], 0.05, 0.05, 0.8, CFG, named=True) is Relation.PARTIALLY_DERIVED


def test_the_headline_is_a_short_first_line_that_does_not_end_like_a_sentence() -> None:
    from dedup.article import Article
    from dedup.config import Config
    from dedup.document import prepare
    from dedup.relation import headline_span

    text = "Dock strike halts Port Alder cargo\n\nDock workers walked off the job on Tuesday. Cargo stopped."
    doc = prepare(Article("a", text), 1, Config())
    assert headline_span(doc) == [(0, len("Dock strike halts Port Alder cargo"))]
    prose = "Dock workers walked off the job on Tuesday.\n\nCargo stopped at the main terminal today."
    assert headline_span(prepare(Article("b", prose), 1, Config())) == []
    run_on = "Dock workers walked off the job on Tuesday and cargo stopped at the main terminal today"
    assert headline_span(prepare(Article("c", run_on + " as the union said it would."), 1, Config())) == []


_spans = st.lists(
    st.tuples(st.integers(0, 80), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1])), max_size=6
)


@given(spans=_spans, holes=_spans)
@settings(max_examples=300, deadline=None)
def test_characters_outside_attributed_text_match_a_count_by_character(
    spans: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> None:
    """What a side owns of a passage (inside it, outside its quotes and credits) is counted character
    by character: overlapping passages count once, and a hole only takes what lies inside a span."""
    inside = {i for start, end in spans for i in range(start, end)}
    attributed = {i for start, end in holes for i in range(start, end)}
    assert _minus(spans, merge_spans(holes)) == len(inside - attributed)
