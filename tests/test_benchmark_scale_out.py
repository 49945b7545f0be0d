"""benchmarks/scale_out.py on a tiny slice: the embedded server and a Redis replica grown through serve,
each size measured, the oldest tenth expired."""

from __future__ import annotations

from pathlib import Path

from benchmarks import scale_out
from tests.redis_server import redis_binary


def test_scale_out_benchmark_runs_on_a_slice(shared_data: Path) -> None:
    redis_binary()  # skips without redis-server (unless CI requires it)
    result = scale_out.main(
        ["--data", str(shared_data / "news_ecb"), "--mrpc", str(shared_data / "mrpc" / "msr_paraphrase_train.txt"),
         "--sizes", "30", "60", "--queries", "8"]
    )  # fmt: skip
    for backend in ("embedded", "redis"):
        steps = result[backend]["steps"]
        assert [s["stored"] for s in steps] == [30, 60]
        assert all(s["find_similar_4_clients"]["copy"]["median_ms"] > 0 for s in steps)
        assert all(s["find_similar_4_clients"]["copy_only"]["median_ms"] > 0 for s in steps)
        assert result[backend]["expiry"]["expired"] == 6 and result[backend]["expiry"]["left"] == 54
    fields = result["redis"]["steps"][-1]["redis"]["article_hash_field_bytes"]
    assert fields["text"] > 0 and fields["all fields"] > fields["text"]
    indexes = result["redis"]["steps"][-1]["redis"]["article_indexes_bytes_per_article"]
    assert indexes["sentence LSH"] > 0 and indexes["all"] >= indexes["sentence LSH"] + indexes["document LSH"]
