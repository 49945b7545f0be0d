"""Nothing acknowledged is lost: a failed write leaves the engine as the store has it, sequence numbers are
never used twice (not even by a second writer on the same database), and saved indexes are data bound
to the database and the settings they were built from."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.article import Article
from dedup.config import EmbedConfig, config_from_dict
from dedup.embed import CachingEmbedder, default_embedder
from dedup.engine import Engine
from dedup.engine_state import INDEX_FILE, LEGACY_INDEX_FILE
from dedup.errors import Aborted, ResourceExhausted
from dedup.results import IngestOutcome
from dedup.savefile import read_arrays, write_arrays
from dedup.store import Change, SqliteStore, Store
from tests.fixtures import stories as S
from tests.fixtures.state import engine_state, same_sums

SMALL = config_from_dict({"limits": {"max_text_bytes": 20_000}})


class FailingStore:
    """A store whose commits fail while ``fail`` holds an error (a full disk, a lost connection): the
    change is not stored. Everything else is the real store's."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.fail: BaseException | None = None
        self.commits = 0

    def commit(self, change: Change) -> int:
        if self.fail is not None:
            raise self.fail
        self.commits += 1
        return self.inner.commit(change)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _arrivals() -> list[tuple[str, Any]]:
    """Writes that touch every part of the engine's state: a citation before its outlet arrives, a
    copy, a stitched piece joining two stories, a replacement and a deletion."""
    return [
        ("ingest", S.article("cite", S.citing(), published_at="2025-03-04T12:00:00Z")),
        ("ingest", S.article("dam", S.dam_story(), published_at="2025-03-04T08:00:00Z")),
        (
            "ingest",
            S.article("orig", S.original(), outlet=S.ORIGINAL_OUTLET, published_at="2025-03-04T09:00:00Z"),
        ),
        (
            "ingest",
            S.article("copy", S.verbatim(), outlet=S.REPUBLISHER_OUTLET, published_at="2025-03-04T10:00:00Z"),
        ),
        ("ingest", S.article("stitch", S.stitched(), published_at="2025-03-04T15:00:00Z")),
        ("ingest", S.article("trim", S.trimmed(), published_at="2025-03-04T11:00:00Z")),
        ("ingest", S.article("copy", S.reordered(), published_at="2025-03-04T10:00:00Z")),  # replaced
        ("delete", "orig"),
        ("ingest", S.article("beetle", S.unrelated(), outlet="Fernhill Ledger")),
    ]


def _as_loaded(state: dict[str, Any]) -> dict[str, Any]:
    """What a fresh start gives too. Two things a running engine holds differ from a fresh start after
    deletions and replacements, failed writes or not: it keeps knowing the outlet of an article deleted
    since it started (citations are found with it) until it restarts, and its map of stored sentences by
    their words (to reuse their embeddings) loses a deleted article's sentences where a fresh start maps
    them to another article holding them (``_same_sentences`` checks that part)."""
    return {k: v for k, v in state.items() if k not in ("outlets", "sentence_by_words")}


def _same_sentences(running: dict[str, Any], fresh: dict[str, Any]) -> bool:
    """The running engine's map of stored sentences is part of the fresh one's, and names stored articles."""
    live, loaded = running["sentence_by_words"], fresh["sentence_by_words"]
    return live.items() <= loaded.items() and {d for d, _ in loaded.values()} <= set(running["records"])


def _run(engine: Engine, op: tuple[str, Any]) -> None:
    kind, what = op
    if kind == "ingest":
        engine.ingest(what)
    else:
        engine.delete(what)


