"""The article store on Redis: ``redis://HOST:PORT/DB`` (``rediss://`` for TLS), the same contract as the
SQLite store (``dedup.store``, tests/test_store.py). A URL naming a node of a Redis Cluster uses the
cluster (its database is 0).

Every key starts with ``{PREFIX}:`` (default ``dedup``, ``?prefix=NAME`` in the URL): the braces make
the prefix a hash tag, so on a Redis Cluster every key of one store lives in one slot, and a commit
stays one MULTI/EXEC transaction.

- ``{p}:meta`` hash: the store's own keys (``STORE_KEYS``) and the engine's settings;
- ``{p}:docs`` sorted set of ids scored by sequence number (the order of arrival), ``{p}:ingested`` the
  same ids scored by ingest time (``ingested_before``), and ``{p}:doc:ID`` a hash per article (its
  fields, its float16 sentence embeddings and float32 vector as bytes);
- ``{p}:pairs`` hash ``A\\x1fB`` -> the pair as JSON, and ``{p}:pairs-of:ID`` the set of its pairs' keys;
- ``{p}:parents``, ``{p}:sources``, ``{p}:groups``, ``{p}:clusters`` hashes of JSON, and
  ``{p}:children:ID`` the set of the articles naming ID among their parents: the inverse of
  ``parents``, written by the same commits (``children_of``), so that the lineage is read from Redis
  (``dedup.redis_lineage``) and not kept in each process;
- ``{p}:outlets`` set: the outlets stored articles named (``outlets``), so that a process starts without
  reading every article;
- ``{p}:events`` sorted set of events as JSON, scored by their sequence number;
- ``{p}:history`` hash generation -> what that commit changed (``Store.history``), the last
  ``HISTORY_KEPT`` commits; ``{p}:writing`` the lock processes sharing the store take around a write;
- ``{p}:doc-lsh:N``, ``{p}:sentence-lsh:N``, ``{p}:words:N``, ``{p}:indexed`` and ``{p}:index``: the
  article indexes the engine keeps beside the store (``dedup.redis_index``), laid out for
  ``?index_capacity=N`` articles (default ``INDEX_CAPACITY``); a process keeps what it read of the
  article vectors, ``?vector_cache_mb=N`` at most (``VECTOR_CACHE_BYTES``, ``dedup.redis_vectors``).

A commit reads what it checks (the highest sequence number held, the last event issued, whether its
new ids are stored) under WATCH on the meta hash, which every commit writes: if another writer
committed in between, EXEC fails and the commit is checked again from the start, so two writers can
never both take a number, and a change computed from an older generation than the store's is refused
(``Change.expect_generation``). Durability is Redis's: with ``appendonly yes`` and ``appendfsync always``
(README) an acknowledged commit survives ``kill -9`` of redis-server.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from dedup.article import Article, parse_timestamp
from dedup.errors import Aborted, ConfigError, FailedPrecondition, ResourceExhausted, Unavailable
from dedup.results import (
    ClusterEvent,
    ClusterEventKind,
    DuplicateGroup,
    EventRecord,
    ExternalSource,
    PairResult,
    Parent,
    Relation,
)
from dedup.store import (
    EVENT_PAGE,
    HISTORY_KEPT,
    STORE_KEYS,
    Change,
    ClusterRecord,
    Commit,
    DocumentEntry,
    DocumentRecord,
    Snapshot,
    _check_events,
    _check_generation,
    _event_cut,
    _id_taken,
    _lock_held,
    _seq_taken,
    history_entry,
    passages_of,
    read_history_entry,
)

__all__ = ["RedisStore"]

_ENTRY_FIELDS = (
    "id", "seq", "text_hash", "ingest_time", "cluster_id", "outlet", "vector", "published", "placement",
)  # fmt: skip
WRITE_LOCK_SECONDS = 10.0
"""How long the lock that processes sharing a store take around a write lasts at most (``writing``)."""
LOCK_POLL_SECONDS = 0.0005
"""How often a writer waiting for the write lock (to take it, or for it to be freed) asks again: a write
takes a few milliseconds, so a longer wait would add much of one to every wait."""
PAGE = 256
"""Articles read per round trip (``records``, ``load``, ``containing``)."""
COMMIT_TRIES = 20
"""Commits retried this many times when another writer committed between the checks and EXEC."""
INDEX_CAPACITY = 100_000
"""Stored articles the article indexes kept beside the store are laid out for (``?index_capacity=N`` in
the URL; ``dedup.redis_index``)."""
VECTOR_CACHE_BYTES = 16 << 20
"""What a process keeps of the article vectors it read from Redis, at most (``?vector_cache_mb=N`` in the
URL; ``dedup.redis_vectors``): the lists' records of about 28,000 articles and 3,600 exact vectors at
384 dimensions."""
_SEP = "\x1f"  # ids cannot hold control characters (``valid_id``), so this cannot occur in one
_CONTAINING = """
local found = {}
for i, key in ipairs(KEYS) do
  local text = redis.call('HGET', key, 'text')
  if text and string.find(text, ARGV[1], 1, true) then found[#found + 1] = i end
end
return found
"""
"""``containing`` on one page of articles: the positions (from 1) of the keys whose text holds ARGV[1]
(a plain search: no pattern characters)."""
_PAIRS_OF_SETS = """
local among = ARGV[1] == 'among'
local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local keys, seen = {}, {}
for i = 2, #KEYS do
  for _, k in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not seen[k] then
      seen[k] = true
      local sep = string.find(k, '\\31', 1, true)
      if not among or (sep and wanted[string.sub(k, 1, sep - 1)] and wanted[string.sub(k, sep + 1)]) then
        keys[#keys + 1] = k
      end
    end
  end
end
local out = {}
for n = 1, #keys, 1000 do
  local values = redis.call('HMGET', KEYS[1], unpack(keys, n, math.min(n + 999, #keys)))
  for _, v in ipairs(values) do if v then out[#out + 1] = v end end
end
return out
"""
"""``pairs_among`` and ``pairs_touching`` in one round trip: KEYS the pairs hash, then the sets of pair
keys of the articles ARGV[2:]; the pairs (JSON) of any of them (ARGV[1] 'touching'), or only those whose
two articles are both among them ('among')."""
_COMMIT_READS = """
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local meta = redis.call('HMGET', KEYS[2], 'last_seq', 'events_pruned', 'last_event', 'generation')
local binding = redis.call('HGET', KEYS[4], 'binding')
local writer = redis.call('GET', KEYS[5])
local exists = {}
for i = 6, #KEYS do exists[#exists + 1] = redis.call('EXISTS', KEYS[i]) end
local parents = {}
if #ARGV > 0 then parents = redis.call('HMGET', KEYS[3], unpack(ARGV)) end
return {top[2] or false, meta, binding or false, exists, parents, writer or false}
"""
"""What a commit checks before it queues its writes, in one round trip: KEYS the ids by sequence number,
the meta hash, the parents hash, the article indexes' hash (or the meta hash again), the write lock,
then the article hashes whose existence is asked; ARGV the articles whose parents are read. The highest
sequence number stored, the meta fields (last_seq, events_pruned, last_event, generation), the indexes'
binding, 1 or 0 for each article hash, the parents, and the write lock's holder (its token)."""


class RedisStore:
    """The store on a Redis server (or cluster) named by a URL."""

    shared = True
    """Any number of dedup servers may share one (``history``, ``writing``)."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the engine extra installs it
            raise ConfigError(
                f"a redis:// store needs the redis package: pip install redis ({exc})"
            ) from None
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(f"not a Redis URL: {url!r}; give redis://HOST:PORT/DB or rediss://...")
        query = parse_qs(parts.query)
        prefix = query.get("prefix", ["dedup"])[0]
        if not prefix or any(c in prefix for c in "{}:"):
            raise ConfigError(f"prefix {prefix!r} must be a non-empty name without braces or colons")
        try:
            self.index_capacity = int(query.get("index_capacity", [str(INDEX_CAPACITY)])[0])
        except ValueError:
            raise ConfigError(f"index_capacity in {url!r} must be a whole number of articles") from None
        if self.index_capacity < 1:
            raise ConfigError(f"index_capacity in {url!r} must be at least 1")
        try:
            self.vector_cache_bytes = int(
                float(query.get("vector_cache_mb", [str(VECTOR_CACHE_BYTES >> 20)])[0]) * (1 << 20)
            )
        except ValueError:
            raise ConfigError(f"vector_cache_mb in {url!r} must be a number of megabytes") from None
        if self.vector_cache_bytes < 0:
            raise ConfigError(f"vector_cache_mb in {url!r} must not be negative")
        self._url = parts._replace(query="").geturl()
        self._p = "{" + prefix + "}"
        self._redis_errors = redis.RedisError
        self._watch_error = redis.WatchError
        self._lock_token: bytes | None = None
        """The write lock's token while this process holds it (``writing``): its own commits go through."""
        self._r: Any = redis.Redis.from_url(self._url, socket_timeout=30, socket_connect_timeout=10)
        with self._errors("connecting"):
            clustered = bool(self._r.info("cluster").get("cluster_enabled"))
        if clustered:
            # A node of a Redis Cluster: the cluster client follows the slot to the node that holds it.
            self._r.close()
            self._r = redis.RedisCluster.from_url(self._url, socket_timeout=30, socket_connect_timeout=10)
        self.clustered = clustered
        with self._errors("opening"):
            self._r.hsetnx(self._k("meta"), "database_id", uuid.uuid4().hex)
            self._r.hsetnx(self._k("meta"), "schema_version", "3")
            if not self._r.hexists(self._k("meta"), "children_index"):
                self._index_children()
            if not self._r.hexists(self._k("meta"), "ingested_index"):
                self._index_ingested()
            if not self._r.hexists(self._k("meta"), "outlets_index"):
                self._index_outlets()

    # -- keys and errors --------------------------------------------------------------------------------

    def _k(self, *parts: str) -> str:
        return ":".join((self._p, *parts))

    def key(self, *parts: str) -> str:
        """The name of a key of this store (``{PREFIX}:part:part``): parts kept beside the store (the
        article indexes, ``dedup.redis_index``) name theirs so, in the store's slot."""
        return self._k(*parts)

    @property
    def client(self) -> Any:
        """The store's Redis client (a cluster client on a Redis Cluster), which parts kept beside the
        store share: one connection pool, one URL."""
        return self._r

    def errors(self, doing: str) -> AbstractContextManager[None]:
        """Redis's errors while ``doing`` as the store's (``ResourceExhausted``, ``Unavailable``)."""
        return self._errors(doing)

    @property
    def location(self) -> str:
        return f"{self._url} (prefix {self._p})"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Redis's errors as the store's: out of memory is ResourceExhausted (nothing stored), anything
        else (refused connection, timeout) Unavailable."""
        try:
            yield
        except self._redis_errors as exc:
            text = str(exc)
            if text.startswith("OOM"):
                raise ResourceExhausted(
                    f"Redis at {self._url} is out of memory ({text}) while {doing}: nothing was stored. "
                    "Raise its maxmemory or free memory, then retry"
                ) from exc
            raise Unavailable(
                f"Redis at {self._url} failed while {doing}: {text}; check that it runs and is reachable"
            ) from exc

    # -- reading ----------------------------------------------------------------------------------------

    def _ids(self) -> Iterator[list[str]]:
        """Stored ids in order of arrival, a page at a time."""
        start = 0
        while True:
            with self._errors("reading the articles"):
                page = [x.decode() for x in self._r.zrange(self._k("docs"), start, start + PAGE - 1)]
            if not page:
                return
            yield page
            start += PAGE

    def _docs(self, ids: list[str], fields: tuple[str, ...] | None = None) -> list[dict[bytes, bytes]]:
        with self._errors("reading the articles"):
            pipe = self._r.pipeline(transaction=False)
            for doc_id in ids:
                if fields is None:
                    pipe.hgetall(self._k("doc", doc_id))
                else:
                    pipe.hmget(self._k("doc", doc_id), fields)
            rows = pipe.execute()
        if fields is None:
            return list(rows)
        return [dict(zip((f.encode() for f in fields), row, strict=True)) for row in rows]

    def records(self) -> Iterator[DocumentRecord]:
        for ids in self._ids():
            for row in self._docs(ids):
                if row:  # deleted since the page was read
                    yield _record(row)

    def get(self, doc_id: str) -> DocumentRecord | None:
        row = self._docs([doc_id])[0]
        return _record(row) if row else None

    def containing(self, text: str) -> list[str]:
        """The texts are searched inside Redis, a page of articles a script (a short one each: Redis
        serves others between them), so that only the ids that match come back, not every text."""
        found: list[str] = []
        needle = text.encode()  # a substring of the text is a substring of its UTF-8 bytes, and back
        for ids in self._ids():
            keys = [self._k("doc", doc_id) for doc_id in ids]
            with self._errors("searching the articles' texts"):
                hits = self._r.eval(_CONTAINING, len(keys), *keys, needle)
            found.extend(ids[int(i) - 1] for i in hits)
        return found

    def pairs(self, doc_id: str | None = None) -> list[PairResult]:
        with self._errors("reading pairs"):
            if doc_id is None:
                raw = list(self._r.hvals(self._k("pairs")))
            else:
                keys = sorted(self._r.smembers(self._k("pairs-of", doc_id)))
                raw = [v for v in self._r.hmget(self._k("pairs"), keys) if v is not None] if keys else []
        pairs = [_pair(json.loads(v)) for v in raw]
        return sorted(pairs, key=lambda p: (p.a, p.b))

    def pairs_among(self, ids: Collection[str]) -> list[PairResult]:
        return self._pairs_of_sets("among", ids)

    def pairs_touching(self, ids: Collection[str]) -> list[PairResult]:
        return self._pairs_of_sets("touching", ids)

    def _pairs_of_sets(self, which: str, ids: Collection[str]) -> list[PairResult]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        keys = [self._k("pairs"), *(self._k("pairs-of", d) for d in wanted)]
        with self._errors("reading pairs"):
            raw = self._r.eval(_PAIRS_OF_SETS, len(keys), *keys, which, *wanted)
        return sorted((_pair(json.loads(v)) for v in raw), key=lambda p: (p.a, p.b))

    def parents_of(self, ids: Collection[str]) -> dict[str, tuple[Parent, ...]]:
        """The stored parents of each of ``ids`` that has any, in one round trip."""
        keys = sorted(set(ids))
        if not keys:
            return {}
        with self._errors("reading parents"):
            values = self._r.hmget(self._k("parents"), keys)
        found = {k: json.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}
        return {k: tuple(_parent(p) for p in v) for k, v in found.items() if v}

    def entries_of(self, ids: Collection[str]) -> dict[str, tuple[int, str, float]]:
        """The sequence number, text hash and ingest time of each of ``ids`` that is stored, in one round
        trip."""
        keys = list(dict.fromkeys(ids))
        rows = self._docs(keys, ("seq", "text_hash", "ingest_time")) if keys else []
        return {
            d: (int(r[b"seq"]), r[b"text_hash"].decode(), float(r[b"ingest_time"]))
            for d, r in zip(keys, rows, strict=True)
            if r[b"seq"] is not None
        }

    def ids_at(self, seqs: Collection[int]) -> dict[int, str]:
        """The stored article under each of ``seqs`` that names one, in one round trip."""
        wanted = list(dict.fromkeys(seqs))
        if not wanted:
            return {}
        with self._errors("reading the articles"):
            pipe = self._r.pipeline(transaction=False)
            for seq in wanted:
                pipe.zrangebyscore(self._k("docs"), seq, seq)
            found = pipe.execute()
        return {s: ids[0].decode() for s, ids in zip(wanted, found, strict=True) if ids}

    def count(self) -> int:
        """How many articles are stored."""
        with self._errors("counting the articles"):
            return int(self._r.zcard(self._k("docs")))

    def arrivals(self) -> list[tuple[str, int]]:
        """Every stored id with its sequence number, in order of arrival."""
        out: list[tuple[str, int]] = []
        start = 0
        while True:
            with self._errors("reading the articles"):
                page = self._r.zrange(self._k("docs"), start, start + 10 * PAGE - 1, withscores=True)
            out.extend((d.decode(), int(seq)) for d, seq in page)
            if len(page) < 10 * PAGE:
                return out
            start += len(page)

    def ingested_before(self, before: float, limit: int) -> list[str]:
        """At most ``limit`` of the articles ingested before ``before`` (seconds since the epoch), the
        earliest ingested first."""
        with self._errors("reading the articles"):
            found = self._r.zrangebyscore(self._k("ingested"), "-inf", f"({before!r}", start=0, num=limit)
        return [d.decode() for d in found]

    def sources_of(self, ids: Collection[str]) -> dict[str, tuple[ExternalSource, ...]]:
        """The sources outside the store each of ``ids`` cites, for those that cite any."""
        found = self._hmget_json("sources", ids)
        return {k: tuple(ExternalSource(*x) for x in v) for k, v in found.items() if v}

    def groups_of(self, ids: Collection[str]) -> dict[str, DuplicateGroup]:
        """The duplicate group of each of ``ids`` that is in one."""
        return {k: _group(v) for k, v in self._hmget_json("groups", ids).items()}

    def cluster_records(self, ids: Collection[str] | None = None) -> dict[str, ClusterRecord]:
        """The records of the clusters ``ids`` that exist (every cluster's when None)."""
        if ids is None:
            with self._errors("reading the clusters"):
                raw = self._r.hvals(self._k("clusters"))
            return {r.id: r for r in (ClusterRecord(*json.loads(v)) for v in raw)}
        return {k: ClusterRecord(*v) for k, v in self._hmget_json("clusters", ids).items()}

    def _hmget_json(self, table: str, ids: Collection[str]) -> dict[str, Any]:
        keys = list(dict.fromkeys(ids))
        if not keys:
            return {}
        with self._errors("reading the store"):
            values = self._r.hmget(self._k(table), keys)
        return {k: json.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def children_of(self, ids: Collection[str]) -> dict[str, frozenset[str]]:
        """The stored articles that name each of ``ids`` among their parents, for those named by any, in
        one round trip."""
        keys = sorted(set(ids))
        if not keys:
            return {}
        with self._errors("reading children"):
            pipe = self._r.pipeline(transaction=False)
            for doc_id in keys:
                pipe.smembers(self._k("children", doc_id))
            found = pipe.execute()
        return {k: frozenset(x.decode() for x in v) for k, v in zip(keys, found, strict=True) if v}

    def load(
        self, documents: Collection[str] | None = None, clusters: Collection[str] | None = None
    ) -> Snapshot:
        if documents is not None or clusters is not None:
            return self._load_part(sorted(documents or ()), sorted(clusters or ()))
        entries = []
        for ids in self._ids():
            entries.extend(self._entries(ids))
        with self._errors("reading the store"):
            pair_keys = [k.decode().split(_SEP) for k in self._r.hkeys(self._k("pairs"))]
            parents = {k.decode(): tuple(_parent(p) for p in json.loads(v))
                       for k, v in self._r.hgetall(self._k("parents")).items()}  # fmt: skip
            sources = {k.decode(): tuple(ExternalSource(*s) for s in json.loads(v))
                       for k, v in self._r.hgetall(self._k("sources")).items()}  # fmt: skip
            groups = {
                k.decode(): _group(json.loads(v)) for k, v in self._r.hgetall(self._k("groups")).items()
            }
            records = [ClusterRecord(*json.loads(v)) for v in self._r.hvals(self._k("clusters"))]
            meta = {k.decode(): v.decode() for k, v in self._r.hgetall(self._k("meta")).items()}
        return Snapshot(
            entries,
            sorted((a, b) for a, b in pair_keys),
            parents,
            sources,
            sorted(records, key=lambda c: c.created_seq),
            meta,
            groups,
        )

    def _entries(self, ids: list[str]) -> list[DocumentEntry]:
        """The entries of those of the articles ``ids`` that are stored, in the order given."""
        entries = []
        for row in self._docs(ids, _ENTRY_FIELDS):
            if row[b"seq"] is None:
                continue  # not stored (deleted since its id was read)
            published = row[b"published"]
            entries.append(
                DocumentEntry(
                    row[b"id"].decode(), int(row[b"seq"]), row[b"text_hash"].decode(),
                    float(row[b"ingest_time"]), row[b"cluster_id"].decode(),
                    (row[b"outlet"] or b"").decode() or None,
                    np.frombuffer(row[b"vector"], np.float32).copy(),
                    parse_timestamp(published.decode()).value.timestamp() if published else None,
                    float(row[b"placement"]),
                )
            )  # fmt: skip
        return entries

    def _load_part(self, ids: list[str], cids: list[str]) -> Snapshot:
        entries = []
        for n in range(0, len(ids), PAGE):
            entries.extend(self._entries(ids[n : n + PAGE]))
        entries.sort(key=lambda e: e.seq)

        def some(table: str, keys: list[str]) -> dict[str, Any]:
            if not keys:
                return {}
            values = self._r.hmget(self._k(table), keys)
            return {k: json.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

        with self._errors("reading the store"):
            parents = {k: tuple(_parent(p) for p in v) for k, v in some("parents", ids).items()}
            sources = {k: tuple(ExternalSource(*x) for x in v) for k, v in some("sources", ids).items()}
            groups = {k: _group(v) for k, v in some("groups", ids).items()}
            clusters = [ClusterRecord(*v) for v in some("clusters", cids).values()]
            meta = {k.decode(): v.decode() for k, v in self._r.hgetall(self._k("meta")).items()}
        return Snapshot(
            entries, [], parents, sources, sorted(clusters, key=lambda c: c.created_seq), meta, groups
        )

    def generation(self) -> int:
        with self._errors("reading the generation"):
            return self._meta_int("generation")

    def history(self, after: int) -> list[Commit] | None:
        with self._errors("reading the history"):
            generation = self._meta_int("generation")
            wanted = [str(g) for g in range(after + 1, generation + 1)]
            raw = []
            for n in range(0, len(wanted), PAGE):
                raw.extend(self._r.hmget(self._k("history"), wanted[n : n + PAGE]))
        if any(v is None for v in raw):
            return None  # no longer kept
        return [read_history_entry(int(g), v) for g, v in zip(wanted, raw, strict=True)]

    @contextmanager
    def writing(self, optimistic: bool = False) -> Iterator[None]:
        """A lock in Redis that expires ``WRITE_LOCK_SECONDS`` after it was taken: a process that dies
        holding it holds up the others that long at most, and one that outlives it is refused at commit
        (``Change.expect_generation``, and the lock's token read under WATCH) rather than overwriting
        what another stored. ``optimistic``: reads until the lock is free, instead of two writes (each
        an fsync with ``appendfsync always``); its commit is refused if another takes the lock first."""
        key = self._k("writing")
        if optimistic:
            with self._errors("reading the write lock"):
                while self._r.exists(key):
                    time.sleep(LOCK_POLL_SECONDS)
            yield
            return
        token = uuid.uuid4().hex.encode()
        lock = self._r.lock(key, timeout=WRITE_LOCK_SECONDS, sleep=LOCK_POLL_SECONDS)
        with self._errors("taking the write lock"):
            lock.acquire(token=token)
        self._lock_token = token
        try:
            yield
        finally:
            self._lock_token = None
            with suppress(self._redis_errors):  # expired and maybe taken by another: not ours to free
                lock.release()

    def _meta_int(self, key: str) -> int:
        value = self._r.hget(self._k("meta"), key)
        return int(value) if value is not None else 0

    def _high_water(self) -> int:
        """The highest sequence number ever given: stored, or kept in the meta hash once its article went."""
        with self.pipeline(transaction=False) as pipe:
            pipe.zrange(self._k("docs"), -1, -1, withscores=True)
            pipe.hget(self._k("meta"), "last_seq")
            top, last = pipe.execute()
        return max(int(last or 0), int(top[0][1]) if top else 0)

    def next_seq(self) -> int:
        with self._errors("reading the next sequence number"):
            return self._high_water() + 1

    def events(self, after: int, limit: int = EVENT_PAGE) -> list[EventRecord]:
        if limit <= 0:
            return []
        with self._errors("reading events"):
            raw = self._r.zrangebyscore(self._k("events"), after + 1, "+inf", start=0, num=limit)
        return [_event(json.loads(v)) for v in raw]

    def event_bounds(self) -> tuple[int, int]:
        with self._errors("reading events"):
            pruned, last = self._r.hmget(self._k("meta"), ["events_pruned", "last_event"])
        return int(pruned or 0) + 1, int(last or 0)

    # -- writing ----------------------------------------------------------------------------------------

    def commit(self, change: Change) -> int:
        with self._errors("storing a change"):
            for _ in range(COMMIT_TRIES):
                with self.pipeline(transaction=True) as pipe:
                    try:
                        guard = change.index_binding
                        pipe.watch(
                            self._k("meta"), self._k("writing"), *([guard[0]] if guard is not None else [])
                        )
                        generation = self._queue(pipe, change)
                        pipe.execute()
                        return generation
                    except self._watch_error:
                        continue  # another writer committed in between: check everything again
            raise Aborted(
                f"{self.location} changed under {COMMIT_TRIES} attempts to store a change: other processes "
                "write to it all the time; retry"
            )

    def index_once(self, mark: str, what: str, build: Callable[[Any], None]) -> None:
        """Write keys a store made before they were kept lacks (its own, or those of a part kept beside
        it), once: ``build`` reads what it needs (the pipeline is watching the meta hash), then queues the
        writes after ``multi()``; the meta field ``mark`` says they are written. One transaction, which
        another commit meanwhile makes start again; a process that finds ``mark`` set leaves them as they
        are."""
        meta = self._k("meta")
        for _ in range(COMMIT_TRIES):
            with self.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(meta)
                    if pipe.hexists(meta, mark):
                        return  # another process wrote them first
                    build(pipe)
                    pipe.hset(meta, mark, "1")
                    pipe.execute()
                    return
                except self._watch_error:
                    continue
        raise Aborted(f"{self.location} changed under {COMMIT_TRIES} attempts to index its {what}; retry")

    def _index_children(self) -> None:
        """The children sets, from the parents hash."""

        def build(pipe: Any) -> None:
            children: dict[str, set[str]] = {}
            for child, raw in pipe.hgetall(self._k("parents")).items():
                for parent in json.loads(raw):
                    children.setdefault(parent[0], set()).add(child.decode())
            pipe.multi()
            for parent, kids in children.items():
                pipe.delete(self._k("children", parent))
                pipe.sadd(self._k("children", parent), *sorted(kids))

        self.index_once("children_index", "lineage", build)

    def _index_ingested(self) -> None:
        """The ids by ingest time, from the articles' hashes."""

        def build(pipe: Any) -> None:
            # Read on the store's other connection, a page a round trip; the WATCH on ``pipe`` still makes
            # EXEC fail if any commit came in between.
            ids = [d for page in self._ids() for d in page]
            rows = [
                r for n in range(0, len(ids), PAGE) for r in self._docs(ids[n : n + PAGE], ("ingest_time",))
            ]
            stored = {
                d: float(r[b"ingest_time"]) for d, r in zip(ids, rows, strict=True) if r[b"ingest_time"]
            }
            pipe.multi()
            pipe.delete(self._k("ingested"))
            for n in range(0, len(ids), PAGE):
                page = {d: stored[d] for d in ids[n : n + PAGE] if d in stored}
                if page:
                    pipe.zadd(self._k("ingested"), page)

        self.index_once("ingested_index", "articles", build)

    def _index_outlets(self) -> None:
        """The outlets' names, from the articles' hashes."""

        def build(pipe: Any) -> None:
            ids = [d for page in self._ids() for d in page]
            rows = [r for n in range(0, len(ids), PAGE) for r in self._docs(ids[n : n + PAGE], ("outlet",))]
            names = sorted({r[b"outlet"].decode() for r in rows if r[b"outlet"]})
            pipe.multi()
            pipe.delete(self._k("outlets"))
            if names:
                pipe.sadd(self._k("outlets"), *names)

        self.index_once("outlets_index", "outlets", build)

    def outlets(self) -> list[str]:
        """The outlets stored articles named, sorted (an outlet stays once named, as in a process that
        saw it)."""
        with self._errors("reading the outlets"):
            return sorted(o.decode() for o in self._r.smembers(self._k("outlets")))

    def _check_binding(self, bound: bytes | None, expected: str) -> None:
        """``FailedPrecondition`` unless the article indexes' hash (watched) is still bound to ``expected``
        (``Change.index_binding``); ``bound``: its binding as read."""
        if bound is None or bound.decode() != expected:
            raise FailedPrecondition(
                f"the article indexes beside {self.location} were rebuilt by another process, with other "
                "settings or another version of dedup, while this one ran: nothing was stored. Every "
                "process sharing a store must run the same version with the same settings: restart this "
                "one with the settings the indexes were rebuilt with"
            )

    def pipeline(self, transaction: bool) -> Any:
        """A pipeline (one MULTI/EXEC transaction if ``transaction``) that takes scripts. On a Redis
        Cluster, a plain one to the node holding the store's slot, where every key of the store and of
        the indexes beside it lives: a cluster pipeline takes no scripts, and the shared indexes' reads
        and writes are scripts."""
        if self.clustered:
            node = self._r.get_node_from_key(self._k("meta")).redis_connection
            return node.pipeline(transaction=transaction)
        return self._r.pipeline(transaction=transaction)

    def _queue(self, pipe: Any, change: Change) -> int:
        """Check ``change`` against what the store holds (reads, under WATCH), then queue its writes
        (MULTI); the new generation."""
        deleted = set(change.delete_documents)
        put_ids = [r.article.id for r in change.put_documents]
        moving = sorted({*change.cluster_of, *change.placement})
        # The parents each article named had: its children sets change with them.
        relinked = sorted({*change.parents, *deleted})
        guard = change.index_binding
        doc_keys = [self._k("doc", d) for d in (*put_ids, *moving)]
        fixed = [
            self._k("docs"),
            self._k("meta"),
            self._k("parents"),
            guard[0] if guard else self._k("meta"),
            self._k("writing"),
        ]
        top, fields, bound, exists, parents, writer = pipe.eval(
            _COMMIT_READS, len(fixed) + len(doc_keys), *fixed, *doc_keys, *relinked
        )
        if writer and writer != self._lock_token:
            raise Aborted(_lock_held(self.location))
        if guard is not None:
            self._check_binding(bound, guard[1])
        last_seq, pruned, last_event, stored_generation = (int(x or 0) for x in fields)
        high = max(last_seq, int(float(top)) if top else 0)
        _check_events(change.events, last_event, self.location)
        seqs = [r.seq for r in change.put_documents]
        for rec, held in zip(change.put_documents, exists[: len(put_ids)], strict=True):
            if rec.seq <= high or seqs.count(rec.seq) > 1:
                raise Aborted(_seq_taken(rec, high, self.location))
            if rec.article.id not in deleted and held:
                raise Aborted(_id_taken(rec, self.location))
        doomed_pairs = {
            doc_id: pipe.smembers(self._k("pairs-of", doc_id)) for doc_id in change.delete_documents
        }
        moved = dict(zip(moving, exists[len(put_ids) :], strict=True))
        events_last = last_event + len(change.events)

        def first_young(after: int, since: float) -> int | None:
            # The oldest kept event is young at nearly every commit: it is read alone, and the pages grow
            # only while the events read are old.
            start, size = after + 1, 1
            while True:
                page = pipe.zrangebyscore(self._k("events"), start, "+inf", start=0, num=size)
                if not page:
                    return None
                for raw in page:
                    e = json.loads(raw)
                    if e["time"] >= since:
                        return int(e["sequence"])
                start, size = int(json.loads(page[-1])["sequence"]) + 1, min(2 * size, PAGE)

        def first_young_all(after: int, since: float) -> int | None:
            # The change's own events are not stored yet: the first young one may be among them.
            found = first_young(after, since)
            if found is not None:
                return found
            return next((r.sequence for r in change.events if r.sequence > after and r.time >= since), None)

        cut = _event_cut(change, pruned, events_last, first_young_all)
        generation = stored_generation + 1
        _check_generation(change, generation - 1, self.location)
        removed = [_record(row) for d in change.delete_documents if (row := pipe.hgetall(self._k("doc", d)))]
        had = dict(zip(relinked, parents, strict=True))

        gone = deleted - {r.article.id for r in change.put_documents}  # not stored again (replaced)

        def had_parents(doc_id: str) -> list[str]:
            raw = had.get(doc_id)
            return [p[0] for p in json.loads(raw)] if raw else []

        pipe.multi()
        for script, keys, args in change.index_writes:  # the shared indexes' part of the change
            pipe.eval(script, len(keys), *keys, *args)
        pipe.hset(self._k("history"), str(generation), history_entry(change, removed))
        if generation > HISTORY_KEPT:
            pipe.hdel(self._k("history"), str(generation - HISTORY_KEPT))
        for doc_id in change.delete_documents:
            pipe.delete(self._k("doc", doc_id))
            pipe.zrem(self._k("docs"), doc_id)
            pipe.zrem(self._k("ingested"), doc_id)
            for raw in doomed_pairs[doc_id]:
                key = raw.decode()
                a, b = key.split(_SEP)
                pipe.hdel(self._k("pairs"), key)
                pipe.srem(self._k("pairs-of", b if a == doc_id else a), key)
            pipe.delete(self._k("pairs-of", doc_id))
            for table in ("parents", "sources", "groups"):
                pipe.hdel(self._k(table), doc_id)
            for parent in had_parents(doc_id):
                pipe.srem(self._k("children", parent), doc_id)
            pipe.delete(self._k("children", doc_id))
        for rec in change.put_documents:
            pipe.hset(self._k("doc", rec.article.id), mapping=_fields(rec))
            pipe.zadd(self._k("docs"), {rec.article.id: rec.seq})
            pipe.zadd(self._k("ingested"), {rec.article.id: rec.ingest_time})
            if rec.article.outlet:
                pipe.sadd(self._k("outlets"), rec.article.outlet)
        for p in change.put_pairs:
            reverse = _SEP.join((p.b, p.a))
            pipe.hdel(self._k("pairs"), reverse)
            pipe.srem(self._k("pairs-of", p.a), reverse)
            pipe.srem(self._k("pairs-of", p.b), reverse)
            key = _SEP.join((p.a, p.b))
            pipe.hset(self._k("pairs"), key, json.dumps(_pair_json(p)))
            pipe.sadd(self._k("pairs-of", p.a), key)
            pipe.sadd(self._k("pairs-of", p.b), key)
        for child, parents in change.parents.items():
            pipe.hset(self._k("parents"), child, json.dumps([_parent_json(x) for x in parents]))
            for parent in had_parents(child):
                pipe.srem(self._k("children", parent), child)
            if child not in gone:
                for parent in {x.id for x in parents} - gone:
                    pipe.sadd(self._k("children", parent), child)
        for doc_id, sources in change.external_sources.items():
            pipe.hset(
                self._k("sources"),
                doc_id,
                json.dumps([[s.name, s.evidence, s.start, s.end] for s in sources]),
            )
        for doc_id, group in change.groups.items():
            if group is None:
                pipe.hdel(self._k("groups"), doc_id)
            else:
                pipe.hset(
                    self._k("groups"), doc_id,
                    json.dumps([list(group.documents), list(group.originals), group.confidence]),
                )  # fmt: skip
        for cid in change.delete_clusters:
            pipe.hdel(self._k("clusters"), cid)
        for c in change.put_clusters:
            pipe.hset(
                self._k("clusters"), c.id, json.dumps([c.id, c.created_seq, c.create_time, c.update_time])
            )
        # Only stored articles move (HSET on a missing key would make a partial one).
        put = {r.article.id for r in change.put_documents}
        alive = {d for d, known in moved.items() if (known and d not in deleted) or d in put}
        for doc_id, cid in change.cluster_of.items():
            if doc_id in alive:
                pipe.hset(self._k("doc", doc_id), "cluster_id", cid)
        for doc_id, placement in change.placement.items():
            if doc_id in alive:
                pipe.hset(self._k("doc", doc_id), "placement", repr(placement))
        others = {k: v for k, v in change.meta.items() if k not in STORE_KEYS}
        if others:
            pipe.hset(self._k("meta"), mapping=others)
        if change.events:
            pipe.zadd(self._k("events"), {json.dumps(_event_json(r)): r.sequence for r in change.events})
        if cut > pruned:
            pipe.zremrangebyscore(self._k("events"), "-inf", cut)
        pipe.hset(
            self._k("meta"),
            mapping={
                "last_seq": str(max([high, *seqs])),
                "last_event": str(events_last),
                "events_pruned": str(max(cut, pruned)),
                "generation": str(generation),
            },
        )
        return generation

    def keys_under(self, *parts: str) -> list[bytes]:
        """Every key named ``{prefix}:PARTS:...`` (every key of the store without ``parts``), by a SCAN: the
        prefix's braces escaped, since they are glob characters too."""
        pattern = ":".join([self._p.replace("{", "\\{").replace("}", "\\}"), *parts, "*"])
        return list(self._r.scan_iter(match=pattern, count=1_000))

    def flush(self) -> None:
        """Delete every key of this store (tests, and an operator starting over)."""
        with self._errors("deleting the store"):
            keys = self.keys_under()
            for n in range(0, len(keys), 500):
                self._r.delete(*keys[n : n + 500])

    def close(self) -> None:
        self._r.close()


# -- encoding -------------------------------------------------------------------------------------------


def _fields(rec: DocumentRecord) -> dict[str, Any]:
    a = rec.article
    emb = np.ascontiguousarray(rec.embeddings, dtype=np.float16)
    return {
        "id": a.id, "seq": rec.seq, "text": a.text, "title": a.title or "", "outlet": a.outlet or "",
        "url": a.url or "", "published": a.published_at.isoformat() if a.published_at else "",
        "text_hash": rec.text_hash, "ingest_time": repr(rec.ingest_time), "cluster_id": rec.cluster_id,
        "embeddings": emb.tobytes(), "sentences": emb.shape[0],
        "vector": np.asarray(rec.vector, dtype=np.float32).tobytes(), "placement": repr(rec.placement),
    }  # fmt: skip


def _record(row: dict[bytes, bytes]) -> DocumentRecord:
    def text(name: str) -> str | None:
        value = row[name.encode()].decode()
        return value or None

    published = text("published")
    article = Article(
        row[b"id"].decode(), row[b"text"].decode(), text("title"), text("outlet"), text("url"),
        parse_timestamp(published) if published else None,
    )  # fmt: skip
    vector = np.frombuffer(row[b"vector"], dtype=np.float32).copy()
    embeddings = np.frombuffer(row[b"embeddings"], dtype=np.float16).reshape(
        int(row[b"sentences"]), len(vector)
    )
    return DocumentRecord(
        article, int(row[b"seq"]), row[b"text_hash"].decode(), float(row[b"ingest_time"]),
        row[b"cluster_id"].decode(), embeddings.copy(), vector, float(row[b"placement"]),
    )  # fmt: skip


def _pair_json(p: PairResult) -> list[Any]:
    passages = [
        [x.a_start, x.a_end, x.b_start, x.b_end, x.kind.value, x.score, int(x.attributed)] for x in p.passages
    ]
    return [p.a, p.b, p.relation.value, p.coverage_a, p.coverage_b, p.lexical, p.semantic, passages]


def _pair(v: list[Any]) -> PairResult:
    a, b, rel, ca, cb, lex, sem, passages = v
    return PairResult(a, b, Relation(rel), ca, cb, lex, sem, passages_of(passages))


def _parent_json(p: Parent) -> list[Any]:
    return [p.id, p.confidence, p.coverage, list(p.evidence), list(p.alternatives), p.basis, list(p.rules),
            list(p.cautions)]  # fmt: skip


def _parent(v: list[Any]) -> Parent:
    pid, conf, cov, evidence, alternatives, basis, rules, cautions = v
    return Parent(pid, conf, cov, tuple(evidence), tuple(alternatives), basis, tuple(rules), tuple(cautions))


def _group(v: list[Any]) -> DuplicateGroup:
    return DuplicateGroup(tuple(v[0]), tuple(v[1]), v[2])


def _event_json(r: EventRecord) -> dict[str, Any]:
    e = r.event
    return {"sequence": r.sequence, "time": r.time, "kind": e.kind.value, "cluster": e.cluster,
            "document": e.document, "merged": list(e.merged)}  # fmt: skip


def _event(v: dict[str, Any]) -> EventRecord:
    event = ClusterEvent(ClusterEventKind(v["kind"]), v["cluster"], v["document"], tuple(v["merged"]))
    return EventRecord(int(v["sequence"]), float(v["time"]), event)
