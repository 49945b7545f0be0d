"""The sentence-pair paraphrase decision (dedup.paraphrase, used by align), its fit, and its settings.

Every sentence here is written for these tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from benchmarks.paraphrase import mrpc_text, split
from dedup.align import (
    STOP_WORDS,
    _in_order,
    align,
    matching_blocks_summary,
    paraphrase_decision,
    paraphrase_features,
    sequence_ratio,
)
from dedup.align import (
    _terms as _align_terms,
)
from dedup.article import Article
from dedup.config import PARAPHRASE_FEATURES, AlignConfig, config_from_dict, load_config
from dedup.document import PreparedDocument
from dedup.errors import ConfigError
from dedup.minhash import word_hashes
from dedup.paraphrase import (
    CONTENT,
    NAME,
    NEGATION,
    NUMBER,
    WORD,
    SentenceTerms,
    best_f1_threshold,
    changes_only_facts,
    cross_validated_probabilities,
    fit_logistic,
    is_paraphrase,
    pair_features,
    probability,
    sentence_terms,
    word_kinds,
)
from dedup.pipeline import Detector
from dedup.results import PassageKind
from dedup.segment import tokenize

CFG = AlignConfig()

ANOTHER_NUMBER = (
    "The council approved a budget of 300 million dollars for new schools on Tuesday.",
    "The council approved a budget of 500 million dollars for new schools on Tuesday.",
)
ANOTHER_NAME = (
    "The board appointed Margaret Olsen as chief executive of the shipping company.",
    "The board appointed Daniel Okafor as chief executive of the shipping company.",
)
NEGATED = (
    "Investigators said the fire was started deliberately by the tenants.",
    "Investigators said the fire was not started deliberately by the tenants.",
)
REWORDINGS = [
    (
        "Dock workers in Port Alder walked off the job on Tuesday over a pay dispute.",
        "A pay dispute led dock workers in Port Alder to stop work on Tuesday.",
    ),
    (
        "The mayor said the bridge would reopen to traffic by the end of March.",
        "According to the mayor, traffic will be able to use the bridge again before March is over.",
    ),
    (
        "The company will close its two factories in the north and cut 1,200 jobs.",
        "The firm plans to shut both of its northern plants, eliminating 1,200 positions.",
    ),
]
UNRELATED = (
    "The central bank raised interest rates by a quarter of a percentage point.",
    "Football fans gathered outside the stadium hours before kick-off.",
)


def _pair(detector: Detector, first: str, second: str) -> tuple[PreparedDocument, PreparedDocument]:
    a, b = detector.prepare([Article("a", first), Article("b", second)])
    assert len(a.sentences) == len(b.sentences) == 1
    return a, b


def _terms(text: str) -> SentenceTerms:
    tokens = tokenize(text)
    words = [t.text for t in tokens]
    kinds = word_kinds(
        words,
        [text[t.start].isupper() for t in tokens],
        [w not in STOP_WORDS for w in words],
        [k == 0 for k in range(len(words))],
    )
    return sentence_terms(text, " ".join(words), word_hashes(words), kinds)


# -- the decision on sentences ------------------------------------------------------------------------


@pytest.mark.parametrize("pair", [ANOTHER_NUMBER, ANOTHER_NAME, NEGATED], ids=["number", "name", "negation"])
def test_the_same_sentence_with_another_fact_is_not_a_paraphrase(
    detector: Detector, pair: tuple[str, str]
) -> None:
    a, b = _pair(detector, *pair)
    assert not paraphrase_decision(a, 0, b, 0, CFG)
    assert not paraphrase_decision(b, 0, a, 0, CFG)
    _, facts = paraphrase_features(a, 0, b, 0)
    assert facts


@pytest.mark.parametrize("pair", REWORDINGS, ids=["strike", "bridge", "factories"])
def test_a_rewording_is_a_paraphrase(detector: Detector, pair: tuple[str, str]) -> None:
    a, b = _pair(detector, *pair)
    assert paraphrase_decision(a, 0, b, 0, CFG)
    features, facts = paraphrase_features(a, 0, b, 0)
    assert not facts
    assert float(probability(features, CFG.paraphrase_weights)) >= CFG.paraphrase_threshold


def test_unrelated_sentences_are_not_a_paraphrase(detector: Detector) -> None:
    a, b = _pair(detector, *UNRELATED)
    assert not paraphrase_decision(a, 0, b, 0, CFG)


@pytest.mark.parametrize(
    "pair", [ANOTHER_NUMBER, ANOTHER_NAME, NEGATED, *REWORDINGS, UNRELATED], ids=lambda p: p[0][:12]
)
def test_features_and_decision_are_symmetric(detector: Detector, pair: tuple[str, str]) -> None:
    a, b = _pair(detector, *pair)
    forward, facts = paraphrase_features(a, 0, b, 0)
    backward, facts_back = paraphrase_features(b, 0, a, 0)
    assert forward == pytest.approx(backward, abs=1e-6)
    assert facts == facts_back
    assert paraphrase_decision(a, 0, b, 0, CFG) == paraphrase_decision(b, 0, a, 0, CFG)


def test_align_reports_the_rewording_as_a_paraphrase_and_not_the_changed_fact(detector: Detector) -> None:
    first, second = REWORDINGS[0]
    a, b = _pair(detector, first, second)
    assert [p.kind for p in align(a, b, CFG)] == [PassageKind.PARAPHRASE]
    # A short sentence with another number is neither a copy nor a paraphrase.
    a, b = _pair(detector, "Prices rose 5 percent in May.", "Prices rose 7 percent in May.")
    assert not [p for p in align(a, b, CFG) if p.kind is PassageKind.PARAPHRASE]


def test_the_cosine_filter_comes_first(detector: Detector) -> None:
    a, b = _pair(detector, *REWORDINGS[2])
    cosine = paraphrase_features(a, 0, b, 0)[0][0]
    assert CFG.paraphrase_min_cosine < cosine < CFG.paraphrase_cosine  # the model decides
    above = dataclasses.replace(CFG, paraphrase_min_cosine=cosine + 0.01)
    assert not paraphrase_decision(a, 0, b, 0, above)
    assert paraphrase_decision(a, 0, b, 0, dataclasses.replace(CFG, paraphrase_min_cosine=cosine - 0.01))


def test_from_paraphrase_cosine_up_the_model_is_not_asked(detector: Detector) -> None:
    # The second sentence restates the first and adds a clause: MRPC would call it not equivalent.
    a, b = _pair(
        detector,
        "The ministry said the new rail line would open to passengers next spring.",
        "The ministry said the new rail line would open to passengers next spring, although it "
        "declined to say how much the project had cost or who would run the trains.",
    )
    features, facts = paraphrase_features(a, 0, b, 0)
    assert not facts
    assert float(probability(features, CFG.paraphrase_weights)) < CFG.paraphrase_threshold
    cosine = features[0]
    assert paraphrase_decision(a, 0, b, 0, dataclasses.replace(CFG, paraphrase_cosine=cosine - 0.01))
    assert not paraphrase_decision(a, 0, b, 0, dataclasses.replace(CFG, paraphrase_cosine=cosine + 0.01))


# -- the features and the rule on plain terms ---------------------------------------------------------


def test_sentence_terms() -> None:
    t = _terms("Officials in Port Alder didn't say whether the 1,200 workers would return on 3 June.")
    words = t.words.split()
    assert t.numbers == {"1200", "3"}
    assert t.names == set(word_hashes(["port", "alder", "june"]).tolist())  # not the first word
    assert t.negated
    kinds = dict(zip(words, [k & 3 for k in t.kinds], strict=True))
    assert kinds["didn't"] == NEGATION and kinds["1"] == NUMBER and kinds["port"] == NAME
    assert kinds["officials"] == WORD  # the first word is not taken for a name
    content = [w not in STOP_WORDS for w in words]
    assert t.content_before == tuple(sum(content[:n]) for n in range(len(words) + 1))
    assert t.plain == len(words) - 1
    assert t.content_words == set(word_hashes([w for w in words if w not in STOP_WORDS]).tolist())
    assert not _terms("Officials in Port Alder said the workers would return.").negated
    assert not _terms("Officials in Port Alder said the workers would return.").numbers


def test_word_kinds() -> None:
    kinds = word_kinds(
        ["never", "isn't", "12th", "oslo", "oslo", "the", "rain"],
        [True, False, False, True, True, False, False],
        [True, False, True, True, True, False, True],
        [True, False, False, True, False, False, False],
    )
    assert kinds.tolist() == [
        NEGATION | CONTENT,  # a negation before a name, even capitalised
        NEGATION,
        NUMBER | CONTENT,
        WORD | CONTENT,  # capitalised, but the first word of its sentence
        NAME | CONTENT,
        WORD,
        WORD | CONTENT,
    ]
    with pytest.raises(ValueError, match="as long as each other"):  # a flag list longer than the words
        word_kinds(["oslo"], [True, False], [True], [False])


def test_changes_only_facts_needs_the_same_words_otherwise() -> None:
    assert changes_only_facts(_terms(NEGATED[0]), _terms(NEGATED[1]))
    assert changes_only_facts(_terms(ANOTHER_NUMBER[0]), _terms(ANOTHER_NUMBER[1]))
    assert changes_only_facts(_terms(ANOTHER_NAME[0]), _terms(ANOTHER_NAME[1]))
    same = _terms(ANOTHER_NAME[0])
    assert not changes_only_facts(same, same)  # nothing changed
    # A title added, a name added, another word changed, a name for a common word: not the rule's.
    assert not changes_only_facts(
        _terms("Mr Olsen said the plan failed."), _terms("Olsen said the plan failed.")
    )
    assert not changes_only_facts(
        _terms("The board appointed Olsen on Monday."),
        _terms("The board appointed Margaret Olsen on Monday."),
    )
    assert not changes_only_facts(
        _terms("The council approved 300 new schools."), _terms("The council rejected 500 new schools.")
    )
    assert not changes_only_facts(_terms("He met Olsen in the city."), _terms("He met them in the city."))
    # A name abbreviated, or a possessive spelled without its apostrophe, is the same name.
    assert not changes_only_facts(
        _terms("It opened on Monday, August 24."), _terms("It opened on Monday, Aug. 24.")
    )
    assert not changes_only_facts(
        _terms("He starred in Austen's Persuasion last year."),
        _terms("He starred in Austens Persuasion last year."),
    )


def test_pair_features_of_a_sentence_with_itself() -> None:
    t = _terms(REWORDINGS[0][0])
    n = len(t.hashes)
    features = pair_features(t, t, 1.0, (n, 0, 0, n, n))
    assert len(features) == len(PARAPHRASE_FEATURES)
    assert dict(zip(PARAPHRASE_FEATURES, features, strict=True)) == {
        "cosine": 1.0,
        "dice": 1.0,
        "sequence": 1.0,
        "length": 1.0,
        "numbers": 0.0,
        "names": 0.0,
        "negation": 0.0,
        "edges": 0.0,
    }


def test_pair_features_count_differences() -> None:
    x = _terms("The company said 40 workers lost their jobs at the Alder plant.")
    y = _terms("The company said 45 workers lost their jobs at the Birch plant, and more cuts would follow.")
    blocks = matching_blocks_summary(x.hashes, y.hashes)
    features = dict(zip(PARAPHRASE_FEATURES, pair_features(x, y, 0.9, blocks), strict=True))
    assert features["cosine"] == 0.9
    assert features["numbers"] == pytest.approx(np.log1p(2))  # 40 and 45
    assert features["names"] == pytest.approx(np.log1p(1))  # Alder for Birch
    assert features["negation"] == 0.0
    assert features["length"] == pytest.approx(len(x.hashes) / len(y.hashes))
    assert features["edges"] == pytest.approx(np.log1p(2))  # "cuts" and "follow" added at the end
    assert features["sequence"] == pytest.approx(sequence_ratio(x.hashes, y.hashes))
    assert 0.0 < features["dice"] < 1.0


# -- the fit ------------------------------------------------------------------------------------------


def _toy(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    true = np.array([2.0, -1.0, 0.5])
    margin = x @ true + 0.3
    keep = np.abs(margin) > 0.2  # separable, with a gap
    return x[keep], (margin[keep] > 0).astype(float), true


def test_fit_recovers_a_separable_toy_problem() -> None:
    x, y, true = _toy(7)
    w = fit_logistic(x, y, l2=0.01)
    assert ((probability(x, w) >= 0.5) == (y == 1)).all()
    direction = w[1:] / np.linalg.norm(w[1:])
    assert float(direction @ (true / np.linalg.norm(true))) > 0.99
    assert w[0] / np.linalg.norm(w[1:]) == pytest.approx(0.3 / np.linalg.norm(true), abs=0.05)


def test_fit_is_deterministic_for_a_seed() -> None:
    x, y, _ = _toy(3)
    y = np.where(np.random.default_rng(0).random(len(y)) < 0.1, 1 - y, y)  # some noise
    assert np.array_equal(fit_logistic(x, y), fit_logistic(x, y))
    first = cross_validated_probabilities(x, y, folds=5, seed=11)
    assert np.array_equal(first, cross_validated_probabilities(x, y, folds=5, seed=11))
    assert not np.array_equal(first, cross_validated_probabilities(x, y, folds=5, seed=12))


def test_l2_shrinks_the_weights() -> None:
    x, y, _ = _toy(5)
    assert np.linalg.norm(fit_logistic(x, y, l2=100.0)[1:]) < np.linalg.norm(fit_logistic(x, y, l2=0.1)[1:])


def test_best_f1_threshold() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.1])
    assert best_f1_threshold(labels, scores, [0.1, 0.3, 0.5, 0.75, 0.85]) == 0.3  # F1 6/7
    assert best_f1_threshold(labels, scores, [0.75, 0.5]) == 0.75  # tie: the first given


# -- the settings -------------------------------------------------------------------------------------


def test_default_weights_cover_every_feature() -> None:
    assert len(CFG.paraphrase_weights) == len(PARAPHRASE_FEATURES) + 1
    assert 0.0 < CFG.paraphrase_min_cosine < CFG.paraphrase_cosine <= 1.0
    assert 0.0 < CFG.paraphrase_threshold < 1.0


def test_weights_can_be_set_from_a_file(tmp_path: Path) -> None:
    weights = [0, 1, 2, 3, 4, 5, 6, 7.5, -8]
    config = config_from_dict({"align": {"paraphrase_weights": weights, "paraphrase_threshold": 0.7}})
    assert config.align.paraphrase_weights == tuple(float(w) for w in weights)
    assert all(isinstance(w, float) for w in config.align.paraphrase_weights)
    path = tmp_path / "dedup.toml"
    path.write_text("[align]\nparaphrase_weights = [-1, 0.5, 0, 0, 0, 0, 0, 0, 0]\n", encoding="utf-8")
    assert load_config(path).align.paraphrase_weights == (-1.0, 0.5) + (0.0,) * 7
    assert load_config(path).align.paraphrase_threshold == CFG.paraphrase_threshold


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1.0, 2.0], "must hold 9 numbers"),
        (["a"] * 9, "must be a list of numbers"),
        ([True] * 9, "must be a list of numbers"),
        (0.5, "must be a list of numbers"),
    ],
)
def test_bad_weights_are_config_errors(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"align": {"paraphrase_weights": value}})


def test_string_lists_still_work() -> None:
    config = config_from_dict({"cluster": {"link_relations": ["DUPLICATE"]}})
    assert config.cluster.link_relations == ("DUPLICATE",)


# -- the benchmark's split and text -------------------------------------------------------------------


def test_split_is_stratified_and_seeded() -> None:
    labels = [True] * 70 + [False] * 30
    dev = split(labels, seed=4)
    assert dev.sum() == 70
    assert sum(1 for d, t in zip(dev, labels, strict=True) if d and t) == 49
    assert np.array_equal(dev, split(labels, seed=4))
    assert not np.array_equal(dev, split(labels, seed=5))


def test_mrpc_text_undoes_the_tokenisation() -> None:
    assert mrpc_text("The mayor 's office said it does n't know , <QUOTE> he said .") == (
        "The mayor's office said it doesn't know, \" he said."
    )
    assert (
        mrpc_text("It cost $ 2 million ( about 1.5 million euros ) .")
        == "It cost $2 million (about 1.5 million euros)."
    )
    assert mrpc_text("We haven 't decided .") == "We haven't decided."
    assert mrpc_text("Les Mis\u00c3\u00a9rables opened .") == "Les Mis\u00e9rables opened."


@pytest.mark.parametrize(
    "pair", [ANOTHER_NUMBER, ANOTHER_NAME, NEGATED, *REWORDINGS, UNRELATED], ids=lambda p: p[0][:12]
)
def test_align_decides_by_the_features_it_reports(detector: Detector, pair: tuple[str, str]) -> None:
    """What the benchmark fits on (``paraphrase_features``) is what align decides on."""
    a, b = _pair(detector, *pair)
    features, facts = paraphrase_features(a, 0, b, 0)
    x, y = _in_order(_align_terms(a, 0), _align_terms(b, 0))
    blocks = matching_blocks_summary(x.hashes, y.hashes)
    assert features == pytest.approx(pair_features(x, y, features[0], blocks), abs=1e-12)
    assert facts == changes_only_facts(x, y)
    expected = (
        not facts
        and features[0] >= CFG.paraphrase_min_cosine
        and (
            features[0] >= CFG.paraphrase_cosine
            or float(probability(features, CFG.paraphrase_weights)) >= CFG.paraphrase_threshold
        )
    )
    assert paraphrase_decision(a, 0, b, 0, CFG) == expected == is_paraphrase(x, y, features[0], blocks, CFG)
    paraphrases = [p for p in align(a, b, CFG) if p.kind is PassageKind.PARAPHRASE]
    if any(p.kind is not PassageKind.PARAPHRASE for p in align(a, b, CFG)):
        return  # word for word first: the paraphrase decision is not asked
    assert bool(paraphrases) == expected
