"""benchmarks/redis_index.py on a tiny slice: the article indexes in Redis loaded, queried in one round
trip each, and emptied by one bulk removal that leaves no key."""

from __future__ import annotations

from pathlib import Path

from benchmarks import redis_index
from tests.redis_server import redis_binary


def test_redis_index_benchmark_runs_on_a_slice(shared_data: Path) -> None:
    redis_binary()  # skips without redis-server (unless CI requires it)
    result = redis_index.main(["--data", str(shared_data / "news_ecb"), "--articles", "40", "--queries", "5"])
    assert result["articles"] == 40 and result["used_memory_bytes_per_article"] > 0
    assert all(q["round_trips"] == [1] for q in result["queries"].values())
    assert result["remove_all"]["keys_left"] == 0
