"""Syndication benchmark: a corpus with a KNOWN derivation forest, built from real articles, and
how well dedup (and the stock MinHash baseline) recovers it.

    python -m benchmarks.syndication --base ../shared/data/news_ecb --size 200 --seed 1
    python -m benchmarks.syndication --size 50 --out /tmp/synd   # small run, corpus written out

THE CORPUS

Base articles are real news_ecb (ECB+) articles (docs.json: doc id -> {sentence index -> sentence};
the story is the number before "_" in the id), lightly de-tokenised ("eight - year" -> "eight-year")
and grouped into paragraphs, the first sentence (usually the headline) on its own. Only articles
with at least 6 sentences and 100 words are used, and they are picked (seeded, greedily) so that no
two of them share three or more 8-word shingles: ECB+ holds several copies of the same wire story,
and those must not be unlabelled duplicates here. ``--size`` is the number of base articles. Each
gets an invented outlet ("Northgate Courier"), a byline header ("By Ana Ruiz, Northgate Courier")
and a copyright footer (most of the time), and a publication time.

Derived articles are made from them the ways newsrooms make them (each has another invented
outlet unless said otherwise):

==============  ==================================================================  ==================
kind            how it is made                                                      expected relation
==============  ==================================================================  ==================
verbatim        the parent's body word for word under the new outlet's header and   DUPLICATE
                footer
reordered       the parent's paragraphs, headline first, the others shuffled        DUPLICATE
light_edit      house-style edits outside quotes: US/UK spelling, digits/words,     DUPLICATE
                "percent"/"%", titles (Gov./Governor, Mr. dropped), contractions,
                "U.S."/"US", said/says, month abbreviations
trimmed         a prefix of the parent: 40-75% of its words, cut at a sentence end   WHOLLY_DERIVED
update          same outlet, id family "<id>-u1", "<id>-u2": the previous version    WHOLLY_DERIVED
                plus a new paragraph (at least 22% of its words) at the top or
                bottom, and an "Updated:" line; u2 is an update of u1
rewrite         RULE-BASED heavy rewrite (no paraphrasing model): a table of word    PARTIALLY_DERIVED
                and phrase substitutions, clause reordering (", police said." ->
                "Police said ..."; leading and trailing adverbial clauses swapped),
                unquoted sentences dropped until 50-70% of the words remain,
                neighbours swapped, new paragraphing, and the outlet's own
                material (sentences of unused ECB+ articles of the same story,
                sharing no 8-word shingle with anything else in the corpus)
                making up a third or more of it. Quoted spans are kept
                character for character
cites_corpus    a rewrite that names its parent's outlet ("according to the         PARTIALLY_DERIVED
                Northgate Courier", "Northgate Courier reported on Monday that")
stitched        two base articles of the same story by different outlets: the head  PARTIALLY_DERIVED
                of one and the tail of the other, each 25-75% of the result          (with each parent)
cites_external  a rewrite of an article that is NOT in the corpus (a hidden          no parent; the
                source: 12% as many as base articles, one to three rewrites each),  outlet should be
                naming that source's outlet: a wire dedup's outlet table knows      an external source
                (Reuters, Bloomberg, ...; 70%) or an invented one it cannot know
==============  ==================================================================  ==================

The relation is what dedup's README defines: DUPLICATE is "near-identical both ways, mostly word for
word", which a light edit (a word here and there) still is, so light_edit expects DUPLICATE, not
WHOLLY_DERIVED; a rewrite with a third of its own material and a quarter or more of the parent
dropped is neither side "almost all inside the other". A derivation that needs own material is
skipped when its story has none left (material from another story would link two stories).

Chains: a derived article is itself copied (verbatim, trimmed, light_edit, rewrite or cites_corpus;
never a verbatim copy of a verbatim copy, which nothing can tell from a copy of the original without
timestamps) up to three steps deep; its parent is the article it was made from, not the original,
and it is scored under its own kind and again under "chain".

Timestamps: each article is published 10 minutes to 18 hours after its parent(s); 60% carry the
exact time, 20% the date only, 20% none. Articles are fed to dedup in a seeded random order
(``--order shuffled``, the default: the input order says nothing about time) or in publication order
(``--order time``).

The truth is a forest (a DAG where stitched articles have two parents): the edges child -> parent,
with hidden sources as extra roots outside the corpus. A derivation FAMILY is a connected component
of it (hidden sources included, so sibling rewrites of one wire story are one family).

THE SCORES (one JSON object on stdout)

- ``pairs``: every true edge (child, parent) is a pair that should be reported with its expected
  relation. Pairs of the same family that are not edges (grandparent, siblings) and pairs of
  different families whose texts share an 8-word shingle are "don't care"; every other pair is
  unrelated. ``any_reuse``: precision, recall and F1 of reporting a reuse relation (DUPLICATE,
  WHOLLY_DERIVED, PARTIALLY_DERIVED) on edges vs unrelated pairs. ``by_relation``: the same per
  expected class, a pair counting only with the right class (a wrong class is a false positive of the
  class given and a miss of the class expected). ``by_kind``: for the edges of each kind, recall =
  share found with the right class, precision = share of those found (any reuse relation) that have
  the right class, ``found`` = share found at all, and the relations reported. ``false_positives``:
  the unrelated pairs reported, how many are of one news_ecb story and how many share nothing but
  PARAPHRASE passages (and how many true edges were found by paraphrase alone).
- ``clusters``: adjusted Rand index and B-cubed precision, recall and F1 of dedup's story clusters
  against two truths: ``families`` (the derivation families) and ``stories`` (news_ecb's story of
  each article; dedup's clusters are meant to be stories, so this is the main one).
- ``parents``: ``derived`` = share of articles with a parent in the corpus whose most confident
  predicted parent is a true parent (for stitched articles either one; ``stitched_both`` = both and
  nothing else); ``derived_or_indistinguishable`` also accepts a predicted parent that no text
  signal can tell from the true one (the child's sentences found word for word in it are exactly
  those found in the true parent: another verbatim copy of the parent, a sibling with the same
  prefix); ``ancestor`` = the predicted parent is at least an ancestor; ``roots`` = share of
  articles with no parent in the corpus (base articles, cites_external) given none; ``all`` = derived
  and roots together. ``by_kind``; ``errors`` says what the wrong parents were (no_parent,
  own_descendant = direction reversed, indistinguishable, ancestor, sibling, same_family_other,
  other_family); with timestamps, ``by_timestamp`` splits derived articles by what the child and its
  parent carry (both_exact, date_only, missing). Computed twice: ``with_timestamps`` and
  ``without_timestamps`` (the same corpus and input order, every timestamp removed).
- ``external_sources``: for cites_external articles, share whose named outlet is in
  ``external_sources`` (split into outlets dedup's table knows and invented ones, and by phrasing);
  for cites_corpus articles, share whose predicted parent is the cited article, and share where the
  cited outlet is (correctly) not listed as an external source.
- ``baseline``: datasketch MinHash LSH over whole texts, headers and footers included
  (benchmarks/baseline.py), at Jaccard 0.5 (its
  default) and 0.3: pairs are scored as ``any_reuse`` (it has no relation classes), clusters are its
  connected components, and parents and external sources are null ("n/a": it has neither).

``--out DIR`` writes corpus.jsonl (what dedup is given, with timestamps), truth.jsonl (kind, parents,
family, story, outlet, true time, timestamp precision, cited outlet), hidden.jsonl (the hidden
sources) and dedup_with_timestamps.json / dedup_without_timestamps.json (dedup's documents and pairs
with passages). The corpus is made of research data: never commit it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.baseline import MinHashBaseline
from benchmarks.datasets import DEFAULT_DATA, load_news_ecb, story_of
from benchmarks.metrics import adjusted_rand_index, bcubed, precision_recall_f1
from dedup.attribution import canonical_outlet
from dedup.document import Article, parse_timestamp
from dedup.pipeline import Detector
from dedup.results import REUSE_RELATIONS, Analysis, PassageKind

__all__ = [
    "EXPECTED",
    "Corpus",
    "Doc",
    "add_citation",
    "build_corpus",
    "detokenize",
    "light_edit",
    "load_sources",
    "main",
    "quoted_spans",
    "reorder",
    "rewrite",
    "stitch",
    "trim",
    "update",
]

DEFAULT_SIZE = 200

Paragraphs = list[list[str]]

EXPECTED: dict[str, str] = {
    "verbatim": "DUPLICATE",
    "reordered": "DUPLICATE",
    "light_edit": "DUPLICATE",
    "trimmed": "WHOLLY_DERIVED",
    "update": "WHOLLY_DERIVED",
    "rewrite": "PARTIALLY_DERIVED",
    "cites_corpus": "PARTIALLY_DERIVED",
    "stitched": "PARTIALLY_DERIVED",
}
"""Expected pair relation between a derived article and its parent, by how it was made."""

# Invented outlets. None contains a name of dedup's outlet table (Times, Post, Journal, ...).
OUTLETS = (
    "Northgate Courier", "Lakeside Gazette", "Eastbrook Ledger", "Silverton Herald", "Coastal Dispatch",
    "Redfield Chronicle", "Pinecrest Tribune", "Marlow Sentinel", "Ashford Observer", "Kestrel Bay Bulletin",
    "Granite City Examiner", "Willowmere Messenger", "Harrow Valley Beacon", "Oakridge Register",
    "Brightwater Mercury", "Fenwick Evening Star", "Stonebridge Review", "Clearwater Advocate",
    "Thornbury Wire", "Elmstead Daily", "Copper Falls Press", "Juniper Coast News", "Ravensworth Argus",
    "Millbrook Clarion",
)  # fmt: skip
# Sources outside the corpus: wires dedup's table knows, and invented ones it cannot know.
EXTERNAL_RECOGNISED = (
    "Reuters", "The Associated Press", "Bloomberg", "Agence France-Presse", "Xinhua", "Kyodo News",
    "Yonhap", "Interfax", "Anadolu Agency",
)  # fmt: skip
EXTERNAL_UNLISTED = (
    "Prairie State Wire", "Meadowland News Service", "Cinder Coast Newswire", "Blue Harbor Wire Service",
)  # fmt: skip
_NO_ARTICLE = frozenset(EXTERNAL_RECOGNISED) - {"The Associated Press"}

FIRST_NAMES = (
    "Ana", "Tom", "Priya", "Marcus", "Elena", "David", "Grace", "Omar", "Lena", "Samuel", "Hannah", "Jonah",
    "Keiko", "Rafael", "Nora", "Victor", "Imani", "Peter", "Sofia", "Liam",
)  # fmt: skip
LAST_NAMES = (
    "Ruiz", "Alder", "Okafor", "Lindqvist", "Brennan", "Castillo", "Whitfield", "Haddad", "Novak", "Price",
    "Mbeki", "Sorensen", "Tanaka", "Delgado", "Ferris", "Kowalski", "Osei", "Marsh", "Varga", "Quinn",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip

# ------------------------------------------------------------------------------------------------
# Text helpers


def detokenize(sentence: str) -> str:
    """Undo ECB+'s tokenisation: "eight - year" -> "eight-year", "1. 7GHz" -> "1.7GHz", spaces
    inside quotes and brackets and before punctuation."""
    s = sentence.strip()
    s = re.sub(r"(?<=\w) - (?=\w)", "-", s)
    s = re.sub(r"(?<=\d)\. (?=\d)", ".", s)
    s = re.sub(r"(?<=\d), (?=\d{3}\b)", ",", s)
    s = re.sub(r" ([,;:!?%)\]])", r"\1", s)
    s = re.sub(r" \.(?=\s|$)", ".", s)
    s = re.sub(r"([(\[$]) ", r"\1", s)
    s = re.sub(r" (n't|'s|'re|'ll|'ve|'d)\b", r"\1", s)
    s = re.sub(r"(?<=\d): (?=\d\d)", ":", s)
    s = re.sub(r"\b([ap])\. m\.", r"\1.m.", s)
    s = re.sub(r"\b([A-Z])\. (?=[A-Z]\.)", r"\1.", s)
    s = re.sub(r"(?<=\d) / (?=\d)", "/", s)
    s = re.sub(r" ’ (?=[a-z]{1,2}\b)", "’", s)
    s = re.sub(r"“\s+", "“", s)
    s = re.sub(r"\s+”", "”", s)
    if s.count('"') % 2 == 0 and '"' in s:
        out, inside = [], False
        for part in re.split(r'(\s*"\s*)', s):
            if part.strip() == '"':
                lead = part[: len(part) - len(part.lstrip())]
                trail = part[len(part.rstrip()) :]
                if not inside:  # opening: keep the space before, drop the one after
                    out.append((" " if lead else "") + '"')
                else:  # closing: drop the space before, keep the one after
                    out.append('"' + (" " if trail else ""))
                inside = not inside
            else:
                out.append(part)
        s = "".join(out).strip()
    else:  # a quotation that opens or closes in another sentence
        s = re.sub(r'^" ', '"', s)
        s = re.sub(r'([,.!?]) "(?=\s|$)', r'\1"', s)
    return re.sub(r"\s{2,}", " ", s)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _word_count(sentences: Iterable[str]) -> int:
    return sum(len(words(s)) for s in sentences)


def shingles8(text: str) -> set[int]:
    """8-word shingles, hashed the same way in every process (``hash()`` of a str is salted)."""
    w = words(text)
    return {
        int.from_bytes(hashlib.blake2b(" ".join(w[i : i + 8]).encode(), digest_size=8).digest())
        for i in range(len(w) - 7)
    }


def flatten(paragraphs: Paragraphs) -> list[str]:
    return [s for p in paragraphs for s in p]


def body_text(paragraphs: Paragraphs) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# First words that are lower-cased when a sentence is moved inside another; anything else (a name)
# keeps its capital.
_COMMON_FIRST = frozenset(
    "the a an this that these those there it he she they we his her their its police officials "
    "authorities investigators prosecutors witnesses residents officers some many most several".split()
)


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.lower() in _COMMON_FIRST else text


def _is_prose(sentence: str) -> bool:
    """A sentence of eight words or more that is not a dateline ("Updated 9:06 AM")."""
    return len(words(sentence)) >= 8 and not re.search(r"\d{1,2}:\d{2}", sentence)


def _strip_end(text: str) -> str:
    return re.sub(r"[\s.!?]+$", "", text)


# ------------------------------------------------------------------------------------------------
# Quotes: what a rewrite must keep character for character

_OPEN, _CLOSE = "“", "”"


def quote_mask(sentences: Sequence[str]) -> list[list[bool]]:
    """For each character of each sentence, whether it lies inside a quotation (the quote marks
    included). Straight quotes toggle, curly ones open and close; a quotation may run over several
    sentences. An article that ends inside a quotation is read as quoted from its last opening on."""
    masks: list[list[bool]] = []
    inside = False
    last_open: tuple[int, int] | None = None
    for si, s in enumerate(sentences):
        m = []
        for ci, ch in enumerate(s):
            if ch == '"':
                if not inside:
                    last_open = (si, ci)
                m.append(True)
                inside = not inside
            elif ch == _OPEN:
                last_open = (si, ci)
                inside = True
                m.append(True)
            elif ch == _CLOSE:
                m.append(True)
                inside = False
            else:
                m.append(inside)
        masks.append(m)
    if inside and last_open is not None:
        si, ci = last_open
        for sj in range(si, len(sentences)):
            for cj in range(ci if sj == si else 0, len(sentences[sj])):
                masks[sj][cj] = True
    return masks


def quoted_spans(sentences: Sequence[str]) -> list[str]:
    """The quoted stretches of each sentence (maximal runs of quoted characters)."""
    spans = []
    for s, m in zip(sentences, quote_mask(sentences), strict=True):
        for match in re.finditer(r"1+", "".join("1" if q else "0" for q in m)):
            piece = s[match.start() : match.end()].strip()
            if len(words(piece)) >= 1:
                spans.append(piece)
    return spans


def _segments(sentence: str, mask: list[bool]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for ch, q in zip(sentence, mask, strict=True):
        if out and out[-1][1] == q:
            out[-1] = (out[-1][0] + ch, q)
        else:
            out.append((ch, q))
    return out


def _edit_unquoted(sentence: str, mask: list[bool], fn: Callable[[str], str]) -> str:
    return "".join(text if quoted else fn(text) for text, quoted in _segments(sentence, mask))


# ------------------------------------------------------------------------------------------------
# Light edits: house style


def _case_like(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return _cap(word) if like[:1].isupper() else word


_SPELLING_PAIRS = (
    ("color", "colour"), ("center", "centre"), ("organization", "organisation"), ("defense", "defence"),
    ("program", "programme"), ("traveled", "travelled"), ("favor", "favour"), ("honor", "honour"),
    ("labor", "labour"), ("realize", "realise"), ("recognize", "recognise"), ("apologize", "apologise"),
    ("criticize", "criticise"), ("analyze", "analyse"), ("theater", "theatre"), ("gray", "grey"),
    ("neighbor", "neighbour"), ("behavior", "behaviour"), ("offense", "offence"), ("canceled", "cancelled"),
    ("organized", "organised"), ("authorized", "authorised"), ("emphasized", "emphasised"),
    ("harbor", "harbour"), ("rumor", "rumour"), ("jewelry", "jewellery"), ("catalog", "catalogue"),
    ("fulfill", "fulfil"), ("meter", "metre"), ("liter", "litre"), ("fiber", "fibre"), ("toward", "towards"),
    ("airplane", "aeroplane"), ("tire", "tyre"), ("pajamas", "pyjamas"), ("aluminum", "aluminium"),
    ("centers", "centres"), ("colors", "colours"), ("organizations", "organisations"),
    ("programs", "programmes"), ("neighbors", "neighbours"), ("favorite", "favourite"),
    ("recognized", "recognised"), ("realized", "realised"), ("criticized", "criticised"),
    ("apologized", "apologised"), ("traveling", "travelling"), ("modeling", "modelling"),
    ("license", "licence"), ("practice", "practise"), ("skeptical", "sceptical"), ("plow", "plough"),
)  # fmt: skip
_SPELLING = {a: b for a, b in _SPELLING_PAIRS} | {b: a for a, b in _SPELLING_PAIRS}
_CONTRACTIONS = {
    "do not": "don't", "does not": "doesn't", "did not": "didn't", "is not": "isn't", "are not": "aren't",
    "was not": "wasn't", "were not": "weren't", "will not": "won't", "cannot": "can't",
    "has not": "hasn't", "have not": "haven't", "had not": "hadn't", "would not": "wouldn't",
    "could not": "couldn't", "should not": "shouldn't", "it is": "it's", "that is": "that's",
    "we are": "we're", "they are": "they're", "he is": "he's", "she is": "she's", "there is": "there's",
    "I am": "I'm", "we will": "we'll", "they will": "they'll",
}  # fmt: skip
_EXPANSIONS = {v: k for k, v in _CONTRACTIONS.items()}
_TITLES = {
    "Gov.": "Governor", "Sen.": "Senator", "Rep.": "Representative", "Lt.": "Lieutenant",
    "Gen.": "General", "Sgt.": "Sergeant", "Capt.": "Captain", "Det.": "Detective", "Supt.": "Superintendent",
    "Prof.": "Professor", "Atty.": "Attorney",
}  # fmt: skip
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_MONTH_ABBR = {
    "January": "Jan.", "February": "Feb.", "August": "Aug.", "September": "Sept.", "October": "Oct.",
    "November": "Nov.", "December": "Dec.",
}  # fmt: skip


def _table_rule(table: Mapping[str, str], case_sensitive: bool = False) -> tuple[re.Pattern[str], Any]:
    keys = sorted(table, key=len, reverse=True)
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w'])", flags)
    lower = {k.lower(): v for k, v in table.items()}

    def repl(m: re.Match[str]) -> str:
        found = m.group(1)
        if case_sensitive:
            return table[found]
        return _case_like(lower[found.lower()], found)

    return pattern, repl


_LIGHT_RULES: list[tuple[str, re.Pattern[str], Any]] = [
    ("spelling", *_table_rule(_SPELLING)),
    ("contraction", *_table_rule(_CONTRACTIONS)),
    ("contraction", *_table_rule(_EXPANSIONS)),
    ("title", *_table_rule(_TITLES, case_sensitive=True)),
    ("title", re.compile(r"\b(?:Mr|Mrs|Ms)\. (?=[A-Z])"), lambda m: ""),
    (
        "number",
        re.compile(r"(?<![\w$.,:/-])([1-9])(?![\w.,:/%-])"),
        lambda m: _NUMBER_WORDS[int(m.group(1)) - 1],
    ),
    ("number", re.compile(r"(?<=\d) percent\b"), lambda m: "%"),
    ("number", re.compile(r"(?<=\d)%"), lambda m: " per cent"),
    ("number", re.compile(r"(\$\d[\d.,]*) million\b"), lambda m: m.group(1) + "m"),
    ("us", re.compile(r"\bU\.S\.(?=[\s,;:])"), lambda m: "US"),
    ("us", re.compile(r"\bUS\b"), lambda m: "U.S."),
    ("tense", re.compile(r"\b(said|says)\b"), lambda m: "says" if m.group(1) == "said" else "said"),
    (
        "month",
        re.compile(r"\b(" + "|".join(_MONTH_ABBR) + r")(?= \d)"),
        lambda m: _MONTH_ABBR[m.group(1)],
    ),
]


def light_edit(paragraphs: Paragraphs, rng: random.Random, rate: float = 0.4) -> tuple[Paragraphs, int]:
    """House-style edits outside quotes in about ``rate`` of the sentences (at least three where the
    text allows it), one edit per sentence. Returns the edited paragraphs and the number of edits."""
    sentences = flatten(paragraphs)
    masks = quote_mask(sentences)
    edited = list(sentences)
    order = list(range(len(sentences)))
    rng.shuffle(order)
    edits = 0
    wanted = max(3, round(rate * len(sentences)))
    for i in order:
        if edits >= wanted:
            break
        candidates = []
        for name, pattern, repl in _LIGHT_RULES:
            probe = _edit_unquoted(sentences[i], masks[i], lambda t, p=pattern: "\0" if p.search(t) else t)
            if "\0" in probe:
                candidates.append((name, pattern, repl))
        if not candidates:
            continue
        _, pattern, repl = rng.choice(candidates)
        done = [False]

        def once(
            text: str, pattern: re.Pattern[str] = pattern, repl: Any = repl, done: list[bool] = done
        ) -> str:
            if done[0]:
                return text
            new, n = pattern.subn(repl, text, count=1)
            if n:
                done[0] = True
            return new

        new = re.sub(r"  +", " ", _edit_unquoted(sentences[i], masks[i], once))
        if new != sentences[i]:
            edited[i] = new
            edits += 1
    return _regroup_like(paragraphs, edited), edits


def _regroup_like(paragraphs: Paragraphs, sentences: list[str]) -> Paragraphs:
    out, k = [], 0
    for p in paragraphs:
        out.append(sentences[k : k + len(p)])
        k += len(p)
    return out


# ------------------------------------------------------------------------------------------------
# Rule-based rewriting


# Word and phrase substitutions that keep the part of speech (past tense for past tense). Applied
# outside quotes only.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "said": ("stated", "explained"), "says": ("states",), "announced": ("revealed", "unveiled"),
    "arrested": ("detained",), "began": ("started",), "started": ("began",),
    "attempted": ("tried",), "tried": ("attempted",), "received": ("got",),
    "purchased": ("bought",), "bought": ("acquired",), "acquired": ("bought",),
    "died": ("perished", "passed away"), "told": ("informed",), "stated": ("said",),
    "claimed": ("asserted",), "confirmed": ("verified",), "revealed": ("disclosed",),
    "approved": ("endorsed",), "rejected": ("dismissed",), "agreed": ("consented",),
    "needed": ("required",), "wanted": ("sought",), "showed": ("indicated",), "found": ("discovered",),
    "happened": ("occurred",), "ended": ("concluded",), "injured": ("hurt",), "won": ("secured",),
    "hired": ("recruited",), "killed": ("fatally struck",), "planned": ("intended",),
    "reported": ("stated",), "helped": ("assisted",), "help": ("assist",),
    "police": ("law enforcement",), "officials": ("authorities",), "company": ("firm",),
    "firm": ("company",), "car": ("vehicle",), "vehicle": ("car",), "attack": ("assault",),
    "people": ("individuals", "persons"), "children": ("kids",), "deal": ("agreement",),
    "agreement": ("deal",), "statement": ("remarks",), "meeting": ("session",), "victory": ("win",),
    "game": ("contest", "match"), "team": ("squad",), "season": ("campaign",),
    "hospital": ("medical center",), "incident": ("episode",), "accident": ("crash",),
    "crash": ("collision",), "fire": ("blaze",), "building": ("structure",), "town": ("community",),
    "country": ("nation",), "nation": ("country",), "president": ("leader",), "man": ("individual",),
    "earthquake": ("quake",), "quake": ("earthquake",), "shooting": ("gunfire",),
    "suspect": ("alleged perpetrator",), "victims": ("those affected",), "residents": ("locals",),
    "spokesman": ("spokesperson",), "spokeswoman": ("spokesperson",), "leader": ("head",),
    "also": ("additionally",), "however": ("nevertheless",), "but": ("yet",), "because": ("since",),
    "more than": ("over",), "at least": ("no fewer than",), "nearly": ("almost",), "almost": ("nearly",),
    "major": ("significant",), "large": ("big",), "big": ("large",), "small": ("minor",),
    "several": ("a number of",), "many": ("numerous",), "quickly": ("rapidly",),
    "later": ("subsequently",), "recently": ("lately",), "currently": ("presently",),
    "expected": ("anticipated",), "in order to": ("to",), "as well as": ("and",),
    "a number of": ("several",), "because of": ("due to",), "due to": ("because of",),
    "according to": ("as stated by",), "about": ("around",), "important": ("key",), "key": ("crucial",),
    "biggest": ("largest",), "largest": ("biggest",), "on Monday": ("Monday",), "on Tuesday": ("Tuesday",),
    "on Wednesday": ("Wednesday",), "on Thursday": ("Thursday",), "on Friday": ("Friday",),
    "on Saturday": ("Saturday",), "on Sunday": ("Sunday",),
}  # fmt: skip
_SYN_KEYS = sorted(_SYNONYMS, key=len, reverse=True)
_SYN_RE = re.compile(
    r"(?<![\w'-])(" + "|".join(re.escape(k) + "|" + re.escape(_cap(k)) for k in _SYN_KEYS) + r")(?![\w'-])"
)
_WHO = (
    r"(?:(?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*|police|authorities|officials|investigators|witnesses|"
    r"prosecutors|(?:the|a|an)\s+[a-z]+(?:\s+[a-z]+)?)"
)
_TRAILING_ATTRIBUTION = re.compile(
    r"^(?P<body>[^\"“”]{20,}?),\s+(?P<who>" + _WHO + r")\s+(?P<verb>said|says|added|noted|told reporters)"
    r"(?P<when>\s+(?:on\s+)?[A-Z][a-z]+day)?\.$"
)
_LEADING_CLAUSE = re.compile(
    r"^(?P<lead>(?:After|When|Before|While|Although|Though|Because|Since|As|On|In|During|Despite|"
    r"Following|Earlier|Later|Last|At|By|With|Under|For)\b[^,\"“”]{2,70}),\s+(?P<main>[^\"“”]{15,}?)"
    r"(?P<end>[.!?])$"
)
_TRAILING_CLAUSE = re.compile(
    r"^(?P<main>[^\"“”,]{15,}?)\s+(?P<tail>(?:after|before|when|while|because|since|although|despite|"
    r"following)\s[^,\"“”]{8,90})(?P<end>[.!?])$"
)


def _substitute(text: str, rng: random.Random, rate: float) -> str:
    def repl(m: re.Match[str]) -> str:
        found = m.group(1)
        key = found if found in _SYNONYMS else found[:1].lower() + found[1:]
        if key not in _SYNONYMS or rng.random() >= rate:
            return found
        if key != found and (m.start() > 0 or re.match(r"\s+[A-Z]", text[m.end() :])):
            return found  # a capital inside a sentence, or before a name: "President Obama"
        choice = rng.choice(_SYNONYMS[key])
        return _cap(choice) if found[:1].isupper() and not key[:1].isupper() else choice

    return _SYN_RE.sub(repl, text)


def _reorder_clauses(sentence: str) -> str:
    m = _TRAILING_ATTRIBUTION.match(sentence)
    if m:
        who, verb = m.group("who"), m.group("verb")
        when = m.group("when") or ""
        link = " that" if verb in ("added", "noted") else ""
        return f"{_cap(who)} {verb}{when}{link} {_lower_first(m.group('body'))}."
    m = _LEADING_CLAUSE.match(sentence)
    if m:
        lead = m.group("lead")
        return f"{_cap(m.group('main'))} {lead[:1].lower() + lead[1:]}{m.group('end')}"
    m = _TRAILING_CLAUSE.match(sentence)
    if m:
        return f"{_cap(m.group('tail'))}, {_lower_first(m.group('main'))}{m.group('end')}"
    return sentence


def rewrite(
    paragraphs: Paragraphs,
    rng: random.Random,
    keep_share: tuple[float, float] = (0.5, 0.7),
    substitution_rate: float = 0.9,
) -> list[str]:
    """A rule-based heavy rewrite, as sentences (no paragraphs yet; the caller adds material and
    paragraphs). The headline and every unquoted sentence get word and phrase substitutions and,
    where a pattern fits, their clauses reordered; sentences holding quotes are kept, only their
    unquoted parts substituted; unquoted sentences are dropped until at most ``keep_share`` of the
    words remain (quoted ones too if they alone are more); neighbouring unquoted sentences are
    sometimes swapped. The lead sentence (the first after the headline) always stays."""
    sentences = flatten(paragraphs)
    masks = quote_mask(sentences)
    has_quote = [any(m) for m in masks]
    total = max(1, _word_count(sentences))
    target = rng.uniform(*keep_share) * total
    keep = list(range(len(sentences)))
    droppable = [i for i in keep[2:] if not has_quote[i]]
    rng.shuffle(droppable)
    quoted_droppable = [i for i in reversed(keep[2:]) if has_quote[i]]
    for i in droppable + quoted_droppable:
        if _word_count(sentences[j] for j in keep) <= target:
            break
        keep.remove(i)
    out: list[str] = []
    for i in keep:
        s = sentences[i]
        if has_quote[i]:
            out.append(_edit_unquoted(s, masks[i], lambda t: _substitute(t, rng, substitution_rate)))
        else:
            out.append(_substitute(_reorder_clauses(s), rng, substitution_rate))
    quoted = {k for k, i in enumerate(keep) if has_quote[i]}
    for k in range(2, len(out) - 1):
        if k not in quoted and k + 1 not in quoted and rng.random() < 0.3:
            out[k], out[k + 1] = out[k + 1], out[k]
    return out


def add_material(sentences: list[str], material: list[str], rng: random.Random) -> Paragraphs:
    """Insert the outlet's own sentences (in one to three runs, never before the lead) and make new
    paragraphs of one to three sentences, the headline alone."""
    body = list(sentences[1:])
    runs = min(len(material), rng.randint(1, 3))
    cuts = sorted(rng.sample(range(1, len(material)), runs - 1)) if runs > 1 else []
    pieces = [material[a:b] for a, b in zip([0, *cuts], [*cuts, len(material)], strict=True)]
    for piece in pieces:
        at = rng.randint(1, len(body)) if body else 0
        body[at:at] = piece
    return [sentences[:1], *_paragraphs(body, rng)]


def _paragraphs(sentences: list[str], rng: random.Random) -> Paragraphs:
    """Paragraphs of one to three sentences; a line that does not end like a sentence (a dateline,
    a subheading) stands alone."""
    out: Paragraphs = []
    i = 0
    while i < len(sentences):
        n = rng.choice((1, 2, 2, 3))
        group: list[str] = []
        while i < len(sentences) and len(group) < n:
            if not _ENDS_SENTENCE.search(sentences[i]):
                if group:
                    break
                group.append(sentences[i])
                i += 1
                break
            group.append(sentences[i])
            i += 1
        out.append(group)
    return out


_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*$")


# ------------------------------------------------------------------------------------------------
# The other transformations


def trim(paragraphs: Paragraphs, rng: random.Random, share: tuple[float, float] = (0.4, 0.75)) -> Paragraphs:
    """A prefix of the article: whole sentences, until a share of its words drawn from ``share``."""
    total = _word_count(flatten(paragraphs))
    target = rng.uniform(*share) * total
    out: Paragraphs = []
    count = 0
    for p in paragraphs:
        kept = []
        for s in p:
            n = len(words(s))
            if count + n > target and count > 0 and len(flatten(out)) + len(kept) >= 2:
                break
            kept.append(s)
            count += n
        else:
            out.append(kept)
            continue
        if kept:
            out.append(kept)
        break
    return out


def reorder(paragraphs: Paragraphs, rng: random.Random) -> Paragraphs:
    """The same paragraphs, the first (headline) in place and the others in another order."""
    head, rest = paragraphs[:1], list(paragraphs[1:])
    if len(rest) < 2:
        return [list(p) for p in paragraphs]
    original = list(rest)
    while rest == original:
        rng.shuffle(rest)
    return [list(p) for p in head + rest]


def stitch(first: Paragraphs, second: Paragraphs, rng: random.Random) -> Paragraphs | None:
    """The head of ``first`` (its headline and some paragraphs) and the tail of ``second`` (some
    paragraphs, never its headline): each 25-75% of the result and at most 75% of its source. None
    when no cut does that."""
    a_body, b_body = first[1:], second[1:]
    total_a, total_b = _word_count(flatten(first)), _word_count(flatten(second))
    for _ in range(50):
        ka = rng.randint(1, max(1, len(a_body) - 1))
        kb = rng.randint(1, max(1, len(b_body) - 1))
        head = [list(p) for p in first[:1] + a_body[:ka]]
        tail = [list(p) for p in b_body[len(b_body) - kb :]]
        na, nb = _word_count(flatten(head)), _word_count(flatten(tail))
        if 0.25 <= na / (na + nb) <= 0.75 and na <= 0.75 * total_a and nb <= 0.75 * total_b:
            return head + tail
    return None


def update(paragraphs: Paragraphs, new: list[str], at_top: bool) -> Paragraphs:
    """The article with a new paragraph right after the headline or at the end."""
    body = [list(p) for p in paragraphs]
    if at_top:
        return [*body[:1], list(new), *body[1:]]
    return [*body, list(new)]


CITE_TEMPLATES = (
    "according_to", "reported_that", "trailing_reported", "first_reported", "citing_report",
    "possessive_report", "as_first_reported_in", "broke_the_story",
)  # fmt: skip


def _named(outlet: str, rng: random.Random, start: bool) -> str:
    if outlet.startswith("The "):
        name = outlet if start else "the " + outlet[4:]
    elif outlet in _NO_ARTICLE or rng.random() < 0.5:
        name = outlet
    else:
        name = "the " + outlet
    return _cap(name) if start else name


def add_citation(sentences: list[str], outlet: str, rng: random.Random) -> tuple[list[str], str]:
    """Name ``outlet`` as the source in the first unquoted sentence of prose after the headline (or
    in a new sentence after the lead when there is none). Returns the sentences and the phrasing."""
    out = list(sentences)
    masks = quote_mask(out)
    target = next((i for i in range(1, len(out)) if not any(masks[i]) and _is_prose(out[i])), None)
    template = rng.choice(CITE_TEMPLATES)
    if target is None:
        template = rng.choice(("first_reported", "broke_the_story"))
        lead = ""
        target = min(1, len(out) - 1)
    else:
        lead = out[target]
    day = rng.choice(WEEKDAYS)
    stem = _strip_end(lead)
    if template == "according_to":
        new = f"{stem}, according to {_named(outlet, rng, False)}."
    elif template == "reported_that":
        new = f"{_named(outlet, rng, True)} reported on {day} that {_lower_first(stem)}."
    elif template == "trailing_reported":
        new = f"{stem}, {_named(outlet, rng, False)} reported."
    elif template == "citing_report":
        new = f"{stem}, citing a report by {_named(outlet, rng, False)}."
    elif template == "possessive_report":
        new = f"{stem}, {_named(outlet, rng, False)}'s report said."
    elif template == "as_first_reported_in":
        new = f"As first reported in {_named(outlet, rng, False)}, {_lower_first(stem)}."
    elif template == "first_reported":
        extra = f"{_named(outlet, rng, True)} first reported the news on {day}."
        new = f"{lead} {extra}".strip()
    else:  # broke_the_story
        extra = f"{_named(outlet, rng, True)} broke the story on {day}."
        new = f"{lead} {extra}".strip()
    if lead:
        out[target] = new
    else:
        out.insert(target + 1, new)
    return out, template


# ------------------------------------------------------------------------------------------------
# The corpus


@dataclass
class Doc:
    """A generated article (in the corpus, or a hidden source outside it) and its truth."""

    key: int
    kind: str
    outlet: str
    body: Paragraphs
    time: datetime
    story: str
    source: str
    """news_ecb id of the base article it comes from (the first one for stitched articles)."""
    parents: tuple[int, ...] = ()
    depth: int = 0
    hidden: bool = False
    header: str | None = None
    footer: str | None = None
    updated_line: str | None = None
    cites: str | None = None
    cite_template: str | None = None
    external: str | None = None
    """For cites_external: 'recognised' (an outlet in dedup's table) or 'unlisted' (invented)."""
    ts_mode: str = "exact"
    id: str = ""
    update_root: int | None = None
    edits: int = 0

    @property
    def text(self) -> str:
        blocks = [b for b in (self.header, self.updated_line) if b]
        top = "\n".join(blocks)
        parts = [top] if top else []
        parts.append(body_text(self.body))
        if self.footer:
            parts.append(self.footer)
        return "\n\n".join(parts)

    def timestamp(self) -> str | None:
        if self.ts_mode == "none":
            return None
        if self.ts_mode == "date":
            return self.time.date().isoformat()
        return self.time.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Corpus:
    docs: list[Doc]
    """The corpus, in the order dedup is given it."""
    hidden: list[Doc]
    by_key: dict[int, Doc]
    family: dict[int, int] = field(default_factory=dict)
    by_id: dict[str, Doc] = field(default_factory=dict)

    def articles(self, timestamps: bool) -> list[Article]:
        out = []
        for d in self.docs:
            ts = d.timestamp() if timestamps else None
            out.append(
                Article(d.id, d.text, outlet=d.outlet, published_at=parse_timestamp(ts) if ts else None)
            )
        return out

    def parents_of(self, doc: Doc) -> list[str]:
        return [self.by_key[k].id for k in doc.parents if not self.by_key[k].hidden]

    def ancestors(self, doc: Doc) -> set[str]:
        seen: set[int] = set()
        stack = list(doc.parents)
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(self.by_key[k].parents)
        return {self.by_key[k].id for k in seen if not self.by_key[k].hidden}

    def truth(self, doc: Doc) -> dict[str, Any]:
        return {
            "id": doc.id,
            "kind": doc.kind,
            "parents": self.parents_of(doc) if not doc.hidden else [],
            "hidden_parent": next((self.by_key[k].id for k in doc.parents if self.by_key[k].hidden), None),
            "expected_relation": EXPECTED.get(doc.kind),
            "depth": doc.depth,
            "family": self.by_key[self.family[doc.key]].id,
            "story": doc.story,
            "news_ecb_source": doc.source,
            "outlet": doc.outlet,
            "time": doc.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp": doc.timestamp(),
            "timestamp_precision": doc.ts_mode,
            "cites": doc.cites,
            "cite_template": doc.cite_template,
            "external": doc.external,
            "light_edits": doc.edits or None,
        }


class _Pool:
    """Sentences of ECB+ articles not used as base or hidden articles: the outlets' own material for
    updates and rewrites. A sentence is used at most once, and only if none of its 8-word shingles
    is in any text of the corpus or in a sentence used before."""

    def __init__(self, sources: Mapping[str, Sequence[str]], used: set[str], rng: random.Random) -> None:
        self.by_story: dict[str, list[str]] = defaultdict(list)
        for doc_id in sorted(sources):
            if doc_id in used:
                continue
            for s in sources[doc_id]:
                if len(words(s)) >= 8 and not re.search(r"[\"“”]", s) and re.search(r"[.!?]$", s):
                    self.by_story[story_of(doc_id)].append(s)
        for story in sorted(self.by_story):
            rng.shuffle(self.by_story[story])
        self.seen: set[int] = set()
        self.rng = rng

    def block(self, text: str) -> None:
        self.seen |= shingles8(text)

    def take(self, story: str, min_words: int) -> list[str] | None:
        """Sentences of ``story`` worth at least ``min_words`` words, or None (and nothing used) if
        the story has too few left: material from another story would link two stories."""
        bucket = self.by_story.get(story, [])
        out: list[str] = []
        grams: set[int] = set()
        count = 0
        for s in reversed(bucket):
            if count >= min_words:
                break
            sh = shingles8(s)
            if sh & (self.seen | grams):
                continue
            grams |= sh
            out.append(s)
            count += len(words(s))
        if count < min_words:
            return None
        for s in out:
            bucket.remove(s)
        self.seen |= grams
        return out


def _select(
    sources: Mapping[str, Sequence[str]], rng: random.Random, min_sentences: int = 6, min_words: int = 100
) -> list[str]:
    """Eligible articles, in a seeded order, no two sharing three or more 8-word shingles."""
    eligible = [
        d
        for d in sorted(sources)
        if len(sources[d]) >= min_sentences and _word_count(sources[d]) >= min_words
    ]
    rng.shuffle(eligible)
    index: dict[int, list[str]] = defaultdict(list)
    kept: list[str] = []
    for d in eligible:
        sh = shingles8(" ".join(sources[d]))
        shared: Counter[str] = Counter()
        for g in sh:
            for other in index.get(g, ()):
                shared[other] += 1
        if any(c >= 3 for c in shared.values()):
            continue
        kept.append(d)
        for g in sh:
            index[g].append(d)
    return kept


_CHILD_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7)
_CHILD_WEIGHTS = (0.05, 0.08, 0.1, 0.15, 0.2, 0.17, 0.13, 0.12)
_KIND_WEIGHTS = {
    "verbatim": 2.0, "trimmed": 1.5, "reordered": 1.0, "light_edit": 1.5, "rewrite": 1.5,
    "cites_corpus": 1.2, "stitched": 0.8, "update": 1.0,
}  # fmt: skip
_CHAIN_WEIGHTS = {"verbatim": 2.0, "trimmed": 1.5, "light_edit": 1.5, "rewrite": 1.0, "cites_corpus": 1.0}
_TS_MODES = (("exact", 0.6), ("date", 0.2), ("none", 0.2))


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.docs: list[Doc] = []

    def new(self, **kw: Any) -> Doc:
        doc = Doc(key=len(self.docs), **kw)
        self.docs.append(doc)
        return doc

    def byline(self, outlet: str) -> str:
        r = self.rng
        name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
        form = r.random()
        if form < 0.6:
            return f"By {name}, {outlet}"
        if form < 0.8:
            return f"By {name.upper()} | {outlet}"
        return f"By {name} and {r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}, {outlet}"

    def footer(self, outlet: str, year: int) -> str:
        form = self.rng.random()
        if form < 0.6:
            return f"© {year} {outlet}. All rights reserved."
        if form < 0.85:
            return f"Copyright {year} {outlet}. All rights reserved."
        return f"(c) {year} {outlet}"

    def dress(self, doc: Doc, always: bool = False) -> None:
        """Header and footer of the article's own outlet (always for republications)."""
        if always or self.rng.random() < 0.8:
            doc.header = self.byline(doc.outlet)
        if always or self.rng.random() < 0.8:
            doc.footer = self.footer(doc.outlet, doc.time.year)

    def later(self, *parents: Doc) -> datetime:
        return max(p.time for p in parents) + timedelta(minutes=self.rng.randint(10, 18 * 60))

    def other_outlet(self, *avoid: str) -> str:
        return self.rng.choice([o for o in OUTLETS if o not in avoid])


