"""Shared fixtures: the packaged embedding model (loaded once, run by the default backend, and by
PyTorch for comparisons) and the research data, when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup.config import EmbedConfig
from dedup.embed import CachingEmbedder, SentenceTransformerEmbedder, default_embedder
from dedup.pipeline import Detector

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh clone does not have it; CI does."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (research data is not shipped with dedup)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> CachingEmbedder:
    """The packaged all-MiniLM-L6-v2 as users run it (the default backend, ONNX), loaded once for the
    whole run."""
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
