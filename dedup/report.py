"""Rendering an analysis: JSON for tools, text for people.

The text report is read story by story: who the articles are (a letter each),
where each comes from, which pairs share passages (each pair once; pairs of
the same story sharing nothing on one line) and the shared passages
themselves, each stretch of text once with every article that holds it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dedup.article import Article, Timestamp
from dedup.passage_groups import PassageGroup, group_passages
from dedup.results import Analysis, ClusterResult, DocumentResult, PairResult, PassageKind, Relation

__all__ = [
    "ReportView",
    "article_labels",
    "describe_article",
    "format_time",
    "quote_excerpt",
    "render_json",
    "render_text",
    "summary",
]

WIDTH = 100
"""Columns of the text report."""


_COMPACT = json.JSONEncoder(ensure_ascii=False)
"""Compact JSON on one line (the C encoder: ``indent`` would take the pure-Python one, ten times slower)."""


def render_json(analysis: Analysis) -> str:
    """The analysis as one JSON object whose lists hold one record a line: each article, cluster and
    pair on a line of its own, compact within. A reader scans it record by record, a line tool picks
    records out, and it is written in a tenth of the time an indented dump takes."""
    return _records_a_line(analysis.to_dict())


def _records_a_line(obj: Mapping[str, object]) -> str:
    fields = []
    for key, value in obj.items():
        name = _COMPACT.encode(key)
        if isinstance(value, list) and value:
            records = ",\n".join("    " + _COMPACT.encode(v) for v in value)
            fields.append(f"  {name}: [\n{records}\n  ]")
        else:
            fields.append(f"  {name}: {_COMPACT.encode(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: spreadsheet column names."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def _published_key(article: Article | None) -> tuple[int, float]:
    if article is None or article.published_at is None:
        return (1, 0.0)
    return (0, article.published_at.value.timestamp())


def article_labels(analysis: Analysis, articles: Mapping[str, Article]) -> dict[str, str]:
    """A short label (A, B, ..., AA) for every article: story by story, earliest published first,
    then in input order."""
    position = {doc_id: i for i, doc_id in enumerate(articles)}
    labels: dict[str, str] = {}
    for c in analysis.clusters:
        for doc_id in sorted(
            c.documents, key=lambda d: (_published_key(articles.get(d)), position.get(d, len(position)))
        ):
            labels.setdefault(doc_id, _letters(len(labels)))
    for d in analysis.documents:
        labels.setdefault(d.id, _letters(len(labels)))
    return labels


def format_time(stamp: Timestamp) -> str:
    """A publication time for readers: "2025-03-04 08:00 UTC", or the date alone when only that is known."""
    if stamp.date_only:
        return stamp.isoformat()
    return stamp.value.strftime("%Y-%m-%d %H:%M %Z").strip()


def describe_article(doc_id: str, article: Article | None, limit: int = WIDTH) -> str:
    """Outlet, time and title where known, then the id; the title is cut to fit ``limit``."""
    if article is None:
        return doc_id
    head = [x for x in (article.outlet,) if x]
    if article.published_at is not None:
        head.append(format_time(article.published_at))
    tail = f"  ({doc_id})" if head or article.title else doc_id
    text = " · ".join(head)
    if article.title:
        room = limit - len(text) - len(tail) - 5
        text = (
            f"{text} · “{_flat(article.title, max(room, 12))}”"
            if text
            else f"“{_flat(article.title, max(room, 12))}”"
        )
    return text + tail


def _flat(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


_QUOTES = "\"'“”‘’«»„"


def quote_excerpt(text: str, limit: int) -> str:
    """The passage in curly quotes (its own quote marks at either end dropped), cut to ``limit``."""
    return f"“{_flat(text.strip().strip(_QUOTES).strip(), limit - 2)}”"


def _wrap(text: str, indent: str, limit: int) -> list[str]:
    return textwrap.wrap(_flat(text, limit), WIDTH, initial_indent=indent, subsequent_indent=indent)


def _origin(d: DocumentResult, label: Mapping[str, str]) -> list[str]:
    """Where one article comes from, in a line or a few."""
    me = label[d.id]
    lines: list[str] = []
    for i, par in enumerate(d.parents):
        head = f"    {me:<3} derives from" if i == 0 else f"    {'':<3} and from"
        basis = f", ordered by {par.basis}" if par.basis else ", nothing orders them firmly"
        lines.append(
            f"{head} {label.get(par.id, par.id)}: confidence {par.confidence:.2f}{basis}; "
            f"it explains {par.coverage:.0%} of {me}"
        )
        if par.alternatives:
            alts = ", ".join(label.get(a, a) for a in par.alternatives)
            lines.append(f"        or, just as well, from {alts}")
        if par.cautions:
            lines.append(f"        caution: {', '.join(c.replace('_', ' ') for c in par.cautions)}")
    g = d.duplicate_group
    if g is not None:
        others = ", ".join(label.get(m, m) for m in g.documents if m != d.id)
        originals = ", ".join(label.get(m, m) for m in g.originals)
        lines.append(
            f"    {me:<3} near-identical to {others}; which came first is undetermined "
            f"(the original is one of {originals})"
        )
    if not lines:
        lines.append(f"    {me:<3} an original here: it derives from no article in this set")
    if d.external_sources:
        cites = "; ".join(f"{s.name} (“{_flat(s.evidence, 70)}”)" for s in d.external_sources)
        lines.extend(
            textwrap.wrap(f"cites {cites}", WIDTH, initial_indent="        ", subsequent_indent="          ")
        )
    return lines


def _pair_lines(pairs: Sequence[PairResult], label: Mapping[str, str], indent: str = "    ") -> list[str]:
    lines = []
    shared = [p for p in pairs if p.relation is not Relation.SAME_STORY]
    shared.sort(
        key=lambda p: (label[p.a], label[p.b]) if label[p.a] <= label[p.b] else (label[p.b], label[p.a])
    )
    for p in shared:
        a, b = (p.a, p.b) if label[p.a] <= label[p.b] else (p.b, p.a)
        name = f"{label[a]}–{label[b]}"
        lines.append(
            f"{indent}{name:<7} {p.relation.value:<17}  {p.coverage_of(a):>4.0%} of {label[a]:<3} "
            f"{p.coverage_of(b):>4.0%} of {label[b]}"
        )
    same = sorted(
        "–".join(sorted((label[p.a], label[p.b]))) for p in pairs if p.relation is Relation.SAME_STORY
    )
    if same:
        lines.extend(
            textwrap.wrap(
                f"same story, nothing shared: {', '.join(same)}",
                WIDTH,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
            )
        )
    return lines


def _group_lines(n: int, g: PassageGroup, label: Mapping[str, str], texts: Mapping[str, str]) -> list[str]:
    holders = " ".join(label[d] for d in g.documents)
    quoted = " · quoted or credited" if g.attributed else ""
    lines = [f"    {n}. {g.kind.value}{quoted} · in {holders}"]
    if g.kind is PassageKind.PARAPHRASE:
        # Other words on each side: show each wording, a line each.
        for s in g.spans[:4]:
            lines.append(
                f"       {label[s.doc]:<3} {quote_excerpt(texts[s.doc][s.start : s.end], WIDTH - 11)}"
            )
        if len(g.spans) > 4:
            lines.append(f"       … and {len(g.spans) - 4} more")
    else:
        # The same words: show them once, from the first article that holds them.
        s = g.spans[0]
        lines.extend(
            _wrap(quote_excerpt(texts[s.doc][s.start : s.end], 2 * (WIDTH - 7)), "       ", 2 * (WIDTH - 7))
        )
    return lines


def summary(analysis: Analysis) -> str:
    """One sentence: how many articles, stories, pairs sharing passages and articles derived."""
    sharing = sum(1 for p in analysis.pairs if p.relation is not Relation.SAME_STORY)
    copied = sum(1 for d in analysis.documents if d.parents)
    return (
        f"{_count(len(analysis.documents), 'article')} in {_count(len(analysis.clusters), 'story cluster')}; "
        f"{_count(sharing, 'pair')} share passages; "
        + (f"{copied} derive from another article here." if copied else "none derives from another here.")
    )


@dataclass(frozen=True)
class ReportView:
    """What every report needs, worked out once: labels, the reading order, the texts, and the
    pairs inside each story and across stories."""

    label: dict[str, str]
    order: dict[str, int]
    texts: dict[str, str]
    docs: dict[str, DocumentResult]
    inside: dict[str, list[PairResult]]
    across: list[PairResult]

    @classmethod
    def of(cls, analysis: Analysis, articles: Mapping[str, Article]) -> ReportView:
        label = article_labels(analysis, articles)
        order = {d: i for i, d in enumerate(sorted(label, key=lambda d: (len(label[d]), label[d])))}
        cluster_of = {d.id: d.cluster for d in analysis.documents}
        inside: dict[str, list[PairResult]] = {c.id: [] for c in analysis.clusters}
        across: list[PairResult] = []
        for p in analysis.pairs:
            ca, cb = cluster_of.get(p.a), cluster_of.get(p.b)
            if ca is not None and ca == cb and ca in inside:
                inside[ca].append(p)
            else:
                across.append(p)
        return cls(
            label, order, {d: a.text for d, a in articles.items()},
            {d.id: d for d in analysis.documents}, inside, across,
        )  # fmt: skip


def render_text(analysis: Analysis, articles: Mapping[str, Article]) -> str:
    """A report for people, story by story (see the module's docstring)."""
    view = ReportView.of(analysis, articles)
    label, order, texts, docs, across = view.label, view.order, view.texts, view.docs, view.across
    out = [summary(analysis)]
    for c in analysis.clusters:
        out.append("")
        out.extend(_cluster_lines(c, view.inside[c.id], docs, label, articles, texts, order))
    if across:
        out += ["", "Across stories (an article quoting or stitching in another story)"]
        out += _pair_lines(across, label, indent="  ")
        for n, g in enumerate(group_passages(across, order), start=1):
            out += _group_lines(n, g, label, texts)
    return "\n".join(out).rstrip() + "\n"


def _cluster_lines(
    c: ClusterResult,
    pairs: Sequence[PairResult],
    docs: Mapping[str, DocumentResult],
    label: Mapping[str, str],
    articles: Mapping[str, Article],
    texts: Mapping[str, str],
    order: Mapping[str, int],
) -> list[str]:
    members = sorted(c.documents, key=lambda d: order[d])
    lines = [f"Story {c.id}: {_count(len(members), 'article')}"]
    for d in members:
        lines.append(f"  {label[d]:<3} {describe_article(d, articles.get(d), WIDTH - 6)}")
    lines += ["  Where each comes from"]
    for d in members:
        lines += _origin(docs[d], label)
    if pairs:
        lines += ["  Pairs (share of each article the other covers)"]
        lines += _pair_lines(pairs, label)
    groups = group_passages(pairs, order)
    if groups:
        lines += ["  Shared passages (each once, with the articles that hold it)"]
        for n, g in enumerate(groups, start=1):
            lines += _group_lines(n, g, label, texts)
    return lines
