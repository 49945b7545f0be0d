"""The sentence-pair paraphrase decision: do two sentences say the same thing?

One embedding cosine is not enough: two sentences that share most of their words and differ in a
number, a name or a negation have a high cosine and say different things, and two sentences where
one adds a clause the other lacks are not the same statement either. The decision is a small
logistic model over features of the pair, fitted on development data (``benchmarks.paraphrase
--fit`` on a split of MRPC), whose weights and threshold are ``AlignConfig.paraphrase_weights`` and
``AlignConfig.paraphrase_threshold``. It decides the pairs whose cosine lies between
``AlignConfig.paraphrase_min_cosine`` (below: never a paraphrase, and the features are not computed)
and ``AlignConfig.paraphrase_cosine`` (above: always, as before the model; on MRPC the model does no
better than the cosine there, and a sentence that restates another and adds a clause is reuse, which
MRPC calls not equivalent). The features (``PARAPHRASE_FEATURES``, all symmetric in the two
sentences):

- ``cosine``: of the two sentences' embeddings;
- ``dice``: Dice coefficient of their sets of content words (not stop words);
- ``sequence``: difflib's similarity of their word sequences (2 * matched words / all words);
- ``length``: the shorter sentence's word count over the longer's;
- ``numbers``: log(1 + how many numbers appear in one sentence and not the other);
- ``names``: log(1 + how many names one sentence has that the other lacks, the smaller of the two
  counts: a name swapped for another, not a name one sentence adds); a name is a content word written
  with a capital, not the sentence's first word;
- ``negation``: 1 when one sentence is negated ("not", "n't", "no", "never", ...) and the other is not;
- ``edges``: log(1 + the difference in content words left over before the first and after the last
  matched word), the largest of the two: a clause one sentence adds at its start or end.

On top of the model, one rule that is not fitted (``changes_only_facts``): two sentences that are the
same words, word for word, but for a negation one has and the other lacks, or a number or a name put
in place of another, are not a paraphrase: the same sentence stating another fact. MRPC holds almost
no such minimal pairs, so it cannot teach this; its annotators also take rounded or converted
figures ("2.5 million" for "2.7 million") and a name for its acronym as the same statement, which is
why the fitted weights of ``numbers`` and ``names`` are small.

The module works on plain values (words, their hashes and kinds, the difflib summary of the pair):
``dedup.align``, which owns the stop words and the compiled word matching, builds them, and computes
the features of all of a pair of articles' sentence pairs at once in compiled code
(``align.paraphrase_features`` gives them for one pair, as the benchmark fits on them);
``pair_features`` and ``is_paraphrase`` here are the reference it is tested against.

On MRPC (a 30% test split that nothing was chosen on, ``python -m benchmarks.paraphrase``): F1 0.841,
accuracy 0.765; the cosine alone at 0.80 (the rule before) 0.745 and 0.685, the majority class 0.806.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dedup.config import PARAPHRASE_FEATURES, AlignConfig
from dedup.logistic import fit_logistic, probability

__all__ = [
    "CONTENT",
    "NAME",
    "NEGATION",
    "NEGATIONS",
    "NUMBER",
    "PARAPHRASE_FEATURES",
    "WORD",
    "SentenceTerms",
    "best_f1_threshold",
    "changes_only_facts",
    "combine_kinds",
    "cross_validated_probabilities",
    "fit_logistic",
    "is_paraphrase",
    "pair_features",
    "probability",
    "sentence_numbers",
    "sentence_terms",
    "word_kinds",
]

NEGATIONS = frozenset("not no never nor neither nobody nothing none nowhere cannot without n't".split())
"""Words that negate a sentence; so does any word ending in "n't" ("don't", "isn't")."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DIGIT_WORD = re.compile(r"\S*\d\S*")


WORD, NAME, NUMBER, NEGATION = 0, 1, 2, 3
"""What a word is to the decision (``word_kinds``, the low two bits): a negation, a number (holds a
digit), a name (a content word written with a capital, not the first of its sentence), any other."""
CONTENT = 4
"""The bit ``word_kinds`` sets for a content word (not a stop word)."""


