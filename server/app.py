"""Building and running the server: the servicer, health checking, reflection (v1 and v1alpha), graceful stop;
one server per data directory and per port."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dedup.config import Config
from dedup.engine import Engine
from dedup.errors import ServeError
from dedup.store import open_store
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from server.interceptor import ServiceInterceptor
from server.metrics import Metrics
from server.reflection import enable_reflection
from server.security import TlsFiles, TokenTable
from server.servicer import STREAM_IDLE_LIMIT, DedupServicer

__all__ = [
    "LOCK_FILE",
    "DataDirLock",
    "RunningServer",
    "Security",
    "build_server",
    "check_port_free",
    "configure_logging",
    "serve",
]

log = logging.getLogger("dedup.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DedupService"].full_name
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

LOCK_FILE = "serve.lock"
"""In the data directory: the file ``dedup serve`` holds an exclusive lock on, with its pid in it."""

RESERVED_THREADS = 8
"""Worker threads beyond ``max_inflight``: calls never wait for a thread (gRPC refuses any call past
``max_inflight + RESERVED_THREADS`` at once), and health checks, which are never counted, always
find one even with every counted call running."""

STOP_MARGIN = 5.0
"""Seconds after the grace period for the handlers of cancelled calls to return (cancelling a call
does not interrupt Python code) before the server stops without them."""

MESSAGE_ROOM = 1 << 20
"""Bytes a request may carry beyond ``limits.max_text_bytes`` of text: the document's other fields
and protobuf framing. A larger message is refused by gRPC (RESOURCE_EXHAUSTED) before it is read."""

MAX_REPLY_BYTES = 64 << 20
"""Largest reply sent (an analysis with many matches and passages)."""


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


class DataDirLock:
    """An exclusive OS lock (``flock``) on ``LOCK_FILE`` in a data directory, with the holder's pid
    written in the file. The kernel releases it when the process ends, however it ends (``kill -9``
    included), so a crash never leaves a stale lock; the file itself stays, unlocked."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Take the lock, or raise ServeError naming the process that holds it."""
        path = data_dir / LOCK_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ServeError(
                f"cannot use {path}: {exc.strerror}; give a --data-dir this user may write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process holds it
            holder = _holder(fd)
            os.close(fd)
            raise ServeError(
                f"data directory {data_dir} is in use by {holder or 'another process'}; stop that server "
                "first, or give this one another --data-dir (one server per data directory)"
            ) from None
        except OSError as exc:  # a filesystem without locks
            os.close(fd)
            raise ServeError(f"cannot lock {path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the lock
            self._fd = None


def _holder(fd: int) -> str | None:
    """The process holding the lock on ``fd``'s file, as the lock file names it: "process 1234
    (its command line)". None while the holder has not written its pid yet."""
    try:
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
    except ValueError:
        return None
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"process {pid}"
    command = command.strip()
    if len(command) > 120:
        command = command[:117] + "..."
    return f"process {pid} ({command})" if command else f"process {pid}"


def check_port_free(host: str, port: int) -> None:
    """Raise ServeError if ``host:port`` cannot be listened on: another server (of any kind) holds it,
    or the address is not this machine's. Binds a socket as gRPC will (address reuse for ports left in
    TIME_WAIT, no port sharing), then closes it. Port 0 (any free port) is always free."""
    if port == 0:
        return
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        found = socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(
            f"cannot listen on {host}:{port}: {exc.strerror}; give --host an address of this machine"
        ) from None
    for family, kind, proto, _, address in dict.fromkeys((f, k, p, "", a) for f, k, p, _, a in found):
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:
            continue  # no IPv6 on this machine: gRPC leaves that family out too
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and address[0] == "::":
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # [::] is IPv4 too, as in gRPC
            try:
                probe.bind(address)
            except OSError as exc:
                raise ServeError(_port_taken(host, port, exc)) from None


def _port_taken(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use by another process; stop it, or give this server "
            "another --port"
        )
    return f"cannot listen on {host}:{port}: {exc.strerror}"


@dataclass(frozen=True)
class Security:
    """How the server lets callers in: TLS (None: plaintext) and bearer tokens (None: no tokens)."""

    tls: TlsFiles | None = None
    tokens: TokenTable | None = None


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    servicer: DedupServicer
    engine: Engine
    interceptor: ServiceInterceptor
    metrics: Metrics

    def stop(self, grace: float = 30.0) -> bool:
        """Stop taking calls and let those in flight finish; after ``grace`` seconds cancel the rest.
        Then save the indexes and close the store, and return True; or, if a cancelled call's handler
        is still running ``STOP_MARGIN`` seconds later (inside the engine, which cancelling does not
        interrupt), leave the engine as it is and return False. Either way this returns within
        ``grace + STOP_MARGIN`` seconds plus the time saving the indexes takes, whatever the clients
        sent. Acknowledged articles are in the store already; indexes not saved are rebuilt at the
        next start."""
        deadline = time.monotonic() + grace + STOP_MARGIN
        self.health.enter_graceful_shutdown()
        self.servicer.close()
        # gRPC sets this once every call has ended. It may never do so (a call it failed to finish:
        # malformed stream messages did that before the interceptor parsed requests itself), so the
        # wait is bounded too.
        self.server.stop(grace).wait(max(0.0, deadline - time.monotonic()))
        self.metrics.close()
        if not self.interceptor.wait_idle(max(0.0, deadline - time.monotonic())):
            return False
        self.engine.close()
        return True


def build_server(
    engine: Engine,
    address: str = "127.0.0.1:50051",
    max_inflight: int = 64,
    max_streams: int = 16,
    security: Security | None = None,
    data_dir: Path | None = None,
    stream_idle: float = STREAM_IDLE_LIMIT,
) -> RunningServer:
    """A started server for ``engine`` on ``address`` (port 0 picks a free one). At most
    ``max_inflight`` calls are served at once, ``max_streams`` of them streaming; more get
    RESOURCE_EXHAUSTED (see ``server.interceptor``). ``security`` adds TLS and bearer tokens
    (``server.security``). A port already in use is a ServeError. Its metrics
    (``RunningServer.metrics``) are served over HTTP only when asked (``Metrics.serve``)."""
    security = security or Security()
    servicer = DedupServicer(engine, stream_idle)
    metrics = Metrics(engine, data_dir, lambda: servicer.pending_articles)
    health_servicer = health.HealthServicer()

    def observe(method: str, code: str, seconds: float) -> None:
        metrics.observe(method, code, seconds)
        if code == grpc.StatusCode.FAILED_PRECONDITION.name:
            # Only a write that the shared state refuses for good is FAILED_PRECONDITION (its indexes
            # were rebuilt with other settings): nothing this process answers from its own layout can
            # be trusted until it is restarted, so load balancers are told to send it nothing.
            for name in ("", SERVICE_NAME):
                health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    interceptor = ServiceInterceptor(max_inflight, max_streams, security.tokens, observe)
    threads = max_inflight + RESERVED_THREADS
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dedup-rpc"),
        interceptors=[interceptor],
        options=[
            ("grpc.max_receive_message_length", engine.config.limits.max_text_bytes + MESSAGE_ROOM),
            ("grpc.max_send_message_length", MAX_REPLY_BYTES),
            # Off, so that a second server cannot listen on a port this one holds (with it, the kernel
            # splits the connections between the two).
            ("grpc.so_reuseport", 0),
        ],
        # Every call admitted has a thread at once: none waits in the pool's queue, where no limit
        # would see it.
        maximum_concurrent_rpcs=threads,
    )
    pb_grpc.add_DedupServiceServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name), server)
    try:
        if security.tls is not None:
            port = server.add_secure_port(address, security.tls.credentials())
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # gRPC's own message says only "Failed to bind"
        port = 0
    if port == 0:
        raise ServeError(
            f"cannot listen on {address}: the port is in use or the address is not this machine's; "
            "give another --port or --host"
        )
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer, servicer, engine, interceptor, metrics)


