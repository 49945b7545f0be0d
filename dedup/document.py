"""Articles prepared for matching, and the limits an article must keep to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dedup.article import Article, quote_id
from dedup.attribution import Citation
from dedup.boilerplate import Boilerplate, find_boilerplate, in_spans
from dedup.config import Config, LimitsConfig
from dedup.errors import InvalidArgument
from dedup.minhash import shingle_hashes, shingle_set, word_hashes
from dedup.quotes import quoted_spans
from dedup.segment import Sentence, Token, make_tokens, split_sentences, word_spans

__all__ = ["PreparedDocument", "check_article", "check_sentences", "prepare"]


def check_article(article: Article, limits: LimitsConfig) -> None:
    """Every limit on an article's fields (``LimitsConfig``: id, title, outlet, url, text), in one place:
    ``InvalidArgument`` naming the article, the field, its size and the limit. (Its sentences are counted
    once it is prepared: ``check_sentences``.)"""
    name = quote_id(article.id)
    fields = (
        ("id", article.id, limits.max_id_length),
        ("title", article.title, limits.max_title_length),
        ("outlet", article.outlet, limits.max_outlet_length),
        ("url", article.url, limits.max_url_length),
    )
    for field_name, value, limit in fields:
        if value is not None and len(value) > limit:
            raise InvalidArgument(
                f"document {name}: {field_name} is {len(value)} characters long; the limit is {limit} "
                f"(limits.max_{field_name}_length)"
            )
    size = len(article.text.encode("utf-8", "surrogatepass"))
    if size > limits.max_text_bytes:
        raise InvalidArgument(
            f"document {name}: text is {size} bytes; the limit is {limits.max_text_bytes} bytes "
            "(split the article or raise limits.max_text_bytes)"
        )


def check_sentences(doc: PreparedDocument, limits: LimitsConfig) -> None:
    """The limit on a prepared article's sentences (``limits.max_sentences``): ``InvalidArgument`` naming
    the article and the limit."""
    if len(doc.sentences) > limits.max_sentences:
        raise InvalidArgument(
            f"document {quote_id(doc.id)}: text has {len(doc.sentences)} sentences; the limit is "
            f"{limits.max_sentences} (limits.max_sentences): split the article"
        )


@dataclass(eq=False)
class PreparedDocument:
    """An article with everything matching needs: tokens and sentences with original offsets,
    boilerplate masked, shingles and signatures. Embeddings are filled in later, and only if needed.

    The engine keeps thousands of prepared articles in memory, so their tokens are kept as arrays
    and one string rather than as a ``Token`` object each (about 115 KB less for a 600-word article);
    ``tokens`` builds the objects when asked."""

    article: Article
    order: int
    words: str
    """The tokens' normalised words, in order, each followed by one space."""
    word_ends: np.ndarray
    """For each token, where its word ends in ``words`` (int32): word ``i`` is
    ``words[word_ends[i - 1] + 1 : word_ends[i]]``."""
    token_starts: np.ndarray
    """For each token, where it starts in the text (ascending; int32, or int64 for texts of 2**31
    characters or more)."""
    token_ends: np.ndarray
    """For each token, where it ends in the text (the same type as ``token_starts``)."""
    token_block: np.ndarray
    """For each token, a number (int64) shared only by the tokens of the same sentence and the same
    boilerplate-free stretch of text: verbatim runs never cross from one block to another."""
    token_hashes: np.ndarray
    """For each token, the 64-bit hash of its word (``minhash.word_hashes``): words compared as numbers."""
    sentences: list[Sentence]
    sentence_tokens: list[tuple[int, int]]
    """For each sentence, the half-open range of its tokens in ``tokens``."""
    boilerplate: list[Boilerplate]
    content_chars: int
    """Characters of the text that are neither white space nor boilerplate."""
    doc_shingles: np.ndarray
    """The article's hashed word shingles, sorted, without repeats (``minhash.shingle_set``)."""
    sentence_shingles: list[np.ndarray]
    """Each sentence's hashed word shingles (repeats possible: they are only signed)."""
    citations: list[Citation] = field(default_factory=list)
    quotes: list[tuple[int, int]] = field(default_factory=list)
    """The spans of the text inside quotation marks (``quotes.quoted_spans``)."""
    doc_minhash: np.ndarray | None = None
    """The MinHash signature of ``doc_shingles`` (uint32, one value per permutation)."""
    sentence_minhashes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.uint32))
    """One signature row per sentence, of ``sentence_shingles``."""
    embeddings: np.ndarray | None = None
    """One L2-normalised row per sentence (float16, as stored: half the memory of float32), or None
    while not embedded."""
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

    @property
    def tokens(self) -> list[Token]:
        """The tokens as objects (made on each call: use the arrays in loops)."""
        return make_tokens(self.words.split(), self.token_starts.tolist(), self.token_ends.tolist())

    def _words_between(self, lo: int, hi: int) -> str:
        if lo >= hi:
            return ""
        first = int(self.word_ends[lo - 1]) + 1 if lo else 0
        return self.words[first : int(self.word_ends[hi - 1])]

    def sentence_words(self, i: int) -> list[str]:
        return self._words_between(*self.sentence_tokens[i]).split()

    def sentence_key_text(self, i: int) -> str:
        """The sentence's words joined by single spaces: ``" ".join(self.sentence_words(i))``."""
        return self._words_between(*self.sentence_tokens[i])


