"""Tests of dedup.normalize: folding rules, the origin map back to the original text, and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalize import NormalizedText, normalize, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufb01nance", "finance"),  # NFKC: the fi ligature becomes two letters
        ("\ufb02ight", "flight"),
        ("Caf\u00e9 OWNER", "caf\u00e9 owner"),
        ("\u201cQuoted\u201d", '"quoted"'),
        ("it\u2019s \u2018so\u2019", "it's 'so'"),
        ("\u00abguillemets\u00bb", '"guillemets"'),
        ("a\u2014b", "a-b"),  # em dash
        ("a\u2013b", "a-b"),  # en dash
        ("\u22125", "-5"),  # minus sign
        ("x\u00a0y", "x y"),  # no-break space is white space
        ("\uff21\uff22\uff23", "abc"),  # full-width letters
        ("  lead and trail \t\n", "lead and trail"),
        ("one \t\n\n  two", "one two"),
        ("", ""),
        (" \t\n ", ""),
    ],
)
def test_folding(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected
    assert normalize_text(raw) == expected


def test_combined_folding_and_origin() -> None:
    raw = "The \ufb01nal \u201cWord\u201d \u2014 it\u2019s  done\t\n here "
    norm = normalize(raw)
    assert norm.text == 'the final "word" - it\'s done here'
    assert norm.original_length == len(raw)
    assert len(norm.origin) == len(norm.text)
    # both letters of the ligature point at the ligature
    fi = norm.text.index("fi")
    assert norm.origin[fi] == norm.origin[fi + 1] == raw.index("\ufb01")
    # the folded dash points at the em dash
    assert raw[norm.origin[norm.text.index("-")]] == "\u2014"
    # the single space between "done" and "here" comes from the first of the white-space run
    gap = norm.text.index("done") + len("done")
    assert norm.text[gap] == " "
    assert norm.origin[gap] == raw.index("done") + len("done")


def test_every_normalized_char_comes_from_an_original_char_that_produces_it() -> None:
    raw = "  \u201cHELLO\u201d \u2013 \ufb01ne\u00a0D\u00c9J\u00c0  vu\u2026 \u2212 12 "
    norm = normalize(raw)
    for i, ch in enumerate(norm.text):
        source = raw[norm.origin[i]]
        assert ch in normalize(source).text or (ch == " " and source.isspace()), (i, ch, source)


@pytest.mark.parametrize(
    ("raw", "word", "original"),
    [
        ("Said the \ufb01rst MINISTER", "first", "\ufb01rst"),
        ("Said the \ufb01rst MINISTER", "minister", "MINISTER"),
        ("a  \u201cQuote\u201d  here", '"quote"', "\u201cQuote\u201d"),
        ("\t\tIt\u2019s late", "it's", "It\u2019s"),
        ("pre\u2014post", "pre-post", "pre\u2014post"),
    ],
)
def test_to_original_of_a_token_gives_the_original_substring(raw: str, word: str, original: str) -> None:
    norm = normalize(raw)
    start = norm.text.index(word)
    s, e = norm.to_original(start, start + len(word))
    assert raw[s:e] == original


def test_to_original_empty_span() -> None:
    raw = "  Hello world"
    norm = normalize(raw)
    assert norm.to_original(0, 0) == (2, 2)
    assert norm.to_original(len(norm.text), len(norm.text)) == (len(raw), len(raw))


def test_result_type_is_frozen() -> None:
    norm = normalize("x")
    assert isinstance(norm, NormalizedText)
    with pytest.raises(AttributeError):
        norm.text = "y"  # type: ignore[misc]


# A mix of the characters the folding rules care about, plus arbitrary text.
_INTERESTING = st.sampled_from(
    list(
        "aA Zz1\t\n\r.,'\"-"
        "\u201c\u201d\u2018\u2019\u2014\u2013\u2212\ufb01\u00a0\u2028"
        "\u00c9\u0301\u200b\u00a8\u2474\u0130\u00df\uff21"
    )
)
_TEXT = st.lists(_INTERESTING, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_normalize_is_idempotent(raw: str) -> None:
    once = normalize(raw).text
    assert normalize(once).text == once


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_origin_is_monotone_and_in_range(raw: str) -> None:
    norm = normalize(raw)
    assert len(norm.origin) == len(norm.text)
    assert norm.original_length == len(raw)
    assert all(0 <= o < len(raw) for o in norm.origin)
    assert all(a <= b for a, b in itertools.pairwise(norm.origin))


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_whitespace_is_folded_and_stripped(raw: str) -> None:
    text = normalize(raw).text
    assert text == text.strip()
    assert "  " not in text
    assert all(c == " " or not c.isspace() for c in text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZ019 .,;'-\t\n")), max_size=60))
def test_plain_ascii_is_lowercased_with_spaces_folded(raw: str) -> None:
    assert normalize(raw).text == " ".join(raw.lower().split())