def _base_paragraphs(sentences: Sequence[str], rng: random.Random) -> Paragraphs:
    return [[sentences[0]], *_paragraphs(list(sentences[1:]), rng)]


def build_corpus(
    sources: Mapping[str, Sequence[str]],
    size: int,
    seed: int,
    order: str = "shuffled",
    hidden_share: float = 0.12,
) -> Corpus:
    """The corpus and its truth from ``sources`` (news_ecb doc id -> sentences, de-tokenised)."""
    rng = random.Random(seed)
    selected = _select(sources, rng)
    n_hidden = max(1, round(size * hidden_share))
    if size < 1 or size + n_hidden > len(selected):
        raise ValueError(
            f"--size {size} needs {size + n_hidden} usable articles (bases and hidden sources); "
            f"only {len(selected)} qualify, so the most is {max(0, int(len(selected) / (1 + hidden_share)))}"
        )
    base_ids, hidden_ids = selected[:size], selected[size : size + n_hidden]
    pool = _Pool(sources, set(base_ids) | set(hidden_ids), random.Random(rng.random()))
    b = _Builder(rng)
    story_day: dict[str, datetime] = {}

    def story_time(story: str) -> datetime:
        if story not in story_day:
            story_day[story] = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 360))
        return story_day[story] + timedelta(minutes=rng.randint(6 * 60, 54 * 60))

    bases = []
    for src in base_ids:
        story = story_of(src)
        doc = b.new(
            kind="base",
            outlet=rng.choice(OUTLETS),
            body=_base_paragraphs(sources[src], rng),
            time=story_time(story),
            story=story,
            source=src,
        )
        b.dress(doc)
        pool.block(doc.text)
        bases.append(doc)
    hidden = []
    for src in hidden_ids:
        story = story_of(src)
        recognised = rng.random() < 0.7
        outlet = rng.choice(EXTERNAL_RECOGNISED if recognised else EXTERNAL_UNLISTED)
        doc = b.new(
            kind="hidden",
            outlet=outlet,
            body=_base_paragraphs(sources[src], rng),
            time=story_time(story),
            story=story,
            source=src,
            hidden=True,
            external="recognised" if recognised else "unlisted",
        )
        pool.block(doc.text)
        hidden.append(doc)
    by_story: dict[str, list[Doc]] = defaultdict(list)
    for doc in bases:
        by_story[doc.story].append(doc)

    def derive(kind: str, parent: Doc, partner: Doc | None = None) -> Doc | None:
        """A child of ``parent`` made the way ``kind`` says; None when the material runs out."""
        outlet = parent.outlet if kind == "update" else b.other_outlet(parent.outlet)
        common: dict[str, Any] = {
            "story": parent.story,
            "source": parent.source,
            "depth": parent.depth + 1,
            "parents": (parent.key,),
        }
        body: Paragraphs
        cites = template = None
        edits = 0
        if kind == "verbatim":
            body = [list(p) for p in parent.body]
        elif kind == "reordered":
            if len(parent.body) < 4:
                return None
            body = reorder(parent.body, rng)
        elif kind == "light_edit":
            body, edits = light_edit(parent.body, rng)
            if edits == 0:
                return None
        elif kind == "trimmed":
            body = trim(parent.body, rng)
        elif kind == "update":
            new = pool.take(parent.story, round(0.22 * _word_count(flatten(parent.body))))
            if new is None:
                return None
            body = update(parent.body, new, at_top=rng.random() < 0.5)
        elif kind == "stitched":
            assert partner is not None
            outlet = b.other_outlet(parent.outlet, partner.outlet)
            stitched = stitch(parent.body, partner.body, rng)
            if stitched is None:
                return None
            body = stitched
            common["parents"] = (parent.key, partner.key)
            common["depth"] = max(parent.depth, partner.depth) + 1
        else:  # rewrite, cites_corpus, cites_external
            sentences = rewrite(parent.body, rng)
            material = pool.take(parent.story, round(0.5 * _word_count(sentences)))
            if material is None:
                return None
            if kind != "rewrite":
                cites = parent.outlet
                sentences, template = add_citation(sentences, cites, rng)
            body = add_material(sentences, material, rng)
        parents = [parent] if partner is None else [parent, partner]
        doc = b.new(kind=kind, outlet=outlet, body=body, time=b.later(*parents), **common)
        doc.cites, doc.cite_template, doc.edits = cites, template, edits
        if kind == "cites_external":
            doc.external = parent.external
        if kind == "update":
            doc.update_root = parent.update_root if parent.update_root is not None else parent.key
            doc.header = parent.header
            doc.footer = parent.footer
            when = doc.time
            doc.updated_line = f"Updated: {MONTHS[when.month - 1]} {when.day}, {when.year}, {when:%H:%M} GMT"
        else:
            b.dress(doc, always=kind == "verbatim")
        pool.block(doc.text)
        return doc

    first_generation: list[Doc] = []
    for base in bases:
        n = rng.choices(_CHILD_COUNTS, _CHILD_WEIGHTS)[0]
        partners = [d for d in by_story[base.story] if d is not base and d.outlet != base.outlet]
        done: set[str] = set()
        for _ in range(n):
            kinds = [
                k
                for k in _KIND_WEIGHTS
                if not (k in ("stitched", "update") and k in done) and not (k == "stitched" and not partners)
            ]
            kind = rng.choices(kinds, [_KIND_WEIGHTS[k] for k in kinds])[0]
            partner = rng.choice(partners) if kind == "stitched" else None
            child = derive(kind, base, partner)
            if child is not None:
                done.add(kind)
                first_generation.append(child)
    for source in hidden:
        for _ in range(rng.choices((1, 2, 3), (0.5, 0.3, 0.2))[0]):
            child = derive("cites_external", source)
            if child is not None:
                first_generation.append(child)
    # Chains: copies of copies, up to three steps from the original; rolling updates of updates.
    frontier = first_generation
    for depth_p in (0.3, 0.2):
        nxt = []
        for parent in frontier:
            if parent.kind == "update" and rng.random() < 0.4:
                child = derive("update", parent)
                if child is not None:
                    nxt.append(child)
            if rng.random() < depth_p:
                steps = [k for k in _CHAIN_WEIGHTS if not (k == "verbatim" and parent.kind == "verbatim")]
                step = rng.choices(steps, [_CHAIN_WEIGHTS[k] for k in steps])[0]
                child = derive(step, parent)
                if child is not None:
                    nxt.append(child)
        frontier = nxt

    corpus_docs = [d for d in b.docs if not d.hidden]
    for d in corpus_docs:
        d.ts_mode = rng.choices([m for m, _ in _TS_MODES], [w for _, w in _TS_MODES])[0]
    if order == "time":
        corpus_docs.sort(key=lambda d: (d.time, d.key))
    else:
        rng.shuffle(corpus_docs)
    counter = 0
    for d in corpus_docs:
        if d.kind != "update":
            counter += 1
            d.id = f"a{counter:04d}"
    for d in hidden:
        d.id = f"hidden-{d.key}"
    by_key = {d.key: d for d in b.docs}
    updates = sorted((d for d in corpus_docs if d.kind == "update"), key=lambda d: d.depth)
    serial: Counter[int] = Counter()
    for d in sorted(updates, key=lambda d: (d.time, d.key)):
        root = d.update_root if d.update_root is not None else d.key
        serial[root] += 1
        d.id = f"{by_key[root].id}-u{serial[root]}"
    corpus = Corpus(corpus_docs, hidden, by_key, by_id={d.id: d for d in b.docs})
    corpus.family = _families(b.docs)
    return corpus


