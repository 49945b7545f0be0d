"""dedup's sentence-pair paraphrase decision on MRPC, fitted on one split and reported on another.

    python -m benchmarks.paraphrase [--data FILE] [--seed 0] [--limit N] [--fit]

Each MRPC pair is two news sentences labelled paraphrase or not (by default the training file,
4,076 pairs). MRPC's text comes tokenised ("it 's", "$ 2", "<QUOTE>", some UTF-8 read as Latin-1);
it is put back into ordinary news text first ("it's", "$2", '"'), the same for every method.

SPLITS. The pairs are split at random (``--seed``, default 0), stratified by label: 70% is the
DEVELOPMENT split, 30% the TEST split. Everything that is chosen is chosen on the development split
alone:

- the paraphrase model's weights (``dedup.paraphrase.fit_logistic``, L2 1.0, on each pair's two
  sentences closest in cosine);
- its probability threshold: the best F1 on the development split, each pair scored by a model
  fitted without it (5 folds, dealt with the seed);
- the cosine filter below which the model is not asked (``align.paraphrase_min_cosine``): the
  highest of 0.40, 0.45, ..., 0.80 whose best F1 there is within 0.005 of the best of all;
- the cosine from which a pair is a paraphrase whatever the model says (``align.paraphrase_cosine``):
  the lowest of 0.80, 0.85, 0.90, 0.95 and 1.0 whose F1 there is within 0.005 of the best;
- the threshold of the cosine-only rule tuned for comparison, and the majority class.

Every figure under ``"test"`` comes from the test split, on which nothing was chosen; ``"dev"``
gives dedup's figures on the split it was fitted on, for comparison only.

``--fit`` prints the fitted values as JSON (``paraphrase_cosine``, ``paraphrase_min_cosine``,
``paraphrase_threshold``, ``paraphrase_weights``: the intercept, then one weight per
``PARAPHRASE_FEATURES``, rounded to 4 places). With the default data and seed, dedup's defaults in
``dedup/config.py`` are exactly these; ``"config_is_this_fit"`` in the report says whether they
still are.

Reported on the test split, as accuracy, precision, recall and F1 (paraphrase is the positive class):

- ``dedup``: the decision ``align`` makes for two sentences that are not word for word
  (``align.paraphrase_decision``: the cosine filter, the rule for the same words with another fact,
  the cosine that suffices, the model), as fitted here; a pair is a paraphrase if any of its
  sentence pairs is (a few MRPC "sentences" are two). A pair whose sentences dedup masks as
  boilerplate (a line with "subscribers" or "copyright" reads as a subscription prompt or a
  copyright line) counts as not a paraphrase;
- ``dedup_align_any_passage``: whether ``align`` reports any passage between the two (VERBATIM,
  NEAR_VERBATIM or PARAPHRASE): what the aligner finds, where a sentence copied with a changed
  number is still a NEAR_VERBATIM copy;
- ``cosine_only_0.80``: the old rule, embedding cosine >= 0.80 (all ``paraphrase_cosine`` decided
  before the model), and ``cosine_only_tuned_on_dev``: the cosine threshold with the best F1 on the
  development split (0.40 to 0.95 by 0.01);
- ``majority_class`` (the development split's);
- ``baseline_minhash_{1,5}word_0.5``: stock datasketch MinHash over the sentences' words (1-word and
  5-word shingles), Jaccard >= 0.5.

One JSON object out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time

import numpy as np

from benchmarks.baseline import MinHashBaseline
from benchmarks.datasets import DEFAULT_DATA, load_mrpc
from benchmarks.metrics import precision_recall_f1
from benchmarks.model_backend import add_backend_argument, backend_detector
from dedup.align import align, paraphrase_decision, paraphrase_features
from dedup.article import Article
from dedup.document import PreparedDocument
from dedup.paraphrase import best_f1_threshold, fit_logistic, probability
from dedup.pipeline import Detector

DEV_SHARE = 0.7
FOLDS = 5
L2 = 1.0
FILTER_GRID = [round(0.40 + 0.05 * k, 2) for k in range(9)]  # 0.40 ... 0.80
SURE_GRID = [0.80, 0.85, 0.90, 0.95, 1.0]
TOLERANCE = 0.005
THRESHOLDS = [round(0.05 + 0.01 * k, 2) for k in range(91)]  # 0.05 ... 0.95
COSINE_THRESHOLDS = [round(0.40 + 0.01 * k, 2) for k in range(56)]  # 0.40 ... 0.95
OLD_COSINE = 0.8

_DETOKENISE = [
    (re.compile(r"<QUOTE>|``|''"), '"'),
    (re.compile(r"(\w) ?(['\u2019]) ?(s|re|ve|ll|d|m|t)\b"), r"\1\2\3"),
    (re.compile(r"(\w) (n['\u2019]t)\b"), r"\1\2"),
    (re.compile(r" ([,.;:?!%)])"), r"\1"),
    (re.compile(r"([($\u00a3\u20ac]) "), r"\1"),
]


def mrpc_text(sentence: str) -> str:
    """An MRPC sentence as ordinary text: UTF-8 that was read as Latin-1 or cp1252 decoded again, and
    the tokenisation undone ("it 's" -> "it's", "$ 2" -> "$2", "<QUOTE>" -> '"')."""
    if "\u00c3" in sentence or "\u00e2" in sentence:
        for codec in ("cp1252", "latin-1"):
            try:
                sentence = sentence.encode(codec).decode("utf-8")
                break
            except UnicodeError:
                continue
    for pattern, replacement in _DETOKENISE:
        sentence = pattern.sub(replacement, sentence)
    return sentence


def split(labels: list[bool], seed: int, dev_share: float = DEV_SHARE) -> np.ndarray:
    """Which pairs are in the development split (True) or the test split: a seeded random
    ``dev_share`` of each label."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(labels, dtype=bool)
    dev = np.zeros(len(truth), dtype=bool)
    for label in (False, True):
        members = rng.permutation(np.flatnonzero(truth == label))
        dev[members[: round(dev_share * len(members))]] = True
    return dev


