"""The fast normalise / tokenise / segment / mask / prepare paths give exactly what the plain ones did.

Each ``_reference_*`` function below is the straightforward implementation these modules had before
they were made fast (a Python loop per character, per token, per rule), kept here as the definition
the fast code must agree with on any text.
"""

from __future__ import annotations

import dataclasses
import re
import string

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup import boilerplate as bp
from dedup.article import Article
from dedup.boilerplate import Boilerplate, find_boilerplate, in_spans
from dedup.config import Config
from dedup.document import prepare
from dedup.minhash import shingles
from dedup.normalize import NormalizedText, _fold_char, normalize, normalize_text
from dedup.segment import Sentence, Token, make_tokens, split_sentences, tokenize, word_spans

# --- the reference implementations ------------------------------------------------------------------


def _reference_normalize(text: str) -> NormalizedText:
    chars: list[str] = []
    origin: list[int] = []
    last_space = True  # drops leading white space
    for i, ch in enumerate(text):
        for c in _fold_char(ch):
            if c == " ":
                if last_space:
                    continue
                last_space = True
            else:
                last_space = False
            chars.append(c)
            origin.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return NormalizedText("".join(chars), tuple(origin), len(text))


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _reference_tokenize(text: str | NormalizedText) -> list[Token]:
    norm = text if isinstance(text, NormalizedText) else _reference_normalize(text)
    out = []
    for m in _WORD.finditer(norm.text):
        start, end = norm.to_original(m.start(), m.end())
        out.append(Token(m.group(), start, end))
    return out