def _families(docs: list[Doc]) -> dict[int, int]:
    parent = {d.key: d.key for d in docs}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in docs:
        for p in d.parents:
            ra, rb = find(d.key), find(p)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {d.key: find(d.key) for d in docs}


def load_sources(folder: str | Path) -> dict[str, list[str]]:
    """news_ecb's articles as de-tokenised sentences (via benchmarks.datasets.load_news_ecb), each
    sentence once."""
    out = {}
    for article in load_news_ecb(folder):
        sentences = [detokenize(s) for s in article.text.split("\n")]
        out[article.id] = list(dict.fromkeys(s for s in sentences if s))  # a few repeat a sentence
    return out


# ------------------------------------------------------------------------------------------------
# Scoring


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _share(hits: int, n: int) -> float | None:
    return _r(hits / n) if n else None


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    truth = [True] * tp + [False] * fp + [True] * fn
    pred = [True] * tp + [True] * fp + [False] * fn
    p, r, f = precision_recall_f1(truth, pred)
    return {"precision": _r(p), "recall": _r(r), "f1": _r(f), "tp": tp, "fp": fp, "fn": fn}


@dataclass
class _PairTruth:
    edges: dict[frozenset[str], tuple[str, str]]
    """Unordered (child, parent) -> (kind, expected relation)."""
    chain_edges: set[frozenset[str]]
    dont_care: set[frozenset[str]]


