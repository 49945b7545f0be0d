"""Rendering an analysis: JSON for tools, text for people."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping

from dedup.results import Analysis, PairResult

__all__ = ["render_json", "render_text"]


def render_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2) + "\n"


def _quote(text: str, width: int, limit: int = 400) -> list[str]:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return textwrap.wrap(flat, width) or [""]


def _side_by_side(left: str, right: str, width: int = 48) -> list[str]:
    lines_l, lines_r = _quote(left, width), _quote(right, width)
    rows = max(len(lines_l), len(lines_r))
    lines_l += [""] * (rows - len(lines_l))
    lines_r += [""] * (rows - len(lines_r))
    return [f"        {a:<{width}}  │ {b}" for a, b in zip(lines_l, lines_r, strict=True)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_text(analysis: Analysis, texts: Mapping[str, str]) -> str:
    """A report for people: clusters, then each article's sources and its shared passages side by side."""
    out: list[str] = []
    by_doc: dict[str, list[PairResult]] = {}
    for p in analysis.pairs:
        by_doc.setdefault(p.a, []).append(p)
        by_doc.setdefault(p.b, []).append(p)
    sharing = sum(1 for p in analysis.pairs if p.passages)
    out.append(
        f"{_count(len(analysis.documents), 'article')}, {_count(len(analysis.clusters), 'story cluster')}, "
        f"{_count(sharing, 'pair')} sharing passages"
    )
    out.append("")
    for c in analysis.clusters:
        out.append(f"Cluster {c.id}: {_count(len(c.documents), 'article')}")
        out.append(f"  articles: {', '.join(c.documents)}")
        out.append(f"  roots:    {', '.join(c.roots) or '-'}")
        for e in c.edges:
            out.append(f"  {e.parent} → {e.child}  (confidence {e.confidence:.2f})")
        out.append("")
    for d in analysis.documents:
        out.append(f"── {d.id}  (cluster {d.cluster})")
        if d.parents:
            for par in d.parents:
                alternatives = (
                    f" (or, just as well, {', '.join(par.alternatives)})" if par.alternatives else ""
                )
                out.append(
                    f"  derives from {par.id}{alternatives}: confidence {par.confidence:.2f}, "
                    f"explains {par.coverage:.0%} of it"
                )
                for ev in par.evidence:
                    out.append(f"      · {ev}")
        elif d.duplicate_group is None:
            out.append("  derives from no article here")
        g = d.duplicate_group
        if g is not None:
            others = ", ".join(m for m in g.documents if m != d.id)
            out.append(
                f"  near-identical to {others}: which came first is undetermined "
                f"(the original is one of {', '.join(g.originals)}, {g.confidence:.2f} each)"
            )
        for s in d.external_sources:
            out.append(f"  cites {s.name}: “{s.evidence}”")
        for p in sorted(by_doc.get(d.id, []), key=lambda p: -p.coverage_of(d.id)):
            other = p.other(d.id)
            out.append(
                f"  {p.relation.value} with {other}: {p.coverage_of(d.id):.0%} of {d.id} is shared, "
                f"{p.coverage_of(other):.0%} of {other}"
            )
            for ps in p.passages:
                mine = ps if d.id == p.a else ps.swapped()
                out.append(
                    f"      {ps.kind.value} ({ps.score:.2f})  {d.id}[{mine.a_start}:{mine.a_end}]"
                    f"  ~  {other}[{mine.b_start}:{mine.b_end}]"
                )
                out.extend(
                    _side_by_side(
                        texts[d.id][mine.a_start : mine.a_end], texts[other][mine.b_start : mine.b_end]
                    )
                )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
