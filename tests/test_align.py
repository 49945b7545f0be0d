"""Tests of dedup.align: shared passages between two articles, and directional coverage.

The articles are the invented port-strike story of tests/fixtures/stories.py and its rewrites.
Each pair is prepared and embedded once per module with the session's packaged model.
"""

from __future__ import annotations

import itertools
import random
import re
from difflib import SequenceMatcher

import pytest
from fixtures import stories as S
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import (
    STOP_WORDS,
    Run,
    _word_kinds,
    align,
    coverage,
    disjoint_runs,
    matching_blocks_summary,
    sequence_ratio,
    verbatim_runs,
)
from dedup.config import AlignConfig, Config
from dedup.document import PreparedDocument, prepare
from dedup.minhash import word_hashes
from dedup.paraphrase import word_kinds
from dedup.pipeline import Detector, NullProgress
from dedup.results import Passage, PassageKind
from dedup.segment import tokenize

CFG = AlignConfig()

VARIANTS = {
    "verbatim": S.verbatim(),
    "trimmed": S.trimmed(),
    "reordered": S.reordered(),
    "light": S.lightly_edited(),
    "paraphrased": S.paraphrased(),
    "unrelated": S.unrelated(),
    "stitched": S.stitched(),
    "citing": S.citing(also="Reuters"),
}


def embedded_pair(detector: Detector, text_a: str, text_b: str) -> tuple[PreparedDocument, PreparedDocument]:
    """Two prepared articles with sentence embeddings and document vectors filled in."""
    docs = detector.prepare([S.article("a", text_a), S.article("b", text_b)], NullProgress())
    return docs[0], docs[1]


@pytest.fixture(scope="module")
def pairs(detector: Detector) -> dict[str, tuple[PreparedDocument, PreparedDocument]]:
    """The original (as a) against each variant (as b)."""
    return {name: embedded_pair(detector, S.original(), text) for name, text in VARIANTS.items()}


@pytest.fixture(scope="module")
def aligned(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]],
) -> dict[str, list[Passage]]:
    return {name: align(a, b, CFG) for name, (a, b) in pairs.items()}


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def bare(text: str) -> str:
    """``text`` without the punctuation (quote marks, commas, full stops) at either end."""
    return re.sub(r"^[^\w\s]+|[^\w\s]+$", "", text)


def cov(doc: PreparedDocument, passages: list[Passage], side: str) -> float:
    if side == "a":
        return coverage(doc, [(p.a_start, p.a_end) for p in passages])
    return coverage(doc, [(p.b_start, p.b_end) for p in passages])


def body_share(kept: str, whole: str) -> float:
    """Share of non-space characters of ``whole`` that ``kept`` has."""

    def chars(t: str) -> int:
        return sum(1 for ch in t if not ch.isspace())

    return chars(kept) / chars(whole)


# -- every variant ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_passages_are_well_formed(
    name: str,
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]],
    aligned: dict[str, list[Passage]],
) -> None:
    a, b = pairs[name]
    passages = aligned[name]
    for p in passages:
        assert 0 <= p.a_start < p.a_end <= len(a.text)
        assert 0 <= p.b_start < p.b_end <= len(b.text)
        assert 0.0 <= p.score <= 1.0
        # Passages start and end on words, not on white space.
        for text, start, end in ((a.text, p.a_start, p.a_end), (b.text, p.b_start, p.b_end)):
            assert not text[start].isspace() and not text[end - 1].isspace()
    assert passages == sorted(passages, key=lambda p: (p.a_start, p.b_start, p.a_end))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_alignment_is_symmetric(
    name: str,
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]],
    aligned: dict[str, list[Passage]],
) -> None:
    a, b = pairs[name]
    backwards = align(b, a, CFG)
    key = lambda p: (p.a_start, p.a_end, p.b_start, p.b_end, p.kind)  # noqa: E731
    assert sorted(map(key, (p.swapped() for p in backwards))) == sorted(map(key, aligned[name]))


# -- verbatim republication -------------------------------------------------------------------------


