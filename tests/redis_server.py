"""The tests' redis-server processes (``benchmarks/redis_server.py``). Tests that need one skip when the
binary is missing, unless DEDUP_REQUIRE_REDIS=1 (set by .ci/run, which installs it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks import redis_server


def redis_binary(name: str = "redis-server") -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("DEDUP_REQUIRE_REDIS") == "1":
            pytest.fail(f"DEDUP_REQUIRE_REDIS=1 and no {name}: apt-get install -y redis-server")
        pytest.skip(f"{name} is not installed (apt-get install -y redis-server)")
    return found


class RedisServer(redis_server.RedisServer):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder, redis_binary())


class RedisCluster3(redis_server.RedisCluster3):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder, redis_binary(), redis_binary("redis-cli"))
