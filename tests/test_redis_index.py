"""The article indexes in Redis (``dedup.redis_index``): the same answers as the in-process indexes for
the same articles, on one redis-server and on a three-node Redis Cluster; one round trip a query; bulk
removal that leaves no key behind; and the engine's use of indexes shared by replicas (hits on articles
not committed ignored, aborted writes undone, other replicas' articles never added again, removals made
once). The contract every implementation passes is in test_parts."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.article import Article
from dedup.article_index import (
    MemoryArticleIndex,
    make_article_index,
    sentence_signatures,
    split_key,
    words_key,
)
from dedup.config import Config, EmbedConfig, MinHashConfig
from dedup.document import PreparedDocument, prepare
from dedup.engine import Engine
from dedup.engine_state import story_vector
from dedup.errors import ConfigError, FailedPrecondition, NotFound, ResourceExhausted
from dedup.minhash import signatures
from dedup.redis_index import RedisArticleIndex, bucket_count
from dedup.redis_store import RedisStore
from dedup.store import open_store
from tests.redis_server import RedisCluster3, RedisServer

DIM = 8
CONFIG = Config(embed=EmbedConfig(model="none"))
WORDS = [f"w{n}" for n in range(60)]


def _url(redis: RedisServer | RedisCluster3, capacity: int = 5_000) -> str:
    return f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}&index_capacity={capacity}"


def _texts(seed: int, n: int) -> list[str]:
    """``n`` articles of a few sentences each from a small pool of sentences, some copied word for word,
    some with a word changed, so that the LSH and the words map find many of them (seeded)."""
    rng = random.Random(seed)
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(6, 14))) + "." for _ in range(3 * n)]
    texts = []
    for _ in range(n):
        sentences = rng.sample(pool, rng.randint(2, 6))
        if rng.random() < 0.5:
            words = sentences[0].split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            sentences[0] = " ".join(words)
        texts.append(" ".join(s[0].upper() + s[1:] for s in sentences))
    return texts


def _doc(doc_id: str, seq: int, text: str, config: Config = CONFIG) -> PreparedDocument:
    doc = prepare(Article(doc_id, text), seq, config)
    mh = config.minhash
    doc.doc_minhash = signatures([doc.doc_shingles], mh.num_perm, mh.seed)[0]
    doc.sentence_minhashes = signatures(list(doc.sentence_shingles), mh.num_perm, mh.seed)
    rng = np.random.default_rng(seq)
    doc.embeddings = rng.standard_normal((len(doc.sentences), DIM)).astype(np.float16)
    doc.vector = story_vector(doc.embeddings, DIM)
    return doc


def _answers(index: Any, probes: Sequence[PreparedDocument], config: Config = CONFIG) -> list[Any]:
    out: list[Any] = [index.articles(), index.sentences()]
    for doc in probes:
        sigs = sentence_signatures(doc, config.minhash)
        out.append(
            (
                sorted(index.articles_like(cast(np.ndarray, doc.doc_minhash))),
                index.sentence_hits(sigs),
                index.articles_sharing_sentences(sigs),
                index.sentences_with_words([words_key(doc, s) for s in range(len(doc.sentences))]),
                [(round(float(s), 4), k) for s, k in index.nearest_articles(cast(np.ndarray, doc.vector), 5)],
            )
        )
    return out


@pytest.fixture
def store(any_redis: RedisServer | RedisCluster3) -> Iterator[RedisStore]:
    s = RedisStore(_url(any_redis))
    yield s
    s.close()


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), limit=st.sampled_from([1_000_000, 40]))
def test_redis_answers_as_memory_for_the_same_articles(store: RedisStore, seed: int, limit: int) -> None:
    """Adds, removals (some in bulk) and queries in the same order on both: the same answers, the
    ``max_sentence_hits`` cut included."""
    config = replace(CONFIG, minhash=replace(MinHashConfig(), max_sentence_hits=limit))
    rng = random.Random(seed)
    texts = _texts(seed, 40)
    memory = MemoryArticleIndex(config, lambda: DIM)
    redis = RedisArticleIndex(config, store, lambda: DIM, capacity=200)
    redis.clear()
    probes = [_doc(f"p{n}", 10_000 + n, t, config) for n, t in enumerate(texts[:10])]
    held: list[tuple[str, int, str]] = []
    for n, text in enumerate(texts):
        batch = [(f"a{n}", n + 1, text)]
        for index in (memory, redis):
            index.add([_doc(*a, config) for a in batch])
        held += batch
        if rng.random() < 0.2 and held:
            gone = rng.sample(held, rng.randint(1, min(5, len(held))))
            held = [a for a in held if a not in gone]
            for index in (memory, redis):
                index.remove([_doc(*a, config) for a in gone])
    if limit < 1_000_000:  # the in-process LSH counts removed keys' entries in the cut until compacted
        memory = MemoryArticleIndex(config, lambda: DIM)
        memory.add([_doc(*a, config) for a in held])
        redis.clear()
        redis.add([_doc(*a, config) for a in held])
    assert _answers(redis, probes, config) == _answers(memory, probes, config)


def test_bulk_removal_leaves_no_key_behind(store: RedisStore) -> None:
    index = RedisArticleIndex(CONFIG, store, lambda: DIM, capacity=500)
    docs = [(f"a{n}", n + 1, text) for n, text in enumerate(_texts(7, 300))]
    before = set(store.client.scan_iter(match="*", count=1000))
    index.add([_doc(*a) for a in docs])
    assert index.articles() == 300 and index.keys()
    index.remove([_doc(*a) for a in docs])
    assert index.keys() == [] and index.articles() == 0 and index.sentences() == 0
    assert set(store.client.scan_iter(match="*", count=1000)) == before


class _Counting:
    """A Redis client that counts the calls made through it (each a round trip: a command, or a
    pipeline)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


