"""Word tokens and sentences, each with offsets into the original text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dedup.normalize import NormalizedText, normalize

__all__ = ["Sentence", "Token", "split_sentences", "tokenize"]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

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
    norm = text if isinstance(text, NormalizedText) else normalize(text)
    out = []
    for m in _WORD.finditer(norm.text):
        start, end = norm.to_original(m.start(), m.end())
        out.append(Token(m.group(), start, end))
    return out


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
            if line[m.start()] == "." and m.group().startswith(".") and _is_abbreviation(line, m.start()):
                continue
            _append(sentences, line, line_start, cursor, punct_end, paragraph)
            cursor = m.end()
        _append(sentences, line, line_start, cursor, len(line), paragraph)
    return sentences


def _append(out: list[Sentence], line: str, offset: int, lo: int, hi: int, paragraph: int) -> None:
    while lo < hi and line[lo].isspace():
        lo += 1
    while hi > lo and line[hi - 1].isspace():
        hi -= 1
    if hi > lo:
        out.append(Sentence(offset + lo, offset + hi, paragraph))