def test_a_failed_commit_leaves_memory_as_the_store_has_it(tmp_path: Path, embedder: CachingEmbedder) -> None:
    """Every write is first tried with a commit that fails: memory is then what it was before, and what
    a fresh engine loads from the store; the write then succeeds, and a new article never takes a
    sequence number that was given before (even to one that was never stored)."""
    path = tmp_path / "f.sqlite3"
    store = FailingStore(SqliteStore(path))
    engine = Engine(SMALL, embedder, store)  # type: ignore[arg-type]
    given: set[int] = set()
    for n, op in enumerate(_arrivals()):
        before = engine_state(engine)
        store.fail = ResourceExhausted("the disk is full (injected)") if n % 2 else RuntimeError("injected")
        with pytest.raises(type(store.fail)):
            _run(engine, op)
        assert engine_state(engine) == before, op
        fresh = Engine(SMALL, embedder, SqliteStore(path))
        assert _as_loaded(engine_state(fresh)) == _as_loaded(engine_state(engine)), op
        assert _same_sentences(engine_state(engine), engine_state(fresh))
        assert same_sums(fresh, engine)
        fresh.store.close()
        store.fail = None
        given |= {engine._entries.seq(d) for d in engine.documents()}
        tried = engine._next_seq - 1  # the number the failed ingest was given
        _run(engine, op)
        if op[0] == "ingest":
            seq = engine._entries.seq(op[1].id)
            assert seq not in given and seq > tried
            given.add(seq)
    assert store.commits == len(_arrivals())
    final = Engine(SMALL, embedder, SqliteStore(path))
    assert _as_loaded(engine_state(final)) == _as_loaded(engine_state(engine))
    assert sorted(final.documents()) == ["beetle", "cite", "copy", "dam", "stitch", "trim"]
    final.store.close()


def test_a_failure_half_way_through_a_write_is_undone(tmp_path: Path, embedder: CachingEmbedder) -> None:
    """Not only the commit: a write that fails after it has changed the clusters and the indexes (here,
    while deriving parents) leaves nothing of it behind."""
    engine = Engine(SMALL, embedder, SqliteStore(tmp_path / "h.sqlite3"))
    for _, article in _arrivals()[:4]:
        engine.ingest(article)
    before = engine_state(engine)
    real = engine._deriving.derive_for

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("injected")

    engine._deriving.derive_for = broken  # type: ignore[method-assign]
    with pytest.raises(MemoryError):
        engine.ingest(S.article("stitch", S.stitched(), published_at="2025-03-04T15:00:00Z"))
    with pytest.raises(MemoryError):
        engine.ingest(S.article("copy", S.reordered()))  # a replacement
    assert engine_state(engine) == before
    engine._deriving.derive_for = real  # type: ignore[method-assign]
    assert engine.ingest(S.article("copy", S.reordered())).outcome is IngestOutcome.REPLACED
    engine.close()


# -- one sequence number per article, whoever writes ----------------------------------------------------


