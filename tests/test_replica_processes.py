"""`dedup serve` replicas sharing one Redis, as real processes: three replicas ingesting articles of one
story at the same moment lose no update, and each answers what one embedded engine answers that ingested
the same articles in the order the shared state committed them (read back from Redis); kill -9 of a
replica in the middle of a stream loses no article it acknowledged, and the others go on; a replica with
other settings is refused at start, and the others go on."""

from __future__ import annotations

import itertools
import random
import signal
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dedup.article import Article
from dedup.client import DedupClient
from dedup.errors import FailedPrecondition, NotFound
from dedup.redis_store import RedisStore
from dedup.results import DocumentAnalysis
from tests.redis_server import RedisCluster3, RedisServer
from tests.serving import ServerProcess, run_refused, serve_command
from tests.test_kill9_series import _articles as stream_of_articles
from tests.test_replicas import all_at_once, corpus, replay_commit_order

NO_MODEL = ("--model", "none")


def _summary(a: DocumentAnalysis) -> tuple[object, ...]:
    """What a user reads of an article's analysis, as it comes over the wire."""
    matches = sorted((m.b, m.relation.value, [(p.a_start, p.a_end, p.b_start, p.b_end) for p in m.passages])
                     for m in a.matches)  # fmt: skip
    group = a.duplicate_group.documents if a.duplicate_group else ()
    return a.cluster, [p.id for p in a.parents], [s.name for s in a.external_sources], matches, group


def test_three_replicas_ingesting_at_once_answer_as_a_replay_of_the_commit_order(
    any_redis: RedisServer | RedisCluster3, tmp_path: Path
) -> None:
    url = f"{any_redis.url}?prefix=t{uuid.uuid4().hex[:10]}"
    articles = corpus()
    replicas = [ServerProcess(tmp_path / f"replica-{k}", *NO_MODEL, "--state", url) for k in range(3)]
    try:
        clients = [DedupClient(r.target) for r in replicas]
        try:
            all_at_once(lambda k, a: clients[k].ingest(a), articles)
        finally:
            for client in clients:
                client.close()
        # The order Redis committed them in, and when: replayed into one embedded engine.
        store = RedisStore(url)
        alone = replay_commit_order(store, articles)
        store.close()
        expected = {d: _summary(alone.analysis(d)) for d in alone.documents()}
        clusters = {c.id: alone.cluster(c.id) for c in alone.clusters()}
        assert len(clusters) < len(articles)  # copies joined their story: the comparison means something
        for replica in replicas:
            with DedupClient(replica.target) as client:
                assert {a.id: _summary(client.get_document(a.id)[1]) for a in articles} == expected
                for cid, view in clusters.items():
                    got = client.get_cluster(cid)
                    assert (got.documents, got.roots) == (view.documents, view.roots)
    finally:
        for replica in replicas:
            replica.kill()


def test_kill_9_of_a_replica_mid_stream_loses_nothing_it_acknowledged(
    redis: RedisServer, tmp_path: Path
) -> None:
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}"
    doomed = ServerProcess(tmp_path / "doomed", *NO_MODEL, "--state", url)
    other = ServerProcess(tmp_path / "other", *NO_MODEL, "--state", url)
    acknowledged: list[str] = []
    try:
        articles = itertools.islice(stream_of_articles(random.Random(3), "stream"), 300)
        with DedupClient(doomed.target) as client:
            for reply in client.ingest_many(articles):
                acknowledged.append(reply.analysis.id)
                if len(acknowledged) == 40:
                    doomed.proc.send_signal(signal.SIGKILL)
                    break
        # The other replica goes on taking articles, on the state the dead one left.
        with DedupClient(other.target) as client:
            client.ingest(
                Article("after", "Written after the other replica died, about nothing else at all.")
            )
            for doc_id in acknowledged:
                assert client.get_document(doc_id)[0].id == doc_id
            assert client.get_document("after")[0].id == "after"
    finally:
        doomed.kill()
        other.kill()


def test_a_replica_started_with_other_settings_is_refused_and_the_others_go_on(
    redis: RedisServer, tmp_path: Path
) -> None:
    """A replica started on the same store with another ``index_capacity`` (or other settings that shape
    the indexes) stops at start with exit status 2 and says what differs and how to change it for all;
    the running replica's indexes are untouched. ``--rebuild-indexes``, with the others stopped, builds
    them again for the new settings."""
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}&index_capacity=5000"
    articles = corpus()[:4]
    first = ServerProcess(tmp_path / "first", *NO_MODEL, "--state", url)
    try:
        with DedupClient(first.target) as client:
            assert len(list(client.ingest_many(articles))) == len(articles)
        other = url.replace("index_capacity=5000", "index_capacity=900000")
        status, lines, _ = run_refused(serve_command(tmp_path / "second", *NO_MODEL, "--state", other))
        said = "\n".join(lines)
        assert status == 2 and "another index_capacity" in said and "--rebuild-indexes" in said
        with DedupClient(first.target) as client:  # still finds what it stored
            copy = Article("copy", articles[0].text)
            assert articles[0].id in {m.b for m in client.find_similar(copy).matches}
    finally:
        first.kill()
    rebuilt = ServerProcess(tmp_path / "second", *NO_MODEL, "--state", other, "--rebuild-indexes")
    try:
        with DedupClient(rebuilt.target) as client:
            assert articles[0].id in {
                m.b for m in client.find_similar(Article("copy", articles[0].text)).matches
            }
    finally:
        rebuilt.kill()


def test_a_replica_running_through_a_rebuild_with_other_settings_stores_nothing_more(
    redis: RedisServer, tmp_path: Path
) -> None:
    """Against the docs, a replica is left running while another rebuilds the indexes with another
    ``index_capacity``: its writes are refused with FAILED_PRECONDITION, saying to restart it with the
    new settings, nothing of them is stored, and its health check says NOT_SERVING; stopped (it saves its indexes' binding as it stops),
    it leaves the rebuild's binding, so a replica with the new settings then starts on the indexes
    as built."""
    url = f"{redis.url}?prefix=t{uuid.uuid4().hex[:10]}&index_capacity=5000"
    articles = corpus()[:5]
    first = ServerProcess(tmp_path / "first", *NO_MODEL, "--state", url)
    other = url.replace("index_capacity=5000", "index_capacity=900000")
    try:
        with DedupClient(first.target) as client:
            assert len(list(client.ingest_many(articles[:4]))) == 4
        rebuilt = ServerProcess(tmp_path / "second", *NO_MODEL, "--state", other, "--rebuild-indexes")
        rebuilt.terminate()
        assert rebuilt.wait() == 0
        with DedupClient(first.target) as client, pytest.raises(FailedPrecondition) as refused:
            client.ingest(articles[4])  # the client raises FAILED_PRECONDITION as FailedPrecondition
        assert "rebuilt by another process" in str(refused.value) and "restart this one" in str(refused.value)
        with grpc.insecure_channel(first.target) as channel:  # load balancers are told to send it nothing
            check = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
        first.terminate()
        assert first.wait() == 0
    finally:
        first.kill()
    third = ServerProcess(tmp_path / "third", *NO_MODEL, "--state", other)  # not refused: the binding kept
    try:
        with DedupClient(third.target) as client:
            copy = Article("copy", articles[0].text)
            assert articles[0].id in {m.b for m in client.find_similar(copy).matches}
            with pytest.raises(NotFound):
                client.get_document(articles[4].id)
    finally:
        third.kill()
