"""Article entries: what the engine knows of every stored article without reading the store.

``ArticleEntries`` is the part of the engine that keeps it, behind a narrow protocol:

- an ``Entry`` per stored article: its sequence number, the hash of its text and fields (an article
  ingested again unchanged is not stored again) and when it was ingested (its story cluster is the
  story clusters' to know: ``dedup.story_clusters``);
- the article each sequence number names (the article indexes name articles by sequence number);
- what derivation found for each article besides its parents (those are the lineage's): the sources
  outside the store it cites, and its duplicate group;
- the outlets named by stored articles (a citation of an outlet is found only once its name is known).

``MemoryArticleEntries`` keeps them in dicts in process. An article's text and embeddings stay in the
store (and in the prepared article, while that is resident: ``dedup.resident``).

Undo. While ``undo`` holds an ``UndoLog``, an implementation records every change in it, so that the
engine can put the entries back as they were when the change it made cannot be committed (``dedup.undo``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from dedup.results import DuplicateGroup, ExternalSource
from dedup.undo import UndoLog

__all__ = ["ArticleEntries", "Entry", "KnownOutlets", "MemoryArticleEntries", "make_article_entries"]


@dataclass(frozen=True, slots=True)
class Entry:
    """What the engine keeps for every stored article; its text and embeddings stay in the store."""

    seq: int
    text_hash: str
    ingest_time: float


class ArticleEntries(Protocol):
    """The entries of the stored articles: one per article, each with its own sequence number. The
    sources and groups of an article go with its entry (``remove``); outlets, once named, stay."""

    undo: UndoLog | None
    """While set, every change is recorded in it (``dedup.undo``); the engine sets it for one write."""

    def put(self, doc_id: str, entry: Entry) -> None:
        """Store a new article's entry (none is stored under its id or its sequence number)."""
        ...

    def remove(self, doc_id: str) -> None:
        """Take out a stored article's entry, sequence number, sources and group."""
        ...

    def get(self, doc_id: str) -> Entry | None:
        """A stored article's entry, None when it is not stored."""
        ...

    def __contains__(self, doc_id: object) -> bool:
        """Whether an article is stored."""
        ...

    def __len__(self) -> int:
        """How many articles are stored."""
        ...

    def stored(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that are stored."""
        ...

    def seq(self, doc_id: str) -> int:
        """A stored article's sequence number (``KeyError`` when it is not stored): the order of arrival."""
        ...

    def id_at(self, seq: int) -> str:
        """The stored article with this sequence number (``KeyError`` when there is none)."""
        ...

    def ids_at(self, seqs: Iterable[int]) -> dict[int, str]:
        """The stored article each of these sequence numbers names, in the order given; numbers that name
        none are left out."""
        ...

    def ids(self) -> list[str]:
        """Every stored article, in order of arrival."""
        ...

    def ingested_before(self, before: float, limit: int) -> list[str]:
        """At most ``limit`` of the stored articles ingested before ``before`` (seconds since the epoch),
        the earliest ingested first, returned in order of arrival."""
        ...

    def sources(self, doc_id: str) -> tuple[ExternalSource, ...]:
        """The sources outside the store an article cites (empty when none, or not stored)."""
        ...

    def set_sources(self, doc_id: str, sources: tuple[ExternalSource, ...]) -> None:
        """Replace a stored article's sources outside the store."""
        ...

    def group(self, doc_id: str) -> DuplicateGroup | None:
        """An article's duplicate group, None when it is in none."""
        ...

    def set_group(self, doc_id: str, group: DuplicateGroup | None) -> None:
        """Replace a stored article's duplicate group (None: it is in none)."""
        ...

    def has_outlet(self, outlet: str) -> bool:
        """Whether an outlet is known."""
        ...

    def add_outlet(self, outlet: str) -> None:
        """Make an outlet known (known already: nothing changes)."""
        ...

    def outlets(self) -> list[str]:
        """The outlets known, sorted."""
        ...

    def follow(
        self,
        doc_id: str,
        entry: Entry | None,
        sources: tuple[ExternalSource, ...] = (),
        group: DuplicateGroup | None = None,
    ) -> None:
        """Take what another process sharing the store committed for an article: its entry now (None: it is
        no longer stored), its sources and its group. A part that reads the store only drops what it
        kept of the article."""
        ...

    def settled(self) -> None:
        """The engine's write is over, committed or undone: a part that keeps the write's changes apart
        from what it reads from the store drops them, and what it kept of the articles they changed."""
        ...


class KnownOutlets:
    """The outlets named by stored articles, which every implementation keeps in process (one name an
    outlet, however many articles it publishes); once named, an outlet stays."""

    def __init__(self) -> None:
        self._names: set[str] = set()

    def __contains__(self, outlet: object) -> bool:
        return outlet in self._names

    def add(self, outlet: str, undo: UndoLog | None) -> None:
        """Make an outlet known; the addition is recorded in ``undo`` when one is set."""
        if outlet not in self._names:
            self._names.add(outlet)
            if undo is not None:
                undo.call(lambda: self._names.discard(outlet))

    def sorted(self) -> list[str]:
        return sorted(self._names)


class MemoryArticleEntries:
    """``ArticleEntries`` in dicts: id -> entry, sequence number -> id, id -> sources, id -> group, and a
    set of outlets."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._by_seq: dict[int, str] = {}
        self._sources: dict[str, tuple[ExternalSource, ...]] = {}
        self._groups: dict[str, DuplicateGroup] = {}
        self._outlets = KnownOutlets()
        self.undo: UndoLog | None = None

    def _save(self, mapping: MutableMapping[Any, Any], key: Hashable) -> None:
        """Record ``mapping[key]`` before it changes, while an undo log is set."""
        if self.undo is not None:
            self.undo.save(mapping, key)

    def put(self, doc_id: str, entry: Entry) -> None:
        self._save(self._entries, doc_id)
        self._entries[doc_id] = entry
        self._save(self._by_seq, entry.seq)
        self._by_seq[entry.seq] = doc_id

    def remove(self, doc_id: str) -> None:
        entry = self._entries[doc_id]
        self._save(self._by_seq, entry.seq)
        del self._by_seq[entry.seq]
        for mapping in (self._sources, self._groups):
            self._save(mapping, doc_id)
            mapping.pop(doc_id, None)
        self._save(self._entries, doc_id)
        del self._entries[doc_id]

    def get(self, doc_id: str) -> Entry | None:
        return self._entries.get(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def stored(self, ids: Iterable[str]) -> set[str]:
        return {d for d in ids if d in self._entries}

    def seq(self, doc_id: str) -> int:
        return self._entries[doc_id].seq

    def id_at(self, seq: int) -> str:
        return self._by_seq[seq]

    def ids_at(self, seqs: Iterable[int]) -> dict[int, str]:
        return {seq: d for seq in seqs if (d := self._by_seq.get(seq)) is not None}

    def ids(self) -> list[str]:
        return sorted(self._entries, key=lambda d: self._entries[d].seq)

    def ingested_before(self, before: float, limit: int) -> list[str]:
        doomed = sorted((e.ingest_time, e.seq, d) for d, e in self._entries.items() if e.ingest_time < before)
        return [d for _, _, d in sorted(doomed[:limit], key=lambda x: x[1])]

    def sources(self, doc_id: str) -> tuple[ExternalSource, ...]:
        return self._sources.get(doc_id, ())

    def set_sources(self, doc_id: str, sources: tuple[ExternalSource, ...]) -> None:
        self._save(self._sources, doc_id)
        self._sources[doc_id] = sources

    def group(self, doc_id: str) -> DuplicateGroup | None:
        return self._groups.get(doc_id)

    def set_group(self, doc_id: str, group: DuplicateGroup | None) -> None:
        self._save(self._groups, doc_id)
        if group is None:
            self._groups.pop(doc_id, None)
        else:
            self._groups[doc_id] = group

    def has_outlet(self, outlet: str) -> bool:
        return outlet in self._outlets

    def add_outlet(self, outlet: str) -> None:
        self._outlets.add(outlet, self.undo)

    def outlets(self) -> list[str]:
        return self._outlets.sorted()

    def follow(
        self,
        doc_id: str,
        entry: Entry | None,
        sources: tuple[ExternalSource, ...] = (),
        group: DuplicateGroup | None = None,
    ) -> None:
        held = self._entries.get(doc_id)
        if held is not None and held != entry:
            self.remove(doc_id)
        if entry is None:
            return
        if held != entry:
            self.put(doc_id, entry)
        self.set_sources(doc_id, sources)
        self.set_group(doc_id, group)

    def settled(self) -> None:
        """Nothing: the dicts are the entries."""


def make_article_entries(store: object, cache: int) -> ArticleEntries:
    """The entries for the engine over ``store``: read from Redis for a Redis store, at most ``cache`` of
    them kept (``dedup.redis_entries``); in process otherwise."""
    from dedup.redis_store import RedisStore  # (imports redis only when a RedisStore is made)

    if isinstance(store, RedisStore):
        from dedup.redis_entries import RedisArticleEntries

        return RedisArticleEntries(store, cache)
    return MemoryArticleEntries()
