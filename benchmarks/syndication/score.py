"""Scores of dedup (and of the baselines) against the corpus's known derivation forest."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baseline import MinHashBaseline
from benchmarks.metrics import adjusted_rand_index, bcubed, precision_recall_f1
from benchmarks.syndication.corpus import Corpus, Doc
from benchmarks.syndication.text import body_text, flatten, shingles8
from benchmarks.syndication.vocab import EXPECTED
from dedup.attribution import canonical_outlet
from dedup.derive import confidence_features
from dedup.results import REUSE_RELATIONS, Analysis, PassageKind

# ------------------------------------------------------------------------------------------------
# Scoring


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _share(hits: int, n: int) -> float | None:
    return _r(hits / n) if n else None


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    truth = [True] * tp + [False] * fp + [True] * fn
    pred = [True] * tp + [True] * fp + [False] * fn
    p, r, f = precision_recall_f1(truth, pred)
    return {"precision": _r(p), "recall": _r(r), "f1": _r(f), "tp": tp, "fp": fp, "fn": fn}


@dataclass
class PairTruth:
    edges: dict[frozenset[str], tuple[str, str]]
    """Unordered (child, parent) -> (kind, expected relation)."""
    chain_edges: set[frozenset[str]]
    dont_care: set[frozenset[str]]


def pair_truth(corpus: Corpus) -> PairTruth:
    edges: dict[frozenset[str], tuple[str, str]] = {}
    chain: set[frozenset[str]] = set()
    for d in corpus.docs:
        for p in corpus.parents_of(d):
            key = frozenset((d.id, p))
            edges[key] = (d.kind, EXPECTED[d.kind])
            if d.depth >= 2:
                chain.add(key)
    fam_of = {d.id: corpus.family[d.key] for d in corpus.docs}
    # Different families whose bodies share an 8-word shingle: real shared wording, don't care.
    index: dict[int, list[str]] = defaultdict(list)
    for d in corpus.docs:
        for g in shingles8(body_text(d.body)):
            index[g].append(d.id)
    dont_care: set[frozenset[str]] = set()
    for ids in index.values():
        fams = {fam_of[i] for i in ids}
        if len(fams) < 2:
            continue
        for i, a in enumerate(ids):
            for bb in ids[i + 1 :]:
                if fam_of[a] != fam_of[bb]:
                    dont_care.add(frozenset((a, bb)))
    return PairTruth(edges, chain, dont_care)


def _is_related(pt: PairTruth, fam_of: Mapping[str, int], key: frozenset[str]) -> bool:
    a, b = tuple(key)
    return key in pt.dont_care or fam_of[a] == fam_of[b]


def _score_pairs(
    corpus: Corpus,
    pt: PairTruth,
    reported: Mapping[frozenset[str], str],
    paraphrase_only: Mapping[frozenset[str], bool] | None = None,
) -> dict[str, Any]:
    """Pair scores; ``reported`` maps unordered pairs to a relation name ('REUSE' for the baseline),
    ``paraphrase_only`` tells which of them share nothing but PARAPHRASE passages."""
    fam_of = {d.id: corpus.family[d.key] for d in corpus.docs}
    false_pos = {k: r for k, r in reported.items() if k not in pt.edges and not _is_related(pt, fam_of, k)}
    tp = sum(1 for k in pt.edges if k in reported)
    result: dict[str, Any] = {
        "edges": len(pt.edges),
        "any_reuse": _prf(tp, len(false_pos), len(pt.edges) - tp),
    }
    story = {d.id: d.story for d in corpus.docs}
    fp_info: dict[str, Any] = {
        "n": len(false_pos),
        "same_story": sum(1 for k in false_pos if len({story[i] for i in k}) == 1),
    }
    if paraphrase_only is not None:
        fp_info["paraphrase_only"] = sum(1 for k in false_pos if paraphrase_only.get(k))
        fp_info["edges_found_by_paraphrase_only"] = sum(
            1 for k in pt.edges if k in reported and paraphrase_only.get(k)
        )
    fp_info["by_relation"] = dict(sorted(Counter(false_pos.values()).items()))
    result["false_positives"] = fp_info
    classes = sorted(set(EXPECTED.values()))
    if any(r in classes for r in reported.values()):
        by_rel = {}
        for c in classes:
            tp_c = sum(1 for k, (_, e) in pt.edges.items() if e == c and reported.get(k) == c)
            fp_c = sum(1 for k, (_, e) in pt.edges.items() if e != c and reported.get(k) == c)
            fp_c += sum(1 for r in false_pos.values() if r == c)
            fn_c = sum(1 for k, (_, e) in pt.edges.items() if e == c and reported.get(k) != c)
            by_rel[c] = _prf(tp_c, fp_c, fn_c)
        result["by_relation"] = by_rel
    groups: dict[str, list[frozenset[str]]] = defaultdict(list)
    for k, (kind, _) in pt.edges.items():
        groups[kind].append(k)
        if k in pt.chain_edges:
            groups["chain"].append(k)
    by_kind = {}
    for kind in sorted(groups):
        keys = groups[kind]
        found = [k for k in keys if k in reported]
        entry: dict[str, Any] = {"n": len(keys), "found": _share(len(found), len(keys))}
        if "by_relation" in result:
            right = sum(1 for k in found if reported[k] == pt.edges[k][1])
            p = right / len(found) if found else 0.0
            r = right / len(keys)
            entry.update(
                {
                    "expected": EXPECTED.get(kind, "mixed"),
                    "precision": _r(p),
                    "recall": _r(r),
                    "f1": _r(2 * p * r / (p + r) if p + r else 0.0),
                    "reported": dict(sorted(Counter(reported.get(k, "none") for k in keys).items())),
                }
            )
        by_kind[kind] = entry
    result["by_kind"] = by_kind
    return result


def score_clusters(corpus: Corpus, predicted: Mapping[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    truths = {
        "families": {d.id: corpus.family[d.key] for d in corpus.docs},
        "stories": {d.id: d.story for d in corpus.docs},
    }
    for name, truth in truths.items():
        p, r, f = bcubed(truth, predicted)
        out[name] = {
            "ari": _r(adjusted_rand_index(truth, predicted)),
            "bcubed_precision": _r(p),
            "bcubed_recall": _r(r),
            "bcubed_f1": _r(f),
            "true_clusters": len(set(truth.values())),
        }
    out["predicted_clusters"] = len(set(predicted.values()))
    stories = truths["stories"]
    members: dict[object, Counter[str]] = defaultdict(Counter)
    for doc_id, cluster in predicted.items():
        members[cluster][stories[doc_id]] += 1
    out["largest_cluster"] = max((sum(c.values()) for c in members.values()), default=0)
    out["largest_story"] = max(Counter(stories.values()).values(), default=0)
    # A cluster "merges" stories when it holds at least two articles of each of two stories.
    merging = [c for c in members.values() if sum(1 for n in c.values() if n >= 2) >= 2]
    out["clusters_merging_stories"] = len(merging)
    kind = corpus.kinds
    out["clusters_merging_stories_of_one_kind"] = sum(
        1
        for c in merging
        if len({kind.get(s, s) for s, n in c.items() if n >= 2}) < sum(1 for n in c.values() if n >= 2)
    )
    return out


def _timestamp_pair(child: Doc, parent: Doc) -> str:
    modes = {child.ts_mode, parent.ts_mode}
    if "none" in modes:
        return "missing"
    return "date_only" if "date" in modes else "both_exact"


def _indistinguishable(corpus: Corpus, doc: Doc, top: str) -> bool:
    """Whether the child's sentences found word for word in ``top`` are exactly those found word for
    word in a true parent: then nothing in the texts tells the two apart (a verbatim copy of the
    parent, a sibling with the same prefix), only publication times can."""
    mine = set(flatten(doc.body))
    theirs = mine & set(flatten(corpus.by_id[top].body))
    return bool(theirs) and any(theirs == mine & set(flatten(corpus.by_key[k].body)) for k in doc.parents)


def _parent_error(corpus: Corpus, doc: Doc, top: str, descendants: set[str]) -> str:
    """What the wrongly predicted parent ``top`` of ``doc`` is to it."""
    predicted = corpus.by_id[top]
    if top in descendants:
        return "own_descendant"
    if doc.parents and _indistinguishable(corpus, doc, top):
        return "indistinguishable"
    if top in corpus.ancestors(doc):
        return "ancestor"
    if set(predicted.parents) & set(doc.parents):
        return "sibling"
    if corpus.family[predicted.key] == corpus.family[doc.key]:
        return "same_family_other"
    return "other_family"


def _score_parents(corpus: Corpus, analysis: Analysis, timestamps: bool) -> dict[str, Any]:
    docs = {d.id: d for d in analysis.documents}
    children: dict[int, list[int]] = defaultdict(list)
    for d in corpus.docs:
        for k in d.parents:
            children[k].append(d.key)

    def descendants(doc: Doc) -> set[str]:
        seen: set[int] = set()
        stack = list(children[doc.key])
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(children[k])
        return {corpus.by_key[k].id for k in seen}

    kinds: dict[str, list[bool]] = defaultdict(list)
    ancestor: list[bool] = []
    equivalent: list[bool] = []
    settled: list[bool] = []  # right, or honestly undetermined among candidates that hold the truth
    by_ts: dict[str, list[bool]] = defaultdict(list)
    by_ts_settled: dict[str, list[bool]] = defaultdict(list)
    roots: list[bool] = []
    stitched_both: list[bool] = []
    errors: dict[str, Counter[str]] = {"derived": Counter(), "roots": Counter()}
    given: list[tuple[float, bool]] = []  # (confidence, right) of every top parent given
    undetermined = {"grouped": 0, "with_alternatives": 0, "candidates": 0}
    for d in corpus.docs:
        result = docs[d.id]
        predicted = [p.id for p in result.parents]
        top = predicted[0] if predicted else None
        named = {top, *result.parents[0].alternatives} if result.parents else set()
        group = result.duplicate_group
        truth = corpus.parents_of(d)
        if top is not None:
            given.append((result.parents[0].confidence, bool(named & set(truth))))
            if result.parents[0].alternatives:
                undetermined["with_alternatives"] += 1
                undetermined["candidates"] += len(named)
        elif group is not None:
            undetermined["grouped"] += 1
            undetermined["candidates"] += len(group.originals)
        if not truth:
            roots.append(top is None)
            kinds["root:" + ("cites_external" if d.kind == "cites_external" else "base")].append(top is None)
            if top is not None:
                errors["roots"][_parent_error(corpus, d, top, descendants(d))] += 1
            continue
        ok = top in truth
        if top is not None:
            fair = bool(named & set(truth))
        else:
            fair = group is not None and bool(set(group.originals) & set(truth))
        settled.append(fair)
        kinds[d.kind].append(ok)
        if d.depth >= 2:
            kinds["chain"].append(ok)
        if d.burst:
            kinds["burst"].append(ok)
        ancestor.append(top is not None and top in corpus.ancestors(d))
        equivalent.append(ok or (top is not None and _indistinguishable(corpus, d, top)))
        stamp = _timestamp_pair(d, corpus.by_key[d.parents[0]])
        by_ts[stamp].append(ok)
        by_ts_settled[stamp].append(fair)
        if d.kind == "stitched":
            stitched_both.append(set(predicted) == set(truth))
        if not ok:
            if top is None:
                error = "undetermined_group" if fair else "no_parent"
            elif fair:
                error = "undetermined_alternatives"
            else:
                error = _parent_error(corpus, d, top, descendants(d))
            errors["derived"][error] += 1
    derived = [
        ok for k, v in kinds.items() if not k.startswith("root:") and k not in ("chain", "burst") for ok in v
    ]
    n_undetermined = undetermined["grouped"] + undetermined["with_alternatives"]
    result: dict[str, Any] = {
        "derived": _share(sum(derived), len(derived)),
        "derived_or_undetermined": _share(sum(settled), len(settled)),
        "derived_or_indistinguishable": _share(sum(equivalent), len(equivalent)),
        "ancestor": _share(sum(ancestor), len(ancestor)),
        "roots": _share(sum(roots), len(roots)),
        "all": _share(sum(derived) + sum(roots), len(derived) + len(roots)),
        "all_or_undetermined": _share(sum(settled) + sum(roots), len(settled) + len(roots)),
        "stitched_both": _share(sum(stitched_both), len(stitched_both)),
        "n_derived": len(derived),
        "n_roots": len(roots),
        "undetermined": {
            "in_duplicate_groups": undetermined["grouped"],
            "parents_with_alternatives": undetermined["with_alternatives"],
            "mean_candidates": round(undetermined["candidates"] / n_undetermined, 2)
            if n_undetermined
            else None,
        },
        "by_kind": {k: {"n": len(v), "accuracy": _share(sum(v), len(v))} for k, v in sorted(kinds.items())},
        "errors": {k: dict(sorted(v.items())) for k, v in errors.items()},
        "reliability": reliability(given),
    }
    if timestamps:
        result["by_timestamp"] = {
            k: {
                "n": len(v),
                "accuracy": _share(sum(v), len(v)),
                "or_undetermined": _share(sum(by_ts_settled[k]), len(v)),
            }
            for k, v in sorted(by_ts.items())
        }
    return result


RELIABILITY_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def reliability(given: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """Confidence against accuracy: for each bin of the confidence of the parents given, how many and
    how many were right; and the same for every parent given with confidence 0.8 or more."""
    bins = {}
    for lo, hi in itertools.pairwise(RELIABILITY_BINS):
        inside = [ok for c, ok in given if lo <= c < hi or (hi == 1.0 and c == 1.0)]
        bins[f"{lo:.1f}-{hi:.1f}"] = {"n": len(inside), "accuracy": _share(sum(inside), len(inside))}
    confident = [ok for c, ok in given if c >= 0.8]
    return {
        "bins": bins,
        "at_least_0.8": {"n": len(confident), "accuracy": _share(sum(confident), len(confident))},
    }


def _score_external(corpus: Corpus, analysis: Analysis) -> dict[str, Any]:
    docs = {d.id: d for d in analysis.documents}
    listed: dict[str, list[bool]] = defaultdict(list)
    by_template: dict[str, list[bool]] = defaultdict(list)
    cited_parent: list[bool] = []
    not_listed: list[bool] = []
    for d in corpus.docs:
        if d.cites is None:
            continue
        result = docs[d.id]
        names = {s.name for s in result.external_sources}
        if d.kind == "cites_external":
            ok = canonical_outlet(d.cites) in names
            listed[d.external or "?"].append(ok)
            by_template[d.cite_template or "?"].append(ok)
        else:
            top = result.parents[0].id if result.parents else None
            cited_parent.append(top in corpus.parents_of(d))
            not_listed.append(canonical_outlet(d.cites) not in names)
    all_ext = [ok for v in listed.values() for ok in v]
    return {
        "cites_external": {
            "n": len(all_ext),
            "listed": _share(sum(all_ext), len(all_ext)),
            "by_outlet": {
                k: {"n": len(v), "listed": _share(sum(v), len(v))} for k, v in sorted(listed.items())
            },
            "by_phrase": {
                k: {"n": len(v), "listed": _share(sum(v), len(v))} for k, v in sorted(by_template.items())
            },
        },
        "cites_corpus": {
            "n": len(cited_parent),
            "parent_is_cited": _share(sum(cited_parent), len(cited_parent)),
            "not_listed_as_external": _share(sum(not_listed), len(not_listed)),
        },
    }


def score_dedup(corpus: Corpus, pt: PairTruth, analysis: Analysis, timestamps: bool) -> dict[str, Any]:
    reuse = [p for p in analysis.pairs if p.relation in REUSE_RELATIONS]
    reported = {frozenset((p.a, p.b)): p.relation.value for p in reuse}
    paraphrase_only = {
        frozenset((p.a, p.b)): all(x.kind is PassageKind.PARAPHRASE for x in p.passages) for p in reuse
    }
    return {
        "pairs": _score_pairs(corpus, pt, reported, paraphrase_only),
        "clusters": score_clusters(corpus, {d.id: d.cluster for d in analysis.documents}),
        "parents": _score_parents(corpus, analysis, timestamps),
        "external_sources": _score_external(corpus, analysis),
    }


def score_baseline(corpus: Corpus, pt: PairTruth, threshold: float) -> dict[str, Any]:
    started = time.perf_counter()
    baseline = MinHashBaseline(threshold=threshold)
    texts = {d.id: d.text for d in corpus.docs}
    pairs = baseline.pairs(texts)
    clusters = baseline.clusters(texts)
    seconds = time.perf_counter() - started
    reported = {frozenset(k): "REUSE" for k in pairs}
    return {
        "threshold": threshold,
        "pairs": _score_pairs(corpus, pt, reported),
        "clusters": score_clusters(corpus, clusters),
        "parents": None,
        "external_sources": None,
        "seconds": round(seconds, 2),
    }


def corpus_summary(corpus: Corpus, seed: int, size: int, order: str) -> dict[str, Any]:
    fams = {corpus.family[d.key] for d in corpus.docs}
    return {
        "seed": seed,
        "size": size,
        "order": order,
        "articles": len(corpus.docs),
        "hidden_sources": len(corpus.hidden),
        "families": len(fams),
        "stories": len({d.story for d in corpus.docs}),
        "by_kind": dict(sorted(Counter(d.kind for d in corpus.docs).items())),
        "chained": sum(1 for d in corpus.docs if d.depth >= 2),
        "max_depth": max((d.depth for d in corpus.docs), default=0),
        "timestamps": dict(sorted(Counter(d.ts_mode for d in corpus.docs).items())),
        "expected_relation": EXPECTED,
    }


def write_out(folder: Path, corpus: Corpus, analyses: Mapping[str, Analysis]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.docs:
            row: dict[str, Any] = {"id": d.id, "text": d.text, "outlet": d.outlet}
            if d.timestamp():
                row["published_at"] = d.timestamp()
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (folder / "truth.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.docs:
            f.write(json.dumps(corpus.truth(d), ensure_ascii=False) + "\n")
    with (folder / "hidden.jsonl").open("w", encoding="utf-8") as f:
        for d in corpus.hidden:
            row = {"id": d.id, "text": d.text, "outlet": d.outlet, "external": d.external, "story": d.story}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for name, analysis in analyses.items():
        data = analysis.to_dict()
        data.pop("clusters", None)
        (folder / f"dedup_{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def order_stability(clusterings: Sequence[Mapping[str, object]]) -> dict[str, Any]:
    """How much the clusters depend on arrival order: the ARI of every two clusterings of one corpus
    ingested in different orders (1.0: the same partition)."""
    aris = [
        adjusted_rand_index(clusterings[i], clusterings[j])
        for i in range(len(clusterings))
        for j in range(i + 1, len(clusterings))
    ]
    return {
        "orders": len(clusterings),
        "pairwise_ari": [_r(a) for a in aris],
        "min_ari": _r(min(aris, default=1.0)),
    }


def confident_threshold(p: np.ndarray, right: np.ndarray, target: float) -> float:
    """The lowest probability such that the rows at or above it are right at least ``target`` of the
    time (1.0 when none is), rounded up to three places."""
    best = 1.0
    for tau in sorted(set(p.tolist()), reverse=True):
        above = p >= tau
        if right[above].mean() >= target:
            best = tau
    return float(np.ceil(best * 1000) / 1000)


def confidence_rows(corpus: Corpus, analysis: Analysis) -> tuple[list[list[float]], list[bool]]:
    """For every parent dedup gives, the features its confidence is computed from
    (``dedup.derive.confidence_features``) and whether it is right (it or one of its alternatives is a
    true parent): what ``--fit-confidence`` fits the confidence weights on."""
    features, labels = [], []
    relation = {frozenset((p.a, p.b)): p.relation for p in analysis.pairs}
    for doc in analysis.documents:
        truth = set(corpus.parents_of(corpus.by_id[doc.id]))
        for p in doc.parents:
            rel = relation[frozenset((doc.id, p.id))]
            features.append(confidence_features(p.basis, rel, p.rules, p.cautions, bool(p.alternatives)))
            labels.append(bool({p.id, *p.alternatives} & truth))
    return features, labels
