"""Clustering and classification scores written from their definitions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from math import comb

__all__ = ["adjusted_rand_index", "bcubed", "precision_recall_f1"]


def adjusted_rand_index(truth: Mapping[str, object], predicted: Mapping[str, object]) -> float:
    """Hubert and Arabie's adjusted Rand index over the items of ``truth``."""
    items = list(truth)
    n = len(items)
    if n < 2:
        return 1.0
    joint = Counter((truth[i], predicted[i]) for i in items)
    a = Counter(truth[i] for i in items)
    b = Counter(predicted[i] for i in items)
    index = sum(comb(c, 2) for c in joint.values())
    sum_a = sum(comb(c, 2) for c in a.values())
    sum_b = sum(comb(c, 2) for c in b.values())
    expected = sum_a * sum_b / comb(n, 2)
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def bcubed(truth: Mapping[str, object], predicted: Mapping[str, object]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga and Baldwin) over the items of ``truth``."""
    items = list(truth)
    joint = Counter((truth[i], predicted[i]) for i in items)
    by_truth = Counter(truth[i] for i in items)
    by_pred = Counter(predicted[i] for i in items)
    p = sum(joint[(truth[i], predicted[i])] / by_pred[predicted[i]] for i in items) / len(items)
    r = sum(joint[(truth[i], predicted[i])] / by_truth[truth[i]] for i in items) / len(items)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def precision_recall_f1(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p and not t)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
