"""Syndication benchmark: a corpus with a KNOWN derivation forest, built from real articles, and
how well dedup (and the baselines a user would pick) recover it.

    python -m benchmarks.syndication --split report          # the figures in benchmarks/README.md
    python -m benchmarks.syndication --split tune            # where thresholds are chosen
    python -m benchmarks.syndication --size 40 --out /tmp/synd   # small run, corpus written out

SPLITS

``--split tune`` and ``--split report`` build from disjoint halves of the base corpus's stories
(every kind of event dealt to both: each split has its own earthquakes, its own killings), with
different seeds (1 and 2). Every threshold dedup and the baselines use is chosen on ``tune``; every
figure the project reports comes from ``report``. ``--base`` takes news_ecb (the default) or any
JSONL file of real articles with a story label, so the same corpus can be built from another source.

THE CORPUS

Base articles are real news_ecb (ECB+) articles (docs.json: doc id -> {sentence index -> sentence};
the story, one event, is the number before "_" in the id), lightly de-tokenised ("eight - year" ->
"eight-year") and grouped into paragraphs, the first sentence (usually the headline) on its own. Only articles
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

Newsrooms also do two things the table does not show. AGENCY COPY: a few base articles (8%) belong
to a news agency (an invented wire) and are republished by 5 to 12 outlets within 2 to 45 minutes
(verbatim, light edits, trims: many siblings), the copies with exact times, the agency's own feed
without a timestamp 40% of the time (an original without a timestamp whose copies have one).
ROUNDUPS: 6% as many as base articles, each the headlines and leads (prose, not datelines) of two to four
stories published within three days of one another (one section a story, 30/50/20%); its parents
are the sources, its expected relation PARTIALLY_DERIVED with each, and its story is the story of
its longest section.

Chains: a derived article is itself copied (verbatim, trimmed, light_edit, rewrite or cites_corpus;
never a verbatim copy of a verbatim copy, which nothing can tell from a copy of the original without
timestamps) up to three steps deep; its parent is the article it was made from, not the original,
and it is scored under its own kind and again under "chain".

Time: every story starts within 28 days; stories of one kind (two earthquakes, two trials) start 2
to 9 days apart, so that dedup must keep apart events that read alike. A base article is published
6 to 54 hours into its story's day. Timestamps: each derived article is published 10 minutes to 18
hours after its parent(s) (agency copies: minutes); 60% carry the
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
  against two truths: ``families`` (the derivation families) and ``stories`` (the story of each
  article; dedup's clusters are meant to be stories, so this is the main one); ``largest_cluster``
  against ``largest_story``; ``clusters_merging_stories``: clusters holding two or more articles of
  each of two stories (``_of_one_kind``: of the same kind of event). ``order_stability``: the same
  corpus ingested in ``--orders`` seeded orders, the ARI of every two of the clusterings.
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
  parent carry (both_exact, date_only, missing). ``reliability``: every top parent given, binned by
  its confidence, with the share right in each bin and among those of confidence 0.8 or more.
  Computed twice: ``with_timestamps`` and ``without_timestamps`` (the same corpus and input order,
  every timestamp removed).
- ``external_sources``: for cites_external articles, share whose named outlet is in
  ``external_sources`` (split into outlets dedup's table knows and invented ones, and by phrasing);
  for cites_corpus articles, share whose predicted parent is the cited article, and share where the
  cited outlet is (correctly) not listed as an external source.
- ``baseline``: datasketch MinHash LSH over whole texts, headers and footers included
  (benchmarks/baseline.py), at Jaccard 0.5 (its
  default) and 0.3: pairs are scored as ``any_reuse`` (it has no relation classes), clusters are its
  connected components, and parents and external sources are null ("n/a": it has neither);
  ``minilm_average`` and ``minilm_components``: each article's whole text embedded by the same
  MiniLM (sentence-transformers, 256 word pieces) and clustered at a cosine threshold chosen on the
  tune split, by average linkage or connected components (``minilm_sweep`` on the tune split shows
  the choice).

``--out DIR`` writes corpus.jsonl (what dedup is given, with timestamps), truth.jsonl (kind, parents,
family, story, outlet, true time, timestamp precision, cited outlet), hidden.jsonl (the hidden
sources) and dedup_with_timestamps.json / dedup_without_timestamps.json (dedup's documents and pairs
with passages). The corpus is made of research data: never commit it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baseline import VectorClusterBaseline
from benchmarks.datasets import DEFAULT_DATA
from benchmarks.model_backend import add_backend_argument, backend_detector
from benchmarks.syndication.corpus import SPLITS, build_corpus, load_base
from benchmarks.syndication.score import (
    confidence_rows,
    confident_threshold,
    corpus_summary,
    order_stability,
    pair_truth,
    score_baseline,
    score_clusters,
    score_dedup,
    write_out,
)
from benchmarks.syndication.vocab import DEFAULT_SIZE
from dedup.derive import CONFIDENCE_FEATURES
from dedup.embed import SentenceTransformerEmbedder
from dedup.logistic import fit_logistic, probability
from dedup.pipeline import Detector


def _log(message: str) -> None:
    print(f"[syndication] {message}", file=sys.stderr, flush=True)


VECTOR_BASELINE = {"average": 0.45, "components": 0.75}
"""Cosine thresholds of the MiniLM vector baselines, chosen on the tune split (``--split tune`` prints
the sweep they come from: the threshold of best story ARI for each method)."""
CONFIDENCE_L2 = 0.1
"""The L2 penalty of the parent-confidence fit: lighter than the default, so that the evidence classes
that are right almost always get the confidence they earn (more parents reach 0.8 at 95% right on the
tune split than with 1.0)."""
VECTOR_SWEEP = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)


def main(argv: Sequence[str] | None = None, detector: Detector | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.syndication",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base",
        default=str(DEFAULT_DATA / "news_ecb"),
        help="the real articles to build from: a news_ecb folder with docs.json, or a JSONL file of "
        '{"id", "text", "story", "kind"?} objects (default: %(default)s)',
    )
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default="report",
        help="which stories to build from: 'tune' (thresholds are chosen on it), 'report' (figures are "
        "reported on it; the default) or 'all'; the two share no story",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help="number of base articles (default %(default)s: about 650 articles in all)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the corpus (default: the split's, tune 1, report 2)"
    )
    parser.add_argument(
        "--order",
        choices=("shuffled", "time"),
        default="shuffled",
        help="order dedup is given the articles: seeded random (default) or publication time",
    )
    parser.add_argument(
        "--orders",
        type=int,
        default=3,
        help="how many seeded shuffles of the corpus dedup also ingests, with timestamps, to measure how "
        "much its clusters depend on arrival order (pairwise ARI; default %(default)s, 1 = only the first)",
    )
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=[0.5, 0.3],
        help="Jaccard thresholds of the MinHash baseline (default: 0.5 0.3)",
    )
    parser.add_argument(
        "--no-vector-baseline",
        action="store_true",
        help="skip the MiniLM article-vector cluster baselines (they load the model a second time)",
    )
    parser.add_argument(
        "--fit-confidence",
        action="store_true",
        help="fit the weights of dedup's parent confidence (derive.confidence_weights) on this corpus, "
        "with and without timestamps, and print them (tune split only)",
    )
    add_backend_argument(parser)
    parser.add_argument("--out", help="write the corpus, its truth and dedup's answers to this folder")
    args = parser.parse_args(argv)
    if args.fit_confidence and args.split != "tune":
        parser.error("--fit-confidence fits on the tune split only: add --split tune")

    started = time.perf_counter()
    seed = args.seed if args.seed is not None else SPLITS.get(args.split, 1)
    try:
        base = load_base(args.base).split(args.split)
        corpus = build_corpus(base, args.size, seed, args.order)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    pt = pair_truth(corpus)
    _log(f"corpus ({args.split} split, seed {seed}): {len(corpus.docs)} articles, {args.size} base articles")
    detector = detector or backend_detector(args.backend)
    if args.fit_confidence:  # every parent dedup would give, however unsure, is a row of the fit
        config = detector.config
        config = replace(config, derive=replace(config.derive, min_confidence=0.0))
        detector = Detector(config, detector.embedder)
    result: dict[str, Any] = {
        "benchmark": "syndication",
        "split": args.split,
        "backend": detector.config.embed.backend,
        "corpus": corpus_summary(corpus, seed, args.size, args.order),
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
    if args.orders > 1:
        clusterings = [{d.id: d.cluster for d in analyses["with_timestamps"].documents}]
        articles = corpus.articles(timestamps=True)
        for k in range(1, args.orders):
            shuffled = list(articles)
            random.Random(f"order:{seed}:{k}").shuffle(shuffled)
            again = detector.analyze(shuffled)
            clusterings.append({d.id: d.cluster for d in again.documents})
            _log(f"dedup, shuffled order {k}: {score_dedup(corpus, pt, again, True)['clusters']['stories']}")
        dedup_scores["order_stability"] = order_stability(clusterings)
    result["dedup"] = dedup_scores
    if args.fit_confidence:
        rows: list[list[float]] = []
        labels: list[bool] = []
        for analysis in analyses.values():
            x, y = confidence_rows(corpus, analysis)
            rows.extend(x)
            labels.extend(y)
        x, y = np.asarray(rows), np.asarray(labels, dtype=float)
        weights = fit_logistic(x, y, l2=CONFIDENCE_L2)
        result["fitted_confidence_weights"] = {
            "weights": [round(float(w), 4) for w in weights],
            "features": ["intercept", *CONFIDENCE_FEATURES],
            "confident_probability": confident_threshold(probability(x, weights), y, 0.95),
            "parents": len(labels),
        }
    baselines: dict[str, Any] = {f"minhash_{t}": score_baseline(corpus, pt, t) for t in args.thresholds}
    if not args.no_vector_baseline:
        embedder = SentenceTransformerEmbedder(max_seq_length=256)
        texts = {d.id: d.text for d in corpus.docs}
        vectors = VectorClusterBaseline(embedder, 0.0).vectors(texts)
        for method, threshold in VECTOR_BASELINE.items():
            clusters = VectorClusterBaseline(embedder, threshold, method).clusters(texts, vectors)
            baselines[f"minilm_{method}_{threshold}"] = {
                "threshold": threshold,
                "clusters": score_clusters(corpus, clusters),
            }
        if args.split == "tune":
            baselines["minilm_sweep"] = {
                method: {
                    f"{th:.2f}": score_clusters(
                        corpus, VectorClusterBaseline(embedder, th, method).clusters(texts, vectors)
                    )["stories"]["ari"]
                    for th in VECTOR_SWEEP
                }
                for method in VectorClusterBaseline.METHODS
            }
    result["baseline"] = baselines
    result["notes"] = {
        "split": "thresholds are chosen on the tune split; figures are reported on the report split",
        "parents": "baseline parents and external sources are null: it has neither (n/a, not 0)",
        "baseline_pairs": "a pair the baseline flags counts as 'any reuse relation'",
        "clusters": "'stories' = the story (one event) of the base article; 'families' = derivation "
        "families; a roundup's story is the story of its longest section",
        "rewrite": "rewrites are rule-based (word table, clause reordering, dropped sentences), not a model",
        "minilm": "each article's whole text through MiniLM (256 word pieces), clustered at a cosine "
        "threshold chosen on the tune split",
    }
    if args.out:
        write_out(Path(args.out), corpus, analyses)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0
