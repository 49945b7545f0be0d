"""Batch analysis without a model prepares its articles in forked worker processes while the engine
matches the ones before them (``dedup.prepare_workers``): the workers prepare what the engine would,
the analysis answers the same with them as without, an article over a limit is refused as before, and
no worker is left running."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.article import Article
from dedup.errors import InvalidArgument
from dedup.pipeline import Detector
from dedup.preparation import prepare_signed
from dedup.prepare_workers import CHUNK, PrepareWorkers
from tests.test_replicas import LEXICAL, corpus

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2,
    reason="workers are forked on Linux, with two cores",
)


def _many(times: int = 7) -> list[Article]:
    """The replicas' corpus (copies, rewrites, a stitched piece, two stories) ``times`` over, each
    repetition's articles with ids and a closing line of their own: 70 articles, more than a few chunks."""
    return [
        replace(a, id=f"{a.id}-{n}", text=f"{a.text}\n\nFiled as edition {n} of the day.")
        for n in range(times)
        for a in corpus()
    ]


def _answers(analysis: Any) -> dict[str, Any]:
    out = analysis.to_dict()
    stats = out.pop("stats")
    return {**out, "sentences": stats["sentences"], "pairs_found": stats["pairs"]}


def test_workers_prepare_what_the_engine_prepares() -> None:
    articles = _many()[: 2 * CHUNK + 5]  # chunks that end inside the batch, and a short last one
    workers = PrepareWorkers(LEXICAL, 1)
    try:
        got = list(workers.prepare(articles, 5, ["Valley Post"]))
    finally:
        workers.close()
    want = prepare_signed(articles, 5, LEXICAL, ["Valley Post"])
    assert [(d.id, d.order) for d in got] == [(a.id, 5 + n) for n, a in enumerate(articles)]
    for g, w in zip(got, want, strict=True):
        assert g.sentences == w.sentences and g.citations == w.citations and g.words == w.words
        assert g.doc_minhash is not None and w.doc_minhash is not None
        assert np.array_equal(g.doc_minhash, w.doc_minhash)
        assert np.array_equal(g.sentence_minhashes, w.sentence_minhashes)


def test_batch_analysis_answers_the_same_with_workers_as_without(monkeypatch: pytest.MonkeyPatch) -> None:
    articles = _many()
    used: list[int] = []
    real = PrepareWorkers.prepare

    def prepare(self, batch, first_seq, outlets):  # type: ignore[no-untyped-def]
        used.append(len(batch))
        return real(self, batch, first_seq, outlets)

    monkeypatch.setattr(PrepareWorkers, "prepare", prepare)
    # The test process may run threads of its own (earlier tests' servers): workers are taken here anyway.
    monkeypatch.setattr(PrepareWorkers, "available", staticmethod(lambda: True))
    with_workers = _answers(Detector(LEXICAL).analyze(articles))
    assert used == [len(articles)]  # the whole batch went to the workers
    assert multiprocessing.active_children() == []  # and they were stopped
    alone = _answers(Detector(LEXICAL, workers=False).analyze(articles))
    assert used == [len(articles)]  # not this time: the caller said so
    assert with_workers == alone
    assert len(with_workers["pairs"]) > len(articles)  # copies were found: the comparison means something


def test_an_article_over_the_sentence_limit_is_refused_with_workers_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PrepareWorkers, "available", staticmethod(lambda: True))
    articles = _many()
    long = " ".join(f"Sentence number {n} of a very long article." for n in range(80))
    articles.insert(50, Article("too-long", long))
    config = replace(LEXICAL, limits=replace(LEXICAL.limits, max_sentences=60))
    with pytest.raises(InvalidArgument, match=r"too-long.*limits\.max_sentences"):
        Detector(config).analyze(articles)
    assert multiprocessing.active_children() == []


def test_no_workers_are_forked_while_another_thread_runs() -> None:
    """Forking copies a lock another thread holds, held for good in the child: a process with threads
    besides the caller's prepares in the engine instead."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not PrepareWorkers.available()
    finally:
        stop.set()
        other.join()


def test_dedup_analyze_answers_as_the_library_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dedup analyze --model none`, a process of one thread, forks its worker and answers what
    analysing in one process answers."""
    articles = _many()
    source = tmp_path / "articles.jsonl"
    source.write_text(
        "".join(json.dumps({"id": a.id, "text": a.text, "outlet": a.outlet}) + "\n" for a in articles),
        encoding="utf-8",
    )
    out = tmp_path / "out.json"
    command = [sys.executable, "-m", "dedup", "analyze", str(source), "--format", "json", "--out", str(out)]
    subprocess.run([*command, "-q", "--model", "none"], check=True, timeout=300)
    monkeypatch.setattr(PrepareWorkers, "available", staticmethod(lambda: False))
    alone = Detector(LEXICAL).analyze([replace(a, published_at=None, title=None, url=None) for a in articles])
    got = json.loads(out.read_text(encoding="utf-8"))
    got.pop("stats")
    want = json.loads(json.dumps(alone.to_dict()))
    want.pop("stats")
    assert got == want
