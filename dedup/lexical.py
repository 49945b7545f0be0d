"""The lexical tier on its own: which stored texts are near-copies of a new one, at firehose rates.

Normalise, cut words, hash 5-word shingles, MinHash, banded LSH; nothing else (no alignment, no
model). This is the first thing every article goes through, and what a user who only wants wire
copies and near-duplicates can run alone::

    index = LexicalIndex()
    for key, text in enumerate(texts):
        similar = index.add(key, text)  # [(earlier key, estimated Jaccard), ...]

Signing is the costly part and is pure: ``sign_texts`` can run in worker processes
(``workers=2``) while the index itself stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from dedup.config import MinHashConfig
from dedup.errors import InvalidArgument
from dedup.minhash import (
    LshIndex,
    MinHasher,
    group_rows,
    make_lsh,
    shingle_hashes,
    signatures,
    text_word_hashes,
)
from dedup.normalize import fold_text

__all__ = ["LexicalIndex", "sign_texts"]


def sign_texts(texts: Sequence[str], shingle: int = 5, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """Document MinHash signatures of raw texts (one uint32 row each): normalise, words, shingles, sign.
    A text with no words gets the empty signature (all positions at their maximum)."""
    sets = (shingle_hashes(text_word_hashes(fold_text(text)), shingle) for text in texts)
    return signatures(sets, num_perm, seed)  # one cached set of permutations, not one per call


class LexicalIndex:
    """Near-duplicate lookup over whole texts by MinHash LSH, with integer keys.

    ``threshold`` defaults to the document threshold of ``config`` (a low one: it finds candidates
    for alignment, which is what dedup's engine does with them); ``workers`` > 1 signs large batches
    in that many processes.
    """

    def __init__(
        self,
        config: MinHashConfig | None = None,
        lsh: str = "memory",
        threshold: float | None = None,
        workers: int = 1,
    ) -> None:
        self.config = config or MinHashConfig()
        c = self.config
        self.threshold = c.doc_threshold if threshold is None else threshold
        self._hasher = MinHasher(c.num_perm, c.seed)
        self._lsh: LshIndex = make_lsh(lsh, self.threshold, c.num_perm)
        self._rows: dict[int, int] = {}
        self._sigs = np.empty((1024, c.num_perm), dtype=np.uint32)
        self._free: list[int] = []
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of ``texts`` (in worker processes when the batch is large and workers > 1)."""
        parts = [sigs for _, sigs in self._signed_chunks(texts)]
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    def _signed_chunks(self, texts: Sequence[str]) -> Iterator[tuple[int, np.ndarray]]:
        """(first position, signatures) of consecutive chunks of ``texts``, in order. With workers,
        every chunk is submitted at once, so the caller can use one while the next are signed."""
        c = self.config
        if self.workers == 1 or len(texts) < 64:
            yield 0, sign_texts(texts, c.doc_shingle, c.num_perm, c.seed)
            return
        if self._pool is None:
            ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        step = min(2048, -(-len(texts) // (self.workers * 8)))
        starts = range(0, len(texts), step)
        args = (c.doc_shingle, c.num_perm, c.seed)
        futures = [self._pool.submit(sign_texts, texts[i : i + step], *args) for i in starts]
        for i, future in zip(starts, futures, strict=True):
            yield i, future.result()

    def _check_new(self, keys: Sequence[int]) -> None:
        seen: set[int] = set()
        for k in keys:
            if k in self._rows:
                raise InvalidArgument(f"key {k} is already in the lexical index; remove it first")
            if k in seen:
                raise InvalidArgument(f"key {k} is given twice in one batch; give each text its own key")
            seen.add(k)

    def _store_many(self, keys: Sequence[int], sigs: np.ndarray) -> None:
        """Keep the signatures of new keys (checked by ``_check_new``)."""
        n = len(keys)
        reuse = [self._free.pop() for _ in range(min(n, len(self._free)))]
        start = len(self._rows) + len(self._free) + len(reuse)  # rows in use or free: the next unused
        need = start + n - len(reuse)
        if need > len(self._sigs):
            grown = np.empty((max(need, 2 * len(self._sigs)), self._sigs.shape[1]), dtype=np.uint32)
            grown[:start] = self._sigs[:start]
            self._sigs = grown
        rows = reuse + list(range(start, need))
        self._sigs[rows] = sigs
        self._rows.update(zip(keys, rows, strict=True))

    def _scored(
        self, qsigs: np.ndarray, qrows: np.ndarray, keys: np.ndarray, n: int
    ) -> list[list[tuple[int, float]]]:
        """Candidates (row of ``qsigs``, key) scored by estimated Jaccard: one list a row, best first
        (ties by key)."""
        scores = np.empty(len(keys), dtype=np.float64)
        stored = np.fromiter(map(self._rows.__getitem__, keys.tolist()), dtype=np.int64, count=len(keys))
        step = 1 << 15  # pairs a block: bounds the temporary at 16 MB
        for lo in range(0, len(keys), step):
            q, r = qrows[lo : lo + step], stored[lo : lo + step]
            scores[lo : lo + step] = np.count_nonzero(qsigs[q] == self._sigs[r], axis=1)
        scores /= qsigs.shape[1]
        order = np.lexsort((keys, -scores, qrows))
        qrows, keys, scores = qrows[order], keys[order], scores[order]
        return group_rows(n, qrows, list(zip(keys.tolist(), scores.tolist(), strict=True)))

    def query(self, text: str) -> list[tuple[int, float]]:
        """Stored keys whose texts share enough shingles with ``text``, with estimated Jaccard, best first."""
        sigs = self.signatures([text])
        if np.array_equal(sigs[0], self._hasher.empty()):
            return []
        rows, keys = self._lsh.query_pairs(sigs)
        return self._scored(sigs, rows, keys, 1)[0]

    def add(self, key: int, text: str) -> list[tuple[int, float]]:
        """Store ``text`` under ``key``; return what it matched among the texts stored before it."""
        return self.add_many([key], [text])[0]

    def add_many(self, keys: Sequence[int], texts: Sequence[str]) -> list[list[tuple[int, float]]]:
        """Store many texts in order; each is matched against everything stored before it, earlier
        texts of the same batch included.

        The batch is handled as arrays, not text by text: a chunk at a time (while the workers sign
        the next ones), signatures are stored and inserted into the LSH, then looked up at once; a
        match inside the batch counts only if it came earlier."""
        if len(keys) != len(texts):
            raise InvalidArgument(f"{len(keys)} keys for {len(texts)} texts; give one key per text")
        self._check_new(keys)  # before anything is stored: a refused batch stores nothing
        out: list[list[tuple[int, float]]] = []
        for start, sigs in self._signed_chunks(texts):
            out.extend(self._add_signed(keys[start : start + len(sigs)], sigs))
        return out

    def _add_signed(self, keys: Sequence[int], sigs: np.ndarray) -> list[list[tuple[int, float]]]:
        if not len(keys):
            return []
        self._store_many(keys, sigs)
        words = np.flatnonzero((sigs != self._hasher.empty()).any(axis=1))  # no words: matches nothing
        batch_keys = np.asarray(keys, dtype=np.int64)
        self._lsh.insert_many(batch_keys[words].tolist(), sigs[words])
        rows, found = self._lsh.query_pairs(sigs[words])
        rows = words[rows]
        # a key of this chunk counts only when it came before the text that found it
        by_key = np.argsort(batch_keys, kind="stable")
        at = np.searchsorted(batch_keys, found, sorter=by_key).clip(max=len(keys) - 1)
        position = by_key[at]
        in_batch = batch_keys[position] == found
        keep = ~in_batch | (position < rows)
        return self._scored(sigs, rows[keep], found[keep], len(keys))

    def remove(self, key: int) -> None:
        """Forget ``key``; removing an absent key does nothing."""
        row = self._rows.pop(key, None)
        if row is None:
            return
        self._lsh.remove(key, self._sigs[row])
        self._free.append(row)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
