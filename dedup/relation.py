"""The relation of a pair of articles, METER style, from their shared passages."""

from __future__ import annotations

from collections.abc import Callable

from dedup.align import align, coverage
from dedup.config import Config, RelationConfig
from dedup.document import PreparedDocument
from dedup.minhash import exact_jaccard
from dedup.results import PairResult, Passage, PassageKind, Relation

__all__ = ["classify_pair", "compare"]


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


def classify_pair(
    passages: list[Passage], coverage_a: float, coverage_b: float, semantic: float, cfg: RelationConfig
) -> Relation | None:
    """DUPLICATE, WHOLLY_DERIVED, PARTIALLY_DERIVED, SAME_STORY, or None for unrelated articles.

    - DUPLICATE: both sides covered at least ``duplicate_coverage``, and mostly by VERBATIM or
      NEAR_VERBATIM passages rather than paraphrase;
    - WHOLLY_DERIVED: one side covered at least ``wholly_coverage``;
    - PARTIALLY_DERIVED: at least ``min_shared_chars`` characters shared word for word, or at least
      ``min_paraphrase_chars`` in paraphrase covering ``min_paraphrase_coverage`` of one side;
    - SAME_STORY: nothing shared, but document vectors at least ``same_story_cosine`` apart.
    """
    # Measured on both sides and the smaller taken, so that the relation does not depend on which
    # article is a and which is b.
    shared = _both_sides(passages, lambda p: True)
    lexical = _both_sides(passages, lambda p: p.kind is not PassageKind.PARAPHRASE)
    paraphrased = _both_sides(passages, lambda p: p.kind is PassageKind.PARAPHRASE)
    rewritten = (
        paraphrased >= cfg.min_paraphrase_chars and max(coverage_a, coverage_b) >= cfg.min_paraphrase_coverage
    )
    if lexical >= cfg.min_shared_chars or rewritten:
        if (
            min(coverage_a, coverage_b) >= cfg.duplicate_coverage
            and lexical >= cfg.duplicate_lexical_share * shared
        ):
            return Relation.DUPLICATE
        if max(coverage_a, coverage_b) >= cfg.wholly_coverage:
            return Relation.WHOLLY_DERIVED
        return Relation.PARTIALLY_DERIVED
    if semantic >= cfg.same_story_cosine:
        return Relation.SAME_STORY
    return None


def compare(a: PreparedDocument, b: PreparedDocument, config: Config) -> PairResult | None:
    """Align two prepared articles and classify their relation; None when they are unrelated."""
    passages = align(a, b, config.align)
    cov_a = coverage(a, [(p.a_start, p.a_end) for p in passages])
    cov_b = coverage(b, [(p.b_start, p.b_end) for p in passages])
    semantic = float(a.vector @ b.vector) if a.vector is not None and b.vector is not None else 0.0
    relation = classify_pair(passages, cov_a, cov_b, semantic, config.relation)
    if relation is None:
        return None
    if relation is Relation.SAME_STORY:  # too little shared to count as reuse: report no passages
        passages, cov_a, cov_b = [], 0.0, 0.0
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
