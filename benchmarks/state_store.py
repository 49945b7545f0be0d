"""The article store on SQLite (the embedded default) and on Redis, side by side, through the path users
run: a `dedup serve` subprocess per backend, the articles streamed in (StreamIngestDocuments), then the
store's size per article.

    python -m benchmarks.state_store --data ../shared/data/news_ecb --limit 500

For Redis the script starts its own redis-server (Debian's, append-only with an fsync per write, as the
README asks) in a temporary folder, and reports its ``used_memory`` growth and, by key kind, the bytes
``MEMORY USAGE`` gives (article hashes: text and embeddings; pairs; parents, sources, groups, clusters;
events). For SQLite: the size of the data directory. Both: ingest articles/s and the server's resident
memory. ``--model none`` measures lexical matching only (no embeddings stored).

One JSON object out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.redis_server import RedisServer
from benchmarks.service_speed import start_server, stop_server
from benchmarks.throughput import rss_of
from dedup.article import Article
from dedup.client import DedupClient

KINDS = ("doc", "docs", "pairs", "pairs-of", "parents", "sources", "groups", "clusters", "events", "meta")


def _ingest(target: str, articles: list[Article]) -> float:
    with DedupClient(target, timeout=3600) as client:
        started = time.perf_counter()
        for _ in client.ingest_many(articles):
            pass
        return time.perf_counter() - started


def _redis_breakdown(url: str, prefix: str) -> dict[str, int]:
    """Bytes by key kind (``MEMORY USAGE`` of every key of the store)."""
    import redis

    r = redis.Redis.from_url(url)
    sizes: Counter[str] = Counter()
    for key in r.scan_iter(match="\\{" + prefix + "\\}:*", count=1000):
        kind = key.decode().split(":", 2)[1]
        sizes[kind if kind in KINDS else "other"] += int(r.memory_usage(key, samples=0) or 0)
    r.close()
    return dict(sizes)


def run(articles: list[Article], model: str, tmp: Path) -> dict[str, Any]:
    extra = ["--model", model] if model else []
    out: dict[str, Any] = {}
    # SQLite: the embedded default.
    proc, target = start_server(tmp / "sqlite", extra)
    try:
        seconds = _ingest(target, articles)
        rss = rss_of(proc.pid)
    finally:
        stop_server(proc)
    disk = sum(f.stat().st_size for f in (tmp / "sqlite").rglob("*") if f.is_file())
    out["sqlite"] = {
        "ingest_articles_per_second": round(len(articles) / seconds, 2),
        "server_rss_mb": round(rss / 2**20, 1),
        "data_dir_bytes_per_article": round(disk / len(articles)),
    }
    # Redis.
    binary = shutil.which("redis-server")
    if binary is None:
        out["redis"] = "skipped: redis-server is not installed (apt-get install -y redis-server)"
        return out
    redis = RedisServer(tmp / "redis", binary)
    try:
        import redis as redis_py

        client = redis_py.Redis.from_url(redis.url)
        before = int(client.info("memory")["used_memory"])
        url = f"{redis.url}?prefix=bench"
        proc, target = start_server(tmp / "replica", [*extra, "--state", url])
        try:
            seconds = _ingest(target, articles)
            rss = rss_of(proc.pid)
        finally:
            stop_server(proc)
        used = int(client.info("memory")["used_memory"]) - before
        client.close()
        breakdown = _redis_breakdown(redis.url, "bench")
        aof = sum(f.stat().st_size for f in (tmp / "redis").rglob("*") if f.is_file())
        out["redis"] = {
            "ingest_articles_per_second": round(len(articles) / seconds, 2),
            "server_rss_mb": round(rss / 2**20, 1),
            "used_memory_bytes_per_article": round(used / len(articles)),
            "bytes_per_article_by_kind": {k: round(v / len(articles)) for k, v in sorted(breakdown.items())},
            "append_only_file_bytes_per_article": round(aof / len(articles)),
        }
    finally:
        redis.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "news_ecb"), help="news_ecb folder (docs.json)")
    parser.add_argument("--limit", type=int, default=500, help="articles to ingest (default 500)")
    parser.add_argument("--model", default="", help="'none' for lexical matching only (default: the model)")
    args = parser.parse_args(argv)
    articles = load_news_ecb(args.data, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(articles, args.model, Path(tmp))
    print(json.dumps({"articles": len(articles), "model": args.model or "default", **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
