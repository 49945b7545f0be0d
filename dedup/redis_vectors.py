"""The article vectors in Redis: an inverted file shared by every replica, so that no replica keeps a
vector per stored article.

``RedisVectors`` is the vector part of ``dedup.redis_index.RedisArticleIndex``. Debian's redis 7 has no
vector search, so the search runs in the replica over what it fetches:

- ``P:ivf:0`` and ``P:ivf:N`` (``N`` from 1 to ``lists``): strings of records laid end to end, one per
  article: its sequence number (8 bytes, big-endian), a scale (float32) and its vector rounded to int8
  (``code * scale`` is the vector within half a scale a component). ``P:ivf:0`` holds the articles not
  assigned to a list: every article until the lists are trained, and afterwards any written by a
  replica that had not seen the training yet. A query reads ``P:ivf:0`` always, and the ``probes``
  lists whose centroids are nearest to it.
- ``P:ivf``: the centroids (float32, ``lists`` rows), set once: the first replica to query the vectors
  when ``P:ivf:0`` holds ``train_at`` or more trains them (seeded k-means over those codes) and moves
  every record of ``P:ivf:0`` to its list, in one script that does nothing if another replica trained
  them first or ``P:ivf:0`` changed since it was read. Later writers assign their articles to the list of
  the nearest centroid.
- ``P:vec:SEQ``: the article's vector as float32, for the exact scores: the codes rank what the query
  reads, and the nearest ``rerank(k)`` by code are scored again exactly (FAISS's inner product, the one
  the in-process flat index computes, so that below ``train_at`` articles the answers are the flat
  index's).

A replica keeps what it read of the lists and of the exact vectors, ``cache_bytes`` at most
(``?vector_cache_mb=N`` in the store's URL; two thirds for the lists, a third for the exact vectors, the
least recently used of each dropped first): a query asks Redis only for what changed since.
``P:ivf:epochs`` holds a token for each list that changes whenever the list changes by anything but
records added at its end (a removal, a move out, a list made anew, after a flush too: the token is a
writer's fresh random one, never a counter that could start again): while a list's token is the one a
replica read, the records it holds are a prefix of the list, and it reads only the rest. The exact vectors
are kept by sequence number and the scale of the record that named them: a ``P:vec:SEQ`` key never
changes while it exists (a store never gives a sequence number twice), and after the keys were deleted
and written anew (a flush) another vector under the same number has another scale but with odds of
about 2^-32; a removed article's vector stays cached until it is the least recently used, and is never
asked for: its record is gone from every list.

The records of a list are found by the list a vector is assigned to, which every replica computes the
same way from the same centroids and codes; a removal takes the record out of ``P:ivf:0`` and of that
list, and deletes its ``P:vec`` key. A record left anywhere else (none should be) names a sequence
number without a ``P:vec`` key and is never returned.

The number of lists comes from the capacity the indexes are laid out for (``?index_capacity=N``): about
``_PER_LIST`` articles a list at capacity, a power of two from 16 to 1,024, and a sixteenth of them
probed (4 at least). With 256 lists and 16 probed, 0.95 of the 20 nearest by the model's story vectors
of 5,000 news articles were found (``benchmarks/vector_lsh_recall.py``, the inverted file's rows).

Writes are script calls (body, keys, arguments) that ``RedisArticleIndex`` queues for its commit or runs
at once, as it does its LSH entries: a refused commit leaves nothing of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dedup.redis_store import VECTOR_CACHE_BYTES, RedisStore

__all__ = ["RedisVectors", "list_count"]

logger = logging.getLogger(__name__)

_PER_LIST = 400
"""Articles a list is laid out to hold at capacity."""
_MIN_LISTS, _MAX_LISTS = 16, 1024
_TRAIN_PER_LIST = 16
"""Codes a list's centroid is trained from at least; ``train_at`` is also never under ``_MIN_TRAIN``."""
_MIN_TRAIN = 1024
_STRAGGLERS = 256
"""Records of ``P:ivf:0`` that, once the lists are trained, a query moves to their lists."""
_KMEANS_SEED = 1234
_CHUNK = 1024
"""Articles one script call writes or removes at most."""
_PIECES = 32
"""Pieces a list read a few records at a time is kept in at most; then they are joined into one."""

