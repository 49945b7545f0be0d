"""Limits on what one article may hold: every field, and its sentences; each refused whole, naming the
article and the limit, before anything is stored."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

import dedup.article_index
from dedup.article import Article
from dedup.config import SENTENCE_KEY_SPAN, Config, LimitsConfig, config_from_dict
from dedup.document import check_article, prepare
from dedup.embed import CachingEmbedder, NullEmbedder
from dedup.engine import Engine
from dedup.errors import ConfigError, InvalidArgument, NotFound
from dedup.pipeline import Detector
from dedup.store import MemoryStore
from tests.fixtures import stories as S

T = TypeVar("T")

TEXT = (
    "Dock workers in Port Alder walked off the job on Tuesday after talks with the harbour board failed. "
    "The union said its members would stay out until the board put a new offer on the table. "
    "Ships waiting to unload were turned away to the ports further down the coast."
)


def _engine(config: Config | None = None) -> Engine:
    return Engine(config or Config(), NullEmbedder(), MemoryStore())


@pytest.mark.parametrize(
    "field,limit",
    [
        ("id", "max_id_length"),
        ("title", "max_title_length"),
        ("outlet", "max_outlet_length"),
        ("url", "max_url_length"),
    ],
)
def test_every_field_has_a_limit(field: str, limit: str) -> None:
    size = getattr(LimitsConfig(), limit)
    values = {"id": "doc", "text": TEXT, field: "x" * (size + 1)}
    with pytest.raises(InvalidArgument) as info:
        check_article(Article(**values), LimitsConfig())
    message = str(info.value)
    assert f"{field} is {size + 1} characters long; the limit is {size} (limits.{limit})" in message
    assert len(message) < 300  # an over-long id is not echoed whole
    check_article(Article(**{**values, field: "x" * size}), LimitsConfig())  # at the limit: accepted


def test_a_huge_outlet_is_refused_and_never_stored() -> None:
    engine = _engine()
    with pytest.raises(InvalidArgument, match=r"document 'big': outlet is 5000000 characters long"):
        engine.ingest(Article("big", TEXT, outlet="O" * 5_000_000))
    with pytest.raises(InvalidArgument, match="outlet"):
        engine.find_similar(Article("q", TEXT, outlet="O" * 5_000_000))
    assert len(engine) == 0 and engine._entries.outlets() == []
    with pytest.raises(NotFound):
        engine.document("big")
    engine.ingest(Article("ok", TEXT, outlet="Harbour Wire"))
    assert engine.documents() == ["ok"]


def test_text_size_is_measured_in_bytes() -> None:
    limits = LimitsConfig(max_text_bytes=100)
    check_article(Article("a", "é" * 50), limits)
    with pytest.raises(InvalidArgument, match=r"document 'a': text is 102 bytes; the limit is 100 bytes"):
        check_article(Article("a", "é" * 51), limits)


def test_too_many_sentences_are_refused_whole_naming_the_article() -> None:
    """A text of more short lines than there are sentence numbers in a key once broke every FindSimilar;
    now it is refused, before it is prepared further or stored, and matching goes on for everyone."""
    engine = _engine()
    engine.ingest(Article("kept", TEXT))
    lines = "A b c d.\n" * (SENTENCE_KEY_SPAN + 10)
    for call in (engine.ingest, engine.find_similar):
        with pytest.raises(InvalidArgument) as info:
            call(Article("lines", lines))
        assert "document 'lines': text has 65546 sentences; the limit is 5000 (limits.max_sentences)" in str(
            info.value
        )
    assert engine.documents() == ["kept"]
    assert "kept" in {m.b for m in engine.find_similar(Article("q", TEXT)).matches}
    small = config_from_dict({"limits": {"max_sentences": 3}})
    with pytest.raises(InvalidArgument, match="limit is 3"):
        _engine(small).ingest(Article("four", "A b c d.\n" * 4))
    _engine(small).ingest(Article("three", "A b c d.\n" * 3))


def test_max_sentences_cannot_outgrow_the_sentence_keys() -> None:
    with pytest.raises(ConfigError, match="at most 65536"):
        config_from_dict({"limits": {"max_sentences": SENTENCE_KEY_SPAN + 1}})


def test_an_article_with_more_sentences_than_a_key_holds_indexes_only_what_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An article stored before the limit may have more sentences than a key holds: only its first ones
    are indexed, so its keys never reach the next article's, and both stay matched and deletable."""
    monkeypatch.setattr(dedup.article_index, "MAX_SENTENCES", 8)
    engine = _engine()
    long = " ".join(f"Sentence number {n} of the long report on harbour cranes." for n in range(20))
    engine.ingest(Article("long", long))
    engine.ingest(Article("next", TEXT))
    assert engine._article_index.sentences() == 8 + 3  # the long one's first 8 sentences, the other's 3
    assert "next" in {m.b for m in engine.find_similar(Article("q", TEXT)).matches}
    assert "long" in {m.b for m in engine.find_similar(Article("q", long)).matches}
    engine.delete("long")
    assert engine._article_index.sentences() == 3 and engine.documents() == ["next"]


