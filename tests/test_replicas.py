"""Engines that share one store, as `dedup serve` replicas share one Redis: each follows what the others
commit, and together they end where one engine ends that made the same changes in the order the store
committed them (clusters, parents, pairs, sources, groups: every article's analysis).

Here the engines share an in-process store (``MemoryStore(shared=True)``), which keeps the same history
and takes the same turns as Redis; tests/test_replica_processes.py runs real replicas on a real Redis."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.article import Article
from dedup.config import Config, EmbedConfig
from dedup.deriving import Deriving
from dedup.embed import CachingEmbedder
from dedup.engine import Engine
from dedup.matching import Matching
from dedup.store import MemoryStore, Store, open_store
from tests.fixtures import stories
from tests.redis_server import RedisCluster3, RedisServer

LEXICAL = Config(embed=EmbedConfig(model="none"))


def corpus() -> list[Article]:
    """One story's articles (a wire original, its copies and rewrites), a second story and an unrelated
    one, and a piece stitched from both stories: copies of copies, clusters that grow, merge and
    re-home, parents that change as originals arrive."""
    a = stories.article
    return [
        a("verbatim", stories.verbatim(), stories.REPUBLISHER_OUTLET, "2025-03-04T11:00:00Z"),
        a("trimmed", stories.trimmed(outlet="Valley Post"), "Valley Post", "2025-03-04T12:00:00Z"),
        a("original", stories.original(), stories.ORIGINAL_OUTLET, "2025-03-04T09:00:00Z"),
        a("dam", stories.dam_story(outlet="River Times"), "River Times", "2025-03-05T08:00:00Z"),
        a("reordered", stories.reordered(outlet="Hill Herald"), "Hill Herald", "2025-03-04T13:00:00Z"),
        a("stitched", stories.stitched(outlet="Roundup Daily"), "Roundup Daily", "2025-03-05T12:00:00Z"),
        a("edited", stories.lightly_edited(outlet="Bay News"), "Bay News", "2025-03-04T14:00:00Z"),
        a("citing", stories.citing(), "Metro Sun", "2025-03-04T15:00:00Z"),
        a("paraphrased", stories.paraphrased(outlet="Coast Echo"), "Coast Echo", "2025-03-04T16:00:00Z"),
        a("unrelated", stories.unrelated(outlet="Science Weekly"), "Science Weekly", "2025-03-06T08:00:00Z"),
    ]


@dataclass(frozen=True)
class Step:
    """One write: by engine ``by``, ingest ``article`` (or delete ``delete``), at time ``now``."""

    by: int
    now: float
    article: Article | None = None
    delete: str | None = None


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def run(engine_of: Callable[[int], Engine], clock: Clock, steps: Sequence[Step]) -> None:
    for step in steps:
        clock.now = step.now
        engine = engine_of(step.by)
        if step.article is not None:
            engine.ingest(step.article)
        elif step.delete is not None and step.delete in engine.documents():
            engine.delete(step.delete)


def view(engine: Engine) -> dict[str, object]:
    """Everything a user reads: every article's analysis, every pair, every cluster and its members."""
    ids = engine.documents()
    return {
        "analyses": {d: engine.analysis(d) for d in ids},
        "pairs": engine.pairs(),
        "clusters": [engine.cluster(c.id) for c in engine.clusters()],
    }


def replicas(
    n: int, config: Config, embedder: CachingEmbedder | None = None
) -> tuple[Store, list[Engine], Clock]:
    store = MemoryStore(shared=True)
    clock = Clock()
    return store, [Engine(config, embedder=embedder, store=store, clock=clock) for _ in range(n)], clock


def one_engine(config: Config, steps: Sequence[Step], embedder: CachingEmbedder | None = None) -> Engine:
    clock = Clock()
    alone = Engine(config, embedder=embedder, store=MemoryStore(), clock=clock)
    run(lambda _: alone, clock, steps)
    return alone


