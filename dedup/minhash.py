"""Word shingles, MinHash signatures and the LSH index that finds copied text.

Everything here is vectorised with numpy, because this is the tier every article goes through:

- Each word is hashed with xxh3 (a bounded cache keeps the common ones); when the normalised text
  is ASCII the words are cut out of its bytes without a regex. A ``k``-word shingle's 64-bit hash
  is a mix of its words' hashes, so no shingle string is built.
- A signature is datasketch's "affine32" MinHash, computed for a whole set as one uint32 matrix: the
  minimum over the shingles of ``num_perm`` random affine permutations ``(a * h + b) mod 2**32``
  (``a`` odd) of their 32-bit hashes. The permutations are drawn as datasketch draws them, so a
  signature equals ``datasketch.MinHash(num_perm, seed, hashfunc=...)`` fed the same 32-bit hashes.
- ``BandedLsh``, the embedded default, is banded LSH (the bands and rows that datasketch's
  ``MinHashLSH`` would pick for the threshold) stored in sorted numpy arrays: 16 bytes per band per
  key, about 0.5 KB per key at 128 permutations and a 0.2 threshold where ``MinHashLSH``'s dicts
  take about 8 KB. New keys go to a small dict and are merged into the arrays in bulk.
- ``DatasketchLsh`` is datasketch's ``MinHashLSH`` itself, kept as a backend to compare against.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHashLSH
from datasketch.lsh import _optimal_param

from dedup.errors import ConfigError

__all__ = [
    "BandedLsh",
    "DatasketchLsh",
    "LshIndex",
    "MinHasher",
    "estimate_jaccard",
    "exact_jaccard",
    "lsh_params",
    "make_lsh",
    "shingle_hashes",
    "shingles",
    "signatures",
    "text_word_hashes",
    "word_hashes",
]

_U64 = np.uint64
_MIX = _U64(0x9E3779B97F4A7C15)
_EMPTY = np.zeros(0, dtype=np.uint64)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array: every input bit moves every output bit."""
    h ^= h >> _U64(33)
    h *= _U64(0xFF51AFD7ED558CCD)
    h ^= h >> _U64(33)
    h *= _U64(0xC4CEB9FE1A85EC53)
    h ^= h >> _U64(33)
    return h


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch's pre-mix before its affine32 permutations)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


class _WordHashCache(dict[bytes, int]):
    """UTF-8 word -> xxh3-64; keeps at most ``limit`` words (the first seen: news vocabulary is Zipfian,
    so they are the common ones)."""

    limit = 1 << 18

    def __missing__(self, word: bytes) -> int:
        h = xxhash.xxh3_64_intdigest(word)
        if len(self) < self.limit:
            self[word] = h
        return h


_WORD_HASHES = _WordHashCache()
# ASCII bytes that are not part of a word become spaces (apostrophes are decided per word).
_ASCII_SPACES = bytes(c if chr(c).isalnum() or c == 39 else 32 for c in range(128)) + bytes(range(128, 256))
# Words as dedup.segment tokenises them: letters and digits, with apostrophes inside ("don't").
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """The 64-bit hash of each word (xxh3 of its UTF-8 bytes), as a uint64 array."""
    encoded = map(str.encode, words)
    return np.fromiter(map(_WORD_HASHES.__getitem__, encoded), dtype=np.uint64, count=len(words))


def text_word_hashes(text: str) -> np.ndarray:
    """``word_hashes`` of the words of a normalised text, as ``dedup.segment`` tokenises them; fast
    for ASCII text (most news is, once normalised): no regex and no string per word."""
    if not text.isascii():
        return word_hashes(_WORD.findall(text))
    buf = text.encode("ascii").translate(_ASCII_SPACES)
    if b"'" in buf:  # an apostrophe belongs to a word only between two letters or digits
        buf = b" " + buf + b" "
        while b" '" in buf or b"' " in buf or b"''" in buf:
            buf = buf.replace(b"''", b"  ").replace(b" '", b"  ").replace(b"' ", b"  ")
    words = buf.split()
    return np.fromiter(map(_WORD_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))


def shingle_hashes(words: Sequence[str] | np.ndarray, k: int) -> np.ndarray:
    """64-bit hashes of the ``k``-word shingles of ``words`` (words or their ``word_hashes``), in order,
    repeats kept. Fewer than ``k`` words make one shingle of all of them."""
    w = words if isinstance(words, np.ndarray) else word_hashes(words)
    n = len(w)
    if n == 0:
        return _EMPTY.copy()
    width = min(k, n)
    m = n - width + 1
    with np.errstate(over="ignore"):
        h = w[:m].copy()
        for j in range(1, width):
            h *= _MIX
            h += w[j : j + m]
        h += _U64(width)
    return _fmix64(h)