def test_verbatim_copy_is_one_verbatim_passage_covering_both(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["verbatim"]
    passages = aligned["verbatim"]
    assert passages
    assert {p.kind for p in passages} == {PassageKind.VERBATIM}
    assert all(p.score == 1.0 for p in passages)
    assert cov(a, passages, "a") >= 0.9
    assert cov(b, passages, "b") >= 0.9


def test_verbatim_passages_hold_the_same_words_on_both_sides(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["verbatim"]
    for p in aligned["verbatim"]:
        left, right = words(a.text[p.a_start : p.a_end]), words(b.text[p.b_start : p.b_end])
        assert left == right
        assert len(left) >= CFG.min_verbatim_tokens


def test_byline_and_copyright_lines_are_outside_every_passage(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["verbatim"]
    for doc, outlet, author in (
        (a, S.ORIGINAL_OUTLET, S.ORIGINAL_AUTHOR),
        (b, S.REPUBLISHER_OUTLET, S.REPUBLISHER_AUTHOR),
    ):
        header, footer = S.byline(outlet, author), S.copyright_line(outlet)
        h0 = doc.text.index(header)
        f0 = doc.text.index(footer)
        boiler = [(h0, h0 + len(header)), (f0, f0 + len(footer))]
        # dedup masks both lines ...
        masked = [(m.start, m.end) for m in doc.boilerplate]
        for lo, hi in boiler:
            assert any(m0 <= lo and hi <= m1 for m0, m1 in masked), (doc.text[lo:hi], masked)
        # ... so no passage reaches into them.
        for p in aligned["verbatim"]:
            start, end = (p.a_start, p.a_end) if doc is a else (p.b_start, p.b_end)
            for lo, hi in boiler:
                assert end <= lo or start >= hi


def test_texts_of_nothing_but_boilerplate_share_nothing(detector: Detector) -> None:
    a, b = embedded_pair(
        detector,
        f"{S.byline(S.ORIGINAL_OUTLET, S.ORIGINAL_AUTHOR)}\n\n{S.copyright_line(S.ORIGINAL_OUTLET)}",
        f"{S.byline(S.ORIGINAL_OUTLET, S.ORIGINAL_AUTHOR)}\n\n{S.copyright_line(S.ORIGINAL_OUTLET)}",
    )
    # Identical texts, but they are nothing but boilerplate: no passage, nothing to cover.
    assert align(a, b, CFG) == []
    assert coverage(a, [(0, len(a.text))]) == 0.0


# -- trimmed, reordered, lightly edited -------------------------------------------------------------


def test_trimmed_copy_is_covered_and_covers_its_share_of_the_original(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["trimmed"]
    passages = aligned["trimmed"]
    assert {p.kind for p in passages} == {PassageKind.VERBATIM}
    assert cov(b, passages, "b") >= 0.9
    share = body_share(S.compose(S.trimmed_paragraphs()), S.compose(S.PORT_PARAGRAPHS))
    assert 0.5 < share < 0.7
    assert cov(a, passages, "a") == pytest.approx(share, abs=0.05)


def test_reordered_copy_is_covered_both_ways_with_passages_out_of_order(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["reordered"]
    passages = aligned["reordered"]
    assert cov(a, passages, "a") >= 0.9
    assert cov(b, passages, "b") >= 0.9
    assert {p.kind for p in passages} == {PassageKind.VERBATIM}
    # Sorted by position in a, the passages jump back and forth in b.
    b_starts = [p.b_start for p in passages]
    assert b_starts != sorted(b_starts)
    # One passage per moved paragraph: runs do not cross from one paragraph into the next here.
    assert len(passages) == len(S.PORT_PARAGRAPHS)
    for p in passages:
        assert words(a.text[p.a_start : p.a_end]) == words(b.text[p.b_start : p.b_end])


def test_lightly_edited_copy_is_verbatim_or_near_verbatim(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["light"]
    passages = aligned["light"]
    assert passages
    assert {p.kind for p in passages} <= {PassageKind.VERBATIM, PassageKind.NEAR_VERBATIM}
    assert PassageKind.NEAR_VERBATIM in {p.kind for p in passages}
    assert cov(a, passages, "a") >= 0.8
    assert cov(b, passages, "b") >= 0.8
    for p in passages:
        if p.kind is PassageKind.NEAR_VERBATIM:
            assert CFG.near_verbatim_ratio <= p.score < 1.0
            left, right = words(a.text[p.a_start : p.a_end]), words(b.text[p.b_start : p.b_end])
            assert left != right
            assert sequence_ratio(left, right) >= CFG.near_verbatim_ratio


def test_lexical_passages_do_not_overlap(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    lexical = [p for p in aligned["light"] if p.kind is not PassageKind.PARAPHRASE]
    for side in ("a", "b"):
        spans = sorted((getattr(p, f"{side}_start"), getattr(p, f"{side}_end")) for p in lexical)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, (side, spans)


# -- paraphrase ---------------------------------------------------------------------------------------


def _quote_sentences() -> set[int]:
    flat = [s for p in S.PARAPHRASE_PARAGRAPHS for s in p]
    return {n for n, s in enumerate(flat) if S.QUOTE_OKAFOR in s or S.QUOTE_FALK in s}


def test_paraphrase_matches_most_rewritten_sentences(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    _, b = pairs["paraphrased"]
    paraphrases = [p for p in aligned["paraphrased"] if p.kind is PassageKind.PARAPHRASE]
    assert paraphrases
    assert all(CFG.paraphrase_cosine <= p.score <= 1.0 for p in paraphrases)
    quotes = _quote_sentences()
    assert len(quotes) == 2
    assert len(b.sentences) == len(S.PORT_SENTENCES)
    rewritten = [n for n in range(len(b.sentences)) if n not in quotes]
    matched = [
        n
        for n in rewritten
        if any(p.b_start <= b.sentences[n].start and b.sentences[n].end <= p.b_end for p in paraphrases)
    ]
    assert len(matched) >= len(rewritten) / 2, matched
    # Nothing is claimed word for word but the two quotes.
    assert all(p.kind is not PassageKind.NEAR_VERBATIM for p in aligned["paraphrased"])


@pytest.mark.parametrize("quote", [S.QUOTE_OKAFOR, S.QUOTE_FALK], ids=["okafor", "falk"])
def test_paraphrase_keeps_quotes_as_exact_verbatim_passages(
    quote: str,
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]],
    aligned: dict[str, list[Passage]],
) -> None:
    a, b = pairs["paraphrased"]
    verbatim = [p for p in aligned["paraphrased"] if p.kind is PassageKind.VERBATIM]
    hits = [p for p in verbatim if words(a.text[p.a_start : p.a_end]) == words(quote)]
    assert len(hits) == 1, [a.text[p.a_start : p.a_end] for p in verbatim]
    p = hits[0]
    # The passage is the quote's words, taking in at most the punctuation right around them
    # (the opening quote mark both texts have), never a neighbouring word.
    for text, start, end in ((a.text, p.a_start, p.a_end), (b.text, p.b_start, p.b_end)):
        assert bare(text[start:end]) == quote
        q0 = text.index(quote)
        assert q0 - 3 <= start <= q0
        assert q0 + len(quote) <= end <= q0 + len(quote) + 3


def test_paraphrase_quotes_are_the_only_verbatim_passages(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, _ = pairs["paraphrased"]
    verbatim = [p for p in aligned["paraphrased"] if p.kind is PassageKind.VERBATIM]
    assert sorted(bare(a.text[p.a_start : p.a_end]) for p in verbatim) == sorted(
        [S.QUOTE_OKAFOR, S.QUOTE_FALK]
    )


def test_without_embeddings_there_is_no_paraphrase_but_quotes_still_match() -> None:
    config = Config()
    a = prepare(S.article("a", S.original()), 0, config)
    b = prepare(S.article("b", S.paraphrased()), 1, config)
    assert a.embeddings is None and b.embeddings is None
    passages = align(a, b, config.align)
    assert {p.kind for p in passages} == {PassageKind.VERBATIM}
    quotes = sorted([S.QUOTE_OKAFOR, S.QUOTE_FALK])
    assert sorted(bare(a.text[p.a_start : p.a_end]) for p in passages) == quotes


# -- unrelated, stitched, citing ------------------------------------------------------------------------


def test_unrelated_story_shares_no_passage(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["unrelated"]
    assert aligned["unrelated"] == []
    assert cov(a, [], "a") == 0.0
    assert a.vector is not None and b.vector is not None
    assert float(a.vector @ b.vector) < 0.3


def test_stitched_article_shares_only_its_first_half(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["stitched"]
    passages = aligned["stitched"]
    dam_start = b.text.index(S.DAM_PARAGRAPHS[2][0])
    assert passages
    assert all(p.b_end <= dam_start for p in passages)
    assert cov(b, passages, "b") >= 0.9 * body_share(
        S.compose(S.PORT_PARAGRAPHS[:2]), S.compose(S.PORT_PARAGRAPHS[:2] + S.DAM_PARAGRAPHS[2:])
    )
    assert cov(a, passages, "a") < 0.6


def test_citing_rewrite_shares_the_quote(
    pairs: dict[str, tuple[PreparedDocument, PreparedDocument]], aligned: dict[str, list[Passage]]
) -> None:
    a, b = pairs["citing"]
    verbatim = [p for p in aligned["citing"] if p.kind is PassageKind.VERBATIM]
    assert [bare(b.text[p.b_start : p.b_end]) for p in verbatim] == [S.QUOTE_OKAFOR]
    assert cov(a, aligned["citing"], "a") < 0.3


# -- coverage -----------------------------------------------------------------------------------------


def test_coverage_counts_content_characters_once() -> None:
    config = Config()
    doc = prepare(S.article("a", S.original()), 0, config)
    assert coverage(doc, []) == 0.0
    assert coverage(doc, [(0, len(doc.text))]) == pytest.approx(1.0)
    body_start = doc.text.index(S.PORT_SENTENCES[0])
    first = S.PORT_SENTENCES[0]
    span = (body_start, body_start + len(first))
    once = coverage(doc, [span])
    expected = sum(1 for ch in first if not ch.isspace()) / doc.content_chars
    assert once == pytest.approx(expected)
    # Overlapping and repeated spans are not counted twice.
    assert coverage(doc, [span, span, (span[0] + 5, span[1] - 5)]) == pytest.approx(once)
    # The byline is boilerplate: covering it adds nothing.
    header = S.byline(S.ORIGINAL_OUTLET, S.ORIGINAL_AUTHOR)
    assert coverage(doc, [(0, len(header))]) == 0.0
    assert coverage(doc, [(0, span[1])]) == pytest.approx(once)


def test_content_chars_exclude_boilerplate() -> None:
    config = Config()
    with_lines = prepare(S.article("a", S.original()), 0, config)
    bare = prepare(S.article("b", S.original(outlet=None)), 1, config)
    assert with_lines.content_chars == bare.content_chars


# -- verbatim_runs against brute force ---------------------------------------------------------------


def _common_length(
    a: list[str], b: list[str], ab: list[int], bb: list[int], i: int, j: int, length: int
) -> int:
    """How far words a[i:] and b[j:] agree, staying in the blocks of a[i] and b[j], counting on from
    ``length`` words already known to agree."""
    while (
        i + length < len(a)
        and j + length < len(b)
        and a[i + length] == b[j + length]
        and ab[i + length] == ab[i]
        and bb[j + length] == bb[j]
    ):
        length += 1
    return length


def brute_force_runs(
    a: list[str], b: list[str], n: int, ab: list[int] | None = None, bb: list[int] | None = None
) -> set[Run]:
    """Every maximal common run of at least n words that stays inside one block on each side."""
    ab = ab or [0] * len(a)
    bb = bb or [0] * len(b)
    out = set()
    for i in range(len(a)):
        for j in range(len(b)):
            length = _common_length(a, b, ab, bb, i, j, 0)
            if length < n:
                continue
            extends_left = (
                i > 0 and j > 0 and a[i - 1] == b[j - 1] and ab[i - 1] == ab[i] and bb[j - 1] == bb[j]
            )
            if not extends_left:
                out.add(Run(i, j, length))
    return out


def longest_common_substring(a: list[str], b: list[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def _random_words(rng: random.Random, vocab: str, low: int, high: int) -> list[str]:
    return [rng.choice(vocab) for _ in range(rng.randint(low, high))]


def _random_blocks(rng: random.Random, length: int) -> list[int]:
    blocks, block = [], 0
    for _ in range(length):
        if rng.random() < 0.15:
            block += rng.randint(1, 3)
        blocks.append(block)
    return blocks


def _random_blocked_pair(
    rng: random.Random, vocab: str, high: int
) -> tuple[list[str], list[str], list[int], list[int]]:
    """Two random word lists of up to ``high`` words over ``vocab``, and random blocks for each."""
    a = _random_words(rng, vocab, 0, high)
    b = _random_words(rng, vocab, 0, high)
    return a, b, _random_blocks(rng, len(a)), _random_blocks(rng, len(b))


@pytest.mark.parametrize("seed", range(8))
def test_verbatim_runs_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        vocab = "abcd"[: rng.randint(2, 4)]
        a = _random_words(rng, vocab, 0, 30)
        b = _random_words(rng, vocab, 0, 30)
        n = rng.randint(1, 5)
        runs = verbatim_runs(a, b, n)
        assert len(runs) == len(set(runs))
        assert set(runs) == brute_force_runs(a, b, n), (a, b, n)
        lcs = longest_common_substring(a, b)
        if lcs >= n:
            assert max(r.length for r in runs) == lcs
        else:
            assert runs == []


@pytest.mark.parametrize("seed", range(8))
def test_verbatim_runs_never_cross_blocks(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(60):
        a, b, ab, bb = _random_blocked_pair(rng, "abc"[: rng.randint(2, 3)], 30)
        n = rng.randint(2, 4)
        runs = verbatim_runs(a, b, n, ab, bb)
        assert set(runs) == brute_force_runs(a, b, n, ab, bb), (a, b, ab, bb, n)
        for r in runs:
            assert a[r.i : r.i + r.length] == b[r.j : r.j + r.length]
            assert len(set(ab[r.i : r.i + r.length])) == 1
            assert len(set(bb[r.j : r.j + r.length])) == 1


def _dict_seeded_runs(a, b, n, ab, bb, max_positions):  # type: ignore[no-untyped-def]
    """The word-by-word implementation the array one replaced (tuples of words in a dict, at most
    ``max_positions`` positions of b per window): the reference for capped windows."""
    from collections import defaultdict

    ab = ab or [0] * len(a)
    bb = bb or [0] * len(b)
    where = defaultdict(list)
    for j in range(len(b) - n + 1):
        if bb[j] == bb[j + n - 1] and len(where[tuple(b[j : j + n])]) < max_positions:
            where[tuple(b[j : j + n])].append(j)
    runs = []
    for i in range(len(a) - n + 1):
        if ab[i] != ab[i + n - 1]:
            continue
        for j in where.get(tuple(a[i : i + n]), ()):
            if i and j and a[i - 1] == b[j - 1] and ab[i - 1] == ab[i] and bb[j - 1] == bb[j]:
                continue
            runs.append(Run(i, j, _common_length(a, b, ab, bb, i, j, n)))
    return runs


@pytest.mark.parametrize("seed", range(6))
def test_verbatim_runs_with_few_positions_per_window_equal_the_dict_version(seed: int) -> None:
    """Repetitive texts overflow the positions kept per window: the same runs, in the same order."""
    rng = random.Random(2000 + seed)
    for _ in range(40):
        a, b, ab, bb = _random_blocked_pair(rng, "ab"[: rng.randint(1, 2)], 40)
        n, cap = rng.randint(1, 3), rng.choice([1, 2, 3, 64])
        expected = _dict_seeded_runs(a, b, n, ab, bb, cap)
        assert verbatim_runs(a, b, n, ab, bb, max_positions=cap) == expected, (a, b, ab, bb, n, cap)
        assert verbatim_runs(word_hashes(a), word_hashes(b), n, ab, bb, max_positions=cap) == expected


def test_sentence_pair_prefilter_equals_word_set_dice() -> None:
    """The prefilter (hashed words, one matrix product) keeps exactly the sentence pairs whose word
    sets share a word and reach the Dice coefficient, computed here with Python sets."""
    from dedup.align import _lexical_candidates

    config = Config()
    texts = [S.original(), S.lightly_edited(), S.paraphrased(), S.trimmed(), S.dam_story()]
    docs = [prepare(S.article(f"d{k}", t), k, config) for k, t in enumerate(texts)]
    for a, b in itertools.combinations(docs, 2):
        for min_dice in (0.3, 0.6):
            got = _lexical_candidates(a, b, min_dice)
            for i, j in itertools.product(range(len(a.sentences)), range(len(b.sentences))):
                wa, wb = set(a.sentence_words(i)), set(b.sentence_words(j))
                common = len(wa & wb)
                want = common > 0 and 2 * common / (len(wa) + len(wb)) >= min_dice
                assert got[i, j] == want


def _random_text(rng: random.Random, vocabulary: list[str], sentences: list[str]) -> str:
    """Sentences of words drawn from a small vocabulary (many shared and repeated words), some of them
    taken whole from ``sentences`` (the same words in the same order in two articles)."""
    out = []
    for _ in range(rng.randint(1, 12)):
        if sentences and rng.random() < 0.3:
            out.append(rng.choice(sentences))
            continue
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 14))]
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        out.append(sentence)
    return " ".join(out)


@pytest.mark.parametrize("seed", range(5))
def test_sentence_pair_prefilter_and_same_sentences_equal_brute_force_on_random_texts(seed: int) -> None:
    """On random texts of a small vocabulary: the prefilter's pairs are those of the word-set Dice, and
    the "same sentence" pairs those with the same words in the same order, compared here directly."""
    from dedup.align import _lexical_candidates, _same_sentences

    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(rng.randint(3, 40))]
    shared: list[str] = []
    config = Config()
    docs = [prepare(S.article(f"r{k}", _random_text(rng, vocabulary, shared)), k, config) for k in range(6)]
    for a, b in itertools.combinations(docs, 2):
        words_a = [a.token_hashes[lo:hi] for lo, hi in a.sentence_tokens]
        words_b = [b.token_hashes[lo:hi] for lo, hi in b.sentence_tokens]
        same = _same_sentences(a, b)
        for min_dice in (0.0, 0.4, 0.8):
            got = _lexical_candidates(a, b, min_dice)
            for i, j in itertools.product(range(len(a.sentences)), range(len(b.sentences))):
                wa, wb = set(a.sentence_words(i)), set(b.sentence_words(j))
                common = len(wa & wb)
                assert got[i, j] == (common > 0 and 2 * common / (len(wa) + len(wb)) >= min_dice)
        for i, j in itertools.product(range(len(a.sentences)), range(len(b.sentences))):
            assert same[i, j] == (words_a[i].tolist() == words_b[j].tolist())


def test_verbatim_runs_examples() -> None:
    a = "the cat sat on the mat today".split()
    b = "yesterday the cat sat on the mat".split()
    assert verbatim_runs(a, b, 4) == [Run(0, 1, 6)]
    assert verbatim_runs(a, b, 7) == []
    assert verbatim_runs(a[:3], b, 4) == []
    assert verbatim_runs([], b, 1) == []
    # A block boundary after "sat" in a splits the run in two.
    blocks = [0, 0, 0, 1, 1, 1, 1]
    assert set(verbatim_runs(a, b, 2, blocks, None)) == {Run(0, 1, 3), Run(3, 4, 3)}
    assert verbatim_runs(a, b, 4, blocks, None) == []


def test_sequence_ratio() -> None:
    assert sequence_ratio([], []) == 1.0
    assert sequence_ratio(["a"], []) == 0.0
    assert sequence_ratio(["a", "b"], ["c", "d"]) == 0.0
    assert sequence_ratio(list("abcd"), list("abcd")) == 1.0
    assert sequence_ratio(list("abcd"), list("abxd")) == pytest.approx(0.75)
    assert sequence_ratio(list("abcdef"), list("abcd")) == pytest.approx(0.8)
    rng = random.Random(7)
    for _ in range(200):
        a = _random_words(rng, "abcde", 0, 12)
        b = _random_words(rng, "abcde", 0, 12)
        r = sequence_ratio(a, b)
        assert 0.0 <= r <= 1.0
        if a or b:
            assert r == pytest.approx(SequenceMatcher(None, a, b, autojunk=False).ratio())


def _disjoint_reference(runs: list[Run]) -> list[Run]:
    used_a: set[int] = set()
    used_b: set[int] = set()
    kept = []
    for r in sorted(runs, key=lambda r: (-r.length, r.i, r.j)):
        span_a, span_b = range(r.i, r.i + r.length), range(r.j, r.j + r.length)
        if any(x in used_a for x in span_a) or any(x in used_b for x in span_b):
            continue
        used_a.update(span_a)
        used_b.update(span_b)
        kept.append(r)
    return sorted(kept, key=lambda r: (r.i, r.j))


def test_disjoint_runs_keep_the_longest_greedily() -> None:
    """The compiled greedy choice equals a set-based one: longest first (ties: earliest in a, then
    b), nothing kept that overlaps a kept run on either side."""
    rng = random.Random(5)
    assert disjoint_runs([]) == []
    for _ in range(300):
        runs = [
            Run(rng.randint(0, 30), rng.randint(0, 30), rng.randint(1, 8)) for _ in range(rng.randint(1, 12))
        ]
        assert disjoint_runs(runs) == _disjoint_reference(runs)


def test_matching_blocks_summary_is_difflibs() -> None:
    """The compiled matching blocks are difflib's (no junk): the same words matched, the same first
    and last block, on sequences with many repeats and ties."""
    rng = random.Random(11)
    for _ in range(500):
        a = _random_words(rng, "abcd", 0, 40)
        b = _random_words(rng, "abcd", 0, 40)
        blocks = [m for m in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size]
        expected = (0, 0, 0, 0, 0)
        if blocks:
            first, last = blocks[0], blocks[-1]
            expected = (sum(m.size for m in blocks), first.a, first.b, last.a + last.size, last.b + last.size)
        assert matching_blocks_summary(a, b) == expected
        assert matching_blocks_summary(word_hashes(a), word_hashes(b)) == expected


def test_sequence_ratio_does_not_junk_frequent_words() -> None:
    # difflib's autojunk would ignore words in more than 1% of a 200+ word sequence: here it would
    # junk both words and find almost nothing in common (about 0.02).
    a = ["the", "x"] * 120
    b = list(a)
    b[5] = "y"
    assert SequenceMatcher(None, a, b).ratio() < 0.1
    assert sequence_ratio(a, b) > 0.95


def test_per_article_arrays_are_dropped_with_their_article() -> None:
    """The arrays alignment keeps per article go when the article leaves memory (an engine keeping few
    articles resident prepares them again as new objects): the cache holds live articles only."""
    import gc

    cache = _word_kinds.cache  # type: ignore[attr-defined]
    # Articles of earlier tests that are gone leave their entries until the next call: drop them first.
    gc.collect()
    warm = prepare(S.article("warm", S.original()), 8, Config())
    _word_kinds(warm)
    docs = [prepare(S.article(f"d{i}", S.original()), i, Config()) for i in range(5)]
    for doc in docs:
        _word_kinds(doc)
    assert sum(1 for key in cache if key() in docs) == 5
    before = len(cache)
    del doc
    docs.clear()
    gc.collect()
    keep = prepare(S.article("keep", S.original()), 9, Config())
    _word_kinds(keep)  # the next call drops the entries of articles gone
    assert len(cache) == before - 5 + 1
    assert all(key() is not None for key in cache)


_KIND_WORDS = st.sampled_from(
    ["Never", "isn't", "don't", "not", "12th", "3,5", "Oslo", "the", "rain", "Río", "émile", "Émile", "٣",
     "Ⅻ", "won't", "n't", "No.", "He", "said", "“Quote”", "A", "can't."]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_KIND_WORDS, min_size=1, max_size=9), min_size=1, max_size=6))
def test_word_kinds_from_the_arrays_are_those_of_the_words(sentences: list[list[str]]) -> None:
    """The kinds the alignment computes from an article's arrays (hashes, offsets) are
    ``paraphrase.word_kinds`` of its words, capitals, content words and sentence starts."""
    text = " ".join(" ".join(words) + "." for words in sentences)
    doc = prepare(S.article("k", text), 0, Config())
    words = doc.words.split()
    first = [False] * len(words)
    for lo, hi in doc.sentence_tokens:
        if hi > lo:
            first[lo] = True
    expected = word_kinds(
        words,
        [doc.text[p].isupper() for p in doc.token_starts.tolist()],
        [w not in STOP_WORDS for w in words],
        first,
    )
    _word_kinds.cache.clear()  # type: ignore[attr-defined]
    assert _word_kinds(doc).tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="ab é\n\t\u00a0\u2003\u3000\u2028\u3001x", min_size=1, max_size=80),
    st.integers(0, 80),
    st.integers(0, 80),
)
def test_coverage_counts_the_characters_that_are_not_white_space(text: str, lo: int, hi: int) -> None:
    """Coverage is the share of a text's characters that are not white space (any Unicode space) inside
    the spans: counted here character by character."""
    text = "Word " + text
    doc = prepare(S.article("w", text), 0, Config())
    assert not doc.boilerplate
    lo, hi = sorted((min(lo, len(text)), min(hi, len(text))))
    inside = sum(1 for c in text[lo:hi] if not c.isspace())
    assert coverage(doc, [(lo, hi)]) == pytest.approx(inside / sum(1 for c in text if not c.isspace()))
