"""Tests of dedup.minhash: shingles, exact Jaccard, MinHash signatures and the LSH index, checked
against brute force on generated documents with controlled overlaps."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.article_index import hits_by_distinct_row
from dedup.errors import ConfigError
from dedup.minhash import (
    BandedLsh,
    DatasketchLsh,
    _ranges,
    _run,
    estimate_jaccard,
    exact_jaccard,
    expand_ranges,
    group_rows,
    lsh_params,
    make_lsh,
    shingle_hashes,
    shingle_set,
    shingles,
    signatures,
    text_word_hashes,
    word_hashes,
)
from dedup.normalize import fold_text, normalize_text
from dedup.segment import tokenize

NUM_PERM = 128
SHINGLE = 2


# --- shingles and exact Jaccard -------------------------------------------------------------------


def test_shingle_counts() -> None:
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    assert len(shingles(words, 3)) == len(words) - 3 + 1
    assert len(shingles(words, 1)) == len(set(words))  # "the" twice
    assert shingles([], 3) == set()
    # fewer words than k: one shingle of all words, the same as k == len(words)
    assert shingles(words[:2], 5) == shingles(words[:2], 2)
    assert len(shingles(words[:2], 5)) == 1


def test_shingles_are_deterministic_ints_and_order_sensitive() -> None:
    words = ["alpha", "beta", "gamma", "delta"]
    a = shingles(words, 2)
    assert a == shingles(list(words), 2)
    assert all(isinstance(h, int) and 0 <= h < 2**64 for h in a)
    assert shingles(words[::-1], 2).isdisjoint(a)


def test_exact_jaccard() -> None:
    assert exact_jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(2 / 4)
    assert exact_jaccard({1}, {1}) == 1.0
    assert exact_jaccard({1}, {2}) == 0.0
    assert exact_jaccard(set(), {1}) == 0.0
    assert exact_jaccard(set(), set()) == 0.0


@given(
    st.sets(st.integers(0, 2**64 - 1), max_size=40),
    st.sets(st.integers(0, 2**64 - 1), max_size=40),
    st.sets(st.integers(0, 2**64 - 1), max_size=20),
)
@settings(max_examples=200, deadline=None)
def test_exact_jaccard_of_sorted_arrays_equals_that_of_sets(a: set[int], b: set[int], both: set[int]) -> None:
    a, b = a | both, b | both
    arr = {name: np.array(sorted(x), dtype=np.uint64) for name, x in (("a", a), ("b", b))}
    assert exact_jaccard(arr["a"], arr["b"]) == pytest.approx(exact_jaccard(a, b))
    assert exact_jaccard(a, arr["b"]) == pytest.approx(exact_jaccard(a, b))


def test_shingle_set_is_shingles_sorted() -> None:
    words = "the cat sat on the mat and the cat sat on the mat again".split()
    got = shingle_set(words, 3)
    assert got.dtype == np.uint64 and list(got) == sorted(shingles(words, 3))


# --- words ---------------------------------------------------------------------------------------


@given(
    st.text(
        alphabet=st.sampled_from(
            list("ab c'\u2019-.,_9é\u00a0\n\"\u2014\u0301\u4e2d\u03b1\u00b2\u00bd\u20ac\u00d7\u200b")
        ),
        max_size=60,
    )
)
@settings(max_examples=300, deadline=None)
def test_fast_word_hashes_equal_the_tokeniser_words(text: str) -> None:
    """The lexical tier cuts words out of the UTF-8 bytes of a text without a regex: the words must be
    exactly the ones dedup.segment's tokeniser finds, or fast signatures would disagree with it."""
    norm = normalize_text(text)
    words = [t.text for t in tokenize(text)]
    assert np.array_equal(text_word_hashes(norm), word_hashes(words))
    assert np.array_equal(text_word_hashes(fold_text(text)), word_hashes(words))  # white space not collapsed


