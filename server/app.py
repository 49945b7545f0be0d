"""Building and running the server: the servicer, health checking, reflection, graceful stop."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dedup.config import Config
from dedup.engine import Engine
from dedup.store import SqliteStore
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from server.interceptor import ServiceInterceptor
from server.servicer import DedupServicer

__all__ = ["RunningServer", "build_server", "configure_logging", "serve"]

log = logging.getLogger("dedup.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DedupService"].full_name
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, message, and the record's extra fields (request_id...)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("dedup")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    servicer: DedupServicer
    engine: Engine

    def stop(self, grace: float = 30.0) -> None:
        """Stop taking calls, let those in flight finish (up to ``grace`` seconds), close the store."""
        self.health.enter_graceful_shutdown()
        self.servicer.close()
        self.server.stop(grace).wait()
        self.engine.close()


def build_server(
    engine: Engine, address: str = "[::]:50051", max_workers: int = 16, max_inflight: int = 64
) -> RunningServer:
    """A started server for ``engine`` on ``address`` (port 0 picks a free one)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dedup-rpc"),
        interceptors=[ServiceInterceptor(max_inflight)],
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )
    servicer = DedupServicer(engine)
    pb_grpc.add_DedupServiceServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer, servicer, engine)


def serve(
    data_dir: str | Path,
    port: int = 50051,
    config: Config | None = None,
    host: str = "[::]",
    max_inflight: int = 64,
    grace: float = 30.0,
) -> int:
    """Run the embedded default until SIGTERM or SIGINT: state in ``data_dir``, one process."""
    configure_logging()
    data = Path(data_dir).resolve()
    store = SqliteStore(data / "dedup.sqlite3")
    engine = Engine(config or Config(), store=store, index_dir=data / "indexes")
    dim = engine.embedder.dim  # load the model before saying we are ready
    started = time.perf_counter()
    engine.warm_up()  # the compiled loops too (seconds on the first start after an install)
    log.info("warmed up", extra={"seconds": round(time.perf_counter() - started, 2)})
    running = build_server(engine, f"{host}:{port}", max_inflight=max_inflight)
    log.info(
        "serving",
        extra={
            "port": running.port,
            "data_dir": str(data),
            "store": store.location,
            "documents": len(engine),
            "model": engine.embedder.name,
            "dim": dim,
            "indexes": "loaded" if engine.indexes_loaded else "rebuilt from the store",
        },
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    running.stop(grace)
    log.info("stopped", extra={"documents": len(engine)})
    return 0
