"""Tests of dedup.pipeline.Detector.analyze end to end: clusters, pairs, the JSON contract of
Analysis.to_dict(), determinism and input errors.

One analysis of every fixture variant (tests/fixtures/stories.py) is built once per module.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fixtures import stories as S

from dedup.article import Article
from dedup.embed import CachingEmbedder
from dedup.errors import InvalidArgument
from dedup.pipeline import Detector
from dedup.results import Analysis, PassageKind, Relation

SOURCE = S.ORIGINAL_OUTLET
PORT_IDS = ("orig", "copy", "trim", "reord", "light", "para", "cite", "stitch")


def corpus() -> list[Article]:
    """Every variant, each with its own outlet and a timestamp (the dam story is the oldest)."""
    return [
        S.article("dam", S.dam_story(outlet="Valley Post"), "Valley Post", "2025-03-01T08:00:00Z"),
        S.article("orig", S.original(), SOURCE, "2025-03-04T09:00:00Z"),
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, "2025-03-04T10:00:00Z"),
        S.article("trim", S.trimmed(outlet="Bay Herald"), "Bay Herald", "2025-03-04T11:00:00Z"),
        S.article("reord", S.reordered(), "Hill Times", "2025-03-04T12:00:00Z"),
        S.article("light", S.lightly_edited(), "Coastline Daily", "2025-03-04T13:00:00Z"),
        S.article("para", S.paraphrased(), "The Quay Review", "2025-03-04T14:00:00Z"),
        S.article("unrel", S.unrelated(), "Science Weekly", "2025-03-04T15:00:00Z"),
        S.article("cite", S.citing(SOURCE, also="Reuters"), "Morning Ledger", "2025-03-05"),
        S.article("stitch", S.stitched(), "Evening Signal", "2025-03-06T07:00:00Z"),
    ]


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return corpus()


@pytest.fixture(scope="module")
def analysis(detector: Detector, articles: list[Article]) -> Analysis:
    return detector.analyze(articles)


@pytest.fixture(scope="module")
def data(analysis: Analysis) -> dict[str, Any]:
    """to_dict() after a round trip through JSON, as other tools read it."""
    return json.loads(json.dumps(analysis.to_dict()))


def cluster_of(analysis: Analysis, doc_id: str) -> str:
    return analysis.document(doc_id).cluster


# -- clusters -----------------------------------------------------------------------------------------


def test_clusters_partition_the_documents(analysis: Analysis, articles: list[Article]) -> None:
    ids = [a.id for a in articles]
    assert [d.id for d in analysis.documents] == ids  # in input order
    members = [m for c in analysis.clusters for m in c.documents]
    assert sorted(members) == sorted(ids)  # every id in exactly one cluster
    cluster_ids = [c.id for c in analysis.clusters]
    assert len(set(cluster_ids)) == len(cluster_ids)
    for c in analysis.clusters:
        assert c.documents
        for m in c.documents:
            assert analysis.document(m).cluster == c.id
        assert set(c.roots) <= set(c.documents)
        assert c.roots  # an acyclic parent graph has a root in every cluster


def test_unrelated_story_has_a_cluster_of_its_own(analysis: Analysis) -> None:
    (cluster,) = [c for c in analysis.clusters if "unrel" in c.documents]
    assert cluster.documents == ("unrel",)
    assert cluster.roots == ("unrel",)
    assert cluster.edges == ()
    assert analysis.document("unrel").parents == ()
    assert all("unrel" not in (p.a, p.b) for p in analysis.pairs)


def test_all_versions_of_the_port_story_share_a_cluster(analysis: Analysis) -> None:
    assert len({cluster_of(analysis, d) for d in PORT_IDS}) == 1
    # The stitched article takes half of the port story and half of the dam story (another event):
    # it joins one of them and does not merge the two.
    assert cluster_of(analysis, "dam") != cluster_of(analysis, "orig")
    assert len(analysis.clusters) == 3


def test_edges_and_roots_follow_the_parents(analysis: Analysis) -> None:
    edges = {(e.parent, e.child): e.confidence for c in analysis.clusters for e in c.edges}
    parents = {(p.id, d.id): p.confidence for d in analysis.documents for p in d.parents}
    # A cluster's edges are its members' parents inside it; a parent in another story (the dam
    # story of the stitched article) is a parent but no edge of either cluster.
    inside = {k: v for k, v in parents.items() if cluster_of(analysis, k[0]) == cluster_of(analysis, k[1])}
    assert edges == inside
    assert set(parents) - set(inside) == {("dam", "stitch")}
    for c in analysis.clusters:
        assert set(c.roots) == {
            m for m in c.documents if not {p.id for p in analysis.document(m).parents} & set(c.documents)
        }
    port = next(c for c in analysis.clusters if "orig" in c.documents)
    assert set(port.roots) == {"orig"}


def test_parent_graph_is_acyclic_and_respects_time(analysis: Analysis, articles: list[Article]) -> None:
    published = {a.id: a.published_at for a in articles}
    parents = {d.id: [p.id for p in d.parents] for d in analysis.documents}
    for start in parents:
        seen, stack = set(), list(parents[start])
        while stack:
            node = stack.pop()
            assert node != start, f"{start!r} is its own ancestor"
            if node not in seen:
                seen.add(node)
                stack.extend(parents[node])
    for child, ps in parents.items():
        for parent in ps:
            before = published[parent].before(published[child])  # type: ignore[union-attr]
            assert before is not False


def test_named_source_wins_among_equally_good_parents(analysis: Analysis) -> None:
    # The copies published after the original hold the same quote and are more recent, but the
    # citing rewrite names the original's outlet.
    (parent,) = analysis.document("cite").parents
    assert parent.id == "orig"
    assert [s.name for s in analysis.document("cite").external_sources] == ["Reuters"]


def test_stitched_article_has_a_parent_in_each_story(analysis: Analysis) -> None:
    parents = {p.id for p in analysis.document("stitch").parents}
    assert "dam" in parents
    assert len(parents) == 2
    assert parents - {"dam"} <= set(PORT_IDS)


# -- pairs --------------------------------------------------------------------------------------------


def test_pair_relations(analysis: Analysis) -> None:
    expected = {
        ("orig", "copy"): Relation.DUPLICATE,
        ("orig", "reord"): Relation.DUPLICATE,
        ("orig", "light"): Relation.DUPLICATE,
        ("orig", "trim"): Relation.WHOLLY_DERIVED,
        ("orig", "stitch"): Relation.PARTIALLY_DERIVED,
        ("orig", "cite"): Relation.PARTIALLY_DERIVED,
        ("dam", "stitch"): Relation.PARTIALLY_DERIVED,
    }
    for (a, b), relation in expected.items():
        pair = analysis.pair(a, b)
        assert pair is not None, (a, b)
        assert pair.relation is relation, (a, b, pair.relation)
    para = analysis.pair("orig", "para")
    assert para is not None and para.relation in (Relation.PARTIALLY_DERIVED, Relation.WHOLLY_DERIVED)
    assert analysis.pair("orig", "dam") is None


def test_pairs_are_well_formed(analysis: Analysis, articles: list[Article]) -> None:
    order = {a.id: n for n, a in enumerate(articles)}
    text = {a.id: a.text for a in articles}
    seen = set()
    for p in analysis.pairs:
        assert order[p.a] < order[p.b]  # a comes first in the input
        assert (p.a, p.b) not in seen
        seen.add((p.a, p.b))
        if p.relation is Relation.SAME_STORY:
            assert p.passages == () and p.coverage_a == 0.0 and p.coverage_b == 0.0
            assert cluster_of(analysis, p.a) == cluster_of(analysis, p.b)
        else:
            assert p.passages
            # Pairs that share passages may cross stories: the stitched article and the dam story.
            if cluster_of(analysis, p.a) != cluster_of(analysis, p.b):
                assert {p.a, p.b} == {"stitch", "dam"}
        for q in p.passages:
            assert 0 <= q.a_start < q.a_end <= len(text[p.a])
            assert 0 <= q.b_start < q.b_end <= len(text[p.b])


def test_duplicate_pair_passages_slice_the_same_words(analysis: Analysis, articles: list[Article]) -> None:
    from dedup.segment import tokenize

    text = {a.id: a.text for a in articles}
    pair = analysis.pair("orig", "copy")
    assert pair is not None
    for q in pair.passages:
        assert q.kind is PassageKind.VERBATIM
        left = [t.text for t in tokenize(text[pair.a][q.a_start : q.a_end])]
        right = [t.text for t in tokenize(text[pair.b][q.b_start : q.b_end])]
        assert left == right


# -- the JSON contract --------------------------------------------------------------------------------

DOCUMENT_KEYS = {"id", "cluster", "parents", "external_sources", "duplicate_group"}
PARENT_KEYS = {"id", "confidence", "coverage", "evidence", "alternatives", "basis", "rules", "cautions"}
SOURCE_KEYS = {"name", "evidence", "start", "end"}
CLUSTER_KEYS = {"id", "documents", "roots", "edges"}
EDGE_KEYS = {"parent", "child", "confidence"}
PAIR_KEYS = {"a", "b", "relation", "coverage_a", "coverage_b", "lexical", "semantic", "passages"}
PASSAGE_KEYS = {"a_start", "a_end", "b_start", "b_end", "kind", "score", "attributed"}


def _unit(x: Any) -> bool:
    return isinstance(x, float | int) and not isinstance(x, bool) and 0.0 <= x <= 1.0


def test_to_dict_has_exactly_the_contract_keys(data: dict[str, Any]) -> None:
    assert set(data) == {"documents", "clusters", "pairs", "stats"}
    for d in data["documents"]:
        assert set(d) == DOCUMENT_KEYS
        for p in d["parents"]:
            assert set(p) == PARENT_KEYS
        for s in d["external_sources"]:
            assert set(s) == SOURCE_KEYS
    for c in data["clusters"]:
        assert set(c) == CLUSTER_KEYS
        for e in c["edges"]:
            assert set(e) == EDGE_KEYS
    for p in data["pairs"]:
        assert set(p) == PAIR_KEYS
        for q in p["passages"]:
            assert set(q) == PASSAGE_KEYS


def test_to_dict_types_and_ranges(data: dict[str, Any], articles: list[Article]) -> None:
    ids = {a.id for a in articles}
    text = {a.id: a.text for a in articles}
    cluster_ids = {c["id"] for c in data["clusters"]}
    for d in data["documents"]:
        assert d["id"] in ids and d["cluster"] in cluster_ids
        for p in d["parents"]:
            assert p["id"] in ids
            assert _unit(p["confidence"]) and _unit(p["coverage"])
            assert all(isinstance(e, str) and e for e in p["evidence"])
        for s in d["external_sources"]:
            assert isinstance(s["name"], str) and s["name"]
            assert s["evidence"] == text[d["id"]][s["start"] : s["end"]]
    for c in data["clusters"]:
        assert all(m in ids for m in c["documents"])
        for e in c["edges"]:
            assert e["parent"] in c["documents"] and e["child"] in c["documents"]
            assert _unit(e["confidence"])
    for p in data["pairs"]:
        assert p["relation"] in {r.value for r in Relation}
        for key in ("coverage_a", "coverage_b", "lexical", "semantic"):
            assert _unit(p[key]), (key, p[key])
        for q in p["passages"]:
            assert q["kind"] in {k.value for k in PassageKind}
            assert _unit(q["score"])
            assert all(isinstance(q[k], int) for k in ("a_start", "a_end", "b_start", "b_end"))


def test_to_dict_stats(data: dict[str, Any], articles: list[Article]) -> None:
    stats = data["stats"]
    assert stats["documents"] == len(articles)
    assert stats["pairs"] == len(data["pairs"])
    assert stats["candidate_pairs"] >= stats["pairs"]
    # Repeated sentences (the verbatim, reordered and trimmed copies) go through the model once.
    assert 0 < stats["embedded"] < stats["sentences"]


def test_external_sources_in_the_contract(data: dict[str, Any]) -> None:
    by_id = {d["id"]: d for d in data["documents"]}
    assert [s["name"] for s in by_id["cite"]["external_sources"]] == ["Reuters"]
    assert SOURCE not in {s["name"] for d in data["documents"] for s in d["external_sources"]}


# -- determinism --------------------------------------------------------------------------------------


def _without_stats(a: Analysis) -> dict[str, Any]:
    d = a.to_dict()
    del d["stats"]
    return d


def test_analysing_twice_gives_the_same_result(detector: Detector, analysis: Analysis) -> None:
    again = detector.analyze(corpus())
    assert _without_stats(again) == _without_stats(analysis)


def test_a_new_detector_gives_the_same_result(embedder: CachingEmbedder, analysis: Analysis) -> None:
    fresh = Detector(embedder=embedder)
    assert _without_stats(fresh.analyze(corpus())) == _without_stats(analysis)


def test_cluster_ids_do_not_depend_on_the_other_articles(detector: Detector, analysis: Analysis) -> None:
    alone = detector.analyze([S.article("unrel", S.unrelated())])
    assert alone.document("unrel").cluster == analysis.document("unrel").cluster


def test_relation_does_not_depend_on_input_order(detector: Detector) -> None:
    x = (
        "The parade flags were red blue green gold pink grey teal jade.\n\n"
        "Meanwhile the council approved a new budget for road repairs across the northern district."
    )
    y = (
        "Organisers of the festival chose the colours red, blue, green, gold, pink, grey, teal, jade "
        "for the parade.\n\n"
        "A chess tournament in the town hall attracted players from eleven countries on Sunday."
    )
    forwards = detector.analyze([S.article("x", x), S.article("y", y)])
    backwards = detector.analyze([S.article("y", y), S.article("x", x)])
    p, q = forwards.pair("x", "y"), backwards.pair("x", "y")
    assert (p.relation if p else None) is (q.relation if q else None)


# -- inputs -------------------------------------------------------------------------------------------


def test_duplicate_ids_are_rejected(detector: Detector) -> None:
    articles = [S.article("same", S.original()), S.article("same", S.unrelated())]
    with pytest.raises(InvalidArgument, match="same"):
        detector.analyze(articles)


def test_no_articles_is_an_empty_analysis(detector: Detector) -> None:
    result = detector.analyze([])
    assert result.documents == () and result.clusters == () and result.pairs == ()
    assert result.to_dict()["stats"]["documents"] == 0


def test_articles_of_nothing_but_boilerplate(detector: Detector) -> None:
    header_only = f"{S.byline(SOURCE, S.ORIGINAL_AUTHOR)}\n\n{S.copyright_line(SOURCE)}"
    result = detector.analyze(
        [S.article("a", header_only), S.article("b", header_only), S.article("c", "Hi.")]
    )
    assert result.pairs == ()
    assert sorted(m for c in result.clusters for m in c.documents) == ["a", "b", "c"]
    assert all(d.parents == () for d in result.documents)


class RecordingProgress:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int]] = []
        self.done: dict[str, int] = {}

    def start(self, stage: str, total: int) -> None:
        self.stages.append((stage, total))
        self.done[stage] = 0

    def advance(self, n: int = 1) -> None:
        self.done[self.stages[-1][0]] += n


def test_progress_is_reported_per_stage(detector: Detector) -> None:
    articles = corpus()[:4]
    progress = RecordingProgress()
    detector.analyze(articles, progress)
    # the model embeds while the articles are matched: no stage of its own
    assert [s for s, _ in progress.stages] == ["preparing", "matching"]
    assert progress.stages[0][1] == len(articles)
    assert progress.stages[1][1] == len(articles)  # matching goes article by article
    for stage, total in progress.stages:
        assert progress.done[stage] == total, stage


def test_no_model_finds_copies_but_no_paraphrase() -> None:
    """embed.model = "none": the lexical-only mode. A copy is still a DUPLICATE; a rewrite sharing no
    wording is nothing; no sentence goes through a model."""
    from dedup.config import Config, EmbedConfig
    from dedup.embed import NullEmbedder

    text = (
        "The harbour authority said on Tuesday that the strike by crane operators had ended after "
        "eleven days, and that ships would be unloaded again from Wednesday morning.\n\n"
        "Union leaders accepted a pay offer of four percent over two years, the authority said."
    )
    rewrite = (
        "Crane drivers went back to work midweek once their walkout, nearly a fortnight long, was over; "
        "port managers expect vessels to be handled normally again.\n\n"
        "Their representatives agreed to a two-year deal raising wages by 4%."
    )
    detector = Detector(Config(embed=EmbedConfig(model="none")))
    assert isinstance(detector.embedder, NullEmbedder)
    analysis = detector.analyze([Article("a", text), Article("b", text), Article("c", rewrite)])
    pairs = {(p.a, p.b): p.relation.value for p in analysis.pairs}
    assert pairs == {("a", "b"): "DUPLICATE"}
    assert analysis.stats["embedded"] == 0 and analysis.stats["sentences"] > 0
    clusters = {d.id: d.cluster for d in analysis.documents}
    assert clusters["a"] == clusters["b"] != clusters["c"]
