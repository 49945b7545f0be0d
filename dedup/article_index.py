"""The article indexes: where the engine looks for the stored articles worth aligning with a new one.

``ArticleIndex`` is the part of the engine that keeps them, behind a narrow protocol: add and remove
articles, ask for candidates (by MinHash of the whole text or of its sentences, by the same words, by
vector), and save or load them. ``MemoryArticleIndex`` keeps them in process:

- the document LSH: each article's MinHash, keyed by its sequence number;
- the sentence LSH: each indexed sentence's MinHash, keyed by ``sentence_key``;
- the sentences by their words: the hash of a sentence's key text (``words_key``) -> the key of that
  sentence in the first stored article holding it (``sentence_keys``), to share its embedding;
- the sentence vectors (only when ``align.candidate_neighbours`` > 0), keyed as the sentence LSH;
- the article vectors, keyed by sequence number.

Articles are named by their sequence numbers (the engine maps them to ids), sentences by their keys
(``split_key``). Saved, the indexes are one file of plain arrays (``dedup.savefile``), bound to what they
were built from by the header the engine gives.

Shared indexes. ``dedup.redis_index.RedisArticleIndex`` keeps them in Redis beside a Redis store, shared
by every process using it (``shared``): each adds only the articles it stores, so they may name
articles a process does not hold (not committed yet, or never), and the engine ignores those.
``make_article_index`` picks the implementation for a store.

Undo. While ``undo`` holds an ``UndoLog``, an implementation records every change in it, so that the
engine can put the indexes back as they were when the change it made cannot be committed (``dedup.undo``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import xxhash

from dedup.config import SENTENCE_KEY_SPAN, Config, MinHashConfig
from dedup.document import PreparedDocument
from dedup.minhash import BandedLsh, LshIndex, make_lsh, signatures
from dedup.savefile import SavedFileError, read_arrays, read_header, write_arrays
from dedup.undo import UndoLog
from dedup.vectors import VectorIndex, make_vector_index

__all__ = [
    "MAX_SENTENCES",
    "ArticleIndex",
    "MemoryArticleIndex",
    "articles_of_hits",
    "hits_by_distinct_row",
    "make_article_index",
    "sentence_keys",
    "sentence_signatures",
    "sign_documents",
    "split_key",
    "words_key",
]

MAX_SENTENCES = SENTENCE_KEY_SPAN
"""Sentence index keys are ``seq * MAX_SENTENCES + sentence``. New articles have at most
``limits.max_sentences`` sentences, itself at most this; of an article stored before that limit with more,
only the first ``MAX_SENTENCES`` are indexed, so a key never reaches the next article's."""

logger = logging.getLogger(__name__)


