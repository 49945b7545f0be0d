"""benchmarks/throughput.py on a tiny slice: every section runs and reports what the README table
reads, and the corpus helpers do what they say."""

from __future__ import annotations

import json

import pytest

from benchmarks import throughput
from benchmarks.datasets import story_of
from dedup.article import Article


def test_long_sources_join_same_story_articles() -> None:
    sources = {
        "1_1": ["one two three four five."],
        "1_2": ["six seven eight nine ten."],
        "1_3": ["eleven."],
        "2_1": ["a b c d e f g h i j k l."],
    }
    joined = throughput.long_sources(sources, min_words=8)
    assert joined == {
        "1_1": ["one two three four five.", "six seven eight nine ten."],
        "2_1": ["a b c d e f g h i j k l."],
    }
    assert {story_of(k) for k in joined} == {"1", "2"}


def test_repeated_texts_keep_the_first_pass_and_respell_later_ones() -> None:
    texts = ["the strike ended on friday when the union accepted", "a fire closed the harbour road"]
    out = list(throughput.repeated_texts(texts, 6))
    assert out[:2] == texts
    assert out[2] != texts[0] and out[4] != out[2]  # each repetition is respelt its own way
    assert out[2].split()[0:1] != [] and len(out[2].split()) == len(texts[0].split())
    assert list(throughput.repeated_texts(texts, 6)) == out  # seeded: the same every run
    long = " ".join(f"word{i}" for i in range(600))
    again = list(throughput.repeated_texts([long], 2))[1].split()
    respelt = sum(a != b for a, b in zip(long.split(), again, strict=True)) / 600
    assert 0.6 < respelt < 0.73  # two words in three: a repetition is a new story
    assert set(again) <= set(long.split())  # in the corpus's own vocabulary


def test_repeated_articles_keep_ids_unique_and_the_first_pass_as_it_is() -> None:
    articles = [
        Article(f"a{i}", f"Story {i} about the harbour wall and the storm.", outlet="Wire") for i in range(3)
    ]
    out = list(throughput.repeated_articles(articles, 8))
    assert out[:3] == articles
    assert len({a.id for a in out}) == 8 and out[3].id == "a0~1" and out[3].outlet == "Wire"
    assert out[3].text != articles[0].text


def test_jaccard_pairs_equal_brute_force() -> None:
    texts = list(
        throughput.repeated_texts(
            [f"w{i} " * 3 + " ".join(f"x{j}" for j in range(i, i + 12)) for i in range(6)], 12
        )
    )
    texts += texts[:3]
    sets = [set(throughput._shingle_strings(t)) for t in texts]
    for at_least in (0.2, 0.5, 0.9):
        brute = {
            (j, i)
            for i in range(len(texts))
            for j in range(i)
            if len(sets[i] & sets[j]) >= at_least * len(sets[i] | sets[j])
        }
        assert throughput.jaccard_pairs(texts, at_least) == brute
    assert throughput.jaccard_pairs(texts, 0.5)  # the repeated texts are found


def test_rensa_bands_divide_the_permutations() -> None:
    for t in (0.2, 0.5, 0.8):
        b = throughput.rensa_bands(t)
        assert 128 % b == 0
    assert throughput.rensa_bands(0.8) < throughput.rensa_bands(0.2)


@pytest.mark.shared_data
@pytest.mark.model
def test_tiny_run_reports_every_section(shared_data, tmp_path, capsys) -> None:
    out = tmp_path / "t.json"
    png = tmp_path / "t.png"
    code = throughput.main(
        [
            "--base", str(shared_data / "news_ecb"),
            "--mrpc", str(shared_data / "mrpc" / "msr_paraphrase_train.txt"),
            "--size", "3", "--sizes", "200", "400", "--queries", "4",
            "--clients", "1", "2", "--engine-sizes", "20", "40", "--resident", "5",
            "--out", str(out), "--plot", str(png),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == result
    base = result["baselines"]
    for name in ("datasketch", "rensa"):
        assert base[name]["articles_per_second"] > 0
        assert base[name]["recall_at_jaccard_0.5"] is not None
    model = result["pipeline"]["model"]
    assert model["articles"] == result["corpus"]["articles"]
    assert 0 < model["quality"]["pair_f1"] <= 1
    # the limit: the model's own rate over the sentences it embedded per article
    per_article = model["sentences_through_the_model"] / model["articles"]
    assert model["embedded_per_article"] == pytest.approx(per_article, abs=0.01)
    assert model["limit_articles_per_second"] == pytest.approx(
        model["model_sentences_per_second"] / model["embedded_per_article"], rel=0.01
    )
    assert result["pipeline"]["no_model"]["sentences_through_the_model"] == 0
    # torch runs the float32 model: float32 ONNX's scores (cosines may differ in the last printed digit)
    assert result["pipeline"]["torch"]["quality"] == result["pipeline"]["float32"]["quality"]
    assert result["pipeline"]["float32"]["limit_articles_per_second"] > 0
    # the CLI gives the library's answers on the same articles
    assert result["cli"]["model"]["answers"] == model["answers"]
    assert result["cli"]["no_model"]["answers"] == result["pipeline"]["no_model"]["answers"]
    service = result["service"]["model"]
    assert set(service["find_similar"]) == {f"{n}_clients_{k}" for n in (1, 2) for k in ("copy", "novel")}
    assert service["disk_per_article_kb"] > 0 and service["limit_articles_per_second"] > 0
    rows = {(r["path"], r["model"]): r for r in result["summary"]}
    assert len(rows) == 8
    # the CPU each path used: per article, and as a share of the cores over the run
    for row in rows.values():
        assert row["cpu_ms_per_article"] > 0 and 0 < row["cores_busy"] <= 1.05
    for row in rows.values():
        for name in ("datasketch", "rensa"):
            ratio = row["articles_per_second"] / base[name]["articles_per_second"]
            assert row[f"ratio_to_{name}"] == pytest.approx(ratio, abs=1e-4)
    assert all(r["same_answers_as_library"] for r in result["summary"] if r["path"].startswith("CLI"))
    assert result["scale"]["vectors"][0]["hnsw"]["recall_at_20"] > 0.9
    assert png.stat().st_size > 10_000
    steps = result["engine_scale"]["steps"]
    assert [s["stored"] for s in steps] == [20, 40]
    assert steps[-1]["documents_reloaded"]["while_ingesting"] > 0  # 5 resident of 40: reads back
    assert steps[-1]["find_similar"]["median_ms"] > 0 and steps[-1]["disk_per_article_kb"] > 0
    assert {"doc_lsh", "sent_lsh", "records", "resident"} <= set(steps[-1]["engine_parts_kb_per_article"])
    memory = result["engine_memory_per_article_kb"]
    assert memory["token_starts"] > 0 and memory["words"] > 0 and memory["embeddings_float16"] > 0
    assert memory["total_kb"] == pytest.approx(
        sum(
            v
            for k, v in memory.items()
            if k not in ("total_kb", "sentences_per_article", "tokens_per_article")
        ),
        abs=0.5,
    )
