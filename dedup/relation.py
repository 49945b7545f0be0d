"""The relation of a pair of articles, METER style, from their shared passages.

Text either article attributes to someone else (inside quotation marks, or
the phrase naming its source: "according to Reuters") is kept apart: two
reports that share a speaker's words, or the sentence crediting one outlet,
share a source, not each other's text. A pair whose only shared wording is
attributed is COMMON_SOURCE, not a reuse relation, and its passages carry
``attributed``.

A headline is kept apart too: the headlines of one event converge on the same
words ("X charged with two counts of murder") whoever writes them, so a
shared headline alone is no reuse (the pair is at most SAME_STORY). The
headline is an article's first line when it stands alone, holds at most
``HEADLINE_WORDS`` words and does not end like a sentence.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from dedup.align import align, coverage, merge_spans
from dedup.attribution import canonical_outlet
from dedup.config import Config, RelationConfig
from dedup.document import PreparedDocument
from dedup.minhash import exact_jaccard
from dedup.quotes import quoted_spans
from dedup.results import PairResult, Passage, PassageKind, Relation

Spans = Sequence[tuple[int, int]]

__all__ = ["HEADLINE_WORDS", "attributed_spans", "classify_pair", "compare", "headline_span", "quoted_spans"]


def _span_chars(spans: list[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _both_sides(passages: list[Passage], keep: Callable[[Passage], bool]) -> int:
    kept = [p for p in passages if keep(p)]
    return min(
        _span_chars([(p.a_start, p.a_end) for p in kept]), _span_chars([(p.b_start, p.b_end) for p in kept])
    )


def _minus(spans: Spans, holes: Spans) -> int:
    """Characters inside ``spans`` (which may overlap) and outside ``holes`` (sorted and disjoint, as
    ``merge_spans`` gives them)."""
    merged = merge_spans(spans)
    total = sum(end - start for start, end in merged)
    if not holes or not total:
        return total
    inside = 0
    # Holes are disjoint and sorted, so their ends are sorted too: the first that can reach a span is
    # the one just before the first starting after its start, and none starting at its end or later can.
    k = max(0, bisect.bisect_right(holes, (merged[0][0], math.inf)) - 1)
    for start, end in merged:
        while k < len(holes) and holes[k][1] <= start:
            k += 1
        j = k
        while j < len(holes) and holes[j][0] < end:
            inside += min(end, holes[j][1]) - max(start, holes[j][0])
            j += 1
    return total - inside


def _own_lexical(passages: list[Passage], attributed_a: Spans, attributed_b: Spans) -> int:
    """Characters shared word for word that neither side attributes to a source: on each side, the
    VERBATIM and NEAR_VERBATIM passages minus what that side quotes or credits; the smaller side."""
    kept = [p for p in passages if p.kind is not PassageKind.PARAPHRASE]
    return min(
        _minus([(p.a_start, p.a_end) for p in kept], merge_spans(attributed_a)),
        _minus([(p.b_start, p.b_end) for p in kept], merge_spans(attributed_b)),
    )


def classify_pair(
    passages: list[Passage],
    coverage_a: float,
    coverage_b: float,
    semantic: float,
    cfg: RelationConfig,
    attributed_a: Spans = (),
    attributed_b: Spans = (),
    headline_a: Spans = (),
    headline_b: Spans = (),
    named: bool = False,
) -> Relation | None:
    """DUPLICATE, WHOLLY_DERIVED, PARTIALLY_DERIVED, COMMON_SOURCE, SAME_STORY, or None for unrelated
    articles. ``attributed_a`` and ``attributed_b``: the spans each side attributes to a source (quoted
    speech, a phrase naming its source); ``headline_a`` and ``headline_b``: each side's headline;
    ``named``: one of them names the other's outlet as its source.

    - DUPLICATE: both sides covered at least ``duplicate_coverage``, and mostly by VERBATIM or
      NEAR_VERBATIM passages rather than paraphrase;
    - WHOLLY_DERIVED: one side covered at least ``wholly_coverage``;
    - PARTIALLY_DERIVED: at least ``min_shared_chars`` (``min_shared_chars_named`` when one names the
      other) characters shared word for word outside what either side attributes and outside the
      headlines, or at least ``min_paraphrase_chars`` in
      paraphrase with passages covering ``min_paraphrase_coverage`` of each side (a whole rewrite);
    - COMMON_SOURCE: ``min_quoted_chars`` shared word for word, but only inside what one side or the
      other attributes to a source (both quote one speaker);
    - SAME_STORY: nothing shared, but document vectors at least ``same_story_cosine`` apart.
    """
    # Measured on both sides and the smaller taken, so that the relation does not depend on which
    # article is a and which is b.
    shared = _both_sides(passages, lambda p: True)
    lexical = _both_sides(passages, lambda p: p.kind is not PassageKind.PARAPHRASE)
    unattributed = (
        _own_lexical(passages, attributed_a, attributed_b) if attributed_a or attributed_b else lexical
    )
    own = (
        _own_lexical(passages, [*attributed_a, *headline_a], [*attributed_b, *headline_b])
        if headline_a or headline_b
        else unattributed
    )
    paraphrased = _both_sides(passages, lambda p: p.kind is PassageKind.PARAPHRASE)
    rewritten = (
        paraphrased >= cfg.min_paraphrase_chars and min(coverage_a, coverage_b) >= cfg.min_paraphrase_coverage
    )
    if own >= (cfg.min_shared_chars_named if named else cfg.min_shared_chars) or rewritten:
        if (
            min(coverage_a, coverage_b) >= cfg.duplicate_coverage
            and lexical >= cfg.duplicate_lexical_share * shared
        ):
            return Relation.DUPLICATE
        if max(coverage_a, coverage_b) >= cfg.wholly_coverage:
            return Relation.WHOLLY_DERIVED
        return Relation.PARTIALLY_DERIVED
    if lexical - unattributed >= cfg.min_quoted_chars:
        return Relation.COMMON_SOURCE
    if semantic >= cfg.same_story_cosine:
        return Relation.SAME_STORY
    return None


HEADLINE_WORDS = 20


def headline_span(doc: PreparedDocument) -> list[tuple[int, int]]:
    """The article's headline (see the module's docstring), as a span, or nothing."""
    if not doc.sentences:
        return []
    first = doc.sentences[0]
    if len(doc.sentences) > 1 and doc.sentences[1].paragraph == first.paragraph:
        return []
    lo, hi = doc.sentence_tokens[0]
    text = doc.text[first.start : first.end].rstrip(" \"'”’)]")
    if hi - lo > HEADLINE_WORDS or text.endswith((".", "!", "?")):
        return []
    return [(first.start, first.end)]


def attributed_spans(doc: PreparedDocument) -> list[tuple[int, int]]:
    """What an article attributes to a source: its quotations and the phrases naming its sources."""
    return merge_spans([*doc.quotes, *((c.start, c.end) for c in doc.citations)])


def _names_the_other(doc: PreparedDocument, other: PreparedDocument) -> bool:
    """Whether ``doc`` names ``other``'s outlet as its source."""
    outlet = other.article.outlet
    return bool(outlet) and canonical_outlet(outlet) in {c.name for c in doc.citations}


