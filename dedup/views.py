"""What the command line's server commands print: JSON for tools, text for people.

Both show times in RFC 3339 (UTC) and scores rounded to three places. The JSON is the client's
objects as plain data (enums by name, ``None`` as null); the text names each article by outlet, time
and title where known, and quotes the passages it shares."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dedup.article import Article, Timestamp
from dedup.report import describe_article, quote_excerpt
from dedup.results import ClusterView, DocumentAnalysis, EventRecord, LineageEdge, PairResult

__all__ = [
    "analysis_lines",
    "cluster_lines",
    "cluster_row",
    "event_line",
    "lineage_lines",
    "plain",
    "rfc3339",
    "to_json",
]

PLACES = 3
"""Scores (confidences, coverages, similarities) are shown to this many decimal places."""

_TIME_FIELDS = frozenset({"time", "create_time", "update_time", "ingest_time"})
"""Fields that hold a Unix time in seconds: shown in RFC 3339."""

Fetch = Callable[[str], Article | None]
"""Looks an article up by id (for its outlet, title and text), or None when it cannot be had."""


def rfc3339(seconds: float) -> str:
    """A Unix time as RFC 3339 in UTC, to the millisecond: "2026-11-29T04:39:30.123Z"."""
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any, name: str = "") -> Any:
    """``value`` as JSON-ready data: dataclasses as objects, enums by value, floats rounded to
    ``PLACES`` places, Unix times (the fields named in ``_TIME_FIELDS``) and publication times in
    RFC 3339."""
    if isinstance(value, Timestamp):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return rfc3339(value) if name in _TIME_FIELDS else round(value, PLACES)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [plain(v) for v in value]
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, indent=2)


def _score(x: float) -> str:
    return f"{x:.{PLACES}f}"


def _name(doc_id: str, fetch: Fetch) -> str:
    return describe_article(doc_id, fetch(doc_id))


def _match_lines(m: PairResult, text: str | None, fetch: Fetch) -> list[str]:
    """One match of an article (side ``a``): the other article, how much each covers of the other,
    and the passages, quoted from the article's own text when it is at hand."""
    lines = [
        f"  {m.relation.value} with {_name(m.b, fetch)}",
        f"    covers {_score(m.coverage_a)} of this article, {_score(m.coverage_b)} of that one "
        f"(lexical {_score(m.lexical)}, semantic {_score(m.semantic)})",
    ]
    for p in m.passages:
        where = f"[{p.a_start}:{p.a_end}] ~ [{p.b_start}:{p.b_end}]"
        quoted = f" {quote_excerpt(text[p.a_start : p.a_end], 90)}" if text is not None else ""
        lines.append(f"    {p.kind.value} {_score(p.score)} {where}{quoted}")
    return lines


def analysis_lines(a: DocumentAnalysis, text: str | None, fetch: Fetch) -> list[str]:
    """An article's analysis for reading: its story, where it comes from, what it shares."""
    lines = [f"  story {a.cluster or '(none)'}"]
    for p in a.parents:
        lines.append(
            f"  derives from {_name(p.id, fetch)}: confidence {_score(p.confidence)}, "
            f"covers {_score(p.coverage)} of it" + (f" ({p.basis})" if p.basis else "")
        )
        lines += [f"    evidence: {e}" for e in p.evidence[:3]]
    for s in a.external_sources:
        lines.append(f"  cites {s.name}: {quote_excerpt(s.evidence, 90)}")
    if a.duplicate_group is not None:
        g = a.duplicate_group
        lines.append(f"  one of {len(g.documents)} copies of the same text (original undetermined)")
    shown = [m for m in a.matches if m.passages]
    for m in shown:
        lines += _match_lines(m, text, fetch)
    if len(a.matches) > len(shown):
        lines.append(f"  and {len(a.matches) - len(shown)} more article(s) on the same story, nothing shared")
    if not a.matches and not a.parents and not a.external_sources:
        lines.append("  shares nothing with any stored article")
    return lines


def cluster_row(c: ClusterView) -> str:
    """One line of a cluster list: id, last update, size, roots."""
    roots = ", ".join(c.roots[:3]) + (", ..." if len(c.roots) > 3 else "")
    return f"{c.id}  updated {rfc3339(c.update_time)}  {len(c.documents)} article(s)  roots: {roots or '-'}"


def cluster_lines(c: ClusterView, fetch: Fetch) -> list[str]:
    lines = [
        f"story {c.id}: {len(c.documents)} article(s), created {rfc3339(c.create_time)}, "
        f"updated {rfc3339(c.update_time)}"
    ]
    roots = set(c.roots)
    for doc_id in c.documents:
        lines.append(f"  {'*' if doc_id in roots else ' '} {_name(doc_id, fetch)}")
    if c.edges:
        lines.append("  derivations (parent -> child):")
        lines += [f"    {e.parent} -> {e.child}  {_score(e.confidence)}" for e in c.edges]
    lines.append("  (* an original: derives from no other article in the story)")
    return lines


def lineage_lines(
    doc_id: str, ancestors: Iterable[LineageEdge], descendants: Iterable[LineageEdge], fetch: Fetch
) -> list[str]:
    up, down = list(ancestors), list(descendants)
    lines = [f"lineage of {_name(doc_id, fetch)}"]
    lines.append("  derives from:" if up else "  derives from no stored article")
    lines += [f"    {_name(e.parent, fetch)} -> {e.child}  {_score(e.confidence)}" for e in up]
    lines.append("  copied by:" if down else "  copied by no stored article")
    lines += [f"    {e.parent} -> {_name(e.child, fetch)}  {_score(e.confidence)}" for e in down]
    return lines


def event_line(e: EventRecord) -> str:
    """One event: sequence, time, kind, cluster, and the article or the merged clusters."""
    parts = [f"#{e.sequence}", rfc3339(e.time), e.kind.value, e.cluster]
    if e.document:
        parts.append(e.document)
    if e.merged:
        parts.append("merged " + ", ".join(e.merged))
    return "  ".join(parts)
