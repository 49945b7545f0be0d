"""Tests of the syndication benchmark (benchmarks/syndication.py): each transformation of the corpus
generator on a small invented story, the truth forest and seeding on a synthetic corpus, and one run
of main() on a tiny corpus built from ../shared/data (skipped when it is absent).

The Wexley harbour story below is made up for these tests; so are the synthetic "articles", which
are random sentences over a small vocabulary.
"""

from __future__ import annotations

import difflib
import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from benchmarks import syndication as S
from benchmarks.baseline import VectorClusterBaseline
from benchmarks.syndication import score as SC
from benchmarks.syndication import text as T
from dedup.pipeline import Detector

PARAS: list[list[str]] = [
    ["Flood barrier fails at Wexley harbour"],
    [
        "The flood barrier at Wexley harbour failed on Tuesday night, sending water into 40 homes along "
        "the quay.",
        "Engineers had warned the town council in 2023 that the gates could jam in a storm surge, and the "
        "council did not act.",
    ],
    [
        '"We told them three times that the hinges were rusting and nobody listened," said Mara Quint, a '
        "harbour pilot.",
        "The council said it would publish an independent report within 6 weeks.",
    ],
    [
        "Residents spent the morning pumping out cellars while police closed the coastal road to traffic.",
        'Council leader Owen Brack said: "Every family affected will be rehoused tonight.',
        'Nobody will pay for this out of their own pocket."',
    ],
    [
        "After the storm passed, engineers began inspecting the damaged gates and the color of the water.",
        "The harbour is expected to reopen to fishing boats by Friday, officials said.",
        "Gov. Lena Hart will visit the town on Thursday, her office said.",
    ],
]
QUOTES = [
    '"We told them three times that the hinges were rusting and nobody listened,"',
    '"Every family affected will be rehoused tonight.',
    'Nobody will pay for this out of their own pocket."',
]
SEEDS = range(12)


def test_quote_mask_follows_a_quotation_over_sentences() -> None:
    spans = S.quoted_spans(S.flatten(PARAS))
    assert spans == QUOTES


def test_detokenize_undoes_ecb_tokenisation() -> None:
    assert S.detokenize("an eight - year, $27. 5 million offer") == "an eight-year, $27.5 million offer"
    assert S.detokenize('He said " we will win " today .') == 'He said "we will win" today.'
    assert S.detokenize("The U. S. team 's coach") == "The U.S. team's coach"


@pytest.mark.parametrize("seed", SEEDS)
def test_trimmed_is_a_prefix(seed: int) -> None:
    out = S.trim(PARAS, random.Random(seed))
    sentences, original = S.flatten(out), S.flatten(PARAS)
    assert 2 <= len(sentences) < len(original)
    assert sentences == original[: len(sentences)]
    assert S.body_text(PARAS).startswith(S.body_text(out))


@pytest.mark.parametrize("seed", SEEDS)
def test_reordered_has_the_same_paragraphs_in_another_order(seed: int) -> None:
    out = S.reorder(PARAS, random.Random(seed))
    assert out != PARAS
    assert out[0] == PARAS[0]
    assert sorted(map(tuple, out)) == sorted(map(tuple, PARAS))


@pytest.mark.parametrize("seed", SEEDS)
def test_light_edits_change_a_few_words_outside_quotes(seed: int) -> None:
    out, edits = S.light_edit(PARAS, random.Random(seed))
    assert edits >= 3
    assert [len(p) for p in out] == [len(p) for p in PARAS]
    changed = 0
    for before, after in zip(S.flatten(PARAS), S.flatten(out), strict=True):
        changed += before != after
        assert difflib.SequenceMatcher(None, before, after).ratio() >= 0.8
    assert changed == edits
    assert S.quoted_spans(S.flatten(out)) == QUOTES


@pytest.mark.parametrize("seed", SEEDS)
def test_rewrite_keeps_quotes_word_for_word_and_rewords_the_rest(seed: int) -> None:
    out = S.rewrite(PARAS, random.Random(seed))
    text = " ".join(out)
    for quote in QUOTES:
        assert quote in text
    original = S.flatten(PARAS)
    unquoted = [s for s in original[1:] if '"' not in s]
    assert sum(s in out for s in unquoted) < len(unquoted) / 2  # most sentences are reworded
    assert T.word_count(out) <= 0.75 * T.word_count(original)  # and some are dropped