def shingles(words: Sequence[str], k: int) -> set[int]:
    """The set of hashed ``k``-word shingles of ``words`` (one shingle of all words if fewer than ``k``)."""
    return set(shingle_hashes(words, k).tolist())


def exact_jaccard(a: set[int], b: set[int]) -> float:
    """Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity estimated from two signatures: the share of positions where they agree."""
    return float(np.count_nonzero(a == b)) / len(a)


class MinHasher:
    """``num_perm`` seeded permutations; signs hashed shingle sets with them."""

    _CHUNK = 4096  # shingles per block: bounds the temporary matrix at 2 MB for 128 permutations

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
        if len(h) == 0:
            return self.empty()
        top = _fmix32((h >> _U64(32)).astype(np.uint32))
        out = None
        for lo in range(0, len(top), self._CHUNK):
            block = np.multiply.outer(top[lo : lo + self._CHUNK], self._a)
            block += self._b
            m = block.min(axis=0)
            out = m if out is None else np.minimum(out, m)
        assert out is not None
        return out

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
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


class LshIndex(Protocol):
    """What dedup needs of an LSH index: integer keys with their signatures; insert, query, remove."""

    def insert(self, key: int, signature: np.ndarray) -> None: ...

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None: ...

    def query(self, signature: np.ndarray) -> list[int]: ...

    def query_many(self, signatures: np.ndarray) -> list[list[int]]: ...

    def remove(self, key: int, signature: np.ndarray) -> None: ...

    def __len__(self) -> int: ...


