"""New articles made ready to be matched: prepared (segmented, their words and shingles), their
citations found, signed, and their sentences embedded.

``Preparation.prepare`` does it for a batch. Sentences that a stored article or an earlier article of the
batch already holds, word for word or nearly, share that sentence's embedding (``dedup.embedding_plan``);
the others go to the model in chunks (``dedup.embed.Encoding``). With ``ahead``, the model runs on a
worker thread while the caller matches the articles before it (``embedded`` waits for one article's
embeddings). A stream's caller may name the articles it will pass next (``upcoming``): they are
prepared and embedded while this batch is matched, and the next call takes that work
(``take_carried``) if nothing was written in between.

The engine (``dedup.engine``) calls these under its lock; the parts read here are its
(``dedup.engine_state``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dedup.article import Article
from dedup.article_index import sign_documents
from dedup.attribution import find_citations
from dedup.config import Config
from dedup.deadline import Due
from dedup.document import PreparedDocument, check_article, check_sentences, prepare
from dedup.embed import Embedder, Encoding, NullEmbedder
from dedup.embedding_plan import EmbeddingPlan, PendingEmbeddings
from dedup.engine_state import EngineState
from dedup.errors import InvalidArgument
from dedup.store import Store

if TYPE_CHECKING:
    from dedup.prepare_workers import Arriving, PrepareWorkers

__all__ = [
    "CARRY_SENTENCES",
    "EMBED_CHUNK",
    "PREPARE_CHUNK",
    "NullProgress",
    "Preparation",
    "Progress",
    "prepare_signed",
]

PREPARE_CHUNK = 8
"""New articles prepared before their sentences are listed for the model: the model starts once the first
chunk of sentences (``Encoding``) is listed, while the later articles are still being prepared."""
EMBED_CHUNK = 256
"""Sentences sent to the model at once, at most (each chunk sorted by length, in batches of
embed.batch_size); the first chunks are smaller (``Encoding``), so that an ingest's first article
waits for a few articles' sentences only, and the model then keeps ahead of the matching."""
CARRY_SENTENCES = 16_384
"""Sentences one embedding plan goes on taking across the calls of a stream (``upcoming``), at most: a
plan keeps every sentence it planned, so a long stream starts a new one."""


class Progress(Protocol):
    """Where long work reports how far it has got (the CLI shows a bar)."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NullProgress:
    """Reports nowhere."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


