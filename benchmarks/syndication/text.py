"""Text transformations newsrooms apply: house-style edits, trims, reorderings, rule-based rewrites,
stitches, updates and citations, quotes kept character for character."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from benchmarks.syndication.vocab import NO_ARTICLE, WEEKDAYS, Paragraphs

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


def word_count(sentences: Iterable[str]) -> int:
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


def is_prose(sentence: str) -> bool:
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
    total = max(1, word_count(sentences))
    target = rng.uniform(*keep_share) * total
    keep = list(range(len(sentences)))
    droppable = [i for i in keep[2:] if not has_quote[i]]
    rng.shuffle(droppable)
    quoted_droppable = [i for i in reversed(keep[2:]) if has_quote[i]]
    for i in droppable + quoted_droppable:
        if word_count(sentences[j] for j in keep) <= target:
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
    return [sentences[:1], *make_paragraphs(body, rng)]


def make_paragraphs(sentences: list[str], rng: random.Random) -> Paragraphs:
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
    total = word_count(flatten(paragraphs))
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
    total_a, total_b = word_count(flatten(first)), word_count(flatten(second))
    for _ in range(50):
        ka = rng.randint(1, max(1, len(a_body) - 1))
        kb = rng.randint(1, max(1, len(b_body) - 1))
        head = [list(p) for p in first[:1] + a_body[:ka]]
        tail = [list(p) for p in b_body[len(b_body) - kb :]]
        na, nb = word_count(flatten(head)), word_count(flatten(tail))
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
    elif outlet in NO_ARTICLE or rng.random() < 0.5:
        name = outlet
    else:
        name = "the " + outlet
    return _cap(name) if start else name


def add_citation(sentences: list[str], outlet: str, rng: random.Random) -> tuple[list[str], str]:
    """Name ``outlet`` as the source in the first unquoted sentence of prose after the headline (or
    in a new sentence after the lead when there is none). Returns the sentences and the phrasing."""
    out = list(sentences)
    masks = quote_mask(out)
    target = next((i for i in range(1, len(out)) if not any(masks[i]) and is_prose(out[i])), None)
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