class ArticleIndex(Protocol):
    """The indexes of the stored articles that find candidates for a new one. Articles are added
    prepared, signed and embedded, and removed as they were added (their prepared article)."""

    undo: UndoLog | None
    """While set, every change is recorded in it (``dedup.undo``); the engine sets it for one write."""

    shared: bool
    """Whether every process sharing the store shares these indexes: each then adds and removes only the
    articles it writes (another's are in them already, from before its commit), and takes the others'
    changes with ``follow`` instead."""

    keeps_vectors: bool
    """Whether the article vectors are kept in this process (``holds`` then answers from them, and
    ``follow`` takes the others' vectors); else they are in the indexes' server, like the rest."""

    def add(self, docs: Sequence[PreparedDocument]) -> None:
        """Index articles (new ones, or stored ones at start), each once. Each must have its document
        signature, sentence signatures, embeddings and vector; their sentence signatures are dropped once
        indexed (``sentence_signatures`` gives them again)."""
        ...

    def remove(self, docs: Sequence[PreparedDocument]) -> None:
        """Take indexed articles out of every index (all at once: some indexes pay for a removal by their
        size, not by what is removed)."""
        ...

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        """The writes to the store's server that the write in progress made to these indexes, for its
        commit to make in the same transaction (``Change.index_writes``), and none left queued: indexes
        kept beside a Redis store make their changes there, so that a refused or failed commit leaves
        nothing of them. In-process indexes change at once (undone by the undo log) and have none."""
        ...

    def write_guard(self) -> tuple[str, str] | None:
        """For indexes kept beside a Redis store, the binding a commit must still find them under
        (``Change.index_binding``): the settings this process loaded or built them with. None for
        in-process indexes, and before a load or a build has bound them."""
        ...

    def articles_like(self, signature: np.ndarray) -> list[int]:
        """The articles whose document signature the LSH pairs with ``signature``."""
        ...

    def sentence_hits(self, signatures: np.ndarray) -> list[list[int]]:
        """The keys of the stored sentences each row of ``signatures`` (one per sentence) finds in the
        sentence LSH (``split_key`` names the article and sentence). Equal rows are looked up once, and
        at most ``minhash.max_sentence_hits`` entries are gathered for all, the first sentences' first."""
        ...

    def articles_sharing_sentences(self, signatures: np.ndarray) -> list[int]:
        """The articles, in order, that hold a sentence ``sentence_hits`` finds for ``signatures``."""
        ...

    def sentences_with_words(self, keys: Sequence[int]) -> list[int | None]:
        """For each words hash (``words_key``), the key of the sentence with these words in the first
        stored article holding one (``split_key`` names the article and sentence); None if none does. A
        shared index may name a sentence of an article not committed, or of one that holds other words
        under that sequence number (a write that died): the engine checks."""
        ...

    def articles_near_sentences(self, embeddings: np.ndarray, k: int, min_score: float) -> list[int]:
        """The articles of each embedding's ``k`` nearest stored sentences at cosine ``min_score`` or
        more, in the order found (an article may come more than once)."""
        ...

    def nearest_articles(self, vector: np.ndarray, k: int) -> list[tuple[float, int]]:
        """The ``k`` stored articles nearest to ``vector``, nearest first: (cosine, article)."""
        ...

    def sentences(self) -> int:
        """How many sentences are indexed."""
        ...

    def articles(self) -> int:
        """How many articles are indexed."""
        ...

    def holds(self, seq: int) -> bool:
        """Whether the article ``seq`` names has its vector here (indexed or followed by this process), or
        where the vectors are not kept in the process (``keeps_vectors``), whether it is indexed."""
        ...

    def follow(self, added: Sequence[tuple[int, np.ndarray]], removed: Sequence[int]) -> None:
        """Shared indexes only: take the articles other processes stored (sequence number, article vector)
        and removed, for what this process keeps of the indexes itself."""
        ...

    def save(self, path: Path | None, header: Mapping[str, Any], seq_of: Callable[[str], int]) -> bool:
        """Save the indexes to ``path`` under ``header`` (what they were built from); ``seq_of`` gives an
        indexed article's sequence number. False when these indexes are not saved (rebuilt at start)."""
        ...

    def load(self, path: Path | None, binding: Any, ids: Mapping[int, str]) -> bool:
        """Read the indexes saved at ``path`` if their header's binding is ``binding`` and they are whole
        and hold exactly the articles of ``ids`` (sequence number -> id); else stay empty, to be rebuilt.
        Whether they were read. (An implementation that keeps its indexes in a server of their own may
        keep the binding there beside them, and ignore ``path``: True then means "already built".)"""
        ...


def make_article_index(config: Config, store: object, dim: Callable[[], int]) -> ArticleIndex:
    """The article indexes for the engine over ``store``: in Redis beside a Redis store
    (``dedup.redis_index``), shared by every process using it; in process otherwise, and for a Redis store
    when ``align.candidate_neighbours`` > 0 (sentence vectors are not kept in Redis) or the LSH backend is
    not the default."""
    from dedup.redis_store import RedisStore  # (imports redis only when a RedisStore is made)

    if isinstance(store, RedisStore):
        banded = isinstance(make_lsh(config.lsh, 0.5, 8), BandedLsh)  # the LSH the Redis one bands as
        if config.align.candidate_neighbours == 0 and banded:
            from dedup.redis_index import RedisArticleIndex

            return RedisArticleIndex(config, store, dim)
        logger.info("the article indexes stay in this process: sentence vectors and the %r LSH are not kept "
                    "in Redis", config.lsh)  # fmt: skip
    return MemoryArticleIndex(config, dim)


