"""Derivation: which earlier article(s) each article copies, or which outside source it names.

Direction. For every pair that shares passages, the evidence that one is the
other's source is summed in log-odds:

- publication time: a parent cannot be published after its child; one surely
  earlier (exact times, or dates on different days) adds ``time_weight``. A
  missing or date-only timestamp that cannot order the two is unknown, not
  early: it adds nothing either way (nor does the order of arrival);
- attribution: the child names the parent's outlet ("according to Reuters");
- content: a copy is explained by its source more than it explains it (the
  trim carries less, the copy carries its own header, footer or update), so
  the difference of the two directional coverages counts; one outlet's two
  versions are the exception: its update is the fuller one, and the later.

Near-identical articles (DUPLICATE) whose order neither time, attribution nor
content decides are one duplicate group whose original is undetermined: no
edge is guessed between them; each member is reported with the group, the
members that may be its original (those no other member is known to precede)
and the confidence ``1 / len(originals)`` of each.

Choice. Among the articles that may be a child's source, it keeps those that
explain (nearly) the largest share of it; a source it names comes first; then
those holding (nearly) the most of its wording, so that a copy of a copy, which
keeps the intermediate copy's edits, goes to that copy; then those it is a
near-identical copy of (DUPLICATE: its text as it stands, cut and additions
included) over fuller ones that merely contain it; then it drops any that
another one of them precedes, because what two copies share their common
original holds too: a later copy never outranks the earlier original it copies.
What remains and still cannot be told apart is one parent with
``alternatives``. Further parents (a stitched piece, a roundup) must each
explain a further ``min_extra_coverage`` of the child.

Two partial copies that both name the same outside source, each in its own
words (not inside a passage they share), and not each other, are more likely
siblings than parent and child, which lowers the confidence.
Edges are then added from the most to the least confident, skipping any that
would close a cycle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from dedup.align import coverage
from dedup.attribution import canonical_outlet
from dedup.config import DeriveConfig
from dedup.document import PreparedDocument
from dedup.lineage import ranked, reaches
from dedup.logistic import probability
from dedup.results import (
    REUSE_RELATIONS,
    DuplicateGroup,
    ExternalSource,
    PairResult,
    Parent,
    Relation,
)

__all__ = [
    "CONFIDENCE_FEATURES",
    "Derivation",
    "calibrated_confidence",
    "confidence_features",
    "derive",
]


@dataclass(frozen=True)
class Derivation:
    parents: dict[str, tuple[Parent, ...]]
    external_sources: dict[str, tuple[ExternalSource, ...]]
    groups: dict[str, DuplicateGroup]
    """Each member of a duplicate group whose original is undetermined, with its group."""


@dataclass
class _Direction:
    """The evidence that ``parent`` is the source of ``child`` in one pair."""

    score: float
    """Log-odds."""
    evidence: list[str]
    decided_by: str | None
    """'time', 'attribution' or 'coverage' when that evidence alone orders the two; None if nothing does."""


@dataclass
class _Candidate:
    parent: str
    confidence: float
    coverage: float
    """Share of the child the parent explains."""
    containment: float
    """Share of the child's word shingles found in the parent: a copy of a copy keeps the copy's edits."""
    named: bool
    spans: list[tuple[int, int]]
    evidence: list[str]
    peer: bool = False
    """Near-identical to the child and ordered by nothing: it competes, but is never made its parent."""
    rules: tuple[str, ...] = ()
    """What set rivals aside when it was chosen: 'named', 'wording', 'near_identical', 'copies_it'."""
    cautions: tuple[str, ...] = ()
    """What makes it less sure: 'parent_is_a_copy', 'in_duplicate_group', 'may_be_siblings'."""
    basis: str = ""
    """What orders it before the child: 'time', 'attribution', 'content' or '' (nothing decides)."""
    weak: bool = False
    """The evidence leans the other way, without deciding it: never a parent, but named beside one that
    explains the child no better."""


_BASIS = {"time": "time", "attribution": "attribution", "coverage": "content"}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Context:
    """What derivation knows of the articles: outlets, the outlets each names, the pairs by id."""

    def __init__(
        self, docs: Mapping[str, PreparedDocument], pairs: list[PairResult], cfg: DeriveConfig
    ) -> None:
        self.docs = docs
        self.cfg = cfg
        self.outlets = {
            d: canonical_outlet(doc.article.outlet) if doc.article.outlet else None for d, doc in docs.items()
        }
        self.cited = {d: {c.name for c in doc.citations} for d, doc in docs.items()}
        self.pairs = [p for p in pairs if p.relation in REUSE_RELATIONS]
        self.pair_of: dict[frozenset[str], PairResult] = {frozenset((p.a, p.b)): p for p in self.pairs}
        self.partners: dict[str, list[str]] = defaultdict(list)
        for p in self.pairs:
            self.partners[p.a].append(p.b)
            self.partners[p.b].append(p.a)
        self._directions: dict[tuple[str, str], _Direction | None] = {}
        self._copies: dict[str, bool] = {}
        self._precedes: dict[tuple[str, str], bool] = {}

    def names(self, child: str, parent: str) -> bool:
        outlet = self.outlets[parent]
        return outlet is not None and outlet in self.cited[child]

    def direction(self, parent_id: str, child_id: str) -> _Direction | None:
        """The evidence that ``parent_id`` is the source of ``child_id`` (None: impossible, it is later)."""
        key = (parent_id, child_id)
        if key not in self._directions:
            self._directions[key] = self._direction(parent_id, child_id)
        return self._directions[key]

    def _direction(self, parent_id: str, child_id: str) -> _Direction | None:
        cfg = self.cfg
        pair = self.pair_of[frozenset((parent_id, child_id))]
        child, parent = self.docs[child_id], self.docs[parent_id]
        s = 0.0
        evidence: list[str] = []
        decided: str | None = None
        tc, tp = child.article.published_at, parent.article.published_at
        earlier = tp.before(tc) if tc is not None and tp is not None else None
        if earlier is False:
            return None
        if earlier:
            assert tc is not None and tp is not None
            s += cfg.time_weight
            evidence.append(f"published earlier ({tp.isoformat()} before {tc.isoformat()})")
            decided = "time"
        if self.names(child_id, parent_id):
            s += cfg.citation_weight
            evidence.append(f"names the parent's outlet, {self.outlets[parent_id]}, as its source")
            decided = decided or "attribution"
        if self.names(parent_id, child_id):
            s -= cfg.citation_weight
        cov_child, cov_parent = pair.coverage_of(child_id), pair.coverage_of(parent_id)
        same_outlet = (
            self.outlets[parent_id] is not None and self.outlets[parent_id] == self.outlets[child_id]
        )
        if same_outlet and earlier is None:
            # One outlet's two versions of a story: an update adds to the earlier version, so the fuller
            # one is the later (the opposite of a copy, which trims).
            lead, inside = cov_parent - cov_child, cov_parent
            evidence.append(
                f"both from {self.outlets[parent_id]}: the fuller version is taken as the later update"
            )
        else:
            lead, inside = cov_child - cov_parent, cov_child
        s += cfg.coverage_weight * lead
        # Content orders the two only when one lies (almost) wholly inside the other: two articles that
        # each hold some of the other (a roundup and one of its sources) may have copied either way.
        if decided is None and lead >= cfg.coverage_margin and inside >= cfg.contained:
            decided = "coverage"
        evidence.append(
            f"parent explains {cov_child:.0%} of the child; child covers {cov_parent:.0%} of the parent"
        )
        return _Direction(s, evidence, decided)

    def precedes(self, first: str, second: str) -> bool:
        """Whether ``first`` is known to be ``second``'s source rather than the other way round.
        Remembered, as ``is_copy`` is: the context does not change while it is asked."""
        key = (first, second)
        known = self._precedes.get(key)
        if known is None:
            known = self._precedes[key] = self._precedes_now(first, second)
        return known

    def _precedes_now(self, first: str, second: str) -> bool:
        if frozenset((first, second)) not in self.pair_of:
            return False  # sharing nothing, neither is the other's source, whatever their times
        forward = self.direction(first, second)
        backward = self.direction(second, first)
        if forward is None:
            return False
        if backward is None:
            return True
        return forward.decided_by is not None and forward.score > backward.score

    def is_copy(self, doc_id: str) -> bool:
        """Whether some article it shares passages with is known to be its source. Remembered: the
        context does not change, and every pair of a large group of copies asks it of its parent."""
        known = self._copies.get(doc_id)
        if known is None:
            known = any(self.precedes(other, doc_id) for other in self.partners[doc_id])
            self._copies[doc_id] = known
        return known

    def undetermined(self, pair: PairResult) -> bool:
        """A DUPLICATE pair that nothing orders."""
        if pair.relation is not Relation.DUPLICATE:
            return False
        return not self.precedes(pair.a, pair.b) and not self.precedes(pair.b, pair.a)

    def containment(self, child: str, parent: str) -> float:
        """Share of ``child``'s word shingles found in ``parent`` (from the pair's Jaccard and the sizes)."""
        jaccard = self.pair_of[frozenset((child, parent))].lexical
        n_child = len(self.docs[child].doc_shingles)
        n_parent = len(self.docs[parent].doc_shingles)
        if not n_child:
            return 0.0
        common = jaccard * (n_child + n_parent) / (1.0 + jaccard)
        return min(1.0, common / n_child)


def _groups(ctx: _Context) -> dict[str, DuplicateGroup]:
    """Duplicate groups whose original is undetermined: connected by DUPLICATE pairs that nothing
    orders, with two or more members that no other member is known to precede."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in ctx.pairs:
        if ctx.undetermined(p):
            parent[find(p.a)] = find(p.b)
    members: dict[str, list[str]] = defaultdict(list)
    for d in list(parent):
        members[find(d)].append(d)
    out: dict[str, DuplicateGroup] = {}
    for group in members.values():
        if len(group) < 2:
            continue
        originals = [m for m in group if not any(ctx.precedes(n, m) for n in group if n != m)]
        if len(originals) < 2:
            continue  # one of them is known to come first: it is the original, and no group is needed
        g = DuplicateGroup(tuple(sorted(group)), tuple(sorted(originals)), 1.0 / len(originals))
        for m in group:
            out[m] = g
    return out


