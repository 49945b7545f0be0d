"""Derivation: which earlier article(s) each article copies, or which outside source it names.

For every pair that shares passages, both directions are scored in log-odds:

- publication time: a parent cannot be published after its child (date-only
  timestamps only order across days);
- attribution: the child names the parent's outlet ("according to Reuters");
- directional coverage: a child is mostly explained by its parent, while the
  parent carries material the child lacks;
- input order, weakly, when there are no timestamps.

Two partial copies that both name the same outside source and not each other
are more likely siblings than parent and child, which lowers the confidence.
Each child keeps the parent that explains most of it (the most recent, or the
closest, among near-equals) and further parents only when they explain a
further ``min_extra_coverage``. Edges are then added from the most to the least
confident, skipping any that would close a cycle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from dedup.align import coverage
from dedup.attribution import canonical_outlet
from dedup.config import DeriveConfig
from dedup.document import PreparedDocument
from dedup.results import REUSE_RELATIONS, ExternalSource, PairResult, Parent, Relation

__all__ = ["Derivation", "derive"]


@dataclass(frozen=True)
class Derivation:
    parents: dict[str, tuple[Parent, ...]]
    external_sources: dict[str, tuple[ExternalSource, ...]]


@dataclass
class _Candidate:
    parent: str
    confidence: float
    coverage: float
    closeness: float
    wording: float
    """Exact Jaccard of the two articles' shingles: the closest copy shares the most wording."""
    named: bool
    """The child names the parent's outlet as its source."""
    spans: list[tuple[int, int]]
    evidence: list[str]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _score(
    child: PreparedDocument,
    parent: PreparedDocument,
    pair: PairResult,
    outlets: dict[str, str | None],
    cited: dict[str, set[str]],
    cfg: DeriveConfig,
) -> tuple[float, list[str]] | None:
    """Log-odds that ``parent`` is the source of ``child``, with the evidence; None if impossible."""
    s = 0.0
    evidence = []
    tc, tp = child.article.published_at, parent.article.published_at
    earlier = tp.before(tc) if tc is not None and tp is not None else None
    if earlier is False:
        return None
    if earlier:
        s += cfg.time_weight
        evidence.append(f"published earlier ({tp.isoformat()} before {tc.isoformat()})")  # type: ignore[union-attr]
    elif parent.order != child.order:  # no timestamps, or too coarse to tell apart
        s += cfg.order_weight if parent.order < child.order else -cfg.order_weight
        if parent.order < child.order:
            evidence.append("comes first in the input (no timestamps to compare)")
    parent_outlet, child_outlet = outlets[parent.id], outlets[child.id]
    if parent_outlet and parent_outlet in cited[child.id]:
        s += cfg.citation_weight
        evidence.append(f"names the parent's outlet, {parent_outlet}, as its source")
    if child_outlet and child_outlet in cited[parent.id]:
        s -= cfg.citation_weight
    cov_child, cov_parent = pair.coverage_of(child.id), pair.coverage_of(parent.id)
    if parent_outlet and parent_outlet == child_outlet and earlier is None:
        # One outlet's two versions of a story: an update adds to the earlier version, so the fuller
        # one is the later (the opposite of a copy, which trims).
        s += cfg.coverage_weight * (cov_parent - cov_child)
        evidence.append(f"both from {parent_outlet}: the fuller version is taken as the later update")
    else:
        s += cfg.coverage_weight * (cov_child - cov_parent)
    evidence.append(
        f"parent explains {cov_child:.0%} of the child; child covers {cov_parent:.0%} of the parent"
    )
    return s, evidence


