"""Resumable cluster events: every event has a sequence number stored with the change that caused it,
and a watcher that reconnects with the last one it handled gets every event it missed, then the new
ones, none twice; events past retention are OUT_OF_RANGE."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dedup.article import Article
from dedup.client import DedupClient
from dedup.config import Config, config_from_dict
from dedup.embed import NullEmbedder
from dedup.engine import Engine
from dedup.errors import InvalidArgument, OutOfRange, ResourceExhausted, Unavailable
from dedup.results import ClusterEvent, ClusterEventKind, EventRecord
from dedup.store import Change, MemoryStore, SqliteStore, Store
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from tests.fixtures import stories as S
from tests.serving import ServerProcess

NO_MODEL = ("--model", "none")
DAY = 86_400.0


def _articles() -> list[Article]:
    """Two stories and a copy of one, then an unrelated piece: CREATED, DOCUMENT_ADDED, CREATED ..."""
    return [
        S.article("orig", S.original(), outlet=S.ORIGINAL_OUTLET, published_at="2025-03-04T09:00:00Z"),
        S.article("copy", S.verbatim(), outlet=S.REPUBLISHER_OUTLET, published_at="2025-03-04T10:00:00Z"),
        S.article("dam", S.dam_story(), published_at="2025-03-04T08:00:00Z"),
        S.article("trim", S.trimmed(), published_at="2025-03-04T11:00:00Z"),
        S.article("beetle", S.unrelated(), published_at="2025-03-05T08:00:00Z"),
        S.article("cite", S.citing(), published_at="2025-03-04T12:00:00Z"),
    ]


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FailingStore:
    """The real store, whose commits fail while ``fail`` is set (a full disk): nothing is stored."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.fail = False

    def commit(self, change: Change) -> int:
        if self.fail:
            raise ResourceExhausted("the disk is full (a test)")
        return self.inner.commit(change)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


Factory = Callable[..., Engine]


