"""Finding a new article's candidates among the stored articles, and aligning it with them.

``Matching.candidates`` asks the article indexes (``dedup.article_index``) for the stored articles worth
aligning with a prepared article: those sharing its text (document and sentence LSH), those saying the
same in other words (sentence vectors, where an index keeps them) and those nearest by story vector
close enough to be in its story; it keeps only the articles memory holds (``EngineState.held``: on a
shared store an index may hit an article another process committed that this one has not followed yet).
``Matching.match`` aligns the article with each candidate (``dedup.relation.compare``), in the order
the candidates were stored. ``Matching.align_ahead`` does both before a write on a shared store, outside
the store's write lock, for the write to take what is still valid. ``Matching.links`` and
``Matching.claims`` say what the pairs found mean for the article's story: the partners that place it
in theirs, and the stored articles it explains enough of to take into its own.

The engine (``dedup.engine``) calls these under its lock. They read the state's parts and change
nothing of them but the cache of prepared articles (a candidate no longer resident is read back) and the
counters; the look-ahead first takes what other processes committed (``EngineState.sync``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dedup.article import quote_id
from dedup.article_index import articles_of_hits
from dedup.cluster import Claim
from dedup.config import Config
from dedup.deadline import Due
from dedup.document import PreparedDocument
from dedup.engine_state import EngineState, published_time
from dedup.relation import compare
from dedup.results import PairResult

Alignments = dict[tuple[str, int], PairResult | None]
"""A new article's alignments (``compare``) with stored articles, by the stored article's id and sequence
number; None where they are unrelated."""


@dataclass(frozen=True)
class Ahead:
    """What ``Matching.align_ahead`` found for a new article before its write: at the store's
    ``generation``, its ``candidates`` and nearest articles (``near``), and its alignments with them."""

    generation: int
    candidates: frozenset[str]
    near: tuple[str, ...]
    aligned: Alignments


class Matching:
    """Candidates and alignments of new articles over an engine's state (``dedup.engine_state``)."""

    def __init__(self, config: Config, state: EngineState, counters: dict[str, int]) -> None:
        self._config = config
        self._state = state
        self._counters = counters
        """The engine's counters (``candidate_pairs``), counted in place."""

    def candidates(
        self, doc: PreparedDocument, exclude: str | None = None, hits: list[list[int]] | None = None
    ) -> tuple[set[str], list[str]]:
        """Stored articles worth aligning with ``doc``, and its nearest articles by vector. ``hits``: the
        stored sentences ``doc``'s sentences hit, looked up already (``Preparation.query``) with the
        store as it stands."""
        index, entries, config = self._state.article_index, self._state.entries, self._config
        found: set[str] = set()
        if len(doc.doc_shingles) and doc.doc_minhash is not None:
            found.update(self._state.held(index.articles_like(doc.doc_minhash)))
        if hits is None:
            hits = index.sentence_hits(doc.sentence_minhashes)
        found.update(self._state.held(articles_of_hits(hits)))
        near: list[str] = []
        if found or len(entries):  # (an empty engine does not load the model for its vector indexes)
            assert doc.embeddings is not None and doc.vector is not None
            align = config.align
            if len(doc.sentences):
                near_sentences = index.articles_near_sentences(
                    doc.embeddings, align.candidate_neighbours, align.paraphrase_cosine
                )
                found.update(self._state.held(near_sentences))
            # A zero vector (no model, or no sentence) is near nothing: its cosine with every article is 0.
            nearest = (
                index.nearest_articles(doc.vector, config.cluster.neighbours) if doc.vector.any() else []
            )
            named = entries.ids_at(hit for _, hit in nearest)
            for score, hit in nearest:
                if (other := named.get(hit)) is None:
                    continue
                near.append(other)
                if score >= config.relation.same_story_cosine:
                    found.add(other)
        found.discard(doc.id)
        if exclude is not None:
            found.discard(exclude)
            near = [d for d in near if d != exclude]
        return found, [d for d in near if d != doc.id]

    def match(
        self,
        doc: PreparedDocument,
        candidates: set[str],
        due: Due | None = None,
        aligned: Alignments | None = None,
    ) -> list[PairResult]:
        """``doc`` aligned with each candidate, in the order they were stored (``aligned``: alignments
        already made, ``align_ahead``)."""
        pairs = []
        self._counters["candidate_pairs"] += len(candidates)
        seq = self._state.entries.seq
        for other_id in sorted(candidates, key=seq):
            key = (other_id, seq(other_id))
            result = (
                aligned[key] if aligned is not None and key in aligned else self._align(doc, other_id, due)
            )
            if result is not None:
                pairs.append(result)
        return pairs

    def links(self, doc_id: str, pairs: Sequence[PairResult]) -> dict[str, float]:
        """The partners whose pairs place an article in their story, with the share of it each explains
        (``cluster.link_relations``, at least ``cluster.min_link_share``)."""
        cc = self._config.cluster
        return {
            p.other(doc_id): p.coverage_of(doc_id)
            for p in pairs
            if p.relation.value in cc.link_relations and p.coverage_of(doc_id) >= cc.min_link_share
        }

    def claims(self, doc_id: str, pairs: Sequence[PairResult]) -> dict[str, Claim]:
        """The stored articles a new one explains part of (as links go: ``cluster.min_link_share``), which
        may move to its story (``StoryClusterer`` re-homing)."""
        cc = self._config.cluster
        out = {}
        for p in pairs:
            other = p.other(doc_id)
            if p.relation.value in cc.link_relations and p.coverage_of(other) >= cc.min_link_share:
                partner = self._state.resident.get(other)
                out[other] = Claim(p.coverage_of(other), partner.vector, published_time(partner))
        return out

    def _align(self, doc: PreparedDocument, other_id: str, due: Due | None) -> PairResult | None:
        if due is not None:
            due.check(f"while aligning document {quote_id(doc.id)} with the stored articles")
        return compare(self._state.resident.get(other_id), doc, self._config)

    def align_ahead(self, doc: PreparedDocument, due: Due | None) -> Ahead | None:
        """Before a write on a shared store: find a new article's candidates and align it with them as the
        store stands now, outside the store's write lock, so that processes sharing the store align at
        the same time and take turns only to commit. An alignment depends on the two articles alone, so
        in the write an unchanged candidate's is taken as it is, and only candidates committed (or
        replaced) meanwhile are aligned there; when nothing was committed meanwhile, the candidates
        themselves are taken as they are. None for a replacement (its candidates are found without its
        old version, in the write)."""
        self._state.sync()
        if doc.id in self._state.entries:
            return None
        candidates, near = self.candidates(doc)
        seq = self._state.entries.seq
        aligned: Alignments = {
            (other_id, seq(other_id)): self._align(doc, other_id, due)
            for other_id in sorted(candidates, key=seq)
        }
        return Ahead(self._state.generation, frozenset(candidates), tuple(near), aligned)
