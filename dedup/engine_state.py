"""The engine's working state: its parts, kept in step with the store.

``EngineState`` holds the parts the engine runs an ingest, a delete or a query across (the article
indexes, ``dedup.article_index``; the lineage, ``dedup.lineage``; the story clusters,
``dedup.story_clusters``; the entries of the stored articles, ``dedup.article_entries``) with the
prepared articles kept resident (``dedup.resident``), the sequence numbers, and the generation of the
store they reflect. It loads them from the store at start (or from indexes saved beside it), saves the
indexes, and follows the commits other processes sharing the store make (``Store.history``), so that
memory is the store's state before every read and every write.

On a Redis store the lineage, the entries and the story clusters read the store
(``dedup.redis_lineage``, ``dedup.redis_entries``, ``dedup.redis_story_clusters``: the clusters when the
article indexes live beside it too, ``dedup.redis_index``, whose article vectors are in Redis as well,
``dedup.redis_vectors``), keeping a bounded number of answers, and the outlets' names (one an outlet).
A start then reads the store's meta, not every article (``_nothing_to_load``). Following a commit, a
part that reads the store drops what it kept of the articles and clusters the commit names. A new
backend for a part is an implementation of that part's protocol, made by the part's factory in
``_reset``.

The engine (``dedup.engine``) holds the locks and the undo log of the write in progress: every method
here runs under the engine's lock, and ``undo`` is the engine's while it writes.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from dedup.article import Article, quote_id
from dedup.article_entries import ArticleEntries, Entry, make_article_entries
from dedup.article_index import ArticleIndex, make_article_index, sign_documents
from dedup.attribution import find_citations
from dedup.config import Config, EmbedConfig, EventsConfig, LimitsConfig
from dedup.document import PreparedDocument, prepare
from dedup.embed import Embedder
from dedup.errors import Unavailable
from dedup.event_feed import EventFeed
from dedup.lineage import Lineage, make_lineage
from dedup.minhash import HASH_VERSION
from dedup.resident import Resident
from dedup.store import HISTORY_KEPT, Commit, DocumentRecord, Store
from dedup.story_clusters import StoryClusters, make_story_clusters
from dedup.undo import UndoLog

__all__ = ["INDEX_FILE", "INDEX_FORMAT", "LEGACY_INDEX_FILE", "EngineState", "published_time", "story_vector"]

logger = logging.getLogger("dedup.engine")

INDEX_FILE = "indexes.npz"
"""The saved indexes' file in the index folder (``dedup.savefile``)."""
INDEX_FORMAT = 1
"""The layout of the arrays in it (``MemoryArticleIndex.save``); saved indexes of another layout are
rebuilt."""
LEGACY_INDEX_FILE = "indexes.pickle"
"""Where dedup once pickled its indexes: never read (unpickling runs code), removed by the next save."""
_LOAD_CHUNK = 5_000  # stored articles prepared together at start, when the indexes are rebuilt