def all_at_once(write: Callable[[int, Article], None], articles: Sequence[Article], writers: int = 3) -> None:
    """Writer k writes every ``writers``-th article, from k on; all start at the same moment."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def run_writer(k: int) -> None:
        try:
            barrier.wait()
            for a in articles[k::writers]:
                write(k, a)
        except BaseException as exc:  # raised below
            errors.append(exc)

    threads = [threading.Thread(target=run_writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def replay_commit_order(store: Store, articles: Sequence[Article]) -> Engine:
    """One engine that ingested what ``store`` holds in the order it committed it, each at the time
    it was committed; every article of ``articles`` is there once."""
    records = sorted(store.records(), key=lambda r: r.seq)
    assert sorted(r.article.id for r in records) == sorted(a.id for a in articles)
    return one_engine(LEXICAL, [Step(0, r.ingest_time, article=r.article) for r in records])


def plan(seed: int, engines: int, deletes: int = 2) -> list[Step]:
    """The corpus ingested by engines picked at random (seeded), with some articles deleted and one
    ingested again with an edit, each step one second after the last."""
    rng = random.Random(seed)
    articles = corpus()
    steps = [Step(rng.randrange(engines), 0.0, article=a) for a in articles]
    for doc in rng.sample([a.id for a in articles], deletes):
        at = rng.randrange(len(steps) + 1)
        steps.insert(at, Step(rng.randrange(engines), 0.0, delete=doc))
    again = rng.choice(articles)
    edited = Article(again.id, again.text + "\n\nThis article has been updated.", again.title, again.outlet,
                     again.url, again.published_at)  # fmt: skip
    steps.append(Step(rng.randrange(engines), 0.0, article=edited))
    return [Step(s.by, 1_700_000_000.0 + n, s.article, s.delete) for n, s in enumerate(steps)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), engines=st.integers(2, 3))
def test_engines_sharing_a_store_end_where_one_engine_ends(seed: int, engines: int) -> None:
    steps = plan(seed, engines)
    _, group, clock = replicas(engines, LEXICAL)
    run(lambda k: group[k], clock, steps)
    expected = view(one_engine(LEXICAL, steps))
    for engine in group:  # every engine answers from the shared state, whichever wrote what
        assert view(engine) == expected


@pytest.mark.parametrize("seed", [3, 21])
def test_engines_sharing_a_redis_store_end_where_one_engine_ends(
    any_redis: RedisServer | RedisCluster3, seed: int
) -> None:
    """The same on Redis, each engine with a connection of its own as a replica has: the lineage, the
    article indexes and the store are read from Redis, not kept by each engine."""
    steps = plan(seed, 3)
    clock = Clock()
    url = f"{any_redis.url}?prefix=replicas{seed}&index_capacity=2000"
    group = [Engine(LEXICAL, store=open_store(url), clock=clock) for _ in range(3)]
    run(lambda k: group[k], clock, steps)
    alone = one_engine(LEXICAL, steps)
    expected = view(alone)
    edges = {d: alone.lineage(d) for d in alone.documents()}  # every lineage edge, both ways
    for engine in group:
        assert view(engine) == expected
        assert {d: engine.lineage(d) for d in engine.documents()} == edges
        engine.close()


def test_with_the_model_too(embedder: CachingEmbedder) -> None:
    """Story vectors, clusters joined on content and paraphrase pairs follow as well."""
    steps = plan(7, 2, deletes=1)
    config = Config()
    _, group, clock = replicas(2, config, embedder)
    run(lambda k: group[k], clock, steps)
    expected = view(one_engine(config, steps, embedder))
    assert view(group[0]) == expected and view(group[1]) == expected


def test_with_the_model_on_redis_too(redis: RedisServer, embedder: CachingEmbedder) -> None:
    """Replicas on Redis with the model, the article vectors in Redis: the answers of one engine."""
    steps = plan(7, 2, deletes=1)
    config = Config()
    clock = Clock()
    url = f"{redis.url}?prefix=model&index_capacity=2000"
    group = [Engine(config, embedder=embedder, store=open_store(url), clock=clock) for _ in range(2)]
    run(lambda k: group[k], clock, steps)
    expected = view(one_engine(config, steps, embedder))
    assert view(group[0]) == expected and view(group[1]) == expected
    for engine in group:
        engine.close()


def test_engines_writing_at_the_same_moment_lose_no_update() -> None:
    """Three engines in three threads ingest one story's articles at once: the store commits them in
    some order, and the result is what one engine gives ingesting them in that order."""
    store, group, _ = replicas(3, LEXICAL)
    articles = corpus()
    all_at_once(lambda k, a: group[k].ingest(a), articles)
    # The order the store committed them in, and when: replayed into one engine.
    expected = view(replay_commit_order(store, articles))
    for engine in group:
        assert view(engine) == expected


def test_an_engine_that_fell_behind_the_kept_history_reads_everything_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("dedup.store.HISTORY_KEPT", 2)
    store = MemoryStore(shared=True)
    store._history = type(store._history)(maxlen=2)  # as if made with the smaller limit
    clock = Clock()
    first, second = (Engine(LEXICAL, store=store, clock=clock) for _ in range(2))
    steps = [Step(0, 1_700_000_000.0 + n, article=a) for n, a in enumerate(corpus()[:5])]
    run(lambda _: first, clock, steps)
    assert store.history(0) is None  # three commits are no longer kept
    assert view(second) == view(first) == view(one_engine(LEXICAL, steps))


def test_an_expiry_by_one_engine_is_followed_by_the_others() -> None:
    """Retention runs on every replica: whichever expires the old articles, every engine ends without
    them, and as one engine ends that ingested and expired the same."""
    steps = [s for s in plan(11, 2, deletes=0) if s.article is not None]
    cut = steps[len(steps) // 2].now  # the first half is older than this
    _, group, clock = replicas(2, LEXICAL)
    run(lambda k: group[k], clock, steps)
    clock.now = steps[-1].now + 1
    expired = group[1].expire(cut)
    assert expired and group[0].expire(cut) == []  # nothing left to expire, once followed
    alone_clock = Clock()
    alone = Engine(LEXICAL, store=MemoryStore(), clock=alone_clock)
    run(lambda _: alone, alone_clock, steps)
    alone_clock.now = steps[-1].now + 1
    assert alone.expire(cut) == expired
    expected = view(alone)
    assert view(group[0]) == expected == view(group[1])
    assert not set(expired) & set(group[0].documents())


def test_a_watcher_on_one_engine_sees_the_events_another_commits() -> None:
    _, (writer, watcher), _ = replicas(2, LEXICAL)
    last = watcher.last_event()
    woke: list[bool] = []
    waiting = threading.Thread(target=lambda: woke.append(watcher.wait_for_events(last, 30.0, lambda: False)))
    waiting.start()
    writer.ingest(corpus()[0])
    waiting.join(30.0)
    assert woke == [True]
    events = watcher.events(last)
    assert [e.event.document for e in events] == [corpus()[0].id] and watcher.last_event() == events[
        -1
    ].sequence
    # Nothing new: the wait ends at its timeout, saying so.
    assert watcher.wait_for_events(watcher.last_event(), 0.3, lambda: False) is False


def test_alignment_runs_before_the_write_and_only_what_changed_is_aligned_in_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Engines sharing a store align a new article with its candidates before the write (outside the
    store's write lock), so they align at the same time; in the write an article aligns only with what
    was committed meanwhile (here: engine 0 commits a copy while engine 1 aligns), and the result is
    still the replay's."""
    import dedup.matching

    store, group, _ = replicas(2, LEXICAL)
    articles = {a.id: a for a in corpus()}
    group[0].ingest(articles["original"])
    calls: list[tuple[str, str, bool]] = []
    ahead: list[bool] = []
    real_compare, real_ahead = dedup.matching.compare, Matching.align_ahead

    def align_ahead(self, doc, due):  # type: ignore[no-untyped-def]
        ahead.append(True)
        try:
            return real_ahead(self, doc, due)
        finally:
            ahead.pop()

    def compare(a, b, config):  # type: ignore[no-untyped-def]
        calls.append((a.id, b.id, bool(ahead)))
        if b.id == "trimmed" and ahead:
            ahead.pop()  # another engine commits while this one aligns
            group[0].ingest(articles["verbatim"])
            ahead.append(True)
        return real_compare(a, b, config)

    monkeypatch.setattr(dedup.matching, "compare", compare)
    monkeypatch.setattr(Matching, "align_ahead", align_ahead)
    group[1].ingest(articles["trimmed"])
    mine = [c for c in calls if c[1] == "trimmed"]
    assert mine == [("original", "trimmed", True), ("verbatim", "trimmed", False)]
    expected = view(replay_commit_order(store, [articles[d] for d in ("original", "verbatim", "trimmed")]))
    assert view(group[0]) == expected and view(group[1]) == expected


