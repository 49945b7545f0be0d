"""Tests of dedup.cluster: incremental story clusters with stable ids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import ClusterEvent, ClusterEventKind, StoryClusterer, cluster_id_for

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


def test_merge_keeps_the_oldest_cluster_id() -> None:
    sc = StoryClusterer()
    sc.add("x", [])  # oldest cluster
    sc.add("y", [])
    sc.add("z", [])
    sc.add("y2", ["y"])
    cx, cy, cz = (sc.cluster_of(d) for d in "xyz")
    assert len({cx, cy, cz}) == 3

    # link order must not matter: the survivor is the oldest cluster, the others are listed oldest first
    events = sc.add("bridge", ["z", "y2", "x"])
    assert events == [
        ClusterEvent(MERGED, cx, "bridge", (cy, cz)),
        ClusterEvent(ADDED, cx, "bridge"),
    ]
    assert sc.clusters() == [cx]
    assert sorted(sc.members(cx)) == ["bridge", "x", "y", "y2", "z"]
    assert all(sc.cluster_of(d) == cx for d in ["x", "y", "y2", "z", "bridge"])
    with pytest.raises(KeyError):
        sc.members(cy)


def test_merge_survivor_is_oldest_even_when_founded_by_a_later_name() -> None:
    sc = StoryClusterer()
    sc.add("zzz", [])
    sc.add("aaa", [])
    old = sc.cluster_of("zzz")
    events = sc.add("m", ["aaa", "zzz"])
    assert events[0] == ClusterEvent(MERGED, old, "m", (cluster_id_for("aaa"),))


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


# --- property: clusters are the connected components of the link graph ----------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def add(self, x: int) -> None:
        self.parent.setdefault(x, x)

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)

    def components(self) -> set[frozenset[int]]:
        groups: dict[int, set[int]] = {}
        for x in self.parent:
            groups.setdefault(self.find(x), set()).add(x)
        return {frozenset(g) for g in groups.values()}


@st.composite
def _link_graphs(draw) -> list[list[int]]:
    """For each document i, the earlier documents it links to."""
    n = draw(st.integers(min_value=1, max_value=30))
    return [
        draw(st.lists(st.integers(min_value=0, max_value=i - 1), max_size=4)) if i else [] for i in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(_link_graphs())
def test_clusters_are_the_connected_components(graph: list[list[int]]) -> None:
    sc = StoryClusterer()
    uf = _UnionFind()
    created_order: list[str] = []
    for i, links in enumerate(graph):
        before = {c: set(sc.members(c)) for c in sc.clusters()}
        events = sc.add(f"d{i}", [f"d{j}" for j in links])
        uf.add(i)
        for j in links:
            uf.union(i, j)

        # events agree with what changed
        kinds = [e.kind for e in events]
        assert kinds in ([CREATED], [ADDED], [MERGED, ADDED])
        survivor = events[-1].cluster
        assert sc.cluster_of(f"d{i}") == survivor
        if kinds == [CREATED]:
            assert survivor not in before
            created_order.append(survivor)
        else:
            assert survivor in before
            merged = events[0].merged if kinds[0] == MERGED else ()
            if kinds[0] == MERGED:
                assert len(merged) >= 1
            assert survivor not in merged
            # the survivor is the oldest of the clusters involved
            involved = [survivor, *merged]
            assert min(involved, key=created_order.index) == survivor
            assert not set(merged) & set(sc.clusters())
            # every document of the absorbed clusters now belongs to the survivor
            for c in involved:
                for d in before[c]:
                    assert sc.cluster_of(d) == survivor
        # ids are stable: clusters not involved keep their id and their members
        for c, members in before.items():
            if c in sc.clusters() and c != survivor:
                assert set(sc.members(c)) == members

    # a partition of the documents ...
    docs = [f"d{i}" for i in range(len(graph))]
    seen: list[str] = []
    for c in sc.clusters():
        seen.extend(sc.members(c))
    assert sorted(seen) == sorted(docs)
    for c in sc.clusters():
        assert all(sc.cluster_of(d) == c for d in sc.members(c))
    # ... equal to the connected components of the link graph
    got = {frozenset(int(d[1:]) for d in sc.members(c)) for c in sc.clusters()}
    assert got == uf.components()
    # clusters() lists the oldest first
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
