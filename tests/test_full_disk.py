"""A full disk during ingest, on a small filesystem made for the test (a size-limited tmpfs in a mount
namespace of its own, so nothing outside the test sees it): every write then fails with
ResourceExhausted and the disk-full message, memory stays as the store has it, the engine closes and
starts again on the full disk, and once space is freed every acknowledged article is there and matched.

The scenario runs in a child process (``python -c``) inside ``unshare``; the test skips, with the
reason, where no mount namespace can be made (no ``unshare``, or neither root nor user namespaces)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIZE = "4m"


def _namespace_commands() -> list[list[str]]:
    """Ways to run a command in a mount namespace of its own: as root, or as a user who maps to root in
    a user namespace."""
    if shutil.which("unshare") is None:
        return []
    commands = [["unshare", "--user", "--map-root-user", "--mount"]]
    if os.geteuid() == 0:
        commands.insert(0, ["unshare", "--mount"])
    return commands


def _in_small_filesystem(
    directory: Path, argv: list[str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with a ``SIZE`` tmpfs mounted on ``directory`` (only it sees the mount), or skip."""
    reasons = []
    for prefix in _namespace_commands():
        probe = subprocess.run(
            [*prefix, "sh", "-c", f"mount -t tmpfs -o size={SIZE} tmpfs '{directory}'"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode != 0:
            reasons.append(f"{' '.join(prefix)}: {probe.stderr.strip() or probe.returncode}")
            continue
        script = f'mount -t tmpfs -o size={SIZE} tmpfs "$0" && exec "$@"'
        return subprocess.run(
            [*prefix, "sh", "-c", script, str(directory), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    pytest.skip("cannot mount a small tmpfs for the test: " + ("; ".join(reasons) or "no unshare command"))


def test_a_full_disk_loses_no_acknowledged_article(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    code = "import sys; from tests.full_disk import scenario; scenario(sys.argv[1])"
    done = _in_small_filesystem(mount, [sys.executable, "-c", code, str(mount)], timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scenario passed" in done.stdout, done.stdout + done.stderr