def test_rewrite_rules_substitute_words_and_move_clauses() -> None:
    assert T._reorder_clauses("The harbour will reopen by Friday, officials said.") == (
        "Officials said the harbour will reopen by Friday."
    )
    assert T._reorder_clauses("After the storm passed, engineers began inspecting the gates.") == (
        "Engineers began inspecting the gates after the storm passed."
    )
    out = T._substitute("Police arrested the man because of the attack.", random.Random(0), 1.0)
    assert out == "Law enforcement detained the individual due to the assault."
    # Capitals inside a sentence are names: "President Obama" stays.
    assert T._substitute("He met President Obama.", random.Random(0), 1.0) == "He met President Obama."


@pytest.mark.parametrize("seed", range(40))
def test_citation_names_the_outlet(seed: int) -> None:
    rng = random.Random(seed)
    outlet = rng.choice(["Northgate Courier", "The Associated Press", "Reuters"])
    out, template = S.add_citation(S.flatten(PARAS), outlet, rng)
    assert template in T.CITE_TEMPLATES
    text = " ".join(out)
    assert outlet.removeprefix("The ") in text
    assert S.quoted_spans(out) == QUOTES


def test_every_citation_phrasing_occurs() -> None:
    seen = {S.add_citation(S.flatten(PARAS), "Reuters", random.Random(seed))[1] for seed in range(200)}
    assert seen == set(T.CITE_TEMPLATES)


def test_stitched_is_the_head_of_one_and_the_tail_of_another() -> None:
    other = [
        ["Ferry service cut"],
        *[[f"Ferry sentence number {i} about the crossing and its crew."] for i in range(6)],
    ]
    for seed in SEEDS:
        out = S.stitch(PARAS, other, random.Random(seed))
        assert out is not None
        flat = S.flatten(out)
        head = [s for s in flat if s in S.flatten(PARAS)]
        tail = [s for s in flat if s in S.flatten(other)]
        assert head + tail == flat and head and tail
        assert head == S.flatten(PARAS)[: len(head)]
        assert tail == S.flatten(other)[len(S.flatten(other)) - len(tail) :]


def test_update_adds_a_paragraph_at_the_top_or_bottom() -> None:
    new = ["The barrier's operator said on Wednesday it would replace all four hinges."]
    top, bottom = S.update(PARAS, new, at_top=True), S.update(PARAS, new, at_top=False)
    assert top == [PARAS[0], new, *PARAS[1:]]
    assert bottom == [*PARAS, new]


# -- the corpus ----------------------------------------------------------------------------------

VOCAB = (
    "harbour council color center storm gates barrier engineers said police town residents report "
    "water road boats fishing weeks percent quay pilot family tonight pocket hinges rust surge night "
    "morning cellars traffic inspect damage friday office visit do not it is program defense 3 5 7 "
    "company deal game team season officials because several many quickly later major"
).split()


def synthetic_sources(n_stories: int = 3, per_story: int = 8, seed: int = 0) -> dict[str, list[str]]:
    """Random articles: 10 sentences of 10-16 words, a few with a quotation."""
    rng = random.Random(seed)
    out = {}
    for story in range(1, n_stories + 1):
        for n in range(per_story):
            sentences = [" ".join(rng.choice(VOCAB) for _ in range(6)).capitalize()]
            for i in range(10):
                words = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(10, 16)))
                sentence = words.capitalize() + "."
                if i % 4 == 3:
                    sentence = f'"{sentence[:-1]}," said {rng.choice(["Ana Ruiz", "Tom Alder"])}.'
                sentences.append(sentence)
            out[f"{story}_{n}ecbplus"] = sentences
    return out


@pytest.fixture(scope="module")
def corpus() -> S.Corpus:
    return S.build_corpus(synthetic_sources(), size=10, seed=7)


def test_truth_is_a_forest_without_cycles(corpus: S.Corpus) -> None:
    for doc in corpus.by_key.values():
        seen: set[int] = set()
        stack = list(doc.parents)
        while stack:
            k = stack.pop()
            assert k != doc.key, f"{doc.id} is its own ancestor"
            if k not in seen:
                seen.add(k)
                stack.extend(corpus.by_key[k].parents)
        for k in doc.parents:
            assert k < doc.key  # parents are made before their children
            assert corpus.by_key[k].time < doc.time


