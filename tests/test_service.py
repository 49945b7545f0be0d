"""The gRPC service, through the Python client, against a real in-process server on loopback."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from dedup.article import Article
from dedup.client import DedupClient
from dedup.config import Config, config_from_dict
from dedup.embed import CachingEmbedder
from dedup.engine import Engine
from dedup.errors import DeadlineExceeded, Internal, InvalidArgument, NotFound, ResourceExhausted
from dedup.inputs import read_articles
from dedup.pipeline import Detector
from dedup.results import ClusterEventKind, DocumentAnalysis, IngestOutcome
from dedup.store import SqliteStore
from dedup.v1 import dedup_pb2 as pb
from dedup.v1 import dedup_pb2_grpc as pb_grpc
from server.app import RunningServer, build_server
from tests.fixtures import stories as S

SMALL_LIMITS = config_from_dict({"limits": {"max_text_bytes": 20_000}})


def fixture_articles() -> list[Article]:
    return [
        S.article("orig", S.original(), outlet=S.ORIGINAL_OUTLET, published_at="2025-03-04T09:00:00Z"),
        S.article("copy", S.verbatim(), outlet=S.REPUBLISHER_OUTLET, published_at="2025-03-04T10:00:00Z"),
        S.article("trim", S.trimmed(), published_at="2025-03-04T11:00:00Z"),
        S.article("cite", S.citing(), published_at="2025-03-04T12:00:00Z"),
        S.article("dam", S.dam_story(), published_at="2025-03-04T08:00:00Z"),
        S.article("beetle", S.unrelated(), published_at="2025-03-05T08:00:00Z"),
    ]


class Service:
    def __init__(self, tmp: Path, embedder: CachingEmbedder, config: Config | None = None, **kw: int) -> None:
        self.engine = Engine(config or SMALL_LIMITS, embedder, SqliteStore(tmp / "dedup.sqlite3"))
        self.running: RunningServer = build_server(self.engine, "127.0.0.1:0", **kw)
        self.target = f"127.0.0.1:{self.running.port}"
        self.client = DedupClient(self.target, timeout=120)

    def stop(self) -> None:
        self.client.close()
        self.running.stop(2)


@pytest.fixture
def service(tmp_path: Path, embedder: CachingEmbedder) -> Iterator[Service]:
    s = Service(tmp_path, embedder)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("loaded"), embedder)
    list(s.client.ingest_many(fixture_articles()))
    yield s
    s.stop()


def _summary(pairs: list[tuple[str, str, str, tuple[tuple[int, int, int, int, str], ...]]]) -> set[object]:
    return set(pairs)


def _same_as_analyze(client: DedupClient, articles: list[Article], detector: Detector) -> None:
    """The service's clusters, parents and passages equal `dedup analyze` on the same input."""
    batch = detector.analyze(articles)
    cluster_of = {d.id: d.cluster for d in batch.documents}
    for d in batch.documents:
        _, served = client.get_document(d.id)
        assert served.cluster == cluster_of[d.id], d.id
        assert [(p.id, round(p.confidence, 3)) for p in served.parents] == [
            (p.id, round(p.confidence, 3)) for p in d.parents
        ], d.id
        assert {s.name for s in served.external_sources} == {s.name for s in d.external_sources}
        expected = {}
        for p in batch.pairs:
            if d.id in (p.a, p.b):
                o = p.oriented(d.id)
                expected[o.b] = (
                    o.relation,
                    [(x.a_start, x.a_end, x.b_start, x.b_end, x.kind) for x in o.passages],
                )
        got = {
            m.b: (m.relation, [(x.a_start, x.a_end, x.b_start, x.b_end, x.kind) for x in m.passages])
            for m in served.matches
        }
        assert got == expected, d.id


def test_fixtures_through_the_service_match_analyze(loaded: Service, detector: Detector) -> None:
    _same_as_analyze(loaded.client, fixture_articles(), detector)


