"""dedup: near-duplicate and syndication detection for news.

The pure core: no gRPC, no protobuf. ``Detector().analyze(articles)`` is the
whole pipeline; each stage is a module of its own.
"""

from dedup.align import align, coverage
from dedup.attribution import Citation, find_citations
from dedup.boilerplate import Boilerplate, find_boilerplate
from dedup.cluster import ClusterEvent, ClusterEventKind, StoryClusterer
from dedup.config import Config, config_from_dict, load_config
from dedup.derive import Derivation, derive
from dedup.document import Article, PreparedDocument, Timestamp, parse_timestamp, prepare
from dedup.embed import CachingEmbedder, Embedder, SentenceTransformerEmbedder
from dedup.engine import Engine, IngestOutcome, IngestResult
from dedup.errors import ConfigError, DedupError, InputError, InvalidArgument, NotFound, ResourceExhausted
from dedup.inputs import read_articles
from dedup.minhash import exact_jaccard, shingle_set, shingles, signatures
from dedup.normalize import NormalizedText, normalize
from dedup.pipeline import Detector
from dedup.relation import classify_pair, compare
from dedup.results import (
    Analysis,
    ClusterResult,
    DocumentAnalysis,
    DocumentResult,
    Edge,
    ExternalSource,
    PairResult,
    Parent,
    Passage,
    PassageKind,
    Relation,
)
from dedup.segment import Sentence, Token, split_sentences, tokenize
from dedup.store import MemoryStore, SqliteStore, Store, open_store
from dedup.vectors import ExactIndex, FaissIndex, make_vector_index

__version__ = "0.1.0"

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
    "ExactIndex",
    "ExternalSource",
    "FaissIndex",
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
