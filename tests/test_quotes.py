"""Tests of dedup.quotes (quoted speech) and of how relation treats what an article attributes."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from dedup.config import RelationConfig
from dedup.quotes import quoted_spans
from dedup.relation import classify_pair
from dedup.results import Passage, PassageKind, Relation


def quoted(text: str) -> list[str]:
    return [text[a:b] for a, b in quoted_spans(text)]


def test_curly_and_straight_double_quotes() -> None:
    text = '“We will rebuild,” the mayor said. Later she added: "Not this year." Then she left.'
    assert quoted(text) == ["“We will rebuild,”", '"Not this year."']


def test_british_single_quotes_and_apostrophes() -> None:
    text = "The minister’s aide said ‘we don’t comment on leaks’ and left. It’s Jones’ car."
    assert quoted(text) == ["‘we don’t comment on leaks’"]


def test_a_quote_left_open_ends_with_its_paragraph() -> None:
    text = "“The gates failed twice this winter.\n\n“We were told they would hold,” she said.\nNo quote here."
    assert quoted(text) == ["“The gates failed twice this winter.", "“We were told they would hold,”"]


def test_guillemets_and_low_nine_quotes() -> None:
    assert quoted("Il a dit «non merci» hier.") == ["«non merci»"]
    assert quoted("Er sagte „nein danke“ gestern.") == ["„nein danke“"]


def test_no_quotes_no_spans() -> None:
    assert quoted_spans("Dock workers walked off the job on Tuesday.") == []
    assert quoted_spans('An empty pair "" gives nothing.') == []


@given(st.text(alphabet=st.sampled_from(list("ab \n\"“”‘’«»„'."))))
def test_spans_are_sorted_disjoint_and_inside_the_text(text: str) -> None:
    spans = quoted_spans(text)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    for a, b in spans:
        assert 0 <= a < b <= len(text)


QUOTE = (0, 80)  # where both articles quote the speaker, 80 characters


def test_shared_quoted_speech_alone_is_a_common_source() -> None:
    p = Passage(0, 80, 100, 180, PassageKind.VERBATIM, 1.0)
    cfg = RelationConfig()
    plain = classify_pair([p], 0.1, 0.1, 0.7, cfg, named=True)  # one credits the other: reuse
    assert plain is Relation.PARTIALLY_DERIVED
    # Quoted on one side is enough: the words are someone else's.
    assert classify_pair([p], 0.1, 0.1, 0.7, cfg, attributed_a=[QUOTE]) is Relation.COMMON_SOURCE
    assert classify_pair([p], 0.1, 0.1, 0.7, cfg, attributed_b=[(100, 180)]) is Relation.COMMON_SOURCE
    # An attribution tail outside the quote ("," the mayor said.) is too short to be copying ...
    assert classify_pair([p], 0.1, 0.1, 0.7, cfg, attributed_a=[(0, 60)]) is Relation.COMMON_SOURCE
    # ... but prose shared beside the quote is.
    prose = Passage(200, 330, 300, 430, PassageKind.VERBATIM, 1.0)
    assert classify_pair([p, prose], 0.2, 0.2, 0.7, cfg, attributed_a=[QUOTE]) is Relation.PARTIALLY_DERIVED