def split_key(key: int) -> tuple[int, int]:
    """The article (its sequence number) and the sentence a sentence key names."""
    return key // MAX_SENTENCES, key % MAX_SENTENCES


def sentence_keys(doc: PreparedDocument) -> list[int]:
    """Keys of an article's indexed sentences (its first ``MAX_SENTENCES``) in the sentence LSH and
    vector indexes: each below the next article's first key."""
    base = doc.order * MAX_SENTENCES
    return list(range(base, base + min(len(doc.sentences), MAX_SENTENCES)))


def words_key(doc: PreparedDocument, s: int) -> int:
    """The hash of a sentence's key text: equal for sentences with the same words."""
    return xxhash.xxh3_64_intdigest(doc.sentence_key_text(s).encode("utf-8"))


def sentence_signatures(
    doc: PreparedDocument, mh: MinHashConfig, which: Iterable[int] | None = None
) -> np.ndarray:
    """The signatures of an article's sentences ``which`` (all by default), one row each: kept, or
    signed again from the shingles."""
    rows = list(range(len(doc.sentences)) if which is None else which)
    if len(doc.sentence_minhashes) == len(doc.sentences):
        return doc.sentence_minhashes[rows]
    return signatures([doc.sentence_shingles[s] for s in rows], mh.num_perm, mh.seed)


def drop_sentence_signatures(docs: Sequence[PreparedDocument], num_perm: int) -> None:
    """Indexed articles do not keep their sentence signatures (about 15 KB a 30-sentence article): the
    few needed again are signed again from the shingles (``sentence_signatures``)."""
    empty = np.zeros((0, num_perm), dtype=np.uint32)
    for doc in docs:
        doc.sentence_minhashes = empty


def hits_by_distinct_row(
    signatures: np.ndarray, lookup: Callable[[np.ndarray], list[list[int]]]
) -> list[list[int]]:
    """``lookup`` (the hits of each row of a matrix) of each row of ``signatures``, equal rows looked up
    once, the distinct rows in order of first appearance (so a limit on the hits gathered favours the
    first sentences): ``ArticleIndex.sentence_hits`` from an LSH's batch lookup."""
    slot: dict[bytes, int] = {}  # a row's bytes -> its place among the distinct rows
    inverse: list[int] = []
    firsts: list[int] = []
    for i, row in enumerate(signatures):
        k = slot.setdefault(row.tobytes(), len(firsts))
        if k == len(firsts):
            firsts.append(i)
        inverse.append(k)
    if not firsts:
        return []
    found = lookup(signatures[firsts])
    return [found[k] for k in inverse]


