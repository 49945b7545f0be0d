"""What is decided from the pairs, end to end on fixtures written for these tests: a roundup of two
stories joins one of them; two earthquakes a week apart stay two stories; the clusters do not depend
on the order the articles arrive in."""

from __future__ import annotations

import random

import pytest
from fixtures import quakes as Q
from fixtures import stories as S

from benchmarks.metrics import adjusted_rand_index
from dedup.article import Article
from dedup.pipeline import Detector
from dedup.results import REUSE_RELATIONS, Analysis


def quake_articles(timestamps: bool = True) -> list[Article]:
    days = ("2025-03-03", "2025-03-10")
    out = []
    for day, reports, event in zip(days, (Q.FIRST, Q.SECOND), ("first", "second"), strict=True):
        for n, (headline, body) in enumerate(reports):
            when = f"{day}T{9 + n * 3:02d}:00:00Z" if timestamps else None
            out.append(S.article(f"{event}-{n}", f"{headline}\n\n{body}", f"Outlet {event} {n}", when))
    return out


def cluster_of(analysis: Analysis) -> dict[str, str]:
    return {d.id: d.cluster for d in analysis.documents}


def test_two_earthquakes_a_week_apart_are_two_stories(detector: Detector) -> None:
    clusters = cluster_of(detector.analyze(quake_articles()))
    assert clusters["first-0"] == clusters["first-1"]
    assert clusters["second-0"] == clusters["second-1"]
    assert clusters["first-0"] != clusters["second-0"]


ROUNDUP = "\n\n".join(
    [
        "Morning briefing: the news you need today",
        S.compose(S.PORT_PARAGRAPHS[:1], None),
        S.compose(S.DAM_PARAGRAPHS[:2], None),
    ]
)
"""A roundup: the head of the port-strike story and, at more length, the head of the dam story."""


@pytest.fixture(scope="module")
def roundup(detector: Detector) -> Analysis:
    return detector.analyze(
        [
            S.article("port", S.original(), S.ORIGINAL_OUTLET, "2025-03-04T09:00:00Z"),
            S.article("dam", S.dam_story(outlet="Valley Post"), "Valley Post", "2025-03-04T08:00:00Z"),
            S.article("roundup", ROUNDUP, "Evening Signal", "2025-03-04T18:00:00Z"),
        ]
    )


def test_a_roundup_of_two_stories_joins_the_one_it_takes_most_from(roundup: Analysis) -> None:
    clusters = cluster_of(roundup)
    assert clusters["port"] != clusters["dam"]  # two stories, and the roundup merges neither
    assert clusters["roundup"] == clusters["dam"]
    assert len(roundup.clusters) == 2


def test_a_roundup_keeps_its_pairs_and_parents_in_both_stories(roundup: Analysis) -> None:
    for source in ("port", "dam"):
        pair = roundup.pair("roundup", source)
        assert pair is not None and pair.relation in REUSE_RELATIONS
    assert {p.id for p in roundup.document("roundup").parents} == {"port", "dam"}


def corpus() -> list[Article]:
    return [
        *quake_articles(),
        S.article("orig", S.original(), S.ORIGINAL_OUTLET, "2025-03-04T09:00:00Z"),
        S.article("copy", S.verbatim(), S.REPUBLISHER_OUTLET, "2025-03-04T10:00:00Z"),
        S.article("trim", S.trimmed(), "Bay Herald", "2025-03-04T11:00:00Z"),
        S.article("para", S.paraphrased(), "The Quay Review", "2025-03-04T14:00:00Z"),
        S.article("cite", S.citing(), "Morning Ledger", "2025-03-05"),
        S.article("dam", S.dam_story(), "Valley Post", "2025-03-04T08:00:00Z"),
        S.article("stitch", S.stitched(), "Evening Signal", "2025-03-06T07:00:00Z"),
        S.article("beetle", S.unrelated(), "Science Weekly", "2025-03-04T15:00:00Z"),
        S.article("roundup", ROUNDUP, "Evening Signal", "2025-03-04T18:00:00Z"),
    ]


def test_clusters_do_not_depend_on_arrival_order(detector: Detector) -> None:
    articles = corpus()
    clusterings = [cluster_of(detector.analyze(articles))]
    for seed in (1, 2):
        shuffled = list(articles)
        random.Random(seed).shuffle(shuffled)
        clusterings.append(cluster_of(detector.analyze(shuffled)))
    for i in range(len(clusterings)):
        for j in range(i + 1, len(clusterings)):
            assert adjusted_rand_index(clusterings[i], clusterings[j]) >= 0.95
