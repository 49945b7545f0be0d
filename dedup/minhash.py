"""Word shingles, MinHash signatures and the LSH index that finds copied text.

This is the tier every article goes through, so its inner loops are compiled (numba, cached on
disk after the first use) and the rest is vectorised with numpy:

- Words are cut out of the text's UTF-8 bytes and hashed in one compiled pass (64-bit FNV-1a of the
  word's bytes, then MurmurHash3's finaliser): no regex, no string or bytes object per word. A
  ``k``-word shingle's 64-bit hash is a mix of its words' hashes, so no shingle string is built.
- A signature is datasketch's "affine32" MinHash: the minimum over the shingles of ``num_perm``
  random affine permutations ``(a * h + b) mod 2**32`` (``a`` odd) of their 32-bit hashes, one
  compiled loop whose inner loop over the permutations is vectorised by the compiler. The
  permutations are drawn as datasketch draws them, so a signature equals
  ``datasketch.MinHash(num_perm, seed, hashfunc=...)`` fed the same 32-bit hashes.
- ``BandedLsh``, the embedded default, is banded LSH (the bands and rows that datasketch's
  ``MinHashLSH`` would pick for the threshold) stored in sorted numpy arrays: 16 bytes per band per
  key and up to a byte more for each array's bucket directory, about 0.5 KB per key at 128
  permutations and a 0.2 threshold where ``MinHashLSH``'s dicts take about 8 KB. New keys go to a
  small dict, then become sorted runs merged log-structured (each entry is copied O(log N) times
  while N keys load).
- ``DatasketchLsh`` is datasketch's ``MinHashLSH`` itself, kept as a backend to compare against.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, TypeVar, cast

import numpy as np
from numba import njit

from dedup.errors import ConfigError

__all__ = [
    "HASH_VERSION",
    "BandedLsh",
    "DatasketchLsh",
    "LshIndex",
    "MinHasher",
    "estimate_jaccard",
    "exact_jaccard",
    "expand_ranges",
    "group_rows",
    "load_lookup",
    "lsh_params",
    "make_lsh",
    "shingle_hashes",
    "shingle_set",
    "shingles",
    "signatures",
    "text_word_hashes",
    "word_hashes",
]

# Bumped whenever a word, shingle or signature hash changes: saved indexes of another version are stale.
HASH_VERSION = 2

_U64 = np.uint64
_T = TypeVar("_T")
_MIX = _U64(0x9E3779B97F4A7C15)
_EMPTY = np.zeros(0, dtype=np.uint64)


_H = TypeVar("_H", np.ndarray, np.uint64)


def _fmix64(h: _H) -> _H:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array: every input bit moves every output bit.
    Compiled, the same code finalises one value (``_fmix64_one``, used inside the other kernels)."""
    h ^= h >> _U64(33)
    h *= _U64(0xFF51AFD7ED558CCD)
    h ^= h >> _U64(33)
    h *= _U64(0xC4CEB9FE1A85EC53)
    h ^= h >> _U64(33)
    return h


# How each byte of a folded text's UTF-8 takes part in words: 1 a letter or digit (or a byte of a
# non-ASCII character: the ones that are not letters or digits are blanked before), 2 an apostrophe
# (part of a word only between two word bytes), 0 anything else.
_BYTE_CLASS = np.array(
    [1 if chr(c).isalnum() else 2 if c == 39 else 0 for c in range(128)] + [1] * 128, dtype=np.uint8
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_FNV_OFFSET = _U64(0xCBF29CE484222325)
_FNV_PRIME = _U64(0x100000001B3)


# (numba's typing of a generic function's dispatcher is Never; the cast says what it takes here)
_fmix64_one = cast(Callable[[np.uint64], np.uint64], njit(cache=True, nogil=True)(_fmix64))


@njit(cache=True, nogil=True)
def _span_hash(buf: np.ndarray, start: int, end: int) -> np.uint64:  # pragma: no cover - compiled
    """The hash of the word ``buf[start:end]``: FNV-1a of its bytes, its length mixed in, finalised."""
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ _U64(buf[i])) * _FNV_PRIME
    return _fmix64_one(h ^ _U64(end - start))


