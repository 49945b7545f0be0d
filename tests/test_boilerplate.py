"""Tests of dedup.boilerplate: which news boilerplate is masked, and that prose is left alone.

All texts here are written for these tests.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.boilerplate import Boilerplate, find_boilerplate, in_spans

PROSE_1 = "The city council approved a new cycling plan on Tuesday after months of heated debate."
PROSE_LONG = (
    "Residents were divided over the proposal, with several shop owners arguing that the photo opportunities "
    "staged at the launch event had mattered more to officials than the details of the plan itself, which "
    "they said would cut deliveries to the old market square by half during the busy summer months."
)
PROSE_SHORT_PHOTO = "The senator posed for a photo with students before the vote."
RELATED_LINE = (
    "The mayor said the plan would cut traffic (RELATED: Council Votes On Parking Fees) and clean the air."
)
TWEET_LINE = "What a day for cyclists pic.twitter.com/abc123 \u2014 Some Person (@handle) March 3, 2023"

ARTICLE = "\n".join(
    [
        "LONDON (Reuters) - The city council approved a new cycling plan on Tuesday.",
        "By Jane Smith, Example News",
        "Photo: Jane Doe/Agency",
        RELATED_LINE,
        PROSE_LONG,
        TWEET_LINE,
        "Read more: Five things to know about the new bike lanes",
        PROSE_SHORT_PHOTO,
        "Subscribe to our newsletter for the latest local news.",
        "\u00a9 2024 Some Media. All rights reserved.",
        "",
    ]
)


def _line_span(text: str, line: str) -> tuple[int, int]:
    start = text.index(line)
    return start, start + len(line)


def _masked(text: str, start: int, end: int, spans: list[Boilerplate]) -> bool:
    return all(in_spans(i, spans) for i in range(start, end))


def _untouched(text: str, start: int, end: int, spans: list[Boilerplate]) -> bool:
    return not any(in_spans(i, spans) for i in range(start, end))


def _kind_at(pos: int, spans: list[Boilerplate]) -> str:
    for s in spans:
        if s.start <= pos < s.end:
            return s.kind
    raise AssertionError(f"position {pos} is not masked")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Photo: Jane Doe/Agency", "credit"),
        ("\u00a9 2024 Some Media. All rights reserved.", "copyright"),
        ("Read more: Five things to know about the new bike lanes", "read-more"),
        (TWEET_LINE, "tweet"),
        ("Subscribe to our newsletter for the latest local news.", "prompt"),
    ],
)
def test_whole_boilerplate_lines_are_masked(line: str, kind: str) -> None:
    spans = find_boilerplate(ARTICLE)
    start, end = _line_span(ARTICLE, line)
    assert _masked(ARTICLE, start, end, spans)
    assert _kind_at(start, spans) == kind
    # the mask stops at the end of the line: the line break is not part of it
    assert ARTICLE[end] == "\n"
    assert not in_spans(end, spans)


def test_dateline_prefix_is_masked_but_the_sentence_is_not() -> None:
    spans = find_boilerplate(ARTICLE)
    prefix = "LONDON (Reuters) - "
    assert ARTICLE.startswith(prefix)
    assert spans[0] == Boilerplate(0, len(prefix), "dateline")
    rest_end = ARTICLE.index("\n")
    assert _untouched(ARTICLE, len(prefix), rest_end, spans)


def test_inline_related_parenthetical_is_masked_but_its_sentence_is_not() -> None:
    spans = find_boilerplate(ARTICLE)
    line_start, line_end = _line_span(ARTICLE, RELATED_LINE)
    paren = "(RELATED: Council Votes On Parking Fees)"
    p_start = ARTICLE.index(paren)
    p_end = p_start + len(paren)
    assert Boilerplate(p_start, p_end, "read-more") in spans
    assert _untouched(ARTICLE, line_start, p_start, spans)
    assert _untouched(ARTICLE, p_end, line_end, spans)


@pytest.mark.parametrize("prose", [PROSE_LONG, PROSE_SHORT_PHOTO])
def test_prose_lines_in_the_article_are_not_masked(prose: str) -> None:
    spans = find_boilerplate(ARTICLE)
    start, end = _line_span(ARTICLE, prose)
    assert _untouched(ARTICLE, start, end, spans)


@pytest.mark.parametrize("prose", [PROSE_1, PROSE_LONG, PROSE_SHORT_PHOTO])
def test_prose_alone_is_not_masked(prose: str) -> None:
    assert find_boilerplate(prose) == []
    assert find_boilerplate(prose + "\n" + prose) == []


def test_long_line_with_a_boilerplate_word_is_prose() -> None:
    # Over the short-line limit: a line is prose even if it says "copyright" or "subscribe".
    line = (
        "The court heard that the copyright on the song had lapsed decades ago, and that the band, which "
        "had asked fans to subscribe to a paid channel to hear the new version, had no claim to it at all, "
        "according to the judge who read the ruling aloud to a packed courtroom on Friday afternoon."
    )
    assert len(line) > 240
    assert find_boilerplate(line) == []
    short = "The copyright on the song lapsed."
    assert [b.kind for b in find_boilerplate(short)] == ["copyright"]


def test_standalone_tweet_signature_line() -> None:
    text = "Great news for the city!\n\u2014 Some Person (@handle) March 3, 2023\nThe council met again."
    spans = find_boilerplate(text)
    sig = "\u2014 Some Person (@handle) March 3, 2023"
    start, end = _line_span(text, sig)
    assert spans == [Boilerplate(start, end, "tweet")]


def test_inline_tweet_link_in_a_long_line() -> None:
    text = PROSE_LONG + " pic.twitter.com/xyz789 " + PROSE_1
    spans = find_boilerplate(text)
    link = text.index("pic.twitter.com/xyz789")
    assert spans == [Boilerplate(link, link + len("pic.twitter.com/xyz789"), "tweet")]


def test_byline_lower_case_by() -> None:
    text = "by Jane Smith, Example News\n" + PROSE_1
    assert find_boilerplate(text) == [Boilerplate(0, len("by Jane Smith, Example News"), "byline")]


def test_reporting_by_credit_line() -> None:
    text = PROSE_1 + "\nReporting by Jane Smith; Editing by Tom Lee"
    start = text.index("Reporting")
    assert find_boilerplate(text) == [Boilerplate(start, len(text), "byline")]


def test_byline_capitalised_by_is_masked() -> None:
    spans = find_boilerplate(ARTICLE)
    line = "By Jane Smith, Example News"
    start, end = _line_span(ARTICLE, line)
    assert _masked(ARTICLE, start, end, spans)
    assert _kind_at(start, spans) == "byline"


def test_crlf_line_endings_keep_offsets() -> None:
    text = PROSE_1 + "\r\nPhoto: Jane Doe/Agency\r\n" + PROSE_1
    start = text.index("Photo")
    assert find_boilerplate(text) == [Boilerplate(start, start + len("Photo: Jane Doe/Agency"), "credit")]


def test_empty_text() -> None:
    assert find_boilerplate("") == []
    assert find_boilerplate("\n\n  \n") == []


def test_in_spans() -> None:
    spans = [Boilerplate(2, 4, "x"), Boilerplate(7, 8, "y")]
    assert [i for i in range(10) if in_spans(i, spans)] == [2, 3, 7]
    assert not in_spans(0, [])


# --- properties -----------------------------------------------------------------------------------------

_LINES = st.sampled_from(
    [
        PROSE_1,
        PROSE_SHORT_PHOTO,
        "Photo: Jane Doe/Agency",
        "\u00a9 2024 Some Media. All rights reserved.",
        "Read more: Five things",
        "Subscribe to our newsletter",
        "by Jane Smith",
        "PARIS (AFP) - Talks resumed.",
        "Talks resumed (RELATED: Earlier talks) (READ MORE: Background) today.",
        "Nice pic.twitter.com/abc \u2014 A B (@ab) May 1, 2020",
        "Updated 10:00 GMT",
        "",
        "   ",
    ]
)
_TEXT = st.lists(_LINES, max_size=12).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\n\n"]).map(lambda sep: sep.join(lines))
) | st.text(max_size=120)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_spans_are_sorted_disjoint_and_within_the_text(text: str) -> None:
    spans = find_boilerplate(text)
    previous_end = 0
    for s in spans:
        assert previous_end <= s.start < s.end <= len(text)
        assert "\n" not in text[s.start : s.end]
        previous_end = s.end
