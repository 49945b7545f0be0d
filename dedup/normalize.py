"""Text normalisation for matching, with a map back to the original offsets.

Matching works on a normalised copy of the text: Unicode NFKC, lower case,
typographic quotes and dashes folded to ASCII, runs of white space folded to
one space. Everything dedup reports uses offsets into the text *as given*, so
the normalised text keeps, for each of its characters, the index of the
original character it came from.

Normalisation is defined character by character (``_fold_char``), but is not
computed that way: almost every character of a news text is "plain", meaning
its fold is its own one-character lower case, so the text is lowered in one
``str.lower`` call and only the other characters (quotes, dashes, ligatures,
control characters, ...) are folded one by one. The origin map is built with
numpy from the lengths of those folds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["NormalizedText", "fold_text", "normalize", "normalize_text"]

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


# --- the fast path ------------------------------------------------------------------------------------
#
# A character is *plain* if it is white space, or if its fold is its own lower case and that is one
# character. A run of plain characters is folded by ``str.lower`` (white space is left for the caller
# to collapse: its fold is always one space) and keeps its length, so offsets in it map one to one.
# Capital sigma is never plain: ``str.lower`` gives it a context-dependent final form, which the
# per-character fold does not. Plainness is computed once, from ``_fold_char`` itself, for the
# scripts news is mostly written in; any other character simply takes the per-character path.

_PLAIN_RANGES = ((0x0000, 0x0590), (0x1E00, 0x20D0))  # Latin, Greek, Cyrillic; punctuation
_WS_LIMIT = 0x3001  # every white-space character is below this


def _is_plain(ch: str) -> bool:
    if ch.isspace():
        return _fold_char(ch) == " " and ch.lower() == ch
    low = ch.lower()
    return ch != "\u03a3" and len(low) == 1 and low != " " and _fold_char(ch) == low


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _char_class(codes: list[int]) -> str:
    """A regular-expression character-class body for the sorted code points ``codes``."""
    out: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(_escape(codes[i]) if i == j else f"{_escape(codes[i])}-{_escape(codes[j])}")
        i = j + 1
    return "".join(out)


def _build_tables() -> tuple[re.Pattern[str], np.ndarray]:
    spaces = [i for i in range(_WS_LIMIT) if chr(i).isspace()]
    plain = sorted(
        {i for lo, hi in _PLAIN_RANGES for i in range(lo, hi) if _is_plain(chr(i))}
        | {i for i in spaces if _is_plain(chr(i))}
    )
    special = re.compile(f"([^{_char_class(plain)}])")
    is_space = np.zeros(_WS_LIMIT + 1, dtype=bool)  # the last entry stands for everything above
    is_space[spaces] = True
    return special, is_space


_SPECIAL, _IS_SPACE = _build_tables()


def _fold(text: str) -> tuple[str, np.ndarray | None]:
    """Fold every character of ``text`` (white space is left as it is, to be collapsed by the caller).

    Returns the folded string and, for each of its characters, the index in ``text`` it came from,
    or None when that is the identity (every character folded to exactly one).
    """
    parts = _SPECIAL.split(text)
    if len(parts) == 1:
        return text.lower(), None
    plain = parts[0::2]
    folds = list(map(_fold_char, parts[1::2]))
    parts[0::2] = map(str.lower, plain)
    parts[1::2] = folds
    folded = "".join(parts)
    if all(map((1).__eq__, map(len, folds))):
        return folded, None
    # Each special character sits after the plain run before it; it becomes len(fold) characters.
    positions = np.cumsum(np.fromiter(map(len, plain[:-1]), dtype=np.intp, count=len(folds)))
    positions += np.arange(len(folds))
    repeats = np.ones(len(text), dtype=np.intp)
    repeats[positions] = np.fromiter(map(len, folds), dtype=np.intp, count=len(folds))
    return folded, np.repeat(np.arange(len(text), dtype=np.intp), repeats)


def _collapse(folded: str, origin: np.ndarray | None) -> tuple[str, np.ndarray]:
    """Collapse the white-space runs of a folded text to one space, strip it, and carry the origins."""
    if not folded:
        return "", np.zeros(0, dtype=np.intp)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32)
    space = _IS_SPACE[np.minimum(codes, _WS_LIMIT)]
    keep = np.ones(len(codes), dtype=bool)
    # A space is dropped after another space and at the start; of each run the first one stays.
    keep[0] = not space[0]
    np.logical_not(space[1:] & space[:-1], out=keep[1:])
    kept = np.flatnonzero(keep)
    if len(kept) and space[kept[-1]]:
        kept = kept[:-1]  # a trailing run left one space
    return " ".join(folded.split()), kept if origin is None else origin[kept]


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
    if not text:
        return NormalizedText("", (), 0)
    out, origin = _collapse(*_fold(text))
    return NormalizedText(out, tuple(origin.tolist()), len(text))


def fold_text(text: str) -> str:
    """Every character normalised but white space left as it is (not collapsed or stripped): the same
    words as ``normalize_text``, cheaper, for callers that only cut the text into words."""
    return _fold(text)[0]


def normalize_text(text: str) -> str:
    """The normalised string alone: ``normalize(text).text``, without the origin map."""
    return " ".join(_fold(text)[0].split())
