"""Limits on what one article may hold: every field, and its sentences; each refused whole, naming the
article and the limit, before anything is stored."""

from __future__ import annotations

import pytest

import dedup.engine
from dedup.config import SENTENCE_KEY_SPAN, Config, LimitsConfig, config_from_dict
from dedup.document import Article, check_article
from dedup.embed import NullEmbedder
from dedup.engine import Engine
from dedup.errors import ConfigError, InvalidArgument, NotFound
from dedup.store import MemoryStore

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
    assert len(engine) == 0 and engine._outlets == set()
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
    monkeypatch.setattr(dedup.engine, "MAX_SENTENCES", 8)
    engine = _engine()
    long = " ".join(f"Sentence number {n} of the long report on harbour cranes." for n in range(20))
    engine.ingest(Article("long", long))
    engine.ingest(Article("next", TEXT))
    assert len(engine._sent_lsh) == 8 + 3  # the long one's first 8 sentences, the other's 3
    assert "next" in {m.b for m in engine.find_similar(Article("q", TEXT)).matches}
    assert "long" in {m.b for m in engine.find_similar(Article("q", long)).matches}
    engine.delete("long")
    assert len(engine._sent_lsh) == 3 and engine.documents() == ["next"]
