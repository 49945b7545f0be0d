"""dedup's sentence-level paraphrase decision on MRPC (the training split).

    python -m benchmarks.paraphrase --data ../shared/data/mrpc/msr_paraphrase_train.txt [--limit N]

Each MRPC pair is two news sentences labelled paraphrase or not. dedup decides as its
aligner does for two sentences: it prepares both as one-sentence articles (normalised,
embedded with the packaged MiniLM) and calls them aligned when they are VERBATIM,
NEAR_VERBATIM (word-sequence similarity >= align.near_verbatim_ratio) or PARAPHRASE
(embedding cosine >= align.paraphrase_cosine). Reported: accuracy and F1 (paraphrase is
the positive class) at dedup's default thresholds, the same over a sweep of the cosine
threshold (tuned on this very split, so an upper bound, not a held-out figure), the
majority-class figures, and the baseline a user would otherwise pick: stock datasketch
MinHash over the sentences' words (1-word and 5-word shingles) at Jaccard 0.5. One JSON
object out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from benchmarks.baseline import MinHashBaseline
from benchmarks.datasets import DEFAULT_DATA, load_mrpc
from benchmarks.metrics import precision_recall_f1
from dedup.align import align
from dedup.document import Article
from dedup.pipeline import Detector


def _scores(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    p, r, f = precision_recall_f1(truth, predicted)
    accuracy = sum(1 for t, q in zip(truth, predicted, strict=True) if t == q) / len(truth)
    return {
        "accuracy": round(accuracy, 4),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
    }


def main(argv: list[str] | None = None, detector: Detector | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "mrpc" / "msr_paraphrase_train.txt"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    args = parser.parse_args(argv)
    rows = load_mrpc(args.data)[: args.limit]
    truth = [label == 1 for label, _, _ in rows]
    detector = detector or Detector()
    config = detector.config
    started = time.perf_counter()
    articles = [
        Article(f"{n}{side}", text)
        for n, (_, s1, s2) in enumerate(rows)
        for side, text in (("a", s1), ("b", s2))
    ]
    docs = detector.prepare(articles)
    decided, cosines = [], []
    for n in range(len(rows)):
        a, b = docs[2 * n], docs[2 * n + 1]
        decided.append(bool(align(a, b, config.align)))
        if a.embeddings is not None and b.embeddings is not None and len(a.embeddings) and len(b.embeddings):
            cosines.append(float(np.max(a.embeddings.astype(np.float32) @ b.embeddings.astype(np.float32).T)))
        else:
            cosines.append(0.0)
    seconds = time.perf_counter() - started
    sweep = {}
    lexical_only = dataclasses.replace(config.align, paraphrase_cosine=1.01)  # no cosine can reach it
    lexical = [bool(align(docs[2 * n], docs[2 * n + 1], lexical_only)) for n in range(len(rows))]
    for threshold in np.arange(0.60, 0.951, 0.05):
        predicted = [lex or cos >= threshold for lex, cos in zip(lexical, cosines, strict=True)]
        sweep[f"{threshold:.2f}"] = _scores(truth, predicted)
    majority = sum(truth) >= len(truth) / 2
    result: dict[str, object] = {
        "pairs": len(rows),
        "paraphrase_share": round(sum(truth) / len(truth), 4),
        "dedup": {**_scores(truth, decided), "paraphrase_cosine": config.align.paraphrase_cosine,
                  "seconds": round(seconds, 1)},
        "dedup_cosine_sweep_tuned_on_this_split": sweep,
        "majority_class": _scores(truth, [majority] * len(truth)),
    }  # fmt: skip
    for shingle in (1, 5):
        base = MinHashBaseline(threshold=0.5, shingle=shingle)
        predicted = [base.signature(s1).jaccard(base.signature(s2)) >= 0.5 for _, s1, s2 in rows]
        result[f"baseline_minhash_{shingle}word_0.5"] = _scores(truth, predicted)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
