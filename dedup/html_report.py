"""The HTML report: one self-contained file (no network, no external script or font) for readers.

For each story cluster it shows the articles (letter, outlet, title, time, id),
the derivation graph as SVG (outside sources at the top, originals below them,
copies below their parents, edges labelled with confidence), the outside
sources each article names with the words that name them, the shared passages
(each once, with the articles holding it) and, for every pair that shares
passages, the two texts side by side: each shared passage in one row with its
counterpart, then both whole texts with every shared stretch highlighted by kind.

Highlights carry their offsets (``data-start``/``data-end`` into the article's
text as given) and graph elements their ids, so tools and tests can check them.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dedup.article import Article
from dedup.passage_groups import group_passages, merge_pair_passages
from dedup.report import ReportView, describe_article, format_time, quote_excerpt, summary
from dedup.results import (
    Analysis,
    ClusterResult,
    DocumentResult,
    PairResult,
    Passage,
    PassageKind,
    Relation,
)

__all__ = ["render_html"]

_KIND_CLASS = {
    PassageKind.VERBATIM: "verbatim",
    PassageKind.NEAR_VERBATIM: "near-verbatim",
    PassageKind.PARAPHRASE: "paraphrase",
}
_STRENGTH = {PassageKind.PARAPHRASE: 1, PassageKind.NEAR_VERBATIM: 2, PassageKind.VERBATIM: 3}

_CSS = """
:root { --verbatim: #f4a261; --near-verbatim: #ffd166; --paraphrase: #a8dadc; --ink: #1d232a;
        --muted: #5c6670; --line: #d5dbe1; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.5rem 0 .5rem; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.summary, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; }
.label { font-weight: 700; font-family: ui-monospace, monospace; }
.legend span { padding: 0 .4rem; margin-right: .5rem; border-radius: 3px; }
mark { border-radius: 2px; padding: 0 1px; color: inherit; }
mark.verbatim, .legend .verbatim { background: var(--verbatim); }
mark.near-verbatim, .legend .near-verbatim { background: var(--near-verbatim); }
mark.paraphrase, .legend .paraphrase { background: var(--paraphrase); }
mark.hot { outline: 2px solid var(--ink); }
.graph { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
.graph text { font: 12px system-ui, sans-serif; }
.node rect { fill: #fff; stroke: var(--ink); stroke-width: 1.5; }
.node.original rect { fill: #eef6ee; }
.source rect { fill: #f3f0fa; stroke: #6a5acd; stroke-dasharray: 4 2; }
.edge line { stroke: var(--ink); stroke-width: 1.5; }
.source-edge line { stroke: #6a5acd; stroke-dasharray: 4 3; }
.twin line { stroke: var(--muted); stroke-dasharray: 2 3; }
.edge text { fill: var(--ink); font-weight: 600; }
details.pair { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; padding: .25rem .75rem; }
details.pair summary, tr.passage { cursor: pointer; }
.aligned td { width: 50%; }
.texts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.text { position: relative; white-space: pre-wrap; border: 1px solid var(--line); border-radius: 6px;
        padding: .75rem;
        font-size: 14px; max-height: 36rem; overflow-y: auto; }
blockquote { margin: .25rem 0 .25rem 1rem; color: var(--ink); }
"""

# Hovering a highlight outlines its counterparts (same pair, same passage) on both sides.
_JS = """
function shares(x, mine) {
  return x.dataset.passages.split(' ').some(function (p) { return mine.indexOf(p) >= 0; });
}
document.querySelectorAll('details.pair').forEach(function (view) {
  // Clicking an aligned row scrolls both texts to that passage.
  view.querySelectorAll('tr.passage').forEach(function (row) {
    row.addEventListener('click', function () {
      var mine = row.dataset.passages.split(' ');
      view.querySelectorAll('.text').forEach(function (pane) {
        var hit = Array.prototype.find.call(pane.querySelectorAll('mark[data-passages]'),
                                            function (x) { return shares(x, mine); });
        if (hit) { pane.scrollTop = hit.offsetTop - 24; }  // the pane is the offsetParent
      });
    });
  });
  view.addEventListener('mouseover', function (e) {
    var m = e.target.closest('[data-passages]');
    view.querySelectorAll('mark.hot').forEach(function (x) { x.classList.remove('hot'); });
    if (!m) return;
    var mine = m.dataset.passages.split(' ');
    view.querySelectorAll('.text mark[data-passages]').forEach(function (x) {
      if (shares(x, mine)) { x.classList.add('hot'); }
    });
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(x: float) -> str:
    return f"{x:.0%}"


# ---- the derivation graph -------------------------------------------------------------------

NODE_W, NODE_H, GAP_X, GAP_Y, PER_ROW = 150, 44, 28, 70, 8


@dataclass(frozen=True, slots=True)
class _Node:
    key: str
    label: str
    caption: str
    kind: str  # "source", "original" or "copy"


def _layers(
    members: Sequence[str], parents: Mapping[str, Sequence[str]], sources: Sequence[str]
) -> list[list[str]]:
    """Rows of the graph: outside sources, then each article one row below its lowest parent."""
    depth: dict[str, int] = {}

    def visit(d: str, path: frozenset[str]) -> int:
        if d not in depth:
            above = [p for p in parents.get(d, ()) if p in members and p not in path]
            depth[d] = 1 + max((visit(p, path | {d}) for p in above), default=-1)
        return depth[d]

    for d in members:
        visit(d, frozenset())
    rows: list[list[str]] = [[f"source:{s}" for s in sources]] if sources else []
    for level in range(max(depth.values(), default=-1) + 1):
        row = [d for d in members if depth[d] == level]
        # Long rows wrap so the graph stays readable.
        rows += [row[i : i + PER_ROW] for i in range(0, len(row), PER_ROW)]
    return rows


def _svg_graph(
    c: ClusterResult,
    members: Sequence[str],
    docs: Mapping[str, DocumentResult],
    label: Mapping[str, str],
    articles: Mapping[str, Article],
) -> str:
    parents = {d: [e.parent for e in c.edges if e.child == d] for d in members}
    sources = sorted({s.name for d in members for s in docs[d].external_sources})
    nodes = {f"source:{s}": _Node(f"source:{s}", s, "named as a source", "source") for s in sources}
    for d in members:
        a = articles.get(d)
        caption = (a.outlet if a and a.outlet else d) or d
        nodes[d] = _Node(d, label[d], caption, "copy" if parents[d] else "original")
    rows = _layers(members, parents, sources)
    width = max(len(r) for r in rows) * (NODE_W + GAP_X) + GAP_X
    height = len(rows) * (NODE_H + GAP_Y) - GAP_Y + 2 * GAP_Y // 3
    pos: dict[str, tuple[float, float]] = {}
    for y, row in enumerate(rows):
        offset = (width - len(row) * (NODE_W + GAP_X) + GAP_X) / 2
        for x, key in enumerate(row):
            pos[key] = (offset + x * (NODE_W + GAP_X), GAP_Y / 3 + y * (NODE_H + GAP_Y))
    out = [
        f'<svg class="derivation" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="derivation graph of story {_e(c.id)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="currentColor"/></marker></defs>',
    ]

    def line(src: str, dst: str) -> tuple[float, float, float, float]:
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        if abs(y1 - y2) < 1:  # same row: side to side
            left, right = (x1, x2) if x1 < x2 else (x2, x1)
            return left + NODE_W, y1 + NODE_H / 2, right, y2 + NODE_H / 2
        return x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2

    for d in members:
        for s in docs[d].external_sources:
            x1, y1, x2, y2 = line(f"source:{s.name}", d)
            out.append(
                f'<g class="source-edge" data-source="{_e(s.name)}" data-child="{_e(d)}">'
                f"<title>{_e(label[d])} cites {_e(s.name)}: “{_e(s.evidence)}”</title>"
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'marker-end="url(#arrow)" color="#6a5acd"/></g>'
            )
    drawn: set[frozenset[str]] = set()
    for d in members:
        g = docs[d].duplicate_group
        for other in g.documents if g else ():
            twins = frozenset((d, other))
            if other == d or other not in pos or twins in drawn:
                continue
            drawn.add(twins)
            x1, y1, x2, y2 = line(d, other)
            out.append(
                f'<g class="twin" data-a="{_e(d)}" data-b="{_e(other)}"><title>near-identical; '
                f'which came first is undetermined</title><line x1="{x1:.1f}" y1="{y1:.1f}" '
                f'x2="{x2:.1f}" y2="{y2:.1f}"/></g>'
            )
    for e in c.edges:
        if e.parent not in pos or e.child not in pos:
            continue
        x1, y1, x2, y2 = line(e.parent, e.child)
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(
            f'<g class="edge" data-parent="{_e(e.parent)}" data-child="{_e(e.child)}" '
            f'data-confidence="{e.confidence:.2f}"><title>{_e(label[e.child])} derives from '
            f"{_e(label[e.parent])}, confidence {e.confidence:.2f}</title>"
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow)" '
            f'color="#1d232a"/><rect x="{mx - 17:.1f}" y="{my - 9:.1f}" width="34" height="16" '
            f'fill="#fff"/><text x="{mx:.1f}" y="{my + 4:.1f}" text-anchor="middle">'
            f"{e.confidence:.2f}</text></g>"
        )
    for key, (nx, ny) in pos.items():
        n = nodes[key]
        caption = n.caption if len(n.caption) <= 22 else n.caption[:21] + "…"
        data = f'data-source="{_e(n.label)}"' if n.kind == "source" else f'data-id="{_e(key)}"'
        first = n.label if n.kind != "source" else (n.label if len(n.label) <= 22 else n.label[:21] + "…")
        second = caption if n.kind != "source" else n.caption
        out.append(
            f'<g class="node {n.kind}" {data}><title>{_e(n.label if n.kind == "source" else key)}'
            f'</title><rect x="{nx:.1f}" y="{ny:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{nx + NODE_W / 2:.1f}" y="{ny + 18:.1f}" text-anchor="middle" font-weight="700">'
            f"{_e(first)}</text>"
            f'<text x="{nx + NODE_W / 2:.1f}" y="{ny + 34:.1f}" text-anchor="middle">{_e(second)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


# ---- the texts ---------------------------------------------------------------------------------


def _highlighted(text: str, spans: Sequence[tuple[int, int, PassageKind, int]]) -> str:
    """``text`` with every shared stretch in a ``<mark>`` of the strongest kind covering it; each
    mark carries its offsets and the passages (by number) it belongs to."""
    cuts = sorted({0, len(text), *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    out = []
    for lo, hi in itertools.pairwise(cuts):
        if lo >= hi:
            continue
        covering = [(k, n) for s, e, k, n in spans if s <= lo and hi <= e]
        piece = _e(text[lo:hi])
        if not covering:
            out.append(piece)
            continue
        kind = max((k for k, _ in covering), key=_STRENGTH.__getitem__)
        numbers = " ".join(str(n) for n in sorted({n for _, n in covering}))
        out.append(
            f'<mark class="{_KIND_CLASS[kind]}" data-start="{lo}" data-end="{hi}" '
            f'data-passages="{numbers}">{piece}</mark>'
        )
    return "".join(out)


def _excerpt(text: str, start: int, end: int, limit: int = 600) -> str:
    flat = " ".join(text[start:end].split())
    return _e(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _pair_view(n: int, p: PairResult, label: Mapping[str, str], texts: Mapping[str, str]) -> str:
    a, b = (p.a, p.b) if label[p.a] <= label[p.b] else (p.b, p.a)
    o = p.oriented(a)
    merged = merge_pair_passages(o.passages)
    rows = []
    for m in merged:
        q: Passage = m.passage
        kind = _KIND_CLASS[q.kind]
        quoted = " · quoted or credited" if q.attributed else ""
        inside = " ".join(
            str(i) for i, r in enumerate(o.passages)
            if q.a_start <= r.a_start and r.a_end <= q.a_end and q.b_start <= r.b_start and r.b_end <= q.b_end
        )  # fmt: skip
        rows.append(
            f'<tr class="passage" data-kind="{q.kind.value}" data-passages="{inside}" '
            f'title="click to find it in both texts"><td><mark class="{kind}">'
            f'{_excerpt(texts[a], *m.core_a)}</mark></td><td><mark class="{kind}">'
            f"{_excerpt(texts[b], *m.core_b)}</mark></td></tr>"
            f'<tr class="muted"><td colspan="2">{q.kind.value.lower().replace("_", "-")}{quoted}, '
            f"score {q.score:.2f}</td></tr>"
        )
    spans_a = [(q.a_start, q.a_end, q.kind, i) for i, q in enumerate(o.passages)]
    spans_b = [(q.b_start, q.b_end, q.kind, i) for i, q in enumerate(o.passages)]
    return (
        f'<details class="pair" id="pair-{n}" data-a="{_e(a)}" data-b="{_e(b)}" '
        f'data-relation="{p.relation.value}"><summary><span class="label">{_e(label[a])}–'
        f"{_e(label[b])}</span> {p.relation.value}: {_pct(o.coverage_a)} of {_e(label[a])} shared, "
        f"{_pct(o.coverage_b)} of {_e(label[b])}</summary>"
        f'<table class="aligned"><tr><th>{_e(label[a])} · {_e(a)}</th><th>{_e(label[b])} · {_e(b)}</th></tr>'
        f"{''.join(rows)}</table>"
        f'<div class="texts"><div class="text" data-doc="{_e(a)}">{_highlighted(texts[a], spans_a)}</div>'
        f'<div class="text" data-doc="{_e(b)}">{_highlighted(texts[b], spans_b)}</div></div></details>'
    )


# ---- the page ----------------------------------------------------------------------------------


def _origin_cell(d: DocumentResult, label: Mapping[str, str]) -> str:
    parts = []
    for par in d.parents:
        alts = (
            f" (or just as well {', '.join(_e(label.get(x, x)) for x in par.alternatives)})"
            if par.alternatives
            else ""
        )
        basis = f", by {_e(par.basis)}" if par.basis else ""
        evidence = "".join(f"<li>{_e(ev)}</li>" for ev in par.evidence)
        parts.append(
            f'<div class="parent" data-parent="{_e(par.id)}">derives from <span class="label">'
            f"{_e(label.get(par.id, par.id))}</span>{alts}: confidence {par.confidence:.2f}{basis}"
            f"<ul>{evidence}</ul></div>"
        )
    g = d.duplicate_group
    if g is not None:
        others = ", ".join(_e(label.get(m, m)) for m in g.documents if m != d.id)
        parts.append(f"<div>near-identical to {others}; which came first is undetermined</div>")
    if not parts:
        parts.append("<div>an original here</div>")
    for s in d.external_sources:
        parts.append(
            f'<div class="cites" data-source="{_e(s.name)}">cites <strong>{_e(s.name)}</strong>'
            f"<blockquote>“{_e(s.evidence)}”</blockquote></div>"
        )
    return "".join(parts)


def _cluster_section(
    c: ClusterResult,
    pairs: Sequence[PairResult],
    docs: Mapping[str, DocumentResult],
    label: Mapping[str, str],
    articles: Mapping[str, Article],
    texts: Mapping[str, str],
    order: Mapping[str, int],
    first_view: int,
) -> tuple[str, int]:
    members = sorted(c.documents, key=lambda d: order[d])
    fields = {
        "Outlet": {d: a.outlet for d in members if (a := articles.get(d)) and a.outlet},
        "Title": {d: a.title for d in members if (a := articles.get(d)) and a.title},
        "Published": {
            d: format_time(a.published_at) for d in members if (a := articles.get(d)) and a.published_at
        },
    }
    shown = [name for name, values in fields.items() if values]  # columns nobody fills are left out
    rows = []
    for d in members:
        cells = "".join(f"<td>{_e(fields[name].get(d, ''))}</td>" for name in shown)
        rows.append(
            f'<tr data-id="{_e(d)}"><td class="label">{_e(label[d])}</td>{cells}'
            f"<td>{_e(d)}</td><td>{_origin_cell(docs[d], label)}</td></tr>"
        )
    header = "".join(f"<th>{name}</th>" for name in shown)
    parts = [
        f'<section class="story" id="story-{_e(c.id)}" data-cluster="{_e(c.id)}">',
        f'<h2>Story {_e(c.id)} <span class="muted">· {len(members)} article'
        f"{'s' if len(members) != 1 else ''}</span></h2>",
        "<h3>Derivation</h3>",
        f'<div class="graph">{_svg_graph(c, members, docs, label, articles)}</div>',
        f'<h3>Articles</h3><table class="articles"><tr><th></th>{header}<th>Id</th>'
        f"<th>Where it comes from</th></tr>{''.join(rows)}</table>",
    ]
    n = first_view
    n, pair_html = _pairs_html(pairs, label, texts, order, n)
    parts.append(pair_html)
    parts.append("</section>")
    return "".join(parts), n


def _pairs_html(
    pairs: Sequence[PairResult],
    label: Mapping[str, str],
    texts: Mapping[str, str],
    order: Mapping[str, int],
    n: int,
) -> tuple[int, str]:
    sharing = [p for p in pairs if p.passages]
    parts = []
    groups = group_passages(sharing, order)
    if groups:
        items = []
        for g in groups:
            holders = " ".join(label[d] for d in g.documents)
            quoted = " · quoted or credited" if g.attributed else ""
            # The same words are shown once; a paraphrase in each article's words.
            shown = g.spans if g.kind is PassageKind.PARAPHRASE else g.spans[:1]
            wordings = "".join(
                f'<blockquote data-doc="{_e(s.doc)}">'
                + (f'<span class="label">{_e(label[s.doc])}</span> ' if len(shown) > 1 else "")
                + f"{_e(quote_excerpt(texts[s.doc][s.start : s.end], 600))}</blockquote>"
                for s in shown
            )
            items.append(
                f'<li class="shared" data-kind="{g.kind.value}" data-documents="{_e(" ".join(g.documents))}">'
                f'<mark class="{_KIND_CLASS[g.kind]}">{g.kind.value}</mark>{quoted} · in '
                f'<span class="label">{_e(holders)}</span>{wordings}</li>'
            )
        parts.append(f"<h3>Shared passages</h3><ol>{''.join(items)}</ol>")
    if sharing:
        parts.append(
            '<h3>Pairs side by side</h3><p class="legend"><span class="verbatim">verbatim</span>'
            '<span class="near-verbatim">near-verbatim</span><span class="paraphrase">paraphrase</span></p>'
        )
        for p in sorted(sharing, key=lambda p: sorted((label[p.a], label[p.b]))):
            parts.append(_pair_view(n, p, label, texts))
            n += 1
    same = sorted(
        "–".join(sorted((label[p.a], label[p.b]))) for p in pairs if p.relation is Relation.SAME_STORY
    )
    if same:
        parts.append(f'<p class="muted">Same story, nothing shared: {_e(", ".join(same))}</p>')
    return n, "".join(parts)


def _nav_item(c: ClusterResult, articles: Mapping[str, Article], order: Mapping[str, int]) -> str:
    first = sorted(c.documents, key=order.__getitem__)[:3]
    names = ", ".join(describe_article(d, articles.get(d), 60) for d in first)
    more = " …" if len(c.documents) > 3 else ""
    return (
        f'<li><a href="#story-{_e(c.id)}">Story {_e(c.id)}</a> · {len(c.documents)} articles: '
        f"{_e(names)}{more}</li>"
    )


def render_html(analysis: Analysis, articles: Mapping[str, Article], title: str = "dedup report") -> str:
    """The whole report as one HTML document (see the module's docstring)."""
    view = ReportView.of(analysis, articles)
    label, order, texts, docs, across = view.label, view.order, view.texts, view.docs, view.across
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{_e(summary(analysis))}</p>',
        "<nav><ul>" + "".join(_nav_item(c, articles, order) for c in analysis.clusters) + "</ul></nav>",
    ]
    n = 0
    for c in analysis.clusters:
        section, n = _cluster_section(c, view.inside[c.id], docs, label, articles, texts, order, n)
        body.append(section)
    if across:
        n, pair_html = _pairs_html(across, label, texts, order, n)
        body.append(f'<section class="across"><h2>Across stories</h2>{pair_html}</section>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + f"<script>{_JS}</script></body></html>\n"
    )