def test_seeds_through_the_service_match_analyze(
    tmp_path: Path, embedder: CachingEmbedder, detector: Detector, shared_data: Path
) -> None:
    seeds = read_articles(shared_data / "seeds")
    s = Service(tmp_path, embedder)
    try:
        replies = list(s.client.ingest_many(seeds))
        assert [r.outcome for r in replies] == [IngestOutcome.CREATED] * 5
        _same_as_analyze(s.client, seeds, detector)
    finally:
        s.stop()


def test_ingest_reply_carries_the_analysis(service: Service) -> None:
    first = service.client.ingest(
        S.article("orig", S.original(), outlet=S.ORIGINAL_OUTLET, published_at="2025-03-04T09:00:00Z")
    )
    assert first.outcome is IngestOutcome.CREATED and first.analysis.matches == ()
    reply = service.client.ingest(S.article("copy", S.verbatim(), published_at="2025-03-04T10:00:00Z"))
    assert [p.id for p in reply.analysis.parents] == ["orig"]
    (match,) = reply.analysis.matches
    assert match.a == "copy" and match.b == "orig" and match.relation.value == "DUPLICATE"
    copy_text = S.verbatim()
    orig_text = S.original()
    for x in match.passages:
        assert copy_text[x.a_start : x.a_end].split() == orig_text[x.b_start : x.b_end].split()
    assert reply.analysis.cluster == first.analysis.cluster


def test_find_similar_stores_nothing(loaded: Service) -> None:
    before = len(loaded.engine)
    found = loaded.client.find_similar(S.lightly_edited())
    assert len(loaded.engine) == before
    assert found.id == ""  # no id was sent
    matched = {m.b: m for m in found.matches}
    assert "orig" in matched and matched["orig"].relation.value in ("DUPLICATE", "WHOLLY_DERIVED")
    assert found.cluster == loaded.client.get_document("orig")[1].cluster
    # An untimed text near-identical to the original and its copy: nothing orders it against the
    # original, so it is in one duplicate group with them, and the copy (published after the original)
    # is never a candidate original.
    assert found.parents == ()
    group = found.duplicate_group
    assert group is not None
    assert set(group.documents) == {"", "orig", "copy"}
    assert set(group.originals) == {"", "orig"}


def test_find_similar_names_the_original_not_its_later_copy(service: Service) -> None:
    """The original stored, then a copy of it; FindSimilar on the text, with and without a time."""
    c = service.client
    c.ingest(S.article("orig", S.original(), outlet=S.ORIGINAL_OUTLET, published_at="2025-03-04T08:00:00Z"))
    c.ingest(
        S.article("copy", S.verbatim(), outlet=S.REPUBLISHER_OUTLET, published_at="2025-03-04T10:15:00Z")
    )
    later = c.find_similar(S.article("query", S.lightly_edited(), published_at="2025-03-04T12:00:00Z"))
    (parent,) = later.parents
    assert parent.id == "orig" and parent.alternatives == ()
    assert any("published earlier" in e for e in parent.evidence)
    assert any("copy" in e and "which copy it" in e for e in parent.evidence)
    assert not any("input" in e for e in parent.evidence)
    untimed = c.find_similar(Article("query", S.original()))
    assert all(p.id != "copy" for p in untimed.parents)
    assert untimed.duplicate_group is not None and "copy" not in untimed.duplicate_group.originals


def test_find_similar_with_a_stored_id_leaves_that_article_out(loaded: Service) -> None:
    found = loaded.client.find_similar(Article("copy", S.verbatim()))
    assert "copy" not in {m.b for m in found.matches}
    assert "orig" in {m.b for m in found.matches}


