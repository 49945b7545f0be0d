"""Tests of dedup.config: frozen defaults, overrides from dicts and files, and validation errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dedup.config import AlignConfig, Config, MinHashConfig, config_from_dict, load_config
from dedup.errors import ConfigError


def test_defaults() -> None:
    config = Config()
    assert config.align == AlignConfig()
    assert config.align.paraphrase_cosine == 0.8
    assert config.minhash.num_perm == 128
    assert config.vector_index == "faiss:flat"
    assert config.lsh == "memory"
    assert config == Config()


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.vector_index = "exact"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.align.paraphrase_cosine = 0.1  # type: ignore[misc]
    assert Config().align.paraphrase_cosine == 0.8


def test_config_from_dict_overrides_one_value() -> None:
    config = config_from_dict({"align": {"paraphrase_cosine": 0.7}})
    assert config.align.paraphrase_cosine == 0.7
    assert dataclasses.replace(config.align, paraphrase_cosine=0.8) == AlignConfig()
    assert config.minhash == MinHashConfig()
    assert Config().align.paraphrase_cosine == 0.8  # the defaults are untouched


def test_config_from_dict_several_sections_and_top_level() -> None:
    config = config_from_dict(
        {
            "minhash": {"num_perm": 64, "seed": 0},
            "cluster": {"link_relations": ["DUPLICATE"]},
            "derive": {"time_weight": 7},
            "vector_index": "exact",
        }
    )
    assert config.minhash.num_perm == 64
    assert config.minhash.seed == 0
    assert config.cluster.link_relations == ("DUPLICATE",)
    assert config.derive.time_weight == 7.0
    assert isinstance(config.derive.time_weight, float)  # an int is accepted for a float and converted
    assert config.vector_index == "exact"


def test_config_from_dict_on_a_base() -> None:
    base = config_from_dict({"align": {"seed_ngram": 5}})
    config = config_from_dict({"align": {"paraphrase_cosine": 0.6}}, base=base)
    assert (config.align.seed_ngram, config.align.paraphrase_cosine) == (5, 0.6)


def test_empty_dict_gives_defaults() -> None:
    assert config_from_dict({}) == Config()


def test_load_toml(tmp_path) -> None:
    path = tmp_path / "dedup.toml"
    path.write_text(
        'vector_index = "faiss:hnsw"\n\n[align]\nparaphrase_cosine = 0.75\nseed_ngram = 5\n\n'
        "[relation]\nmin_shared_chars = 60\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.vector_index == "faiss:hnsw"
    assert config.align.paraphrase_cosine == 0.75
    assert config.align.seed_ngram == 5
    assert config.relation.min_shared_chars == 60
    assert config.relation.duplicate_coverage == 0.9
    assert load_config(str(path)) == config


def test_load_json(tmp_path) -> None:
    path = tmp_path / "dedup.json"
    path.write_text(json.dumps({"minhash": {"passage_threshold": 0.4}, "lsh": "memory"}), encoding="utf-8")
    config = load_config(path)
    assert config.minhash.passage_threshold == 0.4
    assert config.lsh == "memory"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"bogus": {}}, "'bogus'"),
        ({"align": {"bogus_key": 1}}, "'bogus_key'"),
        ({"align": {"paraphrase_cosine": 0.7, "paraphrase_cosin": 0.7}}, "'paraphrase_cosin'"),
    ],
)
def test_unknown_section_or_key(values: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown key {key}") as info:
        config_from_dict(values)
    # the message lists the known keys so the user can fix the typo
    if "align" in values:
        assert "paraphrase_cosine" in str(info.value)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"align": {"paraphrase_cosine": "0.7"}}, "align.paraphrase_cosine"),
        ({"align": {"paraphrase_cosine": True}}, "align.paraphrase_cosine"),
        ({"align": {"seed_ngram": 2.5}}, "align.seed_ngram"),
        ({"align": {"seed_ngram": True}}, "align.seed_ngram"),
        ({"align": {"seed_ngram": "4"}}, "align.seed_ngram"),
        ({"embed": {"model": 3}}, "embed.model"),
        ({"cluster": {"link_relations": ["DUPLICATE", 1]}}, "cluster.link_relations"),
        ({"cluster": {"link_relations": "DUPLICATE"}}, "cluster.link_relations"),
        ({"vector_index": 3}, "vector_index"),
        ({"vector_index": {"kind": "flat"}}, "vector_index"),
        ({"align": 5}, "[align]"),
        ({"align": [1, 2]}, "[align]"),
    ],
)
def test_wrong_type(values: dict, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(values)
    assert where in str(info.value)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"align": {"paraphrase_cosine": 1.5}}, "align.paraphrase_cosine"),
        ({"align": {"paraphrase_cosine": -0.1}}, "align.paraphrase_cosine"),
        ({"minhash": {"doc_threshold": 2}}, "minhash.doc_threshold"),
        ({"relation": {"duplicate_coverage": float("nan")}}, "relation.duplicate_coverage"),
        ({"derive": {"min_confidence": 1.01}}, "derive.min_confidence"),
    ],
)
def test_threshold_out_of_range(values: dict, where: str) -> None:
    with pytest.raises(ConfigError, match="between 0 and 1") as info:
        config_from_dict(values)
    assert where in str(info.value)


@pytest.mark.parametrize("value", [0.0, 1.0, 0, 1])
def test_threshold_bounds_are_inclusive(value: float) -> None:
    assert config_from_dict({"align": {"paraphrase_cosine": value}}).align.paraphrase_cosine == value


def test_weights_are_not_limited_to_one() -> None:
    assert config_from_dict({"derive": {"coverage_weight": 10.0}}).derive.coverage_weight == 10.0


@pytest.mark.parametrize(
    "values",
    [{"align": {"seed_ngram": 0}}, {"segment": {"min_sentence_tokens": -3}}, {"resident_documents": 0}],
)
def test_counts_must_be_positive(values: dict) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        config_from_dict(values)


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("c.toml", "[align]\nparaphrase_cosin = 0.7\n", "paraphrase_cosin"),
        ("c.toml", "[aligner]\nx = 1\n", "aligner"),
        ("c.json", '{"align": {"paraphrase_cosine": 3}}', "align.paraphrase_cosine"),
        ("c.json", '{"align": {"seed_ngram": "four"}}', "align.seed_ngram"),
    ],
)
def test_file_errors_name_the_file_and_the_key(tmp_path, name: str, content: str, key: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("bad.toml", "[align\nx = 1\n", "not valid TOML"),
        ("bad.json", '{"align": ', "not valid JSON"),
        ("list.json", "[1, 2]", "table of sections"),
    ],
)
def test_unparseable_files(tmp_path, name: str, content: str, what: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=what):
        load_config(path)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_negative_seed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"minhash\.seed"):
        config_from_dict({"minhash": {"seed": -5}})
