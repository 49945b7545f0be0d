"""The baseline a user would otherwise pick: stock datasketch, document level.

MinHash (default settings: 128 permutations, SHA-1 hashing) over 5-word shingles of the
lower-cased words, a MinHashLSH index at a Jaccard threshold, and, for story clusters,
connected components over the pairs it finds. No alignment, no embeddings, no derivation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from datasketch import MinHash, MinHashLSH

__all__ = ["MinHashBaseline"]

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
