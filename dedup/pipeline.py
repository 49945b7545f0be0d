"""Batch analysis: ``Detector().analyze(articles)`` for a whole set of articles at once.

It runs the incremental engine over an in-memory store, ingesting the articles
in the order given, so ``dedup analyze`` and the gRPC service give the same
answers for the same input.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from dedup.article import Article
from dedup.config import Config
from dedup.document import PreparedDocument
from dedup.embed import Embedder, NullEmbedder, default_embedder
from dedup.engine import Engine, NullProgress, Progress
from dedup.errors import InvalidArgument
from dedup.prepare_workers import PrepareWorkers
from dedup.results import Analysis, ClusterResult, DocumentResult, Edge
from dedup.store import MemoryStore

__all__ = ["Detector", "NullProgress", "Progress"]


class Detector:
    """Finds reuse, story clusters and derivation in a set of articles."""

    def __init__(
        self, config: Config | None = None, embedder: Embedder | None = None, workers: bool = True
    ) -> None:
        self.config = config or Config()
        self._embedder = embedder
        self.workers = workers
        """Without a model, prepare the articles in a forked worker process while the engine matches the
        ones before them, where that is safe (``PrepareWorkers.available``: Linux, a process with one
        thread, a second core). The answers are the same; False keeps everything in this process."""

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            c = self.config.embed
            self._embedder = default_embedder(c)
        return self._embedder

    def engine(self) -> Engine:
        """A fresh engine over an in-memory store, sharing this detector's model."""
        return Engine(self.config, self.embedder, MemoryStore())

    def prepare(
        self, articles: Sequence[Article], progress: Progress | None = None
    ) -> list[PreparedDocument]:
        """Articles prepared for matching: tokens, sentences, signatures and embeddings."""
        return self.engine().preparation.prepare(articles, 1, progress or NullProgress())

    def analyze(self, articles: Sequence[Article], progress: Progress | None = None) -> Analysis:
        seen: set[str] = set()
        for article in articles:
            if article.id in seen:
                raise InvalidArgument(f"duplicate article id {article.id!r}; ids must be unique")
            seen.add(article.id)
        started = time.perf_counter()
        engine = self.engine()
        if self.workers and isinstance(self.embedder, NullEmbedder):
            # The compiled loops loaded before the workers are forked: they start with them loaded
            # instead of each loading its own (a fifth of a second) while the engine waits for them.
            engine.warm_up()
            if PrepareWorkers.available():
                # Without a model, preparing is a quarter of the work: other cores do it meanwhile.
                engine.preparation.workers = PrepareWorkers(self.config, PrepareWorkers.processes())
        try:
            engine.ingest_many(articles, progress)
        finally:
            if engine.preparation.workers is not None:
                engine.preparation.workers.close()
                engine.preparation.workers = None
        documents = []
        for doc_id in engine.documents():
            a = engine.analysis(doc_id)
            documents.append(
                DocumentResult(doc_id, a.cluster or "", a.parents, a.external_sources, a.duplicate_group)
            )
        clusters = []
        for record in engine.clusters():
            view = engine.cluster(record.id)
            edges = tuple(Edge(e.parent, e.child, e.confidence) for e in view.edges)
            clusters.append(ClusterResult(view.id, view.documents, view.roots, edges))
        pairs = engine.pairs()
        stats = {
            "documents": len(documents),
            **engine.last_embedding_stats,
            **engine.counters,
            "pairs": len(pairs),
            "seconds": round(time.perf_counter() - started, 3),
        }
        return Analysis(tuple(documents), tuple(clusters), tuple(pairs), stats)
