"""The article indexes in Redis, beside a Redis store (``dedup.redis_store``), shared by every replica.

``RedisArticleIndex`` is the ``ArticleIndex`` a replica uses when its store is on Redis: the document
LSH, the sentence LSH and the map of sentences by their words live in Redis, under the store's prefix
hash tag (so on a Redis Cluster they share the store's slot), and every replica reads and writes the
same ones. A replica adds the articles it stores and removes those it deletes; it never adds another
replica's (``shared``).

The article vectors are in Redis too (``dedup.redis_vectors``: an inverted file of int8 codes, searched
in the replica over the lists it fetches, and each vector as float32 for the exact scores), so a
replica keeps nothing that grows with the stored articles.
Sentence vectors (``align.candidate_neighbours`` > 0) are not kept here at all:
``dedup.article_index.make_article_index`` keeps the in-process indexes for such a configuration.

Layout (``P`` the store's ``{prefix}``):

- ``P:doc-lsh:N`` and ``P:sentence-lsh:N``: the LSH bands, as ``BandedLsh`` bands them (its
  ``band_keys``, so both find the same keys for the same signatures). A band hash ``h`` goes to bucket
  ``N = h mod buckets``, a sorted set whose members are 10 bytes, all scored 0: the 32 high bits of
  ``h`` (big-endian), then the key (the sequence number, or the sentence key ``seq * MAX_SENTENCES +
  sentence``) in 48 bits. A band's keys are the members in the lexical range of its 4-byte tag. The
  number of buckets is fixed when the indexes are built, from the capacity they are laid out for
  (``?index_capacity=N`` in the store's URL, default ``INDEX_CAPACITY``), so that at capacity a bucket
  holds about 70 to 90 members: under Redis's ``zset-max-listpack-entries`` (128), so each bucket is a
  compact listpack (about 14 bytes a member) and the per-key overhead is spread over many members.
  Well past capacity buckets turn into skip lists (several times the bytes a member): build the
  indexes again with a larger capacity, or raise ``zset-max-listpack-entries``.
- ``P:words:N``: hashes, a sentence's words hash (``words_key``, 8 bytes big-endian) -> the sentence
  key of the first stored article holding those words, written with HSETNX semantics (first writer
  wins), bucketed as the LSH.
- ``P:ivf``, ``P:ivf:N`` and ``P:vec:SEQ``: the article vectors (``dedup.redis_vectors``).
- ``P:indexed``: a bitmap, bit ``seq`` set while article ``seq`` is indexed (``articles``);
  ``P:index``: a hash with ``sentences`` (how many are indexed) and ``binding`` (what the indexes
  were built from, ``load``).

Round trips. A query (``articles_like``, ``sentence_hits``, ``sentences_with_words``) is one: one Lua
script reads every band of every row; ``nearest_articles`` is one (what changed in the lists it reads
since this process last read them), and one more for exact vectors the process does not hold. Adding or
removing articles in a write costs none of its own: its scripts go in the commit's transaction
(``_CHUNK`` entries a script call, about 40 articles' sentences). Outside a write (rebuilding, or
``add``/``remove`` called directly) they are sent ``_CALLS`` scripts a round trip, so 10,000 articles go
in a few dozen round trips, not one per key.

Writes. A replica's index writes are made by its commit, in the same MULTI/EXEC transaction as the
rest of the change (``take_writes``, ``Change.index_writes``): the indexes hold exactly the committed
articles, a write that is refused (another replica committed first) or whose process dies leaves
nothing in them, and two replicas may compute writes at the same moment, even with the same sequence
number, since only the one whose commit succeeds makes its writes. Hits may still name an article a
replica does not hold yet (committed by another, not followed yet): the engine ignores hits on
articles it does not hold, and checks the words of the sentence the words map gives it. Rebuilding
the indexes (``load`` found none) writes at once, outside any commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from dedup.article_index import (
    MAX_SENTENCES,
    articles_of_hits,
    drop_sentence_signatures,
    hits_by_distinct_row,
    sentence_keys,
    sentence_signatures,
    words_key,
)
from dedup.config import Config
from dedup.document import PreparedDocument
from dedup.errors import ConfigError
from dedup.minhash import BandedLsh, group_rows
from dedup.redis_store import RedisStore
from dedup.redis_vectors import RedisVectors
from dedup.undo import UndoLog

__all__ = ["AVERAGE_SENTENCES", "RedisArticleIndex", "bucket_count"]

logger = logging.getLogger(__name__)

AVERAGE_SENTENCES = 30
"""Sentences a stored article is taken to have when the buckets are counted (news articles: 20 to 40)."""
_FILL = 96
"""Members a bucket is laid out to hold at capacity: under Redis's default listpack limit, 128."""
_KEY_BYTES = 6
_TAG_BYTES = 4
_MEMBER = _TAG_BYTES + _KEY_BYTES
_TOP = b"\xff" * _KEY_BYTES
_CHUNK = 20_000
"""Entries (bucket and member) one script call writes or removes at most."""
_CALLS = 16
"""Script calls sent in one pipeline (one round trip) at most."""
_SCAN = 1_000