def test_corpus_truth_is_consistent(corpus: S.Corpus) -> None:
    ids = [d.id for d in corpus.docs]
    assert len(ids) == len(set(ids))
    assert not {d.id for d in corpus.hidden} & set(ids)
    kinds = {d.kind for d in corpus.docs}
    assert {"base", "verbatim", "trimmed", "light_edit", "rewrite", "cites_corpus"} <= kinds
    for d in corpus.docs:
        parents = [corpus.by_key[k] for k in d.parents]
        if d.kind == "base":
            assert not parents
        elif d.kind == "cites_external":
            assert [p.hidden for p in parents] == [True]
            assert d.cites == parents[0].outlet and d.cites in d.text
        else:
            assert S.EXPECTED[d.kind]
            assert all(not p.hidden for p in parents)
        if d.kind == "verbatim":
            (p,) = parents
            assert S.body_text(d.body) == S.body_text(p.body)
            assert d.outlet != p.outlet
            assert d.header and d.outlet in d.header and d.footer and d.outlet in d.footer
            assert d.text.startswith(d.header) and d.text.endswith(d.footer)
        if d.kind == "cites_corpus":
            assert d.cites == parents[0].outlet != d.outlet
        if d.kind == "update":
            (p,) = parents
            assert d.outlet == p.outlet
            assert d.id.startswith(p.id.split("-u")[0] + "-u")
        if d.kind == "stitched":
            assert len(parents) == 2 and parents[0].story == parents[1].story


def test_roundups_join_sections_of_different_stories(corpus: S.Corpus) -> None:
    roundups = [d for d in corpus.docs if d.kind == "roundup"]
    assert roundups
    for d in roundups:
        parents = [corpus.by_key[k] for k in d.parents]
        assert 2 <= len(parents) <= 4
        assert len({p.story for p in parents}) == len(parents)
        assert len(d.parts) == len(parents)
        # Its story is the story of its longest section; every section is a source's head.
        assert d.story == max(d.parts, key=lambda part: part[1])[0]
        for p in parents:
            assert S.body_text([p.body[0], p.body[1]]) in S.body_text(d.body)
            assert p.time < d.time
        assert corpus.truth(d)["roundup_parts"]


def test_agency_copy_is_republished_within_minutes(corpus: S.Corpus) -> None:
    wires = [d for d in corpus.docs if d.burst and d.kind == "base"]
    assert wires
    for wire in wires:
        copies = [d for d in corpus.docs if d.parents == (wire.key,) and d.burst]
        assert len(copies) >= 3
        for c in copies:
            assert c.kind in ("verbatim", "light_edit", "trimmed")
            assert 0 < (c.time - wire.time).total_seconds() <= 45 * 60
            assert c.ts_mode == "exact"


def synthetic_base(n_stories: int = 6) -> S.BaseCorpus:
    sources = synthetic_sources(n_stories=n_stories)
    kinds = {str(s): "quake" if s <= 4 else "vote" for s in range(1, n_stories + 1)}
    return S.BaseCorpus(sources, {d: d.split("_")[0] for d in sources}, kinds)


def test_splits_share_no_story_and_deal_out_every_kind() -> None:
    base = synthetic_base()
    tune, report = base.split("tune"), base.split("report")
    assert set(tune.story.values()).isdisjoint(report.story.values())
    assert set(tune.sentences) | set(report.sentences) == set(base.sentences)
    for part in (tune, report):
        kinds = [part.kind_of(s) for s in set(part.story.values())]
        assert kinds.count("quake") == 2 and kinds.count("vote") == 1
    assert base.split("tune").story == tune.story  # the same every time
    with pytest.raises(ValueError, match="unknown split"):
        base.split("train")


def test_stories_of_one_kind_start_days_apart() -> None:
    base = synthetic_base()
    corpus = S.build_corpus(base, size=14, seed=5)
    first: dict[str, object] = {}
    for d in corpus.by_key.values():
        if d.kind == "base":
            first[d.story] = min(d.time, first.get(d.story, d.time))  # type: ignore[type-var]
    quakes = sorted(t for s, t in first.items() if base.kind_of(s) == "quake")
    assert len(quakes) >= 2
    for a, b in itertools.pairwise(quakes):
        gap = (b - a).total_seconds() / 86400  # type: ignore[operator]
        assert 1 <= gap <= 11  # 2 to 9 days between starts, 6 to 54 hours into each


