"""Tests of dedup.attribution: outlets an article names as its source."""

from __future__ import annotations

import pytest

from dedup.attribution import Citation, canonical_outlet, find_citations

WSJ = "The Wall Street Journal"


def _check_evidence(text: str, citations: list[Citation]) -> None:
    for c in citations:
        assert 0 <= c.start < c.end <= len(text)
        assert c.evidence == text[c.start : c.end]


@pytest.mark.parametrize(
    ("text", "name", "evidence"),
    [
        (
            "Bloomberg reported Thursday that the merger talks had collapsed.",
            "Bloomberg",
            "Bloomberg reported",
        ),
        ("The merger talks collapsed, according to the WSJ.", WSJ, "according to the WSJ"),
        ("Shares fell sharply after a report from Reuters on Monday.", "Reuters", "report from Reuters"),
        ("Oil prices climbed, citing Bloomberg data on stockpiles.", "Bloomberg", "citing Bloomberg"),
        ("The deal is off, an aide was quoted by Reuters as saying.", "Reuters", "quoted by Reuters"),
        ("According to AP, the vote failed by two.", "The Associated Press", "According to AP"),
        ("The Guardian's investigation found no wrongdoing.", "The Guardian", "The Guardian's investigation"),
        (
            "The New York Times first reported the plan last week.",
            "The New York Times",
            "The New York Times first reported",
        ),
        ("A minister told NBC News on Sunday that the plan stands.", "NBC News", "told NBC News"),
        ("Central bank holds rates steady: WSJ", WSJ, ": WSJ"),
    ],
)
def test_single_citation(text: str, name: str, evidence: str) -> None:
    citations = find_citations(text)
    assert [(c.name, c.evidence) for c in citations] == [(name, evidence)]
    _check_evidence(text, citations)
    assert citations[0].start == text.index(evidence)


def test_told_the_journal_needs_the_full_name_in_the_text() -> None:
    alone = "The talks have stalled, a senior aide told the Journal on Wednesday."
    assert find_citations(alone) == []

    with_name = "The Wall Street Journal has covered the talks. " + alone
    citations = find_citations(with_name)
    assert [(c.name, c.evidence) for c in citations] == [(WSJ, "told the Journal")]
    _check_evidence(with_name, citations)

    with_short = "The WSJ has covered the talks. " + alone
    assert [(c.name, c.evidence) for c in find_citations(with_short)] == [(WSJ, "told the Journal")]


def test_corpus_outlet_is_recognised_only_when_passed() -> None:
    text = "The mayor told the Example Gazette that the vote would be delayed."
    assert find_citations(text) == []
    citations = find_citations(text, outlets=["Example Gazette"])
    assert [(c.name, c.evidence) for c in citations] == [("Example Gazette", "told the Example Gazette")]
    _check_evidence(text, citations)

    after = "The Example Gazette reported on Friday that the vote was delayed."
    assert [(c.name, c.evidence) for c in find_citations(after, outlets=["Example Gazette"])] == [
        ("Example Gazette", "The Example Gazette reported")
    ]


def test_one_entry_per_outlet_in_order_of_first_citation() -> None:
    text = (
        "Reuters reported the sale on Monday. Bloomberg News said the price was higher. "
        "An executive later told Reuters the sale was final."
    )
    citations = find_citations(text)
    assert [c.name for c in citations] == ["Reuters", "Bloomberg"]
    assert citations[0].evidence == "Reuters reported"
    assert citations[1].evidence == "Bloomberg News said"
    assert citations[0].start < citations[1].start
    _check_evidence(text, citations)


def test_prose_citation_beats_an_earlier_headline_credit() -> None:
    text = "Central bank holds rates: WSJ\nThe bank kept rates unchanged, according to the WSJ."
    citations = find_citations(text)
    assert [(c.name, c.evidence) for c in citations] == [(WSJ, "according to the WSJ")]
    _check_evidence(text, citations)


@pytest.mark.parametrize(
    "text",
    [
        "A clerk at the post office said the parcels would be late.",
        "Officials said the road would reopen next week.",
        "John Smith said the road would reopen next week.",
        "The Post reported the story first.",  # "the Post" alone is ambiguous
        "The Times said nothing about it.",
        "a report from reuters said so",  # names must keep their capitals
        "the ap said the vote failed",  # all-caps short forms must be all caps
        "Reuters is a news agency based in London.",  # a name with no reporting cue
        "",
    ],
)
def test_no_citation(text: str) -> None:
    assert find_citations(text) == []


def test_person_named_hill_is_not_the_hill() -> None:
    assert find_citations("Committee chair Jane Hill said the vote would be held on Friday.") == []


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("WSJ", WSJ),
        ("wsj", WSJ),
        ("the Wall Street Journal", WSJ),
        ("Wall Street Journal", WSJ),
        ("  The Wall Street Journal ", WSJ),
        ("AP", "The Associated Press"),
        ("Guardian", "The Guardian"),
        ("the Guardian", "The Guardian"),
        ("Bloomberg News", "Bloomberg"),
        ("  Example Gazette ", "Example Gazette"),
        ("The Example Gazette", "The Example Gazette"),
    ],
)
def test_canonical_outlet(name: str, canonical: str) -> None:
    assert canonical_outlet(name) == canonical


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Reuters broke the story on Monday, and ministers confirmed it hours later.", "Reuters"),
        ("The merger, as first reported in the Financial Times, was approved.", "Financial Times"),
        ("Dec. 24 4:33 AM EST Interfax reported on Friday that the talks had ended.", "Interfax"),
        ("Bloomberg was the first to report the deal.", "Bloomberg"),
    ],
)
def test_more_ways_of_naming_a_source(text: str, name: str) -> None:
    assert [c.name for c in find_citations(text)] == [name]