@dataclasses.dataclass
class _Pair:
    """One MRPC pair's sentence pairs: their features, cosines and the rule, the closest first."""

    features: np.ndarray  # one row per sentence pair
    cosines: np.ndarray
    facts_changed: np.ndarray  # bool: changes_only_facts


def _sentence_pairs(a: PreparedDocument, b: PreparedDocument) -> _Pair:
    rows, cosines, changed = [], [], []
    if a.embeddings is not None and b.embeddings is not None:
        for i in range(len(a.sentences)):
            for j in range(len(b.sentences)):
                features, facts = paraphrase_features(a, i, b, j)
                rows.append(features)
                cosines.append(features[0])
                changed.append(facts)
    order = np.argsort(-np.asarray(cosines), kind="stable")
    return _Pair(
        np.asarray(rows, dtype=np.float64).reshape(-1, 8)[order],
        np.asarray(cosines, dtype=np.float64)[order],
        np.asarray(changed, dtype=bool)[order],
    )


def _scores(truth: np.ndarray | list[bool], predicted: np.ndarray | list[bool]) -> dict[str, float]:
    t = [bool(x) for x in truth]
    q = [bool(x) for x in predicted]
    p, r, f = precision_recall_f1(t, q)
    accuracy = sum(1 for x, y in zip(t, q, strict=True) if x == y) / len(t) if t else 0.0
    return {
        "accuracy": round(accuracy, 4),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
    }


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((truth & predicted).sum())
    return 2.0 * tp / (int(truth.sum()) + int(predicted.sum())) if tp else 0.0


def fit(pairs: list[_Pair], labels: np.ndarray, seed: int) -> dict[str, object]:
    """The decision fitted on ``pairs`` (the development split): weights, threshold, cosine filter."""
    usable = np.array([len(p.cosines) > 0 for p in pairs])
    rows = np.array([p.features[0] for p in pairs if len(p.cosines)]).reshape(-1, 8)
    weights = np.round(fit_logistic(rows, labels[usable].astype(float), L2), 4)
    # Out-of-fold probabilities: each pair scored by a model fitted without it.
    fold = np.random.default_rng(seed).permutation(len(pairs)) % FOLDS
    held_out: list[np.ndarray] = [np.zeros(0)] * len(pairs)
    for k in range(FOLDS):
        train = (fold != k) & usable
        train_rows = np.array([pairs[n].features[0] for n in np.flatnonzero(train)]).reshape(-1, 8)
        w = fit_logistic(train_rows, labels[train].astype(float), L2)
        for n in np.flatnonzero(fold == k):
            held_out[n] = probability(pairs[n].features, w).reshape(-1)
    truth = labels.astype(bool)
    best: dict[float, tuple[float, float]] = {}
    for cosine in FILTER_GRID:
        scores = np.array(
            [
                max((q[(p.cosines >= cosine) & ~p.facts_changed]).tolist(), default=0.0)
                for p, q in zip(pairs, held_out, strict=True)
            ]
        )
        threshold = best_f1_threshold(truth, scores, THRESHOLDS)
        best[cosine] = (threshold, _f1(truth, scores >= threshold))
    top = max(f1 for _, f1 in best.values())
    low = max(c for c, (_, f1) in best.items() if f1 >= top - TOLERANCE)
    threshold = best[low][0]
    # Then the cosine from which a pair is a paraphrase whatever the model says.
    sure: dict[float, float] = {}
    for cosine in SURE_GRID:
        decided = np.array(
            [
                bool(
                    (~p.facts_changed & (p.cosines >= low) & ((q >= threshold) | (p.cosines >= cosine))).any()
                )
                for p, q in zip(pairs, held_out, strict=True)
            ]
        )
        sure[cosine] = _f1(truth, decided)
    high = min(c for c, f1 in sure.items() if f1 >= max(sure.values()) - TOLERANCE)
    return {
        "paraphrase_cosine": high,
        "paraphrase_min_cosine": low,
        "paraphrase_threshold": threshold,
        "paraphrase_weights": [float(w) for w in weights],
        "out_of_fold_f1_by_min_cosine": {f"{c:.2f}": round(f1, 4) for c, (_, f1) in best.items()},
        "out_of_fold_f1_by_cosine": {f"{c:.2f}": round(f1, 4) for c, f1 in sure.items()},
    }


