"""The corpus and its truth: base articles from real news, derived ones made from them."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_news_ecb, story_of
from benchmarks.syndication.text import (
    add_citation,
    add_material,
    body_text,
    detokenize,
    flatten,
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
from dedup.document import Article, parse_timestamp

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
