"""News boilerplate that must not count as reuse.

Credit and copyright lines, "Read more" teasers, embedded tweets, picture
credits, bylines, datelines, subscription prompts: two articles that share
them have not copied each other. They are *masked* (reported as spans that
matching skips), never deleted, so every offset still points into the text as
given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Boilerplate", "find_boilerplate", "in_spans"]

_I = re.IGNORECASE
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"

# Whole lines that are boilerplate, by kind. A line must also be short (see _SHORT).
_LINE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("tweet", re.compile(r"pic\.twitter\.com/|https?://t\.co/", _I)),
    (
        "tweet",
        re.compile(
            r"^\s*[\u2014\u2013-]+\s*[^\n]{0,80}\(@\w+\)\s*" + _MONTH + r"\s+\d{1,2},\s+\d{4}\s*$", _I
        ),
    ),
    (
        "credit",
        re.compile(
            r"^\s*(?:photo|image|picture|credit|photograph|video|illustration|graphic|caption)s?"
            r"\s*(?:credit)?\s*(?::|by\b)",
            _I,
        ),
    ),
    (
        "credit",
        re.compile(
            r"credit:|\((?:AP|AFP|Reuters|Getty)[^)]*photo|/\s*(?:AP|AFP|Reuters|Getty Images)\s*$"
            r"|getty images|shutterstock|\bphoto:",
            _I,
        ),
    ),
    ("copyright", re.compile(r"\u00a9|\(c\)\s*\d{4}|\bcopyright\b|all rights reserved", _I)),
    (
        "read-more",
        re.compile(
            r"^\s*(?:read|see|watch|listen|related|recommended|more)\s*(?:more|also|next|this)?\s*:"
            r"|^\s*read\s+(?:more|also|next)\b|^\s*read\s{2,}\S|^\s*related\s+(?:articles?|stories|coverage)\b",
            _I,
        ),
    ),
    (
        "prompt",
        re.compile(
            r"\bsubscribe\b|\bsubscriber|\bsign (?:up|in)\b|\blog ?in\b|\bnewsletter\b|click (?:here|the)"
            r"|follow (?:us|topics)|\bshare this\b|\badvertisement\b|\bcookies?\b|already (?:a )?"
            r"(?:subscriber|signed up)",
            _I,
        ),
    ),
    (
        "byline",
        re.compile(
            r"^\s*[Bb][Yy]\s+[A-Z][\w.'\u2019-]+(?:\s+(?:[A-Z][\w.'\u2019-]+|de|van|von|al|bin))*"
            r"(?:\s*(?:,|and|&|\|)\s*[^\n]{0,80})?\s*$"
        ),
    ),
    ("byline", re.compile(r"^\s*(?:reporting|writing|editing|additional reporting)\s+by\b", _I)),
    (
        "dateline",
        re.compile(
            r"^\s*(?:first\s+)?(?:posted|published|updated|last updated)\s*(?::|on\b|at\b)?\s*"
            r"(?:" + _MONTH + r"|\d{1,2}[:/. ]|(?:mon|tues|wednes|thurs|fri|satur|sun)day)",
            _I,
        ),
    ),
]
_SHORT = 240  # longer lines are prose, whatever they contain
# An embedded tweet as pasted from a page: text, picture link, then "— Name (@handle) Month D, YYYY".
_TWEET_EMBED = re.compile(
    r"(?:pic\.twitter\.com/|https?://t\.co/)\S*\s*[\u2014\u2013-]+\s*[^\n]{0,80}\(@\w+\)\s*"
    + _MONTH
    + r"\s+\d{1,2},\s+\d{4}\s*$",
    _I,
)

# Boilerplate at the start of a line, masked up to the end of the match.
_PREFIX_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "dateline",
        re.compile(r"^\s*(?:date|dated|published|updated)[:\s]+\d{4}-\d{2}-\d{2}(?:[T ][\d:.+Z-]+)?\s*", _I),
    ),
    (
        "dateline",
        re.compile(
            r"^\s*[A-Z][A-Z.'\u2019-]{2,}(?:[ ,]+[A-Z][A-Z.'\u2019-]+)*(?:,\s*[A-Z][a-z.]+)?"
            r"(?:\s*\([^)]{1,40}\))?\s*[\u2014\u2013-]{1,2}\s+"
        ),
    ),
]
# Boilerplate inside prose.
_INLINE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("read-more", re.compile(r"\((?:RELATED|READ MORE|READ ALSO|SEE ALSO|WATCH|READ|MORE)\s*:[^)\n]*\)", _I)),
    ("tweet", re.compile(r"pic\.twitter\.com/\w+|https?://t\.co/\w+", _I)),
]


@dataclass(frozen=True, slots=True)
class Boilerplate:
    """A half-open span of the original text that matching must skip."""

    start: int
    end: int
    kind: str


def find_boilerplate(text: str) -> list[Boilerplate]:
    """Find the boilerplate spans of ``text``, sorted and not overlapping."""
    found: list[Boilerplate] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start, body = pos, line.rstrip("\r\n")
        pos += len(line)
        if not body.strip():
            continue
        kind = _line_kind(body)
        if kind is not None:
            found.append(Boilerplate(start, start + len(body), kind))
            continue
        for kind, rule in _PREFIX_RULES:
            m = rule.match(body)
            if m and m.end() < len(body):
                found.append(Boilerplate(start + m.start(), start + m.end(), kind))
                break
        for kind, rule in _INLINE_RULES:
            for m in rule.finditer(body):
                found.append(Boilerplate(start + m.start(), start + m.end(), kind))
    return _merge(found)


_CLOCK = re.compile(r"\b\d{1,2}\s?:\s?\d{2}\s*(?:am|pm|a\.m\.|p\.m\.|gmt|utc|[ecmp][sd]t|bst|cet)?\b", _I)
_STAMP_WORDS = re.compile(
    _MONTH
    + r"$|(?:mon|tues|wednes|thurs|fri|satur|sun)day$|updated$|posted$|published$|last$|first$|at$|on$|"
    r"gmt$|utc$|[ecmp][sd]t$|am$|pm$|by$|and$|th$|st$|nd$|rd$",
    _I,
)


def _is_timestamp(line: str) -> bool:
    """A line that is a publication date and time and (almost) nothing else."""
    if len(line) > 120 or not _CLOCK.search(line):
        return False
    words = re.findall(r"[^\W\d_]+", line)
    return sum(1 for w in words if not _STAMP_WORDS.match(w)) <= 2


def _line_kind(line: str) -> str | None:
    if _TWEET_EMBED.search(line):
        return "tweet"
    if _is_timestamp(line):
        return "timestamp"
    if len(line) > _SHORT:
        return None
    for kind, rule in _LINE_RULES:
        if rule.search(line):
            return kind
    return None


def _merge(spans: list[Boilerplate]) -> list[Boilerplate]:
    spans.sort(key=lambda s: (s.start, -s.end))
    out: list[Boilerplate] = []
    for s in spans:
        if out and s.start < out[-1].end:
            if s.end > out[-1].end:
                out[-1] = Boilerplate(out[-1].start, s.end, out[-1].kind)
            continue
        out.append(s)
    return out


def in_spans(pos: int, spans: list[Boilerplate]) -> bool:
    """Whether ``pos`` lies inside one of the sorted, disjoint ``spans``."""
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        if spans[mid].end <= pos:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(spans) and spans[lo].start <= pos