_GET = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('GET', key) end
return out
"""
# KEYS[1] the centroids (read when ARGV[1] is '1'), KEYS[2] the lists' tokens, then the lists; after
# ARGV[1], for each list the token and length the reader holds. For each list: its token, the offset
# the data starts at (the length held when the token is the same, else 0), and the data from there.
_READ = """
local out = {ARGV[1] == '1' and redis.call('GET', KEYS[1]) or false}
for i = 3, #KEYS do
  local token = redis.call('HGET', KEYS[2], KEYS[i]) or ''
  local held = tonumber(ARGV[2 * i - 3])
  local size = redis.call('STRLEN', KEYS[i])
  if token == ARGV[2 * i - 4] and size >= held then
    out[i - 1] = {token, held, size > held and redis.call('GETRANGE', KEYS[i], held, -1) or ''}
  else
    out[i - 1] = {token, 0, redis.call('GET', KEYS[i]) or ''}
  end
end
return out
"""
# KEYS[1] the lists' tokens, then the lists records are appended to, then the vectors' keys; ARGV[1]
# how many lists, ARGV[2] a fresh token, then the records for each list, then each vector.
_PUT = """
local n = tonumber(ARGV[1])
for i = 2, #KEYS do
  if i <= n + 1 then
    local was = redis.call('GET', KEYS[i])
    if not was then redis.call('HSET', KEYS[1], KEYS[i], ARGV[2]) end
    redis.call('SET', KEYS[i], (was or '') .. ARGV[i + 1])
  else
    redis.call('SET', KEYS[i], ARGV[i + 1])
  end
end
return #KEYS
"""
"""(A list grows by SET of the whole, not APPEND: APPEND leaves a string room to grow, up to as much again
as it holds, and a list is written once an article.)"""
# KEYS[1] the lists' tokens, then the lists records are taken out of, then the vectors' keys to delete;
# ARGV[1] how many lists, ARGV[2] the size of a record, ARGV[3] a fresh token, then for each list the
# 8-byte sequence numbers whose records go.
_DROP = """
local n = tonumber(ARGV[1])
local size = tonumber(ARGV[2])
for i = 2, n + 1 do
  local s = redis.call('GET', KEYS[i])
  if s then
    local gone = {}
    local seqs = ARGV[i + 2]
    for j = 1, #seqs, 8 do gone[string.sub(seqs, j, j + 7)] = true end
    local pieces = {}
    local start = 1
    for j = 1, #s, size do
      if gone[string.sub(s, j, j + 7)] then
        if j > start then pieces[#pieces + 1] = string.sub(s, start, j - 1) end
        start = j + size
      end
    end
    if start > 1 then
      if start <= #s then pieces[#pieces + 1] = string.sub(s, start) end
      if #pieces == 0 then
        redis.call('DEL', KEYS[i])
        redis.call('HDEL', KEYS[1], KEYS[i])
      else
        redis.call('SET', KEYS[i], table.concat(pieces))
        redis.call('HSET', KEYS[1], KEYS[i], ARGV[3])
      end
    end
  end
end
for i = n + 2, #KEYS do redis.call('DEL', KEYS[i]) end
return #KEYS
"""
# KEYS[1] the centroids, KEYS[2] the lists' tokens, KEYS[3] the unassigned list, then lists; ARGV[1] the
# SHA-1 of the unassigned list as read, ARGV[2] the centroids to set (empty: they are set already),
# ARGV[3] a fresh token, then each list's records. 1 when the records moved; 0 when the centroids'
# state or the unassigned list changed since.
_MOVE = """
local trained = redis.call('EXISTS', KEYS[1]) == 1
if (ARGV[2] == '') ~= trained then return 0 end
if redis.sha1hex(redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
if not trained then redis.call('SET', KEYS[1], ARGV[2]) end
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], KEYS[3])
for i = 4, #KEYS do
  local was = redis.call('GET', KEYS[i])
  if not was then redis.call('HSET', KEYS[2], KEYS[i], ARGV[3]) end
  redis.call('SET', KEYS[i], (was or '') .. ARGV[i])
