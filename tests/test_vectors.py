"""Tests of dedup.vectors: FAISS indexes checked against brute-force cosine search."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.errors import ConfigError
from dedup.vectors import ExactIndex, FaissIndex, make_vector_index

DIM = 64
N = 2000
K = 10
BACKENDS = ["faiss:flat", "faiss:hnsw", "exact"]


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12345)
    vectors = _unit(rng, N)
    ids = rng.permutation(np.arange(10_000, 10_000 + 3 * N, 3))[:N].astype(np.int64)  # not 0..N-1
    queries = _unit(rng, 100)
    return ids, vectors, queries


def _brute_force(
    ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    sims = queries.astype(np.float64) @ vectors.astype(np.float64).T
    order = np.argsort(-sims, axis=1)[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def test_make_vector_index_backends() -> None:
    assert isinstance(make_vector_index("exact", 8), ExactIndex)
    flat = make_vector_index("faiss:flat", 8)
    assert isinstance(flat, FaissIndex) and flat.kind == "flat"
    assert make_vector_index("faiss", 8).kind == "flat"  # type: ignore[attr-defined]
    hnsw = make_vector_index("faiss:hnsw", 8)
    assert isinstance(hnsw, FaissIndex) and hnsw.kind == "hnsw"


@pytest.mark.parametrize("spec", ["annoy", "", "faiss:ivf", "Exact"])
def test_unknown_backend_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        make_vector_index(spec, 8)


def test_exact_index_matches_brute_force(data) -> None:
    ids, vectors, queries = data
    index = make_vector_index("exact", DIM)
    index.add(ids, vectors)
    scores, got = index.search(queries, K)
    want_scores, want_ids = _brute_force(ids, vectors, queries, K)
    assert np.array_equal(got, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_faiss_flat_equals_exact_cosine_top_k(data) -> None:
    ids, vectors, queries = data
    flat = make_vector_index("faiss:flat", DIM)
    exact = make_vector_index("exact", DIM)
    flat.add(ids, vectors)
    exact.add(ids, vectors)
    assert len(flat) == len(exact) == N
    f_scores, f_ids = flat.search(queries, K)
    e_scores, e_ids = exact.search(queries, K)
    assert f_ids.shape == f_scores.shape == (len(queries), K)
    assert f_ids.dtype == np.int64 and f_scores.dtype == np.float32
    assert np.array_equal(f_ids, e_ids)
    np.testing.assert_allclose(f_scores, e_scores, atol=1e-5)
    # scores are cosines of the returned ids, in descending order
    lookup = dict(zip(ids.tolist(), vectors, strict=True))
    for row in range(len(queries)):
        cos = np.array([lookup[int(i)] @ queries[row] for i in f_ids[row]])
        np.testing.assert_allclose(f_scores[row], cos, atol=1e-5)
        assert np.all(np.diff(f_scores[row]) <= 1e-6)


def test_hnsw_recall_at_10(data) -> None:
    ids, vectors, queries = data
    hnsw = make_vector_index("faiss:hnsw", DIM)
    hnsw.add(ids, vectors)
    _, got = hnsw.search(queries, K)
    _, want = _brute_force(ids, vectors, queries, K)
    recall = np.mean([len(set(g.tolist()) & set(w.tolist())) / K for g, w in zip(got, want, strict=True)])
    assert recall >= 0.9, recall


def test_each_vector_finds_itself_first(data) -> None:
    ids, vectors, _ = data
    for spec in BACKENDS:
        index = make_vector_index(spec, DIM)
        index.add(ids, vectors)
        scores, got = index.search(vectors[:50], 1)
        assert np.array_equal(got[:, 0], ids[:50]), spec
        np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("spec", BACKENDS)
def test_index_contract(spec: str) -> None:
    """The contract every backend keeps: shapes, -1 for missing neighbours, removal, len."""
    rng = np.random.default_rng(7)
    vectors = _unit(rng, 300, 16)
    ids = np.arange(1000, 1300, dtype=np.int64)
    index = make_vector_index(spec, 16)
    assert len(index) == 0

    # empty index: every neighbour is missing
    scores, got = index.search(vectors[:3], 4)
    assert scores.shape == got.shape == (3, 4)
    assert np.all(got == -1)

    index.add(ids[:200], vectors[:200])
    index.add(ids[200:], vectors[200:])
    assert len(index) == 300

    # more neighbours asked than stored: the rest are -1
    small = make_vector_index(spec, 16)
    small.add(ids[:5], vectors[:5])
    _, got = small.search(vectors[:2], 8)
    assert got.shape == (2, 8)
    assert sorted(got[0, :5].tolist()) == ids[:5].tolist()
    assert np.all(got[:, 5:] == -1)

    # no queries
    scores, got = index.search(np.zeros((0, 16), dtype=np.float32), 5)
    assert scores.shape == got.shape == (0, 5)

    # removed ids are never returned, not even to the query equal to their own vector
    removed = ids[::3]
    index.remove(removed)
    assert len(index) == 300 - len(removed)
    scores, got = index.search(vectors, 20)
    assert scores.shape == got.shape == (300, 20)
    assert not np.isin(got, removed).any()
    kept = ~np.isin(ids, removed)
    assert np.array_equal(got[kept, 0], ids[kept])  # the rest still find themselves
    assert np.all(got >= 0)  # enough vectors remain to fill every row

    # removing everything leaves nothing to find
    index.remove(ids)
    assert len(index) == 0
    _, got = index.search(vectors[:10], 5)
    assert np.all(got == -1)


def test_hnsw_removing_an_unknown_id_keeps_len() -> None:
    rng = np.random.default_rng(3)
    index = make_vector_index("faiss:hnsw", 8)
    index.add(np.arange(100, 150, dtype=np.int64), _unit(rng, 50, 8))
    index.remove(np.array([999_999]))  # never added
    assert len(index) == 50


def test_hnsw_readding_a_removed_id_forgets_the_old_vector() -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 50, 8)
    ids = np.arange(100, 150, dtype=np.int64)
    index = make_vector_index("faiss:hnsw", 8)
    index.add(ids, vectors)
    index.remove(ids[:1])
    index.add(ids[:1], vectors[5:6])  # id 100 now stands for a different vector
    scores, _ = index.search(vectors[:1], 1)
    # the old vector of id 100 must be gone: nothing left is identical to vectors[0]
    assert scores[0, 0] < 0.999
    assert len(index) == 50


@pytest.mark.parametrize("spec", ["exact", "faiss:flat"])
def test_remove_unknown_id_and_readd_work_on_exact_and_flat(spec: str) -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 50, 8)
    ids = np.arange(100, 150, dtype=np.int64)
    index = make_vector_index(spec, 8)
    index.add(ids, vectors)
    index.remove(np.array([999_999]))
    assert len(index) == 50
    index.remove(ids[:1])
    index.add(ids[:1], vectors[5:6])
    assert len(index) == 50
    scores, _ = index.search(vectors[:1], 1)
    assert scores[0, 0] < 0.999


def test_flat_index_restores_one_saved_with_its_own_internal_ids() -> None:
    """An index saved when a flat index numbered its vectors itself (internal ids 0, 1, ... beside the
    callers' ids) is read back under the callers' ids, with the same neighbours in the same order."""
    import faiss

    rng = np.random.default_rng(5)
    vectors = _unit(rng, 40, 8)
    ids = np.arange(500, 540, dtype=np.int64)
    old = faiss.IndexIDMap2(faiss.IndexFlatIP(8))
    old.add_with_ids(vectors, np.arange(40, dtype=np.int64))
    old.remove_ids(faiss.IDSelectorBatch(np.array([3, 17], dtype=np.int64)))
    keep = np.array([i for i in range(40) if i not in (3, 17)], dtype=np.int64)
    saved = {
        "faiss": np.asarray(faiss.serialize_index(old), dtype=np.uint8),
        "live": np.stack([ids[keep][::-1], keep[::-1]], axis=1),  # in no particular order
        "counters": np.array([0, 40], dtype=np.int64),
    }
    index = make_vector_index("faiss:flat", 8)
    index.restore(saved)
    assert len(index) == 38
    assert 503 not in index and 517 not in index and 500 in index and np.int64(539) in index
    reference = make_vector_index("exact", 8)
    reference.add(ids[keep], vectors[keep])
    scores, got = index.search(vectors, 5)
    want_scores, want = reference.search(vectors, 5)
    assert np.array_equal(got, want)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    again = make_vector_index("faiss:flat", 8)
    again.restore(index.export())
    assert np.array_equal(again.search(vectors, 5)[1], want)


def test_flat_index_keeps_no_python_object_per_vector() -> None:
    """A replica keeps every stored article's vector in this index: its ids live in FAISS, not in
    Python dicts, so that a replica's Python heap does not grow with the articles stored."""
    import gc
    import tracemalloc

    index = make_vector_index("faiss:flat", 1)
    zeros = np.zeros((1, 1), dtype=np.float32)
    index.add(np.array([0], dtype=np.int64), zeros)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for seq in range(1, 20_001):  # one article a commit, as an ingest adds them
            index.add(np.array([seq], dtype=np.int64), zeros)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(index) == 20_001 and 20_000 in index
    assert grown < 20_000 * 8, f"{grown / 20_000:.0f} bytes of Python memory a vector"