def _pair_truth(corpus: Corpus) -> _PairTruth:
    edges: dict[frozenset[str], tuple[str, str]] = {}
    chain: set[frozenset[str]] = set()
    for d in corpus.docs:
        for p in corpus.parents_of(d):
            key = frozenset((d.id, p))
            edges[key] = (d.kind, EXPECTED[d.kind])
            if d.depth >= 2:
                chain.add(key)
    fam_of = {d.id: corpus.family[d.key] for d in corpus.docs}
    # Different families whose bodies share an 8-word shingle: real shared wording, don't care.
    index: dict[int, list[str]] = defaultdict(list)
    for d in corpus.docs:
        for g in shingles8(body_text(d.body)):
            index[g].append(d.id)
    dont_care: set[frozenset[str]] = set()
    for ids in index.values():
        fams = {fam_of[i] for i in ids}
        if len(fams) < 2:
            continue
        for i, a in enumerate(ids):
            for bb in ids[i + 1 :]:
                if fam_of[a] != fam_of[bb]:
                    dont_care.add(frozenset((a, bb)))
    return _PairTruth(edges, chain, dont_care)


def _is_related(pt: _PairTruth, fam_of: Mapping[str, int], key: frozenset[str]) -> bool:
    a, b = tuple(key)
    return key in pt.dont_care or fam_of[a] == fam_of[b]


