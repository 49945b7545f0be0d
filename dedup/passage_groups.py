"""Shared passages as a reader sees them: each stretch of text once, with every article that holds it.

The aligner reports passages pair by pair, and a pair may hold overlapping
passages of different kinds (a verbatim quote inside a paraphrased sentence).
``merge_pair_passages`` folds those into one passage with the strongest kind;
``group_passages`` then joins the passages of all pairs that cover the same
stretch of some article, so a quote five articles share is one group of five,
not ten pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dedup.results import PairResult, Passage, PassageKind

__all__ = ["MergedPassage", "PassageGroup", "Span", "group_passages", "merge_pair_passages", "strongest"]

_STRENGTH = {PassageKind.VERBATIM: 3, PassageKind.NEAR_VERBATIM: 2, PassageKind.PARAPHRASE: 1}

MIN_OVERLAP = 0.5
"""Two spans of one article are the same stretch when they overlap by at least this share of the
shorter one."""


def strongest(kinds: Iterable[PassageKind]) -> PassageKind:
    """The kind that says most: verbatim over near-verbatim over paraphrase."""
    return max(kinds, key=_STRENGTH.__getitem__)


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character span of one article."""

    doc: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PassageGroup:
    """One stretch of text shared by several articles: per article, the span that holds it (the
    union of its aligned spans), the strongest kind any pair found, and whether any side quotes or
    credits it."""

    spans: tuple[Span, ...]
    kind: PassageKind
    attributed: bool
    pairs: tuple[tuple[str, str], ...]
    """The article pairs whose passages make up the group."""

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(s.doc for s in self.spans)

    def span_of(self, doc: str) -> Span:
        for s in self.spans:
            if s.doc == doc:
                return s
        raise KeyError(doc)


def _overlaps(a0: int, a1: int, b0: int, b1: int, share: float = MIN_OVERLAP) -> bool:
    shared = min(a1, b1) - max(a0, b0)
    return shared > 0 and shared >= share * min(a1 - a0, b1 - b0)


def _same_stretch(a0: int, a1: int, b0: int, b1: int) -> bool:
    """Overlapping by half of the longer span: roughly the same text, not one inside a longer one."""
    shared = min(a1, b1) - max(a0, b0)
    return shared > 0 and shared >= MIN_OVERLAP * max(a1 - a0, b1 - b0)


@dataclass(frozen=True, slots=True)
class MergedPassage:
    """Overlapping passages of one pair as one: ``passage`` spans their union on each side with the
    strongest kind; ``core_a``/``core_b`` span only the parts of that kind (the verbatim quote inside
    a paraphrased sentence), which is what a reader is shown and what groups across pairs."""

    passage: Passage
    core_a: tuple[int, int]
    core_b: tuple[int, int]


def _union(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    return (min(x[0], y[0]), max(x[1], y[1]))


def merge_pair_passages(passages: Iterable[Passage]) -> tuple[MergedPassage, ...]:
    """One pair's passages with those that overlap on either side (by half of the shorter) merged:
    the merged passage spans the union on each side, takes the strongest kind and the best score,
    and is attributed when any part is. Ordered by position in side a."""
    merged = [
        MergedPassage(p, (p.a_start, p.a_end), (p.b_start, p.b_end))
        for p in sorted(passages, key=lambda p: (p.a_start, p.b_start))
    ]
    changed = True
    while changed:  # a merge can make a passage overlap one it did not overlap before
        changed = False
        out: list[MergedPassage] = []
        for mp in merged:
            p = mp.passage
            for i, mm in enumerate(out):
                m = mm.passage
                if not (
                    _overlaps(m.a_start, m.a_end, p.a_start, p.a_end)
                    or _overlaps(m.b_start, m.b_end, p.b_start, p.b_end)
                ):
                    continue
                kind = strongest((m.kind, p.kind))
                cores = [c for c, k in ((mm, m.kind), (mp, p.kind)) if k is kind]
                core_a, core_b = cores[0].core_a, cores[0].core_b
                for c in cores[1:]:
                    core_a, core_b = _union(core_a, c.core_a), _union(core_b, c.core_b)
                out[i] = MergedPassage(
                    Passage(
                        min(m.a_start, p.a_start), max(m.a_end, p.a_end),
                        min(m.b_start, p.b_start), max(m.b_end, p.b_end),
                        kind, max(m.score, p.score), m.attributed or p.attributed,
                    ),
                    core_a,
                    core_b,
                )  # fmt: skip
                changed = True
                break
            else:
                out.append(mp)
        merged = out
    return tuple(sorted(merged, key=lambda m: (m.passage.a_start, m.passage.b_start)))


class _Sets:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        self.parent[self.find(x)] = self.find(y)


def group_passages(pairs: Iterable[PairResult], order: Mapping[str, int] | None = None) -> list[PassageGroup]:
    """The passages of ``pairs`` grouped by the stretch of text they cover.

    A pair's overlapping passages are merged first (``merge_pair_passages``), and only their cores
    (the parts of the strongest kind) are grouped: both sides of a passage are one group, and two
    spans of one article that are roughly the same stretch (overlapping by half of the longer) are
    one group too, so a quote is not swallowed by a longer copy that contains it. Within a group an
    article's span is the union of its spans.
    Groups come most widely shared first, then by kind, then by where they start in the first
    article (``order`` ranks articles; by id when not given)."""
    spans: list[Span] = []
    kinds: list[PassageKind] = []
    attributed: list[bool] = []
    owner: list[tuple[str, str]] = []
    sets_edges: list[tuple[int, int]] = []
    for pair in pairs:
        for mp in merge_pair_passages(pair.passages):
            p = mp.passage
            i = len(spans)
            spans += [Span(pair.a, *mp.core_a), Span(pair.b, *mp.core_b)]
            kinds += [p.kind, p.kind]
            attributed += [p.attributed, p.attributed]
            owner += [(pair.a, pair.b), (pair.a, pair.b)]
            sets_edges.append((i, i + 1))
    sets = _Sets(len(spans))
    for x, y in sets_edges:
        sets.union(x, y)
    by_doc: dict[str, list[int]] = {}
    for i, s in enumerate(spans):
        by_doc.setdefault(s.doc, []).append(i)
    for members in by_doc.values():
        members.sort(key=lambda i: (spans[i].start, spans[i].end))
        # Sweep by start: a span can only overlap those that start before it ends.
        for k, i in enumerate(members):
            for j in members[k + 1 :]:
                if spans[j].start >= spans[i].end:
                    break
                if _same_stretch(spans[i].start, spans[i].end, spans[j].start, spans[j].end):
                    sets.union(i, j)
    components: dict[int, list[int]] = {}
    for i in range(len(spans)):
        components.setdefault(sets.find(i), []).append(i)
    rank = order if order is not None else {}

    def doc_key(doc: str) -> tuple[int, str]:
        return (rank.get(doc, len(rank)), doc)

    groups = []
    for members in components.values():
        union: dict[str, tuple[int, int]] = {}
        for i in members:
            s = spans[i]
            lo, hi = union.get(s.doc, (s.start, s.end))
            union[s.doc] = (min(lo, s.start), max(hi, s.end))
        docs = sorted(union, key=doc_key)
        groups.append(
            PassageGroup(
                spans=tuple(Span(d, *union[d]) for d in docs),
                kind=strongest(kinds[i] for i in members),
                attributed=any(attributed[i] for i in members),
                pairs=tuple(sorted({owner[i] for i in members})),
            )
        )
    groups.sort(key=lambda g: (-len(g.spans), -_STRENGTH[g.kind], doc_key(g.spans[0].doc), g.spans[0].start))
    return groups
