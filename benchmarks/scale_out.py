"""How `dedup serve` grows: the embedded server (SQLite) and a replica on Redis, bulk-loaded to each of
``--sizes`` stored articles through the path users run, and at each size FindSimilar latency with 4
clients, the server's resident memory, Redis's memory by component, and at the end a bulk expiry.

    python -m benchmarks.scale_out --sizes 10000 100000
    python -m benchmarks.scale_out --sizes 500 2000 --queries 40      # a quick look

THE LOAD. news_ecb's articles, then repeated with two words in three mapped onto other words of the
corpus (``benchmarks.throughput.repeated_articles``: each repetition is new stories to the indexes,
in news's own vocabulary), streamed into a real server (StreamIngestDocuments) with ``--model`` (default
``none``: lexical matching only; embedding 100,000 articles with MiniLM takes hours on 2 cores, and
the model adds the same time to every size, so the growth is the lexical stores' and indexes').

AT EACH SIZE.
- ``find_similar``: 200 calls of each kind from 4 concurrent clients (``benchmarks.service_speed``): a
  near-copy (the first 80% of a stored article drawn at random, seeded) and a novel text (MRPC
  sentences), each client sending one of each in turn, median and p99 in ms; then ``copy_only``: 200
  near-copies of other stored articles from 4 clients sending nothing else;
- ``server_rss_mb``: the server process's resident memory;
- Redis: ``used_memory`` (INFO memory) per stored article and, by key kind, the bytes ``MEMORY USAGE``
  gives for a seeded sample of each kind's keys, scaled to the kind's count, and an article hash's
  bytes by field (text, sentence embeddings, vector); the article indexes' keys (``INDEX_KINDS``:
  document LSH, sentence LSH, sentences by their words) by name, with their sum; the embedded server:
  the data directory's size.

``--config FILE`` passes settings to the servers (``resident_documents``, the prepared articles a server
caches, bounds its memory; a replica also keeps twice that many of the entries, lineage and story
clusters it read last: with ``resident_documents = 2000`` every cache is full by 10,000 stored, so what
grows from one size to the next is what the replica keeps of every stored article);
``--index-capacity N`` lays the Redis article indexes out for N articles.

EXPIRY. After the last size the server is stopped and the store opened by an engine in this process,
which expires the oldest tenth of the articles (``Engine.expire``, what ``--retain`` runs), timed.

One JSON object out (and to --out).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.output import emit_json
from benchmarks.redis_server import RedisServer
from benchmarks.service_speed import novel_texts, percentile, run_clients, start_server, stop_server
from benchmarks.throughput import repeated_articles, rss_of
from dedup.article import Article
from dedup.client import DedupClient
from dedup.config import Config, EmbedConfig
from dedup.engine import Engine
from dedup.store import open_store

CLIENTS = 4
SAMPLE_KEYS = 400  # keys of each kind sized with MEMORY USAGE
INDEX_KINDS = {
    "doc-lsh": "document LSH",
    "sentence-lsh": "sentence LSH",
    "words": "sentences by their words",
    "indexed": "indexed articles (bitmap)",
    "index": "index counts and binding",
    "ivf": "article vectors: int8 codes in lists, and the lists' centroids",
    "vec": "article vectors: float32, for exact scores",
}
"""The key kinds of the article indexes kept in Redis (``dedup.redis_index``), by what they hold."""


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def redis_memory(url: str, prefix: str, stored: int, seed: int = 5) -> dict[str, Any]:
    """``used_memory`` and bytes by key kind (a seeded sample of each kind's keys, scaled), per article."""
    import redis

    r = redis.Redis.from_url(url)
    keys: dict[str, list[bytes]] = {}
    for key in r.scan_iter(match="\\{" + prefix + "\\}:*", count=5000):
        keys.setdefault(key.decode().split(":", 2)[1], []).append(key)
    rng = random.Random(seed)
    by_kind: Counter[str] = Counter()
    for kind, found in keys.items():
        sample = found if len(found) <= SAMPLE_KEYS else rng.sample(found, SAMPLE_KEYS)
        sized = sum(int(r.memory_usage(k, samples=0) or 0) for k in sample)
        by_kind[kind] = round(sized * len(found) / len(sample) / stored)
    # An article's hash by field: its text, its sentence embeddings (float16), its vector, the rest.
    fields: Counter[str] = Counter()
    docs = keys.get("doc", [])
    sample = docs if len(docs) <= SAMPLE_KEYS else rng.sample(docs, SAMPLE_KEYS)
    for key in sample:
        for name in ("text", "embeddings", "vector"):
            fields[name] += int(r.hstrlen(key, name))
        fields["all fields"] += sum(len(k) + len(v) for k, v in r.hgetall(key).items())
    doc_fields = {k: round(v / max(len(sample), 1)) for k, v in fields.items()}
    used = int(r.info("memory")["used_memory"])
    r.close()
    indexes = {name: by_kind[kind] for kind, name in INDEX_KINDS.items() if kind in by_kind}
    return {
        "used_memory_bytes_per_article": round(used / stored),
        "bytes_per_article_by_key_kind": dict(by_kind),
        "article_indexes_bytes_per_article": {**indexes, "all": sum(indexes.values())},
        "index_keys": {kind: len(keys.get(kind, [])) for kind in INDEX_KINDS},
        "article_hash_field_bytes": doc_fields,
    }


def _latency(
    target: str, stored: Sequence[Article], novel: Sequence[str], queries: int, seed: int
) -> dict[str, Any]:
    sample = random.Random(seed).sample(list(stored), min(2 * queries, len(stored)))
    mixed = run_clients(lambda: DedupClient(target, timeout=600), sample, novel, queries, CLIENTS)
    # Other stored articles than the mixed run's: their new last sentences are new to the model too.
    copies = run_clients(
        lambda: DedupClient(target, timeout=600), sample[queries:] or sample, [], queries, CLIENTS, ("copy",)
    )
    lat = {**mixed, "copy_only": copies["copy"]}
    return {
        kind: {"median_ms": round(percentile(v, 0.5), 1), "p99_ms": round(percentile(v, 0.99), 1)}
        for kind, v in lat.items()
    }


def grow(
    name: str,
    extra: list[str],
    corpus: Sequence[Article],
    sizes: Sequence[int],
    novel: Sequence[str],
    queries: int,
    tmp: Path,
    redis_url: str | None,
    prefix: str,
) -> dict[str, Any]:
    data_dir = tmp / name
    proc, target = start_server(data_dir, extra)
    stream: Iterator[Article] = repeated_articles(corpus, max(sizes))
    stored: list[Article] = []
    steps = []
    try:
        for size in sorted(sizes):
            batch = list(itertools.islice(stream, size - len(stored)))
            started = time.perf_counter()
            with DedupClient(target, timeout=3600) as client:
                for _ in client.ingest_many(batch):
                    pass
            seconds = time.perf_counter() - started
            stored.extend(batch)
            step: dict[str, Any] = {
                "stored": size,
                "ingest_articles_per_s": round(len(batch) / seconds, 1),
                "find_similar_4_clients": _latency(target, stored, novel, queries, size),
                "server_rss_mb": round(rss_of(proc.pid) / 2**20, 1),
            }
            if redis_url is not None:
                step["redis"] = redis_memory(redis_url, prefix, size)
            else:
                step["data_dir_bytes_per_article"] = round(_folder_bytes(data_dir) / size)
            steps.append(step)
            print(json.dumps({name: step}), flush=True)
    finally:
        stop_server(proc, 600)
    return {"steps": steps}


def timed_expiry(spec: str, model: str) -> dict[str, Any]:
    """Open the store in an engine here and expire its oldest tenth (``Engine.expire``), timed."""
    started = time.perf_counter()
    engine = Engine(Config(embed=EmbedConfig(model=model)), store=open_store(spec))
    opened = time.perf_counter() - started
    times = sorted(e.ingest_time for e in engine.store.load().documents)
    before = times[len(times) // 10]
    started = time.perf_counter()
    removed = engine.expire(before)
    seconds = time.perf_counter() - started
    left = len(engine)
    engine.close()
    return {
        "opened_seconds": round(opened, 1),
        "expired": len(removed),
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(removed) / seconds, 1) if seconds else None,
        "left": left,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "news_ecb")
    parser.add_argument("--mrpc", type=Path, default=DEFAULT_DATA / "mrpc" / "msr_paraphrase_train.txt")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model", default="none")
    parser.add_argument("--backends", nargs="+", choices=["embedded", "redis"], default=["embedded", "redis"])
    parser.add_argument("--no-expiry", action="store_true")
    parser.add_argument(
        "--index-capacity", type=int, help="articles the Redis article indexes are laid out for (the URL's "
        "index_capacity; default the store's)"
    )  # fmt: skip
    parser.add_argument("--config", type=Path, help="a TOML or JSON file of settings for the servers")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    corpus = load_news_ecb(args.data)
    novel = novel_texts(args.mrpc, args.queries)
    result: dict[str, Any] = {
        "benchmark": "scale_out",
        "date": time.strftime("%Y-%m-%d"),
        "model": args.model,
        "clients": CLIENTS,
        "queries_per_kind": args.queries,
        "config": args.config.read_text(encoding="utf-8") if args.config else None,
        "index_capacity": args.index_capacity,
    }
    extra = ["--model", args.model, *(["--config", str(args.config)] if args.config else [])]
    with tempfile.TemporaryDirectory(prefix="dedup-scale-") as folder:
        tmp = Path(folder)
        if "embedded" in args.backends:
            out = grow("embedded", extra, corpus, args.sizes, novel, args.queries, tmp, None, "")
            if not args.no_expiry:
                out["expiry"] = timed_expiry(f"sqlite:{tmp / 'embedded' / 'dedup.sqlite3'}", args.model)
            result["embedded"] = out
            shutil.rmtree(tmp / "embedded", ignore_errors=True)
        if "redis" in args.backends:
            redis = RedisServer(tmp / "redis")
            prefix = f"scale{uuid.uuid4().hex[:6]}"
            url = f"{redis.url}?prefix={prefix}"
            if args.index_capacity:
                url += f"&index_capacity={args.index_capacity}"
            try:
                out = grow("redis", [*extra, "--state", url], corpus, args.sizes, novel, args.queries, tmp,
                           redis.url, prefix)  # fmt: skip
                if not args.no_expiry:
                    out["expiry"] = timed_expiry(url, args.model)
                result["redis"] = out
            except Exception:
                if redis.proc.poll() is not None:
                    print(f"redis-server stopped ({redis.proc.returncode}); its log:\n{redis.log_tail()}",
                          file=sys.stderr)  # fmt: skip
                raise
            finally:
                redis.stop()
    emit_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
