"""Attribution cues: which outlets an article names as its source.

"The Wall Street Journal reported", "according to the WSJ", "told the
Journal", "a report from Reuters": news copy names where it got its facts.
Names are matched against a table of well-known outlets (with their short
forms) plus the outlets of the articles being analysed, and a citation counts
only when a reporting cue stands next to the name.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from dedup.segment import split_sentences

__all__ = ["Citation", "canonical_outlet", "find_citations"]


# Canonical name -> aliases. Aliases that are ambiguous on their own ("the Journal") are listed in
# _CONTEXT_ALIASES and count only when the full name also appears in the article.
_OUTLETS: dict[str, tuple[str, ...]] = {
    "The Wall Street Journal": ("Wall Street Journal", "WSJ"),
    "The New York Times": ("New York Times", "NYT", "NY Times"),
    "The Washington Post": ("Washington Post", "WaPo"),
    "Reuters": ("Reuters", "Thomson Reuters"),
    "The Associated Press": ("Associated Press", "AP"),
    "Agence France-Presse": ("Agence France-Presse", "Agence France Presse", "AFP"),
    "Bloomberg": ("Bloomberg", "Bloomberg News"),
    "BBC": ("BBC", "BBC News"),
    "CNN": ("CNN",),
    "Fox News": ("Fox News",),
    "NBC News": ("NBC News", "NBC"),
    "CBS News": ("CBS News", "CBS"),
    "ABC News": ("ABC News",),
    "NPR": ("NPR",),
    "Axios": ("Axios",),
    "Politico": ("Politico",),
    "The Guardian": ("Guardian",),
    "Financial Times": ("Financial Times", "FT"),
    "The Economist": ("Economist",),
    "Al Jazeera": ("Al Jazeera", "Al-Jazeera"),
    "Al Arabiya": ("Al Arabiya", "Al-Arabiya"),
    "Haaretz": ("Haaretz",),
    "The Times of Israel": ("Times of Israel",),
    "The Jerusalem Post": ("Jerusalem Post",),
    "Le Monde": ("Le Monde",),
    "Der Spiegel": ("Der Spiegel", "Spiegel"),
    "Xinhua": ("Xinhua",),
    "TASS": ("TASS",),
    "Kyodo News": ("Kyodo",),
    "Yonhap": ("Yonhap",),
    "USA Today": ("USA Today",),
    "Los Angeles Times": ("Los Angeles Times", "LA Times"),
    "The Telegraph": ("Telegraph",),
    "The Independent": ("Independent",),
    "Sky News": ("Sky News",),
    "Daily Mail": ("Daily Mail",),
    "Business Insider": ("Business Insider",),
    "The Hill": ("The Hill",),
    "ProPublica": ("ProPublica",),
    "The Atlantic": ("The Atlantic",),
    "Newsweek": ("Newsweek",),
    "Forbes": ("Forbes",),
    "CNBC": ("CNBC",),
    "MSNBC": ("MSNBC",),
    "Anadolu Agency": ("Anadolu Agency", "Anadolu"),
    "Interfax": ("Interfax",),
    "dpa": ("Deutsche Presse-Agentur", "dpa"),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "South China Morning Post": ("South China Morning Post", "SCMP"),
    "The Intercept": ("The Intercept",),
    "Semafor": ("Semafor",),
    "Daily Caller": ("Daily Caller",),
}
_CONTEXT_ALIASES: dict[str, str] = {
    "Journal": "The Wall Street Journal",
    "Times": "The New York Times",
    "Post": "The Washington Post",
}
# Words that may stand between a name and its verb: "Reuters on Thursday reported".
_BETWEEN = (
    r"(?:\s+(?:on|late|early|last|this|earlier|today|yesterday|tonight|exclusively|first|also|previously|"
    r"originally|has|had|have|[A-Z][a-z]+day)){0,3}"
)
_CUE_AFTER = (
    r"(?:first\s+|originally\s+|previously\s+|also\s+|has\s+|had\s+|have\s+)?"
    r"(?:reported|reports|wrote|writes|said|says|revealed|reveals|confirmed|confirms|"
    r"cited|published|noted|learned|disclosed|added|quoted|broke\s+the\s+(?:story|news)|"
    r"was\s+(?:the\s+)?first\s+to\s+report)\b"
)
_CUE_BEFORE = (
    r"(?:according\s+to|told|telling|cited\s+by|quoted\s+by|citing|via|per|"
    r"(?:first\s+|originally\s+|previously\s+)?reported\s+(?:by|in|on)|"
    r"(?:report|story|article|interview|investigation|analysis|reporting)"
    r"(?:\s+(?:published|released|aired|first\s+published))?\s+(?:by|from|in|with|on))"
    r"(?:\s+(?:a|an)\s+(?:\w+\s+){0,3}?(?:report|story|article)(?:\s+(?:published|released))?\s+(?:by|from|in))?"
)


@dataclass(frozen=True, slots=True)
class Citation:
    """An outlet named as a source, with the text that names it and where that text is."""

    name: str
    evidence: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def canonical_outlet(name: str) -> str:
    """The canonical form of an outlet name: 'WSJ' and 'the Wall Street Journal' both give
    'The Wall Street Journal'; names not in the table are returned trimmed."""
    key = re.sub(r"^the\s+", "", name.strip(), flags=re.IGNORECASE).casefold()
    for canonical, aliases in _OUTLETS.items():
        names = (canonical, *aliases)
        if any(re.sub(r"^the\s+", "", n, flags=re.IGNORECASE).casefold() == key for n in names):
            return canonical
    return name.strip()


def _alias_table(extra: Iterable[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in _OUTLETS.items():
        for alias in (canonical, *aliases):
            table[alias] = canonical
    for name in extra:
        name = name.strip()
        if name:
            table.setdefault(re.sub(r"^[Tt]he\s+", "", name), canonical_outlet(name))
    return table


@lru_cache(maxsize=8)
def _outlet_tables(outlets: tuple[str, ...]) -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]]]:
    """The alias table for a set of extra outlet names, and a compiled pattern for each alias of the
    outlets that ``_CONTEXT_ALIASES`` name (only their presence is ever asked). Built once per set of
    outlets: the engine calls ``find_citations`` with the same set for every article."""
    table = _alias_table(outlets)
    needed = set(_CONTEXT_ALIASES.values())
    return table, [
        (re.compile(rf"\b{re.escape(alias)}\b"), canonical)
        for alias, canonical in table.items()
        if canonical in needed
    ]


@lru_cache(maxsize=64)
def _name_keys(names_key: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The first word of each name (after a leading "the"), lower case. A citation pattern matches a
    name at a word boundary and ending at one, so its first word is a whole word of the text."""
    keys = set()
    for alias, _ in names_key:
        pieces = re.findall(r"\w+", alias.lower())
        if pieces:
            keys.add(pieces[1] if pieces[0] == "the" and len(pieces) > 1 else pieces[0])
    return frozenset(keys)


