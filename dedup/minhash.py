"""Word shingles, MinHash signatures and the LSH index that finds copied text.

Shingles are hashed once with xxhash to 32-bit integers, and the signatures
are computed with datasketch's ``MinHash.bulk`` over those integers, which is
several times faster than letting datasketch hash strings with SHA-1.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Protocol

import xxhash
from datasketch import MinHash, MinHashLSH

from dedup.errors import ConfigError

__all__ = ["LshIndex", "MemoryLsh", "exact_jaccard", "make_lsh", "shingles", "signatures"]


def shingles(words: Sequence[str], k: int) -> set[int]:
    """The set of hashed ``k``-word shingles of ``words`` (one shingle of all words if fewer than ``k``)."""
    if not words:
        return set()
    if len(words) <= k:
        return {xxhash.xxh32_intdigest(" ".join(words).encode())}
    return {xxhash.xxh32_intdigest(" ".join(words[i : i + k]).encode()) for i in range(len(words) - k + 1)}


def exact_jaccard(a: set[int], b: set[int]) -> float:
    """Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def _identity(x: int) -> int:
    return x


def signatures(shingle_sets: Iterable[Iterable[int]], num_perm: int = 128, seed: int = 1) -> list[MinHash]:
    """MinHash signatures of hashed shingle sets, all with the same permutations."""
    return MinHash.bulk([list(s) for s in shingle_sets], num_perm=num_perm, seed=seed, hashfunc=_identity)


class LshIndex(Protocol):
    """What dedup needs of an LSH index: insert, query, remove by key."""

    def insert(self, key: Hashable, minhash: MinHash) -> None: ...

    def query(self, minhash: MinHash) -> list[Hashable]: ...

    def remove(self, key: Hashable) -> None: ...

    def __contains__(self, key: Hashable) -> bool: ...


class MemoryLsh:
    """datasketch's ``MinHashLSH`` with in-process dict storage: the embedded default."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)

    def insert(self, key: Hashable, minhash: MinHash) -> None:
        self._lsh.insert(key, minhash, check_duplication=False)

    def query(self, minhash: MinHash) -> list[Hashable]:
        return list(self._lsh.query(minhash))

    def remove(self, key: Hashable) -> None:
        if key in self._lsh:
            self._lsh.remove(key)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._lsh


def make_lsh(spec: str, threshold: float, num_perm: int) -> LshIndex:
    """An LSH index from a backend name: ``memory`` is the only one built in."""
    if spec in ("memory", "memory://", "dict"):
        return MemoryLsh(threshold, num_perm)
    raise ConfigError(f"unknown LSH backend {spec!r}; use 'memory'")
