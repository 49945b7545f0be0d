"""The article vectors in Redis (``dedup.redis_vectors``): below the training size the answers are the
in-process flat index's, scores and order; once trained, most of the exact nearest are found; what a
removal takes out is never found again and leaves no list behind; writers that have not seen the
training yet lose nothing; two replicas training at once end with one set of centroids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.redis_store import RedisStore
from dedup.redis_vectors import RedisVectors, list_count
from dedup.vectors import FlatIndex
from tests.redis_server import RedisCluster3, RedisServer

DIM = 16
CAPACITY = 5_000  # 16 lists, trained at 1,024 vectors, 4 probed


@pytest.fixture
def store(any_redis: RedisServer | RedisCluster3) -> Iterator[RedisStore]:
    s = RedisStore(f"{any_redis.url}?prefix=v{uuid.uuid4().hex[:10]}&index_capacity={CAPACITY}")
    yield s
    s.close()


def _run(store: RedisStore, calls: Sequence[tuple[str, Sequence[Any], Sequence[Any]]]) -> None:
    pipe = store.pipeline(transaction=True)
    for script, keys, args in calls:
        pipe.eval(script, len(keys), *keys, *args)
    pipe.execute()


def _clustered(seed: int, n: int, centres: int = 40) -> np.ndarray:
    """``n`` unit vectors around ``centres`` random directions, as news stories' vectors are (seeded)."""
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((centres, DIM)).astype(np.float32)
    v = centre[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _flat(ids: Sequence[int], vectors: np.ndarray) -> FlatIndex:
    flat = FlatIndex(DIM)
    if len(ids):
        flat.add(np.asarray(ids, dtype=np.int64), vectors)
    return flat


def _exact(flat: FlatIndex, q: np.ndarray, k: int) -> list[tuple[float, int]]:
    scores, ids = flat.search(q[None, :], k)
    return [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]


def test_the_layout_follows_the_capacity() -> None:
    assert list_count(CAPACITY) == 16 and list_count(100_000) == 256 and list_count(10**9) == 1024


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_below_the_training_size_the_answers_are_the_flat_index(store: RedisStore, seed: int) -> None:
    """Adds and removals in bulk and one by one, then queries: the same neighbours, scores and order as
    FAISS's flat index over the same vectors (exact copies included: ties go to the older article)."""
    rng = np.random.default_rng(seed)
    vectors = _clustered(seed, 300)
    vectors[7] = vectors[3]  # a wire copy: the same story vector
    index = RedisVectors(store, lambda: DIM, CAPACITY)
    for key in index.key_names():
        store.client.delete(key)
    seqs = list(range(1, 301))
    _run(store, index.puts(seqs[:200], vectors[:200]))
    for s in seqs[200:]:
        _run(store, index.puts([s], vectors[s - 1 : s]))
    gone = sorted(rng.choice(seqs, 60, replace=False).tolist())
    _run(store, index.drops(gone[:50], vectors[[g - 1 for g in gone[:50]]]))
    for g in gone[50:]:
        _run(store, index.drops([g], vectors[g - 1 : g]))
    kept = [s for s in seqs if s not in set(gone)]
    flat = _flat(kept, vectors[[s - 1 for s in kept]])
    for q in [*_clustered(seed + 1, 10), vectors[3]]:
        assert index.nearest(q, 20) == _exact(flat, q, 20)
    assert index.nearest(np.zeros(DIM, dtype=np.float32), 5) == []


def test_trained_lists_find_most_of_the_nearest_and_removals_leave_nothing(redis: RedisServer) -> None:
    store = RedisStore(f"{redis.url}?prefix=t&index_capacity={CAPACITY}")
    index = RedisVectors(store, lambda: DIM, CAPACITY)
    vectors = _clustered(11, 3_000)
    seqs = list(range(1, 3_001))
    _run(store, index.puts(seqs[:1_500], vectors[:1_500]))
    assert index.nearest(vectors[0], 10)[0] == (pytest.approx(1.0, abs=1e-5), 1)  # trains the lists
    assert store.client.exists(store.key("ivf")) and not store.client.exists(store.key("ivf", "0"))
    _run(store, index.puts(seqs[1_500:], vectors[1_500:]))  # assigned to their lists
    assert not store.client.exists(store.key("ivf", "0"))
    flat = _flat(seqs, vectors)
    queries = _clustered(12, 100)
    found = sum(
        len({s for _, s in index.nearest(q, 10)} & {s for _, s in _exact(flat, q, 10)}) for q in queries
    )
    assert found / (10 * len(queries)) >= 0.9
    for q in queries[:10]:  # what is found is scored exactly
        for score, s in index.nearest(q, 10):
            assert score == pytest.approx(float(vectors[s - 1] @ q), abs=1e-5)
    gone = seqs[::3]
    _run(store, index.drops(gone, vectors[[s - 1 for s in gone]]))
    for q in queries[:20]:
        assert not {s for _, s in index.nearest(q, 50)} & set(gone)
    rest = [s for s in seqs if s not in set(gone)]
    _run(store, index.drops(rest, vectors[[s - 1 for s in rest]]))
    assert [k.decode() for k in index.key_names()] == [
        store.key("ivf")
    ]  # the centroids stay, for later writers
    assert index.nearest(vectors[0], 10) == []
    store.close()


def test_writers_that_have_not_seen_the_training_lose_nothing(redis: RedisServer) -> None:
    """A replica that has not read the centroids appends to the unassigned list, which every query reads;
    once it holds enough of them, a query moves them to their lists."""
    store = RedisStore(f"{redis.url}?prefix=s&index_capacity={CAPACITY}")
    trainer = RedisVectors(store, lambda: DIM, CAPACITY)
    late = RedisVectors(store, lambda: DIM, CAPACITY)
    vectors = _clustered(21, 1_600)
    _run(store, trainer.puts(list(range(1, 1_101)), vectors[:1_100]))
    trainer.nearest(vectors[0], 5)  # trains
    _run(store, late.puts([1_101], vectors[1_100:1_101]))  # unassigned
    assert store.client.strlen(store.key("ivf", "0")) > 0
    assert trainer.nearest(vectors[1_100], 1)[0][1] == 1_101
    _run(store, late.puts(list(range(1_102, 1_601)), vectors[1_101:]))
    assert trainer.nearest(vectors[1_100], 1)[0][1] == 1_101  # moves the stragglers
    assert not store.client.exists(store.key("ivf", "0"))
    assert trainer.nearest(vectors[1_500], 1)[0][1] == 1_501
    _run(store, late.drops([1_501], vectors[1_500:1_501]))  # late has read the centroids by now
    assert 1_501 not in {s for _, s in trainer.nearest(vectors[1_500], 20)}
    store.close()


def test_two_replicas_training_at_once_keep_one_set_of_centroids(redis: RedisServer) -> None:
    store = RedisStore(f"{redis.url}?prefix=r&index_capacity={CAPACITY}")
    a, b = RedisVectors(store, lambda: DIM, CAPACITY), RedisVectors(store, lambda: DIM, CAPACITY)
    vectors = _clustered(31, 1_100)
    _run(store, a.puts(list(range(1, 1_101)), vectors))
    unassigned = store.client.get(store.key("ivf", "0"))
    a._move(unassigned, None)
    b._move(unassigned, None)  # read before a trained: refused, b takes a's centroids
    assert a._centroids is not None and b._centroids is not None
    assert a._centroids.tobytes() == b._centroids.tobytes() == store.client.get(store.key("ivf"))
    assert a.nearest(vectors[5], 1)[0][1] == b.nearest(vectors[5], 1)[0][1] == 6
    store.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(
        st.tuples(st.sampled_from(["put", "late put", "drop", "query"]), st.integers(1, 400)),
        min_size=4,
        max_size=12,
    ),
)
def test_what_a_replica_keeps_of_the_lists_follows_every_change(
    store: RedisStore, seed: int, steps: list[tuple[str, int]]
) -> None:
    """Three replicas that query all along, one keeping whole lists, one keeping nothing (every list and
    vector evicted as soon as read) and one a few lists and ten exact vectors (evicting the least
    recently used all along), answer what a replica that has read nothing answers,
    whatever was added, removed, trained and moved in between, by a writer that knows the centroids and
    by one that does not."""
    for key in RedisVectors(store, lambda: DIM, CAPACITY).key_names():
        store.client.delete(key)
    vectors = _clustered(seed, 2_000)
    rng = np.random.default_rng(seed)
    writer, late = RedisVectors(store, lambda: DIM, CAPACITY), RedisVectors(store, lambda: DIM, CAPACITY)
    keeping = RedisVectors(store, lambda: DIM, CAPACITY)
    forgetting = RedisVectors(store, lambda: DIM, CAPACITY, cache_bytes=1)
    small = RedisVectors(store, lambda: DIM, CAPACITY, cache_bytes=3 * 10 * 4 * DIM)  # 10 exact vectors
    stored: list[int] = []
    next_seq = 1
    for op, n in [*steps, ("query", 0)]:
        if op in ("put", "late put"):
            seqs = list(range(next_seq, min(next_seq + n, len(vectors) + 1)))
            next_seq += len(seqs)
            if seqs:
                _run(store, (writer if op == "put" else late).puts(seqs, vectors[[s - 1 for s in seqs]]))
                stored += seqs
        elif op == "drop" and stored:
            gone = sorted(rng.choice(stored, min(n, len(stored)), replace=False).tolist())
            _run(store, writer.drops(gone, vectors[[s - 1 for s in gone]]))
            stored = [s for s in stored if s not in set(gone)]
        else:
            for q in [*_clustered(seed + 1, 3), vectors[stored[0] - 1] if stored else vectors[0]]:
                RedisVectors(store, lambda: DIM, CAPACITY).nearest(q, 10)  # may train, or move stragglers
                expected = RedisVectors(store, lambda: DIM, CAPACITY).nearest(q, 10)
                assert keeping.nearest(q, 10) == expected
                assert forgetting.nearest(q, 10) == expected
                assert small.nearest(q, 10) == expected