def test_a_query_is_one_round_trip(store: RedisStore) -> None:
    index = RedisArticleIndex(CONFIG, store, lambda: DIM)
    index.add([_doc(f"a{n}", n + 1, text) for n, text in enumerate(_texts(3, 50))])
    probe = _doc("p", 99, " ".join(_texts(3, 50)[:8]))
    sigs = sentence_signatures(probe, CONFIG.minhash)
    assert len(sigs) * index._sent.lsh.bands > 100  # many lookups
    counting = _Counting(index._r)
    index._r = counting
    for query in (
        lambda: index.articles_like(cast(np.ndarray, probe.doc_minhash)),
        lambda: index.sentence_hits(sigs),
        lambda: index.articles_sharing_sentences(sigs),
        lambda: index.sentences_with_words([words_key(probe, s) for s in range(len(probe.sentences))]),
    ):
        counting.calls.clear()
        assert query()
        assert counting.calls == ["eval"]


def test_the_engine_picks_the_redis_index_for_a_redis_store(store: RedisStore) -> None:
    assert isinstance(make_article_index(CONFIG, store, lambda: DIM), RedisArticleIndex)
    with_sentence_vectors = replace(CONFIG, align=replace(CONFIG.align, candidate_neighbours=4))
    assert isinstance(make_article_index(with_sentence_vectors, store, lambda: DIM), MemoryArticleIndex)
    assert isinstance(make_article_index(CONFIG, open_store("memory:"), lambda: DIM), MemoryArticleIndex)


# -- the engine on shared indexes ---------------------------------------------------------------------

STORY = _texts(11, 6)


