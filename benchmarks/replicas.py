"""Ingest rate of `dedup serve` replicas sharing one Redis, beside the embedded server (SQLite), through
the path users run: real server processes, articles streamed in (StreamIngestDocuments).

    python -m benchmarks.replicas --data ../shared/data/news_ecb --limit 300
    python -m benchmarks.replicas --model none --limit 500      # lexical matching only

For each row the script starts what the row names, fresh: the embedded server on a new data directory; as
many embedded servers as the most replicas asked, each on a data directory of its own (nothing shared: not
one state, each finds only what it was given; what the machine gives that many servers at all, the ceiling
for replicas); or 1 or 2 replicas on a new key prefix of one redis-server it starts itself (Debian's,
append-only with an fsync per write, as the README asks); and as many replicas as the most asked, each
with a store of its own on that redis-server (a key prefix each): they share the server and the cores, and
no state, so they neither follow each other's commits nor wait for each other's writes and each matches
against only what it was given (what the machine gives that many replicas when sharing the state costs
nothing: the ceiling for replicas on one Redis here). The articles (news_ecb, in a seeded shuffle) are
streamed to the servers at the same moment, one stream each; by default as ``dedup ingest --server A,B``
streams them (``dedup.spread``), from one queue, a stream taking the next article whenever its server has
fewer than ``--window`` unanswered, so that a server given longer articles is given fewer (``--deal
turn``: a fixed share each, dealt in turn before the first is sent). The rate is all of them over the wall
time from the first send to the last reply. ``--pin`` gives each server one core of its own (``taskset``;
the model then runs one thread), so n replicas run on n cores, as on n machines; without it every server
may use every core, and on a small machine one replica already does. Each replica follows what the others
commit (their entries, clusters and lineage; the article indexes are kept in Redis, written by the
commits), and writes take turns under the store's write lock: what runs side by side is preparing,
embedding, following the others' commits and aligning with the candidates as the store stood before the
lock was taken; under it a replica aligns only with what was committed meanwhile, then places, derives and
commits.

Each row also says where the CPU went while the articles streamed: each server's CPU seconds, their
busy share of the cores they could run on, and redis-server's CPU seconds and share of the machine
(it runs on the same cores as the replicas here; on n machines it would have its own), and how much
the servers got in each other's way: the writes each computed again because another committed first,
and the seconds each waited for the store's write lock (their metrics).

``--repeat N`` runs every row N times, round after round (a fresh redis-server each round), since
figures here move by several percent from run to run: each row gives the median round's figures, every
round's rate, and its speedup as the median of the rounds' speedups, each over the baseline of its
own round.

One JSON object out.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.output import emit_json
from benchmarks.redis_server import RedisServer
from benchmarks.service_speed import metric_samples, start_server, stop_server
from benchmarks.throughput import cpu_seconds, rss_of
from dedup.article import Article
from dedup.client import DedupClient
from dedup.redis_store import RedisStore
from dedup.spread import UNANSWERED, ingest_spread


def _stream(
    targets: list[str], articles: list[Article], deal: str = "queue", window: int = UNANSWERED
) -> float:
    """Stream ``articles`` to ``targets`` at once, one stream each; the wall time. ``queue``: as
    ``dedup ingest --server A,B`` does (``dedup.spread``), each stream taking the next article from one
    queue whenever its server has fewer than ``window`` unanswered; ``turn``: dealt in turn before the
    first is sent, a fixed share each however long its articles."""
    clients = [DedupClient(t, timeout=3600) for t in targets]
    try:
        if deal == "queue":
            started = time.perf_counter()
            for _ in ingest_spread(clients, articles, window, one_store=False):  # (the baseline shares none)
                pass
            return time.perf_counter() - started
        return _stream_shares(clients, [articles[k :: len(targets)] for k in range(len(targets))])
    finally:
        for client in clients:
            client.close()


def _stream_shares(clients: list[DedupClient], shares: list[list[Article]]) -> float:
    """Each share streamed to its server by a thread of its own, all at once; the wall time."""
    barrier = threading.Barrier(len(clients) + 1)
    errors: list[BaseException] = []

    def send(client: DedupClient, share: list[Article]) -> None:
        try:
            barrier.wait()
            for _ in client.ingest_many(share):
                pass
        except BaseException as exc:  # raised below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(c, s)) for c, s in zip(clients, shares, strict=True)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def redis_cpu_seconds(url: str) -> float:
    """CPU time redis-server has used, user and system (``INFO cpu``)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_row(
    name: str,
    count: int,
    store: list[str],
    articles: list[Article],
    model: list[str],
    tmp: Path,
    pin: bool = False,
    redis_url: str | None = None,
    deal: str = "queue",
    window: int = UNANSWERED,
    own: list[list[str]] | None = None,
) -> dict[str, Any]:
    """One row: ``count`` servers started fresh, the articles streamed to them, the rate, and where
    the CPU went meanwhile (each server, and redis-server when ``redis_url`` names it). ``store``: the
    arguments every server gets; ``own``: those server k gets besides (a store of its own)."""
    cores = sorted(os.sched_getaffinity(0))
    servers = [
        start_server(
            tmp / f"{name}-{k}",
            [*model, *store, *(own[k] if own else []), "--metrics-port", "0"],
            ["taskset", "-c", str(cores[k % len(cores)])] if pin else [],
        )
        for k in range(count)
    ]
    try:
        cpu0 = [cpu_seconds(proc.pid) for proc, _ in servers]
        redis0 = redis_cpu_seconds(redis_url) if redis_url else 0.0
        seconds = _stream([target for _, target in servers], articles, deal, window)
        cpu = [cpu_seconds(proc.pid) - c for (proc, _), c in zip(servers, cpu0, strict=True)]
        redis_cpu = redis_cpu_seconds(redis_url) - redis0 if redis_url else 0.0
        rss = [rss_of(proc.pid) for proc, _ in servers]
        metrics = [metric_samples(proc) for proc, _ in servers]
    finally:
        for proc, _ in servers:
            stop_server(proc)
    n_cores = len(cores)
    given = min(count, n_cores) if pin else n_cores  # the cores the servers could run on
    return {
        "what": name,
        "servers": count,
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(articles) / seconds, 2),
        "resident_mb_per_server": [round(r / 2**20, 1) for r in rss],
        "cores_per_server": 1 if pin else n_cores,
        # Where the machine's CPU went while the articles streamed: the servers' busy share of the
        # cores they were given, and redis-server's CPU time (it runs on the same cores).
        "cpu_seconds_per_server": [round(c, 2) for c in cpu],
        "server_busy_share": round(sum(cpu) / (seconds * given), 3),
        "redis_cpu_seconds": round(redis_cpu, 2) if redis_url else None,
        "redis_share_of_machine": round(redis_cpu / (seconds * n_cores), 3) if redis_url else None,
        # How much the servers got in each other's way (their metrics): writes computed again because
        # another committed first, and seconds spent waiting for the store's write lock.
        "writes_retried": [int(m["dedup_writes_retried_total"]) for m in metrics],
        "write_lock_wait_seconds": [round(m["dedup_write_lock_wait_seconds_total"], 2) for m in metrics],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "news_ecb")
    parser.add_argument("--limit", type=int, default=300, help="articles streamed in each row")
    parser.add_argument("--model", default=None, help="the server's --model (default: its own default)")
    parser.add_argument("--seed", type=int, default=1, help="the shuffle of the articles")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run each server on one core of its own (taskset): n replicas on n cores, as on n machines",
    )
    parser.add_argument(
        "--deal",
        choices=["queue", "turn"],
        default="queue",
        help="queue: each server's client takes the next article when it has fewer than --window "
        "unanswered, as ingest workers take from one queue; turn: a fixed share each, dealt in turn",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=UNANSWERED,
        help=f"unanswered articles a stream may have (default {UNANSWERED}: two of the server's stream "
        "batches, so that a server embeds its next batch while it matches one)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every row, one after the other (each round on a fresh redis-server); each row "
        "then gives the median round's figures, every round's rate, and the median of the rounds' "
        "speedups (a round's rows ran minutes apart, on the machine as it was then)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    articles = load_news_ecb(args.data)
    random.Random(args.seed).shuffle(articles)
    articles = articles[: args.limit]
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory(prefix="dedup-replicas-") as folder:
        rounds = [run_round(args, articles, model, Path(folder) / f"round-{k}") for k in range(args.repeat)]
    result = {
        "benchmark": "replicas",
        "model": args.model or "default",
        "articles": len(articles),
        "seed": args.seed,
        "pinned": args.pin,
        "deal": args.deal,
        "window": args.window if args.deal == "queue" else None,
        "rounds": args.repeat,
        "date": time.strftime("%Y-%m-%d"),
        "rows": [median_row([r[i] for r in rounds]) for i in range(len(rounds[0]))],
    }
    emit_json(result, args.out)
    return result


def run_round(
    args: argparse.Namespace, articles: list[Article], model: list[str], tmp: Path
) -> list[dict[str, Any]]:
    """Every row once, the replicas' on a redis-server of the round's own; each row's speedup over its
    baseline in the same round (replicas over one replica, servers sharing nothing over one)."""
    tmp.mkdir(parents=True)

    def row(
        name: str,
        count: int,
        store: list[str],
        redis_url: str | None = None,
        own: list[list[str]] | None = None,
    ) -> dict[str, Any]:
        return run_row(
            name, count, store, articles, model, tmp, args.pin, redis_url, args.deal, args.window, own
        )

    rows = [row("embedded (SQLite)", 1, [])]
    most = max(args.replicas)
    if most > 1:  # the machine's own ceiling: as many servers, sharing nothing
        rows.append(row(f"{most} embedded servers, nothing shared", most, []))
    redis = RedisServer(tmp / "redis")
    try:
        for n in args.replicas:
            url = f"{redis.url}?prefix=bench{uuid.uuid4().hex[:8]}"
            replicas = row(f"{n} replica(s) on Redis", n, ["--state", url], redis.url)
            replicas["stored"] = _stored([url])  # each once, whichever replica took it
            rows.append(replicas)
        if most > 1:  # the ceiling for sharing one state: replicas that share only the server
            urls = [f"{redis.url}?prefix=bench{uuid.uuid4().hex[:8]}" for _ in range(most)]
            apart = row(
                f"{most} replicas on Redis, a store each", most, [], redis.url, [["--state", u] for u in urls]
            )
            apart["stored"] = _stored(urls)
            rows.append(apart)
    finally:
        redis.stop()
    one = next((r for r in rows if r["servers"] == 1 and "Redis" in r["what"]), None)
    for r in rows:
        if one is not None and "Redis" in r["what"]:
            r["speedup_vs_1_replica"] = round(r["articles_per_s"] / one["articles_per_s"], 2)
        elif r["servers"] > 1:  # the shared-nothing servers, against the embedded one
            r["speedup_vs_1_server"] = round(r["articles_per_s"] / rows[0]["articles_per_s"], 2)
    return rows


def _stored(urls: list[str]) -> int:
    """Articles held by the stores at ``urls``, together."""
    total = 0
    for url in urls:
        store = RedisStore(url)
        try:
            total += store.count()
        finally:
            store.close()
    return total


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row over its rounds: the figures of the round with the median rate (the upper of the two
    middle ones for an even count), every round's rate, and each speedup as the median of the
    rounds' (each against its baseline of the same round) with every round's."""
    by_rate = sorted(runs, key=lambda r: r["articles_per_s"])
    row = dict(by_rate[len(by_rate) // 2])
    row["articles_per_s_by_round"] = [r["articles_per_s"] for r in runs]
    for key in ("speedup_vs_1_replica", "speedup_vs_1_server"):
        if key in row:
            row[key] = round(statistics.median(r[key] for r in runs), 2)
            row[f"{key}_by_round"] = [r[key] for r in runs]
    return row


if __name__ == "__main__":
    main()