# Every band lookup of a query at once: KEYS the buckets, ARGV the tags; a list of members per lookup.
_BIND = """
local bound = redis.call('HGET', KEYS[1], 'binding')
if bound == false or bound == ARGV[2] then
    redis.call('HSET', KEYS[1], 'binding', ARGV[1])
    return 1
end
return 0
"""
"""Record what the indexes were built from (ARGV[1]) unless another process bound them to something
else since this one did (ARGV[2], empty if it has not): a process never overwrites the binding of a
rebuild it did not make."""

_QUERY = """
local counts = {}
local found = {}
for i, key in ipairs(KEYS) do
  local tag = ARGV[i]
  local members = redis.call('ZRANGE', key, '[' .. tag, '[' .. tag .. ARGV[#KEYS + 1], 'BYLEX')
  counts[i] = struct.pack('>I4', #members)
  for _, m in ipairs(members) do found[#found + 1] = m end
end
return {table.concat(counts), table.concat(found)}
"""
"""Every lookup's members laid end to end in one string, and how many each lookup found (4 bytes
big-endian each) in another: two values to send back and parse, however many members were found."""
# LSH entries: KEYS the buckets, ARGV[i] the members of bucket i laid end to end (ARGV[#KEYS + 1] bytes
# each), added (ARGV[#KEYS + 2] "ZADD", score 0) or removed ("ZREM") a slice at a time (Lua's unpack
# takes a few thousand values at most).
_ZMEMBERS = """
local size = tonumber(ARGV[#KEYS + 1])
local command = ARGV[#KEYS + 2]
local scored = command == 'ZADD'
for i, key in ipairs(KEYS) do
  local packed = ARGV[i]
  local args = {}
  for j = 1, #packed, size do
    if scored then args[#args + 1] = 0 end
    args[#args + 1] = string.sub(packed, j, j + size - 1)
    if #args >= 2000 then redis.call(command, key, unpack(args)) args = {} end
  end
  if #args > 0 then redis.call(command, key, unpack(args)) end
end
return #KEYS
"""
# Words: KEYS the buckets, ARGV fields then values; 1 for each field set (none was there), else 0.
_HSETNX = """
local n = #KEYS
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HSETNX', key, ARGV[i], ARGV[n + i]) end
return out
"""
_HGET = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGET', key, ARGV[i]) end
return out
"""
_HDEL = """
for i, key in ipairs(KEYS) do redis.call('HDEL', key, ARGV[i]) end
return #KEYS
"""
# Words of removed articles: KEYS the buckets, ARGV the fields, then the lowest sentence key of each
# field's article, then the highest; each field is deleted when it names that article. The values
# deleted (false where none was).
_HDEL_OWN = """
local n = #KEYS
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HGET', key, ARGV[i])
  out[i] = false
  if v then
    local k = tonumber(v)
    if k >= tonumber(ARGV[n + i]) and k <= tonumber(ARGV[2 * n + i]) then
      redis.call('HDEL', key, ARGV[i])
      out[i] = v
    end
  end
