"""benchmarks/state_store.py on a tiny slice: both backends through `dedup serve`, sizes reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import state_store
from tests.redis_server import redis_binary


def test_state_store_benchmark_runs_on_a_slice(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    redis_binary()  # skips without redis-server (unless CI requires it)
    assert state_store.main(["--data", str(shared_data / "news_ecb"), "--limit", "6", "--model", "none"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["articles"] == 6
    assert result["sqlite"]["data_dir_bytes_per_article"] > 0
    redis = result["redis"]
    assert redis["ingest_articles_per_second"] > 0
    kinds = redis["bytes_per_article_by_kind"]
    assert kinds["doc"] > 0 and kinds["meta"] > 0  # every article's hash, and the store's own keys
