"""The whole analysis of a set of articles: candidates, alignment, relations, clusters, derivation.

Embedding is the expensive step, so it is rationed: boilerplate and very short
sentences are never embedded; sentences that are lexically near-identical
(same words, or MinHash-estimated Jaccard at least ``embed.share_jaccard``)
share one embedding; and a cache means a text repeated across articles goes
through the model once.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, cast

import numpy as np

from dedup.align import align, coverage
from dedup.attribution import find_citations
from dedup.cluster import StoryClusterer
from dedup.config import Config
from dedup.derive import derive
from dedup.document import Article, PreparedDocument, prepare
from dedup.embed import CachingEmbedder, Embedder, SentenceTransformerEmbedder
from dedup.errors import InvalidArgument
from dedup.minhash import exact_jaccard, make_lsh, signatures
from dedup.relation import classify_pair
from dedup.results import Analysis, ClusterResult, DocumentResult, Edge, PairResult, Relation
from dedup.vectors import make_vector_index

__all__ = ["Detector", "NullProgress", "Progress", "compare"]


class Progress(Protocol):
    """Where long work reports how far it has got."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NullProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


def compare(a: PreparedDocument, b: PreparedDocument, config: Config) -> PairResult | None:
    """Align two prepared articles and classify their relation; None when they are unrelated."""
    passages = align(a, b, config.align)
    cov_a = coverage(a, [(p.a_start, p.a_end) for p in passages])
    cov_b = coverage(b, [(p.b_start, p.b_end) for p in passages])
    semantic = float(a.vector @ b.vector) if a.vector is not None and b.vector is not None else 0.0
    relation = classify_pair(passages, cov_a, cov_b, semantic, config.relation)
    if relation is None:
        return None
    if relation is Relation.SAME_STORY:  # too little shared to count as reuse: report no passages
        passages, cov_a, cov_b = [], 0.0, 0.0
    return PairResult(
        a.id,
        b.id,
        relation,
        cov_a,
        cov_b,
        exact_jaccard(a.doc_shingles, b.doc_shingles),
        max(0.0, min(1.0, semantic)),
        tuple(passages),
    )


def _stack_vectors(docs: list[PreparedDocument]) -> np.ndarray:
    """The documents' vectors as one float32 matrix (documents must have been embedded)."""
    rows = []
    for d in docs:
        if d.vector is None:
            raise ValueError(f"document {d.id!r} has no vector; embed it first")
        rows.append(d.vector)
    return np.vstack(rows).astype(np.float32)