def prepare(article: Article, order: int, config: Config) -> PreparedDocument:
    """Normalise, mask, tokenise and segment an article (no model, no index)."""
    text = article.text
    masked = find_boilerplate(text)
    words, starts, ends = word_spans(text)
    split = split_sentences(text)
    start_at = np.asarray(starts, dtype=np.int64)
    # For each token, the index of the first split sentence that does not end before it.
    sentence_of = np.searchsorted(np.asarray([s.end for s in split], dtype=np.int64), start_at, "right")
    if masked and words:
        inside = _masked(start_at, masked)
        # A masked run of tokens starts a new block, unless no unmasked token came before it.
        run_starts = inside.copy()
        run_starts[1:] &= ~inside[:-1]
        block = np.cumsum(run_starts) - int(inside[0])
        kept = np.flatnonzero(~inside)
        blocks = ((block << 20) | sentence_of)[kept]
        keep = kept.tolist()
        words = list(map(words.__getitem__, keep))
        starts = list(map(starts.__getitem__, keep))
        ends = list(map(ends.__getitem__, keep))
        start_at = start_at[kept]
    else:
        blocks = sentence_of
    # Each split sentence's tokens: those that start inside it.
    los = np.searchsorted(start_at, np.asarray([s.start for s in split], dtype=np.int64), "left").tolist()
    his = np.searchsorted(start_at, np.asarray([s.end for s in split], dtype=np.int64), "left").tolist()
    sentences: list[Sentence] = []
    ranges: list[tuple[int, int]] = []
    min_tokens = config.segment.min_sentence_tokens
    for s, lo, hi in zip(split, los, his, strict=True):
        if hi - lo >= min_tokens:
            # Trim the sentence to its unmasked words, keeping leading/trailing punctuation.
            start = max(s.start, _expand_left(text, starts[lo], s.start, masked))
            end = min(s.end, _expand_right(text, ends[hi - 1], s.end, masked))
            sentences.append(Sentence(start, end, s.paragraph))
            ranges.append((lo, hi))
    content = _non_space(text) - sum(_non_space(text[b.start : b.end]) for b in masked)
    hashes = word_hashes(words)
    lengths = np.fromiter(map(len, words), dtype=np.int32, count=len(words))
    offsets = np.int32 if len(text) < 2**31 else np.int64
    return PreparedDocument(
        article=article,
        order=order,
        words="".join(w + " " for w in words),
        word_ends=np.cumsum(lengths + 1, dtype=np.int32) - 1,
        token_starts=np.asarray(starts, dtype=offsets),
        token_ends=np.asarray(ends, dtype=offsets),
        token_block=np.asarray(blocks, dtype=np.int64),
        token_hashes=hashes,
        sentences=sentences,
        sentence_tokens=ranges,
        boilerplate=masked,
        content_chars=max(content, 1),
        doc_shingles=shingle_set(hashes, config.minhash.doc_shingle),
        sentence_shingles=_sentence_shingles(words, hashes, ranges, config.minhash.passage_shingle),
        quotes=quoted_spans(text),
    )


def _sentence_shingles(
    words: list[str], hashes: np.ndarray, ranges: list[tuple[int, int]], k: int
) -> list[np.ndarray]:
    """``[shingle_hashes(words[lo:hi], k) for lo, hi in ranges]``. A shingle's hash depends on its
    words alone, so the ``k``-word shingles of every sentence are hashed in one pass over the whole
    text, and each sentence's are a view of that one array."""
    if k < 1 or len(words) < k:
        return [shingle_hashes(hashes[lo:hi], k) for lo, hi in ranges]
    windows = shingle_hashes(hashes, k)  # the shingle starting at each word
    return [
        windows[lo : hi - k + 1] if hi - lo >= k else shingle_hashes(hashes[lo:hi], k) for lo, hi in ranges
    ]


def _masked(positions: np.ndarray, masked: list[Boilerplate]) -> np.ndarray:
    """For each of the sorted ``positions``, whether it lies in one of the sorted, disjoint spans:
    ``in_spans`` for many positions at once."""
    span_starts = np.asarray([b.start for b in masked], dtype=np.int64)
    span_ends = np.asarray([b.end for b in masked], dtype=np.int64)
    i = np.searchsorted(span_ends, positions, "right")  # the first span that ends after the position
    return (i < len(masked)) & (span_starts[np.minimum(i, len(masked) - 1)] <= positions)


_ASCII_SPACES = bytes(c for c in range(128) if chr(c).isspace())


def _non_space(text: str) -> int:
    """The number of characters of ``text`` that are not white space."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_SPACES))
    return sum(map(len, text.split()))


def _expand_left(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos > limit and not text[pos - 1].isspace() and not in_spans(pos - 1, masked):
        pos -= 1
    return pos


def _expand_right(text: str, pos: int, limit: int, masked: list[Boilerplate]) -> int:
    while pos < limit and not text[pos].isspace() and not in_spans(pos, masked):
        pos += 1
    return pos