# -- the work one request may cause ---------------------------------------------------------------------

align_module = importlib.import_module("dedup.align")


def _timed(call: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def test_a_text_repeating_one_line_is_matched_in_bounded_time() -> None:
    """A thousand copies of one line, then a query of 995 of them, took 23.6 s in the service (9 s of
    it here without a model): every sentence pair was compared. Sentences that are the same words are
    now never compared pair by pair (their verbatim runs say it), and each line is looked up once."""
    engine = _engine()
    engine.ingest(Article("lines", "A b c d.\n" * 1000))
    found, seconds = _timed(lambda: engine.find_similar(Article("q", "A b c d.\n" * 995)))
    assert [m.b for m in found.matches if m.passages] == ["lines"]
    assert seconds < 5, seconds  # 0.06 s here


def test_near_identical_lines_compare_at_most_max_sentence_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of lines differing in one number: every pair of lines shares its words, millions of
    pairs (4,000 lines took 124 s). At most ``align.max_sentence_pairs`` of them are compared."""
    compared = []
    real = align_module._blocks_within

    def counting(*args: Any) -> Any:
        compared.append(1)
        return real(*args)

    monkeypatch.setattr(align_module, "_blocks_within", counting)
    config = config_from_dict({"align": {"max_sentence_pairs": 500}})
    engine = _engine(config)
    lines = "".join(
        f"Item {n}: the harbour board approved the crane repair plan today.\n" for n in range(1500)
    )
    engine.ingest(Article("items", lines))
    compared.clear()
    found, seconds = _timed(lambda: engine.find_similar(Article("q", lines.replace("today", "on Monday"))))
    assert "items" in {m.b for m in found.matches}
    assert 0 < len(compared) <= 500 + 10  # the sentence pairs, and a few verbatim chains
    assert seconds < 10, seconds


def test_one_phrase_repeated_costs_at_most_max_pair_work() -> None:
    """Runs of a phrase repeated fifty thousand times add up to the square of its length (half a minute
    for two such texts); aligning stops at ``align.max_pair_work`` word comparisons."""
    config = Config()
    stored = prepare(Article("a", "harbour crane " * 50_000 + "."), 1, config)
    query = prepare(Article("b", "harbour crane " * 49_990 + "."), 2, config)
    budget = align_module._Budget(config.align.max_pair_work)
    _, seconds = _timed(lambda: align_module._lexical_spans(stored, query, config.align, budget))
    assert budget.spent and budget.left > -200_000  # it stopped, within one run of the cap
    passages, seconds = _timed(lambda: align_module.align(stored, query, config.align))
    assert passages and seconds < 5, seconds


def test_caps_do_not_change_ordinary_answers(embedder: CachingEmbedder) -> None:
    """The invented stories align the same with the caps and without them, paraphrases included (PAN
    2013's 40 longest pairs and 120 others were checked the same way: the most sentence pairs compared
    was 2,867, the most work 54,155 steps)."""
    config = Config()
    free = dataclasses.replace(config.align, max_sentence_pairs=10**9, max_pair_work=align_module.UNLIMITED)
    texts = [S.original(), S.verbatim(), S.trimmed(), S.lightly_edited(), S.paraphrased(), S.stitched()]
    docs = Detector(config, embedder).prepare([Article(f"d{n}", t) for n, t in enumerate(texts)])
    for a, b in itertools.combinations(docs, 2):
        assert align_module.align(a, b, config.align) == align_module.align(a, b, free)
