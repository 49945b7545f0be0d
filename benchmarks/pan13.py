"""PAN 2013 text alignment: dedup's passage alignment, scored with PAN's own measures.

    python -m benchmarks.pan13 --out /tmp/pan13                      # the whole corpus, a few minutes
    python -m benchmarks.pan13 --out /tmp/pan13 --limit 100 --types 02,03   # a quick slice

The corpus (default ../shared/data/pan13-train) has src/, susp/ and one folder per obfuscation type:
01-no-plagiarism, 02-no-obfuscation, 03-random-obfuscation, 04-translation-obfuscation and
05-summary-obfuscation, each with its `pairs` and one truth XML per pair. Every pair is aligned and
its detections are written in PAN's format, one file per pair
(OUT/dedup/suspicious-documentXXXXX-source-documentYYYYY.xml, and the same under OUT/baseline/;
older XML files there are removed first), then read back and scored:

- macro precision and macro recall over characters, granularity and PlagDet = F1 / log2(1 +
  granularity) (Potthast et al. 2010, "An Evaluation Framework for Plagiarism Detection"), overall
  and per type: none (02), random (03), translation (04), summary (05). 01 has no cases; its
  detections count against the overall precision and are counted on their own.

How dedup is applied (PAN-specific, so it lives here and not in dedup/):

1. dedup.align.align runs twice on each pair, lexically (no embeddings): once tuned to be sensitive
   (SENSITIVE: two-word seeds, sentences half alike in wording) and once word for word (EXACT).
   Sensitive passages that the word-for-word runs already explain are replaced by those runs, whose
   ends are exact.
2. The passages are clustered into detections: two join when close on both sides and either on one
   diagonal (the gaps on both sides alike: text taken over in order) or close relative to how much
   text the smaller one covers. Where detections overlap in the suspicious document the better
   supported one wins; short or thinly supported ones are dropped.
3. Summaries: a short stretch of the suspicious document matched all over a much longer source
   stretch is one detection against the whole source document.
4. Each end of a detection moves out to the end of the sentence it falls in (dedup's sentences)
   when that is near.

The settings (SENSITIVE, EXACT, Params) were tuned on the first 300 pairs of each type of the
training corpus; the published figures below are on PAN's test corpus, so compare with care.

Sentence embeddings (dedup's PARAPHRASE) are not used: they embed some 40-100 sentences a second on
this machine's CPU and PAN's documents hold about 250,000 sentences. Embedding only the sentences
around detections to extend them was tried on a 1,500-pair slice: +0.002 PlagDet for ~20,000
embedded sentences, not worth ten minutes.

The baseline is benchmarks.baseline.MinHashBaseline (stock datasketch MinHash LSH over all the
documents, --baseline-threshold): it cannot align passages, so a pair it flags is one detection
covering both whole documents.

One JSON object goes to stdout: dedup's scores, the baseline's, the published figures (best
system 0.878 on the PAN 2013 test corpus; PAN 2013's baseline 0.422) and the settings. Progress
goes to stderr (-q for none). --limit N takes the first N pairs, each type in turn, so small slices
hold every type; a type with neither cases nor detections in a slice scores 1 (PAN's convention).
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import json
import math
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.baseline import MinHashBaseline
from benchmarks.datasets import DEFAULT_DATA
from dedup.align import align
from dedup.article import Article
from dedup.config import config_from_dict
from dedup.document import PreparedDocument, prepare

__all__ = [
    "Annotation",
    "DedupAligner",
    "Params",
    "Task",
    "load_tasks",
    "main",
    "pan_scores",
    "read_annotations",
    "run_baseline",
    "run_dedup",
    "score",
    "to_detections",
    "write_detections",
]

TYPES = {
    "01": "no-plagiarism",
    "02": "none",
    "03": "random",
    "04": "translation",
    "05": "summary",
}


@dataclass(frozen=True, slots=True)
class Annotation:
    """A plagiarism case or a detection: ``this_*`` in the suspicious document, ``source_*`` in the
    source document, as character offsets and lengths (PAN's own fields)."""

    this_offset: int
    this_length: int
    source_offset: int
    source_length: int


Pair = tuple[str, str]
"""(suspicious document file name, source document file name)."""


# ---------------------------------------------------------------- PAN's measures


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _covered(lo: int, hi: int, ranges: Iterable[tuple[int, int]]) -> int:
    """Characters of [lo, hi) inside the union of ``ranges``."""
    return sum(max(0, min(hi, b) - max(lo, a)) for a, b in _merge(ranges))


def _detects(x: Annotation, y: Annotation) -> bool:
    """Whether x and y share characters in the suspicious document and in the source document."""
    return (
        x.this_offset < y.this_offset + y.this_length
        and y.this_offset < x.this_offset + x.this_length
        and x.source_offset < y.source_offset + y.source_length
        and y.source_offset < x.source_offset + x.source_length
    )


def _share(x: Annotation, others: Sequence[Annotation]) -> float:
    """Share of x's characters (suspicious plus source side) that the annotations overlapping x cover."""
    hits = [y for y in others if _detects(x, y)]
    if not hits:
        return 0.0
    this = _covered(
        x.this_offset,
        x.this_offset + x.this_length,
        ((y.this_offset, y.this_offset + y.this_length) for y in hits),
    )
    source = _covered(
        x.source_offset,
        x.source_offset + x.source_length,
        ((y.source_offset, y.source_offset + y.source_length) for y in hits),
    )
    return (this + source) / max(1, x.this_length + x.source_length)


def pan_scores(
    cases: Mapping[Pair, Sequence[Annotation]], detections: Mapping[Pair, Sequence[Annotation]]
) -> dict[str, float | int]:
    """PAN's macro precision, macro recall, granularity and PlagDet (Potthast et al. 2010).

    A detection r *detects* a case s when they belong to the same document pair and share characters
    on both sides. With S the cases and R the detections,

    - recall = mean over s in S of |s ⊓ (union of the r detecting s)| / |s|,
    - precision = mean over r in R of |r ⊓ (union of the s r detects)| / |r|,

    where |x| counts x's characters in the suspicious document plus those in the source document;
    - granularity = mean, over the cases detected at all, of the number of detections detecting them
      (1 when none is detected);
    - PlagDet = F1 / log2(1 + granularity).

    As in PAN's evaluator, no cases and no detections score 1, and either without the other 0.
    """
    n_cases = sum(len(v) for v in cases.values())
    n_det = sum(len(v) for v in detections.values())
    recall_sum = precision_sum = 0.0
    detected = 0
    pieces = 0
    for pair in set(cases) | set(detections):
        s_list, r_list = cases.get(pair, ()), detections.get(pair, ())
        for s in s_list:
            recall_sum += _share(s, r_list)
            hits = sum(1 for r in r_list if _detects(s, r))
            if hits:
                detected += 1
                pieces += hits
        for r in r_list:
            precision_sum += _share(r, s_list)
    if not n_cases and not n_det:
        precision = recall = 1.0
    elif not n_cases or not n_det:
        precision = recall = 0.0
    else:
        precision, recall = precision_sum / n_det, recall_sum / n_cases
    granularity = pieces / detected if detected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "plagdet": round(f1 / math.log2(1 + granularity), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "granularity": round(granularity, 4),
        "f1": round(f1, 4),
        "cases": n_cases,
        "detections": n_det,
    }


# ---------------------------------------------------------------- PAN's XML


def read_annotations(path: Path, name: str = "plagiarism") -> list[Annotation]:
    """The ``<feature name=NAME>`` elements of one PAN XML file (truth: "plagiarism"; detections:
    "detected-plagiarism")."""
    root = ET.parse(path).getroot()
    out = []
    for f in root.iter("feature"):
        if f.get("name") == name:
            out.append(
                Annotation(
                    int(f.get("this_offset", 0)),
                    int(f.get("this_length", 0)),
                    int(f.get("source_offset", 0)),
                    int(f.get("source_length", 0)),
                )
            )
    return out


def pair_file_name(pair: Pair) -> str:
    return f"{Path(pair[0]).stem}-{Path(pair[1]).stem}.xml"


def write_detections(folder: Path, pair: Pair, detections: Sequence[Annotation]) -> Path:
    """PAN's detection format: one ``<document>`` per pair, one ``detected-plagiarism`` feature each."""
    root = ET.Element("document", reference=pair[0])
    for d in detections:
        ET.SubElement(
            root,
            "feature",
            name="detected-plagiarism",
            this_offset=str(d.this_offset),
            this_length=str(d.this_length),
            source_reference=pair[1],
            source_offset=str(d.source_offset),
            source_length=str(d.source_length),
        )
    ET.indent(root)
    path = folder / pair_file_name(pair)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the corpus


@dataclass(frozen=True, slots=True)
class Task:
    """One document pair of the corpus, its obfuscation type ("02"...) and its truth."""

    type: str
    pair: Pair
    cases: tuple[Annotation, ...]


def load_tasks(corpus: Path, types: Sequence[str] = tuple(TYPES), limit: int | None = None) -> list[Task]:
    """The pairs of the chosen type folders, with their truth. With ``limit``, the first pairs of each
    type in turn (round robin), so a small slice still has every type."""
    per_type: list[list[Task]] = []
    for t in types:
        folders = sorted(corpus.glob(f"{t}-*"))
        if not folders:
            raise SystemExit(
                f"{corpus}: no folder {t}-* (expected 01-no-plagiarism ... 05-summary-obfuscation)"
            )
        folder = folders[0]
        tasks = []
        for line in (folder / "pairs").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            susp, src = line.split()
            truth = folder / pair_file_name((susp, src))
            cases = tuple(read_annotations(truth)) if truth.exists() else ()
            tasks.append(Task(t, (susp, src), cases))
        per_type.append(tasks)
    out: list[Task] = []
    for i in range(max((len(x) for x in per_type), default=0)):
        out.extend(x[i] for x in per_type if i < len(x))
    return out[:limit] if limit else out


# ---------------------------------------------------------------- from dedup's passages to PAN detections


@dataclass(frozen=True)
class Params:
    """How dedup's passages become PAN detections (PAN-specific, so here and not in dedup). The defaults
    were tuned on the first 300 pairs of each type of pan13-train (1,500 of its 5,185 pairs)."""

    gap_this: int = 400
    """Passages at most this far apart (characters) in the suspicious document ..."""
    gap_source: int = 1000
    """... and in the source document may join one detection ..."""
    gap_factor: float = 3.0
    """... and at most this many times the evidence of the smaller of the two: a lone short match
    joins a detection only when it is right next to it."""
    diag_tol: int = 80
    """Spans whose gaps in the two documents differ by at most this many characters are on one
    diagonal (text taken over in order) ..."""
    diag_factor: float = 16.0
    """... and join when the gap is at most this many times the evidence of the smaller."""
    min_length: int = 120
    """Detections shorter than this in the suspicious document are dropped ..."""
    min_evidence: int = 80
    """... and so are those whose passages cover fewer suspicious characters than this."""
    summary_ratio: float = 3.0
    """A stretch of the suspicious document whose matches spread over a source stretch this many
    times longer is taken for a summary (0: never) ..."""
    summary_gap: int = 100
    """... its matches at most this far apart in the suspicious document ..."""
    summary_parts: int = 4
    """... at least this many of them ..."""
    summary_evidence: int = 250
    """... covering at least this many suspicious characters ..."""
    summary_gain: float = 1.25
    """... and this many times the evidence of the best ordinary detection inside it ..."""
    summary_cover: float = 0.4
    """... its source stretch at least this share of the source document (a summary draws on all of
    it) ..."""
    summary_whole: bool = True
    """... and then it is matched to the whole source document."""
    snap_this: int = 50
    """A detection's ends move out to the ends of the sentences they fall in, when at most this many
    characters away, in the suspicious document ..."""
    snap_source: int = 100
    """... and in the source document (dedup's sentences; the cases of PAN are whole sentences)."""
    max_overlap: float = 0.5
    """Passages overlapping a stronger one in the suspicious document by more than this share of the
    shorter are dropped (one source place per suspicious place)."""


@dataclass(slots=True)
class _Box:
    """A candidate detection: its extent on both sides and the passages it was built from."""

    a0: int
    a1: int
    b0: int
    b1: int
    parts: list[tuple[int, int]]
    """The suspicious-side spans of its passages."""
    _evidence: int = -1

    def evidence(self) -> int:
        """Suspicious characters inside its passages."""
        if self._evidence < 0:
            self._evidence = sum(hi - lo for lo, hi in _merge(self.parts))
        return self._evidence

    def absorb(self, other: _Box) -> None:
        self.a0, self.a1 = min(self.a0, other.a0), max(self.a1, other.a1)
        self.b0, self.b1 = min(self.b0, other.b0), max(self.b1, other.b1)
        self.parts.extend(other.parts)
        self._evidence = -1


def _gap(lo1: int, hi1: int, lo2: int, hi2: int) -> int:
    return max(0, max(lo1, lo2) - min(hi1, hi2))


def _close(x: _Box, y: _Box, params: Params) -> bool:
    """Whether boxes x and y belong to one detection: close on both sides, and either on one diagonal
    (the gaps on the two sides about equal, as where text was copied in order) or near enough for the
    evidence of the smaller."""
    gap_a = _gap(x.a0, x.a1, y.a0, y.a1)
    gap_b = _gap(x.b0, x.b1, y.b0, y.b1)
    if gap_a > params.gap_this or gap_b > params.gap_source:
        return False
    first, second = (x, y) if x.a0 <= y.a0 else (y, x)
    da, db = second.a0 - first.a1, second.b0 - first.b1
    diagonal = db >= -params.diag_tol and abs(db - da) <= params.diag_tol
    reach = (params.diag_factor if diagonal else params.gap_factor) * min(x.evidence(), y.evidence())
    return gap_a <= reach and gap_b <= 2 * reach


def _cluster(boxes: list[_Box], params: Params) -> list[_Box]:
    """Merge close boxes until none are, each merge giving the bounding box."""
    changed = True
    while changed:
        changed = False
        out: list[_Box] = []
        for box in sorted(boxes, key=lambda x: x.a0):
            for other in out:
                if _close(other, box, params):
                    other.absorb(box)
                    changed = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes


Span = tuple[int, int, int, int, float]
"""An aligned span: suspicious start and end, source start and end, and a weight in [0, 1]."""


def _one_to_one(spans: list[Span], max_overlap: float) -> list[Span]:
    """Where spans overlap in the suspicious document by more than ``max_overlap`` of the shorter, keep
    the one with more weighted length: a sentence matched to several like it in the source keeps its
    best match."""
    kept: list[Span] = []
    for sp in sorted(spans, key=lambda x: -(x[1] - x[0]) * x[4]):
        length = sp[1] - sp[0]
        if any(min(sp[1], k[1]) - max(sp[0], k[0]) > max_overlap * min(length, k[1] - k[0]) for k in kept):
            continue
        kept.append(sp)
    return kept


def _is_summary(box: _Box, params: Params, source_length: int) -> bool:
    """A short stretch of the suspicious document matched all over a much longer source stretch."""
    return (
        len(box.parts) >= params.summary_parts
        and box.evidence() >= params.summary_evidence
        and box.b1 - box.b0 >= params.summary_ratio * (box.a1 - box.a0)
        and box.b1 - box.b0 >= params.summary_cover * source_length
    )


def _summaries(spans: list[Span], params: Params, source_length: int) -> list[_Box]:
    """Runs of spans close in the suspicious document whatever their source places: a summary
    packs matches from all over the source into a short stretch."""
    groups: list[_Box] = []
    for a0, a1, b0, b1, _ in sorted(spans):
        box = _Box(a0, a1, b0, b1, [(a0, a1)])
        if groups and a0 - groups[-1].a1 <= params.summary_gap:
            groups[-1].absorb(box)
        else:
            groups.append(box)
    return [g for g in groups if _is_summary(g, params, source_length)]


def to_detections(spans: Iterable[Span], params: Params, source_length: int) -> list[Annotation]:
    """PAN detections from aligned spans: spans close on both sides merge into one detection; where
    detections overlap in the suspicious document the one with more evidence wins; short or thinly
    supported ones are dropped. A summary (a short stretch matched all over the source) is one
    detection against the whole source document."""
    chosen = _one_to_one(list(spans), params.max_overlap)
    boxes = [_Box(a0, a1, b0, b1, [(a0, a1)]) for a0, a1, b0, b1, _ in chosen]
    boxes = _cluster(boxes, params)
    if params.summary_ratio:
        for g in _summaries(chosen, params, source_length):
            inside = [x for x in boxes if g.a0 <= x.a0 and x.a1 <= g.a1]
            if g.evidence() >= params.summary_gain * max((x.evidence() for x in inside), default=0):
                boxes = [x for x in boxes if x not in inside]
                boxes.append(g)
        if params.summary_whole:
            for box in boxes:
                if _is_summary(box, params, source_length):
                    box.b0, box.b1 = 0, source_length
    kept: list[_Box] = []
    for box in sorted(boxes, key=lambda x: -x.evidence()):
        if box.a1 - box.a0 < params.min_length or box.evidence() < params.min_evidence:
            continue
        if any(min(k.a1, box.a1) > max(k.a0, box.a0) for k in kept):
            continue
        kept.append(box)
    kept.sort(key=lambda x: x.a0)
    return [Annotation(k.a0, k.a1 - k.a0, k.b0, k.b1 - k.b0) for k in kept]


# ---------------------------------------------------------------- dedup on a pair

SENSITIVE = {
    "align": {
        "seed_ngram": 2,
        "min_verbatim_tokens": 2,
        "min_content_tokens": 1,
        "max_gap_tokens": 10,
        "near_verbatim_ratio": 0.5,
    }
}
"""dedup's alignment tuned to find obfuscated reuse: every shared word pair (one not a stop word) is a
seed, and sentences half alike in wording are NEAR_VERBATIM. Noisy on purpose: the clustering above
keeps what is dense."""
EXACT = {"align": {"near_verbatim_ratio": 1.0}}
"""dedup's alignment reporting word-for-word runs only, whose ends are exact."""


class DedupAligner:
    """Runs dedup's alignment twice on a pair (sensitive and word for word), keeps the word-for-word
    runs plus those sensitive passages they do not already explain, and turns them into detections."""

    def __init__(
        self,
        params: Params | None = None,
        sensitive: dict[str, Any] | None = None,
        exact: dict[str, Any] | None = None,
        exact_cover: float = 0.5,
    ) -> None:
        self.params = params or Params()
        self.sensitive = config_from_dict(sensitive if sensitive is not None else SENSITIVE)
        self.exact = config_from_dict(exact if exact is not None else EXACT)
        self.exact_cover = exact_cover

    def prepare(self, name: str, text: str) -> PreparedDocument:
        return prepare(Article(name, text), 0, self.sensitive)

    def spans(self, susp: PreparedDocument, src: PreparedDocument) -> list[Span]:
        exact = [(p.a_start, p.a_end, p.b_start, p.b_end, 1.0) for p in align(susp, src, self.exact.align)]
        on_a = [(x[0], x[1]) for x in exact]
        on_b = [(x[2], x[3]) for x in exact]
        out = list(exact)
        for p in align(susp, src, self.sensitive.align):
            explained_a = _covered(p.a_start, p.a_end, on_a) / max(1, p.a_end - p.a_start)
            explained_b = _covered(p.b_start, p.b_end, on_b) / max(1, p.b_end - p.b_start)
            if max(explained_a, explained_b) < self.exact_cover:  # else the exact runs say it better
                out.append((p.a_start, p.a_end, p.b_start, p.b_end, p.score))
        return out

    def detect(self, susp: PreparedDocument, src: PreparedDocument) -> list[Annotation]:
        out = []
        for d in to_detections(self.spans(susp, src), self.params, len(src.text)):
            a0, a1 = _snap(d.this_offset, d.this_offset + d.this_length, susp, self.params.snap_this)
            b0, b1 = _snap(d.source_offset, d.source_offset + d.source_length, src, self.params.snap_source)
            out.append(Annotation(a0, a1 - a0, b0, b1 - b0))
        return out


def _snap(lo: int, hi: int, doc: PreparedDocument, most: int) -> tuple[int, int]:
    """[lo, hi) with each end moved out to the end of the sentence it falls in, if at most ``most`` away."""
    starts = [s.start for s in doc.sentences]
    i = bisect.bisect_right(starts, lo) - 1
    if i >= 0 and doc.sentences[i].end > lo and lo - doc.sentences[i].start <= most:
        lo = doc.sentences[i].start
    j = bisect.bisect_left(starts, hi) - 1
    if j >= 0 and doc.sentences[j].end > hi and doc.sentences[j].end - hi <= most:
        hi = doc.sentences[j].end
    return lo, hi


def run_dedup(
    tasks: Sequence[Task], corpus: Path, out: Path, aligner: DedupAligner, progress: bool = True
) -> dict[Pair, list[Annotation]]:
    """Detections for every pair, written to ``out`` as PAN XML. Each document is prepared once: the
    pairs go by suspicious document, and a source is let go after its last pair."""
    _fresh(out)
    remaining = Counter(t.pair[1] for t in tasks)
    sources: dict[str, PreparedDocument] = {}
    susp_name, susp_doc = "", None
    found: dict[Pair, list[Annotation]] = {}
    started = time.perf_counter()
    for n, task in enumerate(sorted(tasks, key=lambda t: t.pair), 1):
        s, r = task.pair
        if s != susp_name or susp_doc is None:
            susp_name, susp_doc = s, aligner.prepare(s, _read(corpus / "susp" / s))
        if r not in sources:
            sources[r] = aligner.prepare(r, _read(corpus / "src" / r))
        found[task.pair] = aligner.detect(susp_doc, sources[r])
        write_detections(out, task.pair, found[task.pair])
        remaining[r] -= 1
        if not remaining[r]:
            del sources[r]
        if progress and (n % 500 == 0 or n == len(tasks)):
            print(f"dedup: {n}/{len(tasks)} pairs, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return found


def _read(path: Path) -> str:
    """A text as PAN counts its offsets: Python characters, line ends untouched."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def _fresh(folder: Path) -> Path:
    """``folder``, created, without the detection files of an earlier run."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("suspicious-document*-source-document*.xml"):
        old.unlink()
    return folder


def run_baseline(
    tasks: Sequence[Task], corpus: Path, out: Path, threshold: float, progress: bool = True
) -> dict[Pair, list[Annotation]]:
    """The stock MinHash baseline: a pair it finds near-duplicate (LSH over all the documents at
    ``threshold``) is one detection covering both whole documents; it cannot say where."""
    _fresh(out)
    started = time.perf_counter()
    texts: dict[str, str] = {}
    for t in tasks:
        s, r = t.pair
        texts.setdefault(s, _read(corpus / "susp" / s))
        texts.setdefault(r, _read(corpus / "src" / r))
    flagged = set(MinHashBaseline(threshold=threshold).pairs(texts))
    found: dict[Pair, list[Annotation]] = {}
    for t in tasks:
        s, r = t.pair
        hit = (s, r) in flagged or (r, s) in flagged
        found[t.pair] = [Annotation(0, len(texts[s]), 0, len(texts[r]))] if hit else []
        write_detections(out, t.pair, found[t.pair])
    if progress:
        print(f"baseline: {len(tasks)} pairs, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return found


def score(tasks: Sequence[Task], folder: Path) -> dict[str, Any]:
    """PAN's measures over the detection files in ``folder`` (read back, as PAN's evaluator would),
    overall and per obfuscation type; for 01-no-plagiarism, which has no cases, how many detections."""
    detections: dict[Pair, list[Annotation]] = {}
    for t in tasks:
        path = folder / pair_file_name(t.pair)
        detections[t.pair] = read_annotations(path, "detected-plagiarism") if path.exists() else []
    result: dict[str, Any] = {}
    with_cases = [t for t in tasks if t.type != "01"]
    if with_cases:
        result["overall"] = pan_scores({t.pair: t.cases for t in tasks}, detections)
    for code, name in TYPES.items():
        chosen = [t for t in tasks if t.type == code]
        if not chosen:
            continue
        if code == "01":
            result[name] = {
                "pairs": len(chosen),
                "detections": sum(len(detections[t.pair]) for t in chosen),
                "pairs_with_detections": sum(1 for t in chosen if detections[t.pair]),
            }
        else:
            result[name] = pan_scores(
                {t.pair: t.cases for t in chosen}, {t.pair: detections[t.pair] for t in chosen}
            )
    return result


PUBLISHED = {
    "best_system": {
        "plagdet": 0.878,
        "none": 0.900,
        "random": 0.884,
        "translation": 0.887,
        "summary": 0.561,
        "note": "best published PlagDet on the PAN 2013 text alignment test corpus (Sanchez-Perez, Sidorov "
        "and Gelbukh, PAN 2014), as cited in the issue; this run scores the training corpus",
    },
    "pan13_baseline": {"plagdet": 0.422, "note": "PAN 2013's own baseline on the test corpus"},
}


def _types(value: str) -> list[str]:
    by_name = {name: code for code, name in TYPES.items()}
    codes = []
    for part in value.split(","):
        part = part.strip()
        code = by_name.get(part, part[:2])
        if code not in TYPES:
            raise argparse.ArgumentTypeError(
                f"unknown type {part!r}: use {', '.join(TYPES)} or {', '.join(TYPES.values())}"
            )
        codes.append(code)
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_DATA / "pan13-train",
        help="PAN 2013 text alignment corpus: src/, susp/ and the 0N-* folders (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the detection files: OUT/dedup/*.xml and OUT/baseline/*.xml (default: a new "
        "temporary folder, named in the result)",
    )
    parser.add_argument("--limit", type=int, help="only the first N pairs, taking each type in turn")
    parser.add_argument(
        "--types",
        type=_types,
        default=list(TYPES),
        help="comma-separated obfuscation types: 01,02,03,04,05 or no-plagiarism,none,random,translation,"
        "summary (default: all)",
    )
    parser.add_argument(
        "--baseline-threshold",
        type=float,
        default=0.1,
        help="Jaccard threshold of the MinHash baseline's LSH (default: %(default)s)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="score dedup only")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if not (args.corpus / "src").is_dir() or not (args.corpus / "susp").is_dir():
        parser.error(f"{args.corpus} is not a PAN text alignment corpus (no src/ and susp/ in it)")
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="pan13-"))
    started = time.perf_counter()
    tasks = load_tasks(args.corpus, args.types, args.limit)
    aligner = DedupAligner()
    run_dedup(tasks, args.corpus, out / "dedup", aligner, not args.quiet)
    dedup_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "corpus": str(args.corpus),
        "out": str(out),
        "pairs": len(tasks),
        "types": [TYPES[t] for t in args.types],
        "dedup": {**score(tasks, out / "dedup"), "seconds": round(dedup_seconds, 1)},
    }
    if not args.no_baseline:
        t0 = time.perf_counter()
        run_baseline(tasks, args.corpus, out / "baseline", args.baseline_threshold, not args.quiet)
        result["baseline"] = {
            **score(tasks, out / "baseline"),
            "seconds": round(time.perf_counter() - t0, 1),
            "method": f"datasketch MinHash LSH over 5-word shingles at Jaccard {args.baseline_threshold}; "
            "a flagged pair is one detection covering both whole documents",
        }
    result["published"] = PUBLISHED
    result["settings"] = {
        "align_sensitive": SENSITIVE["align"],
        "align_exact": EXACT["align"],
        "exact_cover": aligner.exact_cover,
        "clustering": dataclasses.asdict(aligner.params),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
