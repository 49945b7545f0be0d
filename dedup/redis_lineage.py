"""The lineage read from a Redis store: nothing of it kept in the process.

``RedisLineage`` answers ``Lineage`` (``dedup.lineage``) from the store's ``parents`` hash and the
``children`` sets its commits keep beside it (``RedisStore.parents_of``, ``children_of``), so a replica's
memory does not grow with the lineage of the articles stored. What the engine's write in progress changes
is kept here, on top of what the store holds, until the write is over (``settled``): its commit writes it
(``Change.parents``, from which the store also writes the children sets, and ``delete_documents``), or
its undo log takes it back (``dedup.undo``).

What it answers is the store's latest state, which may be newer than the state the engine's other parts
hold (another process committed since the engine's last ``sync``). A write computed from it is safe: the
store refuses a change computed from an older generation than its own. A read may name an article the
engine does not hold yet; its callers leave such articles out (``Engine.lineage``).
"""

from __future__ import annotations

from collections.abc import Iterable

from dedup.recent import Recent
from dedup.redis_store import RedisStore
from dedup.results import Parent
from dedup.undo import UndoLog

__all__ = ["RedisLineage"]


class RedisLineage:
    """``Lineage`` over a Redis store, with the changes of the write in progress on top."""

    def __init__(self, store: RedisStore, cache: int) -> None:
        self._store = store
        self._read: Recent[str, tuple[Parent, ...]] = Recent(cache)
        """Parents read from the store (or committed by this process), at most ``cache``; an article's
        are dropped when a commit of another process names it (``follow``)."""
        self._parents: dict[str, tuple[Parent, ...]] = {}
        """The parents the write in progress gave, by child; the store's for every other article."""
        self._children: dict[str, frozenset[str]] = {}
        """The children sets the write in progress changed, by parent."""
        self.undo: UndoLog | None = None

    def _save(self, mapping: dict[str, tuple[Parent, ...]] | dict[str, frozenset[str]], key: str) -> None:
        """Record ``mapping[key]`` (or that it is absent) before it changes, while an undo log is set."""
        if self.undo is not None:
            self.undo.save(mapping, key)

    def parents(self, doc_id: str) -> tuple[Parent, ...]:
        if doc_id in self._parents:
            return self._parents[doc_id]
        return self.parents_many([doc_id]).get(doc_id, ())

    def parents_many(self, ids: Iterable[str]) -> dict[str, tuple[Parent, ...]]:
        wanted = list(ids)
        missing = [d for d in wanted if d not in self._parents and not self._read.hit(d)]
        if missing:
            found = self._store.parents_of(missing)
            for d in missing:
                self._read.keep(d, found.get(d, ()))
        out = {}
        for d in wanted:
            parents = self._parents[d] if d in self._parents else self._read.get(d, ())
            if parents:
                out[d] = parents
        return out

    def children(self, doc_id: str) -> frozenset[str]:
        if doc_id in self._children:
            return self._children[doc_id]
        return self._store.children_of([doc_id]).get(doc_id, frozenset())

    def _set_children(self, parent: str, children: frozenset[str]) -> None:
        self._save(self._children, parent)
        self._children[parent] = children

    def set_parents(self, child: str, parents: tuple[Parent, ...]) -> None:
        for old in self.parents(child):
            self._set_children(old.id, self.children(old.id) - {child})
        self._save(self._parents, child)
        self._parents[child] = parents
        for p in parents:
            self._set_children(p.id, self.children(p.id) | {child})

    def remove(self, doc_id: str) -> set[str]:
        self.set_parents(doc_id, ())
        orphans = set(self.children(doc_id))
        self._set_children(doc_id, frozenset())
        for child in orphans:
            kept = tuple(p for p in self.parents(child) if p.id != doc_id)
            self._save(self._parents, child)
            self._parents[child] = kept
        return orphans

    def follow(self, doc_id: str, parents: tuple[Parent, ...] | None) -> None:
        """What was read of the article's parents is dropped: read from the store when asked."""
        self._read.pop(doc_id, None)

    def settled(self) -> None:
        """The parents the write set and committed are kept as read (an undone write's changes were taken
        back by its undo log); children are always read from the store."""
        for d, parents in self._parents.items():
            self._read.keep(d, parents)
        self._parents.clear()
        self._children.clear()
