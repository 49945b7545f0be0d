"""Vector indexes for nearest-neighbour search by cosine (inner product of normalised vectors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from dedup.errors import ConfigError

__all__ = ["ExactIndex", "FaissIndex", "FlatIndex", "HnswIndex", "VectorIndex", "make_vector_index"]


class VectorIndex(Protocol):
    """Add vectors under integer ids, search the ``k`` most similar, remove by id."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids, each of shape (len(queries), k); missing neighbours have id -1."""
        ...

    def remove(self, ids: np.ndarray) -> None: ...

    def export(self) -> dict[str, np.ndarray]:
        """The index as plain arrays, for saving without pickle."""
        ...

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Take what ``export`` gave (of an index of the same kind and dimension); ``ValueError`` when the
        arrays are not that, and the index is then left as it was."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, id_: object) -> bool:
        """Whether a vector is stored under the id ``id_``."""
        ...


def _ids_and_vectors(ids: np.ndarray, vectors: np.ndarray, dim: int) -> None:
    if ids.dtype != np.int64 or ids.ndim != 1:
        raise ValueError("vector ids are not a column of int64")
    if vectors.dtype != np.float32 or vectors.shape != (len(ids), dim):
        raise ValueError(f"vectors are not {len(ids)} rows of {dim} float32")


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

    def export(self) -> dict[str, np.ndarray]:
        return {"ids": self._ids, "vectors": self._vectors}

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        ids, vectors = arrays["ids"], arrays["vectors"]
        _ids_and_vectors(ids, vectors, self.dim)
        self._ids, self._vectors = ids, vectors

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: object) -> bool:
        return isinstance(id_, int) and bool((self._ids == id_).any())


def _saved(
    arrays: Mapping[str, np.ndarray], expected: Any, dim: int, keeps_retired: bool
) -> tuple[Any, np.ndarray, np.ndarray, int, int]:
    """What a FAISS index's ``export`` gave, checked: the index (of ``expected``'s type and ``dim``), the
    ids and internal ids of its live vectors, and its counters (retired vectors, the next internal id).
    ``keeps_retired``: whether the index still holds its retired vectors (HNSW cannot delete them)."""
    import faiss

    raw, live, counters = arrays["faiss"], arrays["live"], arrays["counters"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("the FAISS index is not bytes")
    if live.dtype != np.int64 or live.ndim != 2 or live.shape[1] != 2:
        raise ValueError("the live vectors are not pairs of int64")
    if counters.dtype != np.int64 or counters.shape != (2,):
        raise ValueError("the FAISS counters are not two integers")
    retired, next_id = counters.tolist()
    try:
        index: Any = faiss.deserialize_index(raw)
    except RuntimeError as exc:  # FAISS checks what it reads and throws
        raise ValueError(f"not a FAISS index: {exc}") from exc
    if type(index) is not type(expected) or index.d != dim:
        raise ValueError(
            f"a {type(index).__name__} of dimension {index.d}, not a {type(expected).__name__} of "
            f"dimension {dim}"
        )
    if int(index.ntotal) != len(live) + (retired if keeps_retired else 0):
        raise ValueError(f"the FAISS index holds {index.ntotal} vectors, not {len(live)} live ones")
    ids, inner = live[:, 0], live[:, 1]
    if len(np.unique(ids)) != len(ids) or len(np.unique(inner)) != len(inner) or (inner >= next_id).any():
        raise ValueError("the live vectors' ids are not unique")
    return index, ids, inner, retired, next_id


def _export(index: Any, live: np.ndarray, retired: int, next_id: int) -> dict[str, np.ndarray]:
    import faiss

    return {
        "faiss": np.asarray(faiss.serialize_index(index), dtype=np.uint8),  # FAISS's own format
        "live": live.reshape(-1, 2),  # (id, internal id) of every live vector; equal for a flat index
        "counters": np.array([retired, next_id], dtype=np.int64),
    }


def _empty_results(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)


class FlatIndex:
    """Exact search in FAISS (IndexFlatIP), each vector stored under its own id (IndexIDMap2, whose id
    map lives in FAISS's C++ memory: no Python object per stored vector), deleted in place."""

    kind = "flat"

    def __init__(self, dim: int) -> None:
        import faiss

        self.dim = dim
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def export(self) -> dict[str, np.ndarray]:
        ids = _row_ids(self._index)
        return _export(self._index, np.stack([ids, ids], axis=1), 0, int(ids.max()) + 1 if len(ids) else 0)

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        import faiss

        index, ids, inner, _, _ = _saved(arrays, self._index, self.dim, keeps_retired=False)
        rows = _row_ids(index)
        if not np.array_equal(ids, inner):
            # Saved when a flat index also numbered its vectors itself: each row's internal id becomes the
            # id it stood for.
            order = np.argsort(inner)
            at = np.searchsorted(inner[order], rows)
            if (at >= len(inner)).any() or not np.array_equal(
                inner[order][np.minimum(at, len(inner) - 1)], rows
            ):
                raise ValueError("the FAISS index's ids are not the live vectors'")
            faiss.copy_array_to_vector(ids[order][at], index.id_map)
            index.construct_rev_map()
        elif not np.array_equal(np.sort(rows), np.sort(ids)):
            raise ValueError("the FAISS index's ids are not the live vectors'")
        self._index = index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        out_s, out_i = _empty_results(len(q), k)
        if not len(q) or not len(self):
            return out_s, out_i
        scores, found = self._index.search(q, min(k, int(self._index.ntotal)))
        out_s[:, : found.shape[1]] = np.where(found >= 0, scores, -np.inf)
        out_i[:, : found.shape[1]] = found
        return out_s, out_i

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        held = [i for i in np.asarray(ids, dtype=np.int64).tolist() if i in self]
        if held:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(held, dtype=np.int64)))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __contains__(self, id_: object) -> bool:
        if not isinstance(id_, (int, np.integer)) or isinstance(id_, bool):
            return False
        try:  # IndexIDMap2 looks the id up in its map, and throws when it is absent
            self._index.reconstruct(int(id_))
        except RuntimeError:
            return False
        return True


