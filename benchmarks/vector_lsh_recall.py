"""Could the article vectors move to Redis as random-hyperplane (SimHash) banded LSH, or as an inverted
file (IVF: k-means centroids kept in each replica, each centroid's vectors in Redis), with an exact
rerank of the candidates? Recall@k against brute force (FAISS ``IndexFlatIP``) on real article vectors.

    python -m benchmarks.vector_lsh_recall --articles 2000

The vectors are the engine's story vectors (``dedup.engine.story_vector`` of the packaged model's
sentence embeddings, ``cluster.story_sentences`` lead sentences) of news_ecb's articles, then of their
repetitions with two words in three mapped onto others (``benchmarks.throughput.repeated_articles``),
up to ``--articles``. Every article is a query against all the others (itself left out).

For each setting (``bits`` per band, ``bands``), the hyperplanes drawn from a seeded normal
distribution, optionally after subtracting the vectors' mean (sentence-transformer vectors share a
common direction, which puts unrelated articles in the same buckets):

- ``recall_at_k``: the share of each query's exact ``k`` nearest (``cluster.neighbours``, 20) that share
  a band with it: what an exact rerank of the candidates returns;
- ``recall_same_story``: the same for the neighbours at cosine ``relation.same_story_cosine`` (0.65)
  or more, the ones that become candidates for alignment;
- ``candidates``: the mean share of the stored articles a query would fetch and rerank.

For each IVF setting (``nlist`` centroids, ``nprobe`` of them searched a query; ``ivf``), the centroids
trained (k-means, seeded) on a seeded half of the vectors and every vector then filed under its
nearest: the same three figures, a query fetching the vectors of the ``nprobe`` lists nearest to it.
Settings with fewer than 8 training vectors a centroid are left out.

``redis_vectors``: the article vectors as a replica on Redis keeps them (``dedup.redis_vectors``, laid out
for ``--capacity`` articles, the default ``index_capacity``) on a redis-server this script starts: every
vector added in batches of 200, in order, as commits add them (the lists are trained when the first
query finds enough vectors unassigned), then every article a query (``k + 1`` asked, itself left
out): the same three figures, ``candidates`` the records a query read, and the queries' time
(``ms_per_query``) and what they fetched from Redis (``bytes_fetched_per_query``: a replica keeps what
it read, and nothing is added between these queries).

One JSON object out (and to --out).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from benchmarks.datasets import DEFAULT_DATA, load_news_ecb
from benchmarks.output import emit_json
from benchmarks.throughput import repeated_articles
from dedup.config import Config, EmbedConfig
from dedup.document import prepare
from dedup.embed import default_embedder
from dedup.engine_state import story_vector

SETTINGS = [(8, 16), (8, 32), (10, 32), (12, 32), (12, 64), (16, 64)]
"""(bits per band, bands) tried."""
IVF_SETTINGS = [(16, 1), (16, 2), (16, 4), (64, 2), (64, 4), (64, 8), (256, 4), (256, 8), (256, 16)]
"""(nlist, nprobe) tried."""


def article_vectors(n: int, data: Path, model: str) -> np.ndarray:
    """Story vectors of ``n`` articles: news_ecb's, then their repetitions."""
    config = Config(embed=EmbedConfig(model=model))
    embedder = default_embedder(config.embed)
    articles = list(itertools.islice(repeated_articles(load_news_ecb(data), n), n))
    lead = config.cluster.story_sentences  # the story vector is these sentences' mean: only they are embedded
    out = []
    for a in articles:
        doc = prepare(a, 0, config)
        shown = len(doc.sentences) if lead == 0 else min(lead, len(doc.sentences))
        emb = embedder.encode([doc.sentence_text(s) for s in range(shown)])
        out.append(
            story_vector(np.asarray(emb, dtype=np.float16), embedder.dim, config.cluster.story_sentences)
        )
    return np.vstack(out).astype(np.float32)


def _scores(
    vectors: np.ndarray, k: int, same_story: float, fetched: Callable[[int], np.ndarray]
) -> dict[str, Any]:
    """Recall@k (and of the neighbours at ``same_story`` or more) of an index that fetches, for query
    ``q``, the vectors ``fetched(q)`` marks (a boolean mask over all of them, ``q`` itself unmarked),
    against brute force; and the mean share of the others fetched."""
    n, dim = vectors.shape
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    scores, ids = exact.search(vectors, k + 1)
    found = total = same_found = same_total = 0
    fetched_total = 0
    for q in range(n):
        mask = fetched(q)
        fetched_total += int(mask.sum())
        for score, hit in zip(scores[q], ids[q], strict=True):
            if hit == q or hit < 0:
                continue
            total += 1
            found += bool(mask[hit])
            if score >= same_story:
                same_total += 1
                same_found += bool(mask[hit])
    return {
        "recall_at_k": round(found / total, 4),
        "recall_same_story": round(same_found / same_total, 4) if same_total else None,
        "same_story_neighbours": same_total,
        "candidates": round(fetched_total / n / (n - 1), 4),
    }


