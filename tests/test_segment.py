"""Tests of dedup.segment: word tokens and sentence splitting, both with offsets into the original."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import normalize, normalize_text
from dedup.segment import Sentence, Token, split_sentences, tokenize


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


# --- tokenize -----------------------------------------------------------------------------------------


def test_tokens_are_normalised_words_with_original_offsets() -> None:
    text = "It\u2019s the \u201c\ufb01nal\u201d DEAL, Mr. Smith said."
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["it's", "the", "final", "deal", "mr", "smith", "said"]
    assert [text[t.start : t.end] for t in tokens] == [
        "It\u2019s",
        "the",
        "\ufb01nal",
        "DEAL",
        "Mr",
        "Smith",
        "said",
    ]
    assert all(isinstance(t, Token) for t in tokens)


def test_tokenize_splits_on_punctuation_and_underscore() -> None:
    text = "U.S.-led snake_case 3.5 well-known"
    assert [t.text for t in tokenize(text)] == ["u", "s", "led", "snake", "case", "3", "5", "well", "known"]


def test_tokenize_accepts_a_normalized_text() -> None:
    text = "  Hello   WORLD  "
    assert tokenize(normalize(text)) == tokenize(text) == [Token("hello", 2, 7), Token("world", 10, 15)]


def test_tokenize_empty_and_punctuation_only() -> None:
    assert tokenize("") == []
    assert tokenize(" ... -- !? ") == []


# --- split_sentences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The president met Mr. Smith on Tuesday.",
        "Officials in the U.S. Treasury declined to comment.",
        "John F. Kennedy was elected in 1960.",
        "Dr. Jones and Prof. Lee arrived at 9 a.m. The meeting began.",
        "Acme Inc. Reported higher sales.",
    ],
)
def test_abbreviations_and_initials_do_not_split(text: str) -> None:
    # "a.m." and "Inc." close abbreviations too, so nothing here splits
    assert _sentences(text) == [text]


def test_ordinary_full_stops_split() -> None:
    text = "The vote passed. Critics were unhappy! Will it last? Nobody knows\u2026 Time will tell."
    assert _sentences(text) == [
        "The vote passed.",
        "Critics were unhappy!",
        "Will it last?",
        "Nobody knows\u2026",
        "Time will tell.",
    ]


def test_lowercase_continuation_does_not_split() -> None:
    text = "The rate was 2.5 percent. and then it fell."
    assert _sentences(text) == [text]


def test_closing_quote_after_full_stop_stays_with_its_sentence() -> None:
    text = "\u201cWe will not give up,\u201d she said.\u201d Then the crowd cheered."
    assert _sentences(text) == ["\u201cWe will not give up,\u201d she said.\u201d", "Then the crowd cheered."]
    ascii_text = 'He said, "It is over." Then he left.'
    assert _sentences(ascii_text) == ['He said, "It is over."', "Then he left."]


def test_opening_quote_starts_a_new_sentence() -> None:
    text = "The minister spoke. \u201cThis is a good day,\u201d she said."
    assert _sentences(text) == ["The minister spoke.", "\u201cThis is a good day,\u201d she said."]


def test_newlines_always_split() -> None:
    text = "A headline without a full stop\nthe body starts lower-case\r\nand goes on"
    assert _sentences(text) == ["A headline without a full stop", "the body starts lower-case", "and goes on"]
    # even after an abbreviation
    assert _sentences("He met Mr.\nSmith") == ["He met Mr.", "Smith"]


def test_paragraphs_are_numbered_by_blank_lines() -> None:
    text = "\n\nFirst para. Still first.\nSame para, new line.\n\n  \nSecond para.\n\n\nThird para. More."
    sentences = split_sentences(text)
    got = [(text[s.start : s.end], s.paragraph) for s in sentences]
    assert got == [
        ("First para.", 0),
        ("Still first.", 0),
        ("Same para, new line.", 0),
        ("Second para.", 1),
        ("Third para.", 2),
        ("More.", 2),
    ]


def test_offsets_slice_the_original_exactly() -> None:
    text = "  Lead space.   Next one here.\t\n\n\u201cQuoted.\u201d  Trailing.   "
    sentences = split_sentences(text)
    assert sentences == [
        Sentence(2, 13, 0),
        Sentence(16, 30, 0),
        Sentence(33, 42, 1),
        Sentence(44, 53, 1),
    ]
    assert [text[s.start : s.end] for s in sentences] == [
        "Lead space.",
        "Next one here.",
        "\u201cQuoted.\u201d",
        "Trailing.",
    ]


def test_empty_and_blank_texts_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\n ") == []


# --- properties -----------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        *"aZx1. !?\n\t\"'()\u201d\u201c\u2019\u2026\u00a0\u2028\x0c",
        *["\r\n", " \n \n", "Mr. ", "U.S. ", "F. ", "The ", "said. ", "end.\u201d Then "],
    ]
)
_TEXT = st.lists(_PIECES, max_size=50).map("".join) | st.text(max_size=80)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_sentences_are_ordered_disjoint_trimmed_and_cover_the_text(text: str) -> None:
    sentences = split_sentences(text)
    previous_end, previous_paragraph = 0, 0
    for s in sentences:
        assert previous_end <= s.start < s.end <= len(text)
        chunk = text[s.start : s.end]
        assert chunk == chunk.strip()
        assert s.paragraph >= previous_paragraph
        previous_end, previous_paragraph = s.end, s.paragraph
    if sentences:
        assert sentences[0].paragraph == 0
    # nothing but white space falls between sentences
    covered = set()
    for s in sentences:
        covered.update(range(s.start, s.end))
    assert all(c.isspace() for i, c in enumerate(text) if i not in covered)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZ '.,;-\n\t")), max_size=60))
def test_token_text_is_the_normalised_original_slice(text: str) -> None:
    tokens = tokenize(text)
    for t in tokens:
        assert 0 <= t.start < t.end <= len(text)
        assert t.text == normalize_text(text[t.start : t.end])
    assert all(a.end <= b.start for a, b in itertools.pairwise(tokens))
    # the tokens are exactly the letter runs (with inner apostrophes) of the lower-cased text
    assert " ".join(t.text for t in tokens).replace("'", " ").split() == (
        "".join(c if c.isalpha() else " " for c in text.lower()).split()
    )
