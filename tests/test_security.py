"""A service ready for a network, with real server processes: TLS with a certificate the test makes,
mutual TLS, bearer tokens of each scope and none, the Prometheus endpoint, the 127.0.0.1 default, and
start-up log lines that say what the server does."""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.pki import Pki, make_pki
from dedup.article import Article
from dedup.cli import main
from dedup.client import DedupClient
from dedup.errors import NotFound, PermissionDenied, ServeError, Unauthenticated, Unavailable
from server.security import Scope, TokenTable, required_scope
from tests.serving import ServerProcess, run_refused, serve_command

NO_MODEL = ("--model", "none")
READ_TOKEN = "read-token-0123456789abcdef"
WRITE_TOKEN = "write-token-fedcba9876543210"
TEXT = (
    "Dock workers in Port Alder walked off the job on Tuesday, halting cargo traffic at the city's main "
    "container terminal. The union said the strike would last at least three days."
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text(f"# who may call\nread  {READ_TOKEN}\n\nwrite {WRITE_TOKEN}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, pki: Pki, tokens: Path) -> Iterator[ServerProcess]:
    """A server with TLS, tokens and metrics."""
    server = ServerProcess(
        tmp_path_factory.mktemp("secured"),
        *NO_MODEL,
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        "--tokens", str(tokens), "--metrics-port", "0",
    )  # fmt: skip
    yield server
    server.kill()


def test_tls_with_a_token_of_each_scope_and_none(secured: ServerProcess, pki: Pki) -> None:
    target = f"localhost:{secured.port}"
    with DedupClient(target, tls_ca=pki.ca, token=WRITE_TOKEN) as writer:
        reply = writer.ingest(Article("strike", TEXT))
        assert reply.analysis.id == "strike"
        writer.delete("strike")
        writer.ingest(Article("strike", TEXT))
    with DedupClient(target, tls_ca=pki.ca, token=READ_TOKEN) as reader:
        assert reader.get_document("strike")[0].text == TEXT
        assert reader.find_similar(TEXT).matches[0].b == "strike"
        with pytest.raises(
            PermissionDenied, match="DeleteDocument changes the store and needs a write token"
        ):
            reader.delete("strike")
        with pytest.raises(PermissionDenied, match="write token"):
            reader.ingest(Article("other", TEXT))
    with (
        DedupClient(target, tls_ca=pki.ca) as anonymous,
        pytest.raises(Unauthenticated, match="authorization: Bearer"),
    ):
        anonymous.get_document("strike")
    with (
        DedupClient(target, tls_ca=pki.ca, token="not-a-token-of-this-server") as wrong,
        pytest.raises(Unauthenticated, match="not known"),
    ):
        wrong.get_document("strike")
    # Plaintext to a TLS server does not get through.
    with DedupClient(target, timeout=5, token=READ_TOKEN) as plain, pytest.raises(Unavailable):
        plain.get_document("strike")


def test_health_checks_need_no_token(secured: ServerProcess, pki: Pki) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    with grpc.secure_channel(f"localhost:{secured.port}", credentials) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_metrics_endpoint_counts_calls_by_method_and_status(secured: ServerProcess, pki: Pki) -> None:
    port = secured.serving["metrics_port"]
    assert isinstance(port, int) and port > 0
    with DedupClient(f"localhost:{secured.port}", tls_ca=pki.ca, token=WRITE_TOKEN) as c:
        c.ingest(Article("metered", TEXT + " A second paragraph about the port."))
        for _ in range(3):
            c.find_similar(TEXT)
        with pytest.raises(NotFound):
            c.get_document("no-such-article")
    with DedupClient(f"localhost:{secured.port}", tls_ca=pki.ca) as anonymous, pytest.raises(Unauthenticated):
        anonymous.find_similar(TEXT)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }
    find = '{code="OK",method="/dedup.v1.DedupService/FindSimilar"}'
    assert samples[f"dedup_requests_total{find}"] >= 3
    assert samples[f"dedup_request_duration_seconds_count{find}"] >= 3
    assert samples['dedup_requests_total{code="NOT_FOUND",method="/dedup.v1.DedupService/GetDocument"}'] >= 1
    assert (
        samples['dedup_requests_total{code="UNAUTHENTICATED",method="/dedup.v1.DedupService/FindSimilar"}']
        >= 1
    )
    assert samples["dedup_articles_stored"] >= 1
    assert samples["dedup_ingest_queue_depth"] == 0
    assert samples["dedup_store_bytes"] > 0
    assert "dedup_embedding_seconds_total" in samples and "dedup_sentences_embedded_total" in samples
    # One server alone on its store: no write is ever computed again or waits for another's.
    assert samples["dedup_writes_retried_total"] == 0 and samples["dedup_write_lock_wait_seconds_total"] < 1


def test_mutual_tls_admits_only_clients_with_a_certificate_of_its_ca(tmp_path: Path, pki: Pki) -> None:
    server = ServerProcess(
        tmp_path / "data",
        *NO_MODEL,
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        "--tls-client-ca", str(pki.client_ca),
    )  # fmt: skip
    try:
        assert server.serving["tls"] == "mutual"
        target = f"localhost:{server.port}"
        with DedupClient(target, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key) as known:
            known.ingest(Article("strike", TEXT))
        for cert, key in ((None, None), (pki.stranger_cert, pki.stranger_key)):
            with (
                DedupClient(target, timeout=5, tls_ca=pki.ca, tls_cert=cert, tls_key=key) as other,
                pytest.raises(Unavailable),
            ):
                other.get_document("strike")
    finally:
        server.kill()


def test_the_command_line_speaks_tls_with_a_token(
    secured: ServerProcess, pki: Pki, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    common = ["--server", f"localhost:{secured.port}", "--tls-ca", str(pki.ca)]
    with DedupClient(f"localhost:{secured.port}", tls_ca=pki.ca, token=WRITE_TOKEN) as c:
        cluster = c.ingest(
            Article("for-the-cli", TEXT + " The port authority said nothing.")
        ).analysis.cluster
    assert cluster is not None
    monkeypatch.setenv("DEDUP_TOKEN", READ_TOKEN)
    assert main(["cluster", cluster, *common]) == 0
    assert "for-the-cli" in capsys.readouterr().out
    monkeypatch.delenv("DEDUP_TOKEN")
    assert main(["cluster", cluster, *common]) == 2
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    assert main(["cluster", cluster, *common, "--token", READ_TOKEN]) == 0


def test_the_default_address_is_this_machine_only(tmp_path: Path) -> None:
    """Without --host the server listens on 127.0.0.1, and its first log lines say where the data lives,
    then that the model is loading, then that it serves."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = serve_command(tmp_path / "data", *NO_MODEL, port=port)
    host_at = command.index("--host")
    del command[host_at : host_at + 2]
    env = dict(os.environ)
    proc_server = _Started(command)
    try:
        messages = [line.get("msg") for line in proc_server.logs]
        assert messages[:2] == ["starting", "loading the model"]
        assert proc_server.logs[0]["data_dir"] == str((tmp_path / "data").resolve())
        assert "serving" in messages
        addresses = _listening(port)
        assert addresses and all(a.is_loopback for a in addresses), addresses
    finally:
        proc_server.stop()
    assert env == dict(os.environ)


class _Started:
    """A server started from a full command line, read until it serves."""

    def __init__(self, command: list[str]) -> None:
        import json
        import subprocess

        from tests.serving import ROOT

        self.proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        self.logs: list[dict[str, object]] = []
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                self.logs.append(json.loads(raw))
            except ValueError:
                continue
            if self.logs[-1].get("msg") == "serving":
                break

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


def _listening(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6), IPv4-mapped ones as IPv4."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            host_hex, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
            raw = b"".join(bytes.fromhex(host_hex[i : i + 8])[::-1] for i in range(0, len(host_hex), 8))
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            found.append(address)
    return found


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("admin 0123456789abcdef0123\n", ["tokens.txt:1", "unknown scope 'admin'"]),
        ("read short\n", ["tokens.txt:1", "at least 16 characters"]),
        ("# nothing\n\n", ["no tokens"]),
        (f"read {READ_TOKEN}\nwrite {READ_TOKEN}\n", ["tokens.txt:2", "given twice"]),
        ("read\n", ["tokens.txt:1", "SCOPE TOKEN"]),
    ],
)
def test_a_bad_token_file_stops_the_server_before_it_starts(
    tmp_path: Path, content: str, words: list[str]
) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ServeError) as info:
        TokenTable.load(path)
    for w in words:
        assert w in str(info.value)
    code, lines, _ = run_refused(serve_command(tmp_path / "data", *NO_MODEL, "--tokens", str(path)))
    assert code == 2 and len(lines) == 1 and words[-1] in lines[0]


def test_a_missing_certificate_is_one_line_before_the_model_loads(tmp_path: Path, pki: Pki) -> None:
    missing = tmp_path / "nope.pem"
    code, lines, _ = run_refused(
        serve_command(tmp_path / "data", "--model", "/no/such/model", "--tls-cert", str(missing), "--tls-key",
                      str(pki.server_key))
    )  # fmt: skip
    assert code == 2
    assert any("cannot read the TLS certificate" in line and "nope.pem" in line for line in lines), lines


def test_scopes_of_methods() -> None:
    assert required_scope("/grpc.health.v1.Health/Check") is None
    assert required_scope("/dedup.v1.DedupService/DeleteDocument") is Scope.WRITE
    assert required_scope("/dedup.v1.DedupService/IngestDocument") is Scope.WRITE
    assert required_scope("/dedup.v1.DedupService/FindSimilar") is Scope.READ
    assert required_scope("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") is Scope.READ
    assert required_scope("/dedup.v1.DedupService/SomethingNew") is Scope.READ