def word_kinds(
    words: Sequence[str], capitals: Sequence[bool], content: Sequence[bool], first: Sequence[bool]
) -> np.ndarray:
    """Each word's kind (``WORD``, ``NAME``, ``NUMBER``, ``NEGATION``, plus ``CONTENT`` for a content
    word), uint8: from the normalised ``words``, whether each is written with a capital first letter,
    is a content word, and is the first word of its sentence."""
    joined = " ".join(words)
    digits = set(_DIGIT_WORD.findall(joined))
    negations = set(NEGATIONS.intersection(words))
    if "n't" in joined:
        negations.update(w for w in words if w.endswith("n't"))
    n = len(words)
    if not len(capitals) == len(content) == len(first) == n:
        raise ValueError("word_kinds: words, capitals, content and first must be as long as each other")
    content_at = np.fromiter(content, dtype=bool, count=n)
    return combine_kinds(
        np.fromiter((w in negations for w in words), dtype=bool, count=n),
        np.fromiter((w in digits for w in words), dtype=bool, count=n),
        content_at & np.fromiter(capitals, dtype=bool, count=n) & ~np.fromiter(first, dtype=bool, count=n),
        content_at,
    )


def combine_kinds(
    negation: np.ndarray, number: np.ndarray, name: np.ndarray, content: np.ndarray
) -> np.ndarray:
    """``word_kinds`` from one boolean array per kind: a negation is a negation whatever else it is, a
    word with a digit a number unless a negation, a name only if neither; ``CONTENT`` marks content
    words."""
    kinds = np.where(negation, NEGATION, np.where(number, NUMBER, np.where(name, NAME, WORD)))
    return kinds.astype(np.uint8) | (content.astype(np.uint8) * np.uint8(CONTENT))


@dataclass(frozen=True, slots=True)
class SentenceTerms:
    """What the decision needs of one sentence (``sentence_terms``)."""

    hashes: np.ndarray
    """The words' hashes, in order (``minhash.word_hashes``)."""
    kinds: tuple[int, ...]
    """The words' kinds (``word_kinds``)."""
    words: str
    """The normalised words, separated by single spaces."""
    content_before: tuple[int, ...]
    """For each word (and the end), how many content words come before it."""
    content_words: frozenset[int]
    """The hashes of the content words."""
    vocabulary: frozenset[int]
    """The hashes of all the words."""
    numbers: frozenset[str]
    """The numbers written in the sentence (``sentence_numbers``)."""
    names: frozenset[int]
    """The hashes of the names."""
    negated: bool
    """Whether a negation occurs (``NEGATIONS`` or a word ending in "n't")."""
    plain: int
    """How many words are not negations."""


def sentence_terms(text: str, words: str, hashes: np.ndarray, kinds: np.ndarray) -> SentenceTerms:
    """The terms of one sentence: its ``text`` as written, its normalised ``words`` separated by
    single spaces (as ``dedup.segment`` tokenises them), their ``hashes`` and ``kinds``
    (``word_kinds``)."""
    h = hashes.tolist()
    codes = tuple(kinds.tolist())
    kind = [c & 3 for c in codes]
    content = [bool(c & CONTENT) for c in codes]
    negations = kind.count(NEGATION)
    return SentenceTerms(
        hashes=hashes,
        kinds=codes,
        words=words,
        content_before=tuple(itertools.accumulate(content, initial=0)),
        content_words=frozenset(itertools.compress(h, content)),
        vocabulary=frozenset(h),
        numbers=sentence_numbers(text) if NUMBER in kind else frozenset(),  # a digit is in a word
        names=frozenset(w for w, k in zip(h, kind, strict=True) if k == NAME),
        negated=negations > 0,
        plain=len(codes) - negations,
    )


def sentence_numbers(text: str) -> frozenset[str]:
    """The numbers written in ``text``, without thousands commas ("1,200" -> "1200", "2.5")."""
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def pair_features(
    x: SentenceTerms, y: SentenceTerms, cosine: float, blocks: tuple[int, int, int, int, int]
) -> list[float]:
    """The features of a sentence pair, in ``PARAPHRASE_FEATURES`` order. ``blocks`` is
    ``align.matching_blocks_summary(x.hashes, y.hashes)``: (matched words, where the first matching
    block starts in x and in y, where the last one ends in x and in y). The features are symmetric if
    ``blocks`` is (the caller compares the two sentences in a fixed order)."""
    la, lb = len(x.kinds), len(y.kinds)
    matched, first_a, first_b, end_a, end_b = blocks
    shared = len(x.content_words & y.content_words)
    sizes = len(x.content_words) + len(y.content_words)
    ca, cb = x.content_before, y.content_before
    lead = abs(ca[first_a] - cb[first_b])
    trail = abs((ca[la] - ca[end_a]) - (cb[lb] - cb[end_b]))
    swapped_names = min(
        sum(1 for n in x.names if n not in y.vocabulary), sum(1 for n in y.names if n not in x.vocabulary)
    )
    return [
        cosine,
        2.0 * shared / sizes if sizes else 0.0,
        2.0 * matched / (la + lb) if la + lb else 0.0,
        min(la, lb) / max(la, lb) if la and lb else 0.0,
        math.log1p(len(x.numbers ^ y.numbers)),
        math.log1p(swapped_names),
        1.0 if x.negated != y.negated else 0.0,
        math.log1p(max(lead, trail)),
    ]


