"""The syndication benchmark: a corpus with a known derivation forest, built from real articles, and
how well dedup (and the baselines a user would pick) recover it. ``python -m benchmarks.syndication
--help`` explains the corpus and every score.

- ``vocab``: the invented outlets and names, and the relation each kind of derivation expects;
- ``text``: the text transformations (trims, reorderings, edits, rewrites, stitches, citations);
- ``corpus``: the base articles, the derived ones and their truth;
- ``score``: dedup's and the baselines' scores against that truth;
- ``cli``: the command.
"""

from __future__ import annotations

from benchmarks.syndication.cli import main
from benchmarks.syndication.corpus import (
    SPLITS,
    BaseCorpus,
    Corpus,
    Doc,
    build_corpus,
    load_base,
    load_sources,
)
from benchmarks.syndication.score import PairTruth, pair_truth, score_baseline, score_dedup
from benchmarks.syndication.text import (
    add_citation,
    body_text,
    detokenize,
    flatten,
    light_edit,
    quote_mask,
    quoted_spans,
    reorder,
    rewrite,
    stitch,
    trim,
    update,
)
from benchmarks.syndication.vocab import EXPECTED

__all__ = [
    "EXPECTED",
    "SPLITS",
    "BaseCorpus",
    "Corpus",
    "Doc",
    "PairTruth",
    "add_citation",
    "body_text",
    "build_corpus",
    "detokenize",
    "flatten",
    "light_edit",
    "load_base",
    "load_sources",
    "main",
    "pair_truth",
    "quote_mask",
    "quoted_spans",
    "reorder",
    "rewrite",
    "score_baseline",
    "score_dedup",
    "stitch",
    "trim",
    "update",
]
