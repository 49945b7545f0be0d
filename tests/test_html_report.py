"""The HTML report in a real browser: Debian's chromium driven by selenium (nothing downloads a browser).

The report of the shipped example corpus is opened as a reader would open it, and what a reader relies
on is checked against the JSON answer for the same input: the derivation graph's edges, the highlighted
spans at their offsets and kinds, the names of the outside sources, and that nothing is fetched.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dedup.cli import main
from dedup.inputs import read_articles

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "port-strike" / "wire.jsonl"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = (
            "chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
        )
        if os.environ.get("DEDUP_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for a driver online
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("report")
    html_path, json_path = folder / "report.html", folder / "report.json"
    assert main(["analyze", str(EXAMPLE), "--format", "html", "--out", str(html_path), "-q"]) == 0
    assert main(["analyze", str(EXAMPLE), "--format", "json", "--out", str(json_path), "-q"]) == 0
    return html_path, json.loads(json_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(browser: Any, report: tuple[Path, dict[str, Any]]) -> Any:
    browser.get(report[0].as_uri())
    return browser


def test_the_report_is_self_contained(page: Any, report: tuple[Path, dict[str, Any]]) -> None:
    html = report[0].read_text(encoding="utf-8")
    assert "<link" not in html and " src=" not in html
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return document.querySelectorAll('[src], link[href]').length") == 0


def test_the_graph_draws_every_derivation_edge_with_its_confidence(
    page: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    expected = {
        (e["parent"], e["child"]): f"{e['confidence']:.2f}" for c in report[1]["clusters"] for e in c["edges"]
    }
    assert expected, "the example corpus has derivation edges"
    drawn = {}
    for edge in page.find_elements(By.CSS_SELECTOR, "svg.derivation g.edge"):
        key = (edge.get_attribute("data-parent"), edge.get_attribute("data-child"))
        drawn[key] = edge.find_element(By.TAG_NAME, "text").text
        assert edge.is_displayed()
    assert drawn == expected
    # Originals at the top, copies below their parents.
    for parent, child in expected:
        top = {
            n.get_attribute("data-id"): n.rect["y"]
            for n in page.find_elements(By.CSS_SELECTOR, "svg.derivation g.node[data-id]")
        }
        assert top[parent] < top[child]


def test_outside_sources_are_named_with_their_evidence(
    page: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    cited = [(d["id"], s) for d in report[1]["documents"] for s in d["external_sources"]]
    assert cited, "the example corpus names an outside source"
    for doc_id, source in cited:
        row = page.find_element(By.CSS_SELECTOR, f'table.articles tr[data-id="{doc_id}"]')
        cites = row.find_element(By.CSS_SELECTOR, f'.cites[data-source="{source["name"]}"]')
        assert source["name"] in cites.text and source["evidence"] in cites.text
        page.find_element(
            By.CSS_SELECTOR, f'g.source-edge[data-source="{source["name"]}"][data-child="{doc_id}"]'
        )
        page.find_element(By.CSS_SELECTOR, f'g.node.source[data-source="{source["name"]}"]')


def test_every_pair_shows_its_passages_highlighted_at_their_offsets(
    page: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    texts = {a.id: a.text for a in read_articles(EXAMPLE)}
    pairs = {frozenset((p["a"], p["b"])): p for p in report[1]["pairs"] if p["passages"]}
    views = page.find_elements(By.CSS_SELECTOR, "details.pair")
    assert len(views) == len(pairs)  # each pair once
    strength = {"PARAPHRASE": 1, "NEAR_VERBATIM": 2, "VERBATIM": 3}
    css = {"VERBATIM": "verbatim", "NEAR_VERBATIM": "near-verbatim", "PARAPHRASE": "paraphrase"}
    for view in views:
        view.find_element(By.TAG_NAME, "summary").click()
        a, b = view.get_attribute("data-a"), view.get_attribute("data-b")
        pair = pairs[frozenset((a, b))]
        for side, doc in (("a", a), ("b", b)) if pair["a"] == a else (("b", a), ("a", b)):
            pane = view.find_element(By.CSS_SELECTOR, f'.text[data-doc="{doc}"]')
            assert pane.get_attribute("textContent") == texts[doc]  # the whole text, unchanged
            marked: dict[int, str] = {}
            for mark in pane.find_elements(By.TAG_NAME, "mark"):
                start, end = int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))
                assert mark.get_attribute("textContent") == texts[doc][start:end]
                for i in range(start, end):
                    marked[i] = mark.get_attribute("class")
            expected: dict[int, str] = {}
            for ps in pair["passages"]:
                for i in range(ps[f"{side}_start"], ps[f"{side}_end"]):
                    if i not in expected or strength[ps["kind"]] > strength[expected[i]]:
                        expected[i] = ps["kind"]
            assert marked == {i: css[k] for i, k in expected.items()}
        rows = view.find_elements(By.CSS_SELECTOR, "table.aligned tr.passage")
        assert rows and all(len(r.find_elements(By.TAG_NAME, "mark")) == 2 for r in rows)


def test_clicking_an_aligned_passage_brings_it_into_view_on_both_sides(page: Any) -> None:
    from selenium.webdriver.common.by import By

    view = page.find_element(By.CSS_SELECTOR, 'details.pair[data-a="harbour-wire"][data-b="metro-news"]')
    page.execute_script("arguments[0].open = true; arguments[0].scrollIntoView()", view)
    # Short panes, as long articles give, so the last passage starts out of view.
    for pane in view.find_elements(By.CSS_SELECTOR, ".text"):
        page.execute_script("arguments[0].style.maxHeight = '4em'; arguments[0].scrollTop = 0", pane)
    row = view.find_elements(By.CSS_SELECTOR, "table.aligned tr.passage")[-1]
    row.click()
    wanted = set(row.get_attribute("data-passages").split())
    for pane in view.find_elements(By.CSS_SELECTOR, ".text"):
        mark = next(
            m for m in pane.find_elements(By.CSS_SELECTOR, "mark[data-passages]")
            if wanted & set(m.get_attribute("data-passages").split())
        )  # fmt: skip
        box, seen = mark.rect, pane.rect
        assert seen["y"] <= box["y"] < seen["y"] + seen["height"]


def test_a_screenshot_of_the_report(page: Any, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    page.execute_script("window.scrollTo(0, 0)")
    assert page.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_markup_in_articles_is_shown_as_text(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    hostile = "<img src=x onerror=\"document.title='owned'\"> & <b>bold</b>"
    rows = [
        {
            "id": "a<b>",
            "title": hostile,
            "outlet": "<i>Wire</i>",
            "text": f"{hostile} Dock workers walked out.",
        },
        {"id": "b", "text": "An unrelated text about a cycling lane by the river in Brennmoor."},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert main(["analyze", str(source), "--format", "html", "--out", str(out), "-q", "--model", "none"]) == 0
    browser.get(out.as_uri())
    assert browser.find_elements(By.TAG_NAME, "img") == [] and browser.find_elements(By.TAG_NAME, "b") == []
    assert browser.title != "owned"
    assert "<i>Wire</i>" in browser.find_element(By.CSS_SELECTOR, "table.articles").text