end
return out
"""
# Marks articles indexed (ARGV[2i-1] the sequence number, ARGV[2i] its sentences; ARGV[#ARGV] 1 to mark,
# 0 to unmark), counting the sentences of those whose bit changed; the bits before. Nothing is left of
# the bitmap and the count once no article is indexed.
_MARK = """
local on = tonumber(ARGV[#ARGV])
local out = {}
for i = 1, (#ARGV - 1) / 2 do
  local old = redis.call('SETBIT', KEYS[1], ARGV[2 * i - 1], on)
  out[i] = old
  if old ~= on then
    local n = tonumber(ARGV[2 * i])
    redis.call('HINCRBY', KEYS[2], 'sentences', on == 1 and n or -n)
  end
end
if on == 0 then
  if redis.call('BITCOUNT', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
  local left = tonumber(redis.call('HGET', KEYS[2], 'sentences') or 0)
  if left == 0 then redis.call('HDEL', KEYS[2], 'sentences') end
end
return out
"""


_Call = tuple[str, Sequence[Any], Sequence[Any]]
"""A script call: its body, its keys, its arguments."""


def _calls(script: str, keys: Sequence[str], *columns: Sequence[Any]) -> list[_Call]:
    """Calls of ``script``, one per ``_CHUNK`` keys: KEYS those keys, ARGV the values of each column for
    them, one column after the other."""
    return [
        (script, keys[n : n + _CHUNK], [v for column in columns for v in column[n : n + _CHUNK]])
        for n in range(0, len(keys), _CHUNK)
    ]


def _packed_calls(command: str, buckets: Sequence[str], packed: Sequence[bytes]) -> list[_Call]:
    """Calls of ``_ZMEMBERS`` adding (``command`` "ZADD") or removing ("ZREM") LSH entries grouped by
    bucket, about ``_CHUNK`` members a call."""
    calls: list[_Call] = []
    start = size = 0
    for n, blob in enumerate(packed):
        size += len(blob)
        if size >= _CHUNK * _MEMBER or n == len(packed) - 1:
            calls.append((_ZMEMBERS, buckets[start : n + 1], [*packed[start : n + 1], _MEMBER, command]))
            start, size = n + 1, 0
    return calls


def bucket_count(capacity: int, entries_per_article: int) -> int:
    """Buckets for ``capacity`` articles of ``entries_per_article`` entries each, about ``_FILL`` to a
    bucket at capacity: a power of two."""
    wanted = max(1, -(-capacity * entries_per_article // _FILL))
    return 1 << (wanted - 1).bit_length()


class _RedisLsh:
    """Banded LSH in bucketed sorted sets (module docstring): what ``RedisArticleIndex`` sends for a
    query, an insert or a removal, and how it reads the answers."""

    def __init__(self, name: str, lsh: BandedLsh, buckets: int, key: Callable[..., str]) -> None:
        self.name = name
        self.lsh = lsh
        self.buckets = buckets
        self._key = key

    def _bucket_names(self, buckets: np.ndarray) -> list[str]:
        prefix = self._key(self.name, "")
        return [prefix + str(b) for b in buckets.tolist()]

    def _hashes(self, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bucket of each band hash of each row (row-major), and its 4-byte tag as a (n, 4) array."""
        h = self.lsh.band_keys(np.atleast_2d(signatures)).ravel()
        buckets = h % np.uint64(self.buckets)
        tags = (h >> np.uint64(64 - 8 * _TAG_BYTES)).astype(">u4").view(np.uint8).reshape(-1, _TAG_BYTES)
        return buckets, tags

    def entries(self, keys: Sequence[int], signatures: np.ndarray) -> tuple[list[str], list[bytes]]:
        """The entries of every band of every key (each key with its row of signatures), by bucket: the
        buckets' names, and for each the members that go there, laid end to end."""
        if not len(keys):
            return [], []
        buckets, tags = self._hashes(signatures)
        ks = np.repeat(np.asarray(keys, dtype=np.int64), self.lsh.bands)
        if ks.min() < 0 or ks.max() >= 1 << (8 * _KEY_BYTES):
            raise ValueError(f"an LSH key out of {8 * _KEY_BYTES} bits in {self.name}")
        raw = np.concatenate([tags, ks.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - _KEY_BYTES :]], 1)
        order = np.argsort(buckets, kind="stable")
        buckets = buckets[order]
        starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
        ends = np.r_[starts[1:], len(buckets)] * _MEMBER
        blob = raw[order].tobytes()
        packed = [blob[a:b] for a, b in zip((starts * _MEMBER).tolist(), ends.tolist(), strict=True)]
        return self._bucket_names(buckets[starts]), packed

    def lookups(self, signatures: np.ndarray) -> tuple[list[str], list[bytes]]:
        """(bucket names, tags) of every band of every row: the query's arguments."""
        buckets, tags = self._hashes(signatures)
        blob = tags.tobytes()
        return self._bucket_names(buckets), [
            blob[i : i + _TAG_BYTES] for i in range(0, len(blob), _TAG_BYTES)
        ]

    def pairs(self, counted: bytes, members: bytes, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        """As ``BandedLsh.query_pairs``: every (row, key) of what the rows' lookups found (``_QUERY``'s
        reply: how many members each found, and the members), each once, sorted by row then key;
        ``limit`` the most entries gathered, the lookups in order."""
        counts = np.frombuffer(counted, dtype=">u4").astype(np.int64)
        usable = len(counts)
        if limit is not None:
            usable = int(np.searchsorted(np.cumsum(counts), limit, side="right"))
        rows = np.repeat(np.arange(usable, dtype=np.int64) // self.lsh.bands, counts[:usable])
        taken = int(counts[:usable].sum()) * _MEMBER
        raw = np.frombuffer(members, dtype=np.uint8, count=taken).reshape(-1, _MEMBER)[:, _TAG_BYTES:]
        padded = np.zeros((len(raw), 8), dtype=np.uint8)
        padded[:, 8 - _KEY_BYTES :] = raw
        keys = padded.view(">u8").ravel().astype(np.int64)
        if not len(keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        order = np.lexsort((keys, rows))
        rows, keys = rows[order], keys[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
        return rows[first], keys[first]


def _read_binding(stored: bytes | None) -> list[Any] | None:
    """A stored binding with its layout ([binding, layout]), None when there is none or it is not one
    (the indexes are then built again)."""
    if stored is None:
        return None
    try:
        built = json.loads(stored)
    except ValueError:
        return None
    return built if isinstance(built, list) and len(built) == 2 and isinstance(built[1], dict) else None


def _database_of(binding: Any) -> str | None:
    """The database id a binding names (``EngineState._index_binding``), None when it names none."""
    return binding.get("database_id") if isinstance(binding, dict) else None


def _differences(built: Any, wanted: Any) -> str:
    """What differs between two bindings with their layouts ([binding, layout]), named for a person."""
    out = []
    if isinstance(built[0], dict) and isinstance(wanted[0], dict):
        if built[0].get("fingerprint") != wanted[0].get("fingerprint"):
            out.append("the settings that shape the indexes")
    elif built[0] != wanted[0]:
        out.append("their binding")
    for part in sorted(set(built[1]) | set(wanted[1])):
        if built[1].get(part) != wanted[1].get(part):
            out.append(f"{part} buckets {built[1].get(part)} there, {wanted[1].get(part)} here")
    return "; ".join(out) or "their binding"


class RedisArticleIndex:
    """``ArticleIndex`` in Redis beside a ``RedisStore``, shared by every process using that store
    (module docstring). ``capacity``: the articles the buckets and vector lists are laid out for (the
    store's ``index_capacity`` by default)."""

    shared = True
    """Every process sharing the store shares these indexes: each adds and removes only the articles it
    writes."""

    keeps_vectors = False
    """No vector is kept in the process: nothing of an article stays in memory but bounded caches."""

    def __init__(
        self, config: Config, store: RedisStore, dim: Callable[[], int], capacity: int | None = None
    ) -> None:
        self._config = config
        self._store = store
        self._r = store.client
        self.undo: UndoLog | None = None
        self._queued: list[_Call] = []
        """The writes of the write in progress (while ``undo`` is set), for its commit to make."""
        mh = config.minhash
        capacity = capacity or store.index_capacity
        doc_lsh = BandedLsh(mh.doc_threshold, mh.num_perm, buffer_limit=1)
        sent_lsh = BandedLsh(mh.passage_threshold, mh.num_perm, buffer_limit=1)
        self._doc = _RedisLsh("doc-lsh", doc_lsh, bucket_count(capacity, doc_lsh.bands), store.key)
        self._sent = _RedisLsh(
            "sentence-lsh", sent_lsh, bucket_count(capacity, AVERAGE_SENTENCES * sent_lsh.bands), store.key
        )
        self._word_buckets = bucket_count(capacity, AVERAGE_SENTENCES)
        self._meta = store.key("index")
        self._bits = store.key("indexed")
        self._vectors = RedisVectors(store, dim, capacity, store.vector_cache_bytes)
        self._bound: str | None = None  # the binding this process loaded or built them with

    @property
    def layout(self) -> dict[str, int]:
        """What the keys' meaning depends on besides the settings: the buckets of each part."""
        return {
            "doc-lsh": self._doc.buckets,
            "sentence-lsh": self._sent.buckets,
            "words": self._word_buckets,
            "vector-lists": self._vectors.lists,
        }

    def _words(self, fields: Iterable[int]) -> tuple[list[str], list[bytes]]:
        """(bucket names, fields) of words hashes."""
        w = np.fromiter(fields, dtype=np.uint64)
        prefix = self._store.key("words", "")
        names = [prefix + str(b) for b in (w % np.uint64(self._word_buckets)).tolist()]
        blob = w.astype(">u8").tobytes()
        return names, [blob[i : i + 8] for i in range(0, len(blob), 8)]

    def _run(self, doing: str, calls: Sequence[_Call]) -> list[Any]:
        """Run scripts (body, keys, args), ``_CALLS`` to a round trip; their answers in order."""
        out: list[Any] = []
        with self._store.errors(doing):
            for n in range(0, len(calls), _CALLS):
                pipe = self._store.pipeline(transaction=False)
                for script, keys, args in calls[n : n + _CALLS]:
                    pipe.eval(script, len(keys), *keys, *args)
                out.extend(pipe.execute())
        return out

    # -- changes --------------------------------------------------------------------------------------

    def _lsh_entries(
        self, docs: Sequence[PreparedDocument], signed: bool
    ) -> tuple[list[str], list[bytes], list[str], list[bytes]]:
        """The document and sentence LSH entries of ``docs``: with their kept sentence signatures
        (``signed``, before they are indexed) or signed again (to remove them)."""
        with_doc = [d for d in docs if len(d.doc_shingles)]
        dk, dm = self._doc.entries(
            [d.order for d in with_doc],
            np.vstack([cast(np.ndarray, d.doc_minhash) for d in with_doc]) if with_doc else np.zeros((0, 1)),
        )
        keyed = [(d, sentence_keys(d)) for d in docs]
        keys = [k for _, ks in keyed for k in ks]
        if not keys:
            return dk, dm, [], []
        mh = self._config.minhash
        if signed:
            sigs = np.vstack([d.sentence_minhashes[:MAX_SENTENCES] for d, ks in keyed if ks])
        else:
            sigs = np.vstack([sentence_signatures(d, mh, range(len(ks))) for d, ks in keyed if ks])
        sk, sm = self._sent.entries(keys, sigs)
        return dk, dm, sk, sm

    def _mark(self, docs: Sequence[PreparedDocument], on: bool) -> _Call:
        args: list[Any] = [x for d in docs for x in (d.order, len(sentence_keys(d)))]
        return _MARK, [self._bits, self._meta], [*args, int(on)]

    def add(self, docs: Sequence[PreparedDocument]) -> None:
        if not docs:
            return
        for doc in docs:
            assert doc.doc_minhash is not None and doc.embeddings is not None and doc.vector is not None
        dk, dm, sk, sm = self._lsh_entries(docs, signed=True)
        words: dict[int, int] = {}  # the first of the batch with these words holds them
        for doc in docs:
            for s, key in enumerate(sentence_keys(doc)):
                words.setdefault(words_key(doc, s), key)
        wk, wf = self._words(words)
        writes: list[_Call] = [self._mark(docs, True), *_packed_calls("ZADD", dk + sk, dm + sm)]
        writes += _calls(_HSETNX, wk, wf, list(words.values()))
        vectors = np.vstack([cast(np.ndarray, d.vector) for d in docs])
        self._write("indexing articles", writes + self._vectors.puts([d.order for d in docs], vectors))
        drop_sentence_signatures(docs, self._config.minhash.num_perm)

    def remove(self, docs: Sequence[PreparedDocument]) -> None:
        if not docs:
            return
        dk, dm, sk, sm = self._lsh_entries(docs, signed=False)
        fields: list[int] = []
        lows: list[int] = []
        for doc in docs:
            for s in range(len(sentence_keys(doc))):
                fields.append(words_key(doc, s))
                lows.append(doc.order * MAX_SENTENCES)
        wk, wf = self._words(fields)
        highs = [lo + MAX_SENTENCES - 1 for lo in lows]
        writes: list[_Call] = [self._mark(docs, False), *_packed_calls("ZREM", dk + sk, dm + sm)]
        writes += _calls(_HDEL_OWN, wk, wf, lows, highs)
        vectors = np.vstack([cast(np.ndarray, d.vector) for d in docs])
        self._write(
            "removing articles from the indexes",
            writes + self._vectors.drops([d.order for d in docs], vectors),
        )

    def _write(self, doing: str, calls: list[_Call]) -> None:
        """Make index writes: in a write (``undo`` set), queued for its commit (``take_writes``), so
        they are made in the commit's transaction or not at all; else (rebuilding) at once."""
        if self.undo is not None:
            self._queued.extend(calls)
        else:
            self._run(doing, calls)

    def take_writes(self) -> list[_Call]:
        """The index writes of the write in progress, for its commit (``Change.index_writes``); none are
        left queued."""
        queued, self._queued = self._queued, []
        return queued

    def holds(self, seq: int) -> bool:
        """Whether the article ``seq`` names is indexed (committed: the indexes hold only what was)."""
        with self._store.errors("reading the indexes"):
            return bool(self._r.getbit(self._bits, seq))

    def follow(self, added: Sequence[tuple[int, np.ndarray]], removed: Sequence[int]) -> None:
        """Nothing to take: every part, the vectors too, is in Redis, written by the commits."""

    # -- queries --------------------------------------------------------------------------------------

    def _query(
        self, lsh: _RedisLsh, signatures: np.ndarray, limit: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every band of every row of ``signatures`` looked up in one round trip."""
        names, tags = lsh.lookups(signatures)
        with self._store.errors("querying the indexes"):
            counted, members = self._r.eval(_QUERY, len(names), *names, *tags, _TOP) if names else (b"", b"")
        return lsh.pairs(counted, members, limit)

    def articles_like(self, signature: np.ndarray) -> list[int]:
        return cast(list[int], self._query(self._doc, np.asarray(signature)[None, :], None)[1].tolist())

    def sentence_hits(self, signatures: np.ndarray) -> list[list[int]]:
        limit = self._config.minhash.max_sentence_hits

        def lookup(rows: np.ndarray) -> list[list[int]]:
            found, keys = self._query(self._sent, rows, limit)
            return group_rows(len(rows), found, keys.tolist())

        return hits_by_distinct_row(signatures, lookup)

    def articles_sharing_sentences(self, signatures: np.ndarray) -> list[int]:
        return articles_of_hits(self.sentence_hits(signatures))

    def sentences_with_words(self, keys: Sequence[int]) -> list[int | None]:
        if not len(keys):
            return []
        names, fields = self._words(keys)
        with self._store.errors("querying the indexes"):
            found = self._r.eval(_HGET, len(names), *names, *fields)
        return [int(v) if v is not None else None for v in found]

    def articles_near_sentences(self, embeddings: np.ndarray, k: int, min_score: float) -> list[int]:
        return []  # no sentence vectors here (module docstring)

    def nearest_articles(self, vector: np.ndarray, k: int) -> list[tuple[float, int]]:
        return self._vectors.nearest(vector, k)

    def sentences(self) -> int:
        with self._store.errors("counting the indexed sentences"):
            return int(self._r.hget(self._meta, "sentences") or 0)

    def articles(self) -> int:
        with self._store.errors("counting the indexed articles"):
            return int(self._r.bitcount(self._bits))

    # -- binding --------------------------------------------------------------------------------------

    def _binding(self, binding: Any) -> str:
        return json.dumps([binding, self.layout], sort_keys=True)

    def save(self, path: Path | None, header: Mapping[str, Any], seq_of: Callable[[str], int]) -> bool:
        """Nothing to write: the indexes are in Redis, changed with every commit. Records beside them what
        they were built from (``header["binding"]``), for ``load``."""
        bound = self._binding(header.get("binding"))
        with self._store.errors("saving the indexes' binding"):
            saved = self._r.eval(_BIND, 1, self._meta, bound, self._bound or "")
        if not saved:  # rebuilt by another process since: theirs stays, and this one's writes are refused
            logger.warning("the indexes in %s were rebuilt by another process with other settings: "
                           "their binding is kept", self._store.location)  # fmt: skip
            return False
        self._bound = bound
        return True

    def write_guard(self) -> tuple[str, str] | None:
        return None if self._bound is None else (self._meta, self._bound)

    def load(self, path: Path | None, binding: Any, ids: Mapping[int, str]) -> bool:
        """True when the indexes in Redis were built from ``binding`` with this layout ("already built":
        ``path`` and ``ids`` are not read). Indexes built for another database (a store made again
        under the same prefix), or left without a binding by a build that did not finish, are emptied,
        to be built again (False). Indexes of this database built with other settings or another
        layout are refused (``ConfigError``): the processes that built them may be using them, and one
        process emptying them would leave the others matching against an index that no longer holds
        what they stored. (Changing those settings for every process is a restart with
        ``dedup serve --rebuild-indexes``, whose binding is None: it matches nothing.)"""
        with self._store.errors("reading the indexes' binding"):
            stored = self._r.hget(self._meta, "binding")
        if stored is not None and stored.decode() == self._binding(binding):
            self._bound = stored.decode()
            return True
        built = _read_binding(stored)
        database = _database_of(binding)
        if built is not None and database is not None and _database_of(built[0]) == database:
            what = "with other settings" if built[0] != binding else "for another index_capacity"
            raise ConfigError(
                f"the article indexes beside {self._store.location} were built {what} than this "
                f"process's ({_differences(built, json.loads(self._binding(binding)))}), or by another "
                "version of dedup: every process sharing a store must run the same version with the same "
                "settings and index_capacity. Start this one with theirs, or, to change them for all (or "
                "after an upgrade), stop every process using the store and start one with --rebuild-indexes"
            )
        logger.info("the indexes in %s were built for another database, or not finished: building them again",
                    self._store.location)  # fmt: skip
        self.clear()
        return False

    def keys(self) -> list[bytes]:
        """Every key of these indexes in Redis (a SCAN of each part's names)."""
        found: list[bytes] = []
        with self._store.errors("listing the indexes' keys"):
            for part in ("doc-lsh", "sentence-lsh", "words"):
                found.extend(self._store.keys_under(part))
            found.extend(k.encode() for k in (self._meta, self._bits) if self._r.exists(k))
        found.extend(self._vectors.key_names())
        return found

    def clear(self) -> None:
        """Delete every key of these indexes."""
        keys = self.keys()
        with self._store.errors("deleting the indexes"):
            for n in range(0, len(keys), _SCAN):
                self._r.unlink(*keys[n : n + _SCAN])
        self._vectors.forget()
        self._bound = None
