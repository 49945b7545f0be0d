"""Shared fixtures: the packaged embedding model (loaded once, run by the default backend, and by
PyTorch for comparisons), the research data, when present, and redis-servers of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup.config import EmbedConfig
from dedup.embed import CachingEmbedder, SentenceTransformerEmbedder, default_embedder
from dedup.pipeline import Detector
from tests.redis_server import RedisCluster3, RedisServer

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh clone does not have it; CI does."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (research data is not shipped with dedup)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> CachingEmbedder:
    """The packaged all-MiniLM-L6-v2 as users run it (the default backend, ONNX with int8 weights), loaded
    once for the whole run."""
    model = default_embedder(EmbedConfig())
    assert isinstance(model, CachingEmbedder)
    return model


@pytest.fixture(scope="session")
def torch_embedder() -> CachingEmbedder:
    """The packaged all-MiniLM-L6-v2 in PyTorch (``embed.backend = "torch"``), loaded once."""
    return CachingEmbedder(SentenceTransformerEmbedder())


@pytest.fixture(scope="session")
def detector(embedder: CachingEmbedder) -> Detector:
    return Detector(embedder=embedder)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, on a free port in its temporary folder (skips without the binary,
    unless CI requires it)."""
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture(params=["one server", "three-node cluster"])
def any_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer | RedisCluster3]:
    """One redis-server, then a three-node Redis Cluster, each the test's own."""
    server = (
        RedisServer(tmp_path / "one") if request.param == "one server" else RedisCluster3(tmp_path / "three")
    )
    yield server
    server.stop()