def articles_of_hits(hits: Iterable[Sequence[int]]) -> list[int]:
    """The articles, in order, holding the sentences of ``sentence_hits`` (``split_key``)."""
    keys = np.fromiter((k for row in hits for k in row), dtype=np.int64)
    return cast(list[int], np.unique(keys // MAX_SENTENCES).tolist())


def sign_documents(docs: Sequence[PreparedDocument], mh: MinHashConfig, sentences: bool = True) -> None:
    """Give prepared articles their document signature and (``sentences``) their sentence signatures,
    all signed in two calls."""
    doc_sigs = signatures([d.doc_shingles for d in docs], mh.num_perm, mh.seed)
    for doc, sig in zip(docs, doc_sigs, strict=True):
        doc.doc_minhash = sig
    if not sentences:
        return
    sent_sigs = signatures([s for d in docs for s in d.sentence_shingles], mh.num_perm, mh.seed)
    k = 0
    for doc in docs:
        doc.sentence_minhashes = sent_sigs[k : k + len(doc.sentences)]
        k += len(doc.sentences)


class MemoryArticleIndex:
    """``ArticleIndex`` in process: LSH (``config.lsh``), vector indexes (``config.vector_index``) and a
    dict, saved to one file of arrays. The vector indexes are made when first needed: their dimension
    (``dim``) may load the embedding model."""

    shared = False
    keeps_vectors = True

    def __init__(self, config: Config, dim: Callable[[], int]) -> None:
        self._config = config
        self._dim = dim
        self.undo: UndoLog | None = None
        self._reset()

    def _reset(self) -> None:
        mh = self._config.minhash
        self._doc_lsh: LshIndex = make_lsh(self._config.lsh, mh.doc_threshold, mh.num_perm)
        self._sent_lsh: LshIndex = make_lsh(self._config.lsh, mh.passage_threshold, mh.num_perm)
        self._sentence_by_words: dict[int, int] = {}
        self._sent_index: VectorIndex | None = None
        self._doc_index: VectorIndex | None = None

    def _indexes(self) -> tuple[VectorIndex, VectorIndex]:
        if self._sent_index is None or self._doc_index is None:
            dim = self._dim()
            self._sent_index = make_vector_index(self._config.vector_index, dim)
            self._doc_index = make_vector_index(self._config.vector_index, dim)
        return self._sent_index, self._doc_index

    def _on_undo(self, step: Callable[[], None]) -> None:
        """Record the step that undoes a change just made, while an undo log is set."""
        if self.undo is not None:
            self.undo.call(step)

    # -- changes --------------------------------------------------------------------------------------

    def add(self, docs: Sequence[PreparedDocument]) -> None:
        if not docs:
            return
        undo = self.undo  # None while loading: a million articles' sentences, not one call each
        for doc in docs:
            assert doc.doc_minhash is not None and doc.embeddings is not None and doc.vector is not None
            for s, sentence in enumerate(sentence_keys(doc)):
                key = words_key(doc, s)
                if undo is not None:
                    undo.save(self._sentence_by_words, key)
                self._sentence_by_words.setdefault(key, sentence)
        signed = [d for d in docs if len(d.doc_shingles)]
        if signed:
            doc_keys = [d.order for d in signed]
            doc_sigs = np.vstack([cast(np.ndarray, d.doc_minhash) for d in signed])
            self._doc_lsh.insert_many(doc_keys, doc_sigs)
            self._on_undo(lambda: _remove_all(self._doc_lsh, doc_keys, doc_sigs))
        with_sentences = [d for d in docs if len(d.sentences)]
        sent_index, doc_index = self._indexes()
        if with_sentences:
            keys = [k for d in with_sentences for k in sentence_keys(d)]
            sent_sigs = np.vstack([d.sentence_minhashes[:MAX_SENTENCES] for d in with_sentences])
            self._sent_lsh.insert_many(keys, sent_sigs)
            self._on_undo(lambda: _remove_all(self._sent_lsh, keys, sent_sigs))
        if with_sentences and self._config.align.candidate_neighbours > 0:
            sent_index.add(
                np.asarray(keys, dtype=np.int64),
                np.vstack([cast(np.ndarray, d.embeddings)[:MAX_SENTENCES] for d in with_sentences]),
            )
            self._on_undo(lambda: sent_index.remove(np.asarray(keys, dtype=np.int64)))
        doc_ids = np.array([d.order for d in docs], dtype=np.int64)
        doc_index.add(doc_ids, np.vstack([cast(np.ndarray, d.vector) for d in docs]))
        self._on_undo(lambda: doc_index.remove(doc_ids))
        drop_sentence_signatures(docs, self._config.minhash.num_perm)

    def remove(self, docs: Sequence[PreparedDocument]) -> None:
        if not docs:
            return
        signed = [d for d in docs if len(d.doc_shingles)]
        if signed:
            doc_keys = [d.order for d in signed]
            doc_sigs = np.vstack([cast(np.ndarray, d.doc_minhash) for d in signed])
            self._doc_lsh.remove_many(doc_keys, doc_sigs)
            self._on_undo(lambda: self._doc_lsh.insert_many(doc_keys, doc_sigs))
        keyed = [(d, sentence_keys(d)) for d in docs]
        keys = [k for _, ks in keyed for k in ks]
        if keys:
            mh = self._config.minhash
            sigs = np.vstack([sentence_signatures(d, mh, range(len(ks))) for d, ks in keyed if ks])
            self._sent_lsh.remove_many(keys, sigs)
            self._on_undo(lambda: self._sent_lsh.insert_many(keys, sigs))
        for doc in docs:
            for s in range(len(sentence_keys(doc))):
                words = words_key(doc, s)
                if self._sentence_by_words.get(words, -1) // MAX_SENTENCES == doc.order:
                    if self.undo is not None:
                        self.undo.save(self._sentence_by_words, words)
                    del self._sentence_by_words[words]
        sent_index, doc_index = self._indexes()
        if self._config.align.candidate_neighbours > 0 and keys:
            sent_index.remove(np.asarray(keys, dtype=np.int64))
            embeddings = np.vstack([cast(np.ndarray, d.embeddings)[: len(ks)] for d, ks in keyed if ks])
            self._on_undo(lambda: sent_index.add(np.asarray(keys, dtype=np.int64), embeddings))
        # One removal for all: a flat index's removal reads every vector it holds.
        orders = np.array([d.order for d in docs], dtype=np.int64)
        doc_index.remove(orders)
        vectors = [d.vector for d in docs]
        self._on_undo(lambda: doc_index.add(orders, np.vstack(cast(list[np.ndarray], vectors))))

    # -- queries --------------------------------------------------------------------------------------

    def take_writes(self) -> list[tuple[str, Sequence[Any], Sequence[Any]]]:
        return []

    def write_guard(self) -> tuple[str, str] | None:
        return None

    def articles_like(self, signature: np.ndarray) -> list[int]:
        return self._doc_lsh.query(signature)

    def sentence_hits(self, signatures: np.ndarray) -> list[list[int]]:
        limit = self._config.minhash.max_sentence_hits
        return hits_by_distinct_row(signatures, lambda rows: self._sent_lsh.query_many(rows, limit))

    def articles_sharing_sentences(self, signatures: np.ndarray) -> list[int]:
        return articles_of_hits(self.sentence_hits(signatures))

    def sentences_with_words(self, keys: Sequence[int]) -> list[int | None]:
        return [self._sentence_by_words.get(key) for key in keys]

    def articles_near_sentences(self, embeddings: np.ndarray, k: int, min_score: float) -> list[int]:
        sent_index, _ = self._indexes()
        if k <= 0 or not len(embeddings) or not len(sent_index):
            return []
        scores, ids = sent_index.search(embeddings, k)
        return [
            int(hit) // MAX_SENTENCES
            for score, hit in zip(scores.ravel(), ids.ravel(), strict=True)
            if hit >= 0 and score >= min_score
        ]

    def nearest_articles(self, vector: np.ndarray, k: int) -> list[tuple[float, int]]:
        _, doc_index = self._indexes()
        scores, ids = doc_index.search(vector[None, :], k)
        # The scores stay float32, as the engine compares them with its thresholds.
        return [(s, int(hit)) for s, hit in zip(scores[0], ids[0], strict=True) if hit >= 0]

    def sentences(self) -> int:
        return len(self._sent_lsh)

    def articles(self) -> int:
        return len(self._indexes()[1])

    def holds(self, seq: int) -> bool:
        return self._doc_index is not None and seq in self._doc_index

    def follow(self, added: Sequence[tuple[int, np.ndarray]], removed: Sequence[int]) -> None:
        raise TypeError("in-process indexes are not shared: the engine adds and removes every article")

    # -- saving ---------------------------------------------------------------------------------------

    def save(self, path: Path | None, header: Mapping[str, Any], seq_of: Callable[[str], int]) -> bool:
        if path is None or not isinstance(self._doc_lsh, BandedLsh):
            return False  # datasketch's index is not saved: rebuilt at every start
        write_arrays(path, dict(header), self._export(seq_of))
        return True

    def load(self, path: Path | None, binding: Any, ids: Mapping[int, str]) -> bool:
        if path is None or not isinstance(self._doc_lsh, BandedLsh):
            return False  # datasketch's index is not saved (``save``)
        try:
            if read_header(path).get("binding") != binding:
                logger.info("saved indexes in %s are of another database, state or version: rebuilding", path)
                return False
            _, arrays = read_arrays(path)
            self._restore(arrays, ids)
        except (SavedFileError, ValueError, KeyError) as exc:
            logger.warning("saved indexes in %s cannot be used (%s): rebuilding them", path, exc)
            self._reset()
            return False
        return True

    def _restore(self, arrays: dict[str, np.ndarray], by_seq: Mapping[int, str]) -> None:
        """The indexes from ``_export``'s arrays; ``ValueError`` when they do not fit the store."""
        if not isinstance(self._doc_lsh, BandedLsh) or not isinstance(self._sent_lsh, BandedLsh):
            raise ValueError(f"the {self._config.lsh!r} LSH backend is not saved")
        self._doc_lsh.restore(_part(arrays, "doc_lsh"))
        self._sent_lsh.restore(_part(arrays, "sent_lsh"))
        sent_index, doc_index = self._indexes()
        sent_index.restore(_part(arrays, "sent_index"))
        doc_index.restore(_part(arrays, "doc_index"))
        if len(doc_index) != len(by_seq):
            raise ValueError(f"the article index holds {len(doc_index)} articles, not {len(by_seq)}")
        words, seqs, sentences = arrays["words.hashes"], arrays["words.seqs"], arrays["words.sentences"]
        if words.dtype != np.uint64 or seqs.dtype != np.int64 or sentences.dtype != np.int64:
            raise ValueError("the map of stored sentences is not of integers")
        if not (words.ndim == seqs.ndim == sentences.ndim == 1 and len(words) == len(seqs) == len(sentences)):
            raise ValueError("the map of stored sentences is not three columns of one length")
        if not all(seq in by_seq for seq in set(seqs.tolist())):
            raise ValueError("the map of stored sentences names articles the store does not hold")
        rows = zip(words.tolist(), seqs.tolist(), sentences.tolist(), strict=True)
        # (a sentence past MAX_SENTENCES, of an article stored before the limit, has no key: not shared)
        self._sentence_by_words = {w: q * MAX_SENTENCES + t for w, q, t in rows if t < MAX_SENTENCES}

    def _export(self, seq_of: Callable[[str], int]) -> dict[str, np.ndarray]:
        """The indexes as arrays, the layout ``dedup.engine_state.INDEX_FORMAT`` names (a change of layout
        changes that number, so that files of the old one are rebuilt, not misread)."""
        if not isinstance(self._doc_lsh, BandedLsh) or not isinstance(self._sent_lsh, BandedLsh):
            raise ValueError(f"the {self._config.lsh!r} LSH backend is not saved")
        sent_index, doc_index = self._indexes()
        out: dict[str, np.ndarray] = {}
        for name, part in (
            ("doc_lsh", self._doc_lsh.export()),
            ("sent_lsh", self._sent_lsh.export()),
            ("sent_index", sent_index.export()),
            ("doc_index", doc_index.export()),
        ):
            out.update((f"{name}.{key}", value) for key, value in part.items())
        entries = self._sentence_by_words
        out["words.hashes"] = np.fromiter(entries, dtype=np.uint64, count=len(entries))
        keys = np.fromiter(entries.values(), dtype=np.int64, count=len(entries))
        out["words.seqs"], out["words.sentences"] = keys // MAX_SENTENCES, keys % MAX_SENTENCES
        return out


def _part(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The arrays saved under ``name.``, without the prefix."""
    prefix = name + "."
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _remove_all(lsh: LshIndex, keys: Sequence[int], signatures: np.ndarray) -> None:
    """Take keys out of an LSH index (each with the signature it was inserted with)."""
    for key, sig in zip(keys, signatures, strict=True):
        lsh.remove(key, sig)
