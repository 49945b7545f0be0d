"""Vector indexes for nearest-neighbour search by cosine (inner product of normalised vectors)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from dedup.errors import ConfigError

__all__ = ["ExactIndex", "FaissIndex", "VectorIndex", "make_vector_index"]


class VectorIndex(Protocol):
    """Add vectors under integer ids, search the ``k`` most similar, remove by id."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each of shape (len(queries), k); missing neighbours have id -1."""
        ...

    def remove(self, ids: np.ndarray) -> None: ...

    def __len__(self) -> int: ...


class ExactIndex:
    """Brute-force search in NumPy: the reference the FAISS indexes are tested against."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._vectors = np.vstack([self._vectors, np.asarray(vectors, dtype=np.float32)])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        ids = np.full((n, k), -1, dtype=np.int64)
        if len(self._ids) == 0 or n == 0:
            return scores, ids
        sims = np.asarray(queries, dtype=np.float32) @ self._vectors.T
        kk = min(k, sims.shape[1])
        order = np.argsort(-sims, axis=1, kind="stable")[:, :kk]
        scores[:, :kk] = np.take_along_axis(sims, order, axis=1)
        ids[:, :kk] = self._ids[order]
        return scores, ids

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]

    def __len__(self) -> int:
        return len(self._ids)


class FaissIndex:
    """A FAISS index: exact ``flat`` (IndexFlatIP) or approximate ``hnsw`` (IndexHNSWFlat, M links).

    HNSW cannot delete, so removed ids are filtered out of results and the
    search asks for more neighbours to make up for them.
    """

    def __init__(self, dim: int, kind: str = "flat", m: int = 32, ef_search: int = 64) -> None:
        import faiss

        self.dim = dim
        self.kind = kind
        if kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efSearch = ef_search
            self._index = faiss.IndexIDMap2(hnsw)
        else:
            raise ConfigError(f"unknown FAISS index kind {kind!r}; use 'flat' or 'hnsw'")
        self._removed: set[int] = set()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            self._removed.difference_update(ids.tolist())
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        extra = len(self._removed) if self._removed else 0
        scores, ids = self._index.search(q, k + extra) if len(q) else (np.zeros((0, k)), np.zeros((0, k)))
        if extra:
            out_s = np.full((len(q), k), -np.inf, dtype=np.float32)
            out_i = np.full((len(q), k), -1, dtype=np.int64)
            for row in range(len(q)):
                keep = [c for c in range(ids.shape[1]) if ids[row, c] >= 0 and int(ids[row, c]) not in self._removed]
                keep = keep[:k]
                out_s[row, : len(keep)] = scores[row, keep]
                out_i[row, : len(keep)] = ids[row, keep]
            return out_s, out_i
        return scores.astype(np.float32), ids.astype(np.int64)

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if self.kind == "flat":
            import faiss

            self._index.remove_ids(faiss.IDSelectorArray(ids))
        else:
            self._removed.update(ids.tolist())

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._removed)


def make_vector_index(spec: str, dim: int) -> VectorIndex:
    """A vector index from a backend name: ``faiss:flat`` (default), ``faiss:hnsw`` or ``exact``."""
    if spec == "exact":
        return ExactIndex(dim)
    if spec.startswith("faiss"):
        kind = spec.partition(":")[2] or "flat"
        return FaissIndex(dim, kind)
    raise ConfigError(f"unknown vector index {spec!r}; use 'faiss:flat', 'faiss:hnsw' or 'exact'")
