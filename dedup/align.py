"""Passage alignment between two prepared articles, and directional coverage.

Two kinds of evidence are combined:

1. *Lexical*: maximal runs of identical words (seeded by exact ``seed_ngram``
   word n-grams and extended both ways), chained across small gaps. A lone run
   is VERBATIM; runs chained across edits are NEAR_VERBATIM.
2. *Sentence pairs*: each sentence of one article against each of the other,
   by word-sequence similarity (NEAR_VERBATIM) and, for pairs whose embedding
   cosine passes a cheap filter, the paraphrase model of ``dedup.paraphrase``
   (PARAPHRASE). Neighbouring aligned sentence pairs of the same kind merge
   into one passage.

Verbatim runs inside a NEAR_VERBATIM sentence passage are folded into it; runs
inside a PARAPHRASE passage stay, because a quote lifted word for word inside
a rewritten sentence is worth showing.

The work one pair of articles may cause is bounded, whatever their text
(``AlignConfig.max_sentence_pairs`` and ``max_pair_work``): sentences that are
word for word the same are never compared pair by pair (their verbatim runs
say it), at most ``max_sentence_pairs`` other sentence pairs are compared (the
most alike), and the word comparisons of run extension and word-sequence
matching stop at ``max_pair_work``. Ordinary articles stay far below both, so
their answers do not depend on them; a text that repeats itself thousands of
times reaches them and is then aligned in part.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import xxhash
from numba import njit

from dedup.config import AlignConfig
from dedup.document import PreparedDocument
from dedup.minhash import _shingle_hashes, expand_ranges, word_hashes
from dedup.paraphrase import (
    CONTENT,
    NEGATIONS,
    SentenceTerms,
    changes_only_facts,
    combine_kinds,
    probability,
    sentence_numbers,
    sentence_terms,
)
from dedup.results import Passage, PassageKind

__all__ = [
    "STOP_WORDS",
    "Run",
    "align",
    "coverage",
    "disjoint_runs",
    "matching_blocks_summary",
    "merge_spans",
    "paraphrase_decision",
    "paraphrase_features",
    "sequence_ratio",
    "verbatim_runs",
]

STOP_WORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being has have had
    do does did not no it its this that these those there their they them he she his her him we our us you
    your i me my so than then also into over about after before up down out off under again more most very
    can could will would shall should may might must said says say says told which who whom whose what when
    where why how all any both each few other some such only own same too just s t""".split()
)


@dataclass(frozen=True, slots=True)
class Run:
    """``length`` identical words at token ``i`` of a and token ``j`` of b."""

    i: int
    j: int
    length: int


def verbatim_runs(
    a: list[str] | np.ndarray,
    b: list[str] | np.ndarray,
    seed_ngram: int,
    a_blocks: list[int] | None = None,
    b_blocks: list[int] | None = None,
    max_positions: int = 64,
) -> list[Run]:
    """All maximal runs of at least ``seed_ngram`` identical words, not crossing block boundaries,
    sorted by position in a, then in b. ``a`` and ``b`` are words or their ``minhash.word_hashes``.

    In compiled code: the hash of every ``seed_ngram``-word window of b that stays inside one block,
    sorted (at most ``max_positions`` positions per window, the first ones), is looked up for every
    window of a. Only seeds that start a run (the words just before them differ) are extended."""
    n = seed_ngram
    ha = a if isinstance(a, np.ndarray) else word_hashes(a)
    hb = b if isinstance(b, np.ndarray) else word_hashes(b)
    ab = np.asarray(a_blocks if a_blocks is not None else np.zeros(len(ha)), dtype=np.int64)
    bb = np.asarray(b_blocks if b_blocks is not None else np.zeros(len(hb)), dtype=np.int64)
    rows, _ = _run_rows(ha, hb, ab, bb, n, max_positions)
    return [Run(i, j, length) for i, j, length in rows.tolist()]


UNLIMITED = 1 << 62
"""A work budget that is never reached."""


class _Budget:
    """What is left of the word comparisons one pair of articles may cost (``AlignConfig.max_pair_work``)."""

    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps

    @property
    def spent(self) -> bool:
        return self.left <= 0


def _run_rows(
    ha: np.ndarray,
    hb: np.ndarray,
    ab: np.ndarray,
    bb: np.ndarray,
    n: int,
    max_positions: int = 64,
    budget: int = UNLIMITED,
) -> tuple[np.ndarray, int]:
    """``verbatim_runs`` as rows (i, j, length) of an int64 array, and the work it took (seeds looked at
    and words compared): once that reaches ``budget``, no more runs are sought."""
    if len(ha) < n or len(hb) < n or n < 1:
        return np.zeros((0, 3), dtype=np.int64), 0
    rows, used = _verbatim_runs(
        np.ascontiguousarray(ha), np.ascontiguousarray(hb), ab, bb, n, max_positions, budget
    )
    return rows, int(used)


