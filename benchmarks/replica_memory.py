"""What a replica on Redis keeps per stored article when articles carry a model's vectors.

    MALLOC_ARENA_MAX=2 python -m benchmarks.replica_memory --sizes 10000 40000

``benchmarks.scale_out`` grows a real ``dedup serve`` replica without a model: embedding 100,000 articles
with MiniLM takes hours on 2 cores. What the model adds to a replica's memory per stored article is
what it keeps of each article's vectors, which depends on their size, not their values. So here the
engine a replica runs (``dedup.engine.Engine`` over a Redis store, in this process) ingests the
repeated news corpus (``benchmarks.throughput.repeated_articles``) with a stand-in model of MiniLM's
dimension (384) that gives each sentence a seeded random unit vector at no cost, and the process's
resident memory is read at each of ``--sizes`` (batches of 200, as a stream hands the engine its
articles). ``resident_documents`` (``--resident``, default 1,000) bounds the caches: every cache is
full (twice that) long before the first size, so the growth from one size to the next is what the
replica keeps of every stored article. Redis's ``used_memory`` per article is reported beside it, and
the bytes of the article vectors' keys (``dedup.redis_vectors``). At the end a second engine starts on
the store, as a restarted replica would: ``restart_seconds`` until it has answered one FindSimilar.

One JSON object out (and to --out).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.output import emit_json
from benchmarks.redis_server import RedisServer
from benchmarks.throughput import repeated_articles, rss_of
from dedup.config import Config
from dedup.engine import Engine
from dedup.redis_store import VECTOR_CACHE_BYTES
from dedup.store import open_store

DIM = 384
BATCH = 200


class StandInModel:
    """A sentence's vector: a unit vector drawn from a generator seeded by the sentence's hash."""

    dim = DIM
    name = "stand-in-384"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            v = np.random.default_rng(xxhash.xxh64_intdigest(text.encode("utf-8"))).standard_normal(DIM)
            out[i] = v / np.linalg.norm(v)
        return out


def _vector_bytes(r: Any, prefix: str, stored: int) -> int:
    """Bytes per article of the article vectors' keys (MEMORY USAGE of every one)."""
    total = 0
    for key in r.scan_iter(match="\\{" + prefix + "\\}:*", count=5000):
        kind = key.decode().split(":", 2)[1]
        if kind in ("ivf", "vec"):
            total += int(r.memory_usage(key, samples=0) or 0)
    return round(total / stored)


def run(
    data: Path, sizes: Sequence[int], resident: int, vector_cache_mb: float | None = None
) -> dict[str, Any]:
    import redis as redis_py

    corpus = load_news_ecb(data)
    folder = Path(tempfile.mkdtemp(prefix="replica-memory-"))
    server = RedisServer(folder / "redis")
    prefix = f"m{uuid.uuid4().hex[:6]}"
    url = f"{server.url}?prefix={prefix}&index_capacity={max(sizes)}"
    if vector_cache_mb is not None:
        url += f"&vector_cache_mb={vector_cache_mb}"
    engine = Engine(Config(resident_documents=resident), embedder=StandInModel(), store=open_store(url))
    r = redis_py.Redis.from_url(server.url)
    stream = repeated_articles(corpus, max(sizes))
    rows: list[dict[str, Any]] = []
    stored = 0
    try:
        for size in sizes:
            start, before = time.perf_counter(), stored
            while stored < size:
                batch = list(itertools.islice(stream, min(BATCH, size - stored)))
                engine.ingest_many(batch)
                stored += len(batch)
            seconds = time.perf_counter() - start
            gc.collect()
            row = {
                "stored": stored,
                "ingest_articles_per_s": round((stored - before) / seconds, 1),
                "rss_mb": round(rss_of(os.getpid()) / 2**20, 1),
                "redis_used_memory_bytes_per_article": round(int(r.info("memory")["used_memory"]) / stored),
                "redis_vector_bytes_per_article": _vector_bytes(r, prefix, stored),
            }
            rows.append(row)
            print(row, flush=True)
        # A replica starting on the same store (a restart): how long until it answers.
        engine.close()
        start = time.perf_counter()
        engine = Engine(Config(resident_documents=resident), embedder=StandInModel(), store=open_store(url))
        engine.find_similar(corpus[0])
        restart = time.perf_counter() - start
    finally:
        engine.close()
        r.close()
        server.stop()
    first, last = rows[0], rows[-1]
    growth = {
        "rss_growth_percent": round(100 * (last["rss_mb"] / first["rss_mb"] - 1), 1),
        "rss_bytes_per_added_article": round(
            (last["rss_mb"] - first["rss_mb"]) * 2**20 / max(1, last["stored"] - first["stored"])
        ),
    }
    return {
        "sizes": rows,
        **growth,
        "restart_seconds": round(restart, 2),
        "resident_documents": resident,
        "model": StandInModel.name,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        "vector_cache_mb": vector_cache_mb if vector_cache_mb is not None else VECTOR_CACHE_BYTES / 2**20,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "news_ecb")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--resident", type=int, default=1_000)
    parser.add_argument(
        "--vector-cache-mb", type=float, help="?vector_cache_mb=N in the store's URL (default: the store's)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    emit_json(run(args.data, args.sizes, args.resident, args.vector_cache_mb), args.out)


if __name__ == "__main__":
    main()