class _Calls:
    """Counts the changes each RedisArticleIndex makes (``add`` and ``remove`` calls)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.added: dict[int, int] = {}
        self.removed: dict[int, int] = {}
        add, remove = RedisArticleIndex.add, RedisArticleIndex.remove

        def counted_add(index: RedisArticleIndex, docs: Sequence[PreparedDocument]) -> None:
            self.added[id(index)] = self.added.get(id(index), 0) + len(docs)
            add(index, docs)

        def counted_remove(index: RedisArticleIndex, docs: Sequence[PreparedDocument]) -> None:
            self.removed[id(index)] = self.removed.get(id(index), 0) + len(docs)
            remove(index, docs)

        monkeypatch.setattr(RedisArticleIndex, "add", counted_add)
        monkeypatch.setattr(RedisArticleIndex, "remove", counted_remove)


def test_replicas_never_add_or_remove_each_others_articles(
    any_redis: RedisServer | RedisCluster3, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(any_redis)
    calls = _Calls(monkeypatch)
    a = Engine(CONFIG, store=open_store(url))
    b = Engine(CONFIG, store=open_store(url))
    assert a._article_index.shared and b._article_index.shared
    for n, text in enumerate(STORY[:4]):
        a.ingest(Article(f"s{n}", text))
    copy = Article("copy", STORY[0])
    found = b.find_similar(copy)  # b follows a's commits: a's articles are in the shared indexes
    assert "s0" in {p.b for p in found.matches}
    assert calls.added.get(id(b._article_index), 0) == 0
    c = Engine(CONFIG, store=open_store(url))  # starts on indexes already built
    assert c.indexes_loaded and calls.added.get(id(c._article_index), 0) == 0
    assert c.find_similar(copy) == found
    a.delete("s0")
    assert b.find_similar(copy).matches != found.matches
    assert calls.removed == {id(a._article_index): 1}
    assert a._article_index.articles() == 3
    for e in (a, b, c):
        e.close()


def test_hits_on_articles_not_committed_are_ignored(any_redis: RedisServer | RedisCluster3) -> None:
    url = _url(any_redis)
    a = Engine(CONFIG, store=open_store(url))
    b = Engine(CONFIG, store=open_store(url))
    a.ingest(Article("s0", STORY[0]))
    # Another replica indexed an article it has not committed (yet, or ever: it died).
    ghost = _doc("ghost", 500, STORY[1])
    ghost.embeddings, ghost.vector = np.zeros((len(ghost.sentences), 1), np.float16), np.zeros(1, np.float32)
    a._article_index.add([ghost])
    analysis = b.ingest(Article("s1", STORY[1])).analysis
    assert "ghost" not in {p.b for p in analysis.matches}
    assert b.find_similar(Article("probe", STORY[1])).matches  # s1 itself, committed
    a.close()
    b.close()


def test_an_aborted_write_leaves_the_shared_indexes_as_they_were(
    any_redis: RedisServer | RedisCluster3, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(any_redis)
    engine = Engine(CONFIG, store=open_store(url))
    engine.ingest(Article("s0", STORY[0]))
    index = cast(RedisArticleIndex, engine._article_index)
    keys = sorted(index.keys())
    counts = (index.articles(), index.sentences())

    def full(change: Any) -> int:
        raise ResourceExhausted("no room")

    with monkeypatch.context() as m:
        m.setattr(engine.store, "commit", full)
        with pytest.raises(ResourceExhausted):
            engine.ingest(Article("s1", STORY[1]))
        with pytest.raises(ResourceExhausted):
            engine.delete("s0")
    assert sorted(index.keys()) == keys and (index.articles(), index.sentences()) == counts
    probe = _doc("p", 900, STORY[1])
    assert not index.articles_sharing_sentences(sentence_signatures(probe, CONFIG.minhash)) or all(
        split_key(k)[0] == 1 for row in index.sentence_hits(probe.sentence_minhashes) for k in row
    )
    engine.ingest(Article("s1", STORY[1]))
    assert index.articles() == 2
    engine.close()


def test_words_naming_a_sentence_with_other_words_are_not_shared(redis: RedisServer) -> None:
    """A words-map entry left by a write that died names a sequence number the next writer took for
    another article: the engine checks the words and embeds the sentence itself."""

    class Counting:
        dim = DIM
        name = "counting"

        def __init__(self) -> None:
            self.texts: list[str] = []

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            self.texts += texts
            v = np.ones((len(texts), DIM), dtype=np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    url = _url(redis)
    config = Config()
    model = Counting()
    engine = Engine(config, embedder=model, store=open_store(url))
    engine.ingest(Article("s0", "The first article says one thing. It has a second sentence too."))
    died = _doc("died", 1, "A sentence only the dead write held. And another one here.", config)
    engine._article_index.add([died])  # its words now name article 1's sentences
    model.texts.clear()
    engine.ingest(Article("s1", "A sentence only the dead write held. And another one here."))
    assert len(model.texts) == 2  # both embedded: article 1 holds other words
    engine.close()


def test_shared_article_index_binding(any_redis: RedisServer | RedisCluster3) -> None:
    """Built once: the binding kept beside the indexes says so to every process that starts later; the
    indexes of a binding that names no database of its own (as here), or another layout of it, are
    emptied, to be built again. (Those of this database with other settings are refused: below.)"""
    url = _url(any_redis)
    store = RedisStore(url)
    index = RedisArticleIndex(CONFIG, store, lambda: DIM)
    index.add([_doc("a", 1, STORY[0])])
    assert index.save(None, {"binding": "this"}, lambda d: 1)
    assert RedisArticleIndex(CONFIG, store, lambda: DIM).load(None, "this", {})
    assert index.articles() == 1
    assert not RedisArticleIndex(CONFIG, store, lambda: DIM, capacity=10**7).load(None, "this", {})
    assert index.keys() == [] and index.articles() == 0
    store.close()
    # Through the engine: indexes lost (flushed by an operator) are built again at the next start.
    a = Engine(CONFIG, store=open_store(url))
    a.ingest(Article("s0", STORY[0]))
    cast(RedisArticleIndex, a._article_index).clear()
    b = Engine(CONFIG, store=open_store(url))
    assert not b.indexes_loaded and b._article_index.articles() == 1
    assert "s0" in {p.b for p in b.find_similar(Article("copy", STORY[0])).matches}
    assert Engine(CONFIG, store=open_store(url)).indexes_loaded
    a.close()
    b.close()


def test_a_binding_that_is_not_one_is_built_again(redis: RedisServer) -> None:
    """A damaged binding (not the JSON dedup writes) cannot name a database: the indexes are emptied and
    built again, not refused, and the start does not fail on it."""
    store = RedisStore(_url(redis))
    index = RedisArticleIndex(CONFIG, store, lambda: DIM)
    index.add([_doc("a", 1, STORY[0])])
    store.client.hset(store.key("index"), "binding", b"not json")
    binding = {"database_id": "this", "fingerprint": "x"}
    assert not RedisArticleIndex(CONFIG, store, lambda: DIM).load(None, binding, {})
    assert index.keys() == [] and index.articles() == 0
    store.close()


def test_indexes_of_this_database_with_other_settings_are_refused_not_emptied(redis: RedisServer) -> None:
    """A process started on a shared store with settings or an index_capacity other than the processes
    that built its indexes is refused, saying what differs and how to change it for all; the indexes
    stay as they were. Indexes built for another database are emptied; ``rebuild_indexes`` builds them
    again on purpose, once, and the processes after it find them built."""
    url = _url(redis)
    a = Engine(CONFIG, store=open_store(url))
    a.ingest(Article("s0", STORY[0]))
    a.ingest(Article("s1", STORY[1]))
    built = a._article_index.articles()
    assert built == 2
    other = replace(CONFIG, minhash=replace(CONFIG.minhash, passage_threshold=0.6))
    with pytest.raises(
        ConfigError, match=r"other settings .*settings that shape the indexes.*--rebuild-indexes"
    ):
        Engine(other, store=open_store(url))
    bigger = url.replace("index_capacity=5000", "index_capacity=900000")
    with pytest.raises(ConfigError, match=r"another index_capacity .*buckets"):
        Engine(CONFIG, store=open_store(bigger))
    assert a._article_index.articles() == built  # untouched: a goes on matching
    assert "s0" in {p.b for p in a.find_similar(Article("copy", STORY[0])).matches}
    # Another database under the same prefix (its binding names another id): emptied, built again.
    index = cast(RedisArticleIndex, a._article_index)
    stale = {"database_id": "another", "fingerprint": "x"}
    assert not RedisArticleIndex(CONFIG, cast(RedisStore, a.store), lambda: DIM).load(None, stale, {})
    assert index.articles() == 0
    a.close()
    b = Engine(other, store=open_store(url), rebuild_indexes=True)
    assert not b.indexes_loaded and b._article_index.articles() == built
    b.close()
    c = Engine(other, store=open_store(url))
    assert c.indexes_loaded and c._article_index.articles() == built
    c.close()


def test_a_replica_whose_indexes_another_rebuilt_with_other_settings_stores_nothing(
    any_redis: RedisServer | RedisCluster3, tmp_path: Path
) -> None:
    """A process that rebuilds the shared indexes with other settings while another runs (against the
    docs: every process should be stopped first) leaves the running one unable to write: its commit
    finds the indexes bound to other settings and stores nothing (FailedPrecondition, saying how to
    restart), rather than writing with its layout into theirs. Stopping it keeps the rebuild's binding,
    so the next process with the new settings finds the indexes built."""
    url = _url(any_redis)
    a = Engine(CONFIG, store=open_store(url), index_dir=tmp_path / "a")  # saves its binding at close
    a.ingest(Article("s0", STORY[0]))
    other = replace(CONFIG, minhash=replace(CONFIG.minhash, passage_threshold=0.6))
    b = Engine(other, store=open_store(url), rebuild_indexes=True)
    generation = b.store.generation()
    with pytest.raises(FailedPrecondition, match=r"rebuilt by another process.*restart this one"):
        a.ingest(Article("s1", STORY[1]))
    assert b.store.generation() == generation and b.store.get("s1") is None
    with pytest.raises(NotFound):
        a.document("s1")  # undone in the replica's memory too
    b.ingest(Article("s1", STORY[1]))  # the rebuild's settings write as before
    a.close()
    b.close()
    c = Engine(other, store=open_store(url))
    assert c.indexes_loaded and c._article_index.articles() == 2
    c.close()


def test_another_process_finds_the_vectors_one_stored_without_following(store: RedisStore) -> None:
    """The vectors are in Redis with the rest: a process finds another's articles by vector as soon as
    they are written, and not once they are removed; ``follow`` has nothing to take."""
    docs = [_doc(f"a{n}", n + 1, text) for n, text in enumerate(_texts(5, 6))]
    writer = RedisArticleIndex(CONFIG, store, lambda: DIM)
    writer.add(docs)
    reader = RedisArticleIndex(CONFIG, store, lambda: DIM)
    probe = cast(np.ndarray, docs[2].vector)
    memory = MemoryArticleIndex(CONFIG, lambda: DIM)
    memory.add([_doc(f"a{n}", n + 1, text) for n, text in enumerate(_texts(5, 6))])
    assert reader.nearest_articles(probe, 6) == memory.nearest_articles(probe, 6)
    assert reader.nearest_articles(probe, 1)[0][1] == 3 and reader.holds(3)
    writer.remove([docs[2]])
    assert 3 not in {k for _, k in reader.nearest_articles(probe, 6)} and not reader.holds(3)
    assert not reader.keeps_vectors and memory.keeps_vectors


def test_the_index_capacity_is_a_whole_number_of_articles(redis: RedisServer) -> None:
    for bad in ("x", "0", "-5"):
        with pytest.raises(ConfigError, match="index_capacity"):
            RedisStore(f"{redis.url}?index_capacity={bad}")
    store = RedisStore(f"{redis.url}?index_capacity=1000000")
    layout = RedisArticleIndex(CONFIG, store, lambda: DIM).layout
    assert layout["sentence-lsh"] == bucket_count(1_000_000, 30 * 25) > layout["words"]
    store.close()


def test_the_vector_cache_is_a_size_in_megabytes(redis: RedisServer) -> None:
    for bad in ("x", "-1"):
        with pytest.raises(ConfigError, match="vector_cache_mb"):
            RedisStore(f"{redis.url}?vector_cache_mb={bad}")
    store = RedisStore(f"{redis.url}?vector_cache_mb=0.5")
    assert store.vector_cache_bytes == 1 << 19
    store.close()


def test_writes_at_once_with_one_sequence_number_leave_only_the_committed_entries(
    any_redis: RedisServer | RedisCluster3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write's index changes are made by its commit, in the same transaction: here a second replica
    computes a write while the first commits another article under the same sequence number; the
    second's commit is refused and tried again, and the shared indexes answer exactly as in-process
    indexes of the three committed articles."""
    url = _url(any_redis)
    first, second = Engine(CONFIG, store=open_store(url)), Engine(CONFIG, store=open_store(url))
    texts = _texts(7, 3)
    first.ingest(Article("a0", texts[0]))
    real = second.store.commit
    tried: list[int] = []

    def overtaken(change: Any) -> int:
        if not tried:
            tried.append(change.put_documents[0].seq)
            first.ingest(Article("a1", texts[1]))  # takes the same number, and commits first
        return real(change)

    monkeypatch.setattr(second.store, "commit", overtaken)
    second.ingest(Article("b", texts[2]))
    stored = {r.article.id: r for r in first.store.records()}
    assert sorted(stored) == ["a0", "a1", "b"] and tried == [stored["a1"].seq] != [stored["b"].seq]
    memory = MemoryArticleIndex(CONFIG, lambda: DIM)
    memory.add([_doc(d, r.seq, r.article.text) for d, r in stored.items()])
    probes = [_doc(f"p{n}", 900 + n, t) for n, t in enumerate(texts)]

    def lexical(index: Any) -> list[Any]:  # (the article vectors are the engines', of another size)
        out: list[Any] = [index.articles(), index.sentences()]
        for doc in probes:
            sigs = sentence_signatures(doc, CONFIG.minhash)
            words = [words_key(doc, s) for s in range(len(doc.sentences))]
            out.append(
                (
                    sorted(index.articles_like(cast(np.ndarray, doc.doc_minhash))),
                    index.sentence_hits(sigs),
                    index.sentences_with_words(words),
                )
            )
        return out

    assert lexical(second._article_index) == lexical(memory)
    first.close()
    second.close()