class Preparation:
    """Prepares and embeds an engine's new articles; ``counters`` is the engine's (sentences sent to the
    model count in ``sentences_embedded``)."""

    def __init__(
        self, config: Config, embedder: Embedder, state: EngineState, store: Store, counters: dict[str, int]
    ) -> None:
        self._config = config
        self._embedder = embedder
        self._state = state
        self._store = store
        self._counters = counters
        self.last_embedding_stats: dict[str, int] = {"sentences": 0, "embedded": 0}
        """Sentences in the last batch prepared, and of them those sent to the model."""
        self.embedding_seconds = 0.0
        """Time spent in the model since the engine started (the service's metrics report it)."""
        self._pending: PendingEmbeddings | None = None
        """The articles of the ingest in progress whose sentences are being embedded (``prepare``)."""
        self._plan: EmbeddingPlan | None = None
        """The plan ``_pending``'s articles were planned by (a stream's next call may go on with it)."""
        self._carried: tuple[int, list[PreparedDocument]] | None = None
        """The articles a stream said come next (``upcoming``), prepared, planned and being embedded, with
        the generation of the store they were planned on."""
        self.workers: PrepareWorkers | None = None
        """Processes that prepare a batch without a model while the engine matches the articles before
        them (``dedup.prepare_workers``): set by batch analysis, whose store is thrown away if an
        article cannot be prepared (the ones before it are stored by then)."""
        self._arriving: Arriving | None = None

    def batch(
        self,
        articles: Sequence[Article],
        upcoming: Sequence[Article],
        first_seq: int,
        progress: Progress,
        due: Due | None,
    ) -> tuple[Sequence[PreparedDocument], list[PreparedDocument]]:
        """An ingest's new ``articles``, prepared, their embedding under way (``embedded``), taking what
        the call before prepared of them ahead; and those of ``upcoming`` prepared ahead (``carry``).
        With ``workers`` and no model, the articles are prepared by them while the caller matches the
        ones before (the first sequence arrives as the caller asks for its items)."""
        if isinstance(self._embedder, NullEmbedder):  # no model: nothing to gain by preparing ahead
            if self.workers is not None and len(articles) >= self.workers.min_articles:
                return self._in_workers(articles, first_seq), []
            return self.prepare(articles, first_seq, progress, due, True), []
        reused = self.take_carried(articles)
        room = not reused or (self._plan is not None and self._plan.sentences < CARRY_SENTENCES)
        ids = {a.id for a in articles}
        ahead = [a for a in upcoming if a.id not in ids] if room else []
        prepared = reused + self.prepare(
            articles[len(reused) :], first_seq, progress, due, True, ahead, go_on=bool(reused)
        )
        return prepared[: len(articles)], prepared[len(articles) :]

    def _in_workers(self, articles: Sequence[Article], first_seq: int) -> Arriving:
        """``prepare`` without a model, by ``workers``: the articles as they arrive. No progress stage of
        its own: they are prepared while they are matched, which the caller shows."""
        from dedup.prepare_workers import Arriving

        assert self.workers is not None
        stats = {"sentences": 0, "embedded": 0}

        def finish(doc: PreparedDocument) -> None:
            self._without_model(doc)
            stats["sentences"] += len(doc.sentences)

        self.stop()
        arriving = self.workers.prepare(articles, first_seq, self._outlets(articles))
        self._arriving = Arriving(len(articles), arriving, finish)
        self.last_embedding_stats = stats  # counted as they arrive
        return self._arriving

    def _outlets(self, articles: Sequence[Article]) -> list[str]:
        """The outlets whose citations new articles are searched for: those known, and theirs."""
        return sorted(set(self._state.entries.outlets()) | {a.outlet for a in articles if a.outlet})

    def _without_model(self, doc: PreparedDocument) -> None:
        """Give a prepared article the embeddings and vector it has without a model: zeros."""
        doc.embeddings = np.zeros((len(doc.sentences), self._embedder.dim), dtype=np.float16)
        doc.vector = np.zeros(self._embedder.dim, dtype=np.float32)

    def carry(self, later: list[PreparedDocument]) -> None:
        """Keep ``later`` (prepared ahead by ``batch``) for the next call; with none, stop the model's
        worker (an article repeated unchanged in a batch was prepared, not stored)."""
        if later:
            self._carried = (self._state.generation, later)
        else:
            self.stop()

    def prepare(
        self,
        articles: Sequence[Article],
        first_seq: int,
        progress: Progress,
        due: Due | None = None,
        ahead: bool = False,
        upcoming: Sequence[Article] = (),
        go_on: bool = False,
        hits: dict[int, list[list[int]]] | None = None,
    ) -> list[PreparedDocument]:
        """Prepare, sign and embed new articles. Sentences the store (or an earlier article of the
        batch) already holds word for word, or nearly, reuse that sentence's embedding instead of going
        through the model (``dedup.embedding_plan``).

        ``ahead``: return before the model has run; a worker thread loads the model and embeds the
        sentences in the order of the articles, starting while the later articles are still being
        prepared and going on while the caller matches them; ``embedded(doc)`` waits for one article's.
        The embeddings are the same either way (the same texts in the same chunks).

        ``upcoming`` (ahead only): articles to prepare after these, for a later call; the list ends
        before the first that cannot be prepared (too many sentences), and the encoding is left open
        for a later call to go on with (``go_on``: this plan and encoding, not new ones). Returns the
        articles, then those of ``upcoming`` prepared. ``hits``, if given, gets for each article (by
        ``id``) the stored sentences its sentences hit when its embedding was planned (none without a
        model: nothing is planned)."""
        outlets = self._outlets(articles)
        progress.start("preparing", len(articles))
        if isinstance(self._embedder, NullEmbedder):  # no model: nothing to embed or to share
            docs = self._some(articles, first_seq, outlets, progress)
            for doc in docs:
                self._without_model(doc)
            n = sum(len(d.sentences) for d in docs)
            self.last_embedding_stats = {"sentences": n, "embedded": 0}
            return docs
        if go_on and self._plan is not None and self._pending is not None:
            plan, pending = self._plan, self._pending
            encoding = pending.encoding
        else:
            if ahead:
                self.stop()
            plan = EmbeddingPlan(
                self._config, self._state.article_index, self._state.ids_at, self._state.resident.get
            )
            encoding = Encoding(self._embedder, (), EMBED_CHUNK, more=True)
            pending = PendingEmbeddings(encoding, self._state.story_vector, lambda: self._embedder.dim)
        if ahead:
            self._plan, self._pending = plan, pending  # from here, stop() stops its worker
        sentences, listed_before = plan.sentences, len(plan.texts)
        docs = []
        try:
            n = len(articles)
            for lo in range(0, n + len(upcoming), PREPARE_CHUNK):
                hi = lo + PREPARE_CHUNK
                some = self._some(articles[lo:hi], first_seq + lo, outlets, progress)
                if hi > n:
                    start = max(lo, n)
                    some += self._some(
                        upcoming[start - n : hi - n], first_seq + start, outlets, NullProgress(), True
                    )
                listed = len(plan.texts)
                for planned in plan.add(some):
                    pending.add(planned)
                    if hits is not None:
                        hits[id(planned.doc)] = planned.hits
                docs.extend(some)
                encoding.extend(plan.texts[listed:])
                if ahead:
                    encoding.start()
                if len(some) < min(PREPARE_CHUNK, len(articles) + len(upcoming) - lo):
                    break  # an upcoming article could not be prepared: the look-ahead ends before it
            if ahead and upcoming:
                encoding.flush()
            else:
                encoding.close()
            self.last_embedding_stats = {
                "sentences": plan.sentences - sentences,
                "embedded": len(plan.texts) - listed_before,
            }
            if ahead:
                return docs
        except BaseException:
            if ahead:
                self.stop()
            raise
        progress.start("embedding", len(plan.texts))
        check = functools.partial(due.check, "while embedding the sentences of the text") if due else None
        for lo in range(0, len(plan.texts), EMBED_CHUNK):
            encoding.run(lo + EMBED_CHUNK, check)
            progress.advance(min(EMBED_CHUNK, len(plan.texts) - lo))
        for doc in docs:
            self._account(pending.finish(doc))
        return docs

    def _some(
        self,
        articles: Sequence[Article],
        first_seq: int,
        outlets: Sequence[str],
        progress: Progress,
        lenient: bool = False,
    ) -> list[PreparedDocument]:
        """``prepare_signed`` with this engine's settings."""
        return prepare_signed(articles, first_seq, self._config, outlets, progress, lenient)

    def query(
        self, article: Article, first_seq: int, due: Due | None
    ) -> tuple[PreparedDocument, list[list[int]] | None]:
        """A query's article (FindSimilar) prepared and embedded, with the stored sentences its sentences
        hit when its embedding was planned (None without a model): the sentence LSH is then looked up
        once a query, for its embeddings and its candidates alike."""
        hits: dict[int, list[list[int]]] = {}
        doc = self.prepare([article], first_seq, NullProgress(), due, hits=hits)[0]
        return doc, hits.get(id(doc))

    def embedded(self, doc: PreparedDocument, due: Due | None = None) -> None:
        """Wait until ``doc``'s sentences are embedded, if ``prepare`` left them to its worker, and give
        the article its embeddings and vector."""
        pending = self._pending
        if pending is None or not pending.holds(doc):
            return
        check = functools.partial(due.check, "while embedding the sentences of the text") if due else None
        self._account(pending.finish(doc, check))
        if pending.finished():
            self._pending = self._plan = None

    def stop(self) -> None:
        """Stop the worker ``prepare(ahead=True)`` started (a write that ends early leaves rows unused),
        and drop what a stream's earlier call prepared ahead."""
        pending, self._pending, self._plan, self._carried = self._pending, None, None, None
        if pending is not None:
            pending.encoding.stop()
        arriving, self._arriving = self._arriving, None
        if arriving is not None:
            arriving.close()

    def take_carried(self, articles: Sequence[Article]) -> list[PreparedDocument]:
        """The articles the call before prepared ahead (``upcoming``) that ``articles`` begins with, if
        nothing was written since they were planned; otherwise that work is dropped."""
        carried, self._carried = self._carried, None
        if carried is None:
            self.stop()
            return []
        generation, docs = carried
        current = self._store.generation() if self._store.shared else self._state.generation
        reused = []
        if generation == self._state.generation == current:
            for article, doc in zip(articles, docs, strict=False):
                if doc.article != article:
                    break
                reused.append(doc)
        if not reused:
            self.stop()
        return reused

    def _account(self, work: tuple[int, float]) -> None:
        """Count an article's sentences sent to the model, and the model's time."""
        sentences, seconds = work
        self._counters["sentences_embedded"] += sentences
        self.embedding_seconds += seconds


def prepare_signed(
    articles: Sequence[Article],
    first_seq: int,
    config: Config,
    outlets: Sequence[str],
    progress: Progress | None = None,
    lenient: bool = False,
) -> list[PreparedDocument]:
    """Articles prepared, checked against the sentence limit before anything else is done with them,
    with their citations (of ``outlets`` and the built-in table), and signed; numbered from
    ``first_seq``. ``lenient``: an article over a limit ends the list there instead of raising. Needs
    nothing but the articles and the settings (``dedup.prepare_workers`` runs it in other processes)."""
    docs = []
    for n, article in enumerate(articles):
        try:
            if lenient:
                check_article(article, config.limits)
            doc = prepare(article, first_seq + n, config)
            check_sentences(doc, config.limits)  # before anything is signed or embedded
        except InvalidArgument:
            if not lenient:
                raise
            break
        doc.citations = find_citations(article.text, outlets)
        docs.append(doc)
        if progress is not None:
            progress.advance()
    sign_documents(docs, config.minhash)
    return docs
