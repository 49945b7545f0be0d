"""The article indexes in Redis (``dedup.redis_index``) on their own: Redis memory per article, query
latency and round trips, and bulk removal, on real article texts, without the engine or a server.

    python -m benchmarks.redis_index --articles 10000

news_ecb's articles, then their repetitions with two words in three mapped onto others
(``benchmarks.throughput.repeated_articles``), prepared and signed as the engine does, are added to a
``RedisArticleIndex`` on a redis-server of its own (laid out for ``--capacity`` articles, default
``--articles``), a thousand at a time. Then:

- ``used_memory`` (INFO memory) of the indexes per article (after less before), and their keys;
- ``articles_like`` and ``sentence_hits`` of ``--queries`` stored articles drawn at random (seeded):
  median and p99 ms, and the calls to Redis each made (round trips);
- all the articles removed in one ``remove`` (what ``Engine.expire`` does a thousand at a time), timed,
  with its round trips, and the keys left.

One JSON object out (and to --out).
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.output import emit_json
from benchmarks.redis_server import RedisServer
from benchmarks.service_speed import percentile
from benchmarks.throughput import repeated_articles
from dedup.article_index import sentence_signatures, sign_documents
from dedup.config import Config, EmbedConfig
from dedup.document import PreparedDocument, prepare
from dedup.redis_index import RedisArticleIndex
from dedup.redis_store import RedisStore

CONFIG = Config(embed=EmbedConfig(model="none"))
BATCH = 1_000


class _Counting:
    """A Redis client that counts the calls made through it: each a round trip (a command or a pipeline)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attr(*args, **kwargs)

        return counted


def _prepared(articles: list[Any], first: int) -> list[PreparedDocument]:
    docs = [prepare(a, first + n, CONFIG) for n, a in enumerate(articles)]
    sign_documents(docs, CONFIG.minhash)
    for doc in docs:
        doc.embeddings = np.zeros((len(doc.sentences), 1), dtype=np.float16)
        doc.vector = np.zeros(1, dtype=np.float32)
    return docs


def run(n: int, capacity: int, queries: int, data: Path, folder: Path, seed: int = 3) -> dict[str, Any]:
    server = RedisServer(folder / "redis")
    try:
        store = RedisStore(f"{server.url}?prefix=bench&index_capacity={capacity}")
        index = RedisArticleIndex(CONFIG, store, lambda: 1)
        counting = _Counting(index._r)
        index._r = counting
        before = int(store.client.info("memory")["used_memory"])
        stream = repeated_articles(load_news_ecb(data), n)
        started = time.perf_counter()
        added = 0
        sentences = 0
        while batch := list(itertools.islice(stream, BATCH)):
            docs = _prepared(batch, added + 1)
            sentences += sum(len(d.sentences) for d in docs)
            index.add(docs)
            added += len(docs)
        load_seconds = time.perf_counter() - started
        used = int(store.client.info("memory")["used_memory"]) - before
        keys = index.keys()
        kinds: dict[str, int] = {}
        for key in keys:
            kind = key.decode().split(":")[1]
            kinds[kind] = kinds.get(kind, 0) + 1
        rng = random.Random(seed)
        probes = _prepared(rng.sample(list(itertools.islice(repeated_articles(load_news_ecb(data), n), n)),
                                      queries), 1)  # fmt: skip
        timings: dict[str, list[float]] = {"articles_like": [], "sentence_hits": []}
        calls: dict[str, list[int]] = {"articles_like": [], "sentence_hits": []}
        for doc in probes:
            sigs = sentence_signatures(doc, CONFIG.minhash)
            for name, query in (
                ("articles_like", lambda: index.articles_like(doc.doc_minhash)),  # noqa: B023
                ("sentence_hits", lambda: index.sentence_hits(sigs)),  # noqa: B023
            ):
                counting.calls = 0
                t = time.perf_counter()
                query()
                timings[name].append((time.perf_counter() - t) * 1000)
                calls[name].append(counting.calls)
        everything = _prepared(list(itertools.islice(repeated_articles(load_news_ecb(data), n), n)), 1)
        counting.calls = 0
        started = time.perf_counter()
        index.remove(everything)
        remove_seconds = time.perf_counter() - started
        left = index.keys()
        store.close()
    finally:
        server.stop()
    return {
        "articles": added,
        "sentences": sentences,
        "capacity": capacity,
        "layout": index.layout,
        "load_seconds": round(load_seconds, 1),
        "used_memory_bytes_per_article": round(used / added),
        "used_memory_bytes_per_sentence": round(used / max(sentences, 1), 1),
        "keys_by_kind": kinds,
        "queries": {
            name: {
                "median_ms": round(percentile(v, 0.5), 2),
                "p99_ms": round(percentile(v, 0.99), 2),
                "round_trips": sorted(set(calls[name])),
            }
            for name, v in timings.items()
        },
        "remove_all": {
            "seconds": round(remove_seconds, 1),
            "round_trips": counting.calls,
            "keys_left": len(left),
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "news_ecb")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument(
        "--capacity", type=int, help="articles the indexes are laid out for (default --articles)"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dedup-rindex-") as folder:
        result = {
            "benchmark": "redis_index",
            "date": time.strftime("%Y-%m-%d"),
            **run(args.articles, args.capacity or args.articles, args.queries, args.data, Path(folder)),
        }
    emit_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