class EngineState:
    """The parts of one engine over ``store``, loaded from it on creation. ``counters`` is the engine's:
    a prepared article read back from the store counts in ``documents_reloaded``."""

    def __init__(
        self,
        config: Config,
        embedder: Embedder,
        store: Store,
        feed: EventFeed,
        counters: dict[str, int],
        index_dir: Path | None = None,
        rebuild_indexes: bool = False,
    ) -> None:
        self._config = config
        self._embedder = embedder
        self._store = store
        self._feed = feed
        self._counters = counters
        self._index_dir = index_dir
        self._rebuild_indexes = rebuild_indexes
        """Build the indexes again at start, whatever was saved (or kept in Redis) before."""
        self.undo: UndoLog | None = None
        """The undo log of the engine's write in progress, None outside one."""
        self.next_seq = 1
        """At least the next free sequence number; only ever goes up (``allocate_seq``)."""
        self.load()

    def record(self, log: UndoLog | None) -> None:
        """Record every change the parts make in ``log`` (``dedup.undo``), or stop recording (None)."""
        self.undo = self.entries.undo = self.stories.undo = self.lineage.undo = log
        self.article_index.undo = log

    def settled(self) -> None:
        """The write in progress is over, committed or undone: the parts keep what the store now holds.
        The index writes its commit took (or none, when it failed) never outlive it."""
        self.article_index.take_writes()
        self.lineage.settled()
        self.entries.settled()
        self.stories.settled()

    def _on_undo(self, step: Callable[[], None]) -> None:
        """Record the step that undoes a change just made, in the write in progress."""
        if self.undo is not None:
            self.undo.call(step)

    def _reset(self) -> None:
        """Empty parts, before they are loaded from the store."""
        self.resident = Resident(self._config.resident_documents, self._reload)
        # The entries of the articles kept resident, and as many more, are kept by a part that reads them
        # from the store.
        self.entries: ArticleEntries = make_article_entries(self._store, 2 * self._config.resident_documents)
        self.lineage: Lineage = make_lineage(self._store, 2 * self._config.resident_documents)
        self.article_index: ArticleIndex = make_article_index(
            self._config, self._store, lambda: self._embedder.dim
        )
        self.stories: StoryClusters = make_story_clusters(
            self._config.cluster, self._store, self.article_index.shared, 2 * self._config.resident_documents
        )
        self.generation = 0
        self.database_id: str | None = None
        self.indexes_loaded = False
        """Whether the last start read saved indexes (True) or rebuilt them from the store."""

    def load(self) -> None:
        """Rebuild the working state from the store (at start). Reads the store and the saved indexes;
        writes nothing, so that it works on a full disk."""
        self._reset()
        # Other processes sharing the store may commit while it is read, a page at a time: memory is then
        # brought to the store's state by following the commits made since this generation, read first.
        first = self._store.generation() if self._store.shared else None
        if self._nothing_to_load():
            meta = self._store.load(documents=(), clusters=()).meta
            self.database_id = meta.get("database_id")
            if self._load_indexes(self.database_id, {}):  # (else built again, from every stored article)
                self.indexes_loaded = True
                self._rebuild_indexes = False
                self.generation = cast(int, first)
                self.next_seq = max(self.next_seq, self._store.next_seq())
                self._feed.committed(int(meta.get("last_event", "0")), wake=False)
                self._catch_up(cast(int, first))
                return
        snap = self._store.load()  # without texts and embeddings
        for e in snap.documents:
            if e.outlet:
                self.entries.add_outlet(e.outlet)
        outlets = self.entries.outlets()
        vectors: dict[str, np.ndarray] = {}
        published = {e.id: e.published for e in snap.documents}
        placement = {e.id: e.placement for e in snap.documents}
        for e in snap.documents:
            entry = Entry(e.seq, e.text_hash, e.ingest_time)
            self.entries.follow(e.id, entry, snap.external_sources.get(e.id, ()), snap.groups.get(e.id))
            vectors[e.id] = e.vector
        self.generation = int(snap.meta.get("generation", "0")) if first is None else first
        self.database_id = snap.meta.get("database_id")
        self.indexes_loaded = self._load_indexes(self.database_id, {e.seq: e.id for e in snap.documents})
        self._rebuild_indexes = False  # at start only: a later load (``sync``) takes them as they are
        shared = self.article_index.shared
        if self.indexes_loaded and shared:  # built and kept up by every writer: only the local part is not
            self.article_index.follow([(e.seq, e.vector) for e in snap.documents], ())
        if not self.indexes_loaded:
            # In chunks, so that no more than a chunk and the resident articles are prepared at once.
            stored = self._store.records()
            while chunk := list(itertools.islice(stored, _LOAD_CHUNK)):
                docs = [self.prepared(rec, outlets) for rec in chunk]
                self.sign(docs)
                self.index_many(docs)
                vectors.update((d.id, cast(np.ndarray, d.vector)) for d in docs)
                self.resident.trim()
            if shared:  # built: the next process to start uses them as they are
                binding = self._index_binding(self.database_id)
                seqs = {e.id: e.seq for e in snap.documents}
                self.article_index.save(self._index_file(), {"binding": binding}, seqs.__getitem__)
        for child, parents in snap.parents.items():
            self.lineage.follow(child, parents)
        members: dict[str, list[str]] = defaultdict(list)
        for e in snap.documents:
            members[e.cluster_id].append(e.id)
        for c in snap.clusters:
            self.stories.restore(
                c, [(d, vectors[d], published[d], placement[d]) for d in members.get(c.id, [])]
            )
        self.stories.restored()
        last = max([e.seq for e in snap.documents] + [int(snap.meta.get("last_seq", "0"))])
        self.next_seq = max(self.next_seq, last + 1)  # never back: a number once given stays given
        self._feed.committed(int(snap.meta.get("last_event", "0")), wake=False)
        if first is not None:
            self._catch_up(first)

    def _nothing_to_load(self) -> bool:
        """Whether every part reads the store itself and keeps nothing of an article but bounded caches
        (a Redis store with the indexes, vectors and story clusters beside it): a start then reads the
        store's meta and the indexes' binding, not every article."""
        return (
            self._store.shared
            and not self.article_index.keeps_vectors
            and not self.stories.places_here
            and not self.stories.restores
        )

    def _catch_up(self, first: int) -> None:
        """Follow the commits other processes made since generation ``first``, read before loading."""
        if self._store.generation() == first:
            return
        commits = self._store.history(first)
        if commits is None:
            raise Unavailable(
                f"{self._store.location} took more than {HISTORY_KEPT} commits while this process read it; "
                "start it again when it is less busy"
            )
        self.follow(commits)

    def sync(self) -> None:
        """Bring memory up to a shared store's state (the local write lock held; before a write, under the
        store's write lock too): follow the commits other processes made since the one memory holds, or
        read everything again when the store no longer keeps them all."""
        if not self._store.shared:
            return
        generation = self._store.generation()
        if generation == self.generation:
            return
        commits = self._store.history(self.generation) if generation > self.generation else None
        if commits is None:
            logger.info("the store's history does not reach back to commit %d: reading it all", generation)
            self.load()
            return
        try:
            self.follow(commits)
        except Exception:  # a bug in following: the store still holds the truth
            logger.exception("following the store's commits failed; reading it all again")
            self.load()

    def follow(self, commits: Sequence[Commit]) -> None:
        """Take the ``commits`` other processes made: what each names is read again from the store, as it
        is now (later commits may have changed it too), so memory ends as the store is. An article is
        held (memory has a version of it) when the story clusters place it; the version held of one the
        commits removed is the one their first removal of it carries (a version stored since was removed
        before the next could be stored)."""
        docs = sorted({d for c in commits for d in c.documents})
        removed: dict[str, tuple[int, Article, np.ndarray]] = {}
        for c in commits:
            for seq, article, vector in c.removed:
                removed.setdefault(article.id, (seq, article, vector))
        clusters = {cid for c in commits for cid in c.clusters}
        if self.stories.places_here:  # (kept in the store, a cluster a commit changed is one it names)
            clusters |= {cid for d in docs if (cid := self.stories.cluster_of(d)) is not None}
        part = self._store.load(documents=docs, clusters=clusters)
        stored = {e.id: e for e in part.documents}
        records = {c.id: c for c in part.clusters}
        missing = {e.cluster_id for e in part.documents} - clusters
        if missing:
            records.update((c.id, c) for c in self._store.load(documents=(), clusters=missing).clusters)
        # Out: the held articles the commits removed (some stored again since, under a new number).
        shared = self.article_index.shared
        unindexed: list[int] = []
        held: set[str] = set()
        for d in docs:
            version = removed[d][0] if d in removed else (stored[d].seq if d in stored else None)
            if not self._holds(d, version, d in removed):
                continue
            if d not in removed:
                held.add(d)
                continue
            seq, article, vector = removed[d]
            if shared:  # the process that removed it took it out of the shared indexes
                unindexed.append(seq)
                self.resident.discard(d)
            else:
                doc = self.resident.peek(d)
                if doc is None or doc.order != seq:  # (a read since may have made a later version resident)
                    doc = prepare(article, seq, self._config)
                    self.sign([doc])
                    doc.vector = vector
                self.unindex([doc])
            self.lineage.follow(d, None)
            self.stories.follow(d, None, vector, article_time(article), 1.0)
            self.entries.follow(d, None)
        # In: the articles the store holds that memory does not, in order of arrival.
        new = sorted((e for e in part.documents if e.id not in held), key=lambda e: e.seq)
        for outlet in {e.outlet for e in new if e.outlet and not self.entries.has_outlet(e.outlet)}:
            self.entries.add_outlet(cast(str, outlet))
            for doc in list(self.resident):  # prepared again, with the outlet's citations, when needed
                if cast(str, outlet) in doc.text:
                    self.resident.discard(doc.id)
        outlets = self.entries.outlets()
        if shared:  # the processes that stored them indexed them, before their commits
            self.article_index.follow([(e.seq, e.vector) for e in new], unindexed)
        else:
            for n in range(0, len(new), _LOAD_CHUNK):
                recs = [self._store.get(e.id) for e in new[n : n + _LOAD_CHUNK]]
                prepared = [self.prepared(rec, outlets) for rec in recs if rec is not None]
                self.sign(prepared)
                self.index_many(prepared)
        for e in new:
            self.stories.follow(e.id, records[e.cluster_id], e.vector, e.published, e.placement)
        # What the commits decided for every article they name.
        for d in docs:
            if (now_stored := stored.get(d)) is None:
                continue
            entry = Entry(now_stored.seq, now_stored.text_hash, now_stored.ingest_time)
            self.entries.follow(d, entry, part.external_sources.get(d, ()), part.groups.get(d))
            self.lineage.follow(d, part.parents.get(d, ()))
            cid = now_stored.cluster_id
            if d in held and self.stories.cluster_of(d) != cid:
                self.stories.follow(
                    d, records[cid], now_stored.vector, now_stored.published, now_stored.placement
                )
        for cid in clusters:
            self.stories.follow_record(cid, records.get(cid))
        self.resident.trim()
        self.generation = commits[-1].generation
        self.next_seq = max(self.next_seq, self._store.next_seq())
        self._feed.committed(self._store.event_bounds()[1])

    def _holds(self, doc_id: str, seq: int | None, removed: bool) -> bool:
        """Whether memory has a version of an article a commit names (``seq``: the version the commits
        removed first, else the one stored now; None when neither; ``removed``: whether they removed
        one): the story clusters place it, or where they are kept in the store, the article indexes hold
        that version's vector. Where the vectors are not kept in the process either, memory holds
        nothing of an article but what its caches hold: a removal is taken as of a held version (so that
        the caches drop it), anything else as new."""
        if self.stories.places_here:
            return self.stories.cluster_of(doc_id) is not None
        if not self.article_index.keeps_vectors:
            return removed
        return seq is not None and self.article_index.holds(seq)

    def prepared(self, rec: DocumentRecord, outlets: Sequence[str]) -> PreparedDocument:
        """A stored article prepared again, with its stored embeddings (embedded again if it was stored
        under other segmentation settings). Its document signature is left to ``_sign``."""
        doc = prepare(rec.article, rec.seq, self._config)
        doc.citations = find_citations(rec.article.text, outlets)
        if rec.embeddings.shape[0] == len(doc.sentences):
            doc.embeddings = np.asarray(rec.embeddings, dtype=np.float16)
        else:  # stored under other segmentation settings: embed again
            doc.embeddings = self._embedder.encode(
                [doc.sentence_text(s) for s in range(len(doc.sentences))]
            ).astype(np.float16)
        doc.vector = self.story_vector(doc.embeddings)
        return doc

    def story_vector(self, embeddings: np.ndarray) -> np.ndarray:
        return story_vector(embeddings, self._embedder.dim, self._config.cluster.story_sentences)

    def _reload(self, doc_id: str) -> PreparedDocument:
        """Prepare a stored article again that is no longer resident."""
        rec = self._store.get(doc_id)
        if rec is None:
            raise RuntimeError(
                f"document {quote_id(doc_id)} is indexed but not in the store {self._store.location}"
            )
        doc = self.prepared(rec, self.entries.outlets())
        self.sign([doc], sentences=False)
        self._counters["documents_reloaded"] += 1
        return doc

    def sign(self, docs: list[PreparedDocument], sentences: bool = True) -> None:
        sign_documents(docs, self._config.minhash, sentences)

    def _index_file(self) -> Path | None:
        return self._index_dir / INDEX_FILE if self._index_dir is not None else None

    def _index_fingerprint(self) -> str:
        """What saved indexes depend on besides the data: the settings that shape them (how many
        articles stay resident, the input limits, the events' retention and how the model is run, its
        backend, device and batch size, do not: the indexes hold the vectors the store holds), the word
        and shingle hashes (``HASH_VERSION``) and the file's layout."""
        config = self._config
        default = EmbedConfig()
        embed = replace(
            config.embed,
            batch_size=default.batch_size,
            backend=default.backend,
            device=default.device,
            onnx_cache_dir=default.onnx_cache_dir,
        )
        settings = repr(
            replace(config, resident_documents=1, limits=LimitsConfig(), events=EventsConfig(), embed=embed)
        )
        text = json.dumps([INDEX_FORMAT, HASH_VERSION, settings])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _index_binding(self, database_id: str | None) -> dict[str, Any]:
        """What a saved index file must say it was built from to be read: this database at this
        generation, with these settings."""
        if self.article_index.shared:  # changed with every commit, by every writer: no one generation
            return {"database_id": database_id, "fingerprint": self._index_fingerprint()}
        return {
            "database_id": database_id,
            "generation": self.generation,
            "fingerprint": self._index_fingerprint(),
        }

    def _load_indexes(self, database_id: str | None, ids: Mapping[int, str]) -> bool:
        """Read the saved indexes if they were built from this database (its ``database_id``, a random id
        made with it) at its current generation, with the same settings, and are whole (their
        checksum) and hold exactly the stored articles ``ids`` (sequence number -> id); else leave them to
        be rebuilt. Reads plain arrays only: nothing in the file runs."""
        path = self._index_file()
        # Asked to build them again: a binding of None matches none saved, and indexes kept beside the
        # store under another binding are emptied (``RedisArticleIndex.load``).
        binding = None if self._rebuild_indexes else self._index_binding(database_id)
        if self.article_index.shared:  # kept beside the store, with their binding
            return database_id is not None and self.article_index.load(path, binding, ids)
        if path is None or database_id is None or not path.exists() or binding is None:
            return False
        return self.article_index.load(path, binding, ids)

    def save_indexes(self) -> None:
        """Save the LSH and FAISS indexes beside the store, bound to the store's database id and
        generation and to the settings, so that the next start can skip rebuilding them. A crash, or
        any write after the save, leaves them stale; they are then rebuilt. A full disk is
        ``ResourceExhausted`` (and nothing is left half-written)."""
        path = self._index_file()
        if path is None:
            return
        header = {"binding": self._index_binding(self.database_id)}
        if not self.article_index.save(path, header, self.entries.seq):
            return  # not saved (datasketch's LSH): rebuilt at every start
        legacy = path.with_name(LEGACY_INDEX_FILE)
        if legacy.exists():  # written by an older dedup, never read: gone once there is a new one
            legacy.unlink()

    def allocate_seq(self) -> int:
        """A sequence number for a new article: above every number this engine gave and every number
        the store has held (another writer's included), so one is never used twice."""
        seq = max(self.next_seq, self._store.next_seq())
        self.next_seq = seq + 1
        return seq

    def ids_at(self, seqs: Iterable[int]) -> dict[int, str]:
        """The stored article each of these sequence numbers names, those this engine holds."""
        return self.entries.ids_at(seqs)

    def held(self, seqs: Iterable[int]) -> list[str]:
        """The stored articles these sequence numbers name, those this engine holds: a shared index may
        name others (``ArticleIndex.shared``), not committed yet or never."""
        return list(self.entries.ids_at(seqs).values())

    def index(self, doc: PreparedDocument) -> None:
        """Add a prepared, embedded article to every in-memory index."""
        self.index_many([doc])

    def index_many(self, docs: Sequence[PreparedDocument]) -> None:
        """Make prepared, embedded articles resident and add them to the article indexes, in bulk (their
        entries, which name them by sequence number, are the caller's)."""
        for doc in docs:
            self.resident.put(doc)
            self._on_undo(functools.partial(self.resident.discard, doc.id))
        self.article_index.add(docs)

    def unindex(self, docs: Sequence[PreparedDocument]) -> None:
        self.article_index.remove(docs)
        for doc in docs:
            self.resident.discard(doc.id)  # read again from the store if the removal is undone


def published_time(doc: PreparedDocument) -> float | None:
    """A prepared article's publication time in seconds since the epoch, if it has one."""
    return article_time(doc.article)


def article_time(article: Article) -> float | None:
    """An article's publication time in seconds since the epoch, if it has one."""
    ts = article.published_at
    return ts.value.timestamp() if ts is not None else None


def story_vector(embeddings: np.ndarray, dim: int, lead: int = 0) -> np.ndarray:
    """An article's vector: the normalised mean of the embeddings of its first ``lead`` sentences (all
    of them when ``lead`` is 0; zeros if it has none)."""
    if lead > 0:
        embeddings = embeddings[:lead]
    mean = embeddings.mean(axis=0, dtype=np.float32) if len(embeddings) else np.zeros(dim, dtype=np.float32)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm > 0 else mean, dtype=np.float32)
