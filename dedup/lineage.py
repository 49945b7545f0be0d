"""Lineage: which stored articles each article derives from (its parents) and, the other way, which
derive from it (its children).

``Lineage`` is the part of the engine that keeps them, behind a narrow protocol: an article's parents
and children, replacing an article's parents, and taking an article out. ``MemoryLineage`` keeps them in
two dicts in process; ``RedisLineage`` (``dedup.redis_lineage``) reads them from a Redis store. The logic
over them is written once, here, for every implementation:

- ``reaches``, the cycle check: whether an article can be reached from another along child edges. It
  serves the derivation of a batch (``dedup.derive``, over its own graph) and the engine installing the
  parents of stored articles (``install_parents``, over the stored lineage).
- ``install_parents``: new parent sets, most confident edges first, any edge that would close a cycle
  dropped, so the lineage stays a DAG.
- ``walk``: the edges to an article's ancestors and to its descendants, breadth first (``Engine.lineage``).

Undo. While ``undo`` holds an ``UndoLog``, an implementation records every change in it, so that the
engine can put the lineage back as it was when the change it made cannot be committed (``dedup.undo``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

from dedup.results import LineageEdge, Parent
from dedup.undo import UndoLog

__all__ = ["Lineage", "MemoryLineage", "install_parents", "make_lineage", "ranked", "reaches", "walk"]


class Lineage(Protocol):
    """The parents and children of the stored articles. Every article named is stored; an article
    without parents is simply absent. ``children`` is the inverse of ``parents`` at all times."""

    undo: UndoLog | None
    """While set, every change is recorded in it (``dedup.undo``); the engine sets it for one write."""

    def parents(self, doc_id: str) -> tuple[Parent, ...]:
        """The article's parents, in the order they were set (empty when it has none)."""
        ...

    def children(self, doc_id: str) -> Collection[str]:
        """The articles that name ``doc_id`` among their parents (a copy: changes do not show in it)."""
        ...

    def set_parents(self, child: str, parents: tuple[Parent, ...]) -> None:
        """Replace the article's parents (``()``: it has none) and the children sets that name it."""
        ...

    def remove(self, doc_id: str) -> set[str]:
        """Take an article out: its own parents, and it as a parent of its children (who keep any other
        parents). Returns those children, whose parents are then to be derived again."""
        ...

    def parents_many(self, ids: Iterable[str]) -> dict[str, tuple[Parent, ...]]:
        """``parents`` of each of ``ids`` that has any, at once."""
        ...

    def follow(self, doc_id: str, parents: tuple[Parent, ...] | None) -> None:
        """Take what another process sharing the store committed for an article: its parents now (None:
        it was deleted). A part that reads the store has nothing to do."""
        ...

    def settled(self) -> None:
        """The engine's write is over, committed or undone: a part that keeps the write's changes apart
        from what it reads from the store drops them (the store now holds them, or they were undone)."""
        ...


class MemoryLineage:
    """``Lineage`` in two dicts: child -> parents, and parent -> children."""

    def __init__(self) -> None:
        self._parents: dict[str, tuple[Parent, ...]] = {}
        self._children: dict[str, set[str]] = defaultdict(set)
        self.undo: UndoLog | None = None

    def _save(self, mapping: dict[str, tuple[Parent, ...]] | dict[str, set[str]], key: str) -> None:
        """Record ``mapping[key]`` before it changes, while an undo log is set."""
        if self.undo is not None:
            self.undo.save(mapping, key)

    def parents(self, doc_id: str) -> tuple[Parent, ...]:
        return self._parents.get(doc_id, ())

    def children(self, doc_id: str) -> frozenset[str]:
        return frozenset(self._children.get(doc_id, ()))

    def set_parents(self, child: str, parents: tuple[Parent, ...]) -> None:
        for old in self._parents.get(child, ()):
            self._save(self._children, old.id)
            self._children[old.id].discard(child)
        self._save(self._parents, child)
        if parents:
            self._parents[child] = parents
            for p in parents:
                self._save(self._children, p.id)
                self._children[p.id].add(child)
        else:
            self._parents.pop(child, None)

    def remove(self, doc_id: str) -> set[str]:
        self.set_parents(doc_id, ())
        self._save(self._children, doc_id)
        orphans = set(self._children.pop(doc_id, set()))
        for child in orphans:
            self._save(self._parents, child)
            self._parents[child] = tuple(p for p in self._parents.get(child, ()) if p.id != doc_id)
        return orphans

    def parents_many(self, ids: Iterable[str]) -> dict[str, tuple[Parent, ...]]:
        return {d: ps for d in ids if (ps := self._parents.get(d))}

    def follow(self, doc_id: str, parents: tuple[Parent, ...] | None) -> None:
        if parents is None:
            self.remove(doc_id)
        else:
            self.set_parents(doc_id, parents)

    def settled(self) -> None:
        """Nothing: the dicts are the lineage."""


