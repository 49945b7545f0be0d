"""`dedup serve` guards, with real processes: one server per data directory and per port, refused
before the model loads; idle streams cannot starve health checks and unary calls; --max-inflight
sheds load; SIGTERM finishes within its grace period whatever the clients sent.

Every server runs with ``--model none`` (it starts in about a second) unless the test is about the
model, on a free loopback port and in a temporary folder, and is stopped by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dedup.client import DedupClient
from dedup.errors import DedupError
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from server.app import LOCK_FILE, STOP_MARGIN
from tests.serving import ROOT, ServerProcess, run_refused, serve_command
from tests.test_service import fixture_articles

NO_MODEL = ("--model", "none")
MISSING_MODEL = "/nonexistent/dedup-test-model"
"""A model that cannot load: a server that refuses before loading it says why it refused; one that
loaded its model first would say the model is missing (after seconds of importing torch)."""
REFUSED_WITHIN = 4.0
"""Seconds a refused start may take: Python and dedup's imports, no model (loading the packaged
model takes 4 s here, failing to load a missing one 5 s)."""


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """Servers a test starts; whatever still runs at the end is killed by its pid."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()


def _health(target: str, timeout: float) -> int:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    return int(reply.status)


def _one_line_refusal(lines: list[str]) -> str:
    assert len(lines) == 1, lines  # one line, no traceback, no log
    assert lines[0].startswith("dedup: error: "), lines
    return lines[0]


# -- one server per data directory --------------------------------------------------------------------


def test_a_second_server_on_the_same_data_directory_refuses_before_loading_the_model(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, *NO_MODEL)
    servers.append(first)
    with DedupClient(first.target) as client:
        client.ingest(fixture_articles()[0])
    assert (data / LOCK_FILE).read_text().strip() == str(first.pid)

    code, lines, seconds = run_refused(serve_command(data, "--model", MISSING_MODEL))
    line = _one_line_refusal(lines)
    assert code == 2
    assert f"process {first.pid}" in line and "--data-dir" in line, line
    assert "model" not in line  # refused before the model was looked for
    assert seconds < REFUSED_WITHIN, seconds
    assert first.proc.poll() is None and _health(first.target, 5) == health_pb2.HealthCheckResponse.SERVING

    # The lock is the kernel's: a crash releases it, and the next server takes the directory over.
    first.kill()
    again = ServerProcess(data, *NO_MODEL)
    servers.append(again)
    assert again.serving["documents"] == 1
    assert (data / LOCK_FILE).read_text().strip() == str(again.pid)
    with DedupClient(again.target) as client:
        assert client.get_document("orig")[0].text == fixture_articles()[0].text
    # ... and a clean stop releases it too.
    again.terminate()
    assert again.wait(60) == 0
    last = ServerProcess(data, *NO_MODEL)
    servers.append(last)
    assert last.serving["documents"] == 1


# -- one server per port ------------------------------------------------------------------------------