def _cited_apart(ctx: _Context, child_id: str, parent_id: str, shared: list[tuple[int, int]]) -> set[str]:
    """Outside sources both articles name, each in its own words: a citation the child took along
    inside a passage it shares with the other article was copied, and is no sign of siblings."""
    if not ctx.cited[child_id] or not ctx.cited[parent_id]:
        return set()  # one names no source: none is common
    common = (ctx.cited[child_id] & ctx.cited[parent_id]) - {ctx.outlets[child_id], ctx.outlets[parent_id]}
    own = set()
    for c in ctx.docs[child_id].citations:
        if c.name in common and not any(start <= c.start and c.end <= end for start, end in shared):
            own.add(c.name)
    return own


def _candidates(ctx: _Context) -> dict[str, list[_Candidate]]:
    """For each child, the articles that may be its source. A near-identical article that nothing
    orders against it is a peer: it competes, but no edge to it is ever guessed."""
    cfg = ctx.cfg
    out: dict[str, list[_Candidate]] = defaultdict(list)
    for pair in ctx.pairs:
        peers = ctx.undetermined(pair)
        for child_id, parent_id in ((pair.a, pair.b), (pair.b, pair.a)):
            direction = ctx.direction(parent_id, child_id)
            if direction is None or (direction.score < 0 and ctx.precedes(child_id, parent_id)):
                continue
            confidence = _sigmoid(direction.score)
            evidence = list(direction.evidence)
            cautions: list[str] = []
            if ctx.is_copy(parent_id):
                cautions.append("parent_is_a_copy")
            spans = [
                (p.a_start, p.a_end) if child_id == pair.a else (p.b_start, p.b_end) for p in pair.passages
            ]
            common = _cited_apart(ctx, child_id, parent_id, spans)
            named = ctx.names(child_id, parent_id)
            if common and not named and not ctx.names(parent_id, child_id):
                p = cfg.sibling_partial if pair.relation is Relation.PARTIALLY_DERIVED else cfg.sibling_whole
                confidence *= 1.0 - p
                evidence.append(f"both name {', '.join(sorted(common))} as their source: may be siblings")
                cautions.append("may_be_siblings")
            # Leaning away, it is only ever named beside a parent that explains the child as well.
            weak = confidence < 0.5
            if pair.coverage_of(child_id) < cfg.min_coverage and not named:
                continue  # a quote or two in common does not make one article the source of the other
            out[child_id].append(
                _Candidate(
                    parent_id,
                    confidence,
                    pair.coverage_of(child_id),
                    ctx.containment(child_id, parent_id),
                    named,
                    spans,
                    evidence,
                    basis="+".join(
                        ([_BASIS[direction.decided_by]] if direction.decided_by else [])
                        + (["attribution"] if named and direction.decided_by != "attribution" else [])
                    ),
                    cautions=tuple(cautions),
                    peer=peers,
                    weak=weak,
                )
            )
    return out