def test_a_jsonl_base_corpus(tmp_path: Path) -> None:
    sources = synthetic_sources(n_stories=3)
    path = tmp_path / "base.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for doc_id, sentences in sources.items():
            row = {
                "id": doc_id,
                "text": " ".join(sentences),
                "story": "s" + doc_id.split("_")[0],
                "kind": "k",
            }
            f.write(json.dumps(row) + "\n")
    base = S.load_base(path)
    assert set(base.sentences) == set(sources)
    assert base.story["1_0ecbplus"] == "s1" and base.kind["s1"] == "k"
    assert len(base.sentences["1_0ecbplus"]) >= 8  # running text cut into sentences
    corpus = S.build_corpus(base, size=8, seed=2)
    assert {d.story for d in corpus.docs} <= {"s1", "s2", "s3"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        S.load_base(bad)


def test_order_stability_and_reliability_scores() -> None:
    same = {"a": 1, "b": 1, "c": 2, "d": 2}
    other = {"a": 1, "b": 2, "c": 2, "d": 2}
    stability = SC.order_stability([same, dict(same), other])
    assert stability["pairwise_ari"][0] == 1.0 and stability["min_ari"] < 1.0
    table = SC.reliability([(0.95, True), (0.85, False), (0.55, True), (1.0, True)])
    assert table["bins"]["0.9-1.0"] == {"n": 2, "accuracy": 1.0}
    assert table["bins"]["0.8-0.9"] == {"n": 1, "accuracy": 0.0}
    assert table["at_least_0.8"] == {"n": 3, "accuracy": 0.6667}


def test_the_vector_baseline_clusters_at_its_threshold() -> None:
    class Axes:
        dim = 3

        def encode(self, texts: list[str]) -> np.ndarray:
            return np.array([[1.0, 0.0, 0.0] if "storm" in t else [0.0, 1.0, 0.1] for t in texts])

    texts = {"a": "storm one", "b": "storm two", "c": "vote one", "d": "vote two"}
    for method in ("average", "components"):
        clusters = VectorClusterBaseline(Axes(), 0.9, method).clusters(texts)  # type: ignore[arg-type]
        assert clusters["a"] == clusters["b"] != clusters["c"] == clusters["d"]


def test_seeded_corpora_are_identical() -> None:
    sources = synthetic_sources()
    a = S.build_corpus(sources, size=10, seed=3)
    b = S.build_corpus(sources, size=10, seed=3)
    c = S.build_corpus(sources, size=10, seed=4)
    assert [(d.id, d.text) for d in a.docs] == [(d.id, d.text) for d in b.docs]
    assert [a.truth(d) for d in a.docs] == [b.truth(d) for d in b.docs]
    assert [d.text for d in a.docs] != [d.text for d in c.docs]


def test_too_large_a_size_is_refused() -> None:
    with pytest.raises(ValueError, match="most is"):
        S.build_corpus(synthetic_sources(), size=40, seed=1)


def test_scores_of_a_perfect_answer(corpus: S.Corpus) -> None:
    """The truth itself, given as an answer, scores 1 on pairs it can express."""
    pt = S.pair_truth(corpus)
    reported = {k: rel for k, (_, rel) in pt.edges.items()}
    scores = SC._score_pairs(corpus, pt, reported)
    assert scores["any_reuse"]["f1"] == 1.0
    assert all(v["f1"] == 1.0 for v in scores["by_relation"].values())
    clusters = SC.score_clusters(corpus, {d.id: corpus.family[d.key] for d in corpus.docs})
    assert clusters["families"]["ari"] == 1.0


# -- end to end on the research data ---------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.model
def test_main_on_a_tiny_corpus(
    shared_data: Path, detector: Detector, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["--base", str(shared_data / "news_ecb"), "--size", "4", "--seed", "2", "--out", str(tmp_path)]
    argv += ["--orders", "2", "--no-vector-baseline"]
    assert S.main(argv, detector=detector) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"corpus", "dedup", "baseline", "seconds"} <= set(result)
    assert result["split"] == "report"
    assert result["backend"] == detector.config.embed.backend
    assert set(result["dedup"]) == {"with_timestamps", "without_timestamps", "order_stability"}
    assert result["dedup"].pop("order_stability")["orders"] == 2
    for run in result["dedup"].values():
        assert {"pairs", "clusters", "parents", "external_sources"} <= set(run)
        assert {"any_reuse", "by_relation", "by_kind"} <= set(run["pairs"])
        assert {"families", "stories"} <= set(run["clusters"])
        assert 0.0 <= run["clusters"]["stories"]["bcubed_f1"] <= 1.0
        assert {"derived", "roots", "by_kind", "reliability"} <= set(run["parents"])
        assert run["clusters"]["largest_cluster"] >= 1
    assert set(result["baseline"]) == {"minhash_0.5", "minhash_0.3"}
    assert result["baseline"]["minhash_0.5"]["parents"] is None
    rows = (tmp_path / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == result["corpus"]["articles"]
    assert (tmp_path / "truth.jsonl").exists()
