"""Loaders for the research data sets the benchmarks run on (never shipped with dedup)."""

from __future__ import annotations

import json
from pathlib import Path

from dedup.document import Article

__all__ = ["DEFAULT_DATA", "load_news_ecb", "story_of"]

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def story_of(doc_id: str) -> str:
    """news_ecb's story (topic) of a document: the number before the first underscore."""
    return doc_id.split("_", 1)[0]


def load_news_ecb(folder: str | Path, limit: int | None = None) -> list[Article]:
    """news_ecb's articles, one sentence a line, in a stable order (sorted by id)."""
    docs = json.loads((Path(folder) / "docs.json").read_text(encoding="utf-8"))
    articles = []
    for doc_id in sorted(docs):
        sentences = docs[doc_id]
        text = "\n".join(sentences[k] for k in sorted(sentences, key=int))
        if text.strip():
            articles.append(Article(doc_id, text))
    return articles[:limit] if limit else articles


def load_mrpc(path: str | Path) -> list[tuple[int, str, str]]:
    """MRPC pairs: (label 1 = paraphrase, sentence 1, sentence 2)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 5:
            rows.append((int(parts[0]), parts[3], parts[4]))
    return rows
