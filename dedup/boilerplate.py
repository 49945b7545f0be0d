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
from re import _constants as _sre_constants  # type: ignore[attr-defined]
from re import _parser as _sre_parser  # type: ignore[attr-defined]

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


# --- quick rejection ---------------------------------------------------------------------------------
#
# Most lines are prose that no rule matches, and Python's regex engine tries every alternative of a
# rule at every position of a line. So each rule is given *needles*, derived from the rule itself:
# literal strings one of which every match must contain. A line that holds none of a rule's needles
# is not searched with it. For an IGNORECASE rule the needles are looked for in ``_hay(line)``, a
# lower-cased copy in which the four non-ASCII letters that IGNORECASE matches to ASCII letters are
# made those letters; such needles use only ASCII and caseless characters, so a match in the line
# is a needle in the hay.

_TO_ASCII_CASE = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}


def _hay(line: str) -> str:
    if not line.isascii():
        for ch, ascii_ch in _TO_ASCII_CASE.items():
            if ch in line:
                line = line.replace(ch, ascii_ch)
    return line.lower()


def _needles(rule: re.Pattern[str]) -> tuple[tuple[str, ...] | None, bool]:
    """The needles of ``rule`` (None if it has none) and whether they are looked for in the hay."""
    fold = bool(rule.flags & re.IGNORECASE)
    try:
        found = _required(_sre_parser.parse(rule.pattern, rule.flags), fold)
    except (AttributeError, TypeError, ValueError, IndexError):  # re's parser is internal: do without
        found = None
    if found is None:
        return None, fold
    # A needle that holds another is redundant.
    return tuple(sorted(n for n in found if not any(m != n and m in n for m in found))), fold


def _required(items: object, fold: bool) -> set[str] | None:
    """Strings one of which every match of a parsed regular expression contains, or None."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, av in [*items, (None, None)]:  # type: ignore[misc]
        if op is _sre_constants.LITERAL:
            ch = chr(av)
            if not fold:
                run.append(ch)
                continue
            if ch.isascii() or ch.lower() == ch == ch.upper():
                run.append(ch.lower())
                continue
        elif op is _sre_constants.AT:  # ^, $, \b: zero-width, so the literals either side are adjacent
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        sub: set[str] | None = None
        if op is _sre_constants.SUBPATTERN and not av[1] and not av[2]:  # a group, no scoped flags
            sub = _required(av[3], fold)
        elif op is _sre_constants.BRANCH:
            alternatives = [_required(a, fold) for a in av[1]]
            if all(a is not None for a in alternatives):
                sub = set().union(*alternatives)  # type: ignore[arg-type]
        if sub:
            candidates.append(sub)
    if not candidates:
        return None
    # The most selective: by the weight of the lightest needle, then the fewest needles.
    return max(candidates, key=lambda c: (min(map(_weight, c)), -len(c)))


def _weight(needle: str) -> int:
    """How rarely a needle turns up in prose, roughly: punctuation is rarer than letters."""
    return sum(1 if ch.isalnum() or ch == " " else 3 for ch in needle)


def _may_match(needles: tuple[tuple[str, ...] | None, bool], line: str, hay: str) -> bool:
    found, fold = needles
    if found is None:
        return True
    text = hay if fold else line
    return any(map(text.__contains__, found))  # no generator: its overhead outweighs the searches


_LINE_NEEDLES = [_needles(rule) for _, rule in _LINE_RULES]
_INLINE_NEEDLES = [_needles(rule) for _, rule in _INLINE_RULES]
_TWEET_EMBED_NEEDLES = _needles(_TWEET_EMBED)


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
        hay = _hay(body)
        kind = _line_kind(body, hay)
        if kind is not None:
            found.append(Boilerplate(start, start + len(body), kind))
            continue
        for kind, rule in _PREFIX_RULES:
            m = rule.match(body)
            if m and m.end() < len(body):
                found.append(Boilerplate(start + m.start(), start + m.end(), kind))
                break
        for (kind, rule), needles in zip(_INLINE_RULES, _INLINE_NEEDLES, strict=True):
            if _may_match(needles, body, hay):
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
_CLOCK_NEEDLES = _needles(_CLOCK)


def _is_timestamp(line: str, hay: str) -> bool:
    """A line that is a publication date and time and (almost) nothing else."""
    if len(line) > 120 or not _may_match(_CLOCK_NEEDLES, line, hay) or not _CLOCK.search(line):
        return False
    words = re.findall(r"[^\W\d_]+", line)
    return sum(1 for w in words if not _STAMP_WORDS.match(w)) <= 2


def _line_kind(line: str, hay: str) -> str | None:
    if _may_match(_TWEET_EMBED_NEEDLES, line, hay) and _TWEET_EMBED.search(line):
        return "tweet"
    if _is_timestamp(line, hay):
        return "timestamp"
    if len(line) > _SHORT:
        return None
    for (kind, rule), needles in zip(_LINE_RULES, _LINE_NEEDLES, strict=True):
        if _may_match(needles, line, hay) and rule.search(line):
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
