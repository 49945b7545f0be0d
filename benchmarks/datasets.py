"""Loaders for the research data sets the benchmarks run on (never shipped with dedup)."""

from __future__ import annotations

import json
from pathlib import Path

from dedup.article import Article

__all__ = ["DEFAULT_DATA", "NEWS_ECB_KINDS", "load_mrpc", "load_news_ecb", "story_of"]

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


NEWS_ECB_KINDS: dict[str, str] = {
    "4": "death", "23": "death", "26": "death", "28": "death",
    "20": "earthquake", "37": "earthquake", "38": "earthquake",
    "18": "shooting", "19": "shooting", "22": "shooting", "33": "shooting",
    "16": "killing", "21": "killing", "32": "killing", "45": "killing",
    "5": "sport", "7": "sport", "10": "sport", "25": "sport", "29": "sport", "31": "sport",
    "1": "entertainment", "2": "entertainment", "6": "entertainment", "39": "entertainment",
    "43": "acquisition", "44": "acquisition",
    "27": "technology", "30": "technology", "40": "technology", "42": "technology",
    "13": "fire", "14": "fire",
    "3": "crime", "8": "crime", "12": "crime", "24": "crime", "35": "crime", "36": "crime",
    "9": "politics", "11": "politics", "34": "politics", "41": "politics",
}  # fmt: skip
"""The kind of event each news_ecb story is, read off its articles for this project (two earthquakes
are one kind): the syndication benchmark places stories of one kind a few days apart and splits
every kind between its tune and report splits. Benchmark truth only; dedup never sees it."""
