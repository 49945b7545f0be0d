"""Quoted speech: the stretches of an article inside quotation marks.

Text inside quotation marks is someone else's words: a speaker's, or another
publication's. Two articles that share it share a source, not each other's
text, so relation and derivation treat shared quotes apart from shared prose.

What counts as a quotation mark:

- curly double quotes: an opening U+201C and a closing U+201D (the German
  U+201E opens too, and a U+201C closes it);
- straight double quotes, which alternate: the first opens, the next closes;
- guillemets (U+00AB, U+00BB), either way round;
- curly single quotes as the British press uses them: U+2018 opens when a
  letter or digit follows it and no letter comes right before it; U+2019
  then closes when no letter or digit follows it. A U+2019 with no open
  single quote, or between two letters, is an apostrophe.

A quotation ends at its closing mark or, left open, at the end of its
paragraph (a line break): news style leaves a quote that runs over several
paragraphs open at the end of each and opens it again at the start of the
next, and a stray mark must not turn the rest of an article into a quote.
"""

from __future__ import annotations

import re

__all__ = ["quoted_spans"]

_MARKS = re.compile(r"[\"“”„«»‘’\n]")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Half-open character spans of ``text`` inside quotation marks, the marks included, sorted and
    disjoint. An empty pair of marks gives no span."""
    spans: list[tuple[int, int]] = []
    double: int | None = None  # where the open double (or guillemet) quotation starts
    opener = ""  # and the mark that opened it
    single: int | None = None  # where the open single quotation starts

    def close(start: int | None, end: int) -> None:
        if start is not None and end - start > 2:
            spans.append((start, end))

    for m in _MARKS.finditer(text):
        ch, at = m.group(), m.start()
        if ch == "\n":  # a paragraph ends every quotation left open
            close(double, at)
            close(single, at)
            double = single = None
        elif ch in "“„":
            if double is None:
                double, opener = at, ch
            elif opener == "„" and ch == "“":  # German: „ opens, “ closes
                close(double, at + 1)
                double = None
        elif ch == "”":
            if double is not None:
                close(double, at + 1)
                double = None
        elif ch == '"' or ch in "«»":
            if double is None:
                double, opener = at, ch
            else:
                close(double, at + 1)
                double = None
        elif ch == "‘":
            before = text[at - 1] if at else " "
            after = text[at + 1] if at + 1 < len(text) else " "
            if single is None and double is None and after.isalnum() and not before.isalpha():
                single = at
        else:  # ’: closes an open single quotation unless it is an apostrophe ("don’t", "Jones’ car")
            after = text[at + 1] if at + 1 < len(text) else " "
            if single is not None and not after.isalnum():
                close(single, at + 1)
                single = None
    close(double, len(text))
    close(single, len(text))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