def _flag_attributed(passages: list[Passage], attributed_a: Spans, attributed_b: Spans) -> list[Passage]:
    """The passages, each marked ``attributed`` when at least half of it, on either side, lies in what
    that side attributes to a source."""
    out = []
    for p in passages:
        length_a, length_b = p.a_end - p.a_start, p.b_end - p.b_start
        own_a = _minus([(p.a_start, p.a_end)], attributed_a)
        own_b = _minus([(p.b_start, p.b_end)], attributed_b)
        flagged = own_a * 2 <= length_a or own_b * 2 <= length_b
        out.append(replace(p, attributed=True) if flagged else p)
    return out


def compare(a: PreparedDocument, b: PreparedDocument, config: Config) -> PairResult | None:
    """Align two prepared articles and classify their relation; None when they are unrelated."""
    passages = align(a, b, config.align)
    cov_a = coverage(a, [(p.a_start, p.a_end) for p in passages])
    cov_b = coverage(b, [(p.b_start, p.b_end) for p in passages])
    semantic = float(a.vector @ b.vector) if a.vector is not None and b.vector is not None else 0.0
    named = _names_the_other(a, b) or _names_the_other(b, a)
    if named:
        attributed_a, attributed_b = [], []  # what one credits to the other is the other's text: reuse
    else:
        attributed_a, attributed_b = attributed_spans(a), attributed_spans(b)
    relation = classify_pair(
        passages, cov_a, cov_b, semantic, config.relation, attributed_a, attributed_b, headline_span(a),
        headline_span(b), named,
    )  # fmt: skip
    if relation is None:
        return None
    if relation is Relation.SAME_STORY:  # too little shared to count as reuse: report no passages
        passages, cov_a, cov_b = [], 0.0, 0.0
    elif attributed_a or attributed_b:
        passages = _flag_attributed(passages, attributed_a, attributed_b)
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