def test_concurrent_find_similar_answers_as_one_at_a_time(loaded: Service) -> None:
    """Queries read the engine side by side (a readers-writer lock), while ingest and delete write
    alone: answers under concurrency, with writes in between, equal the answers given one at a time."""
    engine = loaded.engine
    queries = [
        Article("q1", S.lightly_edited()),
        Article("q2", S.trimmed(0.5)),
        Article("q3", S.paraphrased()),
        Article("copy", S.verbatim()),
    ]
    expected = [engine.find_similar(q) for q in queries]
    errors: list[BaseException] = []
    answers: list[tuple[int, object]] = []

    def ask(i: int) -> None:
        try:
            for _ in range(3):
                answers.append((i, engine.find_similar(queries[i])))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def write() -> None:
        try:
            for n in range(3):  # an unrelated article comes and goes while the queries run
                engine.ingest(Article(f"weather{n}", "Snow fell on the northern passes overnight. " * 5))
                engine.delete(f"weather{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(queries))]
    threads.append(threading.Thread(target=write))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(answers) == 3 * len(queries)
    for i, got in answers:
        assert got == expected[i]


def test_reingest_same_text_changes_nothing_new_text_replaces(service: Service) -> None:
    c = service.client
    c.ingest(S.article("orig", S.original(), published_at="2025-03-04T09:00:00Z"))
    c.ingest(S.article("copy", S.verbatim(), published_at="2025-03-04T10:00:00Z"))
    before = c.get_document("copy")[1]
    again = c.ingest(S.article("copy", S.verbatim(), published_at="2025-03-04T10:00:00Z"))
    assert again.outcome is IngestOutcome.UNCHANGED
    assert again.analysis == before
    replaced = c.ingest(S.article("copy", S.unrelated(), published_at="2025-03-04T10:00:00Z"))
    assert replaced.outcome is IngestOutcome.REPLACED
    assert replaced.analysis.parents == () and all(
        m.relation.value == "SAME_STORY" or not m.passages for m in replaced.analysis.matches
    )
    assert "copy" not in {m.b for m in c.get_document("orig")[1].matches if m.passages}
    article, _ = c.get_document("copy")
    assert article.text == S.unrelated()


def test_delete_removes_from_every_index(service: Service) -> None:
    c = service.client
    c.ingest(S.article("orig", S.original(), published_at="2025-03-04T09:00:00Z"))
    c.ingest(S.article("copy", S.verbatim(), published_at="2025-03-04T10:00:00Z"))
    cluster = c.get_document("orig")[1].cluster
    assert cluster is not None
    c.delete("orig")
    with pytest.raises(NotFound):
        c.get_document("orig")
    with pytest.raises(NotFound):
        c.delete("orig")
    assert "orig" not in {m.b for m in c.find_similar(S.original()).matches}
    assert c.get_document("copy")[1].parents == ()
    assert c.get_cluster(cluster).documents == ("copy",)


def test_every_error_status(service: Service) -> None:
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(service.target))
    c = service.client
    c.ingest(S.article("orig", S.original()))

    def code(call: object, request: object) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as info:
            call(request, timeout=60)  # type: ignore[operator]
        return info.value.code(), info.value.details()

    bad = {
        "empty text": pb.Document(id="x", text="  "),
        "no id": pb.Document(text="Some text."),
        "long id": pb.Document(id="x" * 300, text="Some text."),
        "too big": pb.Document(id="big", text="word " * 10_000),
        "bad date": pb.Document(id="d", text="Some text here.", published_at="yesterday at noon"),
    }
    hints = {
        "empty text": "text is empty",
        "no id": "id is empty",
        "long id": "limit is 256",
        "too big": "limit is 20000 bytes",
        "bad date": "ISO 8601",
    }
    for name, doc in bad.items():
        status, details = code(stub.IngestDocument, pb.IngestDocumentRequest(document=doc))
        assert status is grpc.StatusCode.INVALID_ARGUMENT, name
        assert hints[name] in details, (name, details)
    status, details = code(stub.ListClusters, pb.ListClustersRequest(page_token="not-ours"))
    assert status is grpc.StatusCode.INVALID_ARGUMENT and "page_token" in details
    for call, request in [
        (stub.GetDocument, pb.GetDocumentRequest(id="nope")),
        (stub.DeleteDocument, pb.DeleteDocumentRequest(id="nope")),
        (stub.GetCluster, pb.GetClusterRequest(id="nope")),
        (stub.GetLineage, pb.GetLineageRequest(id="nope")),
    ]:
        assert code(call, request)[0] is grpc.StatusCode.NOT_FOUND
    # A bad article in a stream: INVALID_ARGUMENT naming it; the ones before it are stored.
    requests = iter(
        [
            pb.StreamIngestDocumentsRequest(document=pb.Document(id="s1", text=S.dam_story())),
            pb.StreamIngestDocumentsRequest(document=pb.Document(id="s2", text="")),
        ]
    )
    status, details = code(lambda r, timeout: list(stub.StreamIngestDocuments(r, timeout=timeout)), requests)
    assert status is grpc.StatusCode.INVALID_ARGUMENT and "#1" in details
    # None of it harmed the store; the article before the bad one was stored.
    assert len(service.engine) == 2 and c.get_document("s1")[0].text == S.dam_story()
    assert c.get_document("orig")[0].text == S.original()
    with pytest.raises(InvalidArgument):
        c.find_similar(Article("q", "word " * 10_000))


