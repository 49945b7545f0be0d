"""Which sentences of new articles go to the model, and which embedding each sentence gets.

A sentence that a stored article (or an earlier article of the same batch) already holds word for word,
or nearly (MinHash Jaccard >= ``embed.share_jaccard``), reuses that sentence's embedding instead of going
through the model: a wire story republished by twenty outlets is embedded once.

``EmbeddingPlan`` takes the articles of one batch in order, a few at a time, and says for each the rows it
copies from stored articles and the rows of the ``Encoding`` (``dedup.embed``) that give the others; the
new texts it lists are appended to the encoding as each few articles are planned, so the model starts
on the first articles while the later ones are still being prepared. ``PendingEmbeddings`` holds the
planned articles until the encoding has their rows, then gives each its embeddings and story vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from dedup.article_index import MAX_SENTENCES, ArticleIndex, sentence_signatures, split_key, words_key
from dedup.config import Config
from dedup.document import PreparedDocument
from dedup.embed import Encoding
from dedup.minhash import LshIndex, estimate_jaccard, make_lsh

__all__ = ["SHARE_CHECKS", "SHARE_LOOKUPS", "EmbeddingPlan", "PendingEmbeddings", "Planned"]

SHARE_CHECKS = 32
"""Stored or earlier sentences a new sentence is checked against, at most, for one to share an embedding
with (``embed.share_jaccard``)."""
SHARE_LOOKUPS = 1_024
"""LSH entries gathered, at most, to find the earlier sentences of a batch a sentence may share with."""


@dataclass(frozen=True)
class Planned:
    """Where one article's sentence embeddings come from."""

    doc: PreparedDocument
    copied: tuple[tuple[int, np.ndarray], ...]
    """(sentence, embedding) copied from a stored article when planned: a stored article may be replaced
    by an earlier article of the batch before this one is matched."""
    rows: tuple[tuple[int, int], ...]
    """(sentence, row of the encoding) for every other sentence."""
    hits: list[list[int]]
    """The stored sentences each sentence's signature hit when planned (``ArticleIndex.sentence_hits``)."""