def test_a_port_in_use_is_refused_before_loading_the_model(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    first = ServerProcess(tmp_path / "first", *NO_MODEL)
    servers.append(first)
    for host in ("127.0.0.1", "[::]"):  # [::] listens on IPv4 too, so it clashes with 127.0.0.1
        command = serve_command(tmp_path / "second", "--model", MISSING_MODEL, port=first.port, host=host)
        code, lines, seconds = run_refused(command)
        line = _one_line_refusal(lines)
        assert code == 2 and f"port {first.port}" in line and "--port" in line, line
        assert seconds < REFUSED_WITHIN, seconds
    # The first server alone answers on its port: every call reaches the same store.
    with DedupClient(first.target) as client:
        client.ingest(fixture_articles()[0])
        for _ in range(20):
            assert client.get_document("orig")[0].id == "orig"


def test_a_port_held_by_another_kind_of_process_is_refused(tmp_path: Path) -> None:
    holder_code = (
        "import socket, sys, time\n"
        "s = socket.socket()\n"
        "s.bind(('127.0.0.1', 0))\n"
        "s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        port = int(holder.stdout.readline())
        code, lines, seconds = run_refused(
            serve_command(tmp_path / "data", "--model", MISSING_MODEL, port=port)
        )
        line = _one_line_refusal(lines)
        assert code == 2 and f"port {port}" in line and "in use" in line, line
        assert seconds < REFUSED_WITHIN, seconds
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)


# -- streams do not starve the server -----------------------------------------------------------------


def test_idle_streams_cannot_starve_health_checks_and_unary_calls(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    """80 idle streams (40 watchers, 40 ingest streams that never send), more than the server's 72
    worker threads: 16 (--max-streams) are served, the others refused at once, and health checks and
    GetDocument still answer in time. Closed streams give their places back."""
    server = ServerProcess(tmp_path / "data", *NO_MODEL)
    servers.append(server)
    with DedupClient(server.target) as client:
        client.ingest(fixture_articles()[0])
    channel = grpc.insecure_channel(server.target)
    stub = pb_grpc.DedupServiceStub(channel)
    hold = threading.Event()

    def never_sends() -> Iterator[pb.StreamIngestDocumentsRequest]:
        hold.wait(120)
        return
        yield  # a generator that sends nothing until released

    watches = [stub.WatchClusters(pb.WatchClustersRequest(), timeout=120) for _ in range(40)]
    ingests = [stub.StreamIngestDocuments(never_sends(), timeout=120) for _ in range(40)]
    try:
        time.sleep(2)  # every stream has reached the server and been admitted or refused
        refused = [w for w in watches if w.done() and w.code() is grpc.StatusCode.RESOURCE_EXHAUSTED] + [
            f for f in ingests if f.done() and f.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        ]
        assert len(refused) == 80 - 16
        assert "streams already open" in refused[0].details()
        started = time.perf_counter()
        assert _health(server.target, 3) == health_pb2.HealthCheckResponse.SERVING
        assert stub.GetDocument(pb.GetDocumentRequest(id="orig"), timeout=3).document.id == "orig"
        with pytest.raises(grpc.RpcError) as info:
            stub.GetDocument(pb.GetDocumentRequest(id="nope"), timeout=3)
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
        assert time.perf_counter() - started < 3
    finally:
        hold.set()
        for w in watches:
            w.cancel()
    for f in ingests:
        assert f.exception(30) is None or f.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    # Every place is free again: 16 new streams are admitted.
    time.sleep(1)
    fresh = [stub.WatchClusters(pb.WatchClustersRequest(), timeout=60) for _ in range(16)]
    time.sleep(1)
    assert not any(w.done() for w in fresh)
    for w in fresh:
        w.cancel()
    channel.close()


def test_max_inflight_sheds_load_with_resource_exhausted(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    """100 FindSimilar calls at once with the default --max-inflight 64: 64 are served, the rest are
    refused at once (before, the 16 worker threads queued them all and none was refused), and a
    health check answers while they run."""
    server = ServerProcess(tmp_path / "data", *NO_MODEL)
    servers.append(server)
    articles = fixture_articles()
    with DedupClient(server.target) as client:
        list(client.ingest_many(articles))
    channel = grpc.insecure_channel(server.target)
    stub = pb_grpc.DedupServiceStub(channel)
    text = "\n\n".join(a.text for a in articles) * 4  # each call takes a while: they overlap
    request = pb.FindSimilarRequest(document=pb.Document(text=text))
    calls = [stub.FindSimilar.future(request, timeout=120) for _ in range(100)]
    assert _health(server.target, 5) == health_pb2.HealthCheckResponse.SERVING
    codes = [c.code() if c.exception(120) is not None else grpc.StatusCode.OK for c in calls]
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, set(codes)
    assert codes.count(grpc.StatusCode.OK) >= 64
    busy = next(c for c in calls if c.exception() is not None)
    assert "in flight" in busy.details() or "limit" in busy.details().lower()
    channel.close()


# -- SIGTERM finishes within its grace period ---------------------------------------------------------

METHODS = {
    "/dedup.v1.DedupService/IngestDocument": "unary",
    "/dedup.v1.DedupService/BatchIngestDocuments": "unary",
    "/dedup.v1.DedupService/StreamIngestDocuments": "bidi",
    "/dedup.v1.DedupService/FindSimilar": "unary",
    "/dedup.v1.DedupService/GetDocument": "unary",
    "/dedup.v1.DedupService/DeleteDocument": "unary",
    "/dedup.v1.DedupService/GetCluster": "unary",
    "/dedup.v1.DedupService/ListClusters": "unary",
    "/dedup.v1.DedupService/GetLineage": "unary",
    "/dedup.v1.DedupService/WatchClusters": "server_stream",
    "/grpc.health.v1.Health/Check": "unary",
    "/grpc.health.v1.Health/Watch": "server_stream",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "bidi",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "bidi",
}
"""Every method the server has, and its kind."""


def raw_call(
    channel: grpc.Channel, method: str, payloads: list[bytes], timeout: float
) -> tuple[grpc.StatusCode, str]:
    """Send ``payloads`` (bytes as they are, parsed or not) to ``method``; the status code and details."""

    def same(b: bytes) -> bytes:
        return b

    kind = METHODS[method]
    try:
        if kind == "unary":
            channel.unary_unary(method, request_serializer=same, response_deserializer=same)(
                payloads[0], timeout=timeout
            )
        elif kind == "client_stream":
            channel.stream_unary(method, request_serializer=same, response_deserializer=same)(
                iter(payloads), timeout=timeout
            )
        elif kind == "server_stream":
            for _ in channel.unary_stream(method, request_serializer=same, response_deserializer=same)(
                payloads[0], timeout=timeout
            ):
                pass
        else:
            for _ in channel.stream_stream(method, request_serializer=same, response_deserializer=same)(
                iter(payloads), timeout=timeout
            ):
                pass
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


MALFORMED = [b"\xff\xff\xff\xff garbage", b"\x0a\x05\x0a\x03\xff\xfe\xfd", b"\x12"]
"""Not a protobuf message (a bad tag; a string that is not UTF-8; a field cut short)."""


def test_sigterm_after_malformed_stream_messages_stops_within_the_grace_period(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    """Malformed messages to every method are INVALID_ARGUMENT (gRPC's own handling answered INTERNAL
    and, on streams, could leave a call that never finished, so that SIGTERM never did); with an
    ingest stream left open too, SIGTERM ends the process within the grace period, indexes saved."""
    grace = 2.0
    server = ServerProcess(tmp_path / "data", *NO_MODEL, "--grace", str(grace))
    servers.append(server)
    with DedupClient(server.target) as client:
        list(client.ingest_many(fixture_articles()))
    channel = grpc.insecure_channel(server.target)
    for _ in range(3):
        for method in METHODS:
            code, details = raw_call(channel, method, MALFORMED, timeout=10)
            assert code is grpc.StatusCode.INVALID_ARGUMENT, (method, code)
            assert "cannot be parsed" in details, details
    stub = pb_grpc.DedupServiceStub(channel)
    hold = threading.Event()

    def never_sends() -> Iterator[pb.StreamIngestDocumentsRequest]:
        hold.wait(60)
        return
        yield

    idle = stub.StreamIngestDocuments(never_sends(), timeout=60)
    time.sleep(0.5)
    started = time.perf_counter()
    server.terminate()
    code = server.wait(grace + STOP_MARGIN + 10)
    took = time.perf_counter() - started
    hold.set()
    assert code == 0
    assert took < grace + 3, took  # the open stream is cancelled at the end of the grace period
    assert idle.exception(10) is not None  # it was cancelled, not left hanging
    stopped = server.logs[-1]
    assert stopped["msg"] == "stopped" and stopped["indexes"] == "saved", stopped
    assert not server.other_lines, server.other_lines  # no traceback
    channel.close()
    again = ServerProcess(tmp_path / "data", *NO_MODEL)
    servers.append(again)
    assert again.serving["indexes"] == "loaded" and again.serving["documents"] == len(fixture_articles())


STUCK_SERVER = """
import sys, threading
from dedup.engine import Engine

def stuck(self, article, deadline=None):
    threading.Event().wait()  # a call the engine never finishes

Engine.find_similar = stuck
from dedup.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_with_a_call_stuck_in_the_engine_still_exits(tmp_path: Path) -> None:
    """A handler that never returns (cancelling a call does not interrupt Python code) does not keep
    the process alive: it exits STOP_MARGIN seconds after the grace period, says the indexes were not
    saved, and the next start has every acknowledged article and rebuilt indexes."""
    grace = 1.0
    data = tmp_path / "data"
    command = [sys.executable, "-c", STUCK_SERVER, *serve_command(data, *NO_MODEL, "--grace", str(grace))[3:]]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        serving = next((line for line in proc.stderr if '"serving"' in line), "")
        assert serving, "the server did not start"
        port = int(json.loads(serving)["port"])
        target = f"127.0.0.1:{port}"
        with DedupClient(target) as client:
            list(client.ingest_many(fixture_articles()))
        outcome: list[BaseException] = []

        def ask() -> None:
            with DedupClient(target) as client:
                try:
                    client.find_similar("Some text to check.")
                except DedupError as exc:  # the server went away under it
                    outcome.append(exc)

        stuck = threading.Thread(target=ask)
        stuck.start()
        time.sleep(0.5)
        started = time.perf_counter()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(grace + STOP_MARGIN + 15) == 0
        took = time.perf_counter() - started
        rest = proc.stderr.read()
        stuck.join(30)
        assert grace + STOP_MARGIN - 0.5 < took < grace + STOP_MARGIN + 3, took
        assert '"indexes": "not saved' in rest, rest
        assert len(outcome) == 1
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    again = ServerProcess(data, *NO_MODEL)
    try:
        assert again.serving["documents"] == len(fixture_articles())
        assert again.serving["indexes"] == "rebuilt from the store"
    finally:
        again.kill()


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_a_server_runs_with_two_malloc_arenas_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dedup serve` starts itself again (same pid) with MALLOC_ARENA_MAX=2, so that its resident memory
    follows what it holds, not its threads' high-water marks; a value in its environment stands. It
    serves, and stops on SIGTERM, as any server."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    server = ServerProcess(tmp_path / "a", "--model", "none")
    try:
        assert _environ(server.pid).get("MALLOC_ARENA_MAX") == "2"
        starting = next(line for line in server.logs if line.get("msg") == "starting")
        assert starting["malloc_arena_max"] == "2" and starting["pid"] == server.pid
        with DedupClient(server.target) as client:
            article = fixture_articles()[0]
            assert client.ingest(article).analysis.id == article.id
        server.terminate()
        code = server.wait(60)
        assert code == 0, (server.logs[-3:], server.other_lines[-10:])
    finally:
        server.kill()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    told = ServerProcess(tmp_path / "b", "--model", "none")
    try:
        assert _environ(told.pid).get("MALLOC_ARENA_MAX") == "4"
    finally:
        told.kill()