class HnswIndex:
    """Approximate search in FAISS (IndexHNSWFlat, ``m`` links). HNSW cannot delete, so each stored vector
    gets an internal id; removing an id retires its internal id (filtered out of results, the search
    asking for more neighbours to make up), and adding the id again stores a new vector under a fresh
    internal id."""

    kind = "hnsw"

    def __init__(self, dim: int, m: int = 32, ef_search: int = 64) -> None:
        import faiss

        self.dim = dim
        hnsw = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efSearch = ef_search
        self._index: Any = faiss.IndexIDMap(hnsw)
        self._internal: dict[int, int] = {}  # id -> internal id, for live vectors
        self._external: dict[int, int] = {}  # internal id -> id, for live vectors
        self._retired = 0
        self._next = 0

    def export(self) -> dict[str, np.ndarray]:
        live = np.fromiter(self._internal.items(), dtype=np.dtype((np.int64, 2)), count=len(self._internal))
        return _export(self._index, live, self._retired, self._next)

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        index, ids, inner, retired, next_id = _saved(arrays, self._index, self.dim, keeps_retired=True)
        self._index = index
        self._internal = dict(zip(ids.tolist(), inner.tolist(), strict=True))
        self._external = dict(zip(inner.tolist(), ids.tolist(), strict=True))
        self._retired, self._next = retired, next_id

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        self.remove(ids)
        internal = np.arange(self._next, self._next + len(ids), dtype=np.int64)
        self._next += len(ids)
        for ext, inner in zip(ids.tolist(), internal.tolist(), strict=True):
            self._internal[ext] = inner
            self._external[inner] = ext
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), internal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        out_s, out_i = _empty_results(len(q), k)
        if not len(q) or not len(self):
            return out_s, out_i
        scores, inner = self._index.search(q, min(k + self._retired, int(self._index.ntotal)))
        for row in range(len(q)):
            col = 0
            for score, x in zip(scores[row].tolist(), inner[row].tolist(), strict=True):
                ext = self._external.get(x)
                if ext is None:
                    continue
                out_s[row, col], out_i[row, col] = score, ext
                col += 1
                if col == k:
                    break
        return out_s, out_i

    def remove(self, ids: np.ndarray) -> None:
        gone = [
            self._internal.pop(i) for i in np.asarray(ids, dtype=np.int64).tolist() if i in self._internal
        ]
        for inner in gone:
            del self._external[inner]
        self._retired += len(gone)

    def __len__(self) -> int:
        return len(self._internal)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._internal


FaissIndex = FlatIndex | HnswIndex
"""The FAISS indexes: exact (``FlatIndex``) or approximate (``HnswIndex``)."""


def _row_ids(index: Any) -> np.ndarray:
    """The ids of a flat index (IndexIDMap2), in the order of its rows."""
    import faiss

    return faiss.vector_to_array(index.id_map).astype(np.int64, copy=False)


def make_vector_index(spec: str, dim: int) -> VectorIndex:
    """A vector index from a backend name: ``faiss:flat`` (default), ``faiss:hnsw`` or ``exact``."""
    if spec == "exact":
        return ExactIndex(dim)
    if spec.startswith("faiss"):
        kind = spec.partition(":")[2] or "flat"
        if kind == "flat":
            return FlatIndex(dim)
        if kind == "hnsw":
            return HnswIndex(dim)
    raise ConfigError(f"unknown vector index {spec!r}; use 'faiss:flat', 'faiss:hnsw' or 'exact'")