end
return 1
"""

_Call = tuple[str, Sequence[Any], Sequence[Any]]


def list_count(capacity: int) -> int:
    """Lists for ``capacity`` articles: about ``_PER_LIST`` a list, a power of two within bounds."""
    wanted = max(1, capacity // _PER_LIST)
    return min(_MAX_LISTS, max(_MIN_LISTS, 1 << (wanted - 1).bit_length()))


class RedisVectors:
    """The article vectors of a Redis store's indexes (module docstring): ``capacity`` articles laid
    out, vectors of ``dim()`` dimensions (read when first needed: the model loads late)."""

    def __init__(
        self,
        store: RedisStore,
        dim: Callable[[], int],
        capacity: int,
        cache_bytes: int = VECTOR_CACHE_BYTES,
    ) -> None:
        self._store = store
        self._r = store.client
        self._dim = dim
        self.lists = list_count(capacity)
        self.probes = max(4, self.lists // 16)
        self.train_at = max(_MIN_TRAIN, _TRAIN_PER_LIST * self.lists)
        self._centroids: np.ndarray | None = None  # once read: they never change while the keys exist
        self.last_read = 0
        """Records the last query of this process searched (a measure of its cost)."""
        self.last_fetched = 0
        """Bytes the last query of this process fetched from Redis."""
        self._lock = threading.Lock()  # guards the two caches, which queries on many threads share
        self._held: OrderedDict[int, tuple[bytes, tuple[bytes, ...], int]] = OrderedDict()
        """List -> (token, its records in the pieces they were read in, their size)."""
        self._held_bytes = 0
        self._list_cache_bytes = cache_bytes * 2 // 3
        self._exact_cache_bytes = cache_bytes - self._list_cache_bytes
        self._exact: OrderedDict[tuple[int, float], int] = OrderedDict()  # (seq, scale) -> row of _rows
        self._rows: np.ndarray | None = None  # the exact vectors kept, one a row (made at first use)

    # -- layout ---------------------------------------------------------------------------------------

    def _list(self, n: int) -> str:
        return self._store.key("ivf", str(n))

    def _vec(self, seq: int) -> str:
        return self._store.key("vec", str(seq))

    def _tokens(self) -> str:
        return self._store.key("ivf", "epochs")

    @staticmethod
    def _fresh() -> str:
        return os.urandom(8).hex()

    def _write_keys(self, lists: Sequence[int], seqs: Sequence[int]) -> list[str]:
        """The keys of a ``_PUT`` or ``_DROP`` call: the lists' tokens, the lists, the vectors."""
        return [self._tokens(), *(self._list(x) for x in lists), *(self._vec(s) for s in seqs)]

    def _record(self) -> np.dtype:
        return np.dtype([("seq", ">i8"), ("scale", "<f4"), ("code", "i1", (self._dim(),))])

    def key_names(self) -> list[bytes]:
        """Every key of the vectors in Redis (a SCAN of their names)."""
        found: list[bytes] = []
        with self._store.errors("listing the article vectors' keys"):
            for part in ("ivf", "vec"):
                found.extend(self._store.keys_under(part))
            if self._r.exists(self._store.key("ivf")):
                found.append(self._store.key("ivf").encode())
        return found

    def forget(self) -> None:
        """Drop what this process read of the keys (after they were deleted)."""
        self._centroids = None
        with self._lock:
            self._held.clear()
            self._held_bytes = 0
            self._exact.clear()
            self._rows = None

    # -- codes ----------------------------------------------------------------------------------------

    def _encode(self, seqs: Sequence[int], vectors: np.ndarray) -> np.ndarray:
        rec = np.zeros(len(seqs), dtype=self._record())
        v = np.asarray(vectors, dtype=np.float32)
        top = np.abs(v).max(axis=1) if len(v) else np.zeros(0, dtype=np.float32)
        scale = np.where(top > 0, top / 127, 1).astype(np.float32)
        rec["seq"] = seqs
        rec["scale"] = scale
        rec["code"] = np.rint(v / scale[:, None]).astype(np.int8)
        return rec

    @staticmethod
    def _decode(rec: np.ndarray) -> np.ndarray:
        return rec["code"].astype(np.float32) * rec["scale"][:, None]

    def _assign(self, rec: np.ndarray, centroids: np.ndarray | None) -> np.ndarray:
        """Each record's list: 0 without centroids, else the list of the nearest centroid to its code
        (the codes, not the vectors: every replica computes it from the same bytes)."""
        if centroids is None or not len(rec):
            return np.zeros(len(rec), dtype=np.int64)
        return np.argmax(self._decode(rec) @ centroids.T, axis=1).astype(np.int64) + 1

    def _keep_centroids(self, raw: bytes | None) -> np.ndarray | None:
        """Keep the centroids as read (``raw``: their key's value, None while untrained)."""
        if raw is not None:
            self._centroids = np.frombuffer(raw, dtype=np.float32).reshape(self.lists, -1)
        return self._centroids

    def _read_centroids(self) -> np.ndarray | None:
        if self._centroids is None:
            with self._store.errors("reading the vector lists' centroids"):
                self._keep_centroids(self._r.get(self._store.key("ivf")))
        return self._centroids

    # -- writes ---------------------------------------------------------------------------------------

    @staticmethod
    def _kept(seqs: Sequence[int], vectors: np.ndarray) -> tuple[list[int], np.ndarray]:
        """The articles whose vectors are kept: not zero vectors (an engine without a model), which are
        near nothing."""
        keep = [i for i, v in enumerate(vectors) if np.any(v)]
        return [seqs[i] for i in keep], np.asarray(vectors, dtype=np.float32)[keep]

    def puts(self, seqs: Sequence[int], vectors: np.ndarray) -> list[_Call]:
        """The writes that add articles' vectors (``_kept``)."""
        seqs, vectors = self._kept(seqs, vectors)
        if not seqs:
            return []
        rec = self._encode(seqs, vectors)
        lists = self._assign(rec, self._centroids)
        calls: list[_Call] = []
        for n in range(0, len(seqs), _CHUNK):
            part, where = rec[n : n + _CHUNK], lists[n : n + _CHUNK]
            names = sorted(set(where.tolist()))
            keys = self._write_keys(names, seqs[n : n + _CHUNK])
            args: list[Any] = [len(names), self._fresh(), *(part[where == x].tobytes() for x in names)]
            args += [v.tobytes() for v in vectors[n : n + _CHUNK]]
            calls.append((_PUT, keys, args))
        return calls

    def drops(self, seqs: Sequence[int], vectors: np.ndarray) -> list[_Call]:
        """The writes that remove articles' vectors (those they were added with)."""
        seqs, vectors = self._kept(seqs, vectors)
        if not seqs:
            return []
        rec = self._encode(seqs, vectors)
        lists = self._assign(rec, self._read_centroids())
        calls: list[_Call] = []
        for n in range(0, len(seqs), _CHUNK):
            part, where = rec[n : n + _CHUNK], lists[n : n + _CHUNK]
            names = sorted(set(where.tolist()) | {0})
            packed = [part["seq"][(where == x) | (x == 0)].astype(">i8").tobytes() for x in names]
            keys = self._write_keys(names, seqs[n : n + _CHUNK])
            calls.append((_DROP, keys, [len(names), rec.itemsize, self._fresh(), *packed]))
        return calls

    # -- queries --------------------------------------------------------------------------------------

    def _read(self, names: Sequence[int], centroids: bool) -> tuple[bytes | None, list[tuple[bytes, ...]]]:
        """The centroids' key (if ``centroids``; else None) and the records of lists ``names``, as Redis
        holds them now, each list in pieces: what changed since this process last read them is fetched,
        the rest comes from its cache (module docstring)."""
        with self._lock:
            held = [self._held.get(n, (b"", (), 0)) for n in names]
        args: list[Any] = ["1" if centroids else "0"]
        for token, _, size in held:
            args += [token, size]
        keys = [self._store.key("ivf"), self._tokens(), *(self._list(n) for n in names)]
        with self._store.errors("reading the article vectors"):
            reply = self._r.eval(_READ, len(keys), *keys, *args)
        raw, lists = reply[0], reply[1:]
        out: list[tuple[bytes, ...]] = []
        for (_, pieces, _), (_, offset, fresh) in zip(held, lists, strict=True):
            # The pieces as read, not joined: a list that grows by a record at a time would otherwise be
            # copied whole at every read, and the heap left with holes of every size.
            now = (*pieces, fresh) if offset else (fresh,)
            out.append(tuple(p for p in now if p) if len(now) <= _PIECES else (b"".join(now),))
        self.last_fetched = sum(len(fresh) for _, _, fresh in lists)
        with self._lock:
            for n, (token, _, _), pieces in zip(names, lists, out, strict=True):
                # Whichever thread stores last, the entry is the list as Redis held it at some moment,
                # with the token it had then: a later read fetches what was added since.
                self._held_bytes -= self._held.pop(n, (b"", (), 0))[2]
                size = sum(len(p) for p in pieces)
                if size <= self._list_cache_bytes:
                    self._held[n] = (token, pieces, size)
                    self._held_bytes += size
            while self._held_bytes > self._list_cache_bytes:
                self._held_bytes -= self._held.popitem(last=False)[1][2]
        return raw, out

    def _vectors(self, seqs: Sequence[int], scales: Sequence[float]) -> list[np.ndarray | None]:
        """The exact vectors of articles ``seqs`` whose records have ``scales`` (None for one removed),
        from the cache or Redis."""
        keys = list(zip(seqs, scales, strict=True))
        found: list[np.ndarray | None] = [None] * len(keys)
        with self._lock:
            for i, key in enumerate(keys):
                row = self._exact.get(key)
                if row is not None and self._rows is not None:
                    self._exact.move_to_end(key)
                    found[i] = self._rows[row].copy()  # a row another query may take over once unlocked
        missing = [i for i, v in enumerate(found) if v is None]
        if not missing:
            return found
        names = [self._vec(seqs[i]) for i in missing]
        with self._store.errors("reading the article vectors"):
            raws = self._r.eval(_GET, len(names), *names)
        self.last_fetched += sum(len(r) for r in raws if r)
        read = []
        for i, raw in zip(missing, raws, strict=True):
            if raw is not None:
                found[i] = vector = np.frombuffer(raw, dtype=np.float32)
                read.append((keys[i], vector))
        with self._lock:
            self._keep_exact(read)
        return found

    def _keep_exact(self, read: Sequence[tuple[tuple[int, float], np.ndarray]]) -> None:
        """Keep vectors just read, in the rows of the least recently used ones once every row is taken
        (``_lock`` held)."""
        if not read:
            return
        if self._rows is None:
            rows = self._exact_cache_bytes // (4 * self._dim())
            if rows < 1:
                return
            self._rows = np.empty((rows, self._dim()), dtype=np.float32)
        for key, vector in read:
            if key in self._exact:
                continue
            if len(self._exact) < len(self._rows):
                row = len(self._exact)
            else:
                row = self._exact.popitem(last=False)[1]
            self._rows[row] = vector
            self._exact[key] = row

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[float, int]]:
        """The ``k`` stored articles nearest to ``vector``, nearest first: (cosine, sequence number)."""
        q = np.asarray(vector, dtype=np.float32)
        if k <= 0 or not q.any():
            return []
        centroids = self._centroids
        if centroids is None:  # until trained, each query asks: one round trip more, once trained
            raw, blobs = self._read([0], centroids=True)
            centroids = self._keep_centroids(raw)
        else:
            blobs = []
        if centroids is not None:
            near = np.argsort(-(centroids @ q), kind="stable")[: self.probes] + 1
            names = ([] if blobs else [0]) + sorted(near.tolist())
            blobs += self._read(names, centroids=False)[1]
        dtype = self._record()
        rec = np.frombuffer(b"".join(p for pieces in blobs for p in pieces), dtype=dtype)
        self.last_read = len(rec)
        if not len(rec):
            return []
        unassigned = sum(len(p) for p in blobs[0])
        if unassigned >= (self.train_at if centroids is None else _STRAGGLERS) * dtype.itemsize:
            self._move(b"".join(blobs[0]), centroids)
        approx = (rec["code"].astype(np.float32) @ q) * rec["scale"]
        take = min(len(rec), self.rerank(k))
        best = np.argpartition(-approx, take - 1)[:take] if take < len(rec) else np.arange(len(rec))
        _, first = np.unique(rec["seq"][best], return_index=True)  # ascending: the flat index's order
        picked = rec[best][first]
        seqs, scales = picked["seq"].astype(np.int64).tolist(), picked["scale"].tolist()
        held = [(s, v) for s, v in zip(seqs, self._vectors(seqs, scales), strict=True) if v is not None]
        if not held:
            return []
        import faiss

        flat = faiss.IndexFlatIP(len(q))
        flat.add(np.vstack([v for _, v in held]))
        scores, rows = flat.search(q[None, :], min(k, len(held)))
        return [(float(s), held[r][0]) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]

    @staticmethod
    def rerank(k: int) -> int:
        """How many of the nearest by code are scored exactly for ``k`` neighbours."""
        return max(8 * k, 128)

    # -- training -------------------------------------------------------------------------------------

    def _train(self, rec: np.ndarray) -> np.ndarray:
        """Centroids of the lists, by seeded spherical k-means over the records' codes."""
        import faiss

        km = faiss.Kmeans(
            rec["code"].shape[1], self.lists, niter=20, seed=_KMEANS_SEED, spherical=True,
            min_points_per_centroid=1, max_points_per_centroid=10 * _TRAIN_PER_LIST,
        )  # fmt: skip
        km.train(np.ascontiguousarray(self._decode(rec)))
        return np.asarray(km.centroids, dtype=np.float32).reshape(self.lists, -1)

    def _move(self, unassigned: bytes, centroids: np.ndarray | None) -> None:
        """Move the records of the unassigned list (as read: ``unassigned``) to their lists, training the
        centroids first if there are none; nothing if another replica did either first."""
        rec = np.frombuffer(unassigned, dtype=self._record())
        train = centroids is None
        lists = self._train(rec) if centroids is None else centroids
        where = self._assign(rec, lists)
        names = sorted(set(where.tolist()))
        keys = [self._store.key("ivf"), self._tokens(), self._list(0), *(self._list(x) for x in names)]
        args = [
            hashlib.sha1(unassigned).hexdigest(),
            lists.tobytes() if train else b"",
            self._fresh(),
            *(rec[where == x].tobytes() for x in names),
        ]
        with self._store.errors("training the vector lists"):
            moved = self._r.eval(_MOVE, len(keys), *keys, *args)
        if moved:
            logger.info("%s the article vectors' lists: %d records moved",
                        "trained" if train else "filled", len(rec))  # fmt: skip
        self._centroids = None  # read again: another replica's, if it trained them first
        self._read_centroids()
