"""Contract tests of the engine's parts: every implementation of a part's protocol must pass the same
tests. Each part's fixture is parametrised over its implementations; another implementation (one kept
in Redis, say) slots in as a further entry of that fixture's factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dedup.lineage import Lineage, MemoryLineage, install_parents, ranked, reaches, walk
from dedup.results import LineageEdge, Parent
from dedup.undo import UndoLog

# -- lineage ------------------------------------------------------------------------------------------

LINEAGES: dict[str, Callable[[], Lineage]] = {"memory": MemoryLineage}


@pytest.fixture(params=sorted(LINEAGES))
def lineage(request: pytest.FixtureRequest) -> Iterator[Lineage]:
    yield LINEAGES[request.param]()


def _p(doc_id: str, confidence: float = 0.9, coverage: float = 0.5) -> Parent:
    return Parent(doc_id, confidence, coverage)


def _state(lineage: Lineage, ids: str = "abcdefg") -> dict[str, tuple[tuple[Parent, ...], list[str]]]:
    """What the protocol answers for every id: parents, and children in order."""
    return {d: (lineage.parents(d), sorted(lineage.children(d))) for d in ids}


def test_lineage_starts_empty(lineage: Lineage) -> None:
    assert lineage.parents("a") == () and not lineage.children("a")
    assert lineage.remove("a") == set()


def test_lineage_children_are_the_inverse_of_parents(lineage: Lineage) -> None:
    lineage.set_parents("c", (_p("a"), _p("b", 0.5)))
    lineage.set_parents("d", (_p("a"),))
    assert lineage.parents("c") == (_p("a"), _p("b", 0.5))  # in the order given
    assert sorted(lineage.children("a")) == ["c", "d"] and sorted(lineage.children("b")) == ["c"]
    lineage.set_parents("c", (_p("b"),))  # replaced: no longer a child of a
    assert sorted(lineage.children("a")) == ["d"] and lineage.parents("c") == (_p("b"),)
    lineage.set_parents("c", ())
    assert lineage.parents("c") == () and not lineage.children("b")


def test_lineage_children_is_a_copy(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    children = lineage.children("a")
    lineage.set_parents("c", (_p("a"),))
    assert sorted(children) == ["b"]


def test_lineage_remove_takes_the_article_out_of_both_directions(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a", 0.4)))
    lineage.set_parents("d", (_p("b"),))
    assert lineage.remove("b") == {"c", "d"}
    assert lineage.parents("b") == () and not lineage.children("b")
    assert not any(p.id == "b" for d in "acd" for p in lineage.parents(d))
    assert lineage.parents("c") == (_p("a", 0.4),)  # its other parent stays
    assert sorted(lineage.children("a")) == ["c"]  # b was a's child: gone with it


def test_lineage_undo_puts_back_every_change(lineage: Lineage) -> None:
    lineage.set_parents("b", (_p("a"),))
    lineage.set_parents("c", (_p("b"), _p("a")))
    before = _state(lineage)
    log = UndoLog()
    lineage.undo = log
    lineage.set_parents("d", (_p("c"),))
    lineage.set_parents("c", (_p("a"),))
    lineage.remove("b")
    install_parents(lineage, {"e": (_p("d"), _p("a", 0.3))}, "abcdefg".index)
    lineage.undo = None
    assert _state(lineage) != before
    log.undo()
    assert _state(lineage) == before


def test_lineage_changes_without_an_undo_log_are_kept(lineage: Lineage) -> None:
    log = UndoLog()
    lineage.undo = log
    lineage.undo = None
    lineage.set_parents("b", (_p("a"),))
    log.undo()
    assert lineage.parents("b") == (_p("a"),)


def test_install_parents_drops_the_edge_that_closes_a_cycle(lineage: Lineage) -> None:
    order = "abcdefg".index
    lineage.set_parents("b", (_p("a"),))  # a -> b stored
    got = install_parents(lineage, {"a": (_p("b", 0.95),), "c": (_p("a", 0.7), _p("b", 0.9))}, order)
    # b -> a would close a -> b -> a; the others stand, most confident first.
    assert got == {"a": (), "c": (_p("b", 0.9), _p("a", 0.7))}
    assert lineage.parents("c") == (_p("b", 0.9), _p("a", 0.7)) and lineage.parents("a") == ()


def test_install_parents_keeps_the_more_confident_of_two_edges_in_a_cycle(lineage: Lineage) -> None:
    got = install_parents(lineage, {"a": (_p("b", 0.6),), "b": (_p("a", 0.8),)}, "abcdefg".index)
    assert got == {"a": (), "b": (_p("a", 0.8),)}
    # Equal confidence: the earlier child's edge first (by ``order``).
    lineage.set_parents("b", ())
    got = install_parents(lineage, {"c": (_p("d", 0.6),), "d": (_p("c", 0.6),)}, "abcdefg".index)
    assert got == {"c": (_p("d", 0.6),), "d": ()}


def test_install_parents_ranks_and_replaces(lineage: Lineage) -> None:
    lineage.set_parents("c", (_p("a"),))
    got = install_parents(lineage, {"c": (_p("b", 0.5, 0.2), _p("d", 0.5, 0.9))}, "abcdefg".index)
    assert got == {"c": ranked([_p("b", 0.5, 0.2), _p("d", 0.5, 0.9)])}
    assert got["c"] == (_p("d", 0.5, 0.9), _p("b", 0.5, 0.2))  # equal confidence: the larger coverage first
    assert not lineage.children("a")


def test_walk_goes_breadth_first_both_ways(lineage: Lineage) -> None:
    order = "abcdefg".index
    lineage.set_parents("b", (_p("a", 0.9),))
    lineage.set_parents("c", (_p("a", 0.8),))
    lineage.set_parents("d", (_p("c", 0.7), _p("b", 0.6)))
    up, down = walk(lineage, "d", 32, order)
    assert up == [
        LineageEdge("c", "d", 0.7), LineageEdge("b", "d", 0.6), LineageEdge("a", "c", 0.8), LineageEdge("a", "b", 0.9)
    ]  # fmt: skip
    assert down == []
    up, down = walk(lineage, "a", 32, order)
    assert up == []
    assert down == [
        LineageEdge("a", "b", 0.9), LineageEdge("a", "c", 0.8), LineageEdge("b", "d", 0.6), LineageEdge("c", "d", 0.7)
    ]  # fmt: skip
    assert walk(lineage, "a", 1, order)[1] == [LineageEdge("a", "b", 0.9), LineageEdge("a", "c", 0.8)]


def test_reaches_follows_children_only() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "d": {"a"}}

    def children(node: str) -> set[str]:
        return graph.get(node, set())

    assert reaches(children, "a", "c") and reaches(children, "d", "c") and reaches(children, "a", "a")
    assert not reaches(children, "c", "a") and not reaches(children, "b", "d")
