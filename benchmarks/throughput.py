"""Throughput, latency and memory of dedup on the paths users run, beside what a user would use instead.

    python -m benchmarks.throughput --out benchmarks/results/throughput.json \\
        --plot benchmarks/results/throughput.png            # the full run
    python -m benchmarks.throughput --skip torch memory scale engine-scale   # the summary table alone

One JSON object out (and to --out). Everything is measured in this one run, on the same articles.

THE ARTICLES

The syndication benchmark's generator (benchmarks/syndication.py) over news_ecb, with each base
article lengthened by joining same-story ECB+ articles (ECB+ articles average 370 words): base
articles, verbatim copies, trims, light edits, updates, rule-based rewrites, stitched articles and
articles citing outside sources, with the generator's truth, so quality is scored on the same run.
For the engine scale run the corpus is repeated, each repetition mapping two words in three onto
other words of the corpus's vocabulary (a seeded mapping per repetition): copies stay copies inside
a repetition, repetitions share almost no 5-word shingles with each other, as distinct stories
would, and the vocabulary stays that of news.

WHAT IS MEASURED

- ``baselines``: what a user would otherwise run, on the same articles: stock datasketch (``MinHash``
  with its default SHA-1 hashing fed 5-word shingle strings, ``MinHashLSH``) and rensa (``RMinHash``,
  ``RMinHashLSH``), document-level near-duplicate candidates only (no alignment, no relations, no
  clusters, no parents), articles/s, with their recall of pairs at exact Jaccard >= 0.5.
- ``pipeline``: the library (``Detector.analyze``: the incremental engine with alignment,
  embeddings, clusters and derivation), articles/s after the model is loaded, with its syndication
  scores, with the default model (``model``: int8 weights in onnxruntime), without (``no_model``:
  ``--model none``), with ``--backend onnx`` (``float32``: the same model in float32) and with
  ``--backend torch`` (``torch``). Each run with a model reports the sentences it embedded per
  article, the model's own sentences/s here (``model_rate``: distinct sentences of the corpus in the
  engine's chunks, nothing else running) and the embedding-bound limit: that rate divided by the
  sentences embedded per article, with the share of it reached.
- ``cli``: ``dedup analyze`` in a subprocess over a JSONL file of the same articles, with and without
  the model: wall time of the whole command (start and model load included) and of its analysis,
  and whether its answers equal the library's.
- ``service``: a real ``dedup serve`` subprocess on loopback, with and without the model: ingest over
  gRPC (StreamIngestDocuments through the Python client), then FindSimilar with 1, 4 and 16
  concurrent clients (a near-copy of a stored article, and novel text), median and p99; resident
  memory of the server per stored article; the data folder's size per article.
- ``summary``: one row per path (library, CLI, service; with and without the model), with the ratio
  of each to datasketch and rensa on the same articles.
- ``scale``: at each of ``--sizes`` stored article vectors: FAISS HNSW (dedup's ``faiss:hnsw``)
  beside brute-force FAISS ``IndexFlatIP`` (dedup's default ``faiss:flat``), over vectors made from
  the corpus's real article vectors plus seeded noise, their build time, query latency and memory.
- ``engine_scale``: the engine (no model, SQLite) ingesting the repeated corpus up to
  ``--engine-sizes`` articles, with FindSimilar latency and memory at each size.
- ``engine_memory_per_article_kb``: what the engine keeps per stored article, by part (deep
  ``sys.getsizeof`` of prepared documents; signatures, embeddings and index entries from their
  shapes).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets import DEFAULT_DATA, story_of
from benchmarks.service_speed import novel_texts, percentile, start_server, stop_server
from benchmarks.syndication import Corpus, build_corpus, load_sources, pair_truth, score_dedup
from dedup.article import Article
from dedup.config import Config, EmbedConfig
from dedup.minhash import lsh_params

__all__ = ["long_sources", "main", "repeated_texts"]

_WORD = re.compile(r"(\w+)")


def _log(message: str) -> None:
    print(f"[throughput] {message}", file=sys.stderr, flush=True)


def rss_bytes() -> int:
    """Resident memory of this process (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used, user and system, all its threads (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _children_cpu_seconds() -> float:
    """CPU time this process's finished children have used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(out: dict[str, Any], cpu_s: float, wall_s: float) -> None:
    """The CPU a run used, into ``out``: per article, and as a share of the cores this process may use
    over the run's wall time (1.0: every core busy all along, so more speed needs less work, not more
    overlap)."""
    from dedup.embed import usable_cpus

    out["cpu_ms_per_article"] = round(1000 * cpu_s / out["articles"], 1)
    out["cores_busy"] = round(cpu_s / (wall_s * usable_cpus()), 3)


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 3),
        "p99_ms": round(percentile(list(values), 0.99), 3),
    }


# --- the articles ---------------------------------------------------------------------------------


def long_sources(sources: Mapping[str, Sequence[str]], min_words: int = 600) -> dict[str, list[str]]:
    """Same-story news_ecb articles joined (in id order) until each has ``min_words`` words; the id of
    the first article names the result (so the story survives). A story's leftover that cannot
    reach ``min_words`` is dropped."""
    by_story: dict[str, list[str]] = defaultdict(list)
    for doc_id in sorted(sources):
        by_story[story_of(doc_id)].append(doc_id)
    out: dict[str, list[str]] = {}
    for ids in by_story.values():
        group: list[str] = []
        sentences: list[str] = []
        for doc_id in ids:
            group.append(doc_id)
            sentences.extend(s for s in sources[doc_id] if s not in sentences)
            if sum(len(s.split()) for s in sentences) >= min_words:
                out[group[0]] = sentences
                group, sentences = [], []
    return out


def repeated_texts(texts: Sequence[str], n: int, seed: int = 0) -> Iterator[str]:
    """``n`` texts: ``texts`` as they are, then repeated with two words in three replaced, so that
    repetitions are new stories to the index. Each repetition draws its own seeded mapping of the
    corpus vocabulary onto itself: a word keeps its spelling with probability 1/3, or becomes another
    word of the vocabulary. A 5-word shingle survives a repetition with probability (1/3)^5, under
    0.5 %, and the vocabulary stays the corpus's own (inventing new words would make every
    repetition's words new to the word-hash cache, which real news, Zipfian, does not do)."""
    pieces = [_WORD.split(t) for t in texts]  # words at the odd positions, what lies between at the even
    vocab = np.array(sorted({w for p in pieces for w in p[1::2]}), dtype=object)
    respell: dict[str, str] = {}
    for i in range(n):
        rep, k = divmod(i, len(texts))
        if rep == 0:
            yield texts[k]
            continue
        if k == 0:  # a new repetition: a new mapping of the vocabulary
            rng = np.random.default_rng([seed, rep])
            keep = rng.random(len(vocab)) < 1 / 3
            mapped = np.where(keep, vocab, vocab[rng.permutation(len(vocab))])
            respell = dict(zip(vocab.tolist(), mapped.tolist(), strict=True))
        out = pieces[k].copy()
        out[1::2] = [respell[w] for w in out[1::2]]
        yield "".join(out)


# --- what a user would otherwise run ---------------------------------------------------------------


def _shingle_strings(text: str, k: int = 5) -> list[str]:
    words = _WORD.findall(text.lower())
    return [" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))]


def run_datasketch(texts: Sequence[str], threshold: float) -> tuple[float, set[tuple[int, int]]]:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    pairs: set[tuple[int, int]] = set()
    for i, text in enumerate(texts):
        m = MinHash(num_perm=128)
        for s in _shingle_strings(text):
            m.update(s.encode("utf-8"))
        pairs.update((j, i) for j in lsh.query(m))
        lsh.insert(i, m)
    return time.perf_counter() - t0, pairs


def run_rensa(texts: Sequence[str], threshold: float) -> tuple[float, set[tuple[int, int]]]:
    from rensa import RMinHash, RMinHashLSH

    bands = rensa_bands(threshold)
    t0 = time.perf_counter()
    lsh = RMinHashLSH(threshold=threshold, num_perm=128, num_bands=bands)
    pairs: set[tuple[int, int]] = set()
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=128, seed=42)
        m.update(_shingle_strings(text))
        pairs.update((j, i) for j in lsh.query(m))
        lsh.insert(i, m)
    return time.perf_counter() - t0, pairs


def rensa_bands(threshold: float, num_perm: int = 128) -> int:
    """rensa needs bands that divide the permutations: the divisor whose S-curve midpoint,
    (1/b)^(1/r), is closest to ``threshold``."""
    divisors = [b for b in range(1, num_perm + 1) if num_perm % b == 0]
    return min(divisors, key=lambda b: abs((1 / b) ** (b / num_perm) - threshold))


def _recall(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> float | None:
    return round(len(found & truth) / len(truth), 4) if truth else None


def measure_baselines(texts: Sequence[str], threshold: float) -> dict[str, Any]:
    """Articles/s of what a user would otherwise run, stock datasketch and rensa (document MinHash of
    5-word shingles, LSH query then insert), on the same texts as dedup's rows, and the recall of each
    against exact Jaccard of 5-word shingle sets (pairs at or above 0.5)."""
    truth = jaccard_pairs(texts, 0.5)
    out: dict[str, Any] = {"articles": len(texts), "threshold": threshold, "pairs_at_jaccard_0.5": len(truth)}
    return _run_lexical(texts, threshold, truth, out)


def jaccard_pairs(texts: Sequence[str], at_least: float) -> set[tuple[int, int]]:
    """Pairs (earlier, later) whose 5-word shingle sets have exact Jaccard >= ``at_least``."""
    shingle_sets = [set(_shingle_strings(t)) for t in texts]
    truth = set()
    postings: dict[str, list[int]] = defaultdict(list)  # only pairs sharing a shingle can qualify
    for i, shingles_i in enumerate(shingle_sets):
        shared: dict[int, int] = defaultdict(int)
        for sh in shingles_i:
            for j in postings[sh]:
                shared[j] += 1
            postings[sh].append(i)
        for j, n in shared.items():
            if n >= at_least * (len(shingles_i) + len(shingle_sets[j]) - n):
                truth.add((j, i))
    return truth


def _run_lexical(
    texts: Sequence[str], threshold: float, truth: set[tuple[int, int]], out: dict[str, Any], repeats: int = 3
) -> dict[str, Any]:
    runs: dict[str, Callable[[], tuple[float, set[tuple[int, int]]]]] = {
        "datasketch": lambda: run_datasketch(texts, threshold),
        "rensa": lambda: run_rensa(texts, threshold),
    }
    for name, run in runs.items():
        times = []
        for _ in range(1 if name == "datasketch" else repeats):  # the median of a few: 2 busy cores are noisy
            gc.collect()
            seconds, pairs = run()
            times.append(seconds)
        seconds = statistics.median(times)
        out[name] = {
            "seconds": round(seconds, 3),
            "runs_seconds": [round(t, 3) for t in times],
            "articles_per_second": round(len(texts) / seconds, 1),
            "recall_at_jaccard_0.5": _recall(pairs, truth),
        }
        _log(f"baseline {name}: {len(texts) / seconds:.0f} articles/s (median of {len(times)})")
    return out


# --- the whole pipeline, in the library and over gRPC --------------------------------------------


def _quality(corpus: Corpus, analysis: Any) -> dict[str, Any]:
    scores = score_dedup(corpus, pair_truth(corpus), analysis, True)
    return {
        "pair_f1": scores["pairs"]["any_reuse"]["f1"],
        "pair_precision": scores["pairs"]["any_reuse"]["precision"],
        "pair_recall": scores["pairs"]["any_reuse"]["recall"],
        "parent_accuracy": scores["parents"]["derived"],
        "cluster_ari_stories": scores["clusters"]["stories"]["ari"],
    }


def model_rate(config: Config, texts: Sequence[str], sample: int = 2048) -> float | None:
    """The model's own sentences/s on this machine: up to ``sample`` distinct sentences of ``texts``
    through the model ``config`` names (no cache), in the engine's chunks (``dedup.embed.Encoding``),
    nothing else running in the process. None without a model."""
    from dedup.document import prepare
    from dedup.embed import CachingEmbedder, Encoding, NullEmbedder, default_embedder
    from dedup.preparation import EMBED_CHUNK

    model = default_embedder(config.embed)
    if isinstance(model, NullEmbedder):
        return None
    inner = model.inner if isinstance(model, CachingEmbedder) else model
    seen: dict[str, None] = {}
    for n, text in enumerate(texts):
        doc = prepare(Article(str(n), text), n, config)
        seen.update(dict.fromkeys(doc.sentence_text(i) for i in range(len(doc.sentences))))
        if len(seen) >= sample:
            break
    sentences = list(seen)[:sample]
    inner.encode(sentences[:64])  # load the model before the clock
    t0 = time.perf_counter()
    Encoding(inner, sentences, EMBED_CHUNK).run()
    return round(len(sentences) / (time.perf_counter() - t0), 1)


def _limit(out: dict[str, Any], rate: float | None, embedded_per_article: float | None) -> None:
    """The embedding-bound limit (the model's sentences/s over the sentences embedded per article)
    beside the rate reached, into ``out``."""
    out["model_sentences_per_second"] = rate
    out["embedded_per_article"] = embedded_per_article
    if rate and embedded_per_article:
        out["limit_articles_per_second"] = round(rate / embedded_per_article, 1)
        out["share_of_limit"] = round(out["articles_per_second"] / out["limit_articles_per_second"], 3)


def measure_pipeline(corpus: Corpus, config: Config, rate: float | None = None) -> dict[str, Any]:
    """The library's path (``Detector.analyze``) on the corpus, after the model is loaded."""
    from dedup.pipeline import Detector

    articles = corpus.articles(timestamps=True)
    detector = Detector(config)
    detector.analyze(articles[:2])  # load the model before the clock
    gc.collect()
    rss0 = rss_bytes()
    t0, cpu0 = time.perf_counter(), time.process_time()
    analysis = detector.analyze(articles)
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    stats = analysis.stats
    out: dict[str, Any] = {
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "articles_per_second": round(len(articles) / seconds, 2),
        "sentences": stats.get("sentences"),
        "sentences_through_the_model": stats.get("embedded"),
        "rss_growth_mb": round((rss_bytes() - rss0) / 2**20, 1),
        "quality": _quality(corpus, analysis),
        "answers": _answers(analysis.to_dict()),
    }
    _cpu(out, cpu_s, seconds)
    _limit(out, rate, round(stats.get("embedded", 0) / len(articles), 2) if rate else None)
    return out


def _answers(analysis: Mapping[str, Any]) -> str:
    """A digest of an analysis's answers (documents, pairs, clusters; not its timings)."""
    import hashlib

    kept = {k: analysis[k] for k in ("documents", "pairs", "clusters") if k in analysis}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def measure_cli(corpus: Corpus, extra_args: Sequence[str] = ()) -> dict[str, Any]:
    """``dedup analyze`` as a user runs it, in a subprocess over a JSONL file of the corpus: the wall
    time of the whole command (start, model load, analysis, writing the JSON), and the digest of its
    answers (equal to the library's on the same articles when the two agree)."""
    import subprocess

    articles = corpus.articles(timestamps=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "articles.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for a in articles:
                row = {"id": a.id, "text": a.text, "title": a.title, "outlet": a.outlet, "url": a.url}
                if a.published_at is not None:
                    row["published_at"] = a.published_at.isoformat()
                f.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
        out = Path(tmp) / "out.json"
        command = [sys.executable, "-m", "dedup", "analyze", str(path), "--format", "json", "--out", str(out)]
        t0, cpu0 = time.perf_counter(), _children_cpu_seconds()
        subprocess.run([*command, "-q", *extra_args], check=True)
        seconds, cpu_s = time.perf_counter() - t0, _children_cpu_seconds() - cpu0
        analysis = json.loads(out.read_text(encoding="utf-8"))
    stats = analysis.get("stats", {})
    result: dict[str, Any] = {
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "articles_per_second": round(len(articles) / seconds, 2),
        "analysis_seconds": stats.get("seconds"),
        "analysis_articles_per_second": round(len(articles) / stats["seconds"], 2)
        if stats.get("seconds")
        else None,
        "sentences_through_the_model": stats.get("embedded"),
        "answers": _answers(analysis),
    }
    _cpu(result, cpu_s, seconds)  # the whole command's: start, model load and the JSON written too
    return result


def measure_service(
    corpus: Corpus,
    queries: int,
    clients: Sequence[int],
    mrpc: Path,
    extra_args: Sequence[str] = (),
    rate: float | None = None,
    embedded_per_article: float | None = None,
) -> dict[str, Any]:
    """``dedup serve`` in a subprocess: the corpus ingested over gRPC, then FindSimilar latencies.
    ``rate`` and ``embedded_per_article`` (the library's, on the same articles) give the limit."""
    from dedup.client import DedupClient

    articles = corpus.articles(timestamps=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc, target = start_server(Path(tmp), list(extra_args))
        try:
            with DedupClient(target, timeout=3600) as client:
                client.find_similar("warm the model up before the clock starts.")
                rss0, cpu0 = rss_of(proc.pid), cpu_seconds(proc.pid)
                t0 = time.perf_counter()
                for _ in client.ingest_many(articles):  # each reply: that article is stored
                    pass
                ingest_s = time.perf_counter() - t0
                rss1, server_cpu_s = rss_of(proc.pid), cpu_seconds(proc.pid) - cpu0
            disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
            # Novel texts are new in every round: one seen before would hit the embedding cache.
            n = queries * len(clients)
            novel = (
                novel_texts(mrpc, n, sentences=12)
                if mrpc.exists()
                else [f"{i} {articles[i % len(articles)].text[::-1]}" for i in range(n)]
            )
            latency: dict[str, Any] = {}
            for r, n_clients in enumerate(clients):
                for kind in ("copy", "novel"):
                    texts = [
                        (
                            a.text[: max(200, int(len(a.text) * 0.8))]
                            if kind == "copy"
                            else novel[r * queries + i]
                        )
                        for i, a in zip(range(queries), _cycle(articles), strict=False)
                    ]
                    latency[f"{n_clients}_clients_{kind}"] = _stats(
                        _concurrent_latency(target, texts, n_clients)
                    )
                    _log(f"FindSimilar {n_clients} clients {kind}: {latency[f'{n_clients}_clients_{kind}']}")
        finally:
            stop_server(proc, 60)
    out: dict[str, Any] = {
        "articles": len(articles),
        "ingest_seconds": round(ingest_s, 2),
        "ingest_articles_per_second": round(len(articles) / ingest_s, 2),
        "articles_per_second": round(len(articles) / ingest_s, 2),
        "server_rss_growth_per_article_kb": round((rss1 - rss0) / len(articles) / 1024, 1),
        "server_rss_mb": round(rss1 / 2**20, 1),
        "disk_per_article_kb": round(disk / len(articles) / 1024, 1),
        "find_similar": latency,
    }
    _cpu(out, server_cpu_s, ingest_s)  # the server's (the client runs on the same cores besides)
    _limit(out, rate, embedded_per_article)
    return out


def summary(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per path users run (library, CLI, service; with the model and without), with the
    sentences embedded per article, the embedding-bound limit, the ratio to stock datasketch and rensa
    on the same articles, and the quality of the same run (the CLI's answers are checked equal to the
    library's: the same quality)."""
    base = result.get("baselines", {})
    pipe, cli, service = result.get("pipeline", {}), result.get("cli", {}), result.get("service", {})
    rows = []
    for path, section, key, library_key in (
        ("library", pipe, "model", "model"),
        ("library", pipe, "no_model", "no_model"),
        ("library, --backend onnx (float32)", pipe, "float32", "float32"),
        ("library, --backend torch", pipe, "torch", "torch"),
        ("CLI (dedup analyze)", cli, "model", "model"),
        ("CLI (dedup analyze)", cli, "no_model", "no_model"),
        ("service (dedup serve, StreamIngestDocuments)", service, "model", "model"),
        ("service (dedup serve, StreamIngestDocuments)", service, "no_model", "no_model"),
    ):
        if key not in section:
            continue
        run = section[key]
        library = pipe.get(library_key, {})
        row: dict[str, Any] = {
            "path": path,
            "model": key != "no_model",
            "articles_per_second": run["articles_per_second"],
            "embedded_per_article": library.get("embedded_per_article"),
            "limit_articles_per_second": run.get("limit_articles_per_second"),
            "share_of_limit": run.get("share_of_limit"),
            "cpu_ms_per_article": run.get("cpu_ms_per_article"),
            "cores_busy": run.get("cores_busy"),
        }
        for name in ("datasketch", "rensa"):
            if name in base:
                row[f"ratio_to_{name}"] = round(
                    run["articles_per_second"] / base[name]["articles_per_second"], 4
                )
        if section is pipe:
            row["quality"] = run["quality"]
        elif section is cli:
            row["same_answers_as_library"] = run["answers"] == library.get("answers")
            row["analysis_articles_per_second"] = run.get("analysis_articles_per_second")
            if (
                key == "model"
                and library.get("model_sentences_per_second")
                and library.get("embedded_per_article")
            ):
                row["limit_articles_per_second"] = library.get("limit_articles_per_second")
                row["share_of_limit"] = round(
                    run["articles_per_second"] / library["limit_articles_per_second"], 3
                )
        rows.append(row)
    return rows


def _cycle(items: Sequence[Any]) -> Iterator[Any]:
    while True:
        yield from items


def _concurrent_latency(target: str, texts: Sequence[str], n_clients: int) -> list[float]:
    """FindSimilar latencies (ms) of ``texts`` sent by ``n_clients`` threads, each on its own channel."""
    from dedup.client import DedupClient

    lock = threading.Lock()
    todo = list(texts)
    out: list[float] = []

    def work() -> None:
        with DedupClient(target, timeout=600) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    text = todo.pop()
                t0 = time.perf_counter()
                client.find_similar(text)
                ms = 1000 * (time.perf_counter() - t0)
                with lock:
                    out.append(ms)

    with ThreadPoolExecutor(n_clients) as pool:
        for f in [pool.submit(work) for _ in range(n_clients)]:
            f.result()
    return out


# --- the scale curve ------------------------------------------------------------------------------


def repeated_articles(articles: Sequence[Any], n: int) -> Iterator[Any]:
    """``n`` articles: ``articles``, then repeated as ``repeated_texts`` repeats texts (copies stay
    copies inside a repetition), each repetition's ids suffixed with its number."""
    for i, text in enumerate(repeated_texts([a.text for a in articles], n)):
        rep, k = divmod(i, len(articles))
        a = articles[k]
        yield dataclasses.replace(a, id=a.id if rep == 0 else f"{a.id}~{rep}", text=text)


def measure_engine_scale(
    articles: Sequence[Any], sizes: Sequence[int], resident: int, queries: int
) -> dict[str, Any]:
    """The whole engine (no model) over an SQLite store, keeping ``resident`` prepared articles in
    memory, grown through ``sizes`` by ingesting the repeated corpus in batches of 500: at each size
    the ingest rate of the last step, resident memory, what each part of the engine holds per article,
    FindSimilar latency (a near-copy of a stored article drawn from all so far, one client, in
    process) and the store's size."""
    from dedup.engine import Engine
    from dedup.store import SqliteStore

    config = Config(embed=EmbedConfig(model="none"), resident_documents=resident)
    stream = repeated_articles(articles, max(sizes))
    stored: list[Any] = []
    rng = random.Random(11)
    out: dict[str, Any] = {"resident_documents": resident, "steps": []}
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(config, store=SqliteStore(Path(tmp) / "dedup.sqlite3"))
        engine.warm_up()
        gc.collect()
        rss0 = rss_bytes()
        previous: tuple[int, int] | None = None
        for size in sorted(sizes):
            t0 = time.perf_counter()
            n0 = len(stored)
            while len(stored) < size:
                batch = [next(stream) for _ in range(min(500, size - len(stored)))]
                engine.ingest_many(batch)
                stored.extend(batch)
            rate = (len(stored) - n0) / (time.perf_counter() - t0)
            reloads = engine.counters["documents_reloaded"]
            lat = []
            for a in rng.sample(stored, min(queries, len(stored))):
                t1 = time.perf_counter()
                engine.find_similar(dataclasses.replace(a, id="probe", text=a.text[: int(len(a.text) * 0.8)]))
                lat.append(1000 * (time.perf_counter() - t1))
            gc.collect()
            rss = rss_bytes()
            seen: set[int] = set()
            # The engine's state by name, and its parts' (the article indexes, the lineage, the story
            # clusters, the article entries) by theirs: by the names they had in the engine, where two
            # parts use one name or a name says less outside its part. What holds the state itself (the
            # matching, the deriving) is a view of it, counted through the parts.
            state = {
                k: v
                for k, v in vars(engine).items()
                if v is not engine._state and getattr(v, "_state", None) is not engine._state
            }
            renamed = {
                "stories": {"_records": "_clusters"},
                "entries": {"_entries": "_records", "_sources": "_external"},
            }
            for part in ("article_index", "lineage", "stories", "entries"):
                names = renamed.get(part, {})
                state.update(
                    (names.get(k, k), v)
                    for k, v in vars(getattr(engine._state, part)).items()
                    if k not in ("_config", "_dim")
                )
            parts = {
                name.lstrip("_"): round(deep_size(value, seen) / size / 1024, 2)
                for name, value in sorted(state.items())
                if name.startswith("_") and name not in ("_resident", "_listeners", "_clock", "_lock")
            }
            parts["resident"] = round(deep_size(engine._resident._docs, seen) / size / 1024, 2)
            step = {
                "stored": size,
                "ingest_articles_per_second": round(rate, 1),
                "rss_growth_mb": round((rss - rss0) / 2**20, 1),
                "rss_per_article_kb": round((rss - rss0) / size / 1024, 1),
                "find_similar": _stats(lat),
                "documents_reloaded": {
                    "while_ingesting": reloads,
                    "per_query": round((engine.counters["documents_reloaded"] - reloads) / len(lat), 1),
                },
                "engine_parts_kb_per_article": {k: v for k, v in parts.items() if v >= 0.01},
                "disk_per_article_kb": round((Path(tmp) / "dedup.sqlite3").stat().st_size / size / 1024, 1),
            }
            if previous is not None:
                step["rss_per_added_article_kb"] = round((rss - previous[1]) / (size - previous[0]) / 1024, 1)
            previous = (size, rss)
            out["steps"].append(step)
            _log(f"engine scale {size}: {step}")
        engine.close()
    return out


def measure_vector_scale(
    vectors: np.ndarray, sizes: Sequence[int], queries: int, k: int = 20
) -> list[dict[str, Any]]:
    """Article-vector search at each size: dedup's HNSW index beside brute-force IndexFlatIP, whose
    exact answers give the HNSW recall."""
    import faiss

    from dedup.vectors import HnswIndex

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core (the engine queries on one)
    rng = np.random.default_rng(3)
    dim = vectors.shape[1]
    out = []
    for size in sorted(sizes):
        noisy = np.empty((size, dim), dtype=np.float32)
        for lo in range(0, size, 100_000):  # in blocks: no float64 temporaries of the whole matrix
            n = min(100_000, size - lo)
            block = vectors[rng.integers(0, len(vectors), n)]
            block += rng.normal(0, 0.35 / np.sqrt(dim), block.shape).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            noisy[lo : lo + n] = block
        probes = np.ascontiguousarray(vectors[rng.integers(0, len(vectors), queries)])
        row: dict[str, Any] = {"stored": size}
        exact: np.ndarray | None = None
        for name in ("flat", "hnsw"):
            gc.collect()
            rss0 = rss_bytes()
            t0 = time.perf_counter()
            if name == "hnsw":
                index: Any = HnswIndex(dim)
                index.add(np.arange(size, dtype=np.int64), noisy)
            else:
                index = faiss.IndexFlatIP(dim)
                index.add(noisy)
            build = time.perf_counter() - t0
            faiss.omp_set_num_threads(1)  # queries one at a time, on one thread, as the engine makes them
            lat = []
            got = []
            for q in probes:
                t0 = time.perf_counter()
                _, ids = index.search(q[None, :], k)
                lat.append(1000 * (time.perf_counter() - t0))
                got.append(ids[0])
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            row[name] = {
                "build_seconds": round(build, 1),
                "query": _stats(lat),
                "rss_mb": round((rss_bytes() - rss0) / 2**20, 1),
            }
            if name == "flat":
                exact = np.vstack(got)
            else:  # recall of the approximate index against brute force
                assert exact is not None
                row[name]["recall_at_20"] = round(
                    float(np.mean([len(set(g) & set(e)) / k for g, e in zip(got, exact, strict=True)])), 4
                )
            del index
            _log(f"vector scale {size} {name}: {row[name]}")
        out.append(row)
        del noisy
    return out


# --- what the engine holds per article -----------------------------------------------------------


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes held by ``obj`` and everything it refers to (each object once; a numpy view counts its
    base once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.base is None:
            return sys.getsizeof(obj)
        if not isinstance(obj.base, np.ndarray | bytes | bytearray):  # memory owned elsewhere (numba)
            return sys.getsizeof(obj) + obj.nbytes
        return sys.getsizeof(obj) + deep_size(obj.base, seen)
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(x, seen) for x in obj)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, f), seen) for f in obj.__slots__ if hasattr(obj, f))
    elif hasattr(obj, "__dict__"):
        size += deep_size(vars(obj), seen)
    return size


def measure_engine_memory(articles: Sequence[Any], config: Config, sample: int = 200) -> dict[str, Any]:
    """What the engine keeps in memory per article, by part, in KB: the prepared document's fields
    measured (deep ``sys.getsizeof``) over ``sample`` articles, the arrays filled in later computed
    from their shapes."""
    from dedup.document import prepare

    docs = [prepare(a, i, config) for i, a in enumerate(articles[:sample])]
    fields = [f.name for f in dataclasses.fields(docs[0]) if f.name not in ("order", "citations")]
    fields = [f for f in fields if f not in ("doc_minhash", "sentence_minhashes", "embeddings", "vector")]
    out: dict[str, Any] = {
        f: round(statistics.mean(deep_size(getattr(d, f)) for d in docs) / 1024, 1) for f in fields
    }
    sentences = statistics.mean(len(d.sentences) for d in docs)
    bands = lsh_params(config.minhash.passage_threshold, config.minhash.num_perm)[0]
    doc_bands = lsh_params(config.minhash.doc_threshold, config.minhash.num_perm)[0]
    dim = 384  # the packaged MiniLM
    # sentence signatures (num_perm uint32 a sentence) are dropped once an article is indexed
    out["embeddings_float16"] = round(sentences * dim * 2 / 1024, 1)
    out["sentence_lsh_entries"] = round(sentences * bands * 16 / 1024, 1)
    out["doc_minhash_lsh_vector"] = round((config.minhash.num_perm * 4 + doc_bands * 16 + dim * 4) / 1024, 1)
    out["total_kb"] = round(sum(v for v in out.values()), 1)
    out["sentences_per_article"] = round(sentences, 1)
    out["tokens_per_article"] = round(statistics.mean(len(d.token_starts) for d in docs), 1)
    _log(f"engine memory per article (KB): {out}")
    return out


# --- the plot -------------------------------------------------------------------------------------


def plot(result: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    vec = result["scale"]["vectors"]
    vs = [r["stored"] for r in vec]
    axes[0].plot(
        vs, [r["hnsw"]["query"]["median_ms"] for r in vec], "s-", label="HNSW article vectors, median"
    )
    axes[0].plot(
        vs, [r["flat"]["query"]["median_ms"] for r in vec], "^-", label="IndexFlatIP (brute force), median"
    )
    axes[0].set(
        xscale="log", yscale="log", xlabel="stored articles", ylabel="ms per query", title="Query latency"
    )
    axes[0].legend(fontsize=7)
    axes[1].plot(vs, [r["hnsw"]["rss_mb"] for r in vec], "s-", label="HNSW article vectors (RSS)")
    axes[1].plot(vs, [r["flat"]["rss_mb"] for r in vec], "^-", label="IndexFlatIP (RSS)")
    axes[1].axhline(8192, color="grey", linestyle=":", label="8 GiB")
    axes[1].set(xscale="log", yscale="log", xlabel="stored articles", ylabel="MB", title="Memory")
    axes[1].legend(fontsize=7)
    for row in result.get("summary", []):
        label = f"{row['path']}, {'model' if row['model'] else 'no model'}"
        axes[2].barh([label], [row["articles_per_second"]])
    for name in ("datasketch", "rensa"):
        if name in result.get("baselines", {}):
            axes[2].barh(
                [f"{name} (document MinHash LSH only)"], [result["baselines"][name]["articles_per_second"]]
            )
    axes[2].set(xscale="log", xlabel="articles/s", title="Ingest throughput")
    axes[2].tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base", default=str(DEFAULT_DATA / "news_ecb"), help="news_ecb folder (default %(default)s)"
    )
    parser.add_argument(
        "--mrpc",
        default=str(DEFAULT_DATA / "mrpc" / "msr_paraphrase_train.txt"),
        help="MRPC file for novel queries",
    )
    parser.add_argument(
        "--size", type=int, default=100, help="base articles of the corpus (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the corpus (default %(default)s)")
    parser.add_argument(
        "--min-words",
        type=int,
        default=420,
        help="base articles are joined to at least this many words (default %(default)s: about 600 "
        "words an article over the whole corpus, trims and rewrites included)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="scale curve sizes"
    )
    parser.add_argument(
        "--queries", type=int, default=200, help="queries per latency figure (default %(default)s)"
    )
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrent FindSimilar clients"
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=[
            "baselines",
            "pipeline",
            "float32",
            "torch",
            "cli",
            "memory",
            "service",
            "scale",
            "engine-scale",
        ],
    )
    parser.add_argument(
        "--engine-sizes",
        type=int,
        nargs="+",
        default=[2_500, 5_000, 10_000],
        help="stored articles at which the whole engine is measured (default %(default)s)",
    )
    parser.add_argument(
        "--resident",
        type=int,
        default=1_000,
        help="prepared articles the engine keeps in memory in the engine scale run (default %(default)s)",
    )
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--plot", help="write the PNG plot here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sources = long_sources(load_sources(args.base), args.min_words)
    corpus = build_corpus(sources, args.size, args.seed)
    articles = corpus.articles(timestamps=True)
    texts = [a.text for a in articles]
    words = [len(t.split()) for t in texts]
    _log(f"corpus: {len(texts)} articles, {statistics.mean(words):.0f} words on average")
    threshold = Config().minhash.doc_threshold
    result: dict[str, Any] = {
        "benchmark": "throughput",
        "machine": {"cpus": os.cpu_count()},
        "corpus": {
            "articles": len(texts),
            "base_articles": args.size,
            "seed": args.seed,
            "mean_words": round(statistics.mean(words), 1),
            "median_words": statistics.median(words),
        },
    }
    if "baselines" not in args.skip:
        result["baselines"] = measure_baselines(texts, threshold)
    model, no_model = Config(), Config(embed=EmbedConfig(model="none"))
    rate = model_rate(model, texts) if {"pipeline", "service"} - set(args.skip) else None
    if "pipeline" not in args.skip:
        result["pipeline"] = {
            "model": measure_pipeline(corpus, model, rate),
            "no_model": measure_pipeline(corpus, no_model),
        }
        for key, backend in (("float32", "onnx"), ("torch", "torch")):  # the same model run otherwise
            if key not in args.skip:
                other = Config(embed=EmbedConfig(backend=backend))
                result["pipeline"][key] = measure_pipeline(corpus, other, model_rate(other, texts))
        _log(f"pipeline: {result['pipeline']}")
    if "cli" not in args.skip:
        result["cli"] = {"model": measure_cli(corpus), "no_model": measure_cli(corpus, ["--model", "none"])}
        _log(f"cli: {result['cli']}")
    if "memory" not in args.skip:
        result["engine_memory_per_article_kb"] = measure_engine_memory(articles, Config())
    if "service" not in args.skip:
        per_article = result.get("pipeline", {}).get("model", {}).get("embedded_per_article")
        result["service"] = {
            "model": measure_service(
                corpus,
                args.queries,
                args.clients,
                Path(args.mrpc),
                rate=rate,
                embedded_per_article=per_article,
            ),
            "no_model": measure_service(
                corpus, args.queries, args.clients[:1], Path(args.mrpc), ["--model", "none"]
            ),
        }
    if "engine-scale" not in args.skip:
        result["engine_scale"] = measure_engine_scale(articles, args.engine_sizes, args.resident, 50)
    if "scale" not in args.skip:
        from dedup.pipeline import Detector

        vectors = np.vstack([d.vector for d in Detector().prepare(articles) if d.vector is not None])
        result["scale"] = {
            "how": "the corpus's real article vectors plus seeded Gaussian noise, renormalised",
            "vectors": measure_vector_scale(vectors, args.sizes, args.queries),
        }
    result["summary"] = summary(result)
    for row in result["summary"]:
        _log(f"summary: {row}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if args.plot and "scale" in result:
        plot(result, Path(args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
