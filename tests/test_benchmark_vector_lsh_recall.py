"""benchmarks/vector_lsh_recall.py on a tiny slice without the model (every vector the zero vector: all
articles share every band, so recall is 1 and every article is a candidate): it runs, and says so."""

from __future__ import annotations

from pathlib import Path

from benchmarks import vector_lsh_recall


def test_vector_lsh_recall_runs_on_a_slice(shared_data: Path) -> None:
    result = vector_lsh_recall.main(
        ["--data", str(shared_data / "news_ecb"), "--articles", "30", "--model", "none"]
    )
    assert result["articles"] == 30 and len(result["settings"]) == 2 * len(vector_lsh_recall.SETTINGS)
    assert all(s["recall_at_k"] == 1.0 and s["candidates"] == 1.0 for s in result["settings"])
