"""benchmarks/vector_lsh_recall.py on a tiny slice without the model (every vector the zero vector: all
articles share every band, so recall is 1 and every article is a candidate): it runs, and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import vector_lsh_recall
from tests.redis_server import redis_binary


def test_vector_lsh_recall_runs_on_a_slice(shared_data: Path) -> None:
    result = vector_lsh_recall.main(
        ["--data", str(shared_data / "news_ecb"), "--articles", "30", "--model", "none"]
    )
    assert result["articles"] == 30 and len(result["settings"]) == 2 * len(vector_lsh_recall.SETTINGS)
    assert all(s["recall_at_k"] == 1.0 and s["candidates"] == 1.0 for s in result["settings"])
    assert result["ivf"] == []  # 30 articles train no inverted file of 16 lists or more


def test_an_inverted_file_with_every_list_probed_finds_every_neighbour() -> None:
    """Probing every list fetches every stored vector, so every exact neighbour is found; probing a few
    lists of vectors that fall in clusters fetches a small share and still finds most neighbours, and
    more lists find more (seeded random unit vectors around 8 centres)."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((8, 16)).astype(np.float32)
    vectors = centres[rng.integers(0, 8, 400)] + 0.3 * rng.standard_normal((400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    everything = vector_lsh_recall.ivf_recall(vectors, 16, 16, 10, 0.65)
    assert everything["recall_at_k"] == 1.0 and everything["candidates"] == 1.0
    one = vector_lsh_recall.ivf_recall(vectors, 16, 1, 10, 0.65)
    four = vector_lsh_recall.ivf_recall(vectors, 16, 4, 10, 0.65)
    assert one["candidates"] < four["candidates"] < 0.5
    assert 0.5 < one["recall_at_k"] <= four["recall_at_k"]


def test_the_vectors_as_a_replica_keeps_them_in_redis_find_the_nearest() -> None:
    """``redis_recall`` runs the real ``dedup.redis_vectors`` on a redis-server of its own: below the
    training size it is exact (recall 1, every record read); with the lists trained, most neighbours
    are found reading a part of the records (seeded vectors around 40 centres)."""
    redis_binary()  # (skips without redis-server, unless CI requires it)
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((40, 16)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 1_600)] + 0.3 * rng.standard_normal((1_600, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    small = vector_lsh_recall.redis_recall(vectors[:300], 10, 0.65, 5_000)
    assert small["recall_at_k"] == 1.0 and not small["trained"] and small["candidates"] == 1.0
    trained = vector_lsh_recall.redis_recall(vectors, 10, 0.65, 5_000)
    assert trained["trained"] and trained["lists"] == 16 and trained["candidates"] < 0.6
    assert trained["recall_at_k"] >= 0.9
