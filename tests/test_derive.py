"""Tests of derivation (dedup.derive): who copied whom, end to end through Detector.analyze, plus a
few direct calls of derive() on hand-made pair results.

Every analysis is built once per module; the model is the session's packaged MiniLM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from fixtures import stories as S

from dedup.article import Article
from dedup.config import DeriveConfig
from dedup.derive import calibrated_confidence, derive, scaled_confidence
from dedup.document import PreparedDocument
from dedup.pipeline import Detector, NullProgress
from dedup.results import Analysis, PairResult, Passage, PassageKind, Relation

SOURCE = S.ORIGINAL_OUTLET
T0 = "2025-03-04T09:00:00Z"
T1 = "2025-03-04T11:30:00Z"
T2 = "2025-03-04T15:45:00+01:00"  # 14:45 UTC: after T1
EARLIER = "2025-03-01T08:00:00Z"


# -- helpers ------------------------------------------------------------------------------------------


def parent_ids(analysis: Analysis, doc_id: str) -> list[str]:
    return [p.id for p in analysis.document(doc_id).parents]


def assert_acyclic(analysis: Analysis) -> None:
    """The parent graph of the whole analysis has no cycle (and no self-loop)."""
    parents = {d.id: [p.id for p in d.parents] for d in analysis.documents}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for parent in parents[node]:
            assert parent in parents, f"unknown parent {parent!r} of {node!r}"
            assert state.get(parent) != 1, f"cycle: {[*path, node, parent]}"
            if parent not in state:
                visit(parent, [*path, node])
        state[node] = 2

    for doc_id in parents:
        if doc_id not in state:
            visit(doc_id, [])


def assert_no_parent_after_child(analysis: Analysis, articles: Sequence[Article]) -> None:
    """No parent was surely published after its child."""
    by_id = {a.id: a for a in articles}
    for d in analysis.documents:
        child_ts = by_id[d.id].published_at
        for p in d.parents:
            parent_ts = by_id[p.id].published_at
            if child_ts is not None and parent_ts is not None:
                assert parent_ts.before(child_ts) is not False, (p.id, d.id)


def assert_edges_match_parents(analysis: Analysis) -> None:
    """Cluster edges are exactly the documents' parents inside the cluster; roots are the members
    without a parent there."""
    cluster_of = {d.id: d.cluster for d in analysis.documents}
    edges = {(e.parent, e.child) for c in analysis.clusters for e in c.edges}
    parents = {(p.id, d.id) for d in analysis.documents for p in d.parents}
    assert edges == {(p, c) for p, c in parents if cluster_of[p] == cluster_of[c]}
    for c in analysis.clusters:
        members = set(c.documents)
        assert set(c.roots) == {
            m for m in members if not {p.id for p in analysis.document(m).parents} & members
        }


def check(analysis: Analysis, articles: Sequence[Article]) -> Analysis:
    assert_acyclic(analysis)
    assert_no_parent_after_child(analysis, articles)
    assert_edges_match_parents(analysis)
    for d in analysis.documents:
        for p in d.parents:
            assert p.id != d.id
            assert DeriveConfig().min_confidence <= p.confidence <= 1.0
            assert 0.0 <= p.coverage <= 1.0
            assert p.evidence
    return analysis


Corpus = tuple[list[Article], Analysis]


def run(detector: Detector, articles: list[Article]) -> Corpus:
    return articles, check(detector.analyze(articles), articles)


# -- verbatim republication -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def verbatim(detector: Detector) -> Corpus:
    return run(
        detector,
        [
            S.article("orig", S.original(), SOURCE, T0),
            S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, T1),
        ],
    )


def test_verbatim_copy_is_a_duplicate_of_the_original(verbatim: Corpus) -> None:
    _, analysis = verbatim
    pair = analysis.pair("orig", "copy")
    assert pair is not None
    assert pair.relation is Relation.DUPLICATE
    assert min(pair.coverage_a, pair.coverage_b) >= 0.9


def test_verbatim_copy_derives_from_the_earlier_original(verbatim: Corpus) -> None:
    _, analysis = verbatim
    (parent,) = analysis.document("copy").parents
    assert parent.id == "orig"
    assert (parent.basis, parent.rules, parent.cautions, parent.alternatives) == ("time", (), (), ())
    assert parent.confidence == pytest.approx(
        calibrated_confidence("time", Relation.DUPLICATE, (), (), False, DeriveConfig())
    )
    assert parent.coverage >= 0.9
    assert any("published earlier" in e for e in parent.evidence)
    assert analysis.document("orig").parents == ()
    (cluster,) = analysis.clusters
    assert cluster.roots == ("orig",)
    assert [(e.parent, e.child) for e in cluster.edges] == [("orig", "copy")]


def test_timestamps_beat_input_order(detector: Detector) -> None:
    articles = [
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, T1),
        S.article("orig", S.original(), SOURCE, T0),
    ]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "copy") == ["orig"]
    assert parent_ids(analysis, "orig") == []
    assert analysis.clusters[0].roots == ("orig",)


def test_date_only_timestamps_order_across_days(detector: Detector) -> None:
    articles = [
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, "2025-03-05"),
        S.article("orig", S.original(), SOURCE, "2025-03-04"),
    ]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "copy") == ["orig"]
    assert parent_ids(analysis, "orig") == []


@pytest.mark.parametrize("when", ["2025-03-04", T0], ids=["same-day", "same-instant"])
def test_indistinguishable_timestamps_make_a_group_with_an_undetermined_original(
    detector: Detector, when: str
) -> None:
    articles = [
        S.article("orig", S.original(), SOURCE, when),
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, when),
    ]
    _, analysis = run(detector, articles)
    # Neither time nor content orders them: no guessed edge, one group, either may be the original.
    assert parent_ids(analysis, "orig") == parent_ids(analysis, "copy") == []
    for doc_id in ("orig", "copy"):
        group = analysis.document(doc_id).duplicate_group
        assert group is not None
        assert group.documents == group.originals == ("copy", "orig")
        assert group.confidence == 0.5


# -- trimmed copy and a chain ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(detector: Detector) -> Corpus:
    """orig (T0) -> trim, a trimmed copy (T1) -> copy2, the trimmed copy under a new byline (T2)."""
    return run(
        detector,
        [
            S.article("orig", S.original(), SOURCE, T0),
            S.article("trim", S.trimmed(outlet="Bay Herald", author="Sam Kerr"), "Bay Herald", T1),
            S.article("copy2", S.trimmed(outlet="Hill Times", author="Ann Lee"), "Hill Times", T2),
        ],
    )


def test_trimmed_copy_is_wholly_derived_from_the_original(chain: Corpus) -> None:
    _, analysis = chain
    pair = analysis.pair("orig", "trim")
    assert pair is not None
    assert pair.relation is Relation.WHOLLY_DERIVED
    assert pair.coverage_of("trim") >= 0.9
    assert pair.coverage_of("orig") < 0.7
    (parent,) = analysis.document("trim").parents
    assert parent.id == "orig"
    assert "time" in parent.basis and parent.confidence >= 0.6
    assert parent.coverage >= 0.9


def test_a_copy_of_a_trim_names_both_the_trim_and_what_it_trimmed(chain: Corpus) -> None:
    _, analysis = chain
    assert analysis.pair("trim", "copy2") is not None
    assert analysis.pair("trim", "copy2").relation is Relation.DUPLICATE  # type: ignore[union-attr]
    # copy2 is the trimmed copy word for word: a copy of it, or a trim of the original cut at the same
    # place. Nothing in the texts or the times tells which, so both are named: the original first
    # (what two copies share, their common original holds too), the trimmed copy beside it.
    (parent,) = analysis.document("copy2").parents
    assert parent.id == "orig" and parent.alternatives == ("trim",)
    assert parent_ids(analysis, "orig") == []
    (cluster,) = analysis.clusters
    assert cluster.roots == ("orig",)
    assert {(e.parent, e.child) for e in cluster.edges} == {("orig", "trim"), ("orig", "copy2")}


def test_a_parent_published_after_the_child_is_never_its_parent(detector: Detector) -> None:
    # The full story carries a later timestamp than its trimmed copy: it cannot be the copy's source.
    articles = [
        S.article("orig", S.original(), SOURCE, T1),
        S.article("trim", S.trimmed(outlet="Bay Herald"), "Bay Herald", T0),
    ]
    _, analysis = run(detector, articles)
    assert "orig" not in parent_ids(analysis, "trim")
    assert analysis.pair("orig", "trim") is not None


def test_a_later_verbatim_original_is_not_the_parent(detector: Detector) -> None:
    articles = [
        S.article("orig", S.original(), SOURCE, T2),
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, T0),
    ]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "copy") == []
    assert parent_ids(analysis, "orig") == ["copy"]


# -- no timestamps ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def untimed(detector: Detector) -> Corpus:
    """Every variant, no timestamps, no outlets."""
    texts = {
        "orig": S.original(),
        "copy": S.verbatim(),
        "trim": S.trimmed(),
        "reord": S.reordered(),
        "light": S.lightly_edited(),
        "para": S.paraphrased(),
        "stitch": S.stitched(),
        "dam": S.dam_story(),
        "unrel": S.unrelated(),
        "cite": S.citing(),
        "copy2": S.trimmed(outlet="Hill Times"),
    }
    return run(detector, [S.article(k, v) for k, v in texts.items()])


def test_without_timestamps_the_parent_graph_is_acyclic(untimed: Corpus) -> None:
    articles, analysis = untimed
    assert_acyclic(analysis)
    assert len(analysis.documents) == len(articles)
    # Some derivation is still found: content decides where one lies inside the other.
    assert sum(1 for d in analysis.documents if d.parents) >= 3
    assert parent_ids(analysis, "orig") == []
    assert parent_ids(analysis, "unrel") == []


def test_without_timestamps_duplicates_are_one_group_whose_original_is_undetermined(untimed: Corpus) -> None:
    _, analysis = untimed
    # The verbatim copy, the reordered one and the light edit read just like the original: nothing
    # tells which came first, so none of them gets a parent among the others.
    group = analysis.document("orig").duplicate_group
    assert group is not None
    assert {"orig", "copy", "reord", "light"} <= set(group.documents)
    assert set(group.originals) == set(group.documents)
    assert group.confidence == pytest.approx(1 / len(group.originals))
    for doc_id in group.documents:
        assert analysis.document(doc_id).duplicate_group == group
        assert not set(parent_ids(analysis, doc_id)) & set(group.documents)
    # The trimmed copy carries less: content orders it, and its source is the group, whose members
    # it cannot tell apart.
    (parent,) = analysis.document("trim").parents
    assert {parent.id, *parent.alternatives} <= set(group.documents)
    assert parent.alternatives


def test_reversed_input_without_timestamps_is_acyclic_too(detector: Detector, untimed: Corpus) -> None:
    articles, _ = untimed
    _, analysis = run(detector, list(reversed(articles)))
    assert_acyclic(analysis)


def test_mutual_duplicates_without_timestamps_are_one_group(detector: Detector) -> None:
    # Three identical bodies: every pair is a DUPLICATE both ways.
    articles = [S.article(f"d{n}", S.verbatim(outlet=f"Outlet {n}", author="A Writer")) for n in range(3)]
    _, analysis = run(detector, articles)
    assert all(parent_ids(analysis, f"d{n}") == [] for n in range(3))
    group = analysis.document("d0").duplicate_group
    assert (
        group is not None
        and group.documents == ("d0", "d1", "d2")
        and group.confidence == pytest.approx(1 / 3)
    )
    assert set(analysis.clusters[0].roots) == {"d0", "d1", "d2"}


def test_an_untimed_original_and_its_timed_copies(detector: Detector) -> None:
    """Siblings under a timestamp-less original: an agency's feed without a time, two outlets' trims
    of it with times. The original explains each trim better than the other trim does."""
    articles = [
        S.article("early-trim", S.trimmed(0.5, outlet="Bay Herald"), "Bay Herald", T1),
        S.article("late-trim", S.trimmed(0.7, outlet="Hill Times"), "Hill Times", T2),
        S.article("feed", S.original(), SOURCE),
    ]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "early-trim") == ["feed"]
    assert parent_ids(analysis, "late-trim") == ["feed"]
    assert parent_ids(analysis, "feed") == []


# -- attribution ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def citing(detector: Detector) -> Corpus:
    return run(
        detector,
        [
            S.article("orig", S.original(), SOURCE, T0),
            S.article("cite", S.citing(SOURCE, also="Reuters"), "Bay Herald", T1),
        ],
    )


def test_citing_rewrite_derives_from_the_named_outlet(citing: Corpus) -> None:
    _, analysis = citing
    pair = analysis.pair("orig", "cite")
    assert pair is not None and pair.relation in (Relation.PARTIALLY_DERIVED, Relation.WHOLLY_DERIVED)
    (parent,) = analysis.document("cite").parents
    assert parent.id == "orig"
    assert parent.basis == "time+attribution"
    assert parent.confidence == pytest.approx(
        calibrated_confidence(parent.basis, pair.relation, (), (), False, DeriveConfig())
    )
    assert any(SOURCE in e and "source" in e for e in parent.evidence)


def test_citing_rewrite_does_not_list_its_parent_as_external(citing: Corpus) -> None:
    _, analysis = citing
    names = [s.name for s in analysis.document("cite").external_sources]
    assert SOURCE not in names
    assert analysis.document("orig").external_sources == ()


def test_outlet_outside_the_corpus_is_an_external_source(citing: Corpus) -> None:
    articles, analysis = citing
    text = next(a.text for a in articles if a.id == "cite")
    (source,) = analysis.document("cite").external_sources
    assert source.name == "Reuters"
    assert source.evidence == text[source.start : source.end]
    assert "Reuters" in source.evidence


def test_citation_outweighs_input_order(detector: Detector) -> None:
    # No timestamps, the citing rewrite comes first: naming the outlet still makes orig the parent.
    articles = [
        S.article("cite", S.citing(SOURCE)),
        S.article("orig", S.original(), SOURCE),
    ]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "cite") == ["orig"]
    assert parent_ids(analysis, "orig") == []
    assert analysis.document("cite").external_sources == ()


def test_citing_an_outlet_of_the_corpus_without_copying_is_external(detector: Detector) -> None:
    # The beetle story shares nothing with the port story: naming the port story's outlet makes it an
    # outside source of the beetle story, not a parent.
    text = S.unrelated() + f"\n\nThe survey was first reported by {SOURCE}."
    articles = [S.article("orig", S.original(), SOURCE, T0), S.article("beetle", text, None, T1)]
    _, analysis = run(detector, articles)
    assert parent_ids(analysis, "beetle") == []
    (source,) = analysis.document("beetle").external_sources
    assert source.name == SOURCE
    assert source.evidence == text[source.start : source.end]


# -- stitched ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stitched(detector: Detector) -> Corpus:
    return run(
        detector,
        [
            S.article("dam", S.dam_story(outlet="Valley Post"), "Valley Post", EARLIER),
            S.article("orig", S.original(), SOURCE, T0),
            S.article("stitch", S.stitched(outlet="Bay Herald"), "Bay Herald", T1),
        ],
    )


def test_stitched_article_has_one_parent_per_source_story(stitched: Corpus) -> None:
    _, analysis = stitched
    parents = analysis.document("stitch").parents
    assert {p.id for p in parents} == {"orig", "dam"}
    for p in parents:
        assert p.basis == "time" and p.confidence >= 0.6
        assert 0.3 <= p.coverage <= 0.7
    # Together the two parents explain almost all of it.
    assert sum(p.coverage for p in parents) >= 0.9
    assert parent_ids(analysis, "orig") == []
    assert parent_ids(analysis, "dam") == []


def test_stitched_article_joins_one_story_and_keeps_its_parent_in_the_other(stitched: Corpus) -> None:
    _, analysis = stitched
    # Two events: the stitched piece joins one of them, and never merges the two.
    assert len(analysis.clusters) == 2
    cluster = {d.id: d.cluster for d in analysis.documents}
    assert cluster["dam"] != cluster["orig"]
    assert cluster["stitch"] in (cluster["dam"], cluster["orig"])
    assert {p.id for p in analysis.document("stitch").parents} == {"orig", "dam"}


# -- derive() on hand-made pairs --------------------------------------------------------------------------


def _prepared(detector: Detector, articles: list[Article]) -> dict[str, PreparedDocument]:
    return {d.id: d for d in detector.prepare(articles, NullProgress())}


def _whole_pair(a: str, b: str, text_a: str, text_b: str, relation: Relation, cov: float) -> PairResult:
    return PairResult(
        a,
        b,
        relation,
        cov,
        cov,
        0.5,
        0.9,
        (Passage(0, len(text_a), 0, len(text_b), PassageKind.VERBATIM, 1.0),),
    )


@pytest.mark.parametrize(
    ("relation", "sibling_share", "has_parent"),
    [
        (Relation.PARTIALLY_DERIVED, "sibling_partial", False),
        (Relation.WHOLLY_DERIVED, "sibling_whole", True),
    ],
)
def test_two_copies_naming_the_same_outside_source_may_be_siblings(
    detector: Detector, relation: Relation, sibling_share: str, has_parent: bool
) -> None:
    ta = "Two ferry lines have suspended crossings to Caldmouth until further notice, Reuters reported."
    tb = "Ferry crossings to Caldmouth have been suspended until further notice, Reuters reported on Tuesday."
    docs = _prepared(detector, [S.article("x", ta, "Bay Herald", T0), S.article("y", tb, "Hill Times", T1)])
    cfg = DeriveConfig()
    # What they share is the news, not the credit: each names Reuters in its own words.
    shared = Passage(0, ta.index(", Reuters"), 0, tb.index(", Reuters"), PassageKind.NEAR_VERBATIM, 0.9)
    pair = PairResult("x", "y", relation, 0.5, 0.5, 0.5, 0.9, (shared,))
    result = derive(docs, [pair], cfg)
    # Published earlier, sigmoid(time_weight) = 0.95, times (1 - sibling share): below one half, the
    # evidence leans away and it is no parent; above, a parent with the caution.
    leaning = 1 / (1 + math.exp(-cfg.time_weight)) * (1 - getattr(cfg, sibling_share))
    if has_parent:
        assert leaning > 0.5
        (parent,) = result.parents["y"]
        assert parent.id == "x" and parent.cautions == ("may_be_siblings",)
        assert parent.confidence == pytest.approx(
            calibrated_confidence("time", relation, (), ("may_be_siblings",), False, cfg)
        )
        assert any("may be siblings" in e for e in parent.evidence)
    else:
        assert leaning < 0.5
        assert result.parents["y"] == ()
    assert result.parents["x"] == ()
    assert [s.name for s in result.external_sources["x"]] == ["Reuters"]
    assert [s.name for s in result.external_sources["y"]] == ["Reuters"]


def test_a_citation_copied_along_is_no_sign_of_siblings(detector: Detector) -> None:
    text = "Two ferry lines have suspended crossings to Caldmouth until further notice, Reuters reported."
    docs = _prepared(
        detector, [S.article("x", text, "Bay Herald", T0), S.article("y", text, "Hill Times", T1)]
    )
    # The credit to Reuters lies inside the passage y shares with x: y copied it along with the rest.
    result = derive(docs, [_whole_pair("x", "y", text, text, Relation.DUPLICATE, 1.0)], DeriveConfig())
    (parent,) = result.parents["y"]
    assert parent.id == "x" and parent.basis == "time" and parent.cautions == ()
    assert not any("may be siblings" in e for e in parent.evidence)


def test_same_story_pairs_derive_nothing(detector: Detector) -> None:
    ta, tb = S.original(), S.paraphrased()
    docs = _prepared(detector, [S.article("x", ta, None, T0), S.article("y", tb, None, T1)])
    pair = PairResult("x", "y", Relation.SAME_STORY, 0.0, 0.0, 0.1, 0.9, ())
    result = derive(docs, [pair], DeriveConfig())
    assert result.parents == {"x": (), "y": ()}


def test_min_confidence_filters_weak_parents(detector: Detector) -> None:
    ta, tb = S.compose(S.PORT_PARAGRAPHS), S.compose(S.trimmed_paragraphs(0.6))
    docs = _prepared(detector, [S.article("x", ta), S.article("y", tb)])
    passages = (Passage(0, len(tb), 0, len(tb), PassageKind.VERBATIM, 1.0),)
    pair = PairResult("x", "y", Relation.WHOLLY_DERIVED, 0.6, 1.0, 0.6, 0.9, passages)
    (parent,) = derive(docs, [pair], DeriveConfig()).parents["y"]
    # Without timestamps the only evidence is content: y is all in x, x 60% in y.
    assert parent.id == "x" and parent.basis == "content"
    expected = calibrated_confidence("content", Relation.WHOLLY_DERIVED, (), (), False, DeriveConfig())
    assert parent.confidence == pytest.approx(expected)
    assert derive(docs, [pair], DeriveConfig(min_confidence=expected + 0.01)).parents == {"x": (), "y": ()}


def test_confidence_is_on_a_scale_where_0_8_is_the_confident_probability() -> None:
    assert scaled_confidence(0.851, 0.851) == pytest.approx(0.8)
    assert scaled_confidence(0.0, 0.851) == 0.0 and scaled_confidence(1.0, 0.851) == pytest.approx(1.0)
    ps = [i / 100 for i in range(101)]
    scaled = [scaled_confidence(p, 0.851) for p in ps]
    assert scaled == sorted(scaled)  # monotone: it ranks parents as the model does
    # More evidence never lowers it: time beside attribution, a near-identical copy beside a trim.
    cfg = DeriveConfig()
    assert calibrated_confidence("time+attribution", Relation.PARTIALLY_DERIVED, (), (), False, cfg) > (
        calibrated_confidence("attribution", Relation.PARTIALLY_DERIVED, (), (), False, cfg)
    )
    assert calibrated_confidence("time", Relation.DUPLICATE, (), (), False, cfg) > (
        calibrated_confidence("time", Relation.PARTIALLY_DERIVED, (), (), False, cfg)
    )
    # A child with near-identical twins that nothing orders is less sure.
    assert calibrated_confidence("time", Relation.DUPLICATE, (), ("in_duplicate_group",), False, cfg) < (
        calibrated_confidence("time", Relation.DUPLICATE, (), (), False, cfg)
    )


def test_an_outlets_update_derives_from_its_earlier_version(detector: Detector) -> None:
    """No timestamps: one outlet's fuller version of a story is the update, not the source."""
    first = S.original()
    update = S.original() + (
        "\n\nUpdate: talks between the union and the port operator resumed late in the evening, officials said. "
        "Both sides agreed to meet again on Thursday morning at the city hall, with a mediator from the labour "
        "ministry. Ships waiting outside the harbour were told to expect no berths before the weekend. "
        "The operator said a partial restart of the night shift could come within days if the talks go well."
    )
    analysis = detector.analyze(
        [
            S.article("update", update, outlet="Harbour Times"),
            S.article("first", first, outlet="Harbour Times"),
        ]
    )
    parents = {d.id: [p.id for p in d.parents] for d in analysis.documents}
    assert parents == {"update": ["first"], "first": []}


def test_a_shared_quote_alone_does_not_make_a_parent(detector: Detector) -> None:
    quote = f'"{S.QUOTE_OKAFOR}"'
    a = S.dam_story() + f"\n\nAt a separate event, a union leader said: {quote}"
    analysis = detector.analyze(
        [S.article("orig", S.original(), published_at="2025-03-04T09:00:00Z"),
         S.article("dam", a, published_at="2025-03-04T12:00:00Z")]
    )  # fmt: skip
    pair = analysis.pair("orig", "dam")
    # Both quote the same speaker: a common source, not a copy, and no parent.
    assert pair is not None and pair.relation.value == "COMMON_SOURCE"
    assert pair.passages and all(p.attributed for p in pair.passages)
    assert pair.coverage_of("dam") < 0.15
    assert analysis.document("dam").parents == ()
