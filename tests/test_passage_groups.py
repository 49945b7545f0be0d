"""Shared passages grouped for readers: merging within a pair, grouping across pairs (against brute force)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.passage_groups import group_passages, merge_pair_passages, strongest
from dedup.results import PairResult, Passage, PassageKind, Relation

V, N, P = PassageKind.VERBATIM, PassageKind.NEAR_VERBATIM, PassageKind.PARAPHRASE


def pair(a: str, b: str, *passages: Passage) -> PairResult:
    return PairResult(a, b, Relation.PARTIALLY_DERIVED, 0.5, 0.5, 0.5, 0.5, tuple(passages))


def test_a_quote_inside_a_paraphrased_sentence_is_one_passage_of_the_stronger_kind() -> None:
    sentence = Passage(100, 400, 50, 200, P, 0.8)
    quote = Passage(110, 220, 60, 170, V, 1.0, attributed=True)
    (merged,) = merge_pair_passages([sentence, quote])
    assert merged.passage.kind is V
    assert (merged.passage.a_start, merged.passage.a_end) == (100, 400)
    assert merged.passage.attributed
    # What a reader is shown is the verbatim part, not the paraphrase around it.
    assert (merged.core_a, merged.core_b) == ((110, 220), (60, 170))


def test_passages_far_apart_stay_apart() -> None:
    merged = merge_pair_passages([Passage(0, 100, 0, 100, V, 1.0), Passage(500, 600, 500, 600, P, 0.7)])
    assert [m.passage.kind for m in merged] == [V, P]


def test_a_quote_five_articles_share_is_one_group_of_five() -> None:
    spans = {"a": (10, 90), "b": (200, 282), "c": (0, 80), "d": (40, 121), "e": (300, 380)}
    pairs = [
        pair(x, y, Passage(*spans[x], *spans[y], V if x < "c" else N, 1.0, True))
        for x, y in itertools.combinations(sorted(spans), 2)
    ]
    (group,) = group_passages(pairs)
    assert group.documents == ("a", "b", "c", "d", "e")
    assert group.kind is V and group.attributed
    assert group.span_of("d").start == 40
    assert len(group.pairs) == 10


def test_a_short_quote_is_not_swallowed_by_a_long_copy_that_contains_it() -> None:
    # a and b share the whole story; c quotes one sentence of it.
    pairs = [
        pair("a", "b", Passage(0, 1000, 0, 1000, V, 1.0)),
        pair("a", "c", Passage(300, 380, 40, 120, N, 0.97, True)),
        pair("b", "c", Passage(300, 380, 40, 120, N, 0.97, True)),
    ]
    groups = group_passages(pairs)
    assert [g.documents for g in groups] == [("a", "b", "c"), ("a", "b")]
    assert groups[0].kind is N and groups[1].kind is V


def test_groups_are_ordered_by_how_many_articles_share_them_then_kind() -> None:
    pairs = [
        pair("a", "b", Passage(0, 100, 0, 100, P, 0.7), Passage(200, 300, 200, 300, V, 1.0)),
        pair("b", "c", Passage(500, 600, 500, 600, N, 0.9)),
        pair("a", "c", Passage(700, 800, 0, 100, V, 1.0)),
        pair("b", "c", Passage(0, 100, 900, 1000, V, 1.0)),
    ]
    groups = group_passages(pairs)
    assert groups[0].documents == ("a", "b", "c")
    assert groups[0].kind is V  # the paraphrase of a and b is joined by a verbatim copy in b and c
    assert [(g.documents, g.kind) for g in groups[1:]] == [(("a", "b"), V), (("a", "c"), V), (("b", "c"), N)]


def brute_force_groups(pairs: list[PairResult]) -> set[frozenset[tuple[str, int, int]]]:
    """Components by repeated merging over every two spans, no sweep."""
    nodes: list[tuple[str, int, int]] = []
    links: list[tuple[int, int]] = []
    for p in pairs:
        for m in merge_pair_passages(p.passages):
            links.append((len(nodes), len(nodes) + 1))
            nodes += [(p.a, *m.core_a), (p.b, *m.core_b)]
    for i, j in itertools.combinations(range(len(nodes)), 2):
        (d1, s1, e1), (d2, s2, e2) = nodes[i], nodes[j]
        shared = min(e1, e2) - max(s1, s2)
        if d1 == d2 and shared > 0 and shared >= 0.5 * max(e1 - s1, e2 - s2):
            links.append((i, j))
    comp = list(range(len(nodes)))
    changed = True
    while changed:
        changed = False
        for i, j in links:
            lo = min(comp[i], comp[j])
            if comp[i] != lo or comp[j] != lo:
                comp[i] = comp[j] = lo
                changed = True
    out: dict[int, set[str]] = {}
    for i, c in enumerate(comp):
        out.setdefault(c, set()).add(nodes[i][0])
    # Compare by the documents each component covers and the union span per document.
    result = set()
    for c in set(comp):
        members = [nodes[i] for i in range(len(nodes)) if comp[i] == c]
        per_doc: dict[str, tuple[int, int]] = {}
        for d, s, e in members:
            lo, hi = per_doc.get(d, (s, e))
            per_doc[d] = (min(lo, s), max(hi, e))
        result.add(frozenset((d, s, e) for d, (s, e) in per_doc.items()))
    return result


spans = st.tuples(st.integers(0, 400), st.integers(5, 120)).map(lambda t: (t[0], t[0] + t[1]))
passages = st.builds(
    lambda a, b, kind, attributed: Passage(*a, *b, kind, 0.9, attributed),
    spans,
    spans,
    st.sampled_from([V, N, P]),
    st.booleans(),
)
pairs_strategy = st.lists(
    st.tuples(st.sampled_from("abcde"), st.sampled_from("abcde"), st.lists(passages, max_size=4)).filter(
        lambda t: t[0] < t[1]
    ),
    max_size=6,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=200, deadline=None)
@given(pairs_strategy)
def test_grouping_matches_brute_force(raw: list[tuple[str, str, list[Passage]]]) -> None:
    pairs = [pair(a, b, *ps) for a, b, ps in raw]
    groups = group_passages(pairs)
    got = {frozenset((s.doc, s.start, s.end) for s in g.spans) for g in groups}
    assert got == brute_force_groups(pairs)


@settings(max_examples=200, deadline=None)
@given(st.lists(passages, max_size=8))
def test_merging_covers_every_passage_and_leaves_no_overlap(ps: list[Passage]) -> None:
    merged = merge_pair_passages(ps)
    for p in ps:
        holders = [
            m for m in merged if m.passage.a_start <= p.a_start and p.a_end <= m.passage.a_end
            and m.passage.b_start <= p.b_start and p.b_end <= m.passage.b_end
        ]  # fmt: skip
        assert holders, p
        assert any(m.passage.kind is strongest((m.passage.kind, p.kind)) for m in holders)
    for x, y in itertools.combinations(merged, 2):
        for (s1, e1), (s2, e2) in (
            ((x.passage.a_start, x.passage.a_end), (y.passage.a_start, y.passage.a_end)),
            ((x.passage.b_start, x.passage.b_end), (y.passage.b_start, y.passage.b_end)),
        ):
            shared = min(e1, e2) - max(s1, s2)
            assert shared <= 0 or shared < 0.5 * min(e1 - s1, e2 - s2)
    assert sum(m.passage.kind is V for m in merged) <= sum(p.kind is V for p in ps)