@njit(cache=True, nogil=True)
def _span_hashes(buf: np.ndarray, ends: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The hash of each word of ``buf``, words laid end to end, the i-th ending at ``ends[i]``."""
    out = np.empty(len(ends), dtype=np.uint64)
    start = 0
    for i in range(len(ends)):
        out[i] = _span_hash(buf, start, ends[i])
        start = ends[i]
    return out


@njit(cache=True, nogil=True)
def _text_word_hashes(buf: np.ndarray, byte_class: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The hash of each word of ``buf`` (compiled): maximal runs of word bytes, an apostrophe counting
    as one only between two bytes of class 1."""
    n = len(buf)
    out = np.empty(n // 2 + 1, dtype=np.uint64)
    k = 0
    i = 0
    while i < n:
        start = i
        while i < n:
            c = byte_class[buf[i]]
            if c == 1 or (c == 2 and i > start and i + 1 < n and byte_class[buf[i + 1]] == 1):
                i += 1
            else:
                break
        if i > start:  # a word (it never ends in an apostrophe: one needs a word byte after it)
            out[k] = _span_hash(buf, start, i)
            k += 1
        else:
            i += 1
    return out[:k]


@njit(cache=True, nogil=True)
def _shingle_hashes(w: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - compiled (numba)
    n = len(w)
    width = min(k, n)
    out = np.empty(n - width + 1, dtype=np.uint64)
    for i in range(n - width + 1):
        h = w[i]
        for j in range(1, width):
            h = h * _MIX + w[i + j]
        out[i] = _fmix64_one(h + _U64(width))
    return out


@njit(cache=True, nogil=True)
def _sign(hashes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The affine32 MinHash of 64-bit hashes (compiled): the top 32 bits of each, pre-mixed by
    MurmurHash3's 32-bit finaliser, through every permutation ``a * h + b mod 2**32``."""
    top = np.empty(len(hashes), dtype=np.uint32)
    for j in range(len(hashes)):
        t = np.uint32(hashes[j] >> _U64(32))
        t = np.uint32(t ^ (t >> np.uint32(16)))
        t = np.uint32(t * np.uint32(0x85EBCA6B))
        t = np.uint32(t ^ (t >> np.uint32(13)))
        t = np.uint32(t * np.uint32(0xC2B2AE35))
        top[j] = np.uint32(t ^ (t >> np.uint32(16)))
    out = np.full(len(a), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    for j in range(len(top)):
        t = top[j]
        for p in range(len(a)):  # vectorised by the compiler
            out[p] = min(out[p], np.uint32(a[p] * t + b[p]))
    return out


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """The 64-bit hash of each word (of its UTF-8 bytes), as a uint64 array."""
    encoded = [w.encode("utf-8") for w in words]
    ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
    return _span_hashes(np.frombuffer(b"".join(encoded), dtype=np.uint8), ends)


def text_word_hashes(text: str) -> np.ndarray:
    """``word_hashes`` of the words of a normalised text, as ``dedup.segment`` tokenises them, cut
    out of its UTF-8 bytes in compiled code: no regex over the words and no string per word.

    A word is a run of letters and digits (``str.isalnum``), with apostrophes inside. Non-ASCII
    characters that are not letters or digits (dashes, quotes, symbols) become spaces first; the
    remaining non-ASCII bytes are then word bytes, and the ASCII ones are classified by a table."""
    if text.isascii():
        buf = text.encode("ascii")
    else:
        for ch in set(_NON_ASCII.findall(text)):
            if not ch.isalnum():
                text = text.replace(ch, " ")
        buf = text.encode("utf-8")
    return _text_word_hashes(np.frombuffer(buf, dtype=np.uint8), _BYTE_CLASS)


def shingle_hashes(words: Sequence[str] | np.ndarray, k: int) -> np.ndarray:
    """64-bit hashes of the ``k``-word shingles of ``words`` (words or their ``word_hashes``), in order,
    repeats kept. Fewer than ``k`` words make one shingle of all of them."""
    w = words if isinstance(words, np.ndarray) else word_hashes(words)
    if len(w) == 0:
        return _EMPTY.copy()
    return _shingle_hashes(np.ascontiguousarray(w, dtype=np.uint64), k)


def shingles(words: Sequence[str], k: int) -> set[int]:
    """The set of hashed ``k``-word shingles of ``words`` (one shingle of all words if fewer than ``k``)."""
    return set(shingle_hashes(words, k).tolist())


def exact_jaccard(a: set[int] | np.ndarray, b: set[int] | np.ndarray) -> float:
    """Jaccard similarity of two shingle sets (0.0 when both are empty): Python sets, or sorted arrays
    of distinct hashes (``shingle_set``)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = _sorted_array(a), _sorted_array(b)
        if not len(x) and not len(y):
            return 0.0
        common = len(np.intersect1d(x, y, assume_unique=True))
        return common / (len(x) + len(y) - common)
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def _sorted_array(shingle_set: set[int] | np.ndarray) -> np.ndarray:
    if isinstance(shingle_set, np.ndarray):
        return shingle_set
    return np.fromiter(sorted(shingle_set), dtype=np.uint64, count=len(shingle_set))


def shingle_set(words: Sequence[str] | np.ndarray, k: int) -> np.ndarray:
    """The hashed ``k``-word shingles of ``words`` as a sorted uint64 array without repeats: the same
    set as ``shingles``, in an eighth of the memory of a Python set."""
    return np.unique(shingle_hashes(words, k))


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity estimated from two signatures: the share of positions where they agree."""
    return float(np.count_nonzero(a == b)) / len(a)


class MinHasher:
    """``num_perm`` seeded permutations; signs hashed shingle sets with them."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        if num_perm < 1:
            raise ConfigError(f"num_perm must be at least 1, got {num_perm}")
        rng = np.random.RandomState(seed)
        self.num_perm = num_perm
        self.seed = seed
        # datasketch's "affine32" permutations, drawn the same way: our signatures equal its MinHash's.
        self._a = rng.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.randint(0, 1 << 32, num_perm, dtype=np.uint32)

    def empty(self) -> np.ndarray:
        """The signature of an empty set: all positions at their maximum."""
        return np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)

    def sign(self, hashes: np.ndarray | Iterable[int]) -> np.ndarray:
        """The signature (uint32, one value per permutation) of a set of 64-bit shingle hashes."""
        h = hashes if isinstance(hashes, np.ndarray) else np.fromiter(hashes, dtype=np.uint64)
        return _sign(np.ascontiguousarray(h, dtype=np.uint64), self._a, self._b)

    def sign_many(self, sets: Iterable[np.ndarray | Iterable[int]]) -> np.ndarray:
        """Signatures of many sets, one row each (shape ``(n, num_perm)``)."""
        rows = [self.sign(s) for s in sets]
        if not rows:
            return np.zeros((0, self.num_perm), dtype=np.uint32)
        return np.vstack(rows)


@lru_cache(maxsize=16)
def _hasher(num_perm: int, seed: int) -> MinHasher:
    return MinHasher(num_perm, seed)


def signatures(
    shingle_sets: Iterable[np.ndarray | Iterable[int]], num_perm: int = 128, seed: int = 1
) -> np.ndarray:
    """MinHash signatures of hashed shingle sets, all with the same permutations: one uint32 row each."""
    return _hasher(num_perm, seed).sign_many(shingle_sets)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) for a Jaccard threshold: datasketch's choice, weighing false positives
    and false negatives equally."""
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"LSH threshold must be between 0 and 1, got {threshold}")
    if num_perm < 1:
        raise ConfigError(f"num_perm must be at least 1, got {num_perm}")
    # Every (bands, rows) with bands * rows <= num_perm, in datasketch's order (bands, then rows, rising):
    # the first with the least error wins, as there.
    choices = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    pairs = np.array(choices, dtype=float)
    b, r = pairs[:, :1], pairs[:, 1:]
    # The probability that a pair at Jaccard s shares a band, 1 - (1 - s^r)^b, is a polynomial in s of
    # degree b * r <= num_perm, so Gauss-Legendre with num_perm // 2 + 1 nodes integrates it exactly:
    # the false positive area below the threshold and the false negative area above it.
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below = threshold * (nodes + 1) / 2
    above = threshold + (1 - threshold) * (nodes + 1) / 2
    fp = (1 - (1 - below**r) ** b) @ weights * (threshold / 2)
    fn = ((1 - above**r) ** b) @ weights * ((1 - threshold) / 2)
    best = int(np.argmin(0.5 * fp + 0.5 * fn))
    return int(pairs[best, 0]), int(pairs[best, 1])


class LshIndex(Protocol):
    """What dedup needs of an LSH index: integer keys with their signatures; insert, query, remove."""

    def insert(self, key: int, signature: np.ndarray) -> None: ...

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None: ...

    def query(self, signature: np.ndarray) -> list[int]: ...

    def query_many(self, signatures: np.ndarray, limit: int | None = None) -> list[list[int]]: ...

    def query_pairs(
        self, signatures: np.ndarray, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def remove(self, key: int, signature: np.ndarray) -> None: ...

    def remove_many(self, keys: Sequence[int], signatures: np.ndarray) -> None: ...

    def __len__(self) -> int: ...


class BandedLsh:
    """Banded LSH in sorted numpy arrays: the embedded default, compact and fast.

    For each key and band, one 64-bit hash of the band's rows (mixed with the band number) goes into
    a sorted array, beside the key. A query looks its bands up in each array's bucket directory
    (``_Run``). Inserts go to a dict first; when it holds ``buffer_limit`` entries (or a bulk insert
    of ``_RUN_MIN`` entries arrives) they become a new sorted run. Runs are merged as in a
    log-structured merge tree: a run is folded into the one before it while that one is less than
    ``_FANOUT`` times its size, so loading N keys copies each entry O(log N) times rather than O(N),
    and a query searches O(log N) runs. Removed keys are filtered out of answers and dropped when
    enough of them pile up. Thread-safe.
    """

    _FANOUT = 4

    _RUN_MIN = 256
    """Entries from which a bulk insert becomes a sorted run of its own rather than going to the dict:
    sorting and merging a few hundred entries in numpy costs less than as many dict appends in Python,
    and the merge rule keeps the runs O(log N) however small they start."""

    def __init__(self, threshold: float, num_perm: int, buffer_limit: int = 1 << 17) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        rng = np.random.RandomState(self.bands * 1000 + self.rows)
        self._row_mult = rng.randint(1, 1 << 62, size=self.rows, dtype=np.uint64) * 2 + 1
        self._band_salt = rng.randint(1, 1 << 62, size=self.bands, dtype=np.uint64)
        self.buffer_limit = buffer_limit
        self._runs: list[_Run] = []  # largest first
        self._buffer: dict[int, list[int]] = {}
        self._buffered = 0
        self._dead: set[int] = set()
        self._count = 0
        self._lock = threading.RLock()

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """The band hashes of one signature (shape ``(bands,)``) or of many (``(n, bands)``)."""
        sig = np.atleast_2d(signatures)
        if sig.shape[1] != self.num_perm:
            raise ConfigError(f"signature has {sig.shape[1]} permutations; this index takes {self.num_perm}")
        used = sig[:, : self.bands * self.rows].astype(np.uint64).reshape(len(sig), self.bands, self.rows)
        with np.errstate(over="ignore"):
            h = (used * self._row_mult).sum(axis=2, dtype=np.uint64) + self._band_salt
        h = _fmix64(h)
        return h[0] if signatures.ndim == 1 else h

    def __len__(self) -> int:
        return self._count

    # -- saving -------------------------------------------------------------------------------------

    def export(self) -> dict[str, np.ndarray]:
        """The index as plain arrays, for saving without pickle (``restore`` reads them back)."""
        with self._lock:
            bk, bi = self._buffer_arrays()
            out = {
                "params": np.array(
                    [self.bands, self.rows, self.num_perm, self._count, len(self._runs)], dtype=np.int64
                ),
                "buffer_hashes": bk,
                "buffer_keys": bi,
                "dead": np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)),
            }
            for n, run in enumerate(self._runs):
                out[f"hashes{n}"], out[f"keys{n}"] = run.hashes, run.keys
            return out

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Take the state ``export`` gave (of an index with the same threshold and permutations).
        ``ValueError`` when the arrays are not such a state; the index is then left as it was."""
        params = arrays["params"]
        if params.dtype != np.int64 or params.shape != (5,):
            raise ValueError("LSH parameters are not five integers")
        bands, rows, num_perm, count, n_runs = params.tolist()
        if (bands, rows, num_perm) != (self.bands, self.rows, self.num_perm):
            raise ValueError(f"LSH saved with {bands} bands of {rows} rows of {num_perm}; this one differs")
        runs = []
        for n in range(n_runs):
            hashes, keys = arrays[f"hashes{n}"], arrays[f"keys{n}"]
            _check_column(hashes, np.uint64, f"run {n} hashes")
            _check_column(keys, np.int64, f"run {n} keys", len(hashes))
            if len(hashes) > 1 and not bool(np.all(hashes[1:] >= hashes[:-1])):
                raise ValueError(f"run {n} is not sorted")
            runs.append(_run(hashes, keys))
        bk, bi, dead = arrays["buffer_hashes"], arrays["buffer_keys"], arrays["dead"]
        _check_column(bk, np.uint64, "buffer hashes")
        _check_column(bi, np.int64, "buffer keys", len(bk))
        _check_column(dead, np.int64, "removed keys")
        total = len(bi) + sum(len(run.keys) for run in runs)
        if not 0 <= count <= total // max(self.bands, 1):
            raise ValueError(f"{count} keys cannot be held in {total} entries")
        buffer: dict[int, list[int]] = {}
        for h, key in zip(bk.tolist(), bi.tolist(), strict=True):
            buffer.setdefault(h, []).append(key)
        with self._lock:
            self._runs, self._buffer, self._buffered = runs, buffer, len(bk)
            self._dead, self._count = set(dead.tolist()), count

    # -- writing ------------------------------------------------------------------------------------

    def insert(self, key: int, signature: np.ndarray) -> None:
        with self._lock:
            if key in self._dead:  # a key used again after removal: drop its old entries first
                self._compact()
            for h in self.band_keys(signature).tolist():
                self._buffer.setdefault(h, []).append(key)
            self._buffered += self.bands
            self._count += 1
            if self._buffered >= self.buffer_limit:
                self._flush()

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        """Insert many keys at once: one sort and one new run (how indexes are bulk-loaded). A handful
        of keys goes to the buffer instead, so that runs stay large and few."""
        if len(keys) == 0:
            return
        with self._lock:
            if self._dead.intersection(keys):
                self._compact()
            h = self.band_keys(np.asarray(signatures))
            self._count += len(keys)
            small = h.size < min(self._RUN_MIN, self.buffer_limit // 32)
            if small and self._buffered + h.size < self.buffer_limit:  # a few keys: the buffer takes them
                for key, row in zip(keys, h.tolist(), strict=True):
                    for band_key in row:
                        self._buffer.setdefault(band_key, []).append(key)
                self._buffered += h.size
                return
            self._flush(h.ravel(), np.repeat(np.asarray(keys, dtype=np.int64), self.bands))

    def _buffer_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        n = self._buffered
        bk = np.fromiter((h for h, ids in self._buffer.items() for _ in ids), dtype=np.uint64, count=n)
        bi = np.fromiter((i for ids in self._buffer.values() for i in ids), dtype=np.int64, count=n)
        return bk, bi

    def _flush(self, extra_keys: np.ndarray | None = None, extra_ids: np.ndarray | None = None) -> None:
        """Turn the buffer (and ``extra`` entries) into a new sorted run, then merge runs as needed."""
        parts_k, parts_i = [], []
        if self._buffer:
            bk, bi = self._buffer_arrays()
            parts_k.append(bk)
            parts_i.append(bi)
            self._buffer = {}
            self._buffered = 0
        if extra_keys is not None and extra_ids is not None:
            parts_k.append(extra_keys)
            parts_i.append(extra_ids)
        if not parts_k:
            return
        new_k, new_i = np.concatenate(parts_k), np.concatenate(parts_i)
        order = np.argsort(new_k, kind="stable")
        runs = self._runs
        runs.append(_run(new_k[order], new_i[order]))
        while len(runs) > 1 and len(runs[-2].keys) < self._FANOUT * len(runs[-1].keys):
            later, earlier = runs.pop(), runs.pop()
            runs.append(_run(*_merge_sorted(earlier.hashes, earlier.keys, later.hashes, later.keys)))
        if self._compact_due():
            self._compact()

    def _compact_due(self) -> bool:
        """Whether the removed keys' entries are worth dropping now: when they are a quarter of what the
        runs hold (and at least a buffer's worth), so that a removal costs O(1) copies on average and
        the runs never hold more than a third more than the live entries. (Queries filter removed keys
        hit by hit, so their cost does not grow with how many there are.)"""
        dead = len(self._dead) * self.bands
        return dead >= self.buffer_limit and dead * 4 >= sum(len(run.keys) for run in self._runs)

    def _compact(self) -> None:
        """Everything into one run, without the removed keys."""
        self._flush()
        if not self._runs:
            self._dead.clear()
            return
        keys = np.concatenate([run.hashes for run in self._runs])
        ids = np.concatenate([run.keys for run in self._runs])
        if self._dead:
            keep = ~np.isin(ids, np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))
            keys, ids = keys[keep], ids[keep]
            self._dead.clear()
        order = np.argsort(keys, kind="stable")
        self._runs = [_run(keys[order], ids[order])] if len(keys) else []

    # -- reading ------------------------------------------------------------------------------------

    def query_pairs(self, signatures: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every (row of ``signatures``, key) sharing at least one band, as two int64 arrays sorted by
        row then key, each pair once: the batch form of ``query``. ``limit``: the most (row, band, key)
        entries gathered, rows first: the bands that would take more are left out (a text of a thousand
        near-identical lines against another finds millions)."""
        hs = self.band_keys(np.atleast_2d(signatures))
        flat = hs.ravel()
        parts_r: list[np.ndarray] = []
        parts_k: list[np.ndarray] = []
        with self._lock:
            in_runs = [(run.keys, *_ranges(run.hashes, run.starts, run.shift, flat)) for run in self._runs]
            buffered = list(map(self._buffer.get, flat.tolist())) if self._buffer else []
            usable = len(flat)
            if limit is not None:
                total = sum((hi - lo for _, lo, hi in in_runs), np.zeros(len(flat), dtype=np.int64))
                if buffered:
                    total += np.fromiter((len(x) if x else 0 for x in buffered), np.int64, count=len(flat))
                usable = int(np.searchsorted(np.cumsum(total), limit, side="right"))
            for ids, lo, hi in in_runs:
                counts = hi[:usable] - lo[:usable]
                hit = np.flatnonzero(counts)
                if not hit.size:
                    continue
                c = counts[hit]
                parts_r.append(np.repeat(hit // self.bands, c))
                parts_k.append(ids[expand_ranges(lo[hit], c)])
            if buffered:
                hits = [(j, ids) for j, ids in enumerate(buffered[:usable]) if ids]
                if hits:
                    lengths = [len(ids) for _, ids in hits]
                    at = np.fromiter((j for j, _ in hits), dtype=np.int64, count=len(hits))
                    parts_r.append(np.repeat(at // self.bands, lengths))
                    found = itertools.chain.from_iterable(ids for _, ids in hits)
                    parts_k.append(np.fromiter(found, dtype=np.int64, count=sum(lengths)))
            if not parts_r:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            rows, keys = np.concatenate(parts_r), np.concatenate(parts_k)
            if self._dead:  # looked up hit by hit: the cost is the hits', not the removed keys'
                dead = self._dead
                alive = np.fromiter((k not in dead for k in keys.tolist()), dtype=bool, count=len(keys))
                rows, keys = rows[alive], keys[alive]
        order = np.lexsort((keys, rows))
        rows, keys = rows[order], keys[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
        return rows[first], keys[first]

    def query(self, signature: np.ndarray) -> list[int]:
        """Keys sharing at least one band with ``signature``."""
        return self.query_pairs(np.asarray(signature)[None, :])[1].tolist()

    def query_many(self, signatures: np.ndarray, limit: int | None = None) -> list[list[int]]:
        """``query`` for each row of ``signatures``, with one lookup for all of them (``limit``: as in
        ``query_pairs``)."""
        rows, keys = self.query_pairs(signatures, limit)
        return group_rows(len(signatures), rows, keys.tolist())

    def remove(self, key: int, signature: np.ndarray) -> None:
        """Remove ``key`` (inserted with ``signature``). Removing an absent key does nothing."""
        self.remove_many([key], np.asarray(signature)[None, :])

    def remove_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        """``remove`` each key (inserted with its row of ``signatures``), looking them all up in each run
        at once."""
        if len(keys) == 0:
            return
        with self._lock:
            rows = np.atleast_2d(self.band_keys(np.asarray(signatures)))
            left: list[tuple[int, int]] = []  # (key, its first band's hash) not found in the buffer
            for key, row in zip(keys, rows.tolist(), strict=True):
                removed = False
                for h in row:
                    ids = self._buffer.get(h)
                    if ids and key in ids:
                        ids.remove(key)
                        self._buffered -= 1
                        removed = True
                        if not ids:
                            del self._buffer[h]
                if removed:
                    self._count -= 1
                elif key not in self._dead:
                    left.append((key, row[0]))
            if not left:
                return
            want = np.array([k for k, _ in left], dtype=np.int64)
            first = np.array([h for _, h in left], dtype=np.uint64)
            found = np.zeros(len(left), dtype=bool)
            for run in self._runs:
                lo, hi = _ranges(run.hashes, run.starts, run.shift, first)
                for j in np.flatnonzero((hi > lo) & ~found).tolist():
                    found[j] = bool((run.keys[lo[j] : hi[j]] == want[j]).any())
            gone = set(want[found].tolist())
            self._dead |= gone
            self._count -= len(gone)
            if self._compact_due():
                self._compact()

    def nbytes(self) -> int:
        """Bytes held by the sorted runs (the buffer is bounded by ``buffer_limit``)."""
        return int(sum(run.hashes.nbytes + run.keys.nbytes + run.starts.nbytes for run in self._runs))


class _Run(NamedTuple):
    """A sorted run of a ``BandedLsh``: band hashes in ascending order with their keys beside them, and
    where the hashes of each bucket (their top ``64 - shift`` bits) start, so that a lookup searches one
    bucket of about ``_BUCKET`` entries: a read or two of memory instead of a binary search through a
    run of millions (the hashes are mixed, so the buckets fill evenly)."""

    hashes: np.ndarray  # uint64, sorted
    keys: np.ndarray  # int64, beside them
    starts: np.ndarray  # int64: bucket b holds hashes[starts[b]:starts[b + 1]]
    shift: int


_BUCKET = 16
"""Entries a bucket of a run's directory holds on average at most (between 8 and 16, two to four cache
lines of hashes): the directory costs 8 bytes a bucket, half a byte to a byte an entry beside the
entry's 16."""


def _run(hashes: np.ndarray, keys: np.ndarray) -> _Run:
    """A run of the sorted ``hashes`` and their ``keys``, with its bucket directory."""
    bits = max(1, (len(hashes) // _BUCKET).bit_length())
    shift = 64 - bits
    firsts = np.arange(1 << bits, dtype=np.uint64) << np.uint64(shift)  # each bucket's first hash
    starts = np.empty((1 << bits) + 1, dtype=np.int64)
    starts[:-1] = np.searchsorted(hashes, firsts, side="left")
    starts[-1] = len(hashes)
    return _Run(hashes, keys, starts, shift)


def load_lookup() -> None:
    """Compile the runs' lookup (``_ranges``), or load it from numba's on-disk cache, so that the first
    query does not pay for it (``Engine.warm_up``)."""
    run = _run(np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int64))
    _ranges(run.hashes, run.starts, run.shift, run.hashes)


@njit(cache=True, nogil=True)
def _ranges(
    hashes: np.ndarray, starts: np.ndarray, shift: int, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled (numba)
    """Where each of ``wanted`` starts and ends in a run (``_Run``): a binary search in its bucket, then
    a step past each equal hash."""
    lo = np.empty(len(wanted), dtype=np.int64)
    hi = np.empty(len(wanted), dtype=np.int64)
    s = _U64(shift)
    for q in range(len(wanted)):
        h = wanted[q]
        bucket = np.int64(h >> s)
        a, z = starts[bucket], starts[bucket + 1]
        end = z
        while a < z:
            mid = (a + z) >> 1
            if hashes[mid] < h:
                a = mid + 1
            else:
                z = mid
        e = a
        while e < end and hashes[e] == h:
            e += 1
        lo[q], hi[q] = a, e
    return lo, hi


def _check_column(a: np.ndarray, dtype: type, what: str, length: int | None = None) -> None:
    """``ValueError`` unless ``a`` is a one-dimensional array of ``dtype`` (of ``length`` entries)."""
    if a.dtype != dtype or a.ndim != 1 or (length is not None and len(a) != length):
        size = f" of {length}" if length is not None else ""
        raise ValueError(f"{what}: not a column{size} of {np.dtype(dtype).name}")


def _merge_sorted(
    k1: np.ndarray, i1: np.ndarray, k2: np.ndarray, i2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one (entries of the second after equal ones of the first)."""
    pos = np.searchsorted(k1, k2, side="right")
    return np.insert(k1, pos, k2), np.insert(i1, pos, i2)


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``start, start + 1, ...`` of ranges given by their starts and lengths, one range
    after the other, as one int64 array (how a batch of lookups gathers what it found)."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return np.repeat(np.asarray(starts, dtype=np.int64) - (ends - counts), counts) + np.arange(total)


def group_rows(n: int, rows: np.ndarray, values: Sequence[_T]) -> list[list[_T]]:
    """``values`` (one per entry of ``rows``, sorted by row) as one list per row, for rows 0 to n - 1."""
    bounds = np.searchsorted(rows, np.arange(n + 1)).tolist()
    return [list(values[a:b]) for a, b in itertools.pairwise(bounds)]


class DatasketchLsh:
    """datasketch's ``MinHashLSH`` with in-process dict storage (about 8 KB a key): for comparison."""

    def __init__(self, threshold: float, num_perm: int, seed: int = 1) -> None:
        # Imported here: datasketch (and the scipy it loads) costs a third of a second at start, and
        # only this comparison backend needs it.
        from datasketch import LeanMinHash, MinHashLSH

        self._lean = LeanMinHash
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=lsh_params(threshold, num_perm))
        self._seed = seed

    def _minhash(self, signature: np.ndarray) -> Any:
        return self._lean(seed=self._seed, hashvalues=signature, scheme="affine32")

    def insert(self, key: int, signature: np.ndarray) -> None:
        self._lsh.insert(key, self._minhash(signature), check_duplication=False)

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        for key, sig in zip(keys, signatures, strict=True):
            self.insert(key, sig)

    def query(self, signature: np.ndarray) -> list[int]:
        return list(self._lsh.query(self._minhash(signature)))

    def query_many(self, signatures: np.ndarray, limit: int | None = None) -> list[list[int]]:
        rows, keys = self.query_pairs(signatures, limit)
        return group_rows(len(signatures), rows, keys.tolist())

    def query_pairs(self, signatures: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As ``BandedLsh.query_pairs``; ``limit`` counts keys found (datasketch does not say per band)."""
        found: list[list[int]] = []
        total = 0
        for sig in signatures:
            if limit is not None and total >= limit:
                found.append([])
                continue
            keys = sorted(self.query(sig))
            found.append(keys)
            total += len(keys)
        rows = np.repeat(np.arange(len(found), dtype=np.int64), [len(f) for f in found])
        return rows, np.fromiter((k for f in found for k in f), dtype=np.int64, count=len(rows))

    def remove(self, key: int, signature: np.ndarray) -> None:
        if key in self._lsh:
            self._lsh.remove(key)

    def remove_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        for key in keys:
            self.remove(key, signatures[0])  # datasketch removes by key alone

    def __len__(self) -> int:
        return len(self._lsh.keys)


def make_lsh(spec: str, threshold: float, num_perm: int) -> LshIndex:
    """An LSH index from a backend name: ``memory`` (banded numpy arrays, the default) or
    ``datasketch`` (datasketch's own ``MinHashLSH``)."""
    if spec in ("memory", "memory://", "numpy"):
        return BandedLsh(threshold, num_perm)
    if spec in ("datasketch", "datasketch://", "dict"):
        return DatasketchLsh(threshold, num_perm)
    raise ConfigError(f"unknown LSH backend {spec!r}; use 'memory' (the default) or 'datasketch'")
