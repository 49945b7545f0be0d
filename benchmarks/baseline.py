"""The baselines a user would otherwise pick.

``MinHashBaseline``: stock datasketch, document level. MinHash (default settings: 128
permutations, SHA-1 hashing) over 5-word shingles of the lower-cased words, a MinHashLSH index
at a Jaccard threshold, and, for story clusters, connected components over the pairs it finds.
No alignment, no embeddings, no derivation.

``VectorClusterBaseline``: story clusters from MiniLM article vectors at a cosine threshold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from dedup.embed import Embedder

__all__ = ["MinHashBaseline", "VectorClusterBaseline"]

_WORD = re.compile(r"\w+")


class MinHashBaseline:
    def __init__(self, threshold: float = 0.5, num_perm: int = 128, shingle: int = 5) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle

    def signature(self, text: str) -> MinHash:
        words = _WORD.findall(text.lower())
        m = MinHash(num_perm=self.num_perm)
        k = self.shingle
        for i in range(max(1, len(words) - k + 1)):
            m.update(" ".join(words[i : i + k]).encode("utf-8"))
        return m

    def pairs(self, texts: Mapping[str, str]) -> dict[tuple[str, str], float]:
        """Near-duplicate pairs (a, b) in input order, with their estimated Jaccard similarity."""
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        sigs: dict[str, MinHash] = {}
        order = {doc_id: n for n, doc_id in enumerate(texts)}
        found: dict[tuple[str, str], float] = {}
        for doc_id, text in texts.items():
            sig = self.signature(text)
            for other in lsh.query(sig):
                a, b = sorted((other, doc_id), key=order.__getitem__)
                found[(a, b)] = sig.jaccard(sigs[other])
            lsh.insert(doc_id, sig)
            sigs[doc_id] = sig
        return found

    def clusters(self, texts: Mapping[str, str]) -> dict[str, int]:
        """Connected components over the near-duplicate pairs: document id -> cluster number."""
        parent = {d: d for d in texts}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in self.pairs(texts):
            parent[find(a)] = find(b)
        roots: dict[str, int] = {}
        return {d: roots.setdefault(find(d), len(roots)) for d in texts}


class VectorClusterBaseline:
    """The story clusters a user would try with the same model dedup uses: each article's text embedded
    whole by MiniLM (sentence-transformers cuts it at the model's 256 word pieces, so mostly its lead),
    then clustered at a cosine threshold, either by connected components (any two articles at or above
    it are joined) or by agglomerative average linkage cut at it (scipy)."""

    METHODS = ("components", "average")

    def __init__(self, embedder: Embedder, threshold: float, method: str = "average") -> None:
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {', '.join(self.METHODS)}, not {method!r}")
        self.embedder = embedder
        self.threshold = threshold
        self.method = method

    def vectors(self, texts: Mapping[str, str]) -> np.ndarray:
        v = np.asarray(self.embedder.encode(list(texts.values())), dtype=np.float64)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return np.asarray(v / np.where(norms > 0, norms, 1.0))

    def clusters(self, texts: Mapping[str, str], vectors: np.ndarray | None = None) -> dict[str, int]:
        """Document id -> cluster number; ``vectors`` (rows in the order of ``texts``) if already made."""
        ids = list(texts)
        if len(ids) < 2:
            return {d: 0 for d in ids}
        v = self.vectors(texts) if vectors is None else vectors
        if self.method == "components":
            _, labels = connected_components(csr_matrix(v @ v.T >= self.threshold), directed=False)
            return {d: int(labels[i]) for i, d in enumerate(ids)}
        z = linkage(v, method="average", metric="cosine")
        labels = fcluster(z, t=1.0 - self.threshold, criterion="distance")
        return {d: int(labels[i]) for i, d in enumerate(ids)}
