"""Articles as given, and articles prepared for matching."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
from datasketch import MinHash

from dedup.attribution import Citation
from dedup.boilerplate import Boilerplate, find_boilerplate, in_spans
from dedup.config import Config
from dedup.errors import InvalidArgument
from dedup.minhash import shingles
from dedup.normalize import normalize
from dedup.segment import Sentence, Token, split_sentences, tokenize

__all__ = ["Article", "PreparedDocument", "Timestamp", "parse_timestamp", "prepare"]

MAX_ID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A publication time and its precision: a date alone ("2022-06-17") only orders by day."""

    value: datetime
    date_only: bool = False

    def before(self, other: Timestamp) -> bool | None:
        """True if surely earlier, False if surely later, None if they cannot be told apart."""
        if self.date_only or other.date_only:
            da, db = self.value.date(), other.value.date()
            return None if da == db else da < db
        return None if self.value == other.value else self.value < other.value

    def isoformat(self) -> str:
        return self.value.date().isoformat() if self.date_only else self.value.isoformat()


def parse_timestamp(value: str) -> Timestamp:
    """Parse an ISO 8601 date or date-time. Times without a zone are taken as UTC."""
    text = value.strip()
    if not text:
        raise InvalidArgument(
            "empty timestamp; give an ISO 8601 date or date-time such as 2022-06-17T14:05:00Z"
        )
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            d = date.fromisoformat(text)
            return Timestamp(datetime(d.year, d.month, d.day, tzinfo=UTC), date_only=True)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidArgument(
            f"cannot parse timestamp {value!r}; "
            "give an ISO 8601 date or date-time such as 2022-06-17T14:05:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Timestamp(parsed)


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as given by the user. ``text`` is never changed: all offsets point into it."""

    id: str
    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published_at: Timestamp | None = None

    def __post_init__(self) -> None:
        if not self.id or not self.id.strip():
            raise InvalidArgument("article id is empty; give every article a non-empty id")
        if len(self.id) > MAX_ID_LENGTH:
            raise InvalidArgument(
                f"article id is {len(self.id)} characters long; the limit is {MAX_ID_LENGTH}"
            )
        if not self.text or not self.text.strip():
            raise InvalidArgument(f"article {self.id!r} has an empty text")


@dataclass(eq=False)
class PreparedDocument:
    """An article with everything matching needs: tokens and sentences with original offsets,
    boilerplate masked, shingles and signatures. Embeddings are filled in later, and only if needed."""

    article: Article
    order: int
    tokens: list[Token]
    token_block: list[int]
    """For each token, a number shared only by the tokens of the same sentence and the same
    boilerplate-free stretch of text: verbatim runs never cross from one block to another."""
    sentences: list[Sentence]
    sentence_tokens: list[tuple[int, int]]
    """For each sentence, the half-open range of its tokens in ``tokens``."""
    boilerplate: list[Boilerplate]
    content_chars: int
    """Characters of the text that are neither white space nor boilerplate."""
    doc_shingles: set[int]
    sentence_shingles: list[set[int]]
    citations: list[Citation] = field(default_factory=list)
    doc_minhash: MinHash | None = None
    sentence_minhashes: list[MinHash] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    """One L2-normalised row per sentence, or None while not embedded."""
    vector: np.ndarray | None = None
    """The article's own vector: the normalised mean of its sentence embeddings."""

    @property
    def id(self) -> str:
        return self.article.id

    @property
    def text(self) -> str:
        return self.article.text

    def sentence_text(self, i: int) -> str:
        s = self.sentences[i]
        return self.article.text[s.start : s.end]

    def sentence_words(self, i: int) -> list[str]:
        lo, hi = self.sentence_tokens[i]
        return [t.text for t in self.tokens[lo:hi]]


def prepare(article: Article, order: int, config: Config) -> PreparedDocument:
    """Normalise, mask, tokenise and segment an article (no model, no index)."""
    text = article.text
    masked = find_boilerplate(text)
    all_tokens = tokenize(normalize(text))
    split = split_sentences(text)
    tokens: list[Token] = []
    blocks: list[int] = []
    block = 0
    si = 0
    for tok in all_tokens:
        if in_spans(tok.start, masked):
            if tokens and blocks[-1] >> 20 == block:
                block += 1
            continue
        while si < len(split) and split[si].end <= tok.start:
            si += 1
        tokens.append(tok)
        blocks.append((block << 20) | si)
    sentences: list[Sentence] = []
    ranges: list[tuple[int, int]] = []
    ti = 0
    for s in split:
        while ti < len(tokens) and tokens[ti].start < s.start:
            ti += 1
        lo = ti
        while ti < len(tokens) and tokens[ti].start < s.end:
            ti += 1
        if ti - lo >= config.segment.min_sentence_tokens:
            first, last = tokens[lo], tokens[ti - 1]
            # Trim the sentence to its unmasked words, keeping leading/trailing punctuation.
            start = max(s.start, _expand_left(text, first.start, s.start, masked))
            end = min(s.end, _expand_right(text, last.end, s.end, masked))
            sentences.append(Sentence(start, end, s.paragraph))
            ranges.append((lo, ti))
    content = sum(1 for i, ch in enumerate(text) if not ch.isspace()) - sum(
        sum(1 for ch in text[b.start : b.end] if not ch.isspace()) for b in masked
    )
    words = [t.text for t in tokens]
    return PreparedDocument(
        article=article,
        order=order,
        tokens=tokens,
        token_block=blocks,
        sentences=sentences,
        sentence_tokens=ranges,
        boilerplate=masked,
        content_chars=max(content, 1),
        doc_shingles=shingles(words, config.minhash.doc_shingle),
        sentence_shingles=[shingles(words[lo:hi], config.minhash.passage_shingle) for lo, hi in ranges],
    )


def _expand_left(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos > limit and not text[pos - 1].isspace() and not in_spans(pos - 1, masked):
        pos -= 1
    return pos


def _expand_right(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos < limit and not text[pos].isspace() and not in_spans(pos, masked):
        pos += 1
    return pos
