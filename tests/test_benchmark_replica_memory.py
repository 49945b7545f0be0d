"""benchmarks/replica_memory.py on a slice: the engine of a replica on Redis, with a stand-in model of
MiniLM's dimension, grows through the sizes and keeps the vectors in Redis, not in the process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import replica_memory
from tests.redis_server import redis_binary


def test_the_stand_in_model_gives_each_sentence_one_unit_vector() -> None:
    model = replica_memory.StandInModel()
    a, b, again = model.encode(["One sentence.", "Another one.", "One sentence."])
    assert a.shape == (replica_memory.DIM,) and np.allclose(np.linalg.norm(a), 1.0)
    assert np.array_equal(a, again) and abs(float(a @ b)) < 0.3


def test_replica_memory_runs_on_a_slice(shared_data: Path) -> None:
    redis_binary()  # (skips without redis-server, unless CI requires it)
    result = replica_memory.run(shared_data / "news_ecb", [60, 120], resident=20)
    assert [row["stored"] for row in result["sizes"]] == [60, 120]
    assert all(row["rss_mb"] > 0 and row["redis_vector_bytes_per_article"] > 1_536 for row in result["sizes"])
    assert (
        result["model"] == "stand-in-384" and "rss_growth_percent" in result and result["restart_seconds"] > 0
    )
