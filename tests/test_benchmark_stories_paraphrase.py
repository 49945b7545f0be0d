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
    for key in ("dedup", "baseline_minhash_lsh_0.5", "baseline_minhash_lsh_0.3"):
        block = result[key]
        assert isinstance(block, dict) and -1.0 <= block["ari"] <= 1.0 and 0.0 <= block["bcubed_f1"] <= 1.0


def test_paraphrase_on_a_slice(shared_data: Path, detector: Detector) -> None:
    data = shared_data / "mrpc" / "msr_paraphrase_train.txt"
    result = paraphrase.main(["--data", str(data), "--limit", "40"], detector=detector)
    assert result["pairs"] == 40
    dedup = result["dedup"]
    assert isinstance(dedup, dict) and 0.0 <= dedup["accuracy"] <= 1.0
    assert "0.80" in result["dedup_cosine_sweep_tuned_on_this_split"]  # type: ignore[operator]
    assert "baseline_minhash_1word_0.5" in result