class EmbeddingPlan:
    """The sentences of one batch of new articles that need the model, planned article by article in the
    order given (an article shares only with stored articles and the articles planned before it).

    ``index`` finds stored sentences by signature and by words; ``ids_at`` names the stored articles
    sequence numbers name, those the engine holds (a shared index may name articles not committed, or
    never), all of an article's at once; ``stored`` gives a stored article prepared (its embeddings and
    shingles)."""

    def __init__(
        self,
        config: Config,
        index: ArticleIndex,
        ids_at: Callable[[Iterable[int]], Mapping[int, str]],
        stored: Callable[[str], PreparedDocument],
    ) -> None:
        self._config = config
        self._index = index
        self._ids_at = ids_at
        self._stored = stored
        # The batch's listed sentences by signature, made when first looked up: a query lists a sentence
        # or two, and an index that is never asked is not worth making.
        self._batch_lsh: LshIndex | None = None
        self._unindexed: list[tuple[int, np.ndarray]] = []  # listed, not yet in _batch_lsh
        self._batch_words: dict[int, tuple[int, int]] = {}
        # Each planned article's sentence signatures, kept here: adding an article to the indexes drops
        # them from it, and a stream's later articles are planned after earlier ones are stored.
        self._signatures: list[np.ndarray] = []
        self._row: dict[tuple[int, int], int] = {}  # (article of the batch, sentence) -> row it embeds
        self._signed: dict[str, np.ndarray] = {}  # stored articles' sentence signatures, signed once here
        self.texts: list[str] = []
        """The texts to embed, in row order (grows with each ``add``)."""
        self.sentences = 0
        """Sentences planned so far."""

    def add(self, docs: Sequence[PreparedDocument]) -> list[Planned]:
        """Plan the next articles of the batch (signed; their new texts are appended to ``texts``)."""
        return [self._plan(doc) for doc in docs]

    def _plan(self, doc: PreparedDocument) -> Planned:
        share = self._config.embed.share_jaccard
        mh = self._config.minhash
        n = len(self._signatures)
        self._signatures.append(doc.sentence_minhashes)
        self.sentences += len(doc.sentences)
        copied: list[tuple[int, np.ndarray]] = []
        rows: list[tuple[int, int]] = []
        stored_hits = self._index.sentence_hits(doc.sentence_minhashes)
        words = [words_key(doc, s) for s in range(len(doc.sentences))]
        with_words = self._index.sentences_with_words(words)
        checked = [sorted(hits)[:SHARE_CHECKS] for hits in stored_hits]
        names = self._ids_at(
            [split_key(hit)[0] for hit in with_words if hit is not None]
            + [split_key(hit)[0] for hits in checked for hit in hits]
        )
        for s, sig in enumerate(doc.sentence_minhashes):
            key = words[s]
            from_store = self._with_words(with_words[s], key, names)
            earlier = self._batch_words.get(key) if from_store is None else None
            if from_store is None and earlier is None:
                # At most SHARE_CHECKS candidates each (a sentence repeated with small changes a thousand
                # times would otherwise be checked against every earlier copy).
                for hit in checked[s]:
                    seq, t = split_key(hit)
                    if (doc_id := names.get(seq)) is None:
                        continue
                    if doc_id not in self._signed:
                        self._signed[doc_id] = sentence_signatures(self._stored(doc_id), mh)
                    if t >= len(self._signed[doc_id]):  # a shared index's hit on another article's sentence
                        continue
                    if estimate_jaccard(sig, self._signed[doc_id][t]) >= share:
                        from_store = (doc_id, t)
                        break
                if from_store is None:
                    for hit in sorted(self._listed_like(sig))[:SHARE_CHECKS]:
                        m, t = hit // MAX_SENTENCES, hit % MAX_SENTENCES
                        if estimate_jaccard(sig, self._signatures[m][t]) >= share:
                            earlier = (m, t)
                            break
            if from_store is not None:
                embeddings = self._stored(from_store[0]).embeddings
                assert embeddings is not None
                copied.append((s, np.array(embeddings[from_store[1]])))
                continue
            if earlier is not None:
                rows.append((s, self._row[earlier]))
                continue
            self._row[(n, s)] = len(self.texts)
            rows.append((s, len(self.texts)))
            self.texts.append(doc.sentence_text(s))
            self._batch_words[key] = (n, s)
            self._unindexed.append((n * MAX_SENTENCES + s, sig))
        return Planned(doc, tuple(copied), tuple(rows), stored_hits)

    def _listed_like(self, sig: np.ndarray) -> list[int]:
        """The keys (``n * MAX_SENTENCES + s``) of the sentences listed so far whose signatures share a
        band with ``sig``."""
        if self._unindexed:
            if self._batch_lsh is None:
                mh = self._config.minhash
                self._batch_lsh = make_lsh(self._config.lsh, mh.passage_threshold, mh.num_perm)
            for key, listed in self._unindexed:
                self._batch_lsh.insert(key, listed)
            self._unindexed.clear()
        if self._batch_lsh is None:
            return []
        return cast(list[int], self._batch_lsh.query_pairs(sig[None, :], limit=SHARE_LOOKUPS)[1].tolist())

    def _with_words(self, hit: int | None, key: int, names: Mapping[int, str]) -> tuple[str, int] | None:
        """The stored article and sentence ``sentences_with_words`` named for the words ``key``, if the
        engine holds it (``names``: the held articles by sequence number) and it has those words (a shared
        index may name another)."""
        if hit is None:
            return None
        seq, t = split_key(hit)
        doc_id = names.get(seq)
        if doc_id is None:
            return None
        source = self._stored(doc_id)
        return (doc_id, t) if t < len(source.sentences) and words_key(source, t) == key else None


class PendingEmbeddings:
    """Planned articles whose sentences the model is still embedding: each waits for its rows of the
    encoding. ``dim`` gives the embedding dimension (it may load the model: asked only when needed)."""

    def __init__(
        self, encoding: Encoding, story_vector: Callable[[np.ndarray], np.ndarray], dim: Callable[[], int]
    ) -> None:
        self.encoding = encoding
        self._story_vector = story_vector
        self._dim = dim
        self._docs: dict[int, tuple[Planned, int, int]] = {}
        self._next_row = 0
        self._seconds_seen = 0.0

    def add(self, planned: Planned) -> None:
        """The rows an article embeds itself come after those of the articles added before it."""
        own = len({r for _, r in planned.rows if r >= self._next_row})
        self._next_row += own
        need = max((r + 1 for _, r in planned.rows), default=0)
        self._docs[id(planned.doc)] = (planned, need, own)

    def holds(self, doc: PreparedDocument) -> bool:
        return id(doc) in self._docs

    def finished(self) -> bool:
        return not self._docs

    def finish(self, doc: PreparedDocument, check: Callable[[], None] | None = None) -> tuple[int, float]:
        """Wait for the article's rows, then give it its embeddings (float16, as stored: answers are the
        same before and after a restart) and its vector. Returns the sentences it sent to the model and
        the model's time since the last call."""
        planned, need, own = self._docs[id(doc)]
        self.encoding.wait(need, check)
        emb = np.zeros((len(doc.sentences), self._dim()), dtype=np.float16)
        for s, vector in planned.copied:
            emb[s] = vector
        for s, r in planned.rows:
            emb[s] = self.encoding.row(r)
        doc.embeddings = emb
        doc.vector = self._story_vector(emb)
        del self._docs[id(doc)]
        seconds, self._seconds_seen = self.encoding.seconds - self._seconds_seen, self.encoding.seconds
        return own, seconds