@njit(cache=True, nogil=True)
def _verbatim_runs(
    ha: np.ndarray, hb: np.ndarray, ab: np.ndarray, bb: np.ndarray, n: int, max_positions: int, budget: int
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled (numba)
    """``verbatim_runs`` in compiled code: rows (i, j, length), by i then j, and the work done: one step
    per seed looked at and per word a run is extended by. At ``budget`` steps it stops (a text that
    repeats one phrase has runs whose lengths add up to the square of its length)."""
    ga, gb = _shingle_hashes(ha, n), _shingle_hashes(hb, n)  # one hash per window, in order
    jb = np.array([j for j in range(len(gb)) if bb[j] == bb[j + n - 1]], dtype=np.int64)
    order = np.argsort(gb[jb], kind="mergesort")  # by hash, then position
    keys, js = gb[jb][order], jb[order]
    keep = np.ones(len(keys), dtype=np.bool_)  # the first max_positions positions of a window
    rank = 0
    for t in range(len(keys)):
        rank = rank + 1 if t and keys[t] == keys[t - 1] else 0
        keep[t] = rank < max_positions
    keys, js = keys[keep], js[keep]
    out = np.empty((16, 3), dtype=np.int64)
    count = 0
    steps = 0
    size_a, size_b = len(ha), len(hb)
    for i in range(len(ga)):
        if steps >= budget:
            break
        if ab[i] != ab[i + n - 1]:
            continue
        lo = np.searchsorted(keys, ga[i], side="left")
        hi = np.searchsorted(keys, ga[i], side="right")
        for t in range(lo, hi):
            steps += 1
            j = js[t]
            # a seed starts a run unless the words just before it are equal too, in the same blocks
            if i > 0 and j > 0 and ha[i - 1] == hb[j - 1] and ab[i - 1] == ab[i] and bb[j - 1] == bb[j]:
                continue
            length = n
            while (
                i + length < size_a
                and j + length < size_b
                and ha[i + length] == hb[j + length]
                and ab[i + length] == ab[i]
                and bb[j + length] == bb[j]
            ):
                length += 1
            steps += length - n
            if count == len(out):
                grown = np.empty((2 * count, 3), dtype=np.int64)
                grown[:count] = out
                out = grown
            out[count, 0], out[count, 1], out[count, 2] = i, j, length
            count += 1
    return out[:count], steps


def sequence_ratio(a: list[str] | np.ndarray, b: list[str] | np.ndarray) -> float:
    """difflib's similarity of two word sequences (words or their ``minhash.word_hashes``):
    2 * matched words / total words, as ``SequenceMatcher(None, a, b, autojunk=False).ratio()``."""
    if not len(a) and not len(b):
        return 1.0
    return 2.0 * matching_blocks_summary(a, b)[0] / (len(a) + len(b))


def matching_blocks_summary(
    a: list[str] | np.ndarray, b: list[str] | np.ndarray
) -> tuple[int, int, int, int, int]:
    """(matched, first_a, first_b, end_a, end_b): the words difflib's matching blocks cover
    (``SequenceMatcher(None, a, b, autojunk=False)``), where the first block starts and where the last
    one ends, in compiled code. (0, 0, 0, 0, 0) when nothing matches."""
    ha = a if isinstance(a, np.ndarray) else word_hashes(a)
    hb = b if isinstance(b, np.ndarray) else word_hashes(b)
    return _blocks_within(ha, hb, UNLIMITED)[0]


def _blocks_within(ha: np.ndarray, hb: np.ndarray, budget: int) -> tuple[tuple[int, int, int, int, int], int]:
    """``matching_blocks_summary`` of two word-hash sequences and the work it took; a search that reaches
    ``budget`` steps stops there, with the blocks found so far."""
    if not len(ha) or not len(hb):
        return (0, 0, 0, 0, 0), 0
    m, fa, fb, ea, eb, used = _matching_blocks(np.ascontiguousarray(ha), np.ascontiguousarray(hb), budget)
    return (int(m), int(fa), int(fb), int(ea), int(eb)), int(used)


@njit(cache=True, nogil=True)
def _matching_blocks(
    ha: np.ndarray, hb: np.ndarray, budget: int
) -> tuple[int, int, int, int, int, int]:  # pragma: no cover - compiled (numba)
    """difflib's get_matching_blocks without junk, on word hashes (compiled): the longest common run of
    a region (earliest in a, then in b, on ties), then the same left and right of it; and the work done,
    one step per pair of equal words looked at. Once that reaches ``budget`` no further region is
    searched (two sequences of one repeated word have as many such pairs as the product of their
    lengths, in every region)."""
    la, lb = len(ha), len(hb)
    b_positions = np.argsort(hb, kind="mergesort")  # b's positions of each word, ascending
    in_b = hb[b_positions]
    group_lo = np.searchsorted(in_b, ha, side="left")  # where a's word's positions in b are
    group_hi = np.searchsorted(in_b, ha, side="right")
    # Run lengths ending at (i, j) for the previous and the current row, valid where the stamp says so.
    lengths = np.zeros((2, lb + 1), dtype=np.int64)
    stamps = np.full((2, lb + 1), -1, dtype=np.int64)
    row = 0
    stack = np.empty((la + lb + 2, 4), dtype=np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, la, 0, lb
    top = 1
    matched, first_a, first_b, end_a, end_b = 0, la, lb, -1, -1
    steps = 0
    while top and steps < budget:
        top -= 1
        alo, ahi, blo, bhi = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        best_i, best_j, best = alo, blo, 0
        row += 2  # a fresh stamp range: nothing from an earlier region counts
        for i in range(alo, ahi):
            if steps >= budget:  # the region's longest run so far stands for it
                break
            cur, prev = i & 1, 1 - (i & 1)
            stamp = row + (i - alo)
            steps += group_hi[i] - group_lo[i]
            for t in range(group_lo[i], group_hi[i]):
                j = b_positions[t]
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = 1
                if j > 0 and stamps[prev, j] == stamp - 1:
                    k = lengths[prev, j] + 1
                lengths[cur, j + 1] = k
                stamps[cur, j + 1] = stamp
                if k > best:
                    best_i, best_j, best = i - k + 1, j - k + 1, k
        row += ahi - alo
        if best:
            matched += best
            if best_i < first_a:
                first_a, first_b = best_i, best_j
            if best_i + best > end_a:
                end_a, end_b = best_i + best, best_j + best
            if alo < best_i and blo < best_j:
                stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = alo, best_i, blo, best_j
                top += 1
            if best_i + best < ahi and best_j + best < bhi:
                stack[top, 0], stack[top, 1] = best_i + best, ahi
                stack[top, 2], stack[top, 3] = best_j + best, bhi
                top += 1
    if not matched:
        return 0, 0, 0, 0, 0, steps
    return matched, first_a, first_b, end_a, end_b, steps


def disjoint_runs(runs: list[Run]) -> list[Run]:
    """Greedily keep the longest runs (then the earliest in a, then in b) that overlap no kept run on
    either side; sorted by position in a, then in b."""
    if not runs:
        return []
    rows = np.array([(r.i, r.j, r.length) for r in runs], dtype=np.int64)
    return [Run(i, j, length) for i, j, length in _disjoint_rows(rows).tolist()]


def _disjoint_rows(rows: np.ndarray) -> np.ndarray:
    """``disjoint_runs`` on rows (i, j, length)."""
    if not len(rows):
        return rows
    order = np.lexsort((rows[:, 1], rows[:, 0], -rows[:, 2]))
    kept = rows[_greedy_disjoint(rows, order)]
    return kept[np.lexsort((kept[:, 1], kept[:, 0]))]


@njit(cache=True, nogil=True)
def _greedy_disjoint(rows: np.ndarray, order: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    size_a = (rows[:, 0] + rows[:, 2]).max()
    size_b = (rows[:, 1] + rows[:, 2]).max()
    used_a = np.zeros(size_a, dtype=np.bool_)
    used_b = np.zeros(size_b, dtype=np.bool_)
    keep = np.zeros(len(rows), dtype=np.bool_)
    for r in order:
        i, j, length = rows[r, 0], rows[r, 1], rows[r, 2]
        if used_a[i : i + length].any() or used_b[j : j + length].any():
            continue
        used_a[i : i + length] = True
        used_b[j : j + length] = True
        keep[r] = True
    return keep


@dataclass(slots=True)
class _Span:
    """A candidate passage in token or sentence coordinates, before it becomes a Passage."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    kind: PassageKind
    score: float


def _lexical_spans(
    a: PreparedDocument, b: PreparedDocument, cfg: AlignConfig, budget: _Budget | None = None
) -> list[_Span]:
    budget = budget or _Budget(UNLIMITED)
    rows, used = _run_rows(
        a.token_hashes, b.token_hashes, a.token_block, b.token_block, cfg.seed_ngram, budget=budget.left
    )
    budget.spend(used)
    if not len(rows):
        return []  # most candidates share no run of words: the per-article arrays below are not needed
    content = _content_prefix_tokens(a)  # content words before each token of a
    runs = [Run(i, j, length) for i, j, length in _disjoint_rows(rows).tolist()]
    chains: list[list[Run]] = []
    for r in runs:
        if chains:
            last = chains[-1][-1]
            gap_a = r.i - (last.i + last.length)
            gap_b = r.j - (last.j + last.length)
            if 0 <= gap_a <= cfg.max_gap_tokens and 0 <= gap_b <= cfg.max_gap_tokens:
                chains[-1].append(r)
                continue
        chains.append([r])
    spans = []
    for chain in chains:
        i0, j0 = chain[0].i, chain[0].j
        i1, j1 = chain[-1].i + chain[-1].length, chain[-1].j + chain[-1].length
        matched = sum(r.length for r in chain)
        exact = all(
            nxt.i == prev.i + prev.length and nxt.j == prev.j + prev.length
            for prev, nxt in itertools.pairwise(chain)
        )
        if (
            exact
            and matched >= cfg.min_verbatim_tokens
            and content[i1] - content[i0] >= cfg.min_content_tokens
        ):
            spans.append(_token_span(a, b, i0, i1, j0, j1, PassageKind.VERBATIM, 1.0))
            continue
        if len(chain) > 1 and matched >= cfg.min_verbatim_tokens and not budget.spent:
            (words, _, _, _, _), used = _blocks_within(
                a.token_hashes[i0:i1], b.token_hashes[j0:j1], budget.left
            )
            budget.spend(used)
            ratio = 2.0 * words / ((i1 - i0) + (j1 - j0))
            if ratio >= cfg.near_verbatim_ratio and content[i1] - content[i0] >= cfg.min_content_tokens:
                # Identical words whose runs were only cut by sentence ends (text wrapped or split
                # differently) are still word for word.
                kind = PassageKind.VERBATIM if ratio == 1.0 else PassageKind.NEAR_VERBATIM
                spans.append(_token_span(a, b, i0, i1, j0, j1, kind, ratio))
                continue
        for r in chain:
            content_words = content[r.i + r.length] - content[r.i]
            if r.length >= cfg.min_verbatim_tokens and content_words >= cfg.min_content_tokens:
                spans.append(
                    _token_span(a, b, r.i, r.i + r.length, r.j, r.j + r.length, PassageKind.VERBATIM, 1.0)
                )
    return spans


_T = TypeVar("_T")


PER_ARTICLE_CACHE = 4096
"""How many articles keep the arrays ``_per_article`` computes for them (content-word counts, the
content prefix, the words' kinds for the paraphrase model): the most recently matched ones still in
memory (the engine keeps thousands of prepared articles resident), at about 20 KB each."""


def _per_article(compute: Callable[[PreparedDocument], _T]) -> Callable[[PreparedDocument], _T]:
    """``compute(doc)``, kept for the ``PER_ARTICLE_CACHE`` articles used most recently: an article matched
    again soon (its story is in the news) does not pay for it twice."""
    cache: OrderedDict[weakref.ref[PreparedDocument], _T] = OrderedDict()
    lock = threading.Lock()
    dead: list[weakref.ref[PreparedDocument]] = []  # keys of articles gone from memory, dropped next call

    @functools.wraps(compute)
    def once(doc: PreparedDocument) -> _T:
        key = weakref.ref(doc, dead.append)  # equal to any other live reference to doc (hashed by identity)
        with lock:
            while dead:
                cache.pop(dead.pop(), None)
            value = cache.get(key)
            if value is not None:
                cache.move_to_end(key)
                return value
        value = compute(doc)
        with lock:
            cache[key] = value
            while len(cache) > PER_ARTICLE_CACHE:
                cache.popitem(last=False)
        return value

    once.cache = cache  # type: ignore[attr-defined]  # for tests
    return once


def _content_prefix_tokens(doc: PreparedDocument) -> np.ndarray:
    """For each token index ``i`` of ``doc``, how many of the tokens before it are content words (not
    in ``STOP_WORDS``)."""
    content = (_word_kinds(doc) & CONTENT) != 0
    prefix = np.zeros(len(content) + 1, dtype=np.int32)
    np.cumsum(content, out=prefix[1:])
    return prefix


def _token_span(
    a: PreparedDocument,
    b: PreparedDocument,
    i0: int,
    i1: int,
    j0: int,
    j1: int,
    kind: PassageKind,
    score: float,
) -> _Span:
    """The character span of tokens [i0, i1) of a and [j0, j1) of b, taking in the punctuation
    right around them where both sides have the same ("authority." and "authority.")."""
    a_start, a_end = int(a.token_starts[i0]), int(a.token_ends[i1 - 1])
    b_start, b_end = int(b.token_starts[j0]), int(b.token_ends[j1 - 1])
    ta, tb = a.text, b.text
    for _ in range(3):
        if a_end < len(ta) and b_end < len(tb) and ta[a_end] == tb[b_end] and _is_punct(ta[a_end]):
            a_end, b_end = a_end + 1, b_end + 1
    for _ in range(3):
        if a_start and b_start and ta[a_start - 1] == tb[b_start - 1] and _is_punct(ta[a_start - 1]):
            a_start, b_start = a_start - 1, b_start - 1
    return _Span(a_start, a_end, b_start, b_end, kind, score)


def _is_punct(ch: str) -> bool:
    return not ch.isalnum() and not ch.isspace()


_SentencePair = tuple[int, int, PassageKind, float, tuple[int, int, int, int] | None]
"""(i, j, kind, score, words): sentence i of a and j of b; for NEAR_VERBATIM, ``words`` holds the
token range [first, last) of the words the two share, in a and in b."""


def _lexical_candidates(a: PreparedDocument, b: PreparedDocument, min_dice: float) -> np.ndarray:
    """For every sentence pair, whether their word sets share at least one word and have a Dice
    coefficient of at least ``min_dice``: the pairs worth a word-sequence comparison. Words are their
    hashes; each article's distinct words per sentence are sorted once (``_sentence_words``), and a
    pair of articles is one merge of the two (compiled): memory for the answer alone, and work for the
    words the two share."""
    hashes_a, sentences_a, sizes_a = _sentence_words(a)
    hashes_b, sentences_b, sizes_b = _sentence_words(b)
    return _dice_candidates(hashes_a, sentences_a, sizes_a, hashes_b, sentences_b, sizes_b, min_dice)


@_per_article
def _sentence_words(doc: PreparedDocument) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sentence's distinct words as (word hash, sentence) pairs sorted by hash, then sentence; and
    the number of distinct words of each sentence."""
    ids, rows = _sentence_word_ids(doc)
    order = np.lexsort((rows, ids))
    ids, rows = ids[order], rows[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = (ids[1:] != ids[:-1]) | (rows[1:] != rows[:-1])
    ids, rows = np.ascontiguousarray(ids[first]), np.ascontiguousarray(rows[first])
    return ids, rows, np.bincount(rows, minlength=len(doc.sentences)).astype(np.int64)


@njit(cache=True, nogil=True)
def _dice_candidates(
    hashes_a: np.ndarray,
    sentences_a: np.ndarray,
    size_a: np.ndarray,
    hashes_b: np.ndarray,
    sentences_b: np.ndarray,
    size_b: np.ndarray,
    min_dice: float,
) -> np.ndarray:  # pragma: no cover - compiled (numba)
    """``_lexical_candidates`` from the two articles' ``_sentence_words``: walking both lists of
    (word, sentence) in word order, every word the two share counts once for each pair of sentences
    holding it."""
    na, nb = len(size_a), len(size_b)
    shared = np.zeros((na, nb), dtype=np.int64)
    i, j = 0, 0
    while i < len(hashes_a) and j < len(hashes_b):
        if hashes_a[i] < hashes_b[j]:
            i += 1
        elif hashes_a[i] > hashes_b[j]:
            j += 1
        else:
            word = hashes_a[i]
            i_end, j_end = i, j
            while i_end < len(hashes_a) and hashes_a[i_end] == word:
                i_end += 1
            while j_end < len(hashes_b) and hashes_b[j_end] == word:
                j_end += 1
            for p in range(i, i_end):
                for q in range(j, j_end):
                    shared[sentences_a[p], sentences_b[q]] += 1
            i, j = i_end, j_end
    out = np.zeros((na, nb), dtype=np.bool_)
    for x in range(na):
        for y in range(nb):
            sizes = size_a[x] + size_b[y]
            if shared[x, y] > 0 and 2.0 * shared[x, y] / sizes >= min_dice:
                out[x, y] = True
    return out


@_per_article
def _sentence_keys(doc: PreparedDocument) -> np.ndarray:
    """A 128-bit hash of each sentence's words in order, as two uint64 columns: sentences with the same
    words have the same key, and two with different words the same key with odds of 2^-128."""
    digests = [xxhash.xxh3_128_intdigest(doc.token_hashes[lo:hi].tobytes()) for lo, hi in doc.sentence_tokens]
    keys = np.zeros((len(digests), 2), dtype=np.uint64)
    if digests:
        keys[:, 0] = [d >> 64 for d in digests]
        keys[:, 1] = [d & 0xFFFF_FFFF_FFFF_FFFF for d in digests]
    return keys


def _same_sentences(a: PreparedDocument, b: PreparedDocument) -> np.ndarray:
    """For every sentence pair, whether the two are the same words (word hashes) in the same order."""
    ka, kb = _sentence_keys(a), _sentence_keys(b)
    return (ka[:, None, 0] == kb[None, :, 0]) & (ka[:, None, 1] == kb[None, :, 1])


def _sentence_word_ids(doc: PreparedDocument) -> tuple[np.ndarray, np.ndarray]:
    """The word hashes of each sentence's tokens, and the sentence of each (repeats kept)."""
    ranges = np.asarray(doc.sentence_tokens, dtype=np.int64).reshape(-1, 2)
    lengths = ranges[:, 1] - ranges[:, 0]
    positions = expand_ranges(ranges[:, 0], lengths)
    return doc.token_hashes[positions], np.repeat(np.arange(len(ranges)), lengths)


def _sentence_pairs(
    a: PreparedDocument, b: PreparedDocument, cfg: AlignConfig, budget: _Budget | None = None
) -> list[_SentencePair]:
    """Aligned sentence pairs, each the best match of i or of j. Pairs of sentences that are the same
    words are not among them: they are VERBATIM, which the verbatim runs report (they only make any
    other match of either sentence not the best)."""
    budget = budget or _Budget(UNLIMITED)
    na, nb = len(a.sentences), len(b.sentences)
    if not na or not nb:
        return []
    cos = None
    if a.embeddings is not None and b.embeddings is not None:
        cos = a.embeddings.astype(np.float32) @ b.embeddings.astype(np.float32).T  # kept as float16
    lexical = _lexical_candidates(a, b, cfg.near_verbatim_ratio * 0.8)
    paraphrase = cos >= cfg.paraphrase_min_cosine if cos is not None else np.zeros((na, nb), dtype=bool)
    worth = lexical | paraphrase
    if not worth.any():
        return []  # nothing to compare: a pair of the same sentences is never among the answers
    same = _same_sentences(a, b)
    cells = np.flatnonzero(worth & ~same)  # row by row, as np.argwhere
    if len(cells) > cfg.max_sentence_pairs:
        # The most alike: sharing words first, then by cosine (argpartition: the same answer every time).
        alike = lexical.ravel()[cells] * 2.0 + (cos.ravel()[cells] if cos is not None else 0.0)
        kept = np.argpartition(-alike, cfg.max_sentence_pairs - 1)[: cfg.max_sentence_pairs]
        cells = cells[np.sort(kept)]
    candidates: dict[tuple[int, int], tuple[PassageKind, float, tuple[int, int, int, int] | None]] = {}
    undecided: list[tuple[int, int]] = []  # pairs left to the paraphrase decision
    for i, j in zip(*np.divmod(cells, nb), strict=True):
        i, j = int(i), int(j)
        if lexical[i, j] and not budget.spent:
            lo_a, hi_a = a.sentence_tokens[i]
            lo_b, hi_b = b.sentence_tokens[j]
            (matched, first_a, first_b, end_a, end_b), used = _blocks_within(
                a.token_hashes[lo_a:hi_a], b.token_hashes[lo_b:hi_b], budget.left
            )
            budget.spend(used)
            ratio = 2.0 * matched / (hi_a - lo_a + hi_b - lo_b)
            if ratio >= cfg.near_verbatim_ratio:
                bounds = (lo_a + first_a, lo_a + end_a, lo_b + first_b, lo_b + end_b)
                candidates[(i, j)] = (PassageKind.NEAR_VERBATIM, ratio, bounds)
                continue
        if paraphrase[i, j]:
            undecided.append((i, j))
    best_a: dict[int, float] = dict.fromkeys(np.flatnonzero(same.any(axis=1)).tolist(), 1.0)
    best_b: dict[int, float] = dict.fromkeys(np.flatnonzero(same.any(axis=0)).tolist(), 1.0)
    for (i, j), (_, score, _) in candidates.items():
        best_a[i] = max(best_a.get(i, 0.0), score)
        best_b[j] = max(best_b.get(j, 0.0), score)
    if undecided and cos is not None:
        # Closest first, a batch at a time: a pair whose sentences both already have a better match is
        # dropped below whatever the decision, so it is not asked (the paraphrase score is the cosine).
        scores = cos[tuple(np.array(undecided).T)].astype(np.float64)
        order = np.argsort(-scores, kind="stable").tolist()
        at = 0
        while at < len(order):
            ask: list[tuple[int, int]] = []
            while at < len(order) and len(ask) < _PARAPHRASE_BATCH:
                i, j = undecided[order[at]]
                at += 1
                score = float(cos[i, j])
                if best_a.get(i, -1.0) <= score or best_b.get(j, -1.0) <= score:
                    ask.append((i, j))
            if not ask:
                continue
            for (i, j), yes in zip(ask, _paraphrase_pairs(a, b, ask, cos, cfg, budget).tolist(), strict=True):
                if yes:
                    score = float(cos[i, j])
                    candidates[(i, j)] = (PassageKind.PARAPHRASE, score, None)
                    best_a[i] = max(best_a.get(i, 0.0), score)
                    best_b[j] = max(best_b.get(j, 0.0), score)
    return sorted(
        ((i, j, kind, score, bounds) for (i, j), (kind, score, bounds) in candidates.items()
         if score >= best_a[i] or score >= best_b[j]),
        key=lambda p: (p[0], p[1]),
    )  # fmt: skip


def _terms(doc: PreparedDocument, s: int, kinds: np.ndarray | None = None) -> SentenceTerms:
    """The paraphrase model's terms of sentence ``s`` of ``doc`` (``kinds``: ``_word_kinds(doc)``)."""
    lo, hi = doc.sentence_tokens[s]
    start = int(doc.word_ends[lo - 1]) + 1 if lo else 0
    words = doc.words[start : int(doc.word_ends[hi - 1])] if hi > lo else ""
    kinds = _word_kinds(doc) if kinds is None else kinds
    return sentence_terms(doc.sentence_text(s), words, doc.token_hashes[lo:hi], kinds[lo:hi])


@functools.cache
def _word_sets() -> tuple[np.ndarray, np.ndarray]:
    """The hashes (``word_hashes``, sorted) of the stop words and of the negations."""
    return np.sort(word_hashes(sorted(STOP_WORDS))), np.sort(word_hashes(sorted(NEGATIONS)))


def _among(hashes: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Whether each of ``hashes`` is one of the sorted ``ordered``."""
    at = np.minimum(np.searchsorted(ordered, hashes), len(ordered) - 1)
    return ordered[at] == hashes


def _words_at(doc: PreparedDocument, positions: list[int] | np.ndarray) -> np.ndarray:
    """The tokens whose words hold the given offsets of ``doc.words`` (the first word whose end, the
    space after it, is past the offset)."""
    return np.searchsorted(doc.word_ends, np.asarray(positions, dtype=np.int64), side="right")


def _digits_at(text: str) -> np.ndarray:
    """The offsets of the decimal digits in ``text``: what paraphrase's numbers count (``\\d``, Unicode
    category Nd), found in the text's code points, with Python only for those outside ASCII."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    for at in np.flatnonzero(codes > 0x7F).tolist():
        digit[at] = chr(int(codes[at])).isdecimal()
    return np.flatnonzero(digit)


_NOT_ENDING = re.compile(r"n't ")  # a word that ends in "n't" (every word is followed by a space)


@_per_article
def _word_kinds(doc: PreparedDocument) -> np.ndarray:
    """Each token's kind for the paraphrase model (``paraphrase.word_kinds`` of the article's words,
    one byte a token), from its arrays: words compared by hash, digits and "n't" found by one search
    of the words, and Python only for words that start with a character outside ASCII. Computed once
    for an article, which is compared with many."""
    hashes = doc.token_hashes
    n = len(hashes)
    stop, negations = _word_sets()
    content = ~_among(hashes, stop)
    negation = _among(hashes, negations)
    if "n't " in doc.words:
        negation[_words_at(doc, [m.start() for m in _NOT_ENDING.finditer(doc.words)])] = True
    number = np.zeros(n, dtype=bool)
    number[_words_at(doc, _digits_at(doc.words))] = True
    codes = np.frombuffer(doc.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)[doc.token_starts]
    capital = (codes >= ord("A")) & (codes <= ord("Z"))
    for t in np.flatnonzero(codes > 0x7F).tolist():
        capital[t] = chr(int(codes[t])).isupper()
    first = np.zeros(n, dtype=bool)
    first[[lo for lo, hi in doc.sentence_tokens if hi > lo]] = True
    return combine_kinds(negation, number, content & capital & ~first, content)


def _in_order(x: SentenceTerms, y: SentenceTerms) -> tuple[SentenceTerms, SentenceTerms]:
    """The two sentences in a fixed order (shorter first, then by their words' hashes), so that the
    word matching, and so the features, are the same whichever side each comes from."""
    if (len(x.hashes), x.hashes.tolist()) > (len(y.hashes), y.hashes.tolist()):
        return y, x
    return x, y


_PARAPHRASE_BATCH = 64
"""Sentence pairs the paraphrase model is asked about at once (closest first): larger batches pay less
per call, smaller ones skip more pairs that better matches have made moot."""


def _paraphrase_pairs(
    a: PreparedDocument,
    b: PreparedDocument,
    pairs: list[tuple[int, int]],
    cos: np.ndarray,
    cfg: AlignConfig,
    budget: _Budget | None = None,
) -> np.ndarray:
    """The paraphrase decision (``paraphrase.is_paraphrase``) for each (i, j) of ``pairs``, sentence i
    of a and j of b, whose cosine is ``cos[i, j]``: the features of all of them computed at once."""
    rows = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    cosines = cos[rows[:, 0], rows[:, 1]].astype(np.float64)
    features, facts = _pair_features(a, b, rows, cosines, budget)
    p = probability(features, cfg.paraphrase_weights)
    return (
        (cosines >= cfg.paraphrase_min_cosine)
        & ~facts
        & ((cosines >= cfg.paraphrase_cosine) | (p >= cfg.paraphrase_threshold))
    )


def _pair_features(
    a: PreparedDocument,
    b: PreparedDocument,
    rows: np.ndarray,
    cosines: np.ndarray,
    budget: _Budget | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``paraphrase.pair_features`` (one row each) and ``paraphrase.changes_only_facts`` of the sentence
    pairs ``rows`` (i of a, j of b): the sets compared in compiled code (``_pair_counts``), the numbers
    and the rule in Python where a pair has numbers or as many words but negations on each side."""
    ka, kb = _word_kinds(a), _word_kinds(b)
    ra = np.asarray(a.sentence_tokens, dtype=np.int64).reshape(-1, 2)
    rb = np.asarray(b.sentence_tokens, dtype=np.int64).reshape(-1, 2)
    i, j = np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1])
    budget = budget or _Budget(UNLIMITED)
    counts, flags, used = _pair_counts(
        np.ascontiguousarray(a.token_hashes),
        np.ascontiguousarray(b.token_hashes),
        ka,
        kb,
        ra,
        rb,
        i,
        j,
        max(budget.left, 0),
    )
    budget.spend(int(used))
    numbers = np.zeros(len(rows))
    facts = np.zeros(len(rows), dtype=bool)
    numbers_a: dict[int, frozenset[str]] = {}
    numbers_b: dict[int, frozenset[str]] = {}
    for n in np.flatnonzero(flags[:, 0] | flags[:, 1]).tolist():
        x, y = int(i[n]), int(j[n])
        if x not in numbers_a:
            numbers_a[x] = sentence_numbers(a.sentence_text(x)) if flags[n, 0] else frozenset()
        if y not in numbers_b:
            numbers_b[y] = sentence_numbers(b.sentence_text(y)) if flags[n, 1] else frozenset()
        numbers[n] = len(numbers_a[x] ^ numbers_b[y])
    for n in np.flatnonzero(flags[:, 2]).tolist():
        facts[n] = changes_only_facts(_terms(a, int(i[n]), ka), _terms(b, int(j[n]), kb))
    features = np.column_stack(
        [
            cosines,
            counts[:, 0],
            counts[:, 1],
            counts[:, 2],
            np.log1p(numbers),
            np.log1p(counts[:, 3]),
            counts[:, 4],
            np.log1p(counts[:, 5]),
        ]
    )
    return features, facts


@njit(cache=True, nogil=True)
def _sentence_sets(
    h: np.ndarray, kinds: np.ndarray, ranges: np.ndarray, need: np.ndarray, code: int, mask: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled (numba)
    """Each needed sentence's set of word hashes (sorted, without repeats) among the words whose kind,
    masked with ``mask``, is ``code`` (mask 0: all words), as one array and each sentence's start in
    it (the others' sets are left empty)."""
    starts = np.zeros(len(ranges) + 1, dtype=np.int64)
    out = np.empty(len(h), dtype=h.dtype)
    count = 0
    for s in range(len(ranges)):
        starts[s] = count
        if not need[s]:
            continue
        lo, hi = ranges[s, 0], ranges[s, 1]
        v = np.sort(h[lo:hi][(kinds[lo:hi] & mask) == code])
        for u in range(len(v)):
            if u == 0 or v[u] != v[u - 1]:
                out[count] = v[u]
                count += 1
    starts[len(ranges)] = count
    return out[:count], starts


@njit(cache=True, nogil=True)
def _shared(x: np.ndarray, y: np.ndarray) -> int:  # pragma: no cover - compiled (numba)
    """How many values two sorted arrays without repeats have in common."""
    p = q = count = 0
    while p < len(x) and q < len(y):
        if x[p] == y[q]:
            count += 1
            p += 1
            q += 1
        elif x[p] < y[q]:
            p += 1
        else:
            q += 1
    return count


@njit(cache=True, nogil=True)
def _pair_counts(
    ha: np.ndarray,
    hb: np.ndarray,
    ka: np.ndarray,
    kb: np.ndarray,
    ra: np.ndarray,
    rb: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    budget: int,
) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled (numba)
    """For each pair (sentence ``pi[t]`` of a, ``pj[t]`` of b; token hashes ``ha``, ``hb``, kinds ``ka``,
    ``kb``, sentence token ranges ``ra``, ``rb``): the features ``paraphrase.pair_features`` computes
    from the words, before any log (dice, sequence, length, swapped names, negation, edges), and
    flags (a has a number, b has a number, as many words but negations on each side). The two
    sentences are matched in ``_in_order``'s order: the shorter first, then the smaller hashes. Their
    word sequences are matched (``_matching_blocks``) within ``budget`` steps in all; the work done is
    returned too."""
    need_a = np.zeros(len(ra), dtype=np.bool_)
    need_b = np.zeros(len(rb), dtype=np.bool_)
    need_a[pi] = True
    need_b[pj] = True
    content_a, content_at_a = _sentence_sets(ha, ka, ra, need_a, 4, 4)
    content_b, content_at_b = _sentence_sets(hb, kb, rb, need_b, 4, 4)
    words_a, words_at_a = _sentence_sets(ha, ka, ra, need_a, 0, 0)
    words_b, words_at_b = _sentence_sets(hb, kb, rb, need_b, 0, 0)
    names_a, names_at_a = _sentence_sets(ha, ka, ra, need_a, 1, 3)
    names_b, names_at_b = _sentence_sets(hb, kb, rb, need_b, 1, 3)
    before_a = np.zeros(len(ka) + 1, dtype=np.int64)  # content words before each token
    for u in range(len(ka)):
        before_a[u + 1] = before_a[u] + (1 if ka[u] & 4 else 0)
    before_b = np.zeros(len(kb) + 1, dtype=np.int64)
    for u in range(len(kb)):
        before_b[u + 1] = before_b[u] + (1 if kb[u] & 4 else 0)
    k = len(pi)
    out = np.zeros((k, 6), dtype=np.float64)
    flags = np.zeros((k, 3), dtype=np.bool_)
    steps = 0
    for t in range(k):
        i, j = pi[t], pj[t]
        x0, x1, y0, y1 = ra[i, 0], ra[i, 1], rb[j, 0], rb[j, 1]
        lx, ly = x1 - x0, y1 - y0
        swap = lx > ly
        if lx == ly:
            for u in range(lx):
                if ha[x0 + u] != hb[y0 + u]:
                    swap = ha[x0 + u] > hb[y0 + u]
                    break
        m, fx, fy, ex, ey = 0, 0, 0, 0, 0
        if lx and ly:
            if swap:
                m, fy, fx, ey, ex, used = _matching_blocks(hb[y0:y1], ha[x0:x1], budget - steps)
            else:
                m, fx, fy, ex, ey, used = _matching_blocks(ha[x0:x1], hb[y0:y1], budget - steps)
            steps += used
        cx = content_a[content_at_a[i] : content_at_a[i + 1]]
        cy = content_b[content_at_b[j] : content_at_b[j + 1]]
        if len(cx) + len(cy):
            out[t, 0] = 2.0 * _shared(cx, cy) / (len(cx) + len(cy))
        if lx + ly:
            out[t, 1] = 2.0 * m / (lx + ly)
        if lx and ly:
            out[t, 2] = min(lx, ly) / max(lx, ly)
        nx = names_a[names_at_a[i] : names_at_a[i + 1]]
        ny = names_b[names_at_b[j] : names_at_b[j + 1]]
        lost_x = len(nx) - _shared(nx, words_b[words_at_b[j] : words_at_b[j + 1]])
        lost_y = len(ny) - _shared(ny, words_a[words_at_a[i] : words_at_a[i + 1]])
        out[t, 3] = min(lost_x, lost_y)
        neg_x = neg_y = 0
        has_x = has_y = False
        for u in range(x0, x1):
            neg_x += (ka[u] & 3) == 3
            has_x = has_x or (ka[u] & 3) == 2
        for u in range(y0, y1):
            neg_y += (kb[u] & 3) == 3
            has_y = has_y or (kb[u] & 3) == 2
        out[t, 4] = 1.0 if (neg_x > 0) != (neg_y > 0) else 0.0
        lead = abs((before_a[x0 + fx] - before_a[x0]) - (before_b[y0 + fy] - before_b[y0]))
        trail = abs((before_a[x1] - before_a[x0 + ex]) - (before_b[y1] - before_b[y0 + ey]))
        out[t, 5] = max(lead, trail)
        flags[t, 0], flags[t, 1], flags[t, 2] = has_x, has_y, lx - neg_x == ly - neg_y
    return out, flags, steps


def _cosines(a: PreparedDocument, b: PreparedDocument) -> np.ndarray:
    """The sentence cosines, as ``_sentence_pairs`` computes them."""
    if a.embeddings is None or b.embeddings is None:
        raise ValueError("the paraphrase decision needs both articles embedded")
    return a.embeddings.astype(np.float32) @ b.embeddings.astype(np.float32).T


def paraphrase_features(a: PreparedDocument, i: int, b: PreparedDocument, j: int) -> tuple[list[float], bool]:
    """The paraphrase model's features of sentence ``i`` of a and ``j`` of b (``PARAPHRASE_FEATURES``
    order), and whether the two are the same words with another fact (``changes_only_facts``): what
    ``align`` decides on, computed as it does, for fitting and evaluating the model. Both articles must
    be embedded."""
    rows = np.array([[i, j]], dtype=np.int64)
    features, facts = _pair_features(a, b, rows, np.array([_cosines(a, b)[i, j]], dtype=np.float64))
    return features[0].tolist(), bool(facts[0])


def paraphrase_decision(a: PreparedDocument, i: int, b: PreparedDocument, j: int, cfg: AlignConfig) -> bool:
    """Whether ``align`` takes sentence ``i`` of a and ``j`` of b for a paraphrase when they are not
    word for word (the cosine filter, the rule, the cosine that suffices and the model). False if
    either is not embedded."""
    if a.embeddings is None or b.embeddings is None:
        return False
    return bool(_paraphrase_pairs(a, b, [(i, j)], _cosines(a, b), cfg)[0])


def _merge_sentence_pairs(
    a: PreparedDocument, b: PreparedDocument, pairs: list[_SentencePair]
) -> list[_Span]:
    """Merge aligned sentence pairs that are neighbours on both sides and of one kind. A
    NEAR_VERBATIM passage spans the words the sentences share, not the whole sentences."""
    parent = list(range(len(pairs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    index = {(i, j): n for n, (i, j, _, _, _) in enumerate(pairs)}
    for n, (i, j, kind, _, _) in enumerate(pairs):
        for di, dj in ((1, 1), (1, 0), (0, 1)):
            m = index.get((i + di, j + dj))
            if m is not None and pairs[m][2] == kind:
                parent[find(m)] = find(n)
    groups: dict[int, list[int]] = defaultdict(list)
    for n in range(len(pairs)):
        groups[find(n)].append(n)
    spans = []
    for members in groups.values():
        sa = [pairs[n][0] for n in members]
        sb = [pairs[n][1] for n in members]
        kind = pairs[members[0]][2]
        score = float(np.mean([pairs[n][3] for n in members]))
        bounds = [pairs[n][4] for n in members]
        if kind is PassageKind.NEAR_VERBATIM and all(x is not None for x in bounds):
            words = [x for x in bounds if x is not None]
            spans.append(
                _token_span(
                    a,
                    b,
                    min(x[0] for x in words),
                    max(x[1] for x in words),
                    min(x[2] for x in words),
                    max(x[3] for x in words),
                    kind,
                    score,
                )
            )
            continue
        spans.append(
            _Span(
                a.sentences[min(sa)].start,
                a.sentences[max(sa)].end,
                b.sentences[min(sb)].start,
                b.sentences[max(sb)].end,
                kind,
                score,
            )
        )
    return spans


def _inside(inner: _Span, outer: _Span) -> bool:
    return (
        outer.a_start <= inner.a_start
        and inner.a_end <= outer.a_end
        and outer.b_start <= inner.b_start
        and inner.b_end <= outer.b_end
    )


def _covered_tokens(doc: PreparedDocument, spans: list[tuple[int, int]]) -> np.ndarray:
    """For each token of ``doc``, whether it starts inside one of the character ``spans``."""
    starts = doc.token_starts
    hit = np.zeros(len(starts), dtype=bool)
    for start, end in spans:
        hit[np.searchsorted(starts, start) : np.searchsorted(starts, end)] = True
    return hit


def _explained(
    i: int,
    j: int,
    a: PreparedDocument,
    b: PreparedDocument,
    hit_a: np.ndarray,
    hit_b: np.ndarray,
    share: float,
) -> bool:
    """Whether lexical spans already cover most words of sentence i of a and sentence j of b (``hit_a``
    and ``hit_b``: ``_covered_tokens`` of the lexical spans, on each side)."""

    def covered(doc: PreparedDocument, s: int, hit: np.ndarray) -> float:
        lo, hi = doc.sentence_tokens[s]
        return float(hit[lo:hi].mean()) if hi > lo else 1.0

    return covered(a, i, hit_a) >= share and covered(b, j, hit_b) >= share


def _merge_overlapping(spans: list[_Span]) -> list[_Span]:
    """Merge word-for-word spans that overlap on both sides into one: a VERBATIM span only if
    all its parts were, else NEAR_VERBATIM with the lowest score."""
    merged: list[_Span] = []
    for s in sorted(spans, key=lambda s: (s.a_start, s.b_start)):
        for m in merged:
            if s.a_start < m.a_end and m.a_start < s.a_end and s.b_start < m.b_end and m.b_start < s.b_end:
                both_verbatim = m.kind is PassageKind.VERBATIM and s.kind is PassageKind.VERBATIM
                m.a_start, m.a_end = min(m.a_start, s.a_start), max(m.a_end, s.a_end)
                m.b_start, m.b_end = min(m.b_start, s.b_start), max(m.b_end, s.b_end)
                m.kind = PassageKind.VERBATIM if both_verbatim else PassageKind.NEAR_VERBATIM
                m.score = min(m.score, s.score)
                break
        else:
            merged.append(_Span(s.a_start, s.a_end, s.b_start, s.b_end, s.kind, s.score))
    return merged


def align(a: PreparedDocument, b: PreparedDocument, cfg: AlignConfig) -> list[Passage]:
    """The passages a and b share, sorted by position in a."""
    budget = _Budget(cfg.max_pair_work)
    lexical = _lexical_spans(a, b, cfg, budget)
    hit_a = _covered_tokens(a, [(s.a_start, s.a_end) for s in lexical])
    hit_b = _covered_tokens(b, [(s.b_start, s.b_end) for s in lexical])
    pairs = [
        p
        for p in _sentence_pairs(a, b, cfg, budget)
        if p[2] is not PassageKind.VERBATIM
        and not _explained(p[0], p[1], a, b, hit_a, hit_b, cfg.explained_share)
    ]
    sentence_spans = _merge_sentence_pairs(a, b, pairs)
    near = [s for s in sentence_spans if s.kind is PassageKind.NEAR_VERBATIM]
    kept_lexical = [s for s in lexical if not any(_inside(s, n) for n in near)]
    spans = _merge_overlapping(kept_lexical + near) + [
        s for s in sentence_spans if s.kind is PassageKind.PARAPHRASE
    ]
    spans.sort(key=lambda s: (s.a_start, s.b_start, s.a_end))
    return [Passage(s.a_start, s.a_end, s.b_start, s.b_end, s.kind, s.score) for s in spans]


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open spans merged where they overlap or touch, sorted."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def coverage(doc: PreparedDocument, spans: list[tuple[int, int]]) -> float:
    """Share of ``doc``'s content characters (not white space, not boilerplate) inside ``spans``."""
    if not spans:
        return 0.0
    merged = merge_spans(spans)
    prefix = _content_prefix(doc)
    covered = sum(int(prefix[end] - prefix[start]) for start, end in merged)
    return min(1.0, covered / doc.content_chars)


_NOT_SPACE = np.array([not chr(c).isspace() for c in range(0x3002)], dtype=np.int32)
"""For each code point up to U+3001, 1 unless it is white space (the last white space is U+3000): a
text's code points, capped at U+3001, index it."""


@_per_article
def _content_prefix(doc: PreparedDocument) -> np.ndarray:
    """For each offset ``i`` of the text, how many content characters (not white space, not
    boilerplate) come before it."""
    text = doc.text
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    content = _NOT_SPACE[np.minimum(codes, 0x3001)]
    for m in doc.boilerplate:
        content[m.start : m.end] = 0
    prefix = np.zeros(len(text) + 1, dtype=np.int32)  # texts are at most limits.max_text_bytes long
    np.cumsum(content, out=prefix[1:])
    return prefix
