"""The generated code in dedup/v1 matches protos/dedup/v1, and the protos keep to the style rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from tests.serving import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "protos" / "dedup" / "v1" / "dedup.proto"


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iprotos", "--python_out=.", "--pyi_out=.",
         "--grpc_python_out=.", "protos/dedup/v1/dedup.proto"],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    for name in ("dedup_pb2.py", "dedup_pb2.pyi", "dedup_pb2_grpc.py"):
        fresh = (tmp_path / "dedup" / "v1" / name).read_text()
        committed = (ROOT / "dedup" / "v1" / name).read_text()
        assert fresh == committed, f"dedup/v1/{name} is stale: regenerate it (see dedup/v1/__init__.py)"


def test_proto_style() -> None:
    text = PROTO.read_text()
    assert "package dedup.v1;" in text
    for enum, body in re.findall(r"enum (\w+) \{(.*?)\}", text, re.S):
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum).upper() + "_"
        values = re.findall(r"(\w+) = (\d+);", body)
        assert values[0] == (prefix + "UNSPECIFIED", "0"), enum
        assert all(v.startswith(prefix) for v, _ in values), enum
    assert re.search(r"rpc ListClusters\(ListClustersRequest\)", text)
    assert "string page_token" in text and "string next_page_token" in text


def _buf() -> str:
    """The buf executable (``$DEDUP_BUF``, else on PATH); the test skips without one unless CI asks
    for it (``DEDUP_REQUIRE_BUF=1``, set by .ci/run, which installs it)."""
    found = os.environ.get("DEDUP_BUF") or shutil.which("buf")
    if found is None:
        if os.environ.get("DEDUP_REQUIRE_BUF") == "1":
            pytest.fail("DEDUP_REQUIRE_BUF=1 and no buf: npm install @bufbuild/buf, set DEDUP_BUF")
        pytest.skip("buf is not installed (npm install @bufbuild/buf)")
    return found


def test_buf_lint_standard_passes() -> None:
    done = subprocess.run([_buf(), "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def lexical_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("reflect") / "data", "--model", "none")
    yield server
    server.kill()


def test_reflection_v1_lists_and_describes_the_service(lexical_server: ServerProcess) -> None:
    """Reflection v1 (same messages as v1alpha, another package) answers beside v1alpha."""
    channel = grpc.insecure_channel(lexical_server.target)
    for version in ("v1", "v1alpha"):
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        listed, described = call(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol="dedup.v1.DedupService"),
                ]
            ),
            timeout=10,
        )
        names = {s.name for s in listed.list_services_response.service}
        assert {"dedup.v1.DedupService", "grpc.reflection.v1.ServerReflection"} <= names, version
        files = [
            descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in described.file_descriptor_response.file_descriptor_proto
        ]
        assert "dedup/v1/dedup.proto" in {f.name for f in files}, version
    channel.close()


def test_buf_curl_calls_the_service_through_reflection_v1(lexical_server: ServerProcess) -> None:
    buf = _buf()
    url = f"http://{lexical_server.target}"
    common = [buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", "grpc-v1"]
    listed = subprocess.run([*common, "--list-methods", url], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "dedup.v1.DedupService/StreamIngestDocuments" in listed.stdout.split()
    called = subprocess.run(
        [*common, "--data", '{"document": {"id": "curl", "text": "A text sent with buf curl."}}',
         f"{url}/dedup.v1.DedupService/IngestDocument"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert called.returncode == 0, called.stderr
    reply = json.loads(called.stdout)
    assert reply["analysis"]["documentId"] == "curl" and reply["outcome"] == "INGEST_OUTCOME_CREATED"
