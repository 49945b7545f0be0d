"""Tests of dedup.minhash: shingles, exact Jaccard, MinHash signatures and the LSH index, checked
against brute force on generated documents with controlled overlaps."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from datasketch import MinHash

from dedup.errors import ConfigError
from dedup.minhash import MemoryLsh, exact_jaccard, make_lsh, shingles, signatures

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
    assert all(isinstance(h, int) and 0 <= h < 2**32 for h in a)
    assert shingles(words[::-1], 2).isdisjoint(a)


def test_exact_jaccard() -> None:
    assert exact_jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(2 / 4)
    assert exact_jaccard({1}, {1}) == 1.0
    assert exact_jaccard({1}, {2}) == 0.0
    assert exact_jaccard(set(), {1}) == 0.0
    assert exact_jaccard(set(), set()) == 0.0


# --- signatures -----------------------------------------------------------------------------------


def test_same_seed_same_signature_different_seed_different() -> None:
    s = shingles(["one", "two", "three", "four", "five", "six", "seven"], 2)
    a = signatures([s], num_perm=64, seed=7)[0]
    b = signatures([set(s)], num_perm=64, seed=7)[0]
    c = signatures([s], num_perm=64, seed=8)[0]
    assert isinstance(a, MinHash)
    assert len(a.hashvalues) == 64
    assert np.array_equal(a.hashvalues, b.hashvalues)
    assert a.jaccard(b) == 1.0
    assert not np.array_equal(a.hashvalues, c.hashvalues)


def test_signature_does_not_depend_on_batch() -> None:
    sets = [shingles(f"doc {i} has some words in it".split(), 2) for i in range(5)]
    together = signatures(sets, num_perm=32, seed=3)
    alone = [signatures([s], num_perm=32, seed=3)[0] for s in sets]
    for x, y in zip(together, alone, strict=True):
        assert np.array_equal(x.hashvalues, y.hashvalues)


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
def corpus() -> tuple[list[set[int]], list[MinHash], dict[tuple[int, int], float]]:
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
    errors = np.array([abs(sigs[i].jaccard(sigs[j]) - j_exact) for (i, j), j_exact in exact.items()])
    assert (errors <= 0.15).mean() >= 0.99
    assert errors.mean() < 0.03
    # near-duplicates in particular
    close = [abs(sigs[i].jaccard(sigs[j]) - v) for (i, j), v in exact.items() if v >= 0.5]
    assert np.mean(np.array(close) <= 0.15) >= 0.95


def test_lsh_finds_near_duplicate_pairs(corpus) -> None:
    _, sigs, exact = corpus
    lsh = make_lsh("memory", threshold=0.5, num_perm=NUM_PERM)
    for key, sig in enumerate(sigs):
        lsh.insert(key, sig)
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


# --- the index contract ---------------------------------------------------------------------------


def _sig(words: str, seed: int = 1) -> MinHash:
    return signatures([shingles(words.split(), 2)], num_perm=NUM_PERM, seed=seed)[0]


def test_insert_query_remove_contains() -> None:
    lsh = make_lsh("memory", threshold=0.5, num_perm=NUM_PERM)
    assert isinstance(lsh, MemoryLsh)
    text = "the council approved a new cycling plan on tuesday after months of debate in the chamber"
    a = _sig(text)
    b = _sig(text)
    other = _sig("completely different words about football and the weather in spring time today")
    lsh.insert("a", a)
    lsh.insert("b", b)
    lsh.insert("other", other)
    assert "a" in lsh
    assert "missing" not in lsh
    assert sorted(lsh.query(a)) == ["a", "b"]

    lsh.remove("a")
    assert "a" not in lsh
    assert lsh.query(a) == ["b"]
    assert "a" not in lsh.query(b)
    lsh.remove("a")  # removing twice, or an unknown key, is not an error
    lsh.remove("never-inserted")
    lsh.remove("b")
    assert lsh.query(a) == []
    assert lsh.query(other) == ["other"]


@pytest.mark.parametrize("spec", ["memory", "memory://", "dict"])
def test_memory_backend_names(spec: str) -> None:
    assert isinstance(make_lsh(spec, threshold=0.5, num_perm=64), MemoryLsh)


@pytest.mark.parametrize("spec", ["redis", "", "Memory", "cassandra://host"])
def test_unknown_backend_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="unknown LSH backend"):
        make_lsh(spec, threshold=0.5, num_perm=64)
