"""Text normalisation for matching, with a map back to the original offsets.

Matching works on a normalised copy of the text: Unicode NFKC, lower case,
typographic quotes and dashes folded to ASCII, runs of white space folded to
one space. Everything dedup reports uses offsets into the text *as given*, so
the normalised text keeps, for each of its characters, the index of the
original character it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["NormalizedText", "normalize", "normalize_text"]

_QUOTES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2039": "'",
    "\u203a": "'",
}
_DASHES = {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"}
_FOLD = {**_QUOTES, **_DASHES}


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    """Normalise one character; the result may be empty or several characters."""
    out = ch
    for _ in range(4):  # iterate to a fixed point so that normalising twice changes nothing
        nxt = unicodedata.normalize("NFKC", out).lower()
        nxt = "".join(_FOLD.get(c, c) for c in nxt)
        nxt = "".join(" " if c.isspace() else c for c in nxt)
        nxt = "".join(c for c in nxt if unicodedata.category(c) not in ("Cc", "Cf") or c == " ")
        if nxt == out:
            break
        out = nxt
    return out


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalised text and, for each of its characters, the original index it came from."""

    text: str
    origin: tuple[int, ...]
    original_length: int

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of the normalised text back to a span of the original."""
        if start >= end:
            pos = self.origin[start] if start < len(self.origin) else self.original_length
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching and keep the map back to original offsets."""
    chars: list[str] = []
    origin: list[int] = []
    last_space = True  # drops leading white space
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        for c in folded:
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


def normalize_text(text: str) -> str:
    """The normalised string alone."""
    return normalize(text).text
