"""Prometheus metrics of a running server, served over HTTP on ``--metrics-port``.

- ``dedup_requests_total{method, code}``: calls answered, by method and status code;
- ``dedup_request_duration_seconds{method, code}``: how long they took (a histogram);
- ``dedup_articles_stored``: articles in the store;
- ``dedup_ingest_queue_depth``: articles the service has received and not yet acknowledged;
- ``dedup_embedding_seconds_total`` and ``dedup_sentences_embedded_total``: time in the model, and
  the sentences that went through it;
- ``dedup_store_bytes``: bytes the data directory holds (database, its journal, saved indexes);
- ``dedup_writes_retried_total`` and ``dedup_write_lock_wait_seconds_total``: on a store shared by
  several servers, writes computed again because another server committed first, and the time writes
  waited for the store's write lock (how much the servers get in each other's way).

Each server has a registry of its own, so that several in one process (tests) do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dedup.engine import Engine

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _EngineCollector(Collector):
    """What the engine and the data directory hold, read at each scrape."""

    def __init__(self, engine: Engine, data_dir: Path | None, queue_depth: Callable[[], int]) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("dedup_articles_stored", "Articles in the store.", value=len(self.engine))
        yield GaugeMetricFamily(
            "dedup_ingest_queue_depth",
            "Articles received by the service and not yet acknowledged.",
            value=self.queue_depth(),
        )
        yield CounterMetricFamily(
            "dedup_embedding_seconds",
            "Seconds spent in the embedding model.",
            value=self.engine.embedding_seconds,
        )
        yield CounterMetricFamily(
            "dedup_sentences_embedded",
            "Sentences that went through the embedding model.",
            value=self.engine.counters["sentences_embedded"],
        )
        yield CounterMetricFamily(
            "dedup_writes_retried",
            "Writes computed again because another server sharing the store committed first.",
            value=self.engine.counters["writes_retried"],
        )
        yield CounterMetricFamily(
            "dedup_write_lock_wait_seconds",
            "Seconds writes waited for the store's write lock (held by other servers sharing it).",
            value=self.engine.write_wait_seconds,
        )
        if self.data_dir is not None:
            size = 0
            for f in self.data_dir.rglob("*"):
                try:
                    size += f.stat().st_size if f.is_file() else 0
                except OSError:  # a file saved or removed while we count
                    continue
            yield GaugeMetricFamily(
                "dedup_store_bytes", "Bytes in the data directory (database, journal, indexes).", value=size
            )


class Metrics:
    """The server's metrics: the interceptor reports each call with ``observe``."""

    def __init__(self, engine: Engine, data_dir: Path | None, queue_depth: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "dedup_requests", "Calls answered, by method and status code.", ("method", "code"),
            registry=self.registry,
        )  # fmt: skip
        self._latency = Histogram(
            "dedup_request_duration_seconds", "Call latency, by method and status code.", ("method", "code"),
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.registry.register(_EngineCollector(engine, data_dir, queue_depth))
        self._http: object | None = None

    def observe(self, method: str, code: str, seconds: float) -> None:
        self._requests.labels(method, code).inc()
        self._latency.labels(method, code).observe(seconds)

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on ``host:port`` (0 picks a free port) from a daemon thread; the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._http = server
        return int(server.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()  # type: ignore[attr-defined]
            self._http = None