def recall(
    vectors: np.ndarray, bits: int, bands: int, k: int, same_story: float, centre: bool, seed: int = 1
) -> dict[str, Any]:
    """Recall@k of random-hyperplane LSH, ``bands`` bands of ``bits`` bits (module docstring)."""
    n, dim = vectors.shape
    x = vectors - vectors.mean(axis=0) if centre else vectors
    planes = np.random.default_rng(seed).standard_normal((dim, bits * bands)).astype(np.float32)
    signs = (x @ planes > 0).reshape(n, bands, bits)
    codes = (signs * (1 << np.arange(bits))).sum(axis=2)  # (n, bands): each band's bucket

    def fetched(q: int) -> np.ndarray:
        shares = (codes == codes[q]).any(axis=1)
        shares[q] = False
        return shares

    return {"bits": bits, "bands": bands, "centred": centre, **_scores(vectors, k, same_story, fetched)}


def ivf_recall(
    vectors: np.ndarray, nlist: int, nprobe: int, k: int, same_story: float, seed: int = 1
) -> dict[str, Any]:
    """Recall@k of an inverted file with ``nlist`` centroids searched ``nprobe`` at a time (module
    docstring), and the share of the stored vectors a query fetches."""
    n, dim = vectors.shape
    sample = np.random.default_rng(seed).permutation(n)[: n // 2]
    quantizer = faiss.IndexFlatIP(dim)
    kmeans = faiss.Kmeans(dim, nlist, niter=20, seed=seed, spherical=True, verbose=False)
    kmeans.train(np.ascontiguousarray(vectors[sample]))
    quantizer.add(kmeans.centroids)
    _, home = quantizer.search(vectors, 1)  # each vector's list
    _, probed = quantizer.search(vectors, nprobe)  # each query's lists

    def fetched(q: int) -> np.ndarray:
        inside = np.isin(home[:, 0], probed[q])
        inside[q] = False
        return inside

    return {"nlist": nlist, "nprobe": nprobe, **_scores(vectors, k, same_story, fetched)}


def redis_recall(vectors: np.ndarray, k: int, same_story: float, capacity: int) -> dict[str, Any]:
    """Recall@k of ``dedup.redis_vectors`` on a redis-server of its own (module docstring)."""
    import tempfile

    from benchmarks.redis_server import RedisServer
    from dedup.redis_store import RedisStore
    from dedup.redis_vectors import RedisVectors

    n, dim = vectors.shape
    server = RedisServer(Path(tempfile.mkdtemp(prefix="vector-recall-")) / "redis")
    store = RedisStore(f"{server.url}?prefix=recall&index_capacity={capacity}")
    try:
        index = RedisVectors(store, lambda: dim, capacity)
        for start in range(0, n, 200):
            seqs = list(range(start + 1, min(n, start + 200) + 1))
            calls = index.puts(seqs, vectors[start : start + 200])
            pipe = store.pipeline(transaction=True)
            for script, keys, args in calls:
                pipe.eval(script, len(keys), *keys, *args)
            pipe.execute()
        index.nearest(vectors[0], k)  # trains the lists once enough vectors are stored
        found: list[set[int]] = []
        read = fetched_bytes = 0
        started = time.perf_counter()
        for q in range(n):
            found.append({seq - 1 for _, seq in index.nearest(vectors[q], k + 1) if seq - 1 != q})
            read += index.last_read
            fetched_bytes += index.last_fetched
        seconds = time.perf_counter() - started
        trained = bool(store.client.exists(store.key("ivf")))
    finally:
        store.close()
        server.stop()

    def fetched(q: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        mask[list(found[q])] = True
        return mask

    scores = _scores(vectors, k, same_story, fetched)
    return {
        "capacity": capacity, "lists": index.lists, "probes": index.probes, "trained": trained,
        **scores, "candidates": round(read / n / n, 4),
        "ms_per_query": round(seconds * 1000 / n, 3), "bytes_fetched_per_query": round(fetched_bytes / n),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "news_ecb")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--model", default="packaged")
    parser.add_argument("--capacity", type=int, default=100_000, help="index_capacity of redis_vectors")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    config = Config()
    started = time.perf_counter()
    vectors = article_vectors(args.articles, args.data, args.model)
    embedded = time.perf_counter() - started
    k, same = config.cluster.neighbours, config.relation.same_story_cosine
    result: dict[str, Any] = {
        "benchmark": "vector_lsh_recall",
        "date": time.strftime("%Y-%m-%d"),
        "articles": len(vectors),
        "k": k,
        "same_story_cosine": same,
        "embedding_seconds": round(embedded, 1),
        "settings": [
            recall(vectors, bits, bands, k, same, centre)
            for bits, bands in SETTINGS
            for centre in (False, True)
        ],
        "ivf": [
            ivf_recall(vectors, nlist, nprobe, k, same)
            for nlist, nprobe in IVF_SETTINGS
            if nlist * 8 <= len(vectors) // 2
        ],
        # (without a model every vector is zero: near nothing, none is kept)
        "redis_vectors": redis_recall(vectors, k, same, args.capacity) if vectors.any() else None,
    }
    emit_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
