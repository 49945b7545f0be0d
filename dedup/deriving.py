"""Deriving parents in a write: which article each affected one derives from, from all their pairs.

A write (an ingest, a delete) changes the pairs of some articles; ``Deriving.derive_for`` runs
``dedup.derive`` over those articles and everything their pairs reach, with the pairs as the change,
not yet committed, leaves them (the store's, less a removed article's, plus the change's new ones), and
``Deriving.apply`` installs what it found in the lineage and the entries (most confident edges first,
none closing a cycle: ``dedup.lineage.install_parents``) and records it in the change. A query
(FindSimilar) derives for a probe that is never stored.

The engine (``dedup.engine``) calls these under its write lock, or its read lock for a query.
"""

from __future__ import annotations

from collections.abc import Sequence

from dedup.config import Config
from dedup.derive import Derivation, derive
from dedup.document import PreparedDocument
from dedup.engine_state import EngineState
from dedup.lineage import install_parents
from dedup.results import PairResult
from dedup.store import Change, Store


class Deriving:
    """Parents, sources and duplicate groups of the articles a change affects, over an engine's state."""

    def __init__(self, config: Config, state: EngineState, store: Store) -> None:
        self._config = config
        self._state = state
        self._store = store

    def pairs_touching(self, ids: set[str], change: Change | None = None) -> list[PairResult]:
        """The pairs of any of the stored articles ``ids`` (kept in the store, not in memory), in one read
        of the store, as ``change``, not yet committed, leaves them: a replaced article's old pairs go."""
        if not ids:
            return []
        if change is None:
            return self._store.pairs_touching(ids)
        gone = set(change.delete_documents)
        stored = self._store.pairs_touching(ids - gone)
        return [p for p in stored if p.a not in gone and p.b not in gone] + [
            p for p in change.put_pairs if p.a in ids or p.b in ids
        ]

    def pairs_among(self, ids: set[str], change: Change | None = None) -> list[PairResult]:
        """The pairs whose two articles are both in ``ids``, as ``change``, not yet committed, leaves
        them (as ``pairs_touching``)."""
        if change is None:
            return self._store.pairs_among(ids)
        gone = set(change.delete_documents)
        return self._store.pairs_among(ids - gone) + [
            p for p in change.put_pairs if p.a in ids and p.b in ids
        ]

    def derive_for(
        self,
        affected: set[str],
        extra: dict[str, PreparedDocument] | None = None,
        extra_pairs: Sequence[PairResult] = (),
        change: Change | None = None,
    ) -> Derivation:
        """Parents, sources and duplicate groups of the ``affected`` articles, from all their pairs
        (those in the store as ``change`` leaves them, and ``extra_pairs``)."""
        extra = extra or {}
        pair_set: dict[tuple[str, str], PairResult] = {}
        scope = set(affected)
        for p in extra_pairs:
            pair_set[(p.a, p.b)] = p
            scope.update((p.a, p.b))
        for p in self.pairs_touching({d for d in affected if d not in extra}, change):
            pair_set[(p.a, p.b)] = p
            scope.update((p.a, p.b))  # one of the two is affected, so in scope already
        # The pairs between the other articles in scope too: which of two candidate sources copies the
        # other is part of choosing between them.
        stored = self._state.entries.stored(d for d in scope if d not in extra)
        others = stored - affected
        for p in self.pairs_among(scope, change):
            if p.a in others or p.b in others:
                pair_set[(p.a, p.b)] = p
        sub = {d: extra.get(d) or self._state.resident.get(d) for d in scope if d in extra or d in stored}
        derivation = derive(
            sub, [p for p in pair_set.values() if p.a in sub and p.b in sub], self._config.derive
        )
        return Derivation(
            {d: derivation.parents.get(d, ()) for d in affected},
            {d: derivation.external_sources.get(d, ()) for d in affected},
            {d: g for d, g in derivation.groups.items() if d in affected},
        )

    def apply(self, derivation: Derivation, change: Change) -> None:
        """Install what derivation found for the articles it was run for, and record it in ``change``."""
        # Most confident edges first, any that would close a cycle dropped: the lineage stays a DAG.
        change.parents.update(
            install_parents(self._state.lineage, derivation.parents, self._state.entries.seq)
        )
        change.external_sources.update(derivation.external_sources)
        for doc_id, sources in derivation.external_sources.items():
            self._state.entries.set_sources(doc_id, sources)
        for doc_id in derivation.parents:
            group = derivation.groups.get(doc_id)
            self._state.entries.set_group(doc_id, group)
            change.groups[doc_id] = group
