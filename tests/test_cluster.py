"""Tests of dedup.cluster: incremental story clusters with stable ids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import Claim, StoryClusterer, cluster_id_for
from dedup.results import ClusterEvent, ClusterEventKind

CREATED = ClusterEventKind.CREATED
ADDED = ClusterEventKind.DOCUMENT_ADDED
MERGED = ClusterEventKind.MERGED


def test_cluster_id_is_stable_and_url_safe() -> None:
    cid = cluster_id_for("article-1")
    assert cid == cluster_id_for("article-1")
    assert cid != cluster_id_for("article-2")
    assert cid.startswith("c") and len(cid) == 13
    assert all(ch in "0123456789abcdef" for ch in cid[1:])


def test_unlinked_document_founds_a_cluster() -> None:
    sc = StoryClusterer()
    events = sc.add("a", [])
    cid = cluster_id_for("a")
    assert events == [ClusterEvent(CREATED, cid, "a")]
    assert sc.cluster_of("a") == cid
    assert sc.members(cid) == ["a"]
    assert sc.clusters() == [cid]


def test_links_to_unknown_documents_are_ignored() -> None:
    sc = StoryClusterer()
    events = sc.add("a", ["not-yet-seen", "a"])
    assert [e.kind for e in events] == [CREATED]


def test_linked_document_joins_the_cluster_and_the_id_does_not_change() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    cid = sc.cluster_of("a")
    events = sc.add("b", ["a"])
    assert events == [ClusterEvent(ADDED, cid, "b")]
    events = sc.add("c", ["b"])
    assert events == [ClusterEvent(ADDED, cid, "c")]
    assert sc.cluster_of("a") == sc.cluster_of("b") == sc.cluster_of("c") == cid
    assert sc.members(cid) == ["a", "b", "c"]
    assert sc.clusters() == [cid]


def test_an_article_linked_to_two_stories_joins_the_one_it_shares_most_with() -> None:
    sc = StoryClusterer()
    sc.add("quake", [])
    sc.add("quake-copy", {"quake": 0.95})
    sc.add("vote", [])
    cq, cv = sc.cluster_of("quake"), sc.cluster_of("vote")
    # A roundup: a third of it from the vote story, a quarter from the quake story.
    events = sc.add("roundup", {"quake-copy": 0.25, "vote": 0.33})
    assert events == [ClusterEvent(ADDED, cv, "roundup")]
    assert sc.clusters() == [cq, cv]  # nothing merged: one article never joins two stories
    # A second and a third roundup do not merge them either.
    sc.add("roundup-2", {"quake": 0.4, "vote": 0.2})
    sc.add("roundup-3", {"vote": 0.3, "quake-copy": 0.3})
    assert sc.clusters() == [cq, cv]
    assert sc.cluster_of("roundup-2") == cq
    assert sc.cluster_of("roundup-3") == cq  # a tie: the older story


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_clusters_merge_on_average_linkage_and_keep_the_oldest_id() -> None:
    sc = StoryClusterer(threshold=0.75)
    sc.add("zzz", [], _unit(1, 0.0))
    sc.add("aaa", [], _unit(1, 1.2))  # cosine 0.64 to zzz: a story of its own
    old, young = sc.cluster_of("zzz"), sc.cluster_of("aaa")
    assert old != young
    # An article between them joins the closer (aaa's, 0.92) cluster; the grown cluster is then
    # close enough on average to zzz's (0.64 and 0.89: 0.77), and the older id survives.
    events = sc.add("m", [], _unit(1, 0.5))
    assert events == [ClusterEvent(MERGED, old, "m", (young,)), ClusterEvent(ADDED, old, "m")]
    assert sorted(sc.members(old)) == ["aaa", "m", "zzz"]
    with pytest.raises(KeyError):
        sc.members(young)


DAY = 86400.0


def test_two_events_of_one_kind_a_week_apart_stay_two_stories() -> None:
    sc = StoryClusterer(threshold=0.75, time_tolerance_days=2.0, time_penalty_per_day=0.05)
    quake = _unit(1, 0.3)
    sc.add("first-quake", [], quake, time=0.0)
    sc.add("first-quake-2", [], _unit(1, 0.35), time=0.5 * DAY)
    first = sc.cluster_of("first-quake")
    # A week later, an article that reads much like them (cosine 0.9): 5 days beyond the tolerance
    # take 0.25 off, below the threshold.
    like = _unit(1, 0.9)
    assert sc.peek([], like, time=None) == first  # unknown time, not early: content alone
    events = sc.add("second-quake", [], like, time=7 * DAY)
    assert events[0].kind is CREATED
    second = sc.cluster_of("second-quake")
    assert sc.peek([], _unit(1, 0.8), time=7.2 * DAY) == second
    assert sc.peek([], _unit(1, 0.8), time=0.2 * DAY) == first
    # A copy of the first quake's story published a week later still joins it through its link.
    sc.add("late-copy", {"first-quake": 0.9}, quake, time=7 * DAY)
    assert sc.cluster_of("late-copy") == first
    # Two clusters with articles a week apart do not merge on content either.
    sc.add("second-quake-2", [], _unit(1, 0.7), time=7.1 * DAY)
    assert sc.cluster_of("second-quake-2") == second
    assert len(sc.clusters()) == 2


def test_several_links_into_one_cluster_is_no_merge() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    sc.add("b", ["a"])
    events = sc.add("c", ["a", "b", "a"])
    assert [e.kind for e in events] == [ADDED]


def test_adding_twice_is_an_error() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    with pytest.raises(ValueError, match="already clustered"):
        sc.add("a", [])


def test_remove_keeps_the_id_and_drops_empty_clusters() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    cid = sc.cluster_of("a")
    sc.add("b", ["a"])
    assert sc.remove("a") == cid
    assert sc.members(cid) == ["b"]
    assert sc.cluster_of("b") == cid  # the founder left; the id stays
    with pytest.raises(KeyError):
        sc.cluster_of("a")
    assert sc.remove("a") is None  # unknown now
    assert sc.remove("never") is None

    assert sc.remove("b") == cid
    assert sc.clusters() == []
    with pytest.raises(KeyError):
        sc.members(cid)


def test_readding_a_founder_while_its_cluster_lives_gets_a_fresh_id() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    sc.add("b", ["a"])
    old = sc.cluster_of("a")
    sc.remove("a")
    events = sc.add("a", [])  # alone this time: a new cluster, which must not reuse the living id
    assert events[0].kind == CREATED
    new = sc.cluster_of("a")
    assert new != old
    assert sc.cluster_of("b") == old
    assert sorted(sc.clusters()) == sorted([old, new])


def test_removed_document_is_not_a_link_target() -> None:
    sc = StoryClusterer()
    sc.add("a", [])
    sc.remove("a")
    events = sc.add("b", ["a"])
    assert [e.kind for e in events] == [CREATED]


# --- property: without vectors, an article joins the cluster of its strongest link -------------------


@st.composite
def _link_graphs(draw) -> list[dict[int, float]]:
    """For each document i, the earlier documents it links to, with the share of i each explains."""
    n = draw(st.integers(min_value=1, max_value=30))
    share = st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.9])
    return [
        draw(st.dictionaries(st.integers(min_value=0, max_value=i - 1), share, max_size=4)) if i else {}
        for i in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(_link_graphs())
def test_each_article_joins_the_cluster_of_its_strongest_link(graph: list[dict[int, float]]) -> None:
    sc = StoryClusterer()
    expected: dict[int, str] = {}  # brute force: the cluster of each document, by the rule
    created_order: list[str] = []
    for i, links in enumerate(graph):
        before = {c: set(sc.members(c)) for c in sc.clusters()}
        events = sc.add(f"d{i}", {f"d{j}": s for j, s in links.items()})
        kinds = [e.kind for e in events]
        assert kinds in ([CREATED], [ADDED])  # without vectors nothing ever merges
        if not links:
            assert kinds == [CREATED]
            created_order.append(events[0].cluster)
            expected[i] = events[0].cluster
        else:
            # the strongest link's cluster; among equal shares, the oldest cluster
            best = max(links.values())
            clusters = {expected[j] for j, s in links.items() if s == best}
            expected[i] = min(clusters, key=created_order.index)
            assert events == [ClusterEvent(ADDED, expected[i], f"d{i}")]
        # ids are stable: every other cluster keeps its members
        for c, members in before.items():
            assert members <= set(sc.members(c))
    assert {f"d{i}": c for i, c in expected.items()} == {d: c for c in sc.clusters() for d in sc.members(c)}
    assert sc.clusters() == sorted(sc.clusters(), key=created_order.index)


@st.composite
def _operations(draw) -> list[tuple[str, int, list[int]]]:
    ops: list[tuple[str, int, list[int]]] = []
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        doc = draw(st.integers(min_value=0, max_value=12))
        if draw(st.booleans()):
            ops.append(("add", doc, draw(st.lists(st.integers(min_value=0, max_value=12), max_size=3))))
        else:
            ops.append(("remove", doc, []))
    return ops


@settings(max_examples=200, deadline=None)
@given(_operations())
def test_adds_and_removes_keep_a_partition_with_stable_ids(ops: list[tuple[str, int, list[int]]]) -> None:
    sc = StoryClusterer()
    present: set[str] = set()
    for op, doc, links in ops:
        name = f"d{doc}"
        before = {c: set(sc.members(c)) for c in sc.clusters()}
        if op == "add":
            if name in present:
                with pytest.raises(ValueError):
                    sc.add(name, [])
                continue
            events = sc.add(name, [f"d{j}" for j in links])
            present.add(name)
            merged = set(events[0].merged) if events[0].kind == MERGED else set()
            # a surviving id is never one that just disappeared, and a new id never reuses a living one
            if events[0].kind == CREATED:
                assert events[0].cluster not in before
        else:
            cid = sc.remove(name)
            assert (cid is not None) == (name in present)
            present.discard(name)
            merged = set()
        # ids of clusters that still exist did not change meaning: their old members are still in them
        for c, members in before.items():
            if c in merged:
                assert c not in sc.clusters()
                continue
            if c in sc.clusters():
                assert members - {name} <= set(sc.members(c))
            else:
                assert members == {name} and op == "remove"  # only an emptied cluster disappears
        # a partition of the present documents, with no empty clusters
        seen = [d for c in sc.clusters() for d in sc.members(c)]
        assert sorted(seen) == sorted(present)
        assert all(sc.members(c) for c in sc.clusters())
        assert len(set(sc.clusters())) == len(sc.clusters())


def test_threshold_zero_without_vectors_still_clusters_by_links_only() -> None:
    sc = StoryClusterer(threshold=0.0)
    for d in "abc":
        sc.add(d, [])
    events = sc.add("d", ["a"])
    assert [e.kind for e in events] == [ADDED]
    assert len(sc.clusters()) == 3


def test_removing_with_its_vector_leaves_the_cluster_as_if_never_added() -> None:
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((3, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    probe = vecs[0] + 0.1 * vecs[2]
    sc, fresh = StoryClusterer(threshold=0.0), StoryClusterer(threshold=0.0)
    sc.add("a", [], vecs[0])
    sc.add("b", ["a"], vecs[1])
    sc.add("c", ["a"], vecs[2])
    sc.remove("b", vecs[1])
    fresh.add("a", [], vecs[0])
    fresh.add("c", ["a"], vecs[2])
    cid = sc.cluster_of("a")
    assert sc._average(probe, cid) == pytest.approx(fresh._average(probe, fresh.cluster_of("a")))


def test_a_roundup_that_came_first_moves_to_the_story_it_takes_most_from() -> None:
    port, dam = _unit(1, 0.1, 0.0), _unit(0.0, 1, 0.1)
    roundup = _unit(0.8, 0.7, 0.0)  # reads like both
    sc = StoryClusterer(threshold=0.6, link_min_cosine=0.5, rehome_margin=0.1)
    sc.add("roundup", [], roundup)  # founds a cluster: nothing holds it there
    sc.add("port", {"roundup": 0.3}, port)  # a third of the port story is in the roundup
    assert sc.cluster_of("port") == sc.cluster_of("roundup")
    first = sc.cluster_of("roundup")
    assert sc.placement("roundup") == 0.0 and sc.placement("port") == 0.3
    # The dam story arrives: it explains 60% of the roundup, which moves to it; the port story stays.
    events = sc.add("dam", {"roundup": 0.5}, dam, claims={"roundup": Claim(0.6, roundup, None)})
    dam_cluster = sc.cluster_of("dam")
    assert events[-2:] == [
        ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, first, "roundup"),
        ClusterEvent(ADDED, dam_cluster, "roundup"),
    ]
    assert sc.cluster_of("roundup") == dam_cluster != sc.cluster_of("port") == first
    assert sc.placement("roundup") == 0.6
    # An article that joined on content stays where it reads best, whatever later claims.
    sc.add("port-2", [], _unit(1, 0.15, 0.0))
    assert sc.placement("port-2") == 1.0
    sc.add("dam-2", [], dam, claims={"port-2": Claim(0.9, _unit(1, 0.15, 0.0), None)})
    assert sc.cluster_of("port-2") == first


def test_add_moving_names_the_documents_whose_cluster_changed() -> None:
    sc = StoryClusterer(threshold=0.75)
    sc.add("zzz", [], _unit(1, 0.0))
    sc.add("b", ["zzz"], _unit(1, 0.0))
    sc.add("aaa", [], _unit(1, 1.2))
    sc.add("c", ["aaa"], _unit(1, 0.9))  # cosine 0.74 to zzz: not yet enough to merge
    old = sc.cluster_of("zzz")
    # m joins aaa's cluster, which then merges into zzz's (the older): aaa's articles move, not m.
    events, moved = sc.add_moving("m", [], _unit(1, 0.5), ["zzz", "aaa"])
    assert events[0].kind is MERGED and events[0].cluster == old
    assert moved == ["aaa", "c"] and all(sc.cluster_of(d) == old for d in moved)
    # Without a merge or a move, nothing else changed.
    assert sc.add_moving("n", ["m"], _unit(1, 0.5))[1] == []