def make_lineage(store: object, cache: int) -> Lineage:
    """The lineage for the engine over ``store``: read from Redis for a Redis store, so that every process
    sharing it reads the one its commits keep, at most ``cache`` articles' parents kept
    (``dedup.redis_lineage``); in process otherwise."""
    from dedup.redis_store import RedisStore  # (imports redis only when a RedisStore is made)

    if isinstance(store, RedisStore):
        from dedup.redis_lineage import RedisLineage

        return RedisLineage(store, cache)
    return MemoryLineage()


def reaches(children: Callable[[str], Iterable[str]], start: str, target: str) -> bool:
    """Whether ``target`` is ``start`` or one of its descendants, following ``children`` (an article's
    children). The cycle check: an edge parent -> child closes a cycle exactly when the child reaches
    the parent."""
    stack, seen = [start], {start}
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for nxt in children(node):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def ranked(parents: Iterable[Parent]) -> tuple[Parent, ...]:
    """Parents in the order they are reported: most confident first, then the one explaining most."""
    return tuple(sorted(parents, key=lambda p: (-p.confidence, -p.coverage)))


def install_parents(
    lineage: Lineage, proposed: Mapping[str, tuple[Parent, ...]], order: Callable[[str], int]
) -> dict[str, tuple[Parent, ...]]:
    """Give each article of ``proposed`` its new parents, most confident edges first (ties: the earlier
    child, then the earlier parent, by ``order``), dropping any edge that would close a cycle with the
    edges already in ``lineage`` or accepted before it. Returns the parents each was given, ``ranked``."""
    for child in proposed:
        lineage.set_parents(child, ())
    accepted: dict[str, list[Parent]] = {child: [] for child in proposed}
    edges = sorted(
        ((child, p) for child, parents in proposed.items() for p in parents),
        key=lambda e: (-e[1].confidence, order(e[0]), order(e[1].id)),
    )
    for child, parent in edges:
        if reaches(lineage.children, child, parent.id):
            continue
        accepted[child].append(parent)
        lineage.set_parents(child, tuple(accepted[child]))
    final = {child: ranked(ps) for child, ps in accepted.items()}
    for child, parents in final.items():
        lineage.set_parents(child, parents)
    return final


def walk(
    lineage: Lineage,
    doc_id: str,
    max_depth: int,
    order: Callable[[str], int],
    held: Callable[[str], bool] = lambda _: True,
) -> tuple[list[LineageEdge], list[LineageEdge]]:
    """Edges to the article's ancestors and from it to its descendants, breadth first, at most
    ``max_depth`` generations each way; an article's parents in their order, its children by ``order``.
    Only articles ``held`` are reached: a lineage read from a shared store may name one another process
    stored after the state the caller holds (``dedup.redis_lineage``), left out until the caller has it."""
    up: list[LineageEdge] = []
    frontier, seen = [doc_id], {doc_id}
    for _ in range(max_depth):
        nxt = []
        for d in frontier:
            for p in lineage.parents(d):
                if not held(p.id):
                    continue
                up.append(LineageEdge(p.id, d, p.confidence))
                if p.id not in seen:
                    seen.add(p.id)
                    nxt.append(p.id)
        frontier = nxt
    down: list[LineageEdge] = []
    frontier, seen = [doc_id], {doc_id}
    for _ in range(max_depth):
        nxt = []
        for d in frontier:
            for child in sorted(filter(held, lineage.children(d)), key=order):
                conf = next((p.confidence for p in lineage.parents(child) if p.id == d), None)
                if conf is None:  # its parents changed since its parent's children were read
                    continue
                down.append(LineageEdge(d, child, conf))
                if child not in seen:
                    seen.add(child)
                    nxt.append(child)
        frontier = nxt
    return up, down