def test_candidates_found_before_the_write_are_taken_when_nothing_was_committed_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a shared store the candidates are looked up once an article when no other process commits
    between the look before the write and the write (on Redis, each look is a round trip to the shared
    indexes); when one does, they are looked up again in the write (the test above)."""
    _, group, _ = replicas(2, LEXICAL)
    looked: list[str] = []
    real = Matching.candidates

    def candidates(self, doc, exclude=None):  # type: ignore[no-untyped-def]
        looked.append(doc.id)
        return real(self, doc, exclude)

    monkeypatch.setattr(Matching, "candidates", candidates)
    articles = corpus()[:4]
    for a in articles:
        group[0].ingest(a)
    assert looked == [a.id for a in articles]


def test_a_write_another_engine_overtook_is_computed_again_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Engine 1's first try writes without the store's write lock (none holds it); engine 0 commits in
    the middle of it, so its commit is refused and the write computed again, holding the lock: counted in
    ``writes_retried`` (the service's ``dedup_writes_retried_total``), and the result is the replay's."""
    store, group, _ = replicas(2, LEXICAL)
    articles = {a.id: a for a in corpus()}
    group[0].ingest(articles["original"])
    real = Deriving.derive_for
    overtaken: list[bool] = []

    def derive_for(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self is group[1]._deriving and not overtaken:
            overtaken.append(True)
            group[0].ingest(articles["verbatim"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Deriving, "derive_for", derive_for)
    group[1].ingest(articles["trimmed"])
    assert [e.counters["writes_retried"] for e in group] == [0, 1]
    expected = view(replay_commit_order(store, [articles[d] for d in ("original", "verbatim", "trimmed")]))
    assert view(group[0]) == expected and view(group[1]) == expected


def test_time_waiting_for_another_engine_s_write_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that finds the store's write lock held waits for it, and says how long in
    ``write_wait_seconds`` (the service's ``dedup_write_lock_wait_seconds_total``): here the lock is
    let go 0.2 s after the engine asked for it."""
    store, group, _ = replicas(1, LEXICAL)
    engine = group[0]
    held, asked = threading.Event(), threading.Event()
    real = store.writing

    def writing(optimistic: bool = False):  # type: ignore[no-untyped-def]
        asked.set()
        return real(optimistic)

    def hold() -> None:
        with real():
            held.set()
            asked.wait(30)
            threading.Event().wait(0.2)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    monkeypatch.setattr(store, "writing", writing)
    engine.ingest(corpus()[0])
    holder.join()
    assert engine.write_wait_seconds >= 0.2


def test_an_unchanged_article_another_engine_removes_before_its_turn_is_stored_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch names an article stored unchanged when the call began; another engine deletes it while
    the articles before it are stored: when its turn comes it is prepared then and stored again."""
    _, group, _ = replicas(2, LEXICAL)
    articles = {a.id: a for a in corpus()}
    group[0].ingest(articles["original"])
    real = Engine._store_one
    deleted: list[bool] = []

    def store_one(self, doc, digest, due=None):  # type: ignore[no-untyped-def]
        if self is group[0] and not deleted:
            deleted.append(True)
            group[1].delete("original")
        return real(self, doc, digest, due)

    monkeypatch.setattr(Engine, "_store_one", store_one)
    results = group[0].ingest_many([articles["verbatim"], articles["original"]])
    assert [r.outcome.value for r in results] == ["CREATED", "CREATED"]
    assert set(group[0].documents()) == set(group[1].documents()) == {"verbatim", "original"}