class Detector:
    """Finds reuse, story clusters and derivation in a set of articles."""

    def __init__(self, config: Config | None = None, embedder: Embedder | None = None) -> None:
        self.config = config or Config()
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            c = self.config.embed
            self._embedder = CachingEmbedder(
                SentenceTransformerEmbedder(c.model, c.device, c.batch_size, c.max_seq_length)
            )
        return self._embedder

    # -- stages -------------------------------------------------------------------------------------

    def prepare(self, articles: Sequence[Article], progress: Progress) -> list[PreparedDocument]:
        seen: set[str] = set()
        for article in articles:
            if article.id in seen:
                raise InvalidArgument(f"duplicate article id {article.id!r}; ids must be unique")
            seen.add(article.id)
        outlets = sorted({a.outlet for a in articles if a.outlet})
        docs = []
        progress.start("preparing", len(articles))
        for n, article in enumerate(articles):
            doc = prepare(article, n, self.config)
            doc.citations = find_citations(article.text, outlets)
            docs.append(doc)
            progress.advance()
        mh = self.config.minhash
        doc_sigs = signatures([d.doc_shingles for d in docs], mh.num_perm, mh.seed)
        sent_sigs = signatures([s for d in docs for s in d.sentence_shingles], mh.num_perm, mh.seed)
        k = 0
        for doc, sig in zip(docs, doc_sigs, strict=True):
            doc.doc_minhash = sig
            doc.sentence_minhashes = sent_sigs[k : k + len(doc.sentences)]
            k += len(doc.sentences)
        return docs

    def lexical_candidates(
        self, docs: list[PreparedDocument]
    ) -> tuple[set[tuple[int, int]], list[tuple[tuple[int, int], tuple[int, int]]]]:
        """Document pairs from document- and sentence-level LSH, and near-identical sentence pairs."""
        mh = self.config.minhash
        doc_lsh = make_lsh(self.config.lsh, mh.doc_threshold, mh.num_perm)
        sent_lsh = make_lsh(self.config.lsh, mh.passage_threshold, mh.num_perm)
        pairs: set[tuple[int, int]] = set()
        near_sentences = []
        for n, doc in enumerate(docs):
            assert doc.doc_minhash is not None
            if doc.doc_shingles:
                for other in doc_lsh.query(doc.doc_minhash):
                    pairs.add((cast(int, other), n))
                doc_lsh.insert(n, doc.doc_minhash)
            for s, sig in enumerate(doc.sentence_minhashes):
                for key in sent_lsh.query(sig):
                    m, t = cast(tuple[int, int], key)
                    if m != n:
                        pairs.add((m, n))
                    if sig.jaccard(docs[m].sentence_minhashes[t]) >= self.config.embed.share_jaccard:
                        near_sentences.append(((m, t), (n, s)))
                sent_lsh.insert((n, s), sig)
        return pairs, near_sentences

    def embed(
        self,
        docs: list[PreparedDocument],
        near: list[tuple[tuple[int, int], tuple[int, int]]],
        progress: Progress,
    ) -> dict[str, int]:
        """Fill in sentence embeddings and document vectors, sharing embeddings between near-identical
        sentences. Returns how many sentences there were and how many went through the model."""
        parent: dict[tuple[int, int], tuple[int, int]] = {}

        def find(x: tuple[int, int]) -> tuple[int, int]:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        by_words: dict[tuple[str, ...], tuple[int, int]] = {}
        for n, doc in enumerate(docs):
            for s in range(len(doc.sentences)):
                first = by_words.setdefault(tuple(doc.sentence_words(s)), (n, s))
                if first != (n, s):
                    parent[find((n, s))] = find(first)
        for x, y in near:
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
        keys = [(n, s) for n, doc in enumerate(docs) for s in range(len(doc.sentences))]
        reps = sorted({find(k) for k in keys})
        texts = [docs[n].sentence_text(s) for n, s in reps]
        # Sorted by length, each batch pads to similar lengths: far less work for the model.
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        progress.start("embedding", len(texts))
        dim = self.embedder.dim
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        step = 256
        for lo in range(0, len(texts), step):
            chunk = by_length[lo : lo + step]
            vectors[chunk] = self.embedder.encode([texts[i] for i in chunk])
            progress.advance(len(chunk))
        row = {rep: i for i, rep in enumerate(reps)}
        for n, doc in enumerate(docs):
            emb = np.zeros((len(doc.sentences), dim), dtype=np.float32)
            for s in range(len(doc.sentences)):
                emb[s] = vectors[row[find((n, s))]]
            doc.embeddings = emb
            if len(emb):
                mean = emb.mean(axis=0)
                norm = float(np.linalg.norm(mean))
                doc.vector = mean / norm if norm > 0 else mean
            else:
                doc.vector = np.zeros(dim, dtype=np.float32)
        return {"sentences": len(keys), "embedded": len(reps)}

    def semantic_candidates(self, docs: list[PreparedDocument]) -> set[tuple[int, int]]:
        """Document pairs with a paraphrased sentence or close document vectors, from FAISS."""
        pairs: set[tuple[int, int]] = set()
        if not docs:
            return pairs
        dim = self.embedder.dim
        owners = np.array([n for n, d in enumerate(docs) for _ in d.sentences], dtype=np.int64)
        if len(owners):
            all_vecs = np.vstack(
                [d.embeddings for d in docs if d.embeddings is not None and len(d.embeddings)]
            )
            index = make_vector_index(self.config.vector_index, dim)
            index.add(np.arange(len(owners), dtype=np.int64), all_vecs)
            k = min(self.config.align.candidate_neighbours + 1, len(owners))
            scores, ids = index.search(all_vecs, k)
            for q in range(len(owners)):
                for score, hit in zip(scores[q], ids[q], strict=True):
                    if hit >= 0 and score >= self.config.align.paraphrase_cosine and owners[hit] != owners[q]:
                        a, b = sorted((int(owners[q]), int(owners[hit])))
                        pairs.add((a, b))
        doc_index = make_vector_index(self.config.vector_index, dim)
        doc_vecs = _stack_vectors(docs)
        doc_index.add(np.arange(len(docs), dtype=np.int64), doc_vecs)
        k = min(self.config.relation.story_neighbours + 1, len(docs))
        scores, ids = doc_index.search(doc_vecs, k)
        for q in range(len(docs)):
            for score, hit in zip(scores[q], ids[q], strict=True):
                if hit >= 0 and hit != q and score >= self.config.relation.same_story_cosine:
                    a, b = sorted((q, int(hit)))
                    pairs.add((a, b))
        return pairs

    # -- the whole run ------------------------------------------------------------------------------

    def analyze(self, articles: Sequence[Article], progress: Progress | None = None) -> Analysis:
        progress = progress or NullProgress()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        docs = self.prepare(articles, progress)
        t1 = time.perf_counter()
        timings["prepare_s"] = t1 - t0
        lexical, near = self.lexical_candidates(docs)
        t2 = time.perf_counter()
        timings["lexical_s"] = t2 - t1
        embed_stats = self.embed(docs, near, progress)
        t3 = time.perf_counter()
        timings["embed_s"] = t3 - t2
        semantic = self.semantic_candidates(docs)
        candidates = sorted(lexical | semantic)
        t4 = time.perf_counter()
        timings["semantic_s"] = t4 - t3
        progress.start("aligning", len(candidates))
        pairs: list[PairResult] = []
        for a, b in candidates:
            result = compare(docs[a], docs[b], self.config)
            if result is not None:
                pairs.append(result)
            progress.advance()
        t5 = time.perf_counter()
        timings["align_s"] = t5 - t4
        by_id = {d.id: d for d in docs}
        clusters = self._cluster(docs, pairs)
        derivation = derive(by_id, pairs, self.config.derive)
        timings["cluster_derive_s"] = time.perf_counter() - t5
        cluster_of = {d: cid for cid, members in clusters.items() for d in members}
        # SAME_STORY says "one story": keep it only where the clustering agrees.
        pairs = [
            p for p in pairs if p.relation is not Relation.SAME_STORY or cluster_of[p.a] == cluster_of[p.b]
        ]
        documents = tuple(
            DocumentResult(
                d.id, cluster_of[d.id], derivation.parents[d.id], derivation.external_sources[d.id]
            )
            for d in docs
        )
        cluster_results = []
        for cid, members in clusters.items():
            member_set = set(members)
            edges = tuple(
                Edge(p.id, child, p.confidence)
                for child in members
                for p in derivation.parents[child]
                if p.id in member_set
            )
            roots = tuple(m for m in members if not derivation.parents[m])
            cluster_results.append(ClusterResult(cid, tuple(members), roots, edges))
        stats = {
            "documents": len(docs),
            **embed_stats,
            "candidate_pairs": len(candidates),
            "pairs": len(pairs),
            **{k: round(v, 3) for k, v in timings.items()},
        }
        return Analysis(documents, tuple(cluster_results), tuple(pairs), stats)

    def _cluster(self, docs: list[PreparedDocument], pairs: list[PairResult]) -> dict[str, list[str]]:
        cfg = self.config.cluster
        links: dict[str, set[str]] = defaultdict(set)
        for p in pairs:
            if p.relation.value in cfg.link_relations:
                links[p.a].add(p.b)
                links[p.b].add(p.a)
        near: dict[str, list[str]] = {d.id: [] for d in docs}
        if docs:
            vectors = _stack_vectors(docs)
            index = make_vector_index(self.config.vector_index, vectors.shape[1])
            index.add(np.arange(len(docs), dtype=np.int64), vectors)
            _, hits = index.search(vectors, min(cfg.neighbours + 1, len(docs)))
            for n, row in enumerate(hits):
                near[docs[n].id] = [docs[int(h)].id for h in row if h >= 0 and h != n]
        clusterer = StoryClusterer(cfg.threshold)
        for d in docs:
            clusterer.add(d.id, links[d.id], d.vector, near[d.id])
        return {cid: clusterer.members(cid) for cid in clusterer.clusters()}