def _loopback(host: str) -> bool:
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return name in {"localhost", "127.0.0.1", "::1"}


def _keep_expiring(engine: Engine, retain: float, stop: threading.Event) -> None:
    """Expire the articles older than ``retain`` seconds until ``stop``: at start, then every twentieth
    of the period (between 1 s and 10 minutes). A failure (a full disk) is logged and tried again."""
    every = min(max(retain / 20, 1.0), 600.0)
    while True:
        try:
            gone = engine.expire(time.time() - retain)
            if gone:
                log.info("expired", extra={"documents": len(gone), "retain_seconds": retain})
        except Exception as exc:  # the next round tries again; nothing was half-removed (undo)
            log.error("expiring failed", extra={"error": str(exc)})
        if stop.wait(every):
            return


def serve(
    data_dir: str | Path,
    port: int = 50051,
    config: Config | None = None,
    host: str = "127.0.0.1",
    max_inflight: int = 64,
    grace: float = 30.0,
    max_streams: int = 16,
    security: Security | None = None,
    metrics_port: int | None = None,
    state: str | None = None,
    retain: float | None = None,
    stream_idle: float = STREAM_IDLE_LIMIT,
    rebuild_indexes: bool = False,
) -> int:
    """Run the embedded default until SIGTERM or SIGINT: state in ``data_dir``, one process.
    ``state``: the store's URL instead (``redis://HOST:PORT/DB``, ``open_store``), which any number of
    servers may share: each follows what the others commit (``Engine``). ``data_dir`` then keeps the
    lock and the saved indexes of this server.
    ``retain``: seconds an article is kept after its ingest; older ones are expired (``Engine.expire``)
    a few times per period, and at least every ten minutes.
    ``rebuild_indexes``: build the article indexes again from the store at start, whatever was saved,
    or kept beside a shared store (with other settings: every process sharing it must be stopped first).

    Before loading anything it locks the data directory (``DataDirLock``) and checks the port is
    free: a second server on either gets a ServeError (one line, exit status 2) at once. The first
    log line says where the data lives, the next that the model is loading, the last before calls
    are taken that it is serving (with its port, and the metrics port when ``metrics_port`` is
    given)."""
    configure_logging()
    config = config or Config()
    security = security or Security()
    data = Path(data_dir).resolve()
    lock = DataDirLock.acquire(data)
    try:
        check_port_free(host, port)
        if security.tls is not None:
            security.tls.credentials()  # a certificate that cannot be read fails now, not after the model
        store = open_store(state or f"sqlite:{data / 'dedup.sqlite3'}")
        log.info(
            "starting",
            extra={
                "data_dir": str(data),
                "store": store.location,
                "pid": os.getpid(),
                "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
            },
        )
        log.info("loading the model", extra={"model": config.embed.model, "backend": config.embed.backend})
        engine = Engine(config, store=store, index_dir=data / "indexes", rebuild_indexes=rebuild_indexes)
        dim = engine.embedder.dim  # load the model before saying we are ready
        started = time.perf_counter()
        engine.warm_up()  # the compiled loops too (seconds on the first start after an install)
        log.info("warmed up", extra={"seconds": round(time.perf_counter() - started, 2)})
        try:
            running = build_server(
                engine, f"{host}:{port}", max_inflight, max_streams, security=security, data_dir=data,
                stream_idle=stream_idle,
            )  # fmt: skip
            served_metrics = running.metrics.serve(host, metrics_port) if metrics_port is not None else None
        except BaseException:
            engine.close()
            raise
    except BaseException:
        lock.release()
        raise
    # The handlers go in before "serving" is said: whoever waits for that line may stop the server at once.
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name, "grace_seconds": grace})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
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
            "pid": os.getpid(),
            "tls": "mutual" if security.tls and security.tls.client_ca else "on" if security.tls else "off",
            "tokens": len(security.tokens.scopes) if security.tokens else 0,
            "metrics_port": served_metrics,
        },
    )
    if security.tokens is not None and security.tls is None and not _loopback(host):
        log.warning(
            "tokens travel in plaintext: give --tls-cert and --tls-key when listening beyond this machine"
        )
    if retain is not None:
        threading.Thread(
            target=_keep_expiring, args=(engine, retain, stop), name="dedup-retention", daemon=True
        ).start()
    # Python runs a signal's handler on the main thread, between bytecodes: a wait on a lock without a
    # timeout is not woken when the kernel hands the signal to another thread (one of gRPC's), and would
    # wait for ever, so this one wakes up every half second to let the handler run.
    while not stop.wait(0.5):
        pass
    if running.stop(grace):
        log.info("stopped", extra={"documents": len(engine), "indexes": "saved"})
        lock.release()
        return 0
    # A handler is still running inside the engine: the engine is left as it is (what it acknowledged
    # is committed to SQLite; the indexes are rebuilt at the next start). Exit now, without Python's
    # exit handlers, which would wait for that thread.
    log.warning(
        "stopped",
        extra={
            "indexes": "not saved: calls still running after the grace period",
            "calls": running.interceptor.running,
        },
    )
    logging.shutdown()
    os._exit(0)
