"""The entries of the stored articles read from a Redis store, a bounded number of them kept.

``RedisArticleEntries`` answers ``ArticleEntries`` (``dedup.article_entries``) from the keys the store's
commits write (``dedup.redis_store``): the sorted set of ids by sequence number, each article's hash
(its text hash and ingest time), the sorted set of ids by ingest time, and the sources and groups
hashes. So a replica's memory does not grow with the articles stored:

- it keeps the entries it read last, at most ``cache`` of them (and as many sequence numbers), which
  stay true because every change to one drops it: a commit another process made names the articles it
  changed (``follow``), and this process's own write drops those it changed once it is over
  (``settled``);
- what the engine's write in progress changes is kept apart, on top of what the store holds, until the
  write is over: its commit writes it (``Change.put_documents``, ``delete_documents``,
  ``external_sources``, ``groups``), or its undo log takes it back (``dedup.undo``);
- the outlets named by stored articles are kept, as ``MemoryArticleEntries`` keeps them: one name an
  outlet, however many articles it publishes.

What it reads from the store is the store's latest state, which may be newer than the state the
engine's other parts hold (another process committed since the engine's last ``sync``); a write
computed from it is refused at commit (the store checks the generation), and a read names at worst an
article committed a moment ago.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, MutableMapping
from typing import Any

from dedup.article_entries import Entry, KnownOutlets
from dedup.recent import Recent
from dedup.redis_store import RedisStore
from dedup.results import DuplicateGroup, ExternalSource
from dedup.undo import UndoLog

__all__ = ["RedisArticleEntries"]


class RedisArticleEntries:
    """``ArticleEntries`` over a Redis store; ``cache``: the most entries (and sequence numbers) kept."""

    def __init__(self, store: RedisStore, cache: int) -> None:
        self._store = store
        self._read: Recent[str, Entry | None] = Recent(cache)
        """Entries read from the store, None for an id it does not hold."""
        self._read_seq: Recent[int, str | None] = Recent(cache)
        """The ids sequence numbers name in the store, None for a number it does not hold."""
        self._written: dict[str, Entry | None] = {}
        """The entries the write in progress put (None: removed), by id."""
        self._sources: dict[str, tuple[ExternalSource, ...]] = {}
        self._groups: dict[str, DuplicateGroup | None] = {}
        """The sources and groups the write in progress set (a removed article's are empty)."""
        self._read_sources: Recent[str, tuple[ExternalSource, ...]] = Recent(cache)
        self._read_groups: Recent[str, DuplicateGroup | None] = Recent(cache)
        """Sources and groups read from the store (or committed by this process)."""
        self._outlets = KnownOutlets()
        for outlet in store.outlets():  # every process's, committed: read once, then added as seen
            self._outlets.add(outlet, None)
        self.undo: UndoLog | None = None

    def _save(self, mapping: MutableMapping[Any, Any], key: Hashable) -> None:
        if self.undo is not None:
            self.undo.save(mapping, key)

    # -- reading the store, through what was read last ------------------------------------------------

    def _stored(self, doc_id: str) -> Entry | None:
        if self._read.hit(doc_id):
            return self._read[doc_id]
        self._fetch([doc_id])
        return self._read.get(doc_id)

    def _fetch(self, ids: Iterable[str]) -> None:
        """Read the entries of ``ids`` in one round trip, and keep them."""
        wanted = [d for d in dict.fromkeys(ids) if d not in self._read]
        if not wanted:
            return
        found = self._store.entries_of(wanted)
        for d in wanted:
            row = found.get(d)
            entry = Entry(*row) if row is not None else None
            self._read.keep(d, entry)
            if entry is not None:
                self._read_seq.keep(entry.seq, d)

    def _stored_at(self, seqs: Iterable[int]) -> dict[int, str]:
        """The ids the store holds under ``seqs``, those it holds, read in one round trip for those not
        kept."""
        seqs = list(dict.fromkeys(seqs))
        missing = [s for s in seqs if s not in self._read_seq]
        if missing:
            found = self._store.ids_at(missing)
            for s in missing:
                self._read_seq.keep(s, found.get(s))
            self._fetch(found.values())  # their entries: the caller's next question
        out = {}
        for s in seqs:
            d = self._read_seq.get(s)
            if d is not None:
                out[s] = d
        return out

    def _forget(self, doc_id: str, *seqs: int) -> None:
        """Drop what was read of an article (and of its sequence numbers): it changed."""
        old = self._read.pop(doc_id, None)
        if old is not None:
            self._read_seq.pop(old.seq, None)
        for s in seqs:
            self._read_seq.pop(s, None)
        self._read_sources.pop(doc_id, None)
        self._read_groups.pop(doc_id, None)

    # -- ArticleEntries ---------------------------------------------------------------------------------

    def put(self, doc_id: str, entry: Entry) -> None:
        self._save(self._written, doc_id)
        self._written[doc_id] = entry

    def remove(self, doc_id: str) -> None:
        if self.get(doc_id) is None:
            raise KeyError(doc_id)
        self._save(self._written, doc_id)
        self._written[doc_id] = None
        self._save(self._sources, doc_id)
        self._sources[doc_id] = ()
        self._save(self._groups, doc_id)
        self._groups[doc_id] = None

    def get(self, doc_id: str) -> Entry | None:
        if doc_id in self._written:
            return self._written[doc_id]
        return self._stored(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.get(doc_id) is not None

    def stored(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        self._fetch(d for d in ids if d not in self._written)
        return {d for d in ids if self.get(d) is not None}

    def __len__(self) -> int:
        count = self._store.count()
        self._fetch(self._written)
        for d, entry in self._written.items():
            count += (entry is not None) - (self._stored(d) is not None)
        return count

    def seq(self, doc_id: str) -> int:
        entry = self.get(doc_id)
        if entry is None:
            raise KeyError(doc_id)
        return entry.seq

    def id_at(self, seq: int) -> str:
        return self.ids_at([seq])[seq]

    def ids_at(self, seqs: Iterable[int]) -> dict[int, str]:
        seqs = list(seqs)
        written = {e.seq: d for d, e in self._written.items() if e is not None}
        stored = self._stored_at(s for s in seqs if s not in written)
        out = {}
        for s in seqs:
            d = written.get(s)
            if d is None and (d := stored.get(s)) is not None and d in self._written:
                d = None  # removed, or stored again under another number, by the write in progress
            if d is not None:
                out[s] = d
        return out

    def ids(self) -> list[str]:
        arrivals = [(seq, d) for d, seq in self._store.arrivals() if d not in self._written]
        arrivals += [(e.seq, d) for d, e in self._written.items() if e is not None]
        return [d for _, d in sorted(arrivals)]

    def ingested_before(self, before: float, limit: int) -> list[str]:
        ids = self._store.ingested_before(before, limit + len(self._written))
        self._fetch(ids)
        found = [(e.ingest_time, e.seq, d) for d in ids if d not in self._written and (e := self._stored(d))]
        found += [(e.ingest_time, e.seq, d) for d, e in self._written.items() if e and e.ingest_time < before]
        return [d for _, _, d in sorted(sorted(found)[:limit], key=lambda x: x[1])]

    def sources(self, doc_id: str) -> tuple[ExternalSource, ...]:
        if doc_id in self._sources:
            return self._sources[doc_id]
        if not self._read_sources.hit(doc_id):
            self._read_sources.keep(doc_id, self._store.sources_of([doc_id]).get(doc_id, ()))
        return self._read_sources[doc_id]

    def set_sources(self, doc_id: str, sources: tuple[ExternalSource, ...]) -> None:
        self._save(self._sources, doc_id)
        self._sources[doc_id] = sources

    def group(self, doc_id: str) -> DuplicateGroup | None:
        if doc_id in self._groups:
            return self._groups[doc_id]
        if not self._read_groups.hit(doc_id):
            self._read_groups.keep(doc_id, self._store.groups_of([doc_id]).get(doc_id))
        return self._read_groups[doc_id]

    def set_group(self, doc_id: str, group: DuplicateGroup | None) -> None:
        self._save(self._groups, doc_id)
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
        """Another process committed a change to the article: what was read of it is dropped, to be read
        from the store when asked."""
        self._forget(doc_id, *([entry.seq] if entry is not None else []))

    def settled(self) -> None:
        """What is left of the write's changes once it is over was committed (an undone write's changes
        were taken back by its undo log): kept as read, for the reads that follow a write."""
        for d, entry in self._written.items():
            self._forget(d, *([entry.seq] if entry is not None else []))
            self._read.keep(d, entry)
            if entry is not None:
                self._read_seq.keep(entry.seq, d)
        for d, sources in self._sources.items():
            self._read_sources.keep(d, sources)
        for d, group in self._groups.items():
            self._read_groups.keep(d, group)
        self._written.clear()
        self._sources.clear()
        self._groups.clear()
