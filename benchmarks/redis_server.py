"""redis-server processes of one's own (Debian's `redis-server`, version 7), for the tests and the
benchmarks: on free loopback ports, in a given folder, append-only with an fsync per write (as the
README asks of a production one), stopped by their pids."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

START_TRIES = 5
"""A server (or cluster) whose port another process took between the check and the bind is started again
on other ports, this many times in all."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_low() -> int:
    """The lowest port the system hands out for outgoing connections (Linux's default, 32768, elsewhere):
    ports below it are not taken by a client's connect() between a check and a bind."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class RedisServer:
    def __init__(self, folder: Path, binary: str = "redis-server") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.binary = binary
        for attempt in range(1, START_TRIES + 1):
            self.port = _free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
            try:
                self.start()
                return
            except _Exited:
                if attempt == START_TRIES:
                    raise

    def start(self) -> None:
        """Start (or start again, after a stop) on the same port and folder: the append-only file
        there is read back."""
        self.proc = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for_ping(self.port, self.proc)
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log (why it stopped, when it did)."""
        log = self.folder / "redis.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it by pid (SIGKILL for a crash) and wait."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(30)


class RedisCluster3:
    """A three-node Redis Cluster (no replicas) on free loopback ports, made with ``redis-cli --cluster
    create``; ``url`` names its first node."""

    def __init__(self, folder: Path, binary: str = "redis-server", cli: str = "redis-cli") -> None:
        after = 0
        for attempt in range(1, START_TRIES + 1):
            self.nodes: list[subprocess.Popen[bytes]] = []
            self.ports = _cluster_ports(3, after)
            try:
                self._start(folder, binary, cli)
                return
            except _Exited:
                if attempt == START_TRIES:
                    raise
                after = self.ports[-1] + 1

    def _start(self, folder: Path, binary: str, cli: str) -> None:
        try:
            for port in self.ports:
                d = folder / str(port)
                d.mkdir(parents=True, exist_ok=True)
                self.nodes.append(
                    subprocess.Popen(
                        [
                            binary,
                            "--port",
                            str(port),
                            "--bind",
                            "127.0.0.1",
                            "--dir",
                            str(d),
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            "nodes.conf",
                            "--appendonly",
                            "yes",
                            "--appendfsync",
                            "always",
                            "--save",
                            "",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for port, node in zip(self.ports, self.nodes, strict=True):
                _wait_for_ping(port, node)
            subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
            )  # fmt: skip
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                info = subprocess.run(
                    [cli, "-p", str(self.ports[0]), "cluster", "info"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout
                if "cluster_state:ok" in info:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the Redis Cluster did not become ready")
        except BaseException:
            self.stop()
            raise
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def stop(self) -> None:
        for proc in self.nodes:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.nodes:
            proc.wait(30)


def _cluster_ports(n: int, after: int = 0) -> list[int]:
    """``n`` ports that are free with their cluster bus port (the port plus 10,000), both below the ports
    handed out for outgoing connections (``_ephemeral_low``), from ``after`` on when given (else from a
    point that depends on the process, so that processes starting clusters at once seldom meet)."""
    found: list[int] = []
    top = max(_ephemeral_low() - 10000, 12000)
    first = after or 10000 + os.getpid() % (top - 10000 - 100)
    for port in itertools.chain(range(first, top), range(10000, first)):
        if len(found) == n:
            break
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        found.append(port)
    return found


class _Exited(AssertionError):
    """The server exited before it answered: most often, another process took its port meanwhile."""


def _wait_for_ping(port: int, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise _Exited(f"redis-server exited ({proc.returncode}) before it answered on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"redis-server did not start on port {port}")
