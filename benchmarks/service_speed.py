"""Ingest throughput over gRPC and FindSimilar latency, against a real server on loopback.

    python -m benchmarks.service_speed --data ../shared/data/news_ecb --limit 500 --queries 200

Starts `dedup serve` as a subprocess on a fresh data folder, streams the articles in with
the Python client (StreamIngestDocuments, one reply per article), then sends --queries FindSimilar
calls of two kinds from each number of --clients in turn (1, 4 and 16 by default, each client a
thread with its own channel, all sending at once), and reports median and p99 latency of each:

- "copy": a stored article's first 80%, as a newsroom checking a near-copy would send;
  its sentences are already stored, so their embeddings are reused rather than computed;
- "novel": 15 sentences from MRPC (news sentences never ingested), so every sentence goes
  through the model: the worst case.

With ``--secure`` the server serves TLS (a certificate made for the run, ``benchmarks/pki.py``)
and asks for a bearer token (a write token, from a tokens file made for the run), and every client
call carries it: what a service on a network costs beside the plain figures.

One JSON object out.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from dedup.article import Article
from dedup.client import DedupClient

STDERR_TAIL = 50
"""Lines of a server's standard error kept, to say why it failed."""
_TAILS: dict[int, deque[str]] = {}
_SERVING: dict[int, dict[str, Any]] = {}


def serving_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The log line a server started by ``start_server`` said it was serving with (its ports)."""
    return _SERVING[proc.pid]


def metric_samples(proc: subprocess.Popen[str]) -> dict[str, float]:
    """The samples of a server started with ``--metrics-port 0`` (``start_server``), by name."""
    import urllib.request

    port = serving_line(proc)["metrics_port"]
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }


def start_server(
    data_dir: Path, extra_args: Sequence[str] = (), launcher: Sequence[str] = ()
) -> tuple[subprocess.Popen[str], str]:
    """``dedup serve`` on a free loopback port (with ``extra_args``, started through ``launcher``, say
    ``taskset -c 0``); returns the process and its address."""
    proc = subprocess.Popen(
        [
            *launcher,
            sys.executable,
            "-m",
            "dedup",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            *extra_args,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    tail: deque[str] = deque(maxlen=STDERR_TAIL)
    _TAILS[proc.pid] = tail
    for raw in proc.stderr:
        tail.append(raw.rstrip())
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("msg") == "serving":
            _SERVING[proc.pid] = line
            threading.Thread(
                target=lambda: tail.extend(r.rstrip() for r in proc.stderr or []), daemon=True
            ).start()
            return proc, f"127.0.0.1:{line['port']}"
    raise RuntimeError("the server did not start:\n" + "\n".join(tail))


def stop_server(proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """SIGTERM, and wait up to ``timeout`` s; a server that does not exit is killed, and the error says
    what it last wrote."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)
        tail = "\n".join(_TAILS.get(proc.pid, ()))
        raise RuntimeError(
            f"the server (pid {proc.pid}) did not exit {timeout:g} s after SIGTERM; its last lines:\n{tail}"
        ) from None


def novel_texts(mrpc: Path, count: int, sentences: int = 15) -> list[str]:
    """Pseudo-articles of MRPC sentences (one line each), none of them ingested."""
    lines = mrpc.read_text(encoding="utf-8-sig").splitlines()[1:]
    pool = [line.split("\t")[col] for col in (3, 4) for line in lines if line.count("\t") >= 4]
    return ["\n".join(pool[(n * sentences + k) % len(pool)] for k in range(sentences)) for n in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_clients(
    connect: Callable[[], DedupClient],
    articles: Sequence[Article],
    novel: Sequence[str],
    queries: int,
    clients: int,
    kinds: Sequence[str] = ("copy", "novel"),
) -> dict[str, list[float]]:
    """``queries`` FindSimilar calls of each of ``kinds``, shared among ``clients`` threads with a
    channel each, all sending at once; the latency of every call in milliseconds. A ``copy`` is the
    first 80% of one of ``articles``, a ``novel`` one of ``novel``; each client sends one of each kind
    in turn."""
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    lock = threading.Lock()

    def one(k: int) -> None:
        with connect() as client:
            for n in range(k, queries, clients):
                text = articles[n % len(articles)].text
                for kind in kinds:
                    query = text[: max(200, int(len(text) * 0.8))] if kind == "copy" else novel[n]
                    t0 = time.perf_counter()
                    client.find_similar(query)
                    took = 1000 * (time.perf_counter() - t0)
                    with lock:
                        latencies[kind].append(took)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA / "news_ecb"), help="news_ecb folder (docs.json)")
    parser.add_argument("--limit", type=int, default=500, help="articles to ingest (default 500)")
    parser.add_argument("--queries", type=int, default=200, help="FindSimilar calls (default 200)")
    parser.add_argument(
        "--clients",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 4, 16],
        help="concurrent clients, one run each (default 1,4,16)",
    )
    parser.add_argument(
        "--mrpc",
        default=str(DEFAULT_DATA / "mrpc" / "msr_paraphrase_train.txt"),
        help="MRPC file for the novel queries",
    )
    parser.add_argument(
        "--secure", action="store_true", help="TLS and a bearer token on every call (see above)"
    )
    args = parser.parse_args(argv)
    articles = load_news_ecb(args.data, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        server_args: list[str] = []
        options: dict[str, object] = {}
        if args.secure:
            from benchmarks.pki import make_pki

            (Path(tmp) / "pki").mkdir()
            pki = make_pki(Path(tmp) / "pki")
            token = secrets.token_hex(16)
            tokens = Path(tmp) / "tokens.txt"
            tokens.write_text(f"write {token}\n", encoding="utf-8")
            tokens.chmod(0o600)
            server_args = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
            server_args += ["--tokens", str(tokens)]
            options = {"tls_ca": pki.ca, "token": token}
        proc, address = start_server(Path(tmp) / "data", server_args)
        # The certificate names localhost (and 127.0.0.1): connect by name, as a client on a network.
        target = address.replace("127.0.0.1", "localhost") if args.secure else address

        def connect() -> DedupClient:
            return DedupClient(target, timeout=600, **options)  # type: ignore[arg-type]

        try:
            with connect() as client:
                started = time.perf_counter()
                for _ in client.ingest_many(articles):  # each reply: that article is stored
                    pass
                ingest_s = time.perf_counter() - started
                # Fresh novel texts for each run: the server caches embeddings, and a text seen in an
                # earlier run would not go through the model again.
                novel = novel_texts(Path(args.mrpc), args.queries * len(args.clients))
                levels = {
                    n: run_clients(connect, articles, novel[k * args.queries :], args.queries, n)
                    for k, n in enumerate(args.clients)
                }
        finally:
            stop_server(proc, 60)
    print(
        json.dumps(
            {
                "articles": len(articles),
                "secure": "TLS and a bearer token" if args.secure else "plaintext, no token",
                "ingest_seconds": round(ingest_s, 2),
                "ingest_articles_per_second": round(len(articles) / ingest_s, 2),
                "find_similar_queries": args.queries,
                "find_similar": {
                    f"{n}_clients": {
                        f"{kind}_{stat}_ms": round(value, 1)
                        for kind, values in latencies.items()
                        for stat, value in (
                            ("median", statistics.median(values)),
                            ("p99", percentile(values, 0.99)),
                        )
                    }
                    for n, latencies in levels.items()
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
