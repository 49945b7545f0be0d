"""The client installs and imports light: a user who only talks to a server needs no model and no index.

``import dedup.client`` must load none of the engine's heavy modules; the base install (no extra) is the
client alone, small, and its engine commands say which extra they need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import dedup

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "sentence_transformers", "numba", "faiss", "datasketch", "numpy", "onnxruntime", "rich")
LIMIT_MB = 60


def _run(python: str, code: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]


def test_importing_the_client_loads_no_engine() -> None:
    code = (
        "import sys, dedup.client, dedup.report, dedup.html_report, dedup.inputs, dedup.cli, dedup.views\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = _run(sys.executable, code, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_public_name_of_dedup_resolves() -> None:
    assert sorted(dedup.__all__) == sorted(dedup._HOME)
    for name in dedup.__all__:
        assert getattr(dedup, name) is not None, name
    with pytest.raises(AttributeError):
        dedup.NoSuchThing  # noqa: B018


def test_an_engine_command_without_the_engine_names_the_extra(tmp_path: Path) -> None:
    # The engine's modules made unimportable, as in a client-only install.
    code = (
        "import sys\n"
        "for m in ('numpy', 'torch', 'numba'):\n"
        "    sys.modules[m] = None\n"
        "from dedup.cli import main\n"
        "sys.exit(main(['analyze', 'examples/port-strike/wire.jsonl', '-q']))"
    )
    out = _run(sys.executable, code, cwd=ROOT)
    assert out.returncode == 2, out.stderr
    assert "`dedup analyze` needs the engine" in out.stderr
    assert "pip install 'dedup[engine]'" in out.stderr
    assert "Traceback" not in out.stderr


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def test_the_client_installs_alone_in_a_fresh_venv_and_light(tmp_path: Path) -> None:
    """pip installs the base distribution (no extra) into a fresh venv: it must stay under LIMIT_MB
    all told (pip and setuptools included), import, reach its command line, and not have the engine."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    before = _size_mb(env_dir)
    # A copy of what the distribution is built from, without the developer's .venv or caches.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("dedup", "server"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no package index reachable: {install.stderr.strip()[-300:]}")
    assert install.returncode == 0, install.stderr
    total = _size_mb(env_dir)
    print(f"\nclient install: {total - before:.1f} MB added to a {before:.1f} MB venv ({total:.1f} MB)")
    assert total < LIMIT_MB
    code = (
        "import sys, importlib.util, dedup.client\n"
        f"print([m for m in {HEAVY!r} if importlib.util.find_spec(m) is not None])"
    )
    out = _run(python, code, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"  # the engine is not installed at all
    cli = subprocess.run(
        [str(env_dir / "bin" / "dedup"), "analyze", "x.jsonl"], capture_output=True, text=True, cwd=tmp_path
    )
    assert cli.returncode == 2 and "pip install 'dedup[engine]'" in cli.stderr