class BandedLsh:
    """Banded LSH in sorted numpy arrays: the embedded default, compact and fast.

    For each key and band, one 64-bit hash of the band's rows (mixed with the band number) goes into
    one sorted array, beside the key. A query looks its bands up with ``searchsorted``. Inserts go
    to a dict first and are merged into the arrays when it holds ``buffer_limit`` entries; removed
    keys are filtered out of answers and dropped at the next merge. Thread-safe.
    """

    def __init__(self, threshold: float, num_perm: int, buffer_limit: int = 1 << 17) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        rng = np.random.RandomState(self.bands * 1000 + self.rows)
        self._row_mult = rng.randint(1, 1 << 62, size=self.rows, dtype=np.uint64) * 2 + 1
        self._band_salt = rng.randint(1, 1 << 62, size=self.bands, dtype=np.uint64)
        self.buffer_limit = buffer_limit
        self._keys = np.zeros(0, dtype=np.uint64)
        self._ids = np.zeros(0, dtype=np.int64)
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

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def insert(self, key: int, signature: np.ndarray) -> None:
        with self._lock:
            if key in self._dead:  # a key used again after removal: drop its old entries first
                self._merge()
            for h in self.band_keys(signature).tolist():
                self._buffer.setdefault(h, []).append(key)
            self._buffered += self.bands
            self._count += 1
            if self._buffered >= self.buffer_limit:
                self._merge()

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        """Insert many keys at once: one sort and one merge (how indexes are bulk-loaded)."""
        if len(keys) == 0:
            return
        with self._lock:
            if self._dead.intersection(keys):
                self._merge()
            h = self.band_keys(np.asarray(signatures))
            self._count += len(keys)
            if self._buffered + h.size < self.buffer_limit:  # a few keys: the buffer takes them
                for key, row in zip(keys, h.tolist(), strict=True):
                    for band_key in row:
                        self._buffer.setdefault(band_key, []).append(key)
                self._buffered += h.size
                return
            self._merge(h.ravel(), np.repeat(np.asarray(keys, dtype=np.int64), self.bands))

    def _merge(self, extra_keys: np.ndarray | None = None, extra_ids: np.ndarray | None = None) -> None:
        """Fold the buffer (and ``extra`` entries) into the sorted arrays; drop removed keys."""
        parts_k, parts_i = [], []
        if self._buffer:
            bk = np.fromiter(
                (h for h, ids in self._buffer.items() for _ in ids), dtype=np.uint64, count=self._buffered
            )
            bi = np.fromiter(
                (i for ids in self._buffer.values() for i in ids), dtype=np.int64, count=self._buffered
            )
            parts_k.append(bk)
            parts_i.append(bi)
        if extra_keys is not None and extra_ids is not None:
            parts_k.append(extra_keys)
            parts_i.append(extra_ids)
        keys, ids = self._keys, self._ids
        if self._dead:
            keep = ~np.isin(ids, np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))
            keys, ids = keys[keep], ids[keep]
            self._dead.clear()
        if parts_k:
            new_k = np.concatenate(parts_k)
            new_i = np.concatenate(parts_i)
            order = np.argsort(new_k, kind="stable")
            new_k, new_i = new_k[order], new_i[order]
            pos = np.searchsorted(keys, new_k, side="right")
            keys = np.insert(keys, pos, new_k)
            ids = np.insert(ids, pos, new_i)
        self._keys, self._ids = keys, ids
        self._buffer = {}
        self._buffered = 0

    def query(self, signature: np.ndarray) -> list[int]:
        """Keys sharing at least one band with ``signature``."""
        hs = self.band_keys(signature)
        with self._lock:
            found: set[int] = set()
            if len(self._keys):
                lo = np.searchsorted(self._keys, hs, side="left")
                hi = np.searchsorted(self._keys, hs, side="right")
                for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                    if b > a:
                        found.update(self._ids[a:b].tolist())
                if self._dead:
                    found -= self._dead
            if self._buffer:
                for h in hs.tolist():
                    ids = self._buffer.get(h)
                    if ids:
                        found.update(ids)
            return list(found)

    def query_many(self, signatures: np.ndarray) -> list[list[int]]:
        """``query`` for each row of ``signatures``, with one lookup for all of them."""
        if len(signatures) == 0:
            return []
        hs = self.band_keys(np.atleast_2d(signatures))
        with self._lock:
            out: list[set[int]] = [set() for _ in range(len(hs))]
            if len(self._keys):
                flat = hs.ravel()
                lo = np.searchsorted(self._keys, flat, side="left")
                hi = np.searchsorted(self._keys, flat, side="right")
                for j in np.flatnonzero(hi > lo).tolist():
                    out[j // self.bands].update(self._ids[lo[j] : hi[j]].tolist())
            if self._buffer:
                for row, keys in enumerate(hs.tolist()):
                    for h in keys:
                        ids = self._buffer.get(h)
                        if ids:
                            out[row].update(ids)
            if self._dead:
                for found in out:
                    found -= self._dead
            return [list(found) for found in out]

    def remove(self, key: int, signature: np.ndarray) -> None:
        """Remove ``key`` (inserted with ``signature``). Removing an absent key does nothing."""
        with self._lock:
            hs = self.band_keys(signature).tolist()
            removed = False
            for h in hs:
                ids = self._buffer.get(h)
                if ids and key in ids:
                    ids.remove(key)
                    self._buffered -= 1
                    removed = True
                    if not ids:
                        del self._buffer[h]
            if removed:
                self._count -= 1
                return
            if key in self._dead or not len(self._keys):
                return
            lo = np.searchsorted(self._keys, hs[0], side="left")
            hi = np.searchsorted(self._keys, hs[0], side="right")
            if key in self._ids[lo:hi].tolist():
                self._dead.add(key)
                self._count -= 1
                if len(self._dead) * self.bands >= self.buffer_limit:
                    self._merge()

    def nbytes(self) -> int:
        """Bytes held by the sorted arrays (the buffer is bounded by ``buffer_limit``)."""
        return int(self._keys.nbytes + self._ids.nbytes)


class DatasketchLsh:
    """datasketch's ``MinHashLSH`` with in-process dict storage (about 8 KB a key): for comparison."""

    def __init__(self, threshold: float, num_perm: int, seed: int = 1) -> None:
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=lsh_params(threshold, num_perm))
        self._seed = seed

    def _minhash(self, signature: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self._seed, hashvalues=signature, scheme="affine32")

    def insert(self, key: int, signature: np.ndarray) -> None:
        self._lsh.insert(key, self._minhash(signature), check_duplication=False)

    def insert_many(self, keys: Sequence[int], signatures: np.ndarray) -> None:
        for key, sig in zip(keys, signatures, strict=True):
            self.insert(key, sig)

    def query(self, signature: np.ndarray) -> list[int]:
        return list(self._lsh.query(self._minhash(signature)))

    def query_many(self, signatures: np.ndarray) -> list[list[int]]:
        return [self.query(sig) for sig in signatures]

    def remove(self, key: int, signature: np.ndarray) -> None:
        if key in self._lsh:
            self._lsh.remove(key)

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
