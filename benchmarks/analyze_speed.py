"""How long `dedup analyze` takes: wall time of the whole pipeline on a set of articles.

    python -m benchmarks.analyze_speed --data ../shared/data/news_ecb --limit 500
    python -m benchmarks.analyze_speed --seeds ../shared/data/seeds

Prints one JSON object: articles, seconds (including model load), articles per second,
the pipeline's own counts, the sentences it embedded per article, the model's own sentences/s
here and the embedding-bound limit (that rate over the sentences embedded per article) beside the
rate reached.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.throughput import model_rate
from dedup.config import Config
from dedup.inputs import read_articles
from dedup.pipeline import Detector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "news_ecb"), help="news_ecb folder (docs.json)")
    parser.add_argument("--seeds", help="instead of news_ecb, a folder of .txt articles or a JSONL file")
    parser.add_argument("--limit", type=int, default=500, help="number of news_ecb articles (default 500)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    articles = read_articles(args.seeds) if args.seeds else load_news_ecb(args.data, args.limit)
    analysis = Detector().analyze(articles)
    seconds = time.perf_counter() - started
    embedded = analysis.stats.get("embedded", 0) / max(len(articles), 1)
    rate = model_rate(Config(), [a.text for a in articles])  # after the run: not on its clock
    result: dict[str, object] = {
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "articles_per_second": round(len(articles) / seconds, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "clusters": len(analysis.clusters),
        "stats": analysis.stats,
        "embedded_per_article": round(embedded, 2),
        "model_sentences_per_second": rate,
    }
    if rate and embedded:
        limit = rate / embedded
        result["limit_articles_per_second"] = round(limit, 2)
        result["share_of_limit"] = round(len(articles) / seconds / limit, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
