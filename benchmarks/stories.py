"""Story clustering on news_ecb: do dedup's clusters match the 43 stories?

    python -m benchmarks.stories --data ../shared/data/news_ecb [--limit N]

news_ecb holds 502 news articles about 43 events (the story is the number before the
first underscore of the id). dedup analyses them all (in id order, as a stream would
deliver them) and its story clusters are scored against the stories with the adjusted
Rand index and B-cubed precision, recall and F1. Beside it, the baseline a user would
otherwise pick: stock datasketch MinHashLSH over 5-word shingles at Jaccard 0.5 and 0.3,
with connected components over the pairs it finds; and the one a user would try with the same
model: each article's whole text embedded by MiniLM and clustered at a cosine threshold (average
linkage, or connected components), the thresholds chosen on the syndication benchmark's tune split
(``benchmarks.syndication.cli.VECTOR_BASELINE``), not here. One JSON object out.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.baseline import MinHashBaseline, VectorClusterBaseline
from benchmarks.datasets import DEFAULT_DATA, load_news_ecb, story_of
from benchmarks.metrics import adjusted_rand_index, bcubed
from benchmarks.model_backend import add_backend_argument, backend_detector
from benchmarks.syndication.cli import VECTOR_BASELINE
from dedup.embed import SentenceTransformerEmbedder
from dedup.pipeline import Detector


def scores(truth: dict[str, str], predicted: dict[str, object]) -> dict[str, float]:
    p, r, f = bcubed(truth, predicted)
    return {
        "clusters": len(set(predicted.values())),
        "ari": round(adjusted_rand_index(truth, predicted), 4),
        "bcubed_precision": round(p, 4),
        "bcubed_recall": round(r, 4),
        "bcubed_f1": round(f, 4),
    }


def main(argv: list[str] | None = None, detector: Detector | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "news_ecb"), help="news_ecb folder (docs.json)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles (by id)")
    parser.add_argument(
        "--no-vector-baseline", action="store_true", help="skip the MiniLM baselines (they load the model)"
    )
    add_backend_argument(parser)
    args = parser.parse_args(argv)
    articles = load_news_ecb(args.data, args.limit)
    truth = {a.id: story_of(a.id) for a in articles}
    texts = {a.id: a.text for a in articles}
    started = time.perf_counter()
    detector = detector or backend_detector(args.backend)
    analysis = detector.analyze(articles)
    seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "articles": len(articles),
        "stories": len(set(truth.values())),
        "backend": detector.config.embed.backend,
        "dedup": {
            **scores(truth, {d.id: d.cluster for d in analysis.documents}),
            "seconds": round(seconds, 1),
        },
    }
    for threshold in (0.5, 0.3):
        started = time.perf_counter()
        clusters = MinHashBaseline(threshold=threshold).clusters(texts)
        result[f"baseline_minhash_lsh_{threshold}"] = {
            **scores(truth, dict(clusters)),
            "seconds": round(time.perf_counter() - started, 1),
        }
    if not args.no_vector_baseline:
        embedder = SentenceTransformerEmbedder(max_seq_length=256)
        started = time.perf_counter()
        vectors = VectorClusterBaseline(embedder, 0.0).vectors(texts)
        for method, threshold in VECTOR_BASELINE.items():
            clusters = VectorClusterBaseline(embedder, threshold, method).clusters(texts, vectors)
            result[f"baseline_minilm_{method}_{threshold}"] = {
                **scores(truth, dict(clusters)),
                "seconds": round(time.perf_counter() - started, 1),
            }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