def test_internal_errors_do_not_leak(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(article: Article, deadline: object = None) -> None:
        raise RuntimeError("secret detail of the server")

    monkeypatch.setattr(service.engine, "find_similar", broken)
    with pytest.raises(Internal) as info:
        service.client.find_similar("Some text to check.")
    message = str(info.value)
    assert "request id" in message
    assert "secret" not in message and "Traceback" not in message


def test_busy_server_sheds_load_and_deadlines_hold(
    tmp_path: Path, embedder: CachingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Service(tmp_path, embedder, max_inflight=1)
    release = threading.Event()
    entered = threading.Event()
    real = s.engine.find_similar

    def slow(article: Article, deadline: object = None) -> object:
        entered.set()
        release.wait(30)
        return real(article)

    monkeypatch.setattr(s.engine, "find_similar", slow)
    try:
        first = threading.Thread(target=lambda: s.client.find_similar("A first slow query."))
        first.start()
        assert entered.wait(30)
        with pytest.raises(ResourceExhausted):
            s.client.find_similar("A second query while the first runs.")
        release.set()
        first.join(30)
        release.clear()
        entered.clear()
        late = threading.Thread(target=lambda: time.sleep(1.5) or release.set())
        late.start()
        with pytest.raises(DeadlineExceeded):
            s.client._call(
                s.client._stub.FindSimilar, pb.FindSimilarRequest(document=pb.Document(text="q")), 0.5
            )
        late.join()
    finally:
        release.set()
        s.stop()


def test_pagination_and_time_filter(service: Service) -> None:
    texts = [S.original(), S.dam_story(), S.unrelated()]
    for n, text in enumerate(texts):
        service.client.ingest(Article(f"doc{n}", text))
    clusters = list(service.client.list_clusters(page_size=1))
    assert len(clusters) == len({c.id for c in clusters}) == len(service.engine.clusters()) == 3
    stub = pb_grpc.DedupServiceStub(grpc.insecure_channel(service.target))
    page = stub.ListClusters(pb.ListClustersRequest(page_size=2), timeout=30)
    assert len(page.clusters) == 2 and page.next_page_token
    rest = stub.ListClusters(pb.ListClustersRequest(page_size=2, page_token=page.next_page_token), timeout=30)
    assert len(rest.clusters) == 1 and not rest.next_page_token
    # Newest first: the last article's cluster leads.
    assert clusters[0].documents == ("doc2",)
    from datetime import UTC, datetime, timedelta

    future = datetime.now(UTC) + timedelta(days=1)
    assert list(service.client.list_clusters(start=future)) == []
    with pytest.raises(grpc.RpcError) as info:
        req = pb.ListClustersRequest(page_size=2, page_token=page.next_page_token)
        req.start_time.FromDatetime(future)
        stub.ListClusters(req, timeout=30)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_lineage_follows_derivation_both_ways(loaded: Service) -> None:
    lineage = loaded.client.lineage("orig")
    assert lineage.ancestors == ()
    children = {e.child for e in lineage.descendants}
    assert {"copy", "trim"} <= children
    for e in loaded.client.lineage("trim").ancestors:
        assert e.child == "trim" or e.child in children


def test_watch_reports_a_merge_with_the_surviving_id(tmp_path: Path, embedder: CachingEmbedder) -> None:
    # Moving single articles between clusters (re-homing) is off, so that the two halves merge as
    # clusters; the move is tested in tests/test_cluster.py.
    service = Service(tmp_path, embedder, config_from_dict({"cluster": {"rehome_margin": 1.0}}, SMALL_LIMITS))
    try:
        _watch_a_merge(service)
    finally:
        service.stop()


def _watch_a_merge(service: Service) -> None:
    events: list[object] = []
    watcher = DedupClient(service.target)
    ready = threading.Event()

    def watch() -> None:
        for ev in watcher.watch(timeout=60):
            events.append(ev)
            if ev.kind is ClusterEventKind.MERGED:  # type: ignore[attr-defined]
                return

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.5)
    ready.set()
    c = service.client
    # The two halves of the port story read too differently to join (cosine 0.51) ...
    first = S.compose(S.PORT_PARAGRAPHS[:2], None)
    second = S.compose(S.PORT_PARAGRAPHS[2:], None)
    port = c.ingest(S.article("port", first, published_at="2025-03-04T09:00:00Z")).analysis.cluster
    dam = c.ingest(S.article("dam", second, published_at="2025-03-04T09:30:00Z")).analysis.cluster
    assert port != dam
    # ... the whole story joins the first half's cluster, and the middle of it then brings that
    # cluster close enough on average to the second half's to merge; the older id survives.
    whole = c.ingest(S.article("stitched", S.original(), published_at="2025-03-04T12:00:00Z"))
    middle = S.compose(S.PORT_PARAGRAPHS[1:3], None)
    last = c.ingest(S.article("middle", middle, published_at="2025-03-04T13:00:00Z"))
    t.join(60)
    watcher.close()
    kinds = [e.kind for e in events]  # type: ignore[attr-defined]
    assert kinds[:2] == [ClusterEventKind.CREATED, ClusterEventKind.CREATED]
    merged = [e for e in events if e.kind is ClusterEventKind.MERGED]  # type: ignore[attr-defined]
    assert len(merged) == 1
    assert merged[0].cluster == port and merged[0].merged == (dam,)  # type: ignore[attr-defined]
    assert merged[0].document == "middle"  # type: ignore[attr-defined]
    assert whole.analysis.cluster == port and last.analysis.cluster == port
    assert set(c.get_cluster(port).documents) == {"port", "dam", "stitched", "middle"}
    with pytest.raises(NotFound):
        c.get_cluster(dam)


def test_health_and_reflection(service: Service) -> None:
    channel = grpc.insecure_channel(service.target)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "dedup.v1.DedupService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert {"dedup.v1.DedupService", "grpc.health.v1.Health"} <= services
    method_names = {m.name for m in db.FindFileContainingSymbol("dedup.v1.DedupService").service[0].method}
    assert {
        "IngestDocument",
        "BatchIngestDocuments",
        "StreamIngestDocuments",
        "FindSimilar",
        "WatchClusters",
        "ListClusters",
    } <= method_names


def test_command_line_against_the_server(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dedup.cli import main

    path = tmp_path / "in.jsonl"
    rows = [
        {
            "id": "orig",
            "text": S.original(),
            "outlet": S.ORIGINAL_OUTLET,
            "published_at": "2025-03-04T09:00:00Z",
        },
        {"id": "copy", "text": S.verbatim(), "published_at": "2025-03-04T10:00:00Z"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["ingest", "--server", service.target, str(path), "-q"]) == 0
    ingested = json.loads(capsys.readouterr().out)
    assert ingested["ingested"] == 2 and ingested["outcomes"] == {"CREATED": 2}
    query = tmp_path / "draft.txt"
    query.write_text(S.lightly_edited(), encoding="utf-8")
    assert main(["query", "--server", service.target, str(query)]) == 0
    (found,) = json.loads(capsys.readouterr().out)
    assert {m["b"] for m in found["matches"]} == {"orig", "copy"}
    assert main(["cluster", "--server", service.target, found["cluster"]]) == 0
    cluster = json.loads(capsys.readouterr().out)
    assert set(cluster["documents"]) == {"orig", "copy"} and cluster["roots"] == ["orig"]
    assert main(["cluster", "--server", service.target, "nope"]) == 2
    assert "NOT_FOUND" in capsys.readouterr().err


def test_saved_indexes_are_used_only_with_the_same_hashes(
    tmp_path: Path, embedder: CachingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes saved beside the store are read at the next start, unless the word and shingle hashes
    changed since they were saved (another dedup version): then they are rebuilt from the store."""
    import dedup.engine_state

    def start() -> Engine:
        return Engine(SMALL_LIMITS, embedder, SqliteStore(tmp_path / "d.sqlite3"), index_dir=tmp_path / "ix")

    first = start()
    first.ingest_many(fixture_articles()[:3])
    first.close()
    again = start()
    assert again.indexes_loaded
    expected = again.find_similar(S.article("q", S.verbatim()))
    again.close()
    monkeypatch.setattr(dedup.engine_state, "HASH_VERSION", dedup.engine_state.HASH_VERSION + 1)
    rebuilt = start()
    assert not rebuilt.indexes_loaded
    assert rebuilt.find_similar(S.article("q", S.verbatim())) == expected
    rebuilt.close()


def test_warm_up_stores_nothing(tmp_path: Path, embedder: CachingEmbedder) -> None:
    """The server warms the compiled loops up before it is ready: that must leave no trace."""
    engine = Engine(SMALL_LIMITS, embedder, SqliteStore(tmp_path / "w.sqlite3"))
    engine.warm_up()
    assert len(engine) == 0
    assert engine.counters == {
        "candidate_pairs": 0,
        "documents_reloaded": 0,
        "sentences_embedded": 0,
        "writes_retried": 0,
    }
    assert engine.embedding_seconds == 0.0
    assert engine.store.load().documents == []
    engine.ingest_many(fixture_articles()[:2])
    assert len(engine) == 2
    engine.close()


def test_stored_sentences_are_matched_and_removed_without_kept_signatures(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    """Stored articles do not keep their sentence signatures (they cost 15 KB an article): sharing an
    embedding with a near-equal stored sentence, and taking a deleted or replaced article's sentences
    out of the sentence index, sign them again from their shingles, also after a restart that read
    saved indexes (and so signed no sentence at all)."""

    def start() -> Engine:
        return Engine(SMALL_LIMITS, embedder, SqliteStore(tmp_path / "s.sqlite3"), index_dir=tmp_path / "ix")

    engine = start()
    engine.ingest_many(fixture_articles()[:1])
    paragraph = " ".join(" ".join(p) for p in S.PORT_PARAGRAPHS[:2])
    near = paragraph.replace("by midday.", "by noon.")  # one sentence's last word: through the sentence LSH
    assert near != paragraph
    engine.ingest(S.article("near", near))
    assert engine.last_embedding_stats["embedded"] == 0  # every sentence shares a stored embedding
    assert "orig" in {m.b for m in engine.find_similar(S.article("q", paragraph)).matches if m.passages}
    engine.save_indexes()
    engine.close()
    engine = start()
    assert engine.indexes_loaded
    engine.delete("orig")
    engine.ingest(S.article("near", S.unrelated()))  # replaced
    assert len(engine) == 1
    assert not [m for m in engine.find_similar(S.article("q", paragraph)).matches if m.passages]
    assert engine._article_index.sentences() == len(engine._resident.get("near").sentences)
    engine.close()


LEDGER = "Fernhill Ledger"  # an outlet no list knows: named in an article before any of its own arrives
LEDGER_STORY = (
    f"Flooding closed the valley road above Millbrook on Tuesday, the {LEDGER} reported. Crews from two "
    "counties cleared fallen trees through the night, and the road reopened to cars at dawn. Lorries must "
    "wait until engineers have checked the culvert under the old mill bridge, which the water undercut."
)


def _stream_and_answers(engine: Engine) -> dict[str, object]:
    """Ingest one by one (the cited outlet arrives after the article citing it), replace, delete and
    query; every answer the engine then gives."""
    known = {a.id: a for a in fixture_articles()}
    arrivals = [
        known["cite"],
        S.article("ledger", LEDGER_STORY),
        known["dam"],
        S.article("beetle", S.unrelated(), outlet=LEDGER, published_at="2025-03-04T09:30:00Z"),
        known["orig"],
        known["copy"],
        known["trim"],
        S.article("edit", S.lightly_edited(), published_at="2025-03-04T13:00:00Z"),
        S.article("para", S.paraphrased(), published_at="2025-03-04T14:00:00Z"),
        S.article("stitch", S.stitched(), published_at="2025-03-04T15:00:00Z"),
    ]
    events = [engine.ingest(a).outcome for a in arrivals]
    events.append(
        engine.ingest(S.article("trim", S.reordered(), published_at="2025-03-04T11:00:00Z")).outcome
    )
    engine.delete("copy")
    probes = [engine.find_similar(S.article("q", S.trimmed(0.8))), engine.find_similar(arrivals[5])]
    ids = engine.documents()
    return {
        "events": events,
        "documents": ids,
        "texts": [engine.document(d)[0] for d in ids],
        "analyses": [engine.analysis(d) for d in ids],
        "pairs": engine.pairs(),
        "clusters": [engine.cluster(c.id) for c in engine.clusters()],
        "lineage": [engine.lineage(d) for d in ids],
        "probes": probes,
    }


def test_articles_not_kept_in_memory_are_prepared_again_with_the_same_answers(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    """With one prepared article kept in memory, every match, replacement, deletion and query reads the
    articles it needs back from the store; the answers are those of an engine that keeps them all."""

    def engine(name: str, resident: int) -> Engine:
        config = dataclasses.replace(SMALL_LIMITS, resident_documents=resident)
        ticks = itertools.count(1_000)
        return Engine(config, embedder, SqliteStore(tmp_path / f"{name}.sqlite3"), clock=lambda: next(ticks))

    everything, lean = engine("all", 1000), engine("one", 1)
    expected = _stream_and_answers(everything)
    assert _stream_and_answers(lean) == expected
    assert everything.counters["documents_reloaded"] == 0
    assert lean.counters["documents_reloaded"] > 10
    assert len(lean._resident) == 1
    analyses = {a.id: a for a in cast(list[DocumentAnalysis], expected["analyses"])}
    # "cite" was stored (and, in the lean engine, dropped from memory) before the outlet it names arrived
    assert [p.id for p in analyses["cite"].parents] == ["orig"]
    assert any(S.ORIGINAL_OUTLET in e for e in analyses["cite"].parents[0].evidence)
    assert {p.id for p in analyses["stitch"].parents} == {"orig", "dam"}
    assert [e.name for e in analyses["ledger"].external_sources] == [LEDGER]


def test_a_restart_with_saved_indexes_prepares_no_stored_article(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    """Saved indexes hold what preparing every stored article would give at start (the sentence index and
    the map of stored sentences by their words); articles are prepared when a match first needs them."""

    def start() -> Engine:
        return Engine(SMALL_LIMITS, embedder, SqliteStore(tmp_path / "r.sqlite3"), index_dir=tmp_path / "ix")

    engine = start()
    engine.ingest_many(fixture_articles())
    engine.close()
    engine = start()
    assert engine.indexes_loaded and len(engine._resident) == 0
    result = engine.ingest(S.article("copy-2", S.verbatim()))
    assert engine.last_embedding_stats["embedded"] == 0  # every sentence found stored, by its words
    assert {m.b for m in result.analysis.matches} >= {"orig", "copy"}
    assert 0 < engine.counters["documents_reloaded"] < len(fixture_articles())
    engine.close()


def test_a_restart_that_rebuilds_the_indexes_keeps_only_the_resident_articles(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    config = dataclasses.replace(SMALL_LIMITS, resident_documents=2)

    def start() -> Engine:
        return Engine(config, embedder, SqliteStore(tmp_path / "b.sqlite3"))  # no saved indexes

    engine = start()
    engine.ingest_many(fixture_articles())
    before = [engine.analysis(d) for d in engine.documents()]
    probe = engine.find_similar(S.article("q", S.trimmed(0.8)))
    engine.close()
    engine = start()
    assert not engine.indexes_loaded and len(engine._resident) == 2
    assert [engine.analysis(d) for d in engine.documents()] == before
    assert engine.find_similar(S.article("q", S.trimmed(0.8))) == probe
    engine.close()