@lru_cache(maxsize=64)
def _citation_patterns(names_key: tuple[tuple[str, str], ...]) -> list[re.Pattern[str]]:
    names = dict(names_key)
    alternatives = "|".join(re.escape(a) for a in sorted(names, key=len, reverse=True))
    name_re = (
        rf"(?P<full>(?:[Tt]he\s+)?(?:U\.?S\.?\s+|American\s+|British\s+)?(?P<name>{alternatives}))(?![\w-])"
    )
    return [
        re.compile(rf"\b{_CUE_BEFORE}\s+{name_re}", re.IGNORECASE),
        re.compile(rf"(?<![\w-]){name_re}{_BETWEEN}\s+{_CUE_AFTER}"),
        re.compile(
            rf"(?<![\w-]){name_re}(?:'s|\u2019s)\s+(?:report|reporting|story|article|investigation)\b"
        ),
        re.compile(rf":\s*{name_re}\s*$", re.MULTILINE),  # a headline credit: "...: WSJ"
    ]


def find_citations(text: str, outlets: Iterable[str] = ()) -> list[Citation]:
    """Outlets ``text`` names as its source, in order of first citation, one entry per outlet.

    ``outlets`` adds names (the outlets of the other articles in the corpus) to the built-in table.
    """
    table, alias_patterns = _outlet_tables(tuple(sorted(set(outlets))))
    # Which outlets with a context alias ("the Journal") the text names in full: one search per
    # alias of those few outlets, not one per outlet in the table.
    present = {canonical for pattern, canonical in alias_patterns if pattern.search(text)}
    names = dict(table)
    for alias, canonical in _CONTEXT_ALIASES.items():
        if canonical in present:
            names.setdefault(alias, canonical)
    names_key = tuple(names.items())
    patterns = _citation_patterns(names_key)
    # Every pattern needs a name: only sentences with a name's first word (in any case) are searched.
    keys = _name_keys(names_key) & set(re.findall(r"\w+", text.lower()))
    if not keys:
        return []
    key_re = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(keys, key=len, reverse=True)))})\b", re.I)
    named = [(m.start(), m.end()) for m in key_re.finditer(text)]
    found: dict[str, Citation] = {}
    previous_is_headline: dict[str, bool] = {}
    for sentence in split_sentences(text):
        k = bisect.bisect_right(named, (sentence.start, -1))
        near = named[max(k - 1, 0) : k + 1]
        if not any(start < sentence.end and sentence.start < end for start, end in near):
            continue
        chunk = text[sentence.start : sentence.end]
        hits = []
        for rank, pattern in enumerate(patterns):
            for m in pattern.finditer(chunk):
                matched = _match_alias(m.group("name"), names)
                if matched is None or not _case_ok(m.group("name"), matched):
                    continue
                if _part_of_a_name(chunk, m.start("full")):
                    continue
                hits.append(
                    (
                        rank == len(patterns) - 1,
                        sentence.start + m.start(),
                        m.end() - m.start(),
                        names[matched],
                    )
                )
        for headline_only, start, length, canonical in hits:
            citation = Citation(canonical, text[start : start + length].strip(), start, start + length)
            previous = found.get(canonical)
            # Prose cues beat a headline credit; otherwise the first citation stands.
            if previous is None or (previous_is_headline.get(canonical, False) and not headline_only):
                found[canonical] = citation
                previous_is_headline[canonical] = headline_only
            elif not headline_only and start < previous.start and not previous_is_headline[canonical]:
                found[canonical] = citation
    return sorted(found.values(), key=lambda c: c.start)


def _part_of_a_name(text: str, start: int) -> bool:
    """Whether a capitalised word stands right before ``start``: "Michael Bloomberg said" is a
    person, not the news agency (a sentence's first word and "The" don't count)."""
    before = text[:start].rstrip()
    if len(before) == len(text[:start]):
        return False  # no space before the name
    word = re.search(r"([A-Za-z][\w.'\u2019-]*)$", before)
    if word is None or not word.group(1)[:1].isupper() or word.group(1) in ("The", "A", "An"):
        return False
    if word.group(1).isupper() or any(ch.isdigit() for ch in word.group(1)):
        return False  # "EST", "AP", "4:33": a dateline or an acronym, not a first name
    preceding = before[: word.start()].rstrip()
    return bool(preceding) and preceding[-1] not in '.!?:"\u201c'


def _match_alias(matched: str, names: dict[str, str]) -> str | None:
    for alias in names:
        if alias.casefold() == matched.casefold():
            return alias
    return None


def _case_ok(matched: str, alias: str) -> bool:
    """Names must keep their capitals ('told the Post', not 'told the post'); short all-caps
    forms (AP, FT) must be all caps."""
    if alias.isupper():
        return matched == alias
    return matched[:1].isupper()
