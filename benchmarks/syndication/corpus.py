"""The corpus and its truth: base articles from real news, derived ones made from them."""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.datasets import NEWS_ECB_KINDS, load_news_ecb, story_of
from benchmarks.syndication.text import (
    add_citation,
    add_material,
    body_text,
    detokenize,
    flatten,
    is_prose,
    light_edit,
    make_paragraphs,
    reorder,
    rewrite,
    shingles8,
    stitch,
    trim,
    update,
    word_count,
    words,
)
from benchmarks.syndication.vocab import (
    EXPECTED,
    EXTERNAL_RECOGNISED,
    EXTERNAL_UNLISTED,
    FIRST_NAMES,
    LAST_NAMES,
    MONTHS,
    OUTLETS,
    Paragraphs,
)
from dedup.article import Article, parse_timestamp
from dedup.segment import split_sentences

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
    burst: bool = False
    """An agency original or one of the many copies outlets republished within minutes of it."""
    parts: tuple[tuple[str, int], ...] = ()
    """For a roundup: the story and the word count of each source's part, in order."""

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
    kinds: dict[str, str] = field(default_factory=dict)
    """The kind of event of each story, where the base corpus says (two earthquakes are one kind)."""

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
            "burst": doc.burst or None,
            "roundup_parts": [list(x) for x in doc.parts] or None,
        }


class _Pool:
    """Sentences of ECB+ articles not used as base or hidden articles: the outlets' own material for
    updates and rewrites. A sentence is used at most once, and only if none of its 8-word shingles
    is in any text of the corpus or in a sentence used before."""

    def __init__(self, base: BaseCorpus, used: set[str], rng: random.Random) -> None:
        self.by_story: dict[str, list[str]] = defaultdict(list)
        for doc_id in sorted(base.sentences):
            if doc_id in used:
                continue
            for s in base.sentences[doc_id]:
                if len(words(s)) >= 8 and not re.search(r"[\"“”]", s) and re.search(r"[.!?]$", s):
                    self.by_story[base.story[doc_id]].append(s)
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
        d for d in sorted(sources) if len(sources[d]) >= min_sentences and word_count(sources[d]) >= min_words
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
    return [[sentences[0]], *make_paragraphs(list(sentences[1:]), rng)]


@dataclass(frozen=True)
class BaseCorpus:
    """Real articles to build a corpus from: each one's sentences (de-tokenised) and story (one
    event), and, where known, the kind of event each story is (two earthquakes are one kind)."""

    sentences: dict[str, list[str]]
    story: dict[str, str]
    kind: dict[str, str] = field(default_factory=dict)

    def kind_of(self, story: str) -> str:
        return self.kind.get(story, f"story {story}")

    def split(self, name: str) -> BaseCorpus:
        """The articles of the split's stories. Every kind's stories are dealt in turn (seeded, the
        same every run) to the two splits, so each split holds events of one kind, and no story, so
        no base article, is in both."""
        if name == "all":
            return self
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)} or 'all'")
        by_kind: dict[str, list[str]] = defaultdict(list)
        for story in sorted(set(self.story.values()), key=_story_key):
            by_kind[self.kind_of(story)].append(story)
        chosen: set[str] = set()
        turn = 0
        for kind in sorted(by_kind):
            stories = by_kind[kind]
            random.Random(f"split:{kind}").shuffle(stories)
            for story in stories:
                if turn % 2 == list(SPLITS).index(name):
                    chosen.add(story)
                turn += 1
        keep = {d for d, s in self.story.items() if s in chosen}
        return BaseCorpus(
            {d: v for d, v in self.sentences.items() if d in keep},
            {d: s for d, s in self.story.items() if d in keep},
            {s: k for s, k in self.kind.items() if s in chosen},
        )


def _story_key(story: str) -> tuple[int, str]:
    return (int(story), story) if story.isdigit() else (1 << 30, story)


SPLITS = {"tune": 1, "report": 2}
"""The two splits and the seed each is built with by default: thresholds are chosen on ``tune``,
figures are reported on ``report``. They share no story, so no base article."""