def _choose(
    ctx: _Context, child_id: str, cands: list[_Candidate]
) -> list[tuple[_Candidate, tuple[str, ...]]]:
    """The parents of one child, each with the articles it cannot be told from. Peers (near-identical
    articles nothing orders against the child) never become its parent and never push a parent out:
    they are named beside the parent as alternatives when they explain the child as well, and when one
    of them precedes the parent, or there is no other candidate, no edge is given (the child's
    duplicate group says where it comes from)."""
    cfg = ctx.cfg
    peers = [c for c in cands if c.peer]
    pool = [c for c in cands if not c.peer and not c.weak]
    if not pool:
        return []
    best = max(c.coverage for c in pool)
    pool = [c for c in pool if c.coverage >= best - cfg.recency_tolerance]
    why: list[str] = []
    rules: list[str] = []  # what set rivals aside
    if any(c.named for c in pool):
        if not all(c.named for c in pool):
            rules.append("named")
        pool = [c for c in pool if c.named]
    most = max(c.containment for c in pool)
    closer = [c for c in pool if c.containment >= most - cfg.wording_tolerance]
    if len(closer) < len(pool):
        rules.append("wording")
        why.append(
            "holds more of the child's wording than "
            + ", ".join(sorted(c.parent for c in pool if c not in closer))
        )
    pool = closer
    # A near-identical copy of one of them (DUPLICATE) holds its text and nothing else, its cut and
    # its additions included: that one, not a fuller article it would be a trim of.
    tight = [c for c in pool if ctx.pair_of[frozenset((child_id, c.parent))].relation is Relation.DUPLICATE]
    undecided: list[_Candidate] = []
    if tight and len(tight) < len(pool):
        fuller = [c for c in pool if c not in tight]
        if any(ctx.precedes(o.parent, c.parent) for c in tight for o in fuller):
            # The near-identical one copies a fuller one: the child is a copy of that copy, or a trim
            # of the fuller one cut where the copy was cut. Nothing tells which: both are named.
            undecided = tight
        else:
            rules.append("near_identical")
            why.append(
                "is near-identical to it, where "
                + ", ".join(sorted(c.parent for c in fuller))
                + " only contain the child"
            )
            pool = tight
    upstream = [c for c in pool if not any(ctx.precedes(o.parent, c.parent) for o in pool if o is not c)]
    if upstream and len(upstream) < len(pool):
        rules.append("copies_it")
        later = sorted(c.parent for c in pool if c not in upstream)
        why.append("explains the child as well as " + ", ".join(later) + ", which copy it")
        pool = upstream
    pool.sort(key=lambda c: (-c.confidence, ctx.docs[c.parent].order))
    first = pool[0]
    equal = [
        c
        for c in peers + [c for c in cands if c.weak and not c.peer]
        if c.coverage >= first.coverage - cfg.recency_tolerance
        and c.containment >= first.containment - cfg.wording_tolerance
        and not ctx.precedes(first.parent, c.parent)
    ]
    if any(c.peer and _precedes_firmly(ctx, c.parent, first) for c in equal):
        return []  # a near-identical article of its own group came first: the group says so
    relation = ctx.pair_of[frozenset((child_id, first.parent))].relation
    decided = ctx.direction(first.parent, child_id)
    if (
        relation is not Relation.DUPLICATE
        and (decided is None or decided.decided_by in (None, "coverage"))
        and any(
            not ctx.precedes(first.parent, c.parent)
            for c in peers
            if c.containment >= first.containment - cfg.wording_tolerance
        )
    ):
        # Content alone made it the source, and a near-identical article (its group) explains the
        # child as closely: the group is the better answer.
        return []
    alternatives = tuple(sorted({c.parent for c in pool[1:] + equal + undecided} - {first.parent}))
    if alternatives:
        why.append(
            "explains the child as well as " + ", ".join(alternatives) + ": neither time nor content tells "
            "which it copied"
        )
    first = replace(first, evidence=first.evidence + why, rules=tuple(rules))
    accepted = [(first, alternatives)]
    explained = list(first.spans)
    skip = {first.parent, *alternatives}
    for c in sorted(cands, key=lambda c: (-c.coverage, -c.confidence, ctx.docs[c.parent].order)):
        if c.peer or c.weak or c.parent in skip or ctx.precedes(first.parent, c.parent):
            continue
        gain = coverage(ctx.docs[child_id], explained + c.spans) - coverage(ctx.docs[child_id], explained)
        if gain >= cfg.min_extra_coverage:
            accepted.append((c, ()))
            explained.extend(c.spans)
    return accepted


