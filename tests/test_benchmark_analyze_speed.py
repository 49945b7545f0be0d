"""benchmarks/analyze_speed.py on a tiny slice: the rate reached beside the embedding-bound limit."""

from __future__ import annotations

import json

import pytest

from benchmarks import analyze_speed


@pytest.mark.shared_data
@pytest.mark.model
def test_reports_the_limit_beside_the_rate(shared_data, capsys) -> None:
    assert analyze_speed.main(["--data", str(shared_data / "news_ecb"), "--limit", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["articles"] == 6
    per_article = result["stats"]["embedded"] / 6
    assert 0 < result["embedded_per_article"] == pytest.approx(per_article, abs=0.01)
    assert result["model_sentences_per_second"] > 0
    assert result["limit_articles_per_second"] == pytest.approx(
        result["model_sentences_per_second"] / result["embedded_per_article"], rel=0.01
    )
    assert result["share_of_limit"] == pytest.approx(
        result["articles_per_second"] / result["limit_articles_per_second"], rel=0.02
    )
