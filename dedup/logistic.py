"""Small logistic models: fitting (development data only) and probabilities.

dedup's calibrated decisions (a sentence pair's paraphrase decision, a parent's confidence) are
logistic models over a handful of features, with weights fitted on development data by the
benchmarks and kept in the config.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["fit_logistic", "probability"]


def probability(features: np.ndarray | Sequence[float], weights: np.ndarray | Sequence[float]) -> np.ndarray:
    """The model's probability for each row of ``features`` (or for one row): ``weights`` are the
    intercept, then one weight per column."""
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(features, dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-(w[0] + x @ w[1:]))))


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, l2: float = 1.0, max_iterations: int = 100
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (iteratively reweighted least squares)
    from all-zero weights: deterministic. Returns the intercept (not penalised), then one weight per
    column of ``features``. ``labels`` are 0 or 1."""
    x = np.hstack([np.ones((len(features), 1)), np.asarray(features, dtype=np.float64)])
    t = np.asarray(labels, dtype=np.float64)
    penalty = np.full(x.shape[1], float(l2))
    penalty[0] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(max_iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - t) + penalty * w
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w
