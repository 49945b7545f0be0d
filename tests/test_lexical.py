"""The lexical tier alone (dedup.lexical): near-copies found in arrival order, checked against exact
Jaccard; signatures the same as the engine's and the same in worker processes."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from dedup.article import Article
from dedup.config import Config
from dedup.document import prepare
from dedup.errors import InvalidArgument
from dedup.lexical import LexicalIndex, sign_texts
from dedup.minhash import exact_jaccard, shingles, signatures
from dedup.segment import tokenize


def _texts(seed: int = 3) -> list[str]:
    """30 stories of 120 words, each followed by copies with 2 %, 10 % and 40 % of the words changed."""
    rng = random.Random(seed)
    vocab = [f"word{i}" for i in range(5000)]
    out = []
    for _ in range(30):
        base = [rng.choice(vocab) for _ in range(120)]
        out.append(" ".join(base))
        for rate in (0.02, 0.1, 0.4):
            out.append(" ".join(rng.choice(vocab) if rng.random() < rate else w for w in base))
    return out


def test_near_copies_are_found_against_earlier_texts_like_brute_force() -> None:
    texts = _texts()
    index = LexicalIndex(threshold=0.5)
    found = index.add_many(list(range(len(texts))), texts)
    sets = [shingles([t.text for t in tokenize(x)], 5) for x in texts]
    for i, hits in enumerate(found):
        assert all(j < i for j, _ in hits), "a text is matched only against texts stored before it"
    pairs = {(j, i) for i, hits in enumerate(found) for j, _ in hits}
    exact = {(j, i): exact_jaccard(sets[j], sets[i]) for j, i in itertools.combinations(range(len(texts)), 2)}
    similar = {p for p, v in exact.items() if v >= 0.7}
    assert len(similar) >= 25
    assert len(similar & pairs) / len(similar) >= 0.95
    unrelated = {p for p, v in exact.items() if v < 0.1}
    assert len(unrelated & pairs) / len(unrelated) < 0.01
    errors = []
    for i, hits in enumerate(found):  # estimates are close, and best first
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        errors.extend(abs(score - exact[(j, i)]) for j, score in hits)
    assert max(errors) <= 0.2  # 128 permutations: the standard error is at most 0.045
    assert np.mean(errors) <= 0.05


def test_one_batch_answers_like_one_text_at_a_time() -> None:
    """A batch is matched as arrays, but each text still sees exactly the texts before it."""
    texts = _texts(5)
    keys = [1000 - 7 * i for i in range(len(texts))]  # keys in no particular order
    batch, single = LexicalIndex(threshold=0.5), LexicalIndex(threshold=0.5)
    batch.add_many(keys[:10], texts[:10])
    single.add_many(keys[:10], texts[:10])
    got = batch.add_many(keys[10:], texts[10:])
    want = [single.add(k, t) for k, t in zip(keys[10:], texts[10:], strict=True)]
    assert got == want
    assert sum(map(len, got)) > 20  # the batch did find copies, inside itself and before it


def test_freed_rows_are_reused_and_keep_their_signatures() -> None:
    texts = _texts(6)[:12]
    index = LexicalIndex(threshold=0.5)
    index.add_many(list(range(6)), texts[:6])
    index.remove(2)
    index.remove(4)
    index.add_many([20, 21, 22], texts[6:9])  # two freed rows, then one new one
    assert len(index) == 7
    for key, text in zip(
        [0, 1, 3, 5, 20, 21, 22], [*texts[:2], texts[3], texts[5], *texts[6:9]], strict=True
    ):
        assert index.query(text)[0] == (key, 1.0)


def test_query_does_not_store_and_remove_forgets() -> None:
    texts = _texts()[:8]
    index = LexicalIndex(threshold=0.5)
    index.add_many(list(range(4)), texts[:4])
    assert len(index) == 4
    hits = index.query(texts[1])
    assert hits[0] == (1, 1.0)
    assert len(index) == 4
    index.remove(1)
    index.remove(1)  # twice is not an error
    assert 1 not in [k for k, _ in index.query(texts[1])]
    assert index.add(1, texts[1])[0][0] == 0  # the key can be used again; text 1 copies text 0


def test_bad_input_says_what_to_fix() -> None:
    index = LexicalIndex()
    index.add(7, "the harbour strike ended on friday after the union accepted the offer")
    with pytest.raises(InvalidArgument, match="already in the lexical index"):
        index.add(7, "another text")
    with pytest.raises(InvalidArgument, match="given twice in one batch"):
        index.add_many([8, 8], ["one text", "another"])
    assert len(index) == 1  # a refused batch stores nothing
    with pytest.raises(InvalidArgument, match="one key per text"):
        index.add_many([1, 2], ["only one text"])


def test_a_text_without_words_matches_nothing() -> None:
    index = LexicalIndex()
    assert index.add(1, "... --- !!!") == []
    assert index.add(2, "... --- !!!") == []
    assert len(index) == 2


def test_signatures_are_the_engines_document_signatures() -> None:
    """The lexical tier and the engine sign a text the same way (for a text with no boilerplate)."""
    config = Config()
    text = (
        "The port authority said on Tuesday that the strike had ended.\n\n"
        "\u201cWe are back at work,\u201d said Ana D\u00edaz, a crane operator \u2014 after 11 days."
    )
    doc = prepare(Article("a", text), 1, config)
    mh = config.minhash
    expected = signatures([doc.doc_shingles], mh.num_perm, mh.seed)[0]
    assert np.array_equal(sign_texts([text], mh.doc_shingle, mh.num_perm, mh.seed)[0], expected)


def test_worker_processes_sign_the_same() -> None:
    texts = _texts()[:80]
    one, two = LexicalIndex(workers=1), LexicalIndex(workers=2)
    try:
        assert np.array_equal(one.signatures(texts), two.signatures(texts))
        # signed in many chunks while earlier ones are matched: the same answers as one process
        assert two.add_many(list(range(80)), texts) == one.add_many(list(range(80)), texts)
    finally:
        two.close()
