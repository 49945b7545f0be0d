"""Tests of dedup.attribution: outlets an article names as its source."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # A name unlike a news organisation's, in a weak context: found only as a corpus outlet.
    text = "The mayor told Lanternfly that the vote would be delayed."
    assert find_citations(text) == []
    citations = find_citations(text, outlets=["Lanternfly"])
    assert [(c.name, c.evidence) for c in citations] == [("Lanternfly", "told Lanternfly")]
    _check_evidence(text, citations)

    after = "Lanternfly reported on Friday that the vote was delayed."
    assert find_citations(after) == []
    assert [(c.name, c.evidence) for c in find_citations(after, outlets=["Lanternfly"])] == [
        ("Lanternfly", "Lanternfly reported")
    ]


def test_corpus_outlet_named_like_a_newspaper_is_one_source_either_way() -> None:
    text = "The mayor told the Example Gazette that the vote would be delayed."
    expected = [("Example Gazette", "told the Example Gazette")]
    assert [(c.name, c.evidence) for c in find_citations(text)] == expected
    assert [(c.name, c.evidence) for c in find_citations(text, outlets=["Example Gazette"])] == expected


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


# ------------------------------------------------------------------------------------------------
# Outlets not in the table (every name below is invented)


@pytest.mark.parametrize(
    ("text", "name", "evidence"),
    [
        (
            "The mill will close, citing a report by the Saltmarsh Beacon.",
            "Saltmarsh Beacon",
            "citing a report by the Saltmarsh Beacon",
        ),
        (
            "The mill will close, citing a report in the Saltmarsh Beacon.",
            "Saltmarsh Beacon",
            "citing a report in the Saltmarsh Beacon",
        ),
        (
            "The mill will close, citing an article from the Saltmarsh Beacon.",
            "Saltmarsh Beacon",
            "citing an article from the Saltmarsh Beacon",
        ),
        (
            "As reported in the Tidewater Lantern, the mill will close.",
            "Tidewater Lantern",
            "As reported in the Tidewater Lantern",
        ),
        (
            "The mill, as first reported by the Tidewater Lantern, will close.",
            "Tidewater Lantern",
            "as first reported by the Tidewater Lantern",
        ),
        (
            "The Ashgrove Bugle first reported the closure on Tuesday.",
            "Ashgrove Bugle",
            "The Ashgrove Bugle first reported",
        ),
        (
            "The Ashgrove Bugle reported on Tuesday that the mill would close.",
            "Ashgrove Bugle",
            "The Ashgrove Bugle reported",
        ),
        ("The Quillmark broke the story in March.", "Quillmark", "The Quillmark broke the story"),
        ("The Quillmark broke the news on Sunday.", "Quillmark", "The Quillmark broke the news"),
        (
            "The Harrowgate Crier's investigation found that the mill had lost money.",
            "Harrowgate Crier",
            "The Harrowgate Crier's investigation",
        ),
        (
            "The mill lost money, the Harrowgate Crier\u2019s report said.",
            "Harrowgate Crier",
            "the Harrowgate Crier\u2019s report",
        ),
        (
            "The mill will close, according to a report published in the Vellum.",
            "Vellum",
            "according to a report published in the Vellum",
        ),
        (
            "The Saltmarsh Beacon was the first to report the closure.",
            "Saltmarsh Beacon",
            "The Saltmarsh Beacon was the first to report",
        ),
        # A lowercase descriptor says what the name is, whatever it is called.
        (
            "The mill will close, according to the business daily Kettlebrook.",
            "Kettlebrook",
            "according to the business daily Kettlebrook",
        ),
    ],
)
def test_unknown_outlet_in_a_strong_context(text: str, name: str, evidence: str) -> None:
    """Contexts only publications take: the name need not look like a news organisation's."""
    citations = find_citations(text)
    assert [(c.name, c.evidence) for c in citations] == [(name, evidence)]
    _check_evidence(text, citations)


@pytest.mark.parametrize(
    ("with_media_word", "without"),
    [
        (
            "The mill will close, according to the Osprey Point Gazette.",
            "The mill will close, according to the Saltmarsh Beacon.",
        ),
        (
            "The mill will close, the Osprey Point Gazette reported.",
            "The mill will close, the Saltmarsh Beacon reported.",
        ),
        (
            "The owner told the Osprey Point Gazette that the mill will close.",
            "The owner told the Saltmarsh Beacon that the mill will close.",
        ),
        (
            "The Osprey Point Gazette said the mill will close.",
            "The Saltmarsh Beacon said the mill will close.",
        ),
        # Persons are interviewed more often than newspapers: "interview with" is a weak context.
        (
            "The owner said in an interview with the Osprey Point Gazette that the mill will close.",
            "The owner said in an interview with the Saltmarsh Beacon that the mill will close.",
        ),
    ],
)
def test_unknown_outlet_in_a_weak_context_needs_a_media_word(with_media_word: str, without: str) -> None:
    citations = find_citations(with_media_word)
    assert [c.name for c in citations] == ["Osprey Point Gazette"]
    _check_evidence(with_media_word, citations)
    assert find_citations(without) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The mill will close, the Times of Gozo reported.", "Times of Gozo"),  # the head is "Times"
        ("Harlow Valley Radio said the mill will close.", "Harlow Valley Radio"),
        ("Radio Free Tundra reported that the mill will close.", "Radio Free Tundra"),
        ("The mill will close, according to Dunmore News Service.", "Dunmore News Service"),
        ("The Fenwick Post-Dispatch said the mill will close.", "Fenwick Post-Dispatch"),
        ("The owner told KQRX-TV that the mill will close.", "KQRX-TV"),
        ("WQPL reported that the mill will close.", "WQPL"),
        ("The owner told the state news agency QNRA that the mill will close.", "QNRA"),
        ("According to the Sunday Clarion, the mill will close.", "Sunday Clarion"),
        ("The owner told the Halden-based Fjordline TV that the mill will close.", "Fjordline TV"),
    ],
)
def test_names_of_news_organisations(text: str, name: str) -> None:
    citations = find_citations(text)
    assert [c.name for c in citations] == [name]
    _check_evidence(text, citations)


