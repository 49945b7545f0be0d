"""Word tokens and sentences, each with offsets into the original text."""

from __future__ import annotations

import functools
import re
from collections import deque
from dataclasses import dataclass, fields
from itertools import accumulate, repeat

import numpy as np

from dedup.normalize import NormalizedText, _fold

__all__ = ["Sentence", "Token", "split_sentences", "tokenize"]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The same, captured: ``split`` then gives the gaps and the words in turn, with no Python per word.
_WORD_SPLIT = re.compile(f"({_WORD.pattern})")

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    no nos vol pp fig jan feb mar apr jun jul aug sep sept oct nov dec inc corp ltd co
    bros vs etc al approx dept est mt ft ave blvd rd univ""".split()
)
# A boundary candidate: end punctuation, optional closing quotes or brackets, then space.
_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*\s+")
_OPENER = re.compile(r"[\"'\u201c\u2018\u00ab(\[]*[A-Z0-9\u00c0-\u024f]")


@dataclass(frozen=True, slots=True)
class Token:
    """A word in normalised form, with its half-open span in the original text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence's half-open span in the original text and its paragraph number."""

    start: int
    end: int
    paragraph: int


def tokenize(text: str | NormalizedText) -> list[Token]:
    """Split a text into normalised word tokens that point back into the original."""
    if isinstance(text, NormalizedText):
        words, starts, ends = _words(text.text)
        if words:
            origin = text.origin
            starts = list(map(origin.__getitem__, starts))
            ends = list(map((1).__add__, map(origin.__getitem__, map((-1).__add__, ends))))
    else:
        words, starts, ends = word_spans(text)
    return make_tokens(words, starts, ends)


# ASCII letters and digits: what [^\W_] matches in ASCII text.
_ASCII_ALNUM = np.array([chr(c).isalnum() for c in range(128)], dtype=bool)


def _words(text: str) -> tuple[list[str], list[int], list[int]]:
    """The words of an already folded ``text`` and their half-open spans in it."""
    if text.isascii():
        return _ascii_words(text)
    parts = _WORD_SPLIT.split(text)
    if len(parts) == 1:
        return [], [], []
    bounds = list(accumulate(map(len, parts)))
    return parts[1::2], bounds[0:-1:2], bounds[1::2]


def _ascii_words(text: str) -> tuple[list[str], list[int], list[int]]:
    """``_words`` of an ASCII text, with array operations: a word is a run of letters and digits,
    with an apostrophe inside it joining two such runs ("don't")."""
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    alnum = _ASCII_ALNUM[codes]
    in_word = alnum.copy()
    in_word[1:-1] |= (codes[1:-1] == 39) & alnum[:-2] & alnum[2:]
    edges = np.flatnonzero(np.diff(in_word, prepend=False, append=False))
    masked = codes.copy()
    masked[~in_word] = 32
    return masked.tobytes().decode("ascii").split(), edges[0::2].tolist(), edges[1::2].tolist()


def word_spans(text: str) -> tuple[list[str], list[int], list[int]]:
    """The normalised words of ``text`` and their half-open spans in ``text``: what ``tokenize``
    gives, as three lists. Words never contain white space, so they are found in the folded text
    before its white space is collapsed, where offsets still map to the original directly."""
    folded, origin = _fold(text)
    words, starts, ends = _words(folded)
    if origin is not None and words:
        starts = origin[starts].tolist()
        ends = (origin[np.asarray(ends) - 1] + 1).tolist()
    return words, starts, ends


# Tokens are made by setting their slots directly (what the frozen dataclass's __init__ does
# through object.__setattr__), in C-level loops: several times faster than calling Token.
# Should Token gain a field or a __post_init__, this falls back to calling it.
_SLOTS_ONLY = tuple(f.name for f in fields(Token)) == ("text", "start", "end") and not hasattr(
    Token, "__post_init__"
)
_new = object.__new__
_set_text = Token.__dict__["text"].__set__  # the slots' member descriptors
_set_start = Token.__dict__["start"].__set__
_set_end = Token.__dict__["end"].__set__


def make_tokens(words: list[str], starts: list[int], ends: list[int]) -> list[Token]:
    """``[Token(w, s, e) for w, s, e in zip(words, starts, ends)]``, faster."""
    if not _SLOTS_ONLY:
        return list(map(Token, words, starts, ends))
    tokens = list(map(_new, repeat(Token, len(words))))
    deque(map(_set_text, tokens, words), 0)
    deque(map(_set_start, tokens, starts), 0)
    deque(map(_set_end, tokens, ends), 0)
    return tokens


def _is_abbreviation(line: str, dot: int) -> bool:
    """Whether the full stop at ``line[dot]`` closes an abbreviation rather than a sentence."""
    j = dot
    while j > 0 and not line[j - 1].isspace() and line[j - 1] not in "\"'(\u201c\u2018":
        j -= 1
    word = line[j:dot]
    if not word:
        return False
    if "." in word:  # U.S., a.m., e.g.
        return True
    if len(word) == 1 and word.isalpha():  # initials: John F. Kennedy
        return True
    return word.lower() in _ABBREVIATIONS


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences. Line breaks always end a sentence."""
    return list(_split_sentences(text))


@functools.lru_cache(maxsize=4)
def _split_sentences(text: str) -> tuple[Sentence, ...]:
    """``split_sentences``, kept for the last few texts: preparing an article and finding its citations
    split the same text one after the other (sentences are frozen, so they may be shared)."""
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
        content_end = len(line.rstrip())
        for m in _BOUNDARY.finditer(line):
            if m.end() >= content_end:
                break
            if not _OPENER.match(line, m.end()):
                continue
            if line[m.start()] == "." and _is_abbreviation(line, m.start()):
                continue
            punct_end = m.start() + len(m.group().rstrip())
            _append(sentences, line, line_start, cursor, punct_end, paragraph)
            cursor = m.end()
        _append(sentences, line, line_start, cursor, len(line), paragraph)
    return tuple(sentences)


def _append(out: list[Sentence], line: str, offset: int, lo: int, hi: int, paragraph: int) -> None:
    while lo < hi and line[lo].isspace():
        lo += 1
    while hi > lo and line[hi - 1].isspace():
        hi -= 1
    if hi > lo:
        out.append(Sentence(offset + lo, offset + hi, paragraph))