def _score_pairs(
    corpus: Corpus,
    pt: _PairTruth,
    reported: Mapping[frozenset[str], str],
    paraphrase_only: Mapping[frozenset[str], bool] | None = None,
) -> dict[str, Any]:
    """Pair scores; ``reported`` maps unordered pairs to a relation name ('REUSE' for the baseline),
    ``paraphrase_only`` tells which of them share nothing but PARAPHRASE passages."""
    fam_of = {d.id: corpus.family[d.key] for d in corpus.docs}
    false_pos = {k: r for k, r in reported.items() if k not in pt.edges and not _is_related(pt, fam_of, k)}
    tp = sum(1 for k in pt.edges if k in reported)
    result: dict[str, Any] = {
        "edges": len(pt.edges),
        "any_reuse": _prf(tp, len(false_pos), len(pt.edges) - tp),
    }
    story = {d.id: d.story for d in corpus.docs}
    fp_info: dict[str, Any] = {
        "n": len(false_pos),
        "same_story": sum(1 for k in false_pos if len({story[i] for i in k}) == 1),
    }
    if paraphrase_only is not None:
        fp_info["paraphrase_only"] = sum(1 for k in false_pos if paraphrase_only.get(k))
        fp_info["edges_found_by_paraphrase_only"] = sum(
            1 for k in pt.edges if k in reported and paraphrase_only.get(k)
        )
    fp_info["by_relation"] = dict(sorted(Counter(false_pos.values()).items()))
    result["false_positives"] = fp_info
    classes = sorted(set(EXPECTED.values()))
    if any(r in classes for r in reported.values()):
        by_rel = {}
        for c in classes:
            tp_c = sum(1 for k, (_, e) in pt.edges.items() if e == c and reported.get(k) == c)
            fp_c = sum(1 for k, (_, e) in pt.edges.items() if e != c and reported.get(k) == c)
            fp_c += sum(1 for r in false_pos.values() if r == c)
            fn_c = sum(1 for k, (_, e) in pt.edges.items() if e == c and reported.get(k) != c)
            by_rel[c] = _prf(tp_c, fp_c, fn_c)
        result["by_relation"] = by_rel
    groups: dict[str, list[frozenset[str]]] = defaultdict(list)
    for k, (kind, _) in pt.edges.items():
        groups[kind].append(k)
        if k in pt.chain_edges:
            groups["chain"].append(k)
    by_kind = {}
    for kind in sorted(groups):
        keys = groups[kind]
        found = [k for k in keys if k in reported]
        entry: dict[str, Any] = {"n": len(keys), "found": _share(len(found), len(keys))}
        if "by_relation" in result:
            right = sum(1 for k in found if reported[k] == pt.edges[k][1])
            p = right / len(found) if found else 0.0
            r = right / len(keys)
            entry.update(
                {
                    "expected": EXPECTED.get(kind, "mixed"),
                    "precision": _r(p),
                    "recall": _r(r),
                    "f1": _r(2 * p * r / (p + r) if p + r else 0.0),
                    "reported": dict(sorted(Counter(reported.get(k, "none") for k in keys).items())),
                }
            )
        by_kind[kind] = entry
    result["by_kind"] = by_kind
    return result


