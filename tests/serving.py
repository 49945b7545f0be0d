"""`dedup serve` as a real process, for the tests that need one: started on a free loopback port
(port 0) in a temporary folder, its JSON log lines read as they come, stopped by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def serve_command(data_dir: Path, *args: str, port: int = 0, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "dedup",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--host",
        host,
        *args,
    ]


class ServerProcess:
    """A `dedup serve` process. ``args`` go after the data directory, port and host (``--model none``
    makes it start in about a second). The constructor returns once it logs "serving"."""

    def __init__(
        self, data_dir: Path, *args: str, port: int = 0, host: str = "127.0.0.1", timeout: float = 180
    ) -> None:
        self.proc = subprocess.Popen(
            serve_command(data_dir, *args, port=port, host=host),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.pid = self.proc.pid
        self.logs: list[dict[str, Any]] = []
        self.other_lines: list[str] = []  # stderr lines that are not JSON log lines
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.kill()
            raise AssertionError(f"server did not start: {self.logs} {self.other_lines}")
        self.serving = next(line for line in self.logs if line.get("msg") == "serving")
        self.port = int(self.serving["port"])
        self.target = f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                self.other_lines.append(raw.rstrip("\n"))
                continue
            self.logs.append(line)
            if line.get("msg") == "serving":
                self._ready.set()
        self._ready.set()  # the process ended: the constructor stops waiting

    def messages(self) -> list[str]:
        return [str(line.get("msg")) for line in self.logs]

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def terminate(self) -> None:
        """SIGTERM, by pid."""
        os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL by pid, if it still runs, and wait for it."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(60)
        self._reader.join(5)


def run_refused(command: Sequence[str], timeout: float = 120) -> tuple[int, list[str], float]:
    """Run a command that should refuse to start: its exit status, stderr lines and seconds taken."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stderr.splitlines(), time.perf_counter() - started
