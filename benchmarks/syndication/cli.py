"""Syndication benchmark: a corpus with a KNOWN derivation forest, built from real articles, and
how well dedup (and the stock MinHash baseline) recovers it.

    python -m benchmarks.syndication --base ../shared/data/news_ecb --size 200 --seed 1
    python -m benchmarks.syndication --size 50 --out /tmp/synd   # small run, corpus written out

THE CORPUS

Base articles are real news_ecb (ECB+) articles (docs.json: doc id -> {sentence index -> sentence};
the story is the number before "_" in the id), lightly de-tokenised ("eight - year" -> "eight-year")
and grouped into paragraphs, the first sentence (usually the headline) on its own. Only articles
with at least 6 sentences and 100 words are used, and they are picked (seeded, greedily) so that no
two of them share three or more 8-word shingles: ECB+ holds several copies of the same wire story,
and those must not be unlabelled duplicates here. ``--size`` is the number of base articles. Each
gets an invented outlet ("Northgate Courier"), a byline header ("By Ana Ruiz, Northgate Courier")
and a copyright footer (most of the time), and a publication time.

Derived articles are made from them the ways newsrooms make them (each has another invented
outlet unless said otherwise):

==============  ==================================================================  ==================
kind            how it is made                                                      expected relation
==============  ==================================================================  ==================
verbatim        the parent's body word for word under the new outlet's header and   DUPLICATE
                footer
reordered       the parent's paragraphs, headline first, the others shuffled        DUPLICATE
light_edit      house-style edits outside quotes: US/UK spelling, digits/words,     DUPLICATE
                "percent"/"%", titles (Gov./Governor, Mr. dropped), contractions,
                "U.S."/"US", said/says, month abbreviations
trimmed         a prefix of the parent: 40-75% of its words, cut at a sentence end   WHOLLY_DERIVED
update          same outlet, id family "<id>-u1", "<id>-u2": the previous version    WHOLLY_DERIVED
                plus a new paragraph (at least 22% of its words) at the top or
                bottom, and an "Updated:" line; u2 is an update of u1
rewrite         RULE-BASED heavy rewrite (no paraphrasing model): a table of word    PARTIALLY_DERIVED
                and phrase substitutions, clause reordering (", police said." ->
                "Police said ..."; leading and trailing adverbial clauses swapped),
                unquoted sentences dropped until 50-70% of the words remain,
                neighbours swapped, new paragraphing, and the outlet's own
                material (sentences of unused ECB+ articles of the same story,
                sharing no 8-word shingle with anything else in the corpus)
                making up a third or more of it. Quoted spans are kept
                character for character
cites_corpus    a rewrite that names its parent's outlet ("according to the         PARTIALLY_DERIVED
                Northgate Courier", "Northgate Courier reported on Monday that")
stitched        two base articles of the same story by different outlets: the head  PARTIALLY_DERIVED
                of one and the tail of the other, each 25-75% of the result          (with each parent)
cites_external  a rewrite of an article that is NOT in the corpus (a hidden          no parent; the
                source: 12% as many as base articles, one to three rewrites each),  outlet should be
                naming that source's outlet: a wire dedup's outlet table knows      an external source
                (Reuters, Bloomberg, ...; 70%) or an invented one it cannot know
==============  ==================================================================  ==================

The relation is what dedup's README defines: DUPLICATE is "near-identical both ways, mostly word for
word", which a light edit (a word here and there) still is, so light_edit expects DUPLICATE, not
WHOLLY_DERIVED; a rewrite with a third of its own material and a quarter or more of the parent
dropped is neither side "almost all inside the other". A derivation that needs own material is
skipped when its story has none left (material from another story would link two stories).

Chains: a derived article is itself copied (verbatim, trimmed, light_edit, rewrite or cites_corpus;
never a verbatim copy of a verbatim copy, which nothing can tell from a copy of the original without
timestamps) up to three steps deep; its parent is the article it was made from, not the original,
and it is scored under its own kind and again under "chain".

Timestamps: each article is published 10 minutes to 18 hours after its parent(s); 60% carry the
exact time, 20% the date only, 20% none. Articles are fed to dedup in a seeded random order
(``--order shuffled``, the default: the input order says nothing about time) or in publication order
(``--order time``).

The truth is a forest (a DAG where stitched articles have two parents): the edges child -> parent,
with hidden sources as extra roots outside the corpus. A derivation FAMILY is a connected component
of it (hidden sources included, so sibling rewrites of one wire story are one family).

THE SCORES (one JSON object on stdout)

- ``pairs``: every true edge (child, parent) is a pair that should be reported with its expected
  relation. Pairs of the same family that are not edges (grandparent, siblings) and pairs of
  different families whose texts share an 8-word shingle are "don't care"; every other pair is
  unrelated. ``any_reuse``: precision, recall and F1 of reporting a reuse relation (DUPLICATE,
  WHOLLY_DERIVED, PARTIALLY_DERIVED) on edges vs unrelated pairs. ``by_relation``: the same per
  expected class, a pair counting only with the right class (a wrong class is a false positive of the
  class given and a miss of the class expected). ``by_kind``: for the edges of each kind, recall =
  share found with the right class, precision = share of those found (any reuse relation) that have
  the right class, ``found`` = share found at all, and the relations reported. ``false_positives``:
  the unrelated pairs reported, how many are of one news_ecb story and how many share nothing but
  PARAPHRASE passages (and how many true edges were found by paraphrase alone).
- ``clusters``: adjusted Rand index and B-cubed precision, recall and F1 of dedup's story clusters
  against two truths: ``families`` (the derivation families) and ``stories`` (news_ecb's story of
  each article; dedup's clusters are meant to be stories, so this is the main one).
- ``parents``: ``derived`` = share of articles with a parent in the corpus whose most confident
  predicted parent is a true parent (for stitched articles either one; ``stitched_both`` = both and
  nothing else); ``derived_or_indistinguishable`` also accepts a predicted parent that no text
  signal can tell from the true one (the child's sentences found word for word in it are exactly
  those found in the true parent: another verbatim copy of the parent, a sibling with the same
  prefix); ``ancestor`` = the predicted parent is at least an ancestor; ``roots`` = share of
  articles with no parent in the corpus (base articles, cites_external) given none; ``all`` = derived
  and roots together. ``by_kind``; ``errors`` says what the wrong parents were (no_parent,
  own_descendant = direction reversed, indistinguishable, ancestor, sibling, same_family_other,
  other_family); with timestamps, ``by_timestamp`` splits derived articles by what the child and its
  parent carry (both_exact, date_only, missing). Computed twice: ``with_timestamps`` and
  ``without_timestamps`` (the same corpus and input order, every timestamp removed).
- ``external_sources``: for cites_external articles, share whose named outlet is in
  ``external_sources`` (split into outlets dedup's table knows and invented ones, and by phrasing);
  for cites_corpus articles, share whose predicted parent is the cited article, and share where the
  cited outlet is (correctly) not listed as an external source.
- ``baseline``: datasketch MinHash LSH over whole texts, headers and footers included
  (benchmarks/baseline.py), at Jaccard 0.5 (its
  default) and 0.3: pairs are scored as ``any_reuse`` (it has no relation classes), clusters are its
  connected components, and parents and external sources are null ("n/a": it has neither).

``--out DIR`` writes corpus.jsonl (what dedup is given, with timestamps), truth.jsonl (kind, parents,
family, story, outlet, true time, timestamp precision, cited outlet), hidden.jsonl (the hidden
sources) and dedup_with_timestamps.json / dedup_without_timestamps.json (dedup's documents and pairs
with passages). The corpus is made of research data: never commit it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.datasets import DEFAULT_DATA
from benchmarks.syndication.corpus import build_corpus, load_sources
from benchmarks.syndication.score import corpus_summary, pair_truth, score_baseline, score_dedup, write_out
from benchmarks.syndication.vocab import DEFAULT_SIZE
from dedup.pipeline import Detector


def _log(message: str) -> None:
    print(f"[syndication] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, detector: Detector | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.syndication",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base",
        default=str(DEFAULT_DATA / "news_ecb"),
        help="news_ecb folder with docs.json (default: %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help="number of base articles, at most 217 (default %(default)s: about 1,200 articles in all, "
        "10 minutes on two busy CPU cores)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the corpus (default %(default)s)")
    parser.add_argument(
        "--order",
        choices=("shuffled", "time"),
        default="shuffled",
        help="order dedup is given the articles: seeded random (default) or publication time",
    )
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=[0.5, 0.3],
        help="Jaccard thresholds of the MinHash baseline (default: 0.5 0.3)",
    )
    parser.add_argument("--out", help="write the corpus, its truth and dedup's answers to this folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sources = load_sources(args.base)
    try:
        corpus = build_corpus(sources, args.size, args.seed, args.order)
    except ValueError as exc:
        parser.error(str(exc))
    pt = pair_truth(corpus)
    _log(f"corpus: {len(corpus.docs)} articles from {args.size} base articles")
    detector = detector or Detector()
    result: dict[str, Any] = {
        "benchmark": "syndication",
        "corpus": corpus_summary(corpus, args.seed, args.size, args.order),
    }
    dedup_scores: dict[str, Any] = {}
    analyses = {}
    for name, with_ts in (("with_timestamps", True), ("without_timestamps", False)):
        t0 = time.perf_counter()
        analysis = detector.analyze(corpus.articles(timestamps=with_ts))
        seconds = time.perf_counter() - t0
        _log(f"dedup {name}: {seconds:.1f} s")
        scores = score_dedup(corpus, pt, analysis, with_ts)
        scores["seconds"] = round(seconds, 2)
        scores["articles_per_second"] = round(len(corpus.docs) / seconds, 2) if seconds else None
        dedup_scores[name] = scores
        analyses[name] = analysis
    result["dedup"] = dedup_scores
    result["baseline"] = {f"minhash_{t}": score_baseline(corpus, pt, t) for t in args.thresholds}
    result["notes"] = {
        "parents": "baseline parents and external sources are null: it has neither (n/a, not 0)",
        "baseline_pairs": "a pair the baseline flags counts as 'any reuse relation'",
        "clusters": "'stories' = news_ecb story of the base article; 'families' = derivation families",
        "rewrite": "rewrites are rule-based (word table, clause reordering, dropped sentences), not a model",
    }
    if args.out:
        write_out(Path(args.out), corpus, analyses)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0