def test_word_hashes_of_ascii_and_unicode_text() -> None:
    for text in ["don't 'quoted' a''b rock'n'roll x_y 3.5% $40", "café au lait, l'été", "'", ""]:
        norm = normalize_text(text)
        assert np.array_equal(text_word_hashes(norm), word_hashes([t.text for t in tokenize(text)]))
    assert len(text_word_hashes("it's 10 o'clock -- yes!")) == 4


def test_shingle_hashes_from_words_or_their_hashes() -> None:
    words = "a council approved the plan on tuesday".split()
    assert np.array_equal(shingle_hashes(words, 3), shingle_hashes(word_hashes(words), 3))
    assert len(shingle_hashes(words, 3)) == len(words) - 2
    assert shingle_hashes([], 3).dtype == np.uint64


_M64 = (1 << 64) - 1


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def _word_hash_int(word: str) -> int:
    h = 0xCBF29CE484222325
    for byte in word.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & _M64
    return _fmix64_int(h ^ len(word.encode("utf-8")))


@given(st.lists(st.text(min_size=1, max_size=12), max_size=20), st.integers(1, 6))
@settings(max_examples=100, deadline=None)
def test_compiled_hashes_follow_their_definition(words: list[str], k: int) -> None:
    """Word and shingle hashes are what saved indexes hold (``HASH_VERSION``): the compiled loops must
    compute exactly the documented functions, with 64-bit wrap-around."""
    hashes = [_word_hash_int(w) for w in words]
    assert word_hashes(words).tolist() == hashes
    width = min(k, len(hashes))
    expected = []
    for i in range(len(hashes) - width + 1 if hashes else 0):
        h = hashes[i]
        for j in range(1, width):
            h = (h * 0x9E3779B97F4A7C15 + hashes[i + j]) & _M64
        expected.append(_fmix64_int((h + width) & _M64))
    assert shingle_hashes(words, k).tolist() == expected


# --- signatures -----------------------------------------------------------------------------------


def test_same_seed_same_signature_different_seed_different() -> None:
    s = shingles(["one", "two", "three", "four", "five", "six", "seven"], 2)
    a = signatures([s], num_perm=64, seed=7)[0]
    b = signatures([set(s)], num_perm=64, seed=7)[0]
    c = signatures([s], num_perm=64, seed=8)[0]
    assert a.dtype == np.uint32 and a.shape == (64,)
    assert np.array_equal(a, b)
    assert estimate_jaccard(a, b) == 1.0
    assert not np.array_equal(a, c)


def test_signatures_equal_datasketch_minhash() -> None:
    """The vectorised signature is datasketch's affine32 MinHash of the same 32-bit shingle hashes."""
    h = shingle_hashes("the port strike ended on friday when the union accepted the offer".split(), 3)
    top = [int(x) >> 32 for x in h.tolist()]
    for num_perm, seed in ((128, 1), (64, 7)):
        theirs = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: x, scheme="affine32")
        theirs.update_batch(top)
        assert np.array_equal(signatures([h], num_perm=num_perm, seed=seed)[0], theirs.hashvalues)


def test_signature_does_not_depend_on_batch_or_on_repeats() -> None:
    sets = [shingles(f"doc {i} has some words in it".split(), 2) for i in range(5)]
    together = signatures(sets, num_perm=32, seed=3)
    alone = [signatures([s], num_perm=32, seed=3)[0] for s in sets]
    for x, y in zip(together, alone, strict=True):
        assert np.array_equal(x, y)
    h = shingle_hashes("x y x y x y z".split(), 2)  # repeated shingles: the same set
    assert np.array_equal(signatures([h])[0], signatures([set(h.tolist())])[0])


def test_long_sets_are_signed_in_blocks_like_short_ones() -> None:
    rng = np.random.default_rng(5)
    h = rng.integers(0, 2**63, size=10_000, dtype=np.uint64)
    whole = signatures([h])[0]
    halves = np.minimum(signatures([h[:5000]])[0], signatures([h[5000:]])[0])
    assert np.array_equal(whole, halves)