def load_base(path: str | Path) -> BaseCorpus:
    """The real articles a corpus is built from: a news_ecb folder (docs.json; the story is the number
    before "_" in the id, kinds from ``benchmarks.datasets.NEWS_ECB_KINDS``), or a JSONL file of
    ``{"id", "text", "story"}`` objects with an optional ``"kind"`` (one sentence a line, or running
    text that dedup's sentence splitter cuts)."""
    p = Path(path)
    if p.is_dir():
        sentences = load_sources(p)
        return BaseCorpus(
            sentences,
            {d: story_of(d) for d in sentences},
            {s: k for s, k in NEWS_ECB_KINDS.items() if any(story_of(d) == s for d in sentences)},
        )
    sentences, story, kind = {}, {}, {}
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, text, doc_story = str(row["id"]), str(row["text"]), str(row["story"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{p}:{n}: not an object with id, text and story ({exc})") from None
            lines = [s.strip() for s in text.split("\n") if s.strip()]
            if len(lines) < 6:
                lines = [text[s.start : s.end].strip() for s in split_sentences(text)]
            sentences[doc_id] = list(dict.fromkeys(s for s in lines if s))
            story[doc_id] = doc_story
            if row.get("kind"):
                kind[doc_story] = str(row["kind"])
    return BaseCorpus(sentences, story, kind)


WINDOW_DAYS = 28
"""Every story of a corpus starts within these many days; stories of one kind start 2 to 9 days
apart, so that two earthquakes, or two elections, are in the news within days of each other."""


def _story_days(stories: Sequence[str], base: BaseCorpus, rng: random.Random) -> dict[str, datetime]:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for story in stories:
        by_kind[base.kind_of(story)].append(story)
    days: dict[str, datetime] = {}
    for kind in sorted(by_kind):
        group = by_kind[kind]
        rng.shuffle(group)
        day = rng.randint(0, WINDOW_DAYS - 1 if len(group) == 1 else max(0, WINDOW_DAYS - 9 * len(group)))
        for story in group:
            days[story] = start + timedelta(days=day)
            day += rng.randint(2, 9)
    return days


WIRES = ("Continental Newswire", "Meridian Press Agency", "Atlas Wire Service", "Harbourline News Agency")
"""Invented news agencies whose copy many outlets republish within minutes."""


def build_corpus(
    base: BaseCorpus | Mapping[str, Sequence[str]],
    size: int,
    seed: int,
    order: str = "shuffled",
    hidden_share: float = 0.12,
    burst_share: float = 0.08,
    roundup_share: float = 0.06,
) -> Corpus:
    """The corpus and its truth from ``base`` (or a mapping of news_ecb ids to de-tokenised
    sentences)."""
    if not isinstance(base, BaseCorpus):
        base = BaseCorpus(dict(base), {d: story_of(d) for d in base})
    sources = base.sentences
    rng = random.Random(seed)
    selected = _select(sources, rng)
    n_hidden = max(1, round(size * hidden_share))
    if size < 1 or size + n_hidden > len(selected):
        raise ValueError(
            f"--size {size} needs {size + n_hidden} usable articles (bases and hidden sources); "
            f"only {len(selected)} qualify, so the most is {max(0, int(len(selected) / (1 + hidden_share)))}"
        )
    base_ids, hidden_ids = selected[:size], selected[size : size + n_hidden]
    pool = _Pool(base, set(base_ids) | set(hidden_ids), random.Random(rng.random()))
    b = _Builder(rng)
    story_day = _story_days(sorted({base.story[d] for d in base_ids + hidden_ids}, key=_story_key), base, rng)

    def story_time(story: str) -> datetime:
        return story_day[story] + timedelta(minutes=rng.randint(6 * 60, 54 * 60))

    bases = []
    for src in base_ids:
        story = base.story[src]
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
        story = base.story[src]
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

    def derive(kind: str, parent: Doc, partner: Doc | None = None, minutes: int | None = None) -> Doc | None:
        """A child of ``parent`` made the way ``kind`` says (``minutes`` after it, else 10 minutes to
        18 hours); None when the material runs out."""
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
            new = pool.take(parent.story, round(0.22 * word_count(flatten(parent.body))))
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
            material = pool.take(parent.story, round(0.5 * word_count(sentences)))
            if material is None:
                return None
            if kind != "rewrite":
                cites = parent.outlet
                sentences, template = add_citation(sentences, cites, rng)
            body = add_material(sentences, material, rng)
        parents = [parent] if partner is None else [parent, partner]
        when = b.later(*parents) if minutes is None else parent.time + timedelta(minutes=minutes)
        doc = b.new(kind=kind, outlet=outlet, body=body, time=when, **common)
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

    # Agency copy: a few base articles are a wire's, republished by many outlets within minutes.
    n_bursts = max(1, round(size * burst_share))
    burst_copies: list[Doc] = []
    for wire_doc in rng.sample(bases, min(n_bursts, len(bases))):
        wire_doc.outlet = rng.choice(WIRES)
        wire_doc.header = wire_doc.footer = None
        b.dress(wire_doc, always=True)
        wire_doc.burst = True
        for _ in range(rng.randint(5, 12)):
            kind = rng.choices(("verbatim", "light_edit", "trimmed"), (0.6, 0.25, 0.15))[0]
            child = derive(kind, wire_doc, minutes=rng.randint(2, 45))
            if child is not None:
                child.burst = True
                burst_copies.append(child)

    first_generation: list[Doc] = []
    for base_doc in bases:
        n = rng.choices(_CHILD_COUNTS, _CHILD_WEIGHTS)[0]
        partners = [d for d in by_story[base_doc.story] if d is not base_doc and d.outlet != base_doc.outlet]
        done: set[str] = set()
        for _ in range(n):
            kinds = [
                k
                for k in _KIND_WEIGHTS
                if not (k in ("stitched", "update") and k in done) and not (k == "stitched" and not partners)
            ]
            kind = rng.choices(kinds, [_KIND_WEIGHTS[k] for k in kinds])[0]
            partner = rng.choice(partners) if kind == "stitched" else None
            child = derive(kind, base_doc, partner)
            if child is not None:
                done.add(kind)
                first_generation.append(child)
    for source in hidden:
        for _ in range(rng.choices((1, 2, 3), (0.5, 0.3, 0.2))[0]):
            child = derive("cites_external", source)
            if child is not None:
                first_generation.append(child)
    # Roundups: the leads of two to four stories of the same days, one section each.
    for _ in range(max(2, round(size * roundup_share))):
        roundup = _roundup(b, bases, rng)
        if roundup is not None:
            pool.block(roundup.text)
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
    for d in burst_copies:  # an agency's copies carry exact times; its own feed often none
        d.ts_mode = "exact"
    for wire_doc in sorted({b.docs[d.parents[0]].key for d in burst_copies}):
        if rng.random() < 0.4:
            b.docs[wire_doc].ts_mode = "none"
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
    corpus = Corpus(corpus_docs, hidden, by_key, by_id={d.id: d for d in b.docs}, kinds=dict(base.kind))
    corpus.family = _families(b.docs)
    return corpus


ROUNDUP_TITLES = ("The day's top stories", "News in brief", "What you need to know today", "Morning briefing")


def _roundup(b: _Builder, bases: Sequence[Doc], rng: random.Random) -> Doc | None:
    """A roundup: a title, then for each of two to four stories, a section of one source (its headline
    and its lead: its first one or two paragraphs of prose, at least 40 words). The stories are those
    of the bases published nearest in time to a random one (within three days where there are
    enough). Its story is the story of its longest section; each source is a parent."""
    anchor = rng.choice(bases)
    n = rng.choices((2, 3, 4), (0.3, 0.5, 0.2))[0]
    gap: dict[str, float] = {}
    by_story: dict[str, list[Doc]] = defaultdict(list)
    for d in bases:
        if d.story != anchor.story:
            by_story[d.story].append(d)
            seconds = abs((d.time - anchor.time).total_seconds())
            gap[d.story] = min(gap.get(d.story, seconds), seconds)
    nearest = sorted(by_story, key=lambda s: (gap[s], s))
    if len(nearest) < n - 1:
        return None
    near = [s for s in nearest if gap[s] <= 3 * 86400]
    pick = rng.sample(near, n - 1) if len(near) >= n - 1 else nearest[: n - 1]
    sources = [anchor] + [rng.choice(by_story[s]) for s in pick]
    rng.shuffle(sources)
    when = max(d.time for d in sources)
    body: Paragraphs = [[f"{rng.choice(ROUNDUP_TITLES)}: {MONTHS[when.month - 1]} {when.day}"]]
    parts = []
    for src in sources:
        # The source's headline and its lead: its first paragraphs of prose (datelines and bylines
        # left out), one or two of them and at least 40 words.
        prose = [list(p) for p in src.body[1:] if any(is_prose(s) for s in p)]
        lead: Paragraphs = []
        for paragraph in prose:
            if len(lead) >= rng.randint(1, 2) and word_count(flatten(lead)) >= 40:
                break
            lead.append(paragraph)
        section = [list(src.body[0]), *lead]
        body.extend(section)
        parts.append((src.story, word_count(flatten(section))))
    largest = max(range(len(parts)), key=lambda i: (parts[i][1], -i))
    doc = b.new(
        kind="roundup",
        outlet=b.other_outlet(*(d.outlet for d in sources)),
        body=body,
        time=when + timedelta(minutes=rng.randint(30, 10 * 60)),
        story=sources[largest].story,
        source=sources[largest].source,
        parents=tuple(d.key for d in sources),
        depth=max(d.depth for d in sources) + 1,
    )
    doc.parts = tuple(parts)
    b.dress(doc)
    return doc


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