def test_two_engines_on_one_database_lose_no_acknowledged_article(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    """Two engines (two servers that got past the directory lock) on one database, ingesting in turn:
    every article either acknowledged is stored under its own number and matched after a restart; an
    article one of them could only store over the other's is refused, and the other's stays."""
    path = tmp_path / "two.sqlite3"
    engines = [Engine(SMALL, embedder, SqliteStore(path)) for _ in range(2)]
    texts = {
        "orig": S.original(),
        "dam": S.dam_story(),
        "beetle": S.unrelated(),
        "para": S.paraphrased(),
        "stitch": S.stitched(),
        "edit": S.lightly_edited(),
    }
    for n, (doc_id, text) in enumerate(texts.items()):
        assert engines[n % 2].ingest(Article(doc_id, text)).outcome is IngestOutcome.CREATED
    with pytest.raises(Aborted):
        engines[1].ingest(Article("orig", S.unrelated()))  # the first's article, unknown to the second
    # A race: the second read the next free number before the first committed its article.
    stale = engines[1].store.next_seq()
    engines[0].ingest(Article("trim", S.trimmed()))
    engines[1].store.next_seq = lambda: stale  # type: ignore[method-assign]
    engines[1]._state.next_seq = stale
    before = engine_state(engines[1])
    with pytest.raises(Aborted, match="another process"):
        engines[1].ingest(Article("copy", S.verbatim()))
    assert engine_state(engines[1]) == before
    for engine in engines:
        engine.store.close()
    restarted = Engine(SMALL, embedder, SqliteStore(path))
    stored = restarted.store.load().documents
    assert sorted(d.id for d in stored) == sorted([*texts, "trim"])
    assert len({d.seq for d in stored}) == len(stored)
    assert restarted.document("orig")[0].text == S.original()
    assert [c for c in restarted.clusters() if not restarted.cluster(c.id).documents] == []
    for doc_id, text in texts.items():
        found = restarted.find_similar(Article("query", text))
        assert doc_id in {m.b for m in found.matches if m.passages}, doc_id
    restarted.close()


# -- saved indexes --------------------------------------------------------------------------------------


def _start(tmp: Path, embedder: CachingEmbedder, name: str) -> Engine:
    return Engine(SMALL, embedder, SqliteStore(tmp / name / "dedup.sqlite3"), index_dir=tmp / name / "ix")


def _answers(engine: Engine) -> list[object]:
    return [engine.find_similar(Article("q", text)) for text in (S.verbatim(), S.trimmed(0.5), S.unrelated())]


@pytest.fixture
def saved(tmp_path: Path, embedder: CachingEmbedder) -> tuple[Path, list[object]]:
    """A data directory with three articles and its saved indexes; the answers with them."""
    engine = _start(tmp_path, embedder, "a")
    engine.ingest_many(
        [Article("orig", S.original()), Article("dam", S.dam_story()), Article("b", S.unrelated())]
    )
    engine.close()
    engine = _start(tmp_path, embedder, "a")
    assert engine.indexes_loaded
    answers = _answers(engine)
    engine.close()
    return tmp_path / "a" / "ix" / INDEX_FILE, answers


def test_saved_indexes_are_plain_arrays_bound_to_their_database(saved: tuple[Path, list[object]]) -> None:
    path, _ = saved
    header, arrays = read_arrays(path)
    assert set(header["binding"]) == {"database_id", "generation", "fingerprint"}
    assert all(not a.dtype.hasobject for a in arrays.values())
    with zipfile.ZipFile(path) as z:
        assert all(name.endswith(".npy") for name in z.namelist())


def test_indexes_from_another_data_directory_are_rebuilt(
    tmp_path: Path, embedder: CachingEmbedder, saved: tuple[Path, list[object]]
) -> None:
    """Another directory with as many writes (the same generation), given the first one's indexes: they
    are not read, and its own articles are matched."""
    path, _ = saved
    other = _start(tmp_path, embedder, "b")
    other.ingest_many(
        [Article("x1", S.lightly_edited()), Article("x2", S.paraphrased()), Article("x3", S.citing())]
    )
    other.close()
    shutil.copy(path, tmp_path / "b" / "ix" / INDEX_FILE)
    other = _start(tmp_path, embedder, "b")
    assert not other.indexes_loaded
    assert "x1" in {m.b for m in other.find_similar(Article("q", S.lightly_edited())).matches}
    other.close()
    again = _start(tmp_path, embedder, "b")  # its own, saved at that close: read
    assert again.indexes_loaded
    again.close()


def test_indexes_of_other_settings_are_rebuilt(
    tmp_path: Path, embedder: CachingEmbedder, saved: tuple[Path, list[object]]
) -> None:
    _, answers = saved
    config = config_from_dict({"align": {"candidate_neighbours": 4}}, SMALL)
    engine = Engine(
        config, embedder, SqliteStore(tmp_path / "a" / "dedup.sqlite3"), index_dir=tmp_path / "a" / "ix"
    )
    assert not engine.indexes_loaded
    engine.store.close()
    engine = _start(tmp_path, embedder, "a")  # the saved ones are still there, and still fit the default
    assert engine.indexes_loaded and _answers(engine) == answers
    engine.store.close()


def test_indexes_are_read_under_another_model_batch_size(
    tmp_path: Path, embedder: CachingEmbedder, saved: tuple[Path, list[object]]
) -> None:
    """The model's batch size says how sentences are run through it, not what the indexes hold: a
    restart with another one reads the saved indexes and answers as before."""
    _, answers = saved
    config = config_from_dict({"embed": {"batch_size": 3}}, SMALL)
    engine = Engine(
        config, embedder, SqliteStore(tmp_path / "a" / "dedup.sqlite3"), index_dir=tmp_path / "a" / "ix"
    )
    assert engine.indexes_loaded and _answers(engine) == answers
    engine.store.close()


def test_indexes_are_read_under_another_model_backend(tmp_path: Path, embedder: CachingEmbedder) -> None:
    """A data directory written with the model in float32 (``onnx``, the default before int8) opens
    under another backend without rebuilding its indexes, which hold the vectors its store holds, and
    its articles are matched as before: a copy of one is found, and a new article is stored beside
    them."""
    fp32 = default_embedder(EmbedConfig(backend="onnx"))
    before = Engine(
        config_from_dict({"embed": {"backend": "onnx"}}, SMALL),
        fp32,
        SqliteStore(tmp_path / "b" / "dedup.sqlite3"),
        index_dir=tmp_path / "b" / "ix",
    )
    before.ingest_many([Article("orig", S.original()), Article("b", S.unrelated())])
    before.close()
    after = _start(tmp_path, embedder, "b")  # the default backend (int8)
    assert after.config.embed.backend != "onnx" and after.indexes_loaded
    assert "orig" in {m.b for m in after.find_similar(Article("q", S.verbatim())).matches}
    [stored] = after.ingest_many([Article("trim", S.trimmed(0.5))])
    assert "orig" in {m.b for m in stored.analysis.matches}
    after.close()


class _Marker:
    """Unpickling this creates a file: a stand-in for any command a crafted pickle would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.touch, (self.path,))


def _write_npz(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """An .npz as ``write_arrays`` lays it out, but with whatever header and arrays (pickled ones too)."""
    encoded = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w") as z:
        for name, a in [("header", encoded), *arrays.items()]:
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, a, allow_pickle=True)


def _crafted(path: Path, marker: Path, saved: Path) -> list[tuple[str, Callable[[], None]]]:
    """Ways to put something other than our own arrays where the indexes live."""
    header, arrays = read_arrays(saved)

    def pickle_file() -> None:
        path.write_bytes(
            pickle.dumps({"generation": header["binding"]["generation"], "doc_lsh": _Marker(marker)})
        )

    def pickled_array() -> None:  # the right header, and an array that is a pickle
        _write_npz(path, header, {**arrays, "doc_lsh.params": np.array([_Marker(marker)], dtype=object)})

    def truncated() -> None:
        path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])

    def garbage() -> None:
        path.write_bytes(bytes(range(256)) * 64)

    def edited() -> None:  # an array changed after the checksum was taken
        _write_npz(path, header, {**arrays, "words.sentences": arrays["words.sentences"] + 1})

    def inconsistent() -> None:  # a whole file, checksum and all, whose arrays do not fit together
        write_arrays(path, {"binding": header["binding"]}, {**arrays, "words.seqs": arrays["words.seqs"][1:]})

    return [
        ("pickle", pickle_file),
        ("pickled array", pickled_array),
        ("truncated", truncated),
        ("garbage", garbage),
        ("edited", edited),
        ("inconsistent", inconsistent),
    ]


def test_crafted_or_damaged_index_files_are_rebuilt_and_nothing_runs(
    tmp_path: Path, embedder: CachingEmbedder, saved: tuple[Path, list[object]]
) -> None:
    path, answers = saved
    good = tmp_path / "good.npz"
    shutil.copy(path, good)
    marker = tmp_path / "pwned"
    for name, craft in _crafted(path, marker, good):
        craft()
        (path.parent / LEGACY_INDEX_FILE).write_bytes(pickle.dumps(_Marker(marker)))  # the old file too
        engine = _start(tmp_path, embedder, "a")
        assert not marker.exists(), name
        assert not engine.indexes_loaded, name
        assert _answers(engine) == answers, name
        engine.store.close()
    assert not marker.exists()