# --- brute force against generated documents ------------------------------------------------------


def _corpus(seed: int = 20240531) -> list[list[str]]:
    """40 families of 5 documents: a base text and copies with 0-45 % of the words replaced."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    docs: list[list[str]] = []
    for _ in range(40):
        base = [rng.choice(vocab) for _ in range(rng.randint(30, 60))]
        docs.append(base)
        for rate in (0.0, 0.03, 0.1, 0.2, 0.45)[rng.randint(0, 1) :][:4]:
            copy = [rng.choice(vocab) if rng.random() < rate else w for w in base]
            docs.append(copy)
    return docs


@pytest.fixture(scope="module")
def corpus() -> tuple[list[set[int]], np.ndarray, dict[tuple[int, int], float]]:
    docs = _corpus()
    assert len(docs) == 200
    sets = [shingles(d, SHINGLE) for d in docs]
    sigs = signatures(sets, num_perm=NUM_PERM, seed=1)
    exact = {(i, j): exact_jaccard(sets[i], sets[j]) for i, j in itertools.combinations(range(len(sets)), 2)}
    return sets, sigs, exact


def test_generated_corpus_has_pairs_across_the_range(corpus) -> None:
    _, _, exact = corpus
    values = list(exact.values())
    assert sum(v >= 0.7 for v in values) >= 60
    assert sum(0.2 <= v < 0.7 for v in values) >= 20
    assert sum(v < 0.1 for v in values) >= 15000


def test_minhash_estimate_is_close_to_exact_jaccard(corpus) -> None:
    _, sigs, exact = corpus
    errors = np.array([abs(estimate_jaccard(sigs[i], sigs[j]) - v) for (i, j), v in exact.items()])
    assert (errors <= 0.15).mean() >= 0.99
    assert errors.mean() < 0.03
    # near-duplicates in particular
    close = [abs(estimate_jaccard(sigs[i], sigs[j]) - v) for (i, j), v in exact.items() if v >= 0.5]
    assert np.mean(np.array(close) <= 0.15) >= 0.95


def test_minhash_estimate_is_unbiased() -> None:
    """Over many random pairs at a known Jaccard, the mean estimate is the true value and the spread
    is what independent permutations give (binomial): the affine permutations are not correlated."""
    rng = np.random.default_rng(11)
    estimates = []
    for _ in range(300):
        common = rng.integers(0, 2**63, size=60, dtype=np.uint64)
        a = np.concatenate([common, rng.integers(0, 2**63, size=20, dtype=np.uint64)])
        b = np.concatenate([common, rng.integers(0, 2**63, size=20, dtype=np.uint64)])
        sa, sb = signatures([a, b], num_perm=NUM_PERM, seed=int(rng.integers(1000)))
        estimates.append(estimate_jaccard(sa, sb))
    true = 60 / 100
    assert abs(np.mean(estimates) - true) < 0.01
    assert np.std(estimates) < 1.25 * np.sqrt(true * (1 - true) / NUM_PERM)


@pytest.mark.parametrize("spec", ["memory", "datasketch"])
def test_lsh_finds_near_duplicate_pairs(corpus, spec: str) -> None:
    _, sigs, exact = corpus
    lsh = make_lsh(spec, threshold=0.5, num_perm=NUM_PERM)
    for key, sig in enumerate(sigs):
        lsh.insert(key, sig)
    assert len(lsh) == len(sigs)
    candidates: set[tuple[int, int]] = set()
    for key, sig in enumerate(sigs):
        found = lsh.query(sig)
        assert key in found  # a document always finds itself
        candidates.update((min(key, other), max(key, other)) for other in found if other != key)

    similar = [pair for pair, v in exact.items() if v >= 0.7]
    recall = sum(pair in candidates for pair in similar) / len(similar)
    assert recall >= 0.95, recall

    # and it does not return everything: unrelated pairs are rarely candidates
    unrelated = [pair for pair, v in exact.items() if v < 0.1]
    false_rate = sum(pair in candidates for pair in unrelated) / len(unrelated)
    assert false_rate < 0.01, false_rate


def test_banded_lsh_answers_like_datasketch(corpus) -> None:
    """Same bands and rows as datasketch's MinHashLSH: both give the same candidates (up to hash
    collisions between bands, which 64-bit band keys make vanishingly rare)."""
    _, sigs, _ = corpus
    ours, theirs = BandedLsh(0.3, NUM_PERM, buffer_limit=500), DatasketchLsh(0.3, NUM_PERM)
    for key, sig in enumerate(sigs):
        ours.insert(key, sig)
        theirs.insert(key, sig)
    for sig in sigs:
        assert sorted(ours.query(sig)) == sorted(theirs.query(sig))
    assert [sorted(x) for x in ours.query_many(sigs)] == [sorted(theirs.query(s)) for s in sigs]


def test_bulk_insert_answers_like_one_by_one(corpus) -> None:
    _, sigs, _ = corpus
    one, bulk = BandedLsh(0.5, NUM_PERM, buffer_limit=64), BandedLsh(0.5, NUM_PERM)
    for key, sig in enumerate(sigs):
        one.insert(key, sig)
    bulk.insert_many(list(range(100)), sigs[:100])
    bulk.insert_many(list(range(100, len(sigs))), sigs[100:])
    for sig in sigs:
        assert sorted(one.query(sig)) == sorted(bulk.query(sig))


def test_many_runs_answer_like_datasketch_and_remove_across_runs(corpus) -> None:
    """Small batches make many sorted runs (merged log-structured): answers stay datasketch's, and a
    key removed from any run, or re-inserted with a new signature, is answered correctly."""
    _, sigs, _ = corpus
    ours, theirs = BandedLsh(0.3, NUM_PERM, buffer_limit=40), DatasketchLsh(0.3, NUM_PERM)
    for lo in range(0, len(sigs), 7):
        keys = list(range(lo, min(lo + 7, len(sigs))))
        ours.insert_many(keys, sigs[lo : lo + 7])
        theirs.insert_many(keys, sigs[lo : lo + 7])
    assert len(ours._runs) > 1
    sizes = [len(run.keys) for run in ours._runs]
    assert all(
        r.hashes.size and np.all(r.hashes[1:] >= r.hashes[:-1]) for r in ours._runs
    )  # every run sorted
    assert sum(sizes) == len(sigs) * ours.bands
    for key in range(0, len(sigs), 5):  # keys from every run
        ours.remove(key, sigs[key])
        theirs.remove(key, sigs[key])
    ours.insert(0, sigs[1])
    theirs.insert(0, sigs[1])
    assert len(ours) == len(theirs)
    assert [sorted(x) for x in ours.query_many(sigs)] == [sorted(theirs.query(s)) for s in sigs]


@settings(max_examples=25, deadline=None)
@given(
    removed=st.lists(st.integers(0, 130), max_size=60, unique=True),
    buffer_limit=st.sampled_from([40, 400, 1 << 17]),
)
def test_removing_many_at_once_is_removing_them_one_by_one(
    corpus, removed: list[int], buffer_limit: int
) -> None:
    """Keys in sorted runs, in the buffer, already removed or never inserted: ``remove_many`` leaves the
    index answering as ``remove`` of each does (and as datasketch does)."""
    _, sigs, _ = corpus
    n = min(len(sigs), 120)
    bulk, single = BandedLsh(0.3, NUM_PERM, buffer_limit), BandedLsh(0.3, NUM_PERM, buffer_limit)
    theirs = DatasketchLsh(0.3, NUM_PERM)
    for lo in range(0, n, 9):
        keys = list(range(lo, min(lo + 9, n)))
        for lsh in (bulk, single, theirs):
            lsh.insert_many(keys, sigs[lo : lo + len(keys)])
    first = removed[0] if removed else 0  # removed before, then again among the many
    for lsh in (bulk, single, theirs):
        lsh.remove(first, sigs[first])
    rows = np.vstack([sigs[k % len(sigs)] for k in removed]) if removed else sigs[:0]
    bulk.remove_many(removed, rows)
    for k, row in zip(removed, rows, strict=True):
        single.remove(k, row)
    theirs.remove_many(removed, rows)
    assert len(bulk) == len(single) == len(theirs)
    expected = [sorted(theirs.query(s)) for s in sigs[:n]]
    assert [sorted(x) for x in bulk.query_many(sigs[:n])] == expected
    assert [sorted(x) for x in single.query_many(sigs[:n])] == expected


@pytest.mark.parametrize("spec", ["memory", "datasketch"])
def test_query_pairs_is_query_many_flattened(corpus, spec: str) -> None:
    _, sigs, _ = corpus
    lsh = make_lsh(spec, 0.3, NUM_PERM)
    lsh.insert_many(list(range(0, len(sigs), 2)), sigs[::2])
    rows, keys = lsh.query_pairs(sigs)
    expected = [(r, k) for r, found in enumerate(lsh.query_many(sigs)) for k in sorted(found)]
    assert list(zip(rows.tolist(), keys.tolist(), strict=True)) == expected


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=8))
def test_expand_ranges_concatenates_the_ranges(ranges: list[tuple[int, int]]) -> None:
    starts = np.array([a for a, _ in ranges], dtype=np.int64)
    counts = np.array([c for _, c in ranges], dtype=np.int64)
    expected = [p for a, c in ranges for p in range(a, a + c)]
    assert expand_ranges(starts, counts).tolist() == expected


def test_group_rows_gives_every_row_its_values() -> None:
    rows = np.array([0, 0, 2, 4, 4, 4])
    assert group_rows(6, rows, list("abcdef")) == [["a", "b"], [], ["c"], [], ["d", "e", "f"], []]
    assert group_rows(2, np.zeros(0, dtype=np.int64), []) == [[], []]


def test_lsh_params_are_datasketchs() -> None:
    assert lsh_params(0.5, 128) == (25, 5)
    b, r = lsh_params(0.2, 128)
    assert b * r <= 128
    with pytest.raises(ConfigError):
        lsh_params(1.5, 128)
    with pytest.raises(ConfigError):
        lsh_params(0.5, 0)


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
def test_lsh_params_equal_datasketchs_choice_over_thresholds(num_perm: int) -> None:
    """The bands and rows are the ones datasketch's ``MinHashLSH`` picks for the same threshold, so
    the two backends (and the baselines beside them) band signatures alike."""
    from datasketch import MinHashLSH

    for threshold in [round(0.05 + 0.03 * i, 2) for i in range(31)]:
        try:
            theirs = MinHashLSH(threshold=threshold, num_perm=num_perm)
        except ValueError:  # datasketch refuses a single band; its choice was one band
            assert lsh_params(threshold, num_perm)[0] == 1, threshold
            continue
        assert lsh_params(threshold, num_perm) == (theirs.b, theirs.r), threshold


# --- the index contract ---------------------------------------------------------------------------


def _sig(words: str, seed: int = 1) -> np.ndarray:
    return signatures([shingles(words.split(), 2)], num_perm=NUM_PERM, seed=seed)[0]


@pytest.mark.parametrize("spec", ["memory", "datasketch"])
@pytest.mark.parametrize("merge_every", [1, 1000])
def test_insert_query_remove(spec: str, merge_every: int) -> None:
    lsh = make_lsh(spec, threshold=0.5, num_perm=NUM_PERM)
    if isinstance(lsh, BandedLsh):
        lsh.buffer_limit = merge_every  # 1: every insert is merged into the arrays at once
    text = "the council approved a new cycling plan on tuesday after months of debate in the chamber"
    a = _sig(text)
    b = _sig(text)
    other = _sig("completely different words about football and the weather in spring time today")
    lsh.insert(1, a)
    lsh.insert(2, b)
    lsh.insert(3, other)
    assert len(lsh) == 3
    assert sorted(lsh.query(a)) == [1, 2]

    lsh.remove(1, a)
    assert len(lsh) == 2
    assert lsh.query(a) == [2]
    assert 1 not in lsh.query(b)
    lsh.remove(1, a)  # removing twice, or an unknown key, is not an error
    lsh.remove(99, other)
    assert len(lsh) == 2
    lsh.remove(2, b)
    assert lsh.query(a) == []
    assert lsh.query(other) == [3]
    lsh.insert(1, other)  # a key can come back, with another signature
    assert sorted(lsh.query(other)) == [1, 3]
    assert lsh.query(a) == []


def test_banded_lsh_is_saved_as_plain_arrays() -> None:
    """``export`` gives arrays of numbers only (runs, buffer, removed keys); ``restore`` on a fresh index
    answers as the original, and refuses the state of an index with other bands."""
    lsh = BandedLsh(0.5, NUM_PERM, buffer_limit=60)
    sigs = [_sig(f"story number {i} about the harbour strike and the union vote") for i in range(10)]
    for key, sig in enumerate(sigs):
        lsh.insert(key, sig)  # some flushed into runs, some still in the buffer
    lsh.remove(3, sigs[3])
    state = lsh.export()
    assert lsh._runs and lsh._buffer and lsh._dead
    assert all(isinstance(a, np.ndarray) and not a.dtype.hasobject for a in state.values())
    copy = BandedLsh(0.5, NUM_PERM, buffer_limit=60)
    copy.restore(state)
    assert len(copy) == len(lsh) == 9
    for sig in sigs:
        assert sorted(copy.query(sig)) == sorted(lsh.query(sig))
    copy.insert(50, sigs[0])
    assert 50 in copy.query(sigs[0])
    with pytest.raises(ValueError, match="bands"):
        BandedLsh(0.8, NUM_PERM).restore(state)
    unsorted = dict(state, hashes0=state["hashes0"][::-1].copy())
    with pytest.raises(ValueError, match="sorted"):
        BandedLsh(0.5, NUM_PERM).restore(unsorted)


def test_wrong_signature_length_is_a_config_error() -> None:
    lsh = BandedLsh(0.5, NUM_PERM)
    with pytest.raises(ConfigError, match="permutations"):
        lsh.insert(1, np.zeros(64, dtype=np.uint32))


@pytest.mark.parametrize(
    "spec,kind", [("memory", BandedLsh), ("memory://", BandedLsh), ("datasketch", DatasketchLsh)]
)
def test_backend_names(spec: str, kind: type) -> None:
    assert isinstance(make_lsh(spec, threshold=0.5, num_perm=64), kind)


@pytest.mark.parametrize("spec", ["redis", "", "Memory", "cassandra://host"])
def test_unknown_backend_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="unknown LSH backend"):
        make_lsh(spec, threshold=0.5, num_perm=64)


@pytest.mark.parametrize("spec", ["memory", "datasketch"])
def test_a_limited_query_gathers_the_first_rows_hits_and_no_more(spec: str) -> None:
    """A thousand stored copies of one sentence: each row of a query finds all of them. ``limit`` stops
    the gathering after that many entries, the first rows' first; no limit finds everything."""
    lsh = make_lsh(spec, 0.5, NUM_PERM)
    sig = _sig("the harbour board approved the crane repair plan today")
    lsh.insert_many(list(range(1000)), np.repeat(sig[None, :], 1000, axis=0))
    lsh.insert(5000, _sig("a different sentence about a beetle in a limestone cave"))  # in the buffer
    query = np.repeat(sig[None, :], 4, axis=0)
    rows, keys = lsh.query_pairs(query)
    assert len(rows) == 4000 and set(keys.tolist()) == set(range(1000))
    if spec == "memory":  # entries are (row, band, key): the first row's bands hold 1000 each
        rows, keys = lsh.query_pairs(query, limit=1000 * lsh_params(0.5, NUM_PERM)[0] + 1)
        assert rows.tolist() == [0] * 1000 and sorted(keys.tolist()) == list(range(1000))
    rows, _ = lsh.query_pairs(query, limit=0)
    assert len(rows) == 0
    assert [len(hits) for hits in lsh.query_many(query, limit=1000)] == [1000, 0, 0, 0]


