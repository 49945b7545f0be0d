"""benchmarks/replicas.py on a tiny slice: the embedded server, two sharing nothing, and 1 and 2 replicas on
one Redis, through `dedup serve`, every article stored once whichever replica took it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import replicas
from tests.redis_server import redis_binary


def test_replicas_benchmark_runs_on_a_slice(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    redis_binary()  # skips without redis-server (unless CI requires it)
    result = replicas.main(["--data", str(shared_data / "news_ecb"), "--limit", "8", "--model", "none"])
    assert json.loads(capsys.readouterr().out) == result
    assert [(r["what"], r["servers"], r["articles"]) for r in result["rows"]] == [
        ("embedded (SQLite)", 1, 8), ("2 embedded servers, nothing shared", 2, 8),
        ("1 replica(s) on Redis", 1, 8), ("2 replica(s) on Redis", 2, 8),
    ]  # fmt: skip
    assert all(r["articles_per_s"] > 0 for r in result["rows"])
    assert result["rows"][1]["speedup_vs_1_server"] == round(
        result["rows"][1]["articles_per_s"] / result["rows"][0]["articles_per_s"], 2
    )
    assert result["rows"][2]["speedup_vs_1_replica"] == 1.0
    assert result["rows"][2]["stored"] == result["rows"][3]["stored"] == 8
    # Where the CPU went: every server worked, and redis-server is accounted for on its rows alone.
    assert all(len(r["cpu_seconds_per_server"]) == r["servers"] for r in result["rows"])
    assert all(c > 0 for r in result["rows"] for c in r["cpu_seconds_per_server"])
    assert result["rows"][0]["redis_cpu_seconds"] is None is result["rows"][1]["redis_cpu_seconds"]
    assert all(r["redis_cpu_seconds"] > 0 for r in result["rows"][2:])
    # How much they got in each other's way, from each server's metrics: one alone, never.
    assert all(
        len(r["writes_retried"]) == len(r["write_lock_wait_seconds"]) == r["servers"] for r in result["rows"]
    )
    assert result["rows"][0]["writes_retried"] == [0] and result["rows"][2]["writes_retried"] == [0]