def _score_clusters(corpus: Corpus, predicted: Mapping[str, object]) -> dict[str, Any]:
    out = {}
    truths = {
        "families": {d.id: corpus.family[d.key] for d in corpus.docs},
        "stories": {d.id: d.story for d in corpus.docs},
    }
    for name, truth in truths.items():
        p, r, f = bcubed(truth, predicted)
        out[name] = {
            "ari": _r(adjusted_rand_index(truth, predicted)),
            "bcubed_precision": _r(p),
            "bcubed_recall": _r(r),
            "bcubed_f1": _r(f),
            "true_clusters": len(set(truth.values())),
        }
    out["predicted_clusters"] = len(set(predicted.values()))
    return out


def _timestamp_pair(child: Doc, parent: Doc) -> str:
    modes = {child.ts_mode, parent.ts_mode}
    if "none" in modes:
        return "missing"
    return "date_only" if "date" in modes else "both_exact"


def _indistinguishable(corpus: Corpus, doc: Doc, top: str) -> bool:
    """Whether the child's sentences found word for word in ``top`` are exactly those found word for
    word in a true parent: then nothing in the texts tells the two apart (a verbatim copy of the
    parent, a sibling with the same prefix), only publication times can."""
    mine = set(flatten(doc.body))
    theirs = mine & set(flatten(corpus.by_id[top].body))
    return bool(theirs) and any(theirs == mine & set(flatten(corpus.by_key[k].body)) for k in doc.parents)