def test_removed_keys_entries_are_dropped_once_they_are_a_quarter_of_the_runs(corpus) -> None:
    _, sigs, _ = corpus
    lsh = BandedLsh(0.3, NUM_PERM, buffer_limit=40)
    lsh.insert_many(list(range(100)), sigs[:100])
    held = sum(len(run.keys) for run in lsh._runs)
    assert held == 100 * lsh.bands
    lsh.remove_many(list(range(20)), sigs[:20])  # a fifth: kept, filtered out of answers
    assert sum(len(run.keys) for run in lsh._runs) == held and len(lsh._dead) == 20
    assert not set(lsh.query_many(sigs[:100])[0]) & set(range(20))
    for key in range(20, 25):  # a quarter: dropped from the runs
        lsh.remove(key, sigs[key])
    assert not lsh._dead and sum(len(run.keys) for run in lsh._runs) == 75 * lsh.bands
    fresh = BandedLsh(0.3, NUM_PERM)
    fresh.insert_many(list(range(25, 100)), sigs[25:100])
    assert [sorted(x) for x in lsh.query_many(sigs)] == [sorted(x) for x in fresh.query_many(sigs)]


@given(rows=st.lists(st.integers(0, 3), max_size=12))
@settings(max_examples=200, deadline=None)
def test_hits_by_distinct_row_looks_each_distinct_row_up_once_in_order(rows: list[int]) -> None:
    """Equal sentences (equal signature rows) are looked up once, the distinct ones in order of first
    appearance, and every row gets its own row's hits."""
    table = np.array([[7, 7], [1, 2], [2, 1], [9, 0]], dtype=np.uint32)
    signatures = table[rows].reshape(len(rows), 2)
    asked: list[list[tuple[int, ...]]] = []

    def lookup(matrix: np.ndarray) -> list[list[int]]:
        asked.append([tuple(r) for r in matrix.tolist()])
        return [[int(r[0]) * 10 + int(r[1])] for r in matrix]

    found = hits_by_distinct_row(signatures, lookup)
    assert found == [[int(table[r][0]) * 10 + int(table[r][1])] for r in rows]
    assert asked == ([list(dict.fromkeys(tuple(table[r].tolist()) for r in rows))] if rows else [])


_HASH = st.one_of(
    st.integers(0, 2**64 - 1),
    st.integers(0, 40),  # the first bucket, and hashes held many times
    st.integers(2**64 - 40, 2**64 - 1),  # the last bucket
    st.integers(2**63 - 20, 2**63 + 20),  # a bucket boundary at every size
)


@settings(max_examples=200, deadline=None)
@given(held=st.lists(_HASH, max_size=300), wanted=st.lists(_HASH, max_size=60))
def test_a_runs_bucket_directory_finds_what_a_binary_search_of_the_whole_run_finds(
    held: list[int], wanted: list[int]
) -> None:
    """A run's lookup searches one bucket of its directory: the same ranges as searching it all."""
    hashes = np.sort(np.array(held, dtype=np.uint64))
    run = _run(hashes, np.arange(len(hashes), dtype=np.int64))
    want = np.array(wanted + held[:10], dtype=np.uint64)
    lo, hi = _ranges(run.hashes, run.starts, run.shift, want)
    assert lo.tolist() == np.searchsorted(hashes, want, side="left").tolist()
    assert hi.tolist() == np.searchsorted(hashes, want, side="right").tolist()
