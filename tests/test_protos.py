"""The generated code in dedup/v1 matches protos/dedup/v1, and the protos keep to the style rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