def changes_only_facts(x: SentenceTerms, y: SentenceTerms) -> bool:
    """Whether the two sentences are the same words, word for word, but for a negation one has and the
    other lacks, or numbers or names put in place of others (a number for a number, a name for a
    name; not a name for its abbreviation): the same sentence stating another fact."""
    if x.plain != y.plain:
        return False
    kept_x = [n for n, k in enumerate(x.kinds) if k & 3 != NEGATION]
    kept_y = [n for n, k in enumerate(y.kinds) if k & 3 != NEGATION]
    hx, hy = x.hashes.tolist(), y.hashes.tolist()
    changed = x.negated != y.negated
    wx = wy = None
    for p, q in zip(kept_x, kept_y, strict=True):
        if hx[p] == hy[q]:
            continue
        kind = x.kinds[p] & 3
        if kind != y.kinds[q] & 3 or kind not in (NAME, NUMBER):
            return False
        if wx is None or wy is None:
            wx, wy = x.words.split(), y.words.split()
        u, v = wx[p].replace("'", ""), wy[q].replace("'", "")  # "Austen's" and "Austens": one name
        if not (u.startswith(v) or v.startswith(u)):  # nor are "Aug" and "August" two
            changed = True
    return changed


def is_paraphrase(
    x: SentenceTerms,
    y: SentenceTerms,
    cosine: float,
    blocks: tuple[int, int, int, int, int] | Callable[[], tuple[int, int, int, int, int]],
    cfg: AlignConfig,
) -> bool:
    """The decision: never below ``cfg.paraphrase_min_cosine`` (the cheap filter the caller may apply
    first) nor for the same words with another fact; always from ``cfg.paraphrase_cosine`` up; in
    between, when the model's probability reaches ``cfg.paraphrase_threshold``. ``blocks`` (as for
    ``pair_features``) may be a function giving them, called only when the model is asked."""
    if cosine < cfg.paraphrase_min_cosine or changes_only_facts(x, y):
        return False
    if cosine >= cfg.paraphrase_cosine:
        return True
    summary = blocks() if callable(blocks) else blocks
    w = cfg.paraphrase_weights
    z = w[0] + sum(wi * fi for wi, fi in zip(w[1:], pair_features(x, y, cosine, summary), strict=True))
    return 1.0 / (1.0 + math.exp(-z)) >= cfg.paraphrase_threshold


# -- fitting (development data only: benchmarks/paraphrase.py) ---------------------------------------


def cross_validated_probabilities(
    features: np.ndarray, labels: np.ndarray, folds: int, seed: int, l2: float = 1.0
) -> np.ndarray:
    """Each row's probability from a model fitted without it: the rows dealt into ``folds`` folds at
    random (``seed``), each fold predicted by ``fit_logistic`` on the others."""
    fold = np.random.default_rng(seed).permutation(len(labels)) % folds
    out = np.zeros(len(labels))
    for k in range(folds):
        held = fold == k
        w = fit_logistic(features[~held], labels[~held], l2)
        out[held] = probability(features[held], w)
    return out


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray, candidates: Sequence[float]) -> float:
    """The candidate threshold whose decision (score >= threshold) has the best F1 on ``labels``;
    the lowest such on ties."""
    truth = np.asarray(labels, dtype=bool)
    best, best_f1 = float(candidates[0]), -1.0
    for t in candidates:
        decided = scores >= t
        tp = int((decided & truth).sum())
        f1 = 2.0 * tp / (int(decided.sum()) + int(truth.sum())) if tp else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best
