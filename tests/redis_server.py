"""A redis-server of the tests' own (Debian's `redis-server`, version 7): on a free loopback port, in a
temporary folder, append-only with an fsync per write (as the README asks of a production one), stopped
by its pid. Tests that need it skip when the binary is missing, unless DEDUP_REQUIRE_REDIS=1 (set by
.ci/run, which installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("DEDUP_REQUIRE_REDIS") == "1":
            pytest.fail("DEDUP_REQUIRE_REDIS=1 and no redis-server: apt-get install -y redis-server")
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.folder = folder
        self.proc = subprocess.Popen(
            [
                redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it by pid (SIGKILL for a crash) and wait."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(30)