def _precedes_firmly(ctx: _Context, peer: str, first: _Candidate) -> bool:
    """Whether ``peer`` precedes the chosen parent on evidence as strong as what made that one the
    child's source: content alone does not overturn a parent published earlier than the child."""
    if not ctx.precedes(peer, first.parent):
        return False
    if "time" not in first.basis:
        return True
    direction = ctx.direction(peer, first.parent)
    return direction is not None and direction.decided_by in ("time", "attribution")


def derive(docs: dict[str, PreparedDocument], pairs: list[PairResult], cfg: DeriveConfig) -> Derivation:
    """Parents, duplicate groups and external sources of every document in ``docs``."""
    ctx = _Context(docs, pairs, cfg)
    groups = _groups(ctx)
    chosen: list[tuple[str, _Candidate, tuple[str, ...]]] = []
    for child_id, cands in _candidates(ctx).items():
        chosen.extend((child_id, c, alts) for c, alts in _choose(ctx, child_id, cands))

    # Most confident edges first; an edge that would close a cycle is dropped.
    graph: dict[str, set[str]] = defaultdict(set)  # parent -> children
    parents: dict[str, list[Parent]] = defaultdict(list)
    calibrated = []
    for child_id, c, alts in chosen:
        relation = ctx.pair_of[frozenset((child_id, c.parent))].relation
        c = replace(c, cautions=c.cautions + (("in_duplicate_group",) if child_id in groups else ()))
        confidence = calibrated_confidence(c.basis, relation, c.rules, c.cautions, bool(alts), cfg)
        if confidence >= cfg.min_confidence:
            calibrated.append((child_id, c, alts, confidence))
    for child_id, c, alts, confidence in sorted(
        calibrated, key=lambda e: (-e[3], docs[e[0]].order, docs[e[1].parent].order)
    ):
        if reaches(lambda node: graph.get(node, ()), child_id, c.parent):
            continue
        graph[c.parent].add(child_id)
        parents[child_id].append(
            Parent(c.parent, confidence, c.coverage, tuple(c.evidence), alts, c.basis, c.rules, c.cautions)
        )

    external: dict[str, tuple[ExternalSource, ...]] = {}
    for doc_id, doc in docs.items():
        parent_outlets = {ctx.outlets[p.id] for p in parents.get(doc_id, [])}
        external[doc_id] = tuple(
            ExternalSource(c.name, c.evidence, c.start, c.end)
            for c in doc.citations
            if c.name not in parent_outlets and c.name != ctx.outlets[doc_id]
        )
    return Derivation({d: ranked(parents.get(d, [])) for d in docs}, external, groups)