def main(argv: list[str] | None = None, detector: Detector | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "mrpc" / "msr_paraphrase_train.txt"))
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the development/test split and the folds"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    parser.add_argument("--fit", action="store_true", help="print the values fitted on the development split")
    add_backend_argument(parser)
    args = parser.parse_args(argv)
    rows = [(label, mrpc_text(s1), mrpc_text(s2)) for label, s1, s2 in load_mrpc(args.data)[: args.limit]]
    labels = np.array([label == 1 for label, _, _ in rows])
    dev = split(labels.tolist(), args.seed)
    detector = detector or backend_detector(args.backend)
    started = time.perf_counter()
    articles = [
        Article(f"{n}{side}", text)
        for n, (_, s1, s2) in enumerate(rows)
        for side, text in (("a", s1), ("b", s2))
    ]
    docs = detector.prepare(articles)
    pairs = [_sentence_pairs(docs[2 * n], docs[2 * n + 1]) for n in range(len(rows))]
    dev_pairs = [p for p, d in zip(pairs, dev, strict=True) if d]
    fitted = fit(dev_pairs, labels[dev], args.seed)
    if args.fit:
        print(json.dumps({k: v for k, v in fitted.items() if k.startswith("paraphrase_")}))
    config = detector.config.align
    decision = dataclasses.replace(
        config,
        paraphrase_cosine=fitted["paraphrase_cosine"],
        paraphrase_min_cosine=fitted["paraphrase_min_cosine"],
        paraphrase_threshold=fitted["paraphrase_threshold"],
        paraphrase_weights=tuple(fitted["paraphrase_weights"]),  # type: ignore[arg-type]
    )
    decided = np.array(
        [
            any(
                paraphrase_decision(a, i, b, j, decision)
                for i in range(len(a.sentences))
                for j in range(len(b.sentences))
            )
            for a, b in zip(docs[0::2], docs[1::2], strict=True)
        ]
    )
    aligned = np.array([bool(align(docs[2 * n], docs[2 * n + 1], decision)) for n in range(len(rows))])
    seconds = time.perf_counter() - started
    best_cosine = np.array([p.cosines[0] if len(p.cosines) else 0.0 for p in pairs])
    tuned = best_f1_threshold(labels[dev], best_cosine[dev], COSINE_THRESHOLDS)
    majority = bool(labels[dev].sum() * 2 >= dev.sum())
    test = ~dev
    report: dict[str, object] = {
        "dedup": _scores(labels[test], decided[test]),
        "dedup_align_any_passage": _scores(labels[test], aligned[test]),
        "cosine_only_0.80": _scores(labels[test], best_cosine[test] >= OLD_COSINE),
        "cosine_only_tuned_on_dev": {**_scores(labels[test], best_cosine[test] >= tuned), "threshold": tuned},
        "majority_class": _scores(labels[test], np.full(int(test.sum()), majority)),
    }
    for shingle in (1, 5):
        base = MinHashBaseline(threshold=0.5, shingle=shingle)
        predicted = [
            base.signature(s1).jaccard(base.signature(s2)) >= 0.5
            for (_, s1, s2), t in zip(rows, test, strict=True)
            if t
        ]
        report[f"baseline_minhash_{shingle}word_0.5"] = _scores(labels[test], predicted)
    changed = np.array([bool(p.facts_changed.any()) for p in pairs])
    result: dict[str, object] = {
        "pairs": len(rows),
        "seed": args.seed,
        "backend": detector.config.embed.backend,
        "dev_pairs": int(dev.sum()),
        "test_pairs": int(test.sum()),
        "test_paraphrase_share": round(float(labels[test].mean()), 4) if test.any() else 0.0,
        "fitted_on_dev": fitted,
        "config_is_this_fit": (
            config.paraphrase_cosine == decision.paraphrase_cosine
            and config.paraphrase_min_cosine == decision.paraphrase_min_cosine
            and config.paraphrase_threshold == decision.paraphrase_threshold
            and config.paraphrase_weights == decision.paraphrase_weights
        ),
        "test": report,
        "dev": {"dedup": _scores(labels[dev], decided[dev])},
        "masked_as_boilerplate": int(sum(1 for p in pairs if not len(p.cosines))),
        "same_words_another_fact": {
            "dev": int(changed[dev].sum()),
            "dev_paraphrases": int((changed & labels & dev).sum()),
            "test": int(changed[test].sum()),
            "test_paraphrases": int((changed & labels & test).sum()),
        },
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