def derive(docs: dict[str, PreparedDocument], pairs: list[PairResult], cfg: DeriveConfig) -> Derivation:
    """Parents and external sources of every document in ``docs``."""
    outlets = {
        d: canonical_outlet(doc.article.outlet) if doc.article.outlet else None for d, doc in docs.items()
    }
    cited = {d: {c.name for c in doc.citations} for d, doc in docs.items()}
    candidates: dict[str, list[_Candidate]] = defaultdict(list)
    for pair in pairs:
        if pair.relation not in REUSE_RELATIONS:
            continue
        for child_id, parent_id in ((pair.a, pair.b), (pair.b, pair.a)):
            child, parent = docs[child_id], docs[parent_id]
            scored = _score(child, parent, pair, outlets, cited, cfg)
            if scored is None:
                continue
            s, evidence = scored
            confidence = _sigmoid(s)
            common = (cited[child_id] & cited[parent_id]) - {outlets[child_id], outlets[parent_id]}
            names_each_other = (outlets[parent_id] in cited[child_id]) or (
                outlets[child_id] in cited[parent_id]
            )
            if common and not names_each_other:
                p = cfg.sibling_partial if pair.relation is Relation.PARTIALLY_DERIVED else cfg.sibling_whole
                confidence *= 1.0 - p
                evidence.append(f"both name {', '.join(sorted(common))} as their source: may be siblings")
            if confidence < cfg.min_confidence:
                continue
            named = outlets[parent_id] is not None and outlets[parent_id] in cited[child_id]
            if pair.coverage_of(child_id) < cfg.min_coverage and not named:
                continue  # a quote or two in common does not make one article the source of the other
            spans = [
                (p.a_start, p.a_end) if child_id == pair.a else (p.b_start, p.b_end) for p in pair.passages
            ]
            candidates[child_id].append(
                _Candidate(
                    parent_id,
                    confidence,
                    pair.coverage_of(child_id),
                    pair.coverage_of(parent_id),
                    pair.lexical,
                    named,
                    spans,
                    evidence,
                )
            )

    chosen: list[tuple[str, _Candidate]] = []
    for child_id, cands in candidates.items():
        child = docs[child_id]
        best = max(c.coverage for c in cands)
        near_best = [c for c in cands if c.coverage >= best - cfg.recency_tolerance]

        def closeness(c: _Candidate) -> tuple[bool, float, float, float, float]:
            # The source the child names, then the one whose wording it shares most (a copy of a
            # copy keeps the copy's edits), then the most recent, then the most alike.
            ts = docs[c.parent].article.published_at
            return (
                c.named,
                round(c.wording, 2),
                ts.value.timestamp() if ts is not None else float("-inf"),
                c.closeness,
                c.confidence,
            )

        first = max(near_best, key=closeness)
        accepted = [first]
        explained = list(first.spans)
        for c in sorted(cands, key=lambda c: (-c.coverage, -c.confidence, docs[c.parent].order)):
            if c is first:
                continue
            gain = coverage(child, explained + c.spans) - coverage(child, explained)
            if gain >= cfg.min_extra_coverage:
                accepted.append(c)
                explained.extend(c.spans)
        chosen.extend((child_id, c) for c in accepted)

    # Most confident edges first; an edge that would close a cycle is dropped.
    graph: dict[str, set[str]] = defaultdict(set)  # parent -> children
    parents: dict[str, list[Parent]] = defaultdict(list)
    for child_id, c in sorted(
        chosen, key=lambda e: (-e[1].confidence, docs[e[0]].order, docs[e[1].parent].order)
    ):
        if _reaches(graph, child_id, c.parent):
            continue
        graph[c.parent].add(child_id)
        parents[child_id].append(Parent(c.parent, c.confidence, c.coverage, tuple(c.evidence)))

    external: dict[str, tuple[ExternalSource, ...]] = {}
    for doc_id, doc in docs.items():
        parent_outlets = {outlets[p.id] for p in parents.get(doc_id, [])}
        external[doc_id] = tuple(
            ExternalSource(c.name, c.evidence, c.start, c.end)
            for c in doc.citations
            if c.name not in parent_outlets and c.name != outlets[doc_id]
        )
    return Derivation(
        {d: tuple(sorted(parents.get(d, []), key=lambda p: -p.confidence)) for d in docs}, external
    )


def _reaches(graph: dict[str, set[str]], start: str, target: str) -> bool:
    stack, seen = [start], {start}
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False