CONFIDENCE_FEATURES = (
    "time", "attribution", "content", "duplicate", "wholly", "wording", "near_identical", "copies_it",
    "named", "alternatives", "parent_is_a_copy", "in_duplicate_group", "may_be_siblings", "undecided",
    "wording_from_a_copy",
)  # fmt: skip
"""What the confidence of a parent is computed from (``DeriveConfig.confidence_weights``, one weight
each after the intercept): what orders it before the child, the relation of the pair, the rules
that set rivals aside, whether it has alternatives, its cautions, whether nothing decides its
direction ('undecided'), and whether wording chose a parent that itself copies ('wording_from_a_copy':
its sibling keeps the same wording)."""


def confidence_features(
    basis: str, relation: Relation, rules: tuple[str, ...], cautions: tuple[str, ...], alternatives: bool
) -> list[float]:
    """The features of ``CONFIDENCE_FEATURES`` for one parent, as 0/1 numbers."""
    on = {*(basis.split("+") if basis else ["undecided"]), *rules, *cautions}
    if "wording" in on and "parent_is_a_copy" in on:
        on.add("wording_from_a_copy")
    if relation is Relation.DUPLICATE:
        on.add("duplicate")
    elif relation is Relation.WHOLLY_DERIVED:
        on.add("wholly")
    if alternatives:
        on.add("alternatives")
    return [1.0 if name in on else 0.0 for name in CONFIDENCE_FEATURES]


def calibrated_confidence(
    basis: str,
    relation: Relation,
    rules: tuple[str, ...],
    cautions: tuple[str, ...],
    alternatives: bool,
    cfg: DeriveConfig,
) -> float:
    """How sure it is that the child derives from this parent (or one of its alternatives): the
    probability of a logistic model over ``confidence_features``, mapped so that 0.8 and above means
    right at least 95% of the time on the syndication benchmark's tune split (where both were fitted):
    ``confident_probability`` goes to 0.8, and the scale is linear on either side of it."""
    p = float(
        probability(
            confidence_features(basis, relation, rules, cautions, alternatives), cfg.confidence_weights
        )
    )
    return scaled_confidence(p, cfg.confident_probability)


def scaled_confidence(p: float, confident: float) -> float:
    """``p`` on a scale where ``confident`` is 0.8 (linear below and above it)."""
    if p < confident:
        return 0.8 * p / confident
    return 0.8 + 0.2 * (p - confident) / (1.0 - confident) if confident < 1.0 else 1.0
