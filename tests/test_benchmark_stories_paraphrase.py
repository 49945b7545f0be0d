"""The story and paraphrase benchmarks run on a tiny slice, so they cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

from benchmarks import paraphrase, stories
from benchmarks.metrics import adjusted_rand_index, bcubed, precision_recall_f1
from dedup.pipeline import Detector


def test_metrics_on_hand_made_clusterings() -> None:
    truth = {"a": 1, "b": 1, "c": 2, "d": 2}
    assert adjusted_rand_index(truth, {"a": "x", "b": "x", "c": "y", "d": "y"}) == 1.0
    assert bcubed(truth, {"a": "x", "b": "x", "c": "y", "d": "y"}) == (1.0, 1.0, 1.0)
    p, r, _ = bcubed(truth, {"a": 0, "b": 0, "c": 0, "d": 0})  # one big cluster
    assert r == 1.0 and p == 0.5
    p, r, _ = bcubed(truth, {"a": 0, "b": 1, "c": 2, "d": 3})  # all apart
    assert p == 1.0 and r == 0.5
    assert adjusted_rand_index(truth, {"a": 0, "b": 1, "c": 2, "d": 3}) <= 0.0
    assert precision_recall_f1([True, True, False, False], [True, False, True, False]) == (0.5, 0.5, 0.5)


def test_stories_on_a_slice(shared_data: Path, detector: Detector) -> None:
    result = stories.main(["--data", str(shared_data / "news_ecb"), "--limit", "12"], detector=detector)
    assert result["articles"] == 12
    assert result["backend"] == detector.config.embed.backend
    for key in ("dedup", "baseline_minhash_lsh_0.5", "baseline_minhash_lsh_0.3"):
        block = result[key]
        assert isinstance(block, dict) and -1.0 <= block["ari"] <= 1.0 and 0.0 <= block["bcubed_f1"] <= 1.0


def test_paraphrase_on_a_slice(shared_data: Path, detector: Detector) -> None:
    data = shared_data / "mrpc" / "msr_paraphrase_train.txt"
    result = paraphrase.main(["--data", str(data), "--limit", "40", "--seed", "3"], detector=detector)
    assert result["pairs"] == 40
    assert result["backend"] == detector.config.embed.backend
    assert result["dev_pairs"] == 28 and result["test_pairs"] == 12  # 70/30, stratified
    fitted = result["fitted_on_dev"]
    assert isinstance(fitted, dict) and len(fitted["paraphrase_weights"]) == 9
    assert 0.4 <= fitted["paraphrase_min_cosine"] <= 0.8 <= fitted["paraphrase_cosine"] <= 1.0
    test = result["test"]
    assert isinstance(test, dict)
    for key in (
        "dedup",
        "dedup_align_any_passage",
        "cosine_only_0.80",
        "cosine_only_tuned_on_dev",
        "majority_class",
        "baseline_minhash_1word_0.5",
        "baseline_minhash_5word_0.5",
    ):
        assert 0.0 <= test[key]["accuracy"] <= 1.0 and 0.0 <= test[key]["f1"] <= 1.0, key
    # The same seed, the same split and fit.
    again = paraphrase.main(["--data", str(data), "--limit", "40", "--seed", "3"], detector=detector)
    assert again["fitted_on_dev"] == fitted and again["test"] == test