def _parent_error(corpus: Corpus, doc: Doc, top: str, descendants: set[str]) -> str:
    """What the wrongly predicted parent ``top`` of ``doc`` is to it."""
    predicted = corpus.by_id[top]
    if top in descendants:
        return "own_descendant"
    if doc.parents and _indistinguishable(corpus, doc, top):
        return "indistinguishable"
    if top in corpus.ancestors(doc):
        return "ancestor"
    if set(predicted.parents) & set(doc.parents):
        return "sibling"
    if corpus.family[predicted.key] == corpus.family[doc.key]:
        return "same_family_other"
    return "other_family"


def _score_parents(corpus: Corpus, analysis: Analysis, timestamps: bool) -> dict[str, Any]:
    docs = {d.id: d for d in analysis.documents}
    children: dict[int, list[int]] = defaultdict(list)
    for d in corpus.docs:
        for k in d.parents:
            children[k].append(d.key)

    def descendants(doc: Doc) -> set[str]:
        seen: set[int] = set()
        stack = list(children[doc.key])
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(children[k])
        return {corpus.by_key[k].id for k in seen}

    kinds: dict[str, list[bool]] = defaultdict(list)
    ancestor: list[bool] = []
    equivalent: list[bool] = []
    by_ts: dict[str, list[bool]] = defaultdict(list)
    roots: list[bool] = []
    stitched_both: list[bool] = []
    errors: dict[str, Counter[str]] = {"derived": Counter(), "roots": Counter()}
    for d in corpus.docs:
        predicted = [p.id for p in docs[d.id].parents]
        top = predicted[0] if predicted else None
        truth = corpus.parents_of(d)
        if not truth:
            roots.append(top is None)
            kinds["root:" + ("cites_external" if d.kind == "cites_external" else "base")].append(top is None)
            if top is not None:
                errors["roots"][_parent_error(corpus, d, top, descendants(d))] += 1
            continue
        ok = top in truth
        kinds[d.kind].append(ok)
        if d.depth >= 2:
            kinds["chain"].append(ok)
        ancestor.append(top is not None and top in corpus.ancestors(d))
        equivalent.append(ok or (top is not None and _indistinguishable(corpus, d, top)))
        by_ts[_timestamp_pair(d, corpus.by_key[d.parents[0]])].append(ok)
        if d.kind == "stitched":
            stitched_both.append(set(predicted) == set(truth))
        if not ok:
            error = "no_parent" if top is None else _parent_error(corpus, d, top, descendants(d))
            errors["derived"][error] += 1
    derived = [ok for k, v in kinds.items() if not k.startswith("root:") and k != "chain" for ok in v]
    result: dict[str, Any] = {
        "derived": _share(sum(derived), len(derived)),
        "derived_or_indistinguishable": _share(sum(equivalent), len(equivalent)),
        "ancestor": _share(sum(ancestor), len(ancestor)),
        "roots": _share(sum(roots), len(roots)),
        "all": _share(sum(derived) + sum(roots), len(derived) + len(roots)),
        "stitched_both": _share(sum(stitched_both), len(stitched_both)),
        "n_derived": len(derived),
        "n_roots": len(roots),
        "by_kind": {k: {"n": len(v), "accuracy": _share(sum(v), len(v))} for k, v in sorted(kinds.items())},
        "errors": {k: dict(sorted(v.items())) for k, v in errors.items()},
    }
    if timestamps:
        result["by_timestamp"] = {
            k: {"n": len(v), "accuracy": _share(sum(v), len(v))} for k, v in sorted(by_ts.items())
        }
    return result