_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*\s+")
_OPENER = re.compile(r"[\"'\u201c\u2018\u00ab(\[]*[A-Z0-9\u00c0-\u024f]")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    no nos vol pp fig jan feb mar apr jun jul aug sep sept oct nov dec inc corp ltd co
    bros vs etc al approx dept est mt ft ave blvd rd univ""".split()
)


def _reference_is_abbreviation(line: str, dot: int) -> bool:
    j = dot
    while j > 0 and not line[j - 1].isspace() and line[j - 1] not in "\"'(\u201c\u2018":
        j -= 1
    word = line[j:dot]
    if not word:
        return False
    if "." in word:
        return True
    if len(word) == 1 and word.isalpha():
        return True
    return word.lower() in _ABBREVIATIONS


def _reference_append(out: list[Sentence], line: str, offset: int, lo: int, hi: int, paragraph: int) -> None:
    while lo < hi and line[lo].isspace():
        lo += 1
    while hi > lo and line[hi - 1].isspace():
        hi -= 1
    if hi > lo:
        out.append(Sentence(offset + lo, offset + hi, paragraph))


def _reference_split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    paragraph = -1
    pos = 0
    blank_before = True
    for line in text.splitlines(keepends=True):
        line_start = pos
        pos += len(line)
        stripped = line.strip()
        if not stripped:
            blank_before = True
            continue
        if blank_before or paragraph < 0:
            paragraph += 1
        blank_before = False
        cursor = 0
        for m in _BOUNDARY.finditer(line):
            punct_end = m.start() + len(m.group().rstrip())
            if m.end() >= len(line.rstrip()):
                break
            if not _OPENER.match(line, m.end()):
                continue
            if (
                line[m.start()] == "."
                and m.group().startswith(".")
                and _reference_is_abbreviation(line, m.start())
            ):
                continue
            _reference_append(sentences, line, line_start, cursor, punct_end, paragraph)
            cursor = m.end()
        _reference_append(sentences, line, line_start, cursor, len(line), paragraph)
    return sentences


def _reference_is_timestamp(line: str) -> bool:
    if len(line) > 120 or not bp._CLOCK.search(line):
        return False
    words = re.findall(r"[^\W\d_]+", line)
    return sum(1 for w in words if not bp._STAMP_WORDS.match(w)) <= 2


def _reference_line_kind(line: str) -> str | None:
    if bp._TWEET_EMBED.search(line):
        return "tweet"
    if _reference_is_timestamp(line):
        return "timestamp"
    if len(line) > bp._SHORT:
        return None
    for kind, rule in bp._LINE_RULES:
        if rule.search(line):
            return kind
    return None


def _reference_find_boilerplate(text: str) -> list[Boilerplate]:
    """Every rule tried on every line: the same rules, without the needles that skip most of them."""
    found: list[Boilerplate] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start, body = pos, line.rstrip("\r\n")
        pos += len(line)
        if not body.strip():
            continue
        kind = _reference_line_kind(body)
        if kind is not None:
            found.append(Boilerplate(start, start + len(body), kind))
            continue
        for kind, rule in bp._PREFIX_RULES:
            m = rule.match(body)
            if m and m.end() < len(body):
                found.append(Boilerplate(start + m.start(), start + m.end(), kind))
                break
        for kind, rule in bp._INLINE_RULES:
            for m in rule.finditer(body):
                found.append(Boilerplate(start + m.start(), start + m.end(), kind))
    return bp._merge(found)


def _expand_left(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos > limit and not text[pos - 1].isspace() and not in_spans(pos - 1, masked):
        pos -= 1
    return pos


def _expand_right(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos < limit and not text[pos].isspace() and not in_spans(pos, masked):
        pos += 1
    return pos


def _reference_prepare(text: str, config: Config) -> dict[str, object]:
    masked = _reference_find_boilerplate(text)
    all_tokens = _reference_tokenize(_reference_normalize(text))
    split = _reference_split_sentences(text)
    tokens: list[Token] = []
    blocks: list[int] = []
    block = 0
    si = 0
    for tok in all_tokens:
        if in_spans(tok.start, masked):
            if tokens and blocks[-1] >> 20 == block:
                block += 1
            continue
        while si < len(split) and split[si].end <= tok.start:
            si += 1
        tokens.append(tok)
        blocks.append((block << 20) | si)
    sentences: list[Sentence] = []
    ranges: list[tuple[int, int]] = []
    ti = 0
    for s in split:
        while ti < len(tokens) and tokens[ti].start < s.start:
            ti += 1
        lo = ti
        while ti < len(tokens) and tokens[ti].start < s.end:
            ti += 1
        if ti - lo >= config.segment.min_sentence_tokens:
            first, last = tokens[lo], tokens[ti - 1]
            start = max(s.start, _expand_left(text, first.start, s.start, masked))
            end = min(s.end, _expand_right(text, last.end, s.end, masked))
            sentences.append(Sentence(start, end, s.paragraph))
            ranges.append((lo, ti))
    content = sum(1 for ch in text if not ch.isspace()) - sum(
        sum(1 for ch in text[b.start : b.end] if not ch.isspace()) for b in masked
    )
    words = [t.text for t in tokens]
    return {
        "tokens": tokens,
        "token_block": blocks,
        "sentences": sentences,
        "sentence_tokens": ranges,
        "boilerplate": masked,
        "content_chars": max(content, 1),
        "doc_shingles": shingles(words, config.minhash.doc_shingle),
        "sentence_shingles": [shingles(words[lo:hi], config.minhash.passage_shingle) for lo, hi in ranges],
    }


# --- texts ----------------------------------------------------------------------------------------------

# Characters the folding rules care about: quotes, dashes, white space of every kind, ligatures,
# full-width and compatibility forms, combining marks, control and format characters, capital
# sigma (whose str.lower depends on its neighbours), dotted I (whose lower case is two characters),
# astral characters, and the non-ASCII letters that IGNORECASE matches to ASCII ones.
_CHARS = list(
    "aAzZ019 .,;:!?'\"-`_()[]/@#\t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u1680\u2000\u2009\u200a\u2028\u2029"
    "\u202f\u205f\u3000\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a\u2032\u2033"
    "\u00b4\u2010\u2011\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2026\ufb01\ufb02\ufb03\u0132\u01c4"
    "\uff21\uff41\uff10\u2474\u2460\u00b2\u00bd\u00bc\u2044\u00a8\u00b8\u0301\u0308\u0327\u00e9\u00c9"
    "\u00df\u1e9e\u0130\u0131\u017f\u212a\u212b\u03a3\u03c3\u03c2\u0391\u0410\u0436\u05d0\u0627\u4e2d"
    "\uac00\u3042\u00ad\u200b\u200c\u200d\u2060\ufeff\x00\x01\x07\x1b\x7f\u0080\u009f\ue000"
    "\U0001f600\U0001f44d\U0001d400\U0001d7ce\u00a9\u00ae\u2122\u20ac\u00a3"
)
_WORDS = [
    "The ",
    "minister ",
    "said. ",
    "Mr. ",
    "U.S. ",
    "F. ",
    "it's ",
    "don''t ",
    "'quoted' ",
    "\u201cQuote,\u201d ",
    "end.\u201d Then ",
    "Who? ",
    "Yes! ",
    "well\u2014known ",
    "\u00abnon\u00bb ",
    "\ufb01nal ",
    "\u03a3\u039f\u03a3 ",
    "\u0130stanbul ",
    "caf\u00e9 ",
    "snake_case ",
    "3.5 ",
    "12:30 p.m. GMT ",
    "\r\n",
    "\n\n",
    "\n",
    "  ",
]
_BOILERPLATE = [
    "Photo: Jane Doe/Agency",
    "PHOTO BY someone",
    "Credit: AP",
    "(AP Photo/Evan Vucci)",
    "Some caption / Reuters",
    "Getty Images",
    "\u00a9 2024 Some Media. All rights reserved.",
    "(c) 2024",
    "Copyright",
    "Read more: Five things",
    "READ ALSO: x",
    "Related articles",
    "Subscribe to our newsletter",
    "Already a subscriber? Log in",
    "Click here",
    "Follow us",
    "Advertisement",
    "We use cookies",
    "By Jane Smith, Example News",
    "Reporting by John Doe; Editing by Jane Roe",
    "Posted: March 3, 2023",
    "Updated on Monday",
    "Published 10:45 a.m. EST, March 3",
    "Date: 2024-01-02T10:00:00Z The text",
    "LONDON (Reuters) - The council met.",
    "What a day pic.twitter.com/abc123 \u2014 Some Person (@handle) March 3, 2023",
    "see https://t.co/xyz1 now",
    "The mayor spoke (RELATED: Council Votes) and left.",
    "s\u017fubscribe \u212aelvin P\u0130C.TW\u0130TTER.COM/x \u0131 \u017fign up",
]
_PIECES = st.sampled_from(_CHARS) | st.sampled_from(_WORDS) | st.sampled_from(_BOILERPLATE)


def _mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if i < len(flips) and flips[i] else c for i, c in enumerate(text))


_TEXT = (
    st.lists(_PIECES, max_size=60).map("".join)
    | st.text(max_size=80)
    | st.text(alphabet=st.sampled_from(_CHARS), max_size=80)
    | st.tuples(st.lists(_PIECES, max_size=40).map("".join), st.lists(st.booleans(), max_size=200)).map(
        lambda t: _mixed_case(*t)
    )
)
_EXAMPLES = [
    "",
    " \t\n ",
    "The \ufb01nal \u201cWord\u201d \u2014 it\u2019s  done\t\n here ",
    "\u03a3\u039f\u03a3 \u039f\u0394\u039f\u03a3\u03a3",
    "\u0130\u0130\u0130 i\u0307",
    "\x00\x01a\u200bb\u00adc",
    "\u00bc \u00a8x \u2474",
    "a\r\nb\rc\u2028d\u2029e\x85f",
    "\uff21\uff22\uff23 \U0001f600 \U0001d400",
    "Photo: x\n\u00a9 2024\nBy Jane Smith\nThe minister said. Then he left.",
]


# --- normalize ------------------------------------------------------------------------------------------


def _same_normalized(a: NormalizedText, b: NormalizedText) -> None:
    assert a.text == b.text
    assert a.origin == b.origin
    assert a.original_length == b.original_length
    assert a == b


@settings(max_examples=1500, deadline=None)
@given(_TEXT)
def test_normalize_is_the_per_character_definition(text: str) -> None:
    got = normalize(text)
    _same_normalized(got, _reference_normalize(text))
    assert type(got.origin) is tuple
    assert all(type(o) is int for o in got.origin)
    assert normalize_text(text) == got.text


@pytest.mark.parametrize("text", _EXAMPLES)
def test_normalize_examples(text: str) -> None:
    _same_normalized(normalize(text), _reference_normalize(text))
    assert normalize_text(text) == _reference_normalize(text).text


def test_normalize_each_character_of_the_precomputed_ranges() -> None:
    # each character that may be taken as plain: alone, and next to a capital letter and white space
    for code in [*range(0x0000, 0x0590), *range(0x1E00, 0x20D0), 0x3000, 0xFB01]:
        for text in (chr(code), f"A{chr(code)} B", f" {chr(code)}{chr(code)}x "):
            _same_normalized(normalize(text), _reference_normalize(text))


def test_normalized_text_still_hashes_and_compares() -> None:
    a, b = normalize("Hello \u201cWorld\u201d"), normalize("Hello \u201cWorld\u201d")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


# --- tokenize and split_sentences -----------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(_TEXT)
def test_tokenize_is_the_reference(text: str) -> None:
    expected = _reference_tokenize(text)
    assert tokenize(text) == expected
    assert tokenize(normalize(text)) == expected
    words, starts, ends = word_spans(text)
    assert (words, starts, ends) == (
        [t.text for t in expected],
        [t.start for t in expected],
        [t.end for t in expected],
    )
    assert all(type(v) is int for v in starts + ends)


@pytest.mark.parametrize("text", _EXAMPLES)
def test_tokenize_examples(text: str) -> None:
    assert tokenize(text) == _reference_tokenize(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from([*string.ascii_letters, *string.digits, *"'' _-.\x00`\t\n"]), max_size=60
    )
)
def test_ascii_words_are_the_regex_words(text: str) -> None:
    assert tokenize(text) == _reference_tokenize(text)


def test_make_tokens_makes_ordinary_tokens() -> None:
    tokens = make_tokens(["a", "bc"], [0, 2], [1, 4])
    assert tokens == [Token("a", 0, 1), Token("bc", 2, 4)]
    assert all(type(t) is Token for t in tokens)
    assert hash(tokens[1]) == hash(Token("bc", 2, 4))
    assert repr(tokens[0]) == "Token(text='a', start=0, end=1)"
    with pytest.raises(AttributeError):
        tokens[0].start = 5  # type: ignore[misc]
    assert make_tokens([], [], []) == []


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_split_sentences_is_the_reference(text: str) -> None:
    assert split_sentences(text) == _reference_split_sentences(text)


# --- boilerplate ----------------------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(_TEXT)
def test_find_boilerplate_is_the_reference(text: str) -> None:
    assert find_boilerplate(text) == _reference_find_boilerplate(text)


_RULES = [
    *bp._LINE_RULES,
    *bp._INLINE_RULES,
    ("tweet", bp._TWEET_EMBED),
    ("timestamp", bp._CLOCK),
]


@settings(max_examples=1500, deadline=None)
@given(_TEXT)
def test_a_line_a_rule_matches_holds_one_of_its_needles(text: str) -> None:
    for line in [text, *text.splitlines()]:
        hay = bp._hay(line)
        for _, rule in _RULES:
            if rule.search(line):
                assert bp._may_match(bp._needles(rule), line, hay), (rule.pattern, line)


@pytest.mark.parametrize(("kind", "rule"), _RULES)
def test_rules_match_their_boilerplate_only_with_a_needle(kind: str, rule: re.Pattern[str]) -> None:
    for line in _BOILERPLATE:
        for variant in (line, line.upper(), line.lower(), line.swapcase()):
            if rule.search(variant):
                assert bp._may_match(bp._needles(rule), variant, bp._hay(variant)), (rule.pattern, variant)


def test_the_costly_rules_have_needles() -> None:
    # Without needles every prose line is searched with every rule (still correct, several times slower).
    costly = [bp._TWEET_EMBED, bp._CLOCK, *(r for _, r in bp._INLINE_RULES)]
    costly += [r for kind, r in bp._LINE_RULES if kind in ("tweet", "credit", "copyright", "prompt")]
    for rule in costly:
        assert bp._needles(rule)[0], rule.pattern


@pytest.mark.parametrize(
    ("pattern", "flags", "needles"),
    [
        (r"\bsubscribe\b|click (?:here|the)", re.I, ("click ", "subscribe")),
        (r"ab(?:c|d)?e", 0, ("ab",)),
        (r"(?:x|)abc", re.I, ("abc",)),
        (r"x+|abc", re.I, None),  # an alternative with no literal: no needles
        (r"(?=abc)", 0, None),
        (r"(?-i:ABC)def", re.I, ("def",)),  # scoped flags are not looked into
        (r"\u00a9|\(c\)", re.I, ("(c)", "\u00a9")),  # caseless non-ASCII is kept
        (r"\u212a", re.I, None),  # the Kelvin sign matches "k": not a needle
        (r"ABC", 0, ("ABC",)),
        (r"ABC", re.I, ("abc",)),
    ],
)
def test_needles_of_patterns(pattern: str, flags: int, needles: tuple[str, ...] | None) -> None:
    assert bp._needles(re.compile(pattern, flags)) == (needles, bool(flags & re.I))


# --- prepare --------------------------------------------------------------------------------------------

_CONFIG = Config()


# Sentences shorter than a passage shingle, and shingles of one word.
_OTHER_CONFIGS = [
    dataclasses.replace(
        _CONFIG,
        segment=dataclasses.replace(_CONFIG.segment, min_sentence_tokens=1),
        minhash=dataclasses.replace(_CONFIG.minhash, passage_shingle=p, doc_shingle=d),
    )
    for p, d in ((6, 2), (1, 1))
]


def _check_prepare(text: str, config: Config = _CONFIG) -> None:
    expected = _reference_prepare(text, config)
    doc = prepare(Article("a", text), 3, config)
    got = {key: getattr(doc, key) for key in expected}
    # shingles are kept as arrays (sorted and distinct for the article): the same sets as the reference's
    assert bool(np.all(doc.doc_shingles[1:] > doc.doc_shingles[:-1]))
    got["doc_shingles"] = set(got["doc_shingles"].tolist())
    got["sentence_shingles"] = [set(x.tolist()) for x in got["sentence_shingles"]]
    # tokens are kept as arrays and one string of words: the same tokens, blocks and words
    assert doc.token_block.dtype == np.int64 and doc.token_starts.dtype == doc.token_ends.dtype == np.int32
    assert doc.token_starts.tolist() == [t.start for t in expected["tokens"]]
    got["token_block"] = doc.token_block.tolist()
    assert got == expected
    assert doc.order == 3
    words = [t.text for t in expected["tokens"]]
    for s, (lo, hi) in enumerate(doc.sentence_tokens):
        assert doc.sentence_words(s) == words[lo:hi]
        assert doc.sentence_key_text(s) == " ".join(words[lo:hi])
    assert all(type(v) is int for r in doc.sentence_tokens for v in r)
    assert all(type(v) is int for s in doc.sentences for v in (s.start, s.end, s.paragraph))


@settings(max_examples=1000, deadline=None)
@given(_TEXT.filter(lambda t: t.strip() != ""))
@example("Photo: x\n\u00a9 2024\nBy Jane Smith\nThe minister said today. Then he left the room at once.")
@example("The minister said it (RELATED: Council Votes On Fees) and left the room at once.")
def test_prepare_is_the_reference(text: str) -> None:
    _check_prepare(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WORDS[:20] + _BOILERPLATE), min_size=20, max_size=120).map("".join))
def test_prepare_is_the_reference_on_long_texts(text: str) -> None:
    _check_prepare(text)


@settings(max_examples=300, deadline=None)
@given(_TEXT.filter(lambda t: t.strip() != ""), st.sampled_from(_OTHER_CONFIGS))
def test_prepare_is_the_reference_with_other_shingle_sizes(text: str, config: Config) -> None:
    _check_prepare(text, config)