def test_a_replica_reads_only_what_changed_and_sees_a_store_made_anew(store: RedisStore) -> None:
    """A query fetches from Redis only the records added since the last (and no exact vector it read
    before); after another process deletes every key and writes other articles under the same sequence
    numbers, the same lengths of list, the replica reads the new ones, not what it kept."""
    index = RedisVectors(store, lambda: DIM, CAPACITY)
    other = RedisVectors(store, lambda: DIM, CAPACITY)
    for key in index.key_names():
        store.client.delete(key)
    vectors = _clustered(41, 400)
    _run(store, other.puts(list(range(1, 301)), vectors[:300]))
    q = vectors[5]
    first = index.nearest(q, 10)
    assert index.last_fetched >= 300 * (16 + 8 + 4)
    assert index.nearest(q, 10) == first and index.last_fetched == 0
    _run(store, other.puts(list(range(301, 311)), vectors[300:310]))
    index.nearest(q, 10)
    assert 0 < index.last_fetched <= 10 * (16 + 8 + 4) + 10 * 4 * DIM
    for key in other.key_names():
        store.client.delete(key)
    other.forget()
    _run(store, other.puts(list(range(1, 311)), vectors[90:400]))  # the same numbers, other vectors
    flat = _flat(list(range(1, 311)), vectors[90:400])
    assert index.nearest(q, 10) == _exact(flat, q, 10)
