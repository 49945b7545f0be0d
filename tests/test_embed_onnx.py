"""The ONNX embedding backends: the packaged model exported to ONNX once per module (into a temporary
cache), as is ('onnx') and with its weights quantised to int8 ('onnx-int8'), compared with the torch
backend on sentences written here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.config import EmbedConfig, config_from_dict, load_config
from dedup.embed import CachingEmbedder, OnnxEmbedder, SentenceTransformerEmbedder, default_embedder
from dedup.errors import ConfigError

SENTENCES = [
    "The city council voted on Tuesday to close the old bridge for repairs.",
    "Repairs will keep the old bridge shut, the council decided in a vote on Tuesday.",
    "Shares in the carmaker fell 4 per cent after it cut its sales forecast for the year.",
    "A spokesman said the company would not comment on rumours of a takeover.",
    "Heavy rain is expected across the north of the country over the weekend.",
    "The striker scored twice in the second half to win the match.",
    "Officials said.",
    "",
    "Prices, wages and rents all rose faster than expected in March, figures released on Friday showed, "
    "adding to pressure on the central bank to raise interest rates again at its next meeting " * 6,
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx(onnx_cache: Path) -> OnnxEmbedder:
    """The packaged model, exported and quantised once for this module."""
    embedder = OnnxEmbedder(cache_dir=onnx_cache, batch_size=4)
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture(scope="module")
def int8_vectors(onnx: OnnxEmbedder) -> np.ndarray:
    return onnx.encode(SENTENCES)


pytestmark = pytest.mark.model


def test_vectors_have_the_shape_and_type_of_the_protocol(
    onnx: OnnxEmbedder, int8_vectors: np.ndarray
) -> None:
    assert onnx.dim == 384
    assert int8_vectors.shape == (len(SENTENCES), 384)
    assert int8_vectors.dtype == np.float32
    assert int8_vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(int8_vectors, axis=1), 1.0, atol=1e-5)
    assert onnx.encode([]).shape == (0, 384)
    assert "onnx-int8" in onnx.name


def test_fp32_onnx_gives_torchs_vectors(torch_embedder: CachingEmbedder, tmp_path: Path) -> None:
    """The 'onnx' backend is the same model without quantisation: torch's vectors, to float precision."""
    fp32 = OnnxEmbedder(cache_dir=tmp_path, batch_size=4, quantize=False)
    vectors = fp32.encode(SENTENCES)
    cosines = (vectors * torch_embedder.encode(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    assert fp32.name.endswith("[onnx]")
    assert fp32.model_file is not None and fp32.model_file.name == "model.onnx"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_int8_agrees_with_torch(torch_embedder: CachingEmbedder, int8_vectors: np.ndarray) -> None:
    torch_vectors = torch_embedder.encode(SENTENCES)
    cosines = (int8_vectors * torch_vectors).sum(axis=1)
    assert cosines.min() >= 0.95, cosines
    assert cosines.mean() >= 0.97, cosines
    # what the detector relies on: paraphrases stay closer than unrelated sentences
    int8_sim = int8_vectors @ int8_vectors.T
    assert int8_sim[0, 1] > 0.7
    assert int8_sim[0, 1] > int8_sim[0, 2:6].max() + 0.2


def test_long_sentences_are_cut_at_max_seq_length(onnx: OnnxEmbedder) -> None:
    long = SENTENCES[-1]
    assert len(onnx._tokenizer.encode(long).ids) == 128
    # everything past the first 128 word pieces is ignored
    [a, b] = onnx.encode([long, long + " And then something else entirely about football."])
    assert float(a @ b) > 0.999


def test_order_and_batching_keep_each_text_with_its_vector(
    onnx: OnnxEmbedder, int8_vectors: np.ndarray
) -> None:
    reordered = onnx.encode(SENTENCES[::-1])[::-1]
    np.testing.assert_array_equal(reordered, int8_vectors)


def test_an_int8_vector_does_not_depend_on_what_its_text_is_sent_with(
    onnx: OnnxEmbedder, int8_vectors: np.ndarray
) -> None:
    """int8 scales activations by a batch's range: each text is embedded alone, so that an article's
    vectors do not depend on the articles beside it in an ingest (or a FindSimilar query on its own)."""
    alone = np.stack([onnx.encode([s])[0] for s in SENTENCES])
    np.testing.assert_array_equal(alone, int8_vectors)
    padded = onnx.encode([*SENTENCES, SENTENCES[-1] + " " + SENTENCES[-1]])[: len(SENTENCES)]
    np.testing.assert_array_equal(padded, int8_vectors)


def test_threads_share_one_embedder(onnx: OnnxEmbedder, int8_vectors: np.ndarray) -> None:
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(onnx.encode(SENTENCES))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, int8_vectors)


def test_batches_run_side_by_side_give_the_vectors_of_one_thread(tmp_path: Path) -> None:
    """float32 vectors do not depend on how a call is cut into batches or on how many run at once:
    two threads give one thread's vectors, for long calls, short ones and one text."""
    one = OnnxEmbedder(cache_dir=tmp_path, batch_size=3, quantize=False, threads=1)
    two = OnnxEmbedder(cache_dir=tmp_path, batch_size=3, quantize=False, threads=2)
    texts = [s for s in SENTENCES if s] * 3
    for part in (texts, texts[:5], texts[:2], texts[:1]):
        np.testing.assert_allclose(two.encode(part), one.encode(part), rtol=0, atol=1e-6)


def test_a_short_call_takes_turns_with_a_long_ones_batches(tmp_path: Path) -> None:
    """Two calls at once (an ingest's chunk and a query): the short one's batches go between the long
    one's, so it waits for one of the long call's batches, not for all of them; both get their
    vectors."""
    embedder = OnnxEmbedder(cache_dir=tmp_path, batch_size=1, quantize=False, threads=2)
    embedder.encode(["warm up"])
    session = embedder._session
    ticks = threading.Semaphore(0)

    class Ticked:
        """The model, running a batch of long texts each time the test lets one through."""

        def run(self, names: Any, feeds: dict[str, np.ndarray]) -> Any:
            if feeds["input_ids"].shape[1] > 20:
                assert ticks.acquire(timeout=60)
            return session.run(names, feeds)

    embedder._session = Ticked()
    long_texts = [SENTENCES[-1]] * 8
    short_texts = ["Officials said.", "It rained."]
    got: dict[str, np.ndarray] = {}
    worker = threading.Thread(target=lambda: got.update(long=embedder.encode(long_texts)))
    worker.start()
    time.sleep(0.5)  # both threads hold one of the long call's batches
    short = threading.Thread(target=lambda: got.update(short=embedder.encode(short_texts)))
    short.start()
    time.sleep(0.5)
    ticks.release()  # one long batch done: the short call's go next
    short.join(30)
    short_done, long_held = not short.is_alive(), worker.is_alive()  # six long batches still wait
    ticks.release(8)
    worker.join(60)
    short.join(60)
    assert short_done and long_held, "the short call waited for the long one's batches"
    embedder._session = session
    np.testing.assert_allclose(got["short"], embedder.encode(short_texts), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["long"], embedder.encode(long_texts), rtol=0, atol=1e-6)


def test_the_cached_model_is_reused(
    onnx: OnnxEmbedder, onnx_cache: Path, int8_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert onnx.built
    assert onnx.model_file is not None and onnx.model_file.is_relative_to(onnx_cache)
    before = onnx.model_file.stat().st_mtime_ns

    def no_build(*args: object) -> None:
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(OnnxEmbedder, "_build", no_build)
    again = OnnxEmbedder(cache_dir=onnx_cache, batch_size=4)
    np.testing.assert_array_equal(again.encode(SENTENCES), int8_vectors)
    assert not again.built
    assert again.model_file == onnx.model_file
    assert onnx.model_file.stat().st_mtime_ns == before
    # nothing but the one model file is left in the cache
    assert [p.relative_to(onnx_cache) for p in onnx_cache.rglob("*") if p.is_file()] == [
        onnx.model_file.relative_to(onnx_cache)
    ]


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def broken_export(*args: object, **kwargs: object) -> None:
        raise RuntimeError("export failed half way")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    with pytest.raises(RuntimeError, match="half way"):
        OnnxEmbedder(cache_dir=tmp_path).encode(["a sentence"])
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_default_embedder_picks_the_backend(tmp_path: Path) -> None:
    onnx = default_embedder(EmbedConfig(backend="onnx-int8", onnx_cache_dir=str(tmp_path)))
    assert isinstance(onnx, CachingEmbedder) and isinstance(onnx.inner, OnnxEmbedder)
    assert onnx.inner.backend == "onnx-int8"
    fp32 = default_embedder(EmbedConfig(backend="onnx", onnx_cache_dir=str(tmp_path)))
    assert isinstance(fp32, CachingEmbedder) and isinstance(fp32.inner, OnnxEmbedder)
    assert fp32.inner.backend == "onnx"
    default = default_embedder(EmbedConfig(onnx_cache_dir=str(tmp_path)))
    assert isinstance(default, CachingEmbedder) and isinstance(default.inner, OnnxEmbedder)
    assert default.inner.backend == "onnx-int8"
    torch = default_embedder(EmbedConfig(backend="torch"))
    assert isinstance(torch, CachingEmbedder) and isinstance(torch.inner, SentenceTransformerEmbedder)
    # on another device both ONNX backends run the float model in PyTorch there (--device cuda needs
    # nothing else): int8 weights are how a CPU runs it fast
    for backend in ("onnx-int8", "onnx"):
        on_gpu = default_embedder(EmbedConfig(backend=backend, device="cuda"))
        assert isinstance(on_gpu, CachingEmbedder) and isinstance(on_gpu.inner, SentenceTransformerEmbedder)
        assert on_gpu.inner.device == "cuda"


@pytest.mark.parametrize("backend", ["onnx-fp32", "int8", "TORCH", ""])
def test_an_unknown_backend_is_a_config_error(backend: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'torch' or 'onnx' or 'onnx-int8'"):
        EmbedConfig(backend=backend)
    with pytest.raises(ConfigError, match=r"embed\.backend"):
        config_from_dict({"embed": {"backend": backend}})
    path = tmp_path / "dedup.toml"
    path.write_text(f'[embed]\nbackend = "{backend}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'torch' or 'onnx' or 'onnx-int8'"):
        load_config(path)


def test_the_backend_is_read_from_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dedup.toml"
    path.write_text('[embed]\nbackend = "onnx-int8"\nonnx_cache_dir = "/var/cache/dedup"\n', encoding="utf-8")
    config = load_config(path)
    assert config.embed.backend == "onnx-int8"
    assert config.embed.onnx_cache_dir == "/var/cache/dedup"
    assert EmbedConfig().backend == "onnx-int8"


def test_the_default_model_is_built_without_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean install (CI's fresh clone) exports the packaged model from the files it ships, offline:
    any attempt to open a connection fails the build."""
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ONNX build tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    model = default_embedder(EmbedConfig(onnx_cache_dir=str(tmp_path)))
    vectors = model.encode(SENTENCES[:3])
    assert isinstance(model, CachingEmbedder) and isinstance(model.inner, OnnxEmbedder)
    assert model.inner.built and model.inner.model_file is not None
    assert model.inner.model_file.is_relative_to(tmp_path)
    assert vectors.shape == (3, 384) and float(vectors[0] @ vectors[1]) > 0.7


def test_an_unwritable_cache_is_a_config_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache should be", encoding="utf-8")
    with pytest.raises(ConfigError, match="onnx_cache_dir"):
        OnnxEmbedder(cache_dir=not_a_folder).encode(["a sentence"])


TRICKY = [
    "Café déjà vu: naïve façades in São Paulo",
    "東京で会議が開かれた。 Seoul 서울",
    "Ünïcödé — “quotes” and ‘apostrophes’ … ellipses",
    "e-mail: someone@example.com, URL https://example.com/a?b=c",
    "  leading and trailing spaces, \t tabs\nand newlines  ",
    "word " * 400,
]


def test_the_tokenizer_file_alone_tokenizes_as_transformers_does(onnx: OnnxEmbedder) -> None:
    """Once the model is exported, starts read the tokenizer with the tokenizers library alone (importing
    transformers takes seconds); its word pieces are transformers' own, cut at the same length."""
    from transformers import AutoTokenizer

    from dedup.embed import _model_dir, _Pipeline, _tokenizer_file

    transformer = _Pipeline(_model_dir(onnx._path, onnx._spec), onnx._spec).transformer
    found = _tokenizer_file(transformer)
    assert found is not None
    hf = AutoTokenizer.from_pretrained(str(transformer), use_fast=True)
    assert found.pad_id == hf.pad_token_id
    assert found.max_length == hf.model_max_length
    ours = OnnxEmbedder._tokenizer_copy(found.json, False, 128)
    for text in [*SENTENCES, *TRICKY]:
        assert ours.encode(text).ids == hf(text, truncation=True, max_length=128)["input_ids"], text


def test_a_tokenizer_config_that_overrides_the_file_is_left_to_transformers(tmp_path: Path) -> None:
    from dedup.embed import PACKAGED_MODEL, _model_dir, _Pipeline, _tokenizer_file, resolve_model

    source = _Pipeline(_model_dir(resolve_model(PACKAGED_MODEL), PACKAGED_MODEL), PACKAGED_MODEL).transformer
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    assert _tokenizer_file(tmp_path) is not None
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config["do_lower_case"] = False  # transformers would rebuild the normalizer without lower-casing
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    assert _tokenizer_file(tmp_path) is None
    (tmp_path / "tokenizer.json").unlink()
    assert _tokenizer_file(tmp_path) is None


def test_a_start_from_the_cached_model_does_not_import_transformers(
    onnx: OnnxEmbedder, onnx_cache: Path
) -> None:
    code = (
        "import sys\n"
        "from dedup.embed import OnnxEmbedder\n"
        f"e = OnnxEmbedder(cache_dir={str(onnx_cache)!r})\n"
        "e.encode(['a sentence'])\n"
        "assert not e.built\n"
        "print('transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