def _score_external(corpus: Corpus, analysis: Analysis) -> dict[str, Any]:
    docs = {d.id: d for d in analysis.documents}
    listed: dict[str, list[bool]] = defaultdict(list)
    by_template: dict[str, list[bool]] = defaultdict(list)
    cited_parent: list[bool] = []
    not_listed: list[bool] = []
    for d in corpus.docs:
        if d.cites is None:
            continue
        result = docs[d.id]
        names = {s.name for s in result.external_sources}
        if d.kind == "cites_external":
            ok = canonical_outlet(d.cites) in names
            listed[d.external or "?"].append(ok)
            by_template[d.cite_template or "?"].append(ok)
        else:
            top = result.parents[0].id if result.parents else None
            cited_parent.append(top in corpus.parents_of(d))
            not_listed.append(canonical_outlet(d.cites) not in names)
    all_ext = [ok for v in listed.values() for ok in v]
    return {
        "cites_external": {
            "n": len(all_ext),
            "listed": _share(sum(all_ext), len(all_ext)),
            "by_outlet": {
                k: {"n": len(v), "listed": _share(sum(v), len(v))} for k, v in sorted(listed.items())
            },
            "by_phrase": {
                k: {"n": len(v), "listed": _share(sum(v), len(v))} for k, v in sorted(by_template.items())
            },
        },
        "cites_corpus": {
            "n": len(cited_parent),
            "parent_is_cited": _share(sum(cited_parent), len(cited_parent)),
            "not_listed_as_external": _share(sum(not_listed), len(not_listed)),
        },
    }


def score_dedup(corpus: Corpus, pt: _PairTruth, analysis: Analysis, timestamps: bool) -> dict[str, Any]:
    reuse = [p for p in analysis.pairs if p.relation in REUSE_RELATIONS]
    reported = {frozenset((p.a, p.b)): p.relation.value for p in reuse}
    paraphrase_only = {
        frozenset((p.a, p.b)): all(x.kind is PassageKind.PARAPHRASE for x in p.passages) for p in reuse
    }
    return {
        "pairs": _score_pairs(corpus, pt, reported, paraphrase_only),
        "clusters": _score_clusters(corpus, {d.id: d.cluster for d in analysis.documents}),
        "parents": _score_parents(corpus, analysis, timestamps),
        "external_sources": _score_external(corpus, analysis),
    }


def score_baseline(corpus: Corpus, pt: _PairTruth, threshold: float) -> dict[str, Any]:
    started = time.perf_counter()
    baseline = MinHashBaseline(threshold=threshold)
    texts = {d.id: d.text for d in corpus.docs}
    pairs = baseline.pairs(texts)
    clusters = baseline.clusters(texts)
    seconds = time.perf_counter() - started
    reported = {frozenset(k): "REUSE" for k in pairs}
    return {
        "threshold": threshold,
        "pairs": _score_pairs(corpus, pt, reported),
        "clusters": _score_clusters(corpus, clusters),
        "parents": None,
        "external_sources": None,
        "seconds": round(seconds, 2),
    }


def corpus_summary(corpus: Corpus, seed: int, size: int, order: str) -> dict[str, Any]:
    fams = {corpus.family[d.key] for d in corpus.docs}
    return {
        "seed": seed,
        "size": size,
        "order": order,
        "articles": len(corpus.docs),
        "hidden_sources": len(corpus.hidden),
        "families": len(fams),
        "stories": len({d.story for d in corpus.docs}),
        "by_kind": dict(sorted(Counter(d.kind for d in corpus.docs).items())),
        "chained": sum(1 for d in corpus.docs if d.depth >= 2),
        "max_depth": max((d.depth for d in corpus.docs), default=0),
        "timestamps": dict(sorted(Counter(d.ts_mode for d in corpus.docs).items())),
        "expected_relation": EXPECTED,
    }


def _write_out(folder: Path, corpus: Corpus, analyses: Mapping[str, Analysis]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.docs:
            row: dict[str, Any] = {"id": d.id, "text": d.text, "outlet": d.outlet}
            if d.timestamp():
                row["published_at"] = d.timestamp()
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (folder / "truth.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.docs:
            f.write(json.dumps(corpus.truth(d), ensure_ascii=False) + "\n")
    with (folder / "hidden.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.hidden:
            row = {"id": d.id, "text": d.text, "outlet": d.outlet, "external": d.external, "story": d.story}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for name, analysis in analyses.items():
        data = analysis.to_dict()
        data.pop("clusters", None)
        (folder / f"dedup_{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _log(message: str) -> None:
    print(f"[syndication] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, detector: Detector | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.syndication",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base",
        default=str(DEFAULT_DATA / "news_ecb"),
        help="news_ecb folder with docs.json (default: %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help="number of base articles, at most 217 (default %(default)s: about 1,200 articles in all, "
        "10 minutes on two busy CPU cores)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the corpus (default %(default)s)")
    parser.add_argument(
        "--order",
        choices=("shuffled", "time"),
        default="shuffled",
        help="order dedup is given the articles: seeded random (default) or publication time",
    )
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=[0.5, 0.3],
        help="Jaccard thresholds of the MinHash baseline (default: 0.5 0.3)",
    )
    parser.add_argument("--out", help="write the corpus, its truth and dedup's answers to this folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sources = load_sources(args.base)
    try:
        corpus = build_corpus(sources, args.size, args.seed, args.order)
    except ValueError as exc:
        parser.error(str(exc))
    pt = _pair_truth(corpus)
    _log(f"corpus: {len(corpus.docs)} articles from {args.size} base articles")
    detector = detector or Detector()
    result: dict[str, Any] = {
        "benchmark": "syndication",
        "corpus": corpus_summary(corpus, args.seed, args.size, args.order),
    }
    dedup_scores: dict[str, Any] = {}
    analyses = {}
    for name, with_ts in (("with_timestamps", True), ("without_timestamps", False)):
        t0 = time.perf_counter()
        analysis = detector.analyze(corpus.articles(timestamps=with_ts))
        seconds = time.perf_counter() - t0
        _log(f"dedup {name}: {seconds:.1f} s")
        scores = score_dedup(corpus, pt, analysis, with_ts)
        scores["seconds"] = round(seconds, 2)
        scores["articles_per_second"] = round(len(corpus.docs) / seconds, 2) if seconds else None
        dedup_scores[name] = scores
        analyses[name] = analysis
    result["dedup"] = dedup_scores
    result["baseline"] = {f"minhash_{t}": score_baseline(corpus, pt, t) for t in args.thresholds}
    result["notes"] = {
        "parents": "baseline parents and external sources are null: it has neither (n/a, not 0)",
        "baseline_pairs": "a pair the baseline flags counts as 'any reuse relation'",
        "clusters": "'stories' = news_ecb story of the base article; 'families' = derivation families",
        "rewrite": "rewrites are rule-based (word table, clause reordering, dropped sentences), not a model",
    }
    if args.out:
        _write_out(Path(args.out), corpus, analyses)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