@pytest.mark.parametrize(
    "text",
    [
        # persons
        "According to John Smith, the road will reopen.",
        "Smith told reporters the road would reopen.",
        "Michael Bloomberg said the city would appeal.",
        "Senator Jane Post said the bill would pass.",
        "The airline's spokesman Jimmy Sun said flights would resume.",
        "Jimmy Sun reported the theft to police. Sun said nothing was taken.",
        "Jane Mayer first reported the story.",
        "In an interview with Pope Francis, the reporter asked about the war.",
        "The White House Press Secretary said the trip was off.",
        # officials, police, ministries, legislatures, international bodies
        "The road will reopen, according to police.",
        "The Interior Ministry said the road would reopen.",
        "The road will reopen, according to the United Nations.",
        "The minister told the Senate the road would reopen.",
        "The Cook County Medical Examiner said the death was accidental.",
        # government agencies are sources of facts, not news outlets, in any context
        "The National Weather Service said the storm would weaken.",
        "The Environmental Protection Agency said the plant broke no rules.",
        "The plant broke no rules, according to a report by the Environmental Protection Agency.",
        "The Commerce Department reported on Friday that retail sales rose.",
        "The Labor Department's report said payrolls rose.",
        "The FBI's investigation found no wrongdoing.",
        "The Pentagon's report said the strike was lawful.",
        # companies, groups, places, peoples
        "Google's report found that usage rose.",
        "Royal Mail said deliveries would be late.",
        "American Express said spending rose.",
        "Reporters Without Borders said two journalists were detained.",
        "The road will reopen, according to the Oxford University Press.",
        "China reported on Monday that cases had fallen.",
        "The outbreak, as first reported in the Philippines, spread quickly.",
        "The French first reported the outbreak.",
        "The Houthis broke the news on their channel.",
        # a bare media word is ambiguous
        "The Clarion reported that the mill will close.",
    ],
)
def test_no_unknown_outlet(text: str) -> None:
    assert find_citations(text) == []


def test_unknown_outlet_is_one_source_with_or_without_the() -> None:
    text = (
        "The Osprey Point Gazette reported the closure on Monday. "
        "Workers later told the Osprey Point Gazette they had not been warned."
    )
    citations = find_citations(text)
    assert [(c.name, c.evidence) for c in citations] == [
        ("Osprey Point Gazette", "The Osprey Point Gazette reported")
    ]
    other = "Workers told Osprey Point Gazette they had not been warned."
    assert [c.name for c in find_citations(other)] == ["Osprey Point Gazette"]


def test_corpus_outlet_with_the_keeps_its_name() -> None:
    text = "As first reported in the Example Gazette, the vote was delayed."
    assert [c.name for c in find_citations(text, outlets=["The Example Gazette"])] == ["The Example Gazette"]


def test_table_outlet_wins_over_a_longer_unknown_name() -> None:
    text = "The minister told Fox News Digital that talks had failed."
    assert [(c.name, c.evidence) for c in find_citations(text)] == [("Fox News", "told Fox News")]


def test_sentence_start_before_a_table_name() -> None:
    assert [c.name for c in find_citations("Yesterday Bloomberg reported that talks had failed.")] == [
        "Bloomberg"
    ]
    assert find_citations("Michael Bloomberg said talks had failed.") == []


def test_only_the_first_of_two_outlets_joined_by_and() -> None:
    text = "The mill will close, according to the Osprey Point Gazette and the Saltmarsh Beacon."
    citations = find_citations(text)
    assert [(c.name, c.evidence) for c in citations] == [
        ("Osprey Point Gazette", "according to the Osprey Point Gazette")
    ]
    _check_evidence(text, citations)


_FRAGMENTS = [
    "according to ", "the ", "The ", "told ", " reported", " said", "'s report", "\u2019s ", " broke the story",
    "citing a report by ", "as first reported in ", " was the first to report", " that ", "Osprey ", "Point ",
    "Gazette", "News ", "Service", "Radio", "Times of ", "KQRX-TV", "Reuters", "WSJ", "Mr. ", "Sun", "U.S. ",
    "St. ", "Channel 4", " and ", " of ", "Monday", ", ", ". ", "\n", "\n\n", ": ", "\u201c", " ", "x",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=6)), max_size=40),
    st.lists(st.sampled_from(["Osprey Gazette", "The Example Post", "Lanternfly"]), max_size=2),
)
def test_find_citations_never_raises_and_evidence_slices_the_text(
    parts: list[str], outlets: list[str]
) -> None:
    text = "".join(parts)
    citations = find_citations(text, outlets)
    _check_evidence(text, citations)
    names = [c.name for c in citations]
    assert len(names) == len(set(names))
    assert [c.start for c in citations] == sorted(c.start for c in citations)
