"""The quality benchmarks' ``--backend``: the detector they score runs its model on the backend named,
and an unknown backend is refused before any data is read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from benchmarks import model_backend, paraphrase, stories
from benchmarks.syndication import cli as syndication


class Built(Exception):
    """Raised by the stand-in detector factory: the benchmark got as far as making its detector."""


BENCHMARKS: dict[str, tuple[ModuleType, Callable[[Path], list[str]]]] = {
    "syndication": (syndication, lambda data: ["--base", str(data / "news_ecb"), "--size", "4"]),
    "stories": (stories, lambda data: ["--data", str(data / "news_ecb"), "--limit", "4"]),
    "paraphrase": (
        paraphrase,
        lambda data: ["--data", str(data / "mrpc" / "msr_paraphrase_train.txt"), "--limit", "4"],
    ),
}


def test_the_detector_runs_its_model_on_the_backend_named() -> None:
    for backend in ("torch", "onnx", "onnx-int8"):
        assert model_backend.backend_detector(backend).config.embed.backend == backend


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_backend_flag_reaches_the_detector(
    name: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, argv = BENCHMARKS[name]
    asked: list[str] = []

    def factory(backend: str) -> None:
        asked.append(backend)
        raise Built

    monkeypatch.setattr(module, "backend_detector", factory)
    for backend in ("onnx-int8", "torch"):
        with pytest.raises(Built):
            module.main([*argv(shared_data), "--backend", backend])
    with pytest.raises(Built):
        module.main(argv(shared_data))
    assert asked == ["onnx-int8", "torch", model_backend.EmbedConfig.backend]
    with pytest.raises(SystemExit):
        module.main([*argv(shared_data), "--backend", "int4"])