@pytest.fixture(params=["memory", "sqlite"])
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Engines without a model; for sqlite each call opens the same database again (a restart)."""
    shared = MemoryStore()
    made: list[Engine] = []

    def factory(config: Config | None = None, clock: Callable[[], float] | None = None) -> Engine:
        store = shared if request.param == "memory" else SqliteStore(tmp_path / "dedup.sqlite3")
        engine = Engine(config, NullEmbedder(), store, **({"clock": clock} if clock else {}))
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.store.close()


def _ingest_all(engine: Engine, articles: list[Article]) -> list[ClusterEvent]:
    return [ev for a in articles for ev in engine.ingest(a).events]


# -- the engine ---------------------------------------------------------------------------------------


def test_events_are_numbered_one_more_each_and_stored_with_their_change(make_engine: Factory) -> None:
    clock = Clock()
    engine = make_engine(clock=clock)
    assert engine.last_event() == 0 and engine.events(0) == []
    happened = []
    for article in _articles()[:4]:
        clock.now += 10
        happened += [(clock.now, ev) for ev in engine.ingest(article).events]
    clock.now += 10
    happened += [(clock.now, ev) for ev in engine.delete("copy")]
    stored = engine.events(0)
    assert [r.sequence for r in stored] == list(range(1, len(happened) + 1))
    assert [(r.time, r.event) for r in stored] == happened
    kinds = [r.kind for r in stored]
    assert kinds[:2] == [ClusterEventKind.CREATED, ClusterEventKind.DOCUMENT_ADDED]
    assert stored[-1].event == ClusterEvent(ClusterEventKind.DOCUMENT_REMOVED, stored[1].cluster, "copy")
    assert engine.last_event() == len(stored)
    # Replay after any sequence, a page at a time.
    assert engine.events(2) == stored[2:]
    assert engine.events(1, limit=2) == stored[1:3]
    assert engine.events(len(stored)) == []
    # Another engine on the same store (a restart, for sqlite) numbers on.
    again = make_engine(clock=clock)
    assert again.events(0) == stored and again.last_event() == len(stored)
    clock.now += 10
    new = again.ingest(_articles()[4]).events
    assert again.events(len(stored)) == [
        EventRecord(len(stored) + 1 + k, clock.now, ev) for k, ev in enumerate(new)
    ]


def test_a_failed_commit_stores_no_event_and_takes_no_number(make_engine: Factory) -> None:
    engine = make_engine()
    _ingest_all(engine, _articles()[:2])
    before = engine.events(0)
    failing = FailingStore(engine.store)
    engine.store = failing  # type: ignore[assignment]
    failing.fail = True
    with pytest.raises(ResourceExhausted):
        engine.ingest(_articles()[2])
    with pytest.raises(ResourceExhausted):
        engine.delete("copy")
    assert engine.last_event() == len(before) and engine.events(0) == before
    failing.fail = False
    events = engine.ingest(_articles()[2]).events
    assert [r.sequence for r in engine.events(len(before))] == [
        len(before) + 1 + k for k in range(len(events))
    ]
    assert [r.event for r in engine.events(len(before))] == list(events)


def test_a_cursor_past_retention_or_past_the_last_event_is_out_of_range(make_engine: Factory) -> None:
    engine = make_engine(config_from_dict({"events": {"retain": 3}}))
    events = _ingest_all(engine, _articles()[:5])
    last = len(events)
    assert last > 3
    oldest = last - 2
    assert [r.sequence for r in engine.events(oldest - 1)] == [oldest, oldest + 1, last]
    with pytest.raises(OutOfRange, match=rf"events after {oldest - 2} are no longer kept \(the oldest event "
                       rf"still kept is {oldest}.*ListClusters, then watch anew"):  # fmt: skip
        engine.events(oldest - 2)
    with pytest.raises(OutOfRange, match="no longer kept"):
        engine.events(0)  # every event kept: the first is gone
    with pytest.raises(
        OutOfRange, match=rf"after_sequence {last + 1} is above the last event .* issued, {last}"
    ):
        engine.events(last + 1)
    with pytest.raises(InvalidArgument, match="must not be negative"):
        engine.events(-1)
    assert engine.events(last) == []


def test_events_older_than_retain_days_are_deleted(make_engine: Factory) -> None:
    clock = Clock()
    engine = make_engine(config_from_dict({"events": {"retain_days": 1.0}}), clock=clock)
    early = _ingest_all(engine, _articles()[:2])
    clock.now += 0.5 * DAY
    middle = _ingest_all(engine, _articles()[2:3])
    assert len(engine.events(0)) == len(early) + len(middle)  # none a day old yet
    clock.now += 0.75 * DAY  # the first ones are 1.25 days old, the middle ones 0.75
    late = _ingest_all(engine, _articles()[3:4])
    first = len(early) + 1
    assert [r.event for r in engine.events(first - 1)] == middle + late
    with pytest.raises(OutOfRange, match=f"the oldest event still kept is {first};"):
        engine.events(0)
    # Retention is applied when something is committed: two days on, a deletion removes the rest but
    # its own event.
    clock.now += 2 * DAY
    removed = engine.delete("orig")
    last = engine.last_event()
    with pytest.raises(OutOfRange, match=f"the oldest event still kept is {last - len(removed) + 1};"):
        engine.events(first - 1)
    assert [r.event for r in engine.events(last - len(removed))] == list(removed)


def test_a_waiter_wakes_at_the_next_commit_and_when_told_to_stop(make_engine: Factory) -> None:
    engine = make_engine()
    _ingest_all(engine, _articles()[:1])
    last = engine.last_event()
    woke: list[tuple[bool, float]] = []

    def wait(after: int, stop: Callable[[], bool]) -> None:
        started = time.perf_counter()
        woke.append((engine.wait_for_events(after, 30, stop), time.perf_counter() - started))

    waiter = threading.Thread(target=wait, args=(last, lambda: False))
    waiter.start()
    time.sleep(0.2)
    engine.ingest(_articles()[1])
    waiter.join(10)
    assert woke[0][0] is True and woke[0][1] < 10
    stopped = threading.Event()
    waiter = threading.Thread(target=wait, args=(engine.last_event(), stopped.is_set))
    waiter.start()
    time.sleep(0.2)
    stopped.set()
    engine.wake_watchers()
    waiter.join(10)
    assert woke[1][0] is False and woke[1][1] < 10  # told to stop, long before its timeout


# -- the service --------------------------------------------------------------------------------------


class Watcher:
    """A consumer on a thread of its own: reads ``client.watch(after=...)`` until ``enough`` says it
    has what it came for, then leaves (cancelling the stream)."""

    def __init__(self, target: str, after: int | None, enough: Callable[[list[EventRecord]], bool]) -> None:
        self.client = DedupClient(target)
        self.got: list[EventRecord] = []
        self.error: BaseException | None = None
        self._after = after
        self._enough = enough
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with contextlib.closing(self.client.watch(timeout=60, after=self._after)) as stream:
                for record in stream:
                    self.got.append(record)
                    if self._enough(self.got):
                        return
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 60) -> list[EventRecord]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the watcher is still waiting, with {self.got}"
        self.client.close()
        if self.error is not None:
            raise self.error
        return self.got


def _until_document(doc_id: str) -> Callable[[list[EventRecord]], bool]:
    return lambda got: any(r.document == doc_id for r in got)


def _contiguous(records: list[EventRecord], after: int) -> list[int]:
    sequences = [r.sequence for r in records]
    assert sequences == list(range(after + 1, after + 1 + len(records))), sequences
    return sequences


def test_a_consumer_that_reconnects_with_its_cursor_gets_every_event_it_missed(tmp_path: Path) -> None:
    """A consumer handles events, leaves, and comes back with the last sequence it handled while articles
    were ingested, replaced and deleted: it gets exactly what it missed, then the new events as they
    happen, in order, no gap, nothing twice. The same holds across a server restart."""
    server = ServerProcess(tmp_path / "data", *NO_MODEL)
    try:
        a = _articles()
        with DedupClient(server.target) as client:
            first = Watcher(server.target, 0, _until_document("copy"))  # 0: every event kept
            client.ingest(a[0])
            client.ingest(a[1])
            handled = first.join()
            _contiguous(handled, 0)
            cursor = handled[-1].sequence
            # While it is away: two more articles, one replaced, one deleted.
            client.ingest(a[2])
            client.ingest(a[3])
            client.ingest(S.article("copy", S.reordered(), published_at="2025-03-04T10:00:00Z"))
            client.delete("trim")
            # It comes back: the missed events first, then live ones, until "beetle"'s.
            second = Watcher(server.target, cursor, _until_document("beetle"))
            time.sleep(1.0)  # the replay is done and the stream waits for new events
            assert second.got and second.got[-1].document == "trim"
            client.ingest(a[4])
            resumed = second.join()
            _contiguous(resumed, cursor)
            # What it got is what the store holds: a full replay says the same.
            everything = Watcher(server.target, 0, lambda got: got[-1].document == "beetle").join()
            assert everything == handled + resumed
            missed = resumed[: [r.document for r in resumed].index("beetle")]
            assert {"dam", "trim", "copy"} <= {r.document for r in missed}
            assert ("copy", ClusterEventKind.DOCUMENT_REMOVED) in [(r.document, r.kind) for r in missed]
            assert (missed[-1].document, missed[-1].kind) == ("trim", ClusterEventKind.DOCUMENT_REMOVED)
            assert all(r.time > 0 for r in resumed)
            cursor = resumed[-1].sequence
        # A consumer waiting for events when the server stops gets UNAVAILABLE, at once.
        waiting = Watcher(server.target, cursor, lambda got: False)
        time.sleep(0.5)
        started = time.perf_counter()
        server.terminate()
        assert server.wait(30) == 0
        assert time.perf_counter() - started < 10  # the grace period is 30 s
        with pytest.raises(Unavailable, match="shutting down"):
            waiting.join()
        # After a restart, sequences go on, and replay crosses the restart.
        server = ServerProcess(tmp_path / "data", *NO_MODEL)
        with DedupClient(server.target) as client:
            third = Watcher(server.target, cursor - 2, _until_document("cite"))
            client.ingest(a[5])
            after_restart = third.join()
        _contiguous(after_restart, cursor - 2)
        assert after_restart[:2] == resumed[-2:]
        assert after_restart[-1].document == "cite"
    finally:
        server.kill()


def test_out_of_range_cursors_over_the_wire(tmp_path: Path) -> None:
    config = tmp_path / "dedup.toml"
    config.write_text("[events]\nretain = 2\n")
    server = ServerProcess(tmp_path / "data", *NO_MODEL, "--config", str(config))
    try:
        with DedupClient(server.target) as client:
            for article in _articles()[:3]:
                client.ingest(article)
            watcher = Watcher(server.target, None, _until_document("beetle"))  # from now on
            time.sleep(1.0)  # its stream is open
            last = 0
            with pytest.raises(
                OutOfRange, match=r"OUT_OF_RANGE: .*no longer kept \(the oldest event still kept"
            ):
                for record in client.watch(timeout=10, after=0):
                    last = record.sequence
            assert last == 0  # refused before any event
            with pytest.raises(OutOfRange, match="is above the last event this server has issued"):
                next(iter(client.watch(timeout=10, after=10_000)))
            # The watcher started without a cursor gets only what happened since.
            client.ingest(_articles()[3])
            client.ingest(_articles()[4])
            got = watcher.join()
            assert got[0].document == "trim" and got[-1].document == "beetle"
            assert [r.sequence for r in got] == list(range(got[0].sequence, got[0].sequence + len(got)))
    finally:
        server.kill()


def test_a_watch_ends_promptly_when_the_client_cancels(tmp_path: Path) -> None:
    """Cancelled watches give their places back at once (the server holds at most --max-streams): the
    handler waiting for events is woken by the cancellation, not by a poll or its safety timeout."""
    server = ServerProcess(tmp_path / "data", *NO_MODEL, "--max-streams", "2")
    channel = grpc.insecure_channel(server.target)
    stub = pb_grpc.DedupServiceStub(channel)
    try:
        watches = [stub.WatchClusters(pb.WatchClustersRequest(), timeout=120) for _ in range(2)]
        time.sleep(1)
        refused = stub.WatchClusters(pb.WatchClustersRequest(), timeout=120)
        with pytest.raises(grpc.RpcError) as info:
            next(refused)
        assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert not any(w.done() for w in watches)
        started = time.perf_counter()
        for w in watches:
            w.cancel()
        # Both places are free again within a fraction of a second.
        while True:
            fresh = [
                stub.WatchClusters(pb.WatchClustersRequest(after_sequence=0), timeout=120) for _ in range(2)
            ]
            time.sleep(0.2)
            if not any(f.done() for f in fresh):
                break
            assert time.perf_counter() - started < 3, [f.code() for f in fresh if f.done()]
        for f in fresh:
            f.cancel()
    finally:
        channel.close()
        server.kill()
