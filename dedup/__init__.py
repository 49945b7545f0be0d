"""dedup: near-duplicate and syndication detection for news.

The pure core: no gRPC, no protobuf. ``Detector().analyze(articles)`` is the
whole pipeline; each stage is a module of its own.

Names are imported on first use (PEP 562), so ``import dedup.client`` loads
neither the model nor numpy, numba, datasketch or faiss: a client-only install
has none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOME = {
    "Analysis": "dedup.results",
    "Article": "dedup.article",
    "Boilerplate": "dedup.boilerplate",
    "CachingEmbedder": "dedup.embed",
    "Citation": "dedup.attribution",
    "ClusterEvent": "dedup.results",
    "ClusterEventKind": "dedup.results",
    "ClusterResult": "dedup.results",
    "Config": "dedup.config",
    "ConfigError": "dedup.errors",
    "DedupError": "dedup.errors",
    "Derivation": "dedup.derive",
    "Detector": "dedup.pipeline",
    "DocumentAnalysis": "dedup.results",
    "DocumentResult": "dedup.results",
    "Edge": "dedup.results",
    "EventRecord": "dedup.results",
    "Embedder": "dedup.embed",
    "Engine": "dedup.engine",
    "ExactIndex": "dedup.vectors",
    "ExternalSource": "dedup.results",
    "FaissIndex": "dedup.vectors",
    "FlatIndex": "dedup.vectors",
    "HnswIndex": "dedup.vectors",
    "IngestOutcome": "dedup.results",
    "IngestResult": "dedup.engine",
    "InputError": "dedup.errors",
    "InvalidArgument": "dedup.errors",
    "MemoryStore": "dedup.store",
    "NormalizedText": "dedup.normalize",
    "NotFound": "dedup.errors",
    "PairResult": "dedup.results",
    "Parent": "dedup.results",
    "Passage": "dedup.results",
    "PassageKind": "dedup.results",
    "PreparedDocument": "dedup.document",
    "Relation": "dedup.results",
    "ResourceExhausted": "dedup.errors",
    "Sentence": "dedup.segment",
    "SentenceTransformerEmbedder": "dedup.embed",
    "SqliteStore": "dedup.store",
    "Store": "dedup.store",
    "StoryClusterer": "dedup.cluster",
    "Timestamp": "dedup.article",
    "Token": "dedup.segment",
    "align": "dedup.align",
    "classify_pair": "dedup.relation",
    "compare": "dedup.relation",
    "config_from_dict": "dedup.config",
    "coverage": "dedup.align",
    "derive": "dedup.derive",
    "exact_jaccard": "dedup.minhash",
    "find_boilerplate": "dedup.boilerplate",
    "find_citations": "dedup.attribution",
    "load_config": "dedup.config",
    "make_vector_index": "dedup.vectors",
    "normalize": "dedup.normalize",
    "open_store": "dedup.store",
    "parse_timestamp": "dedup.article",
    "prepare": "dedup.document",
    "read_articles": "dedup.inputs",
    "shingle_set": "dedup.minhash",
    "shingles": "dedup.minhash",
    "signatures": "dedup.minhash",
    "split_sentences": "dedup.segment",
    "tokenize": "dedup.segment",
}

__all__ = [
    "Analysis",
    "Article",
    "Boilerplate",
    "CachingEmbedder",
    "Citation",
    "ClusterEvent",
    "ClusterEventKind",
    "ClusterResult",
    "Config",
    "ConfigError",
    "DedupError",
    "Derivation",
    "Detector",
    "DocumentAnalysis",
    "DocumentResult",
    "Edge",
    "Embedder",
    "Engine",
    "EventRecord",
    "ExactIndex",
    "ExternalSource",
    "FaissIndex",
    "FlatIndex",
    "HnswIndex",
    "IngestOutcome",
    "IngestResult",
    "InputError",
    "InvalidArgument",
    "MemoryStore",
    "NormalizedText",
    "NotFound",
    "PairResult",
    "Parent",
    "Passage",
    "PassageKind",
    "PreparedDocument",
    "Relation",
    "ResourceExhausted",
    "Sentence",
    "SentenceTransformerEmbedder",
    "SqliteStore",
    "Store",
    "StoryClusterer",
    "Timestamp",
    "Token",
    "align",
    "classify_pair",
    "compare",
    "config_from_dict",
    "coverage",
    "derive",
    "exact_jaccard",
    "find_boilerplate",
    "find_citations",
    "load_config",
    "make_vector_index",
    "normalize",
    "open_store",
    "parse_timestamp",
    "prepare",
    "read_articles",
    "shingle_set",
    "shingles",
    "signatures",
    "split_sentences",
    "tokenize",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


if TYPE_CHECKING:
    from dedup.align import align, coverage
    from dedup.article import Article, Timestamp, parse_timestamp
    from dedup.attribution import Citation, find_citations
    from dedup.boilerplate import Boilerplate, find_boilerplate
    from dedup.cluster import StoryClusterer
    from dedup.config import Config, config_from_dict, load_config
    from dedup.derive import Derivation, derive
    from dedup.document import PreparedDocument, prepare
    from dedup.embed import CachingEmbedder, Embedder, SentenceTransformerEmbedder
    from dedup.engine import Engine, IngestResult
    from dedup.errors import ConfigError, DedupError, InputError, InvalidArgument, NotFound, ResourceExhausted
    from dedup.inputs import read_articles
    from dedup.minhash import exact_jaccard, shingle_set, shingles, signatures
    from dedup.normalize import NormalizedText, normalize
    from dedup.pipeline import Detector
    from dedup.relation import classify_pair, compare
    from dedup.results import (
        Analysis,
        ClusterEvent,
        ClusterEventKind,
        ClusterResult,
        DocumentAnalysis,
        DocumentResult,
        Edge,
        EventRecord,
        ExternalSource,
        IngestOutcome,
        PairResult,
        Parent,
        Passage,
        PassageKind,
        Relation,
    )
    from dedup.segment import Sentence, Token, split_sentences, tokenize
    from dedup.store import MemoryStore, SqliteStore, Store, open_store
    from dedup.vectors import ExactIndex, FaissIndex, FlatIndex, HnswIndex, make_vector_index
