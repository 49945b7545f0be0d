"""benchmarks/replicas.py on a tiny slice: the embedded server, two sharing nothing, 1 and 2 replicas on one
Redis, and 2 replicas with a store each on that Redis, through `dedup serve`, every article stored once
whichever replica took it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import replicas
from tests.redis_server import redis_binary


def test_replicas_benchmark_runs_on_a_slice(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    redis_binary()  # skips without redis-server (unless CI requires it)
    # Dealt in turn, each server is given its share of the eight: from one queue, one stream may take
    # all eight before the other has started, and a server given nothing shows no CPU.
    result = replicas.main(
        ["--data", str(shared_data / "news_ecb"), "--limit", "8", "--model", "none", "--repeat", "2",
         "--deal", "turn"]
    )  # fmt: skip
    assert json.loads(capsys.readouterr().out) == result
    assert [(r["what"], r["servers"], r["articles"]) for r in result["rows"]] == [
        ("embedded (SQLite)", 1, 8), ("2 embedded servers, nothing shared", 2, 8),
        ("1 replica(s) on Redis", 1, 8), ("2 replica(s) on Redis", 2, 8),
        ("2 replicas on Redis, a store each", 2, 8),
    ]  # fmt: skip
    assert all(r["articles_per_s"] > 0 for r in result["rows"])
    # Two rounds: every round's rate, the row's figures from one of them, speedups over each round's own.
    assert result["rounds"] == 2
    assert all(len(r["articles_per_s_by_round"]) == 2 for r in result["rows"])
    assert all(r["articles_per_s"] in r["articles_per_s_by_round"] for r in result["rows"])
    assert result["rows"][2]["speedup_vs_1_replica_by_round"] == [1.0, 1.0]
    assert result["rows"][2]["speedup_vs_1_replica"] == 1.0
    for row, key, base in (
        (1, "speedup_vs_1_server", 0),
        (3, "speedup_vs_1_replica", 2),
        (4, "speedup_vs_1_replica", 2),
    ):
        rounds = zip(
            result["rows"][row]["articles_per_s_by_round"],
            result["rows"][base]["articles_per_s_by_round"],
            strict=True,
        )
        assert result["rows"][row][f"{key}_by_round"] == [round(a / b, 2) for a, b in rounds]
    assert result["rows"][2]["stored"] == result["rows"][3]["stored"] == 8
    assert result["rows"][4]["stored"] == 8  # the two stores together, each what its replica was given
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
    assert result["rows"][4]["writes_retried"] == [0, 0]  # a store each: no write is ever overtaken


def test_a_row_over_rounds_gives_the_median_round_and_the_median_speedup() -> None:
    runs = [
        {"what": "2 replica(s) on Redis", "articles_per_s": rate, "speedup_vs_1_replica": speedup, "cpu": cpu}
        for rate, speedup, cpu in ((25.0, 1.7, "a"), (23.0, 1.5, "b"), (24.0, 1.4, "c"))
    ]
    row = replicas.median_row(runs)
    assert row["articles_per_s"] == 24.0 and row["cpu"] == "c"  # the median round's own figures
    assert row["articles_per_s_by_round"] == [25.0, 23.0, 24.0]
    assert row["speedup_vs_1_replica"] == 1.5  # the median of the rounds' speedups, not the median round's
    assert row["speedup_vs_1_replica_by_round"] == [1.7, 1.5, 1.4]
