"""Attribution cues: which outlets an article names as its source.

"The Wall Street Journal reported", "according to the WSJ", "told the
Journal", "a report from Reuters": news copy names where it got its facts.
Names are matched against a table of well-known outlets (with their short
forms) plus the outlets of the articles being analysed, and a citation counts
only when a reporting cue stands next to the name.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from dedup.segment import split_sentences

__all__ = ["Citation", "canonical_outlet", "find_citations"]


# Canonical name -> aliases. Aliases that are ambiguous on their own ("the Journal") are listed in
# _CONTEXT_ALIASES and count only when the full name also appears in the article.
_OUTLETS: dict[str, tuple[str, ...]] = {
    "The Wall Street Journal": ("Wall Street Journal", "WSJ"),
    "The New York Times": ("New York Times", "NYT", "NY Times"),
    "The Washington Post": ("Washington Post", "WaPo"),
    "Reuters": ("Reuters", "Thomson Reuters"),
    "The Associated Press": ("Associated Press", "AP"),
    "Agence France-Presse": ("Agence France-Presse", "Agence France Presse", "AFP"),
    "Bloomberg": ("Bloomberg", "Bloomberg News"),
    "BBC": ("BBC", "BBC News"),
    "CNN": ("CNN",),
    "Fox News": ("Fox News",),
    "NBC News": ("NBC News", "NBC"),
    "CBS News": ("CBS News", "CBS"),
    "ABC News": ("ABC News",),
    "NPR": ("NPR",),
    "Axios": ("Axios",),
    "Politico": ("Politico",),
    "The Guardian": ("Guardian",),
    "Financial Times": ("Financial Times", "FT"),
    "The Economist": ("Economist",),
    "Al Jazeera": ("Al Jazeera", "Al-Jazeera"),
    "Al Arabiya": ("Al Arabiya", "Al-Arabiya"),
    "Haaretz": ("Haaretz",),
    "The Times of Israel": ("Times of Israel",),
    "The Jerusalem Post": ("Jerusalem Post",),
    "Le Monde": ("Le Monde",),
    "Der Spiegel": ("Der Spiegel", "Spiegel"),
    "Xinhua": ("Xinhua",),
    "TASS": ("TASS",),
    "Kyodo News": ("Kyodo",),
    "Yonhap": ("Yonhap",),
    "USA Today": ("USA Today",),
    "Los Angeles Times": ("Los Angeles Times", "LA Times"),
    "The Telegraph": ("Telegraph",),
    "The Independent": ("Independent",),
    "Sky News": ("Sky News",),
    "Daily Mail": ("Daily Mail",),
    "Business Insider": ("Business Insider",),
    "The Hill": ("The Hill",),
    "ProPublica": ("ProPublica",),
    "The Atlantic": ("The Atlantic",),
    "Newsweek": ("Newsweek",),
    "Forbes": ("Forbes",),
    "CNBC": ("CNBC",),
    "MSNBC": ("MSNBC",),
    "Anadolu Agency": ("Anadolu Agency", "Anadolu"),
    "Interfax": ("Interfax",),
    "dpa": ("Deutsche Presse-Agentur", "dpa"),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "South China Morning Post": ("South China Morning Post", "SCMP"),
    "The Intercept": ("The Intercept",),
    "Semafor": ("Semafor",),
    "Daily Caller": ("Daily Caller",),
}
_CONTEXT_ALIASES: dict[str, str] = {
    "Journal": "The Wall Street Journal",
    "Times": "The New York Times",
    "Post": "The Washington Post",
}
# Words that may stand between a name and its verb: "Reuters on Thursday reported".
_BETWEEN = (
    r"(?:\s+(?:on|late|early|last|this|earlier|today|yesterday|tonight|exclusively|first|also|previously|"
    r"originally|has|had|have|[A-Z][a-z]+day)){0,3}"
)
_CUE_AFTER = (
    r"(?:first\s+|originally\s+|previously\s+|also\s+|has\s+|had\s+|have\s+)?"
    r"(?:reported|reports|wrote|writes|said|says|revealed|reveals|confirmed|confirms|"
    r"cited|published|noted|learned|disclosed|added|quoted|broke\s+the\s+(?:story|news)|"
    r"was\s+(?:the\s+)?first\s+to\s+report)\b"
)
_CUE_BEFORE = (
    r"(?:according\s+to|told|telling|cited\s+by|quoted\s+by|citing|via|per|"
    r"(?:first\s+|originally\s+|previously\s+)?reported\s+(?:by|in|on)|"
    r"(?:report|story|article|interview|investigation|analysis|reporting)"
    r"(?:\s+(?:published|released|aired|first\s+published))?\s+(?:by|from|in|with|on))"
    r"(?:\s+(?:a|an)\s+(?:\w+\s+){0,3}?(?:report|story|article)(?:\s+(?:published|released))?\s+(?:by|from|in))?"
)


# ------------------------------------------------------------------------------------------------
# Outlets not in the table
#
# A name dedup has never heard of ("according to the Prairie State Wire") counts as an outlet when
# the words around it are ones only publications take ("citing a report in X", "as first reported by
# X", "X broke the story", "X's investigation found": strong contexts), or when it is named like a
# news organisation ("... Wire", "... Gazette", "... News Service", "the daily X") and stands in any
# reporting context ("according to X", "told X", "X said"). Persons, institutions, companies and
# places are turned away: by their titles, by the head word of the name ("Ministry", "Agency",
# "Service", "Department"), by being called by their surname elsewhere in the text ("Sun said").
# A government agency is never an outlet, whatever the context: "the National Weather Service said"
# and "citing a report by the Environmental Protection Agency" name sources of facts, not of news.

# Words a news organisation's name ends with (or whose head, before "of", is one: "the Times of
# Malta"). A name that is only one of them ("the Post", "the Times") is ambiguous and never counts.
_MEDIA_WORDS = frozenset(
    """News Newswire Wire Newspaper Newsletter Press Presse Times Post Journal Herald Gazette Tribune
    Chronicle Courier Kurier Telegraph Telegram Observer Guardian Independent Daily Weekly Monthly
    Quarterly Review Mail Star Sun Globe Voice Radio TV Television Broadcasting Broadcast Channel Media
    Bulletin Dispatch Ledger Sentinel Examiner Register Mercury Monitor Standard Express Record
    Inquirer Enquirer Magazine Digest Reporter Recorder Statesman Spectator Argus Advertiser Clarion
    Picayune Online Today Zeitung Tageblatt Tagblatt Rundschau Nachrichten Diario Gazzetta Gazeta
    Corriere Noticias Nouvelles Hebdo Pravda Izvestia Dagblad Dagbladet Posten Tidende""".split()
)
# Words that make a name a news organisation wherever they stand in it ("Radio Free Asia", "Sky News
# Arabia", "U.S. News & World Report"), unless its head says otherwise ("Ministry of Information and
# Broadcasting").
_MEDIA_ANYWHERE = frozenset("News Newswire Radio Television TV Broadcasting Daily".split())
# Head words that are a news organisation only right after a media word: "Meadowland News Service"
# and "Press Association" are, "the National Weather Service" and "the Environmental Protection
# Agency" are not.
_MEDIA_HEADS: dict[str, frozenset[str]] = {
    "Service": frozenset("News Wire Newswire Broadcasting Radio Television World".split()),
    "Agency": frozenset("News Press Newswire".split()),
    "Association": frozenset(["Press"]),
    "Trust": frozenset(["Press"]),
    "Network": frozenset("News Radio Television TV Broadcasting Media".split()),
    "Corporation": frozenset("Broadcasting Television".split()),
    "Company": frozenset("Broadcasting Television".split()),
    "System": frozenset("Broadcasting Television".split()),
    "Syndicate": frozenset("News Press Media".split()),
    "Group": frozenset(),
}
# Heads of the names of institutions, companies and groups of people: never an outlet.
_INSTITUTION_WORDS = frozenset(
    """Ministry Minister Department Dept Office Police Bureau Commission Committee Council Court Courts
    Senate Congress Parliament Assembly Government Administration Authority Authorities Board
    Institute Institution University College School Academy Organization Organisation Association
    Federation Foundation Center Centre Bank Fund Union Nations Party Army Navy Force Forces Corps
    Command Guard Patrol Agency Service Services Survey Embassy Consulate Mission Cabinet Kremlin
    Pentagon Treasury Fed Reserve Exchange Hospital Clinic Church Diocese Society Observatory
    Laboratory Laboratories Lab Labs Watch International Coalition Alliance League Club Team Trust
    Directorate Secretariat Staff Prosecutor Prosecutors Attorney Attorneys Inspector General
    Secretary Spokesman Spokeswoman Spokesperson Company Co Corp Corporation Inc Ltd LLC Plc PLC Group
    Holdings Partners Capital Management Research Statistics Census Cross Crescent Vatican Taliban
    Hamas Hezbollah Marines Military Municipality Prefecture Tribunal Jury Panel Network System
    Systems Palace Capitol Crown Duma Knesset Bundestag Politburo Sheriff Sheriffs Coroner Airlines
    Airways Motors Technologies Industries Institutes Ministries Departments Offices Commissioners""".split()
)
# "Royal Mail" is a postal service and "the Medical Examiner" a coroner: a media word after these is
# not a newspaper's name.
_NOT_MEDIA_BEFORE: dict[str, frozenset[str]] = {
    "Post": frozenset(
        "Canada Deutsche Swiss Australia An Royal Military Border Observation Trading Command Police".split()
    ),
    "Mail": frozenset("Royal Electronic Voice".split()),
    "Express": frozenset("American Federal Orient Airport".split()),
    "Examiner": frozenset("Medical Patent Bank Chief".split()),
    "Register": frozenset("Federal National Electoral Voter Land Company Companies Official Public".split()),
    "Record": frozenset("Congressional Public Criminal Court Official World Track Medical".split()),
    "Review": frozenset(
        """Defense Defence Posture Spending Budget Judicial Strategic Peer Annual Security Safety Program
        Programme Performance Internal External Periodic Independent Case Policy""".split()
    ),
    "Standard": frozenset("Gold International Accounting Industry Double Safety Emission Emissions".split()),
    "Star": frozenset("All Gold Silver Bronze Lone Rising North Pole Death Michelin Four Five Three".split()),
    "Sun": frozenset("Rising Midnight".split()),
    "Observer": frozenset("Election Military Independent UN Permanent".split()),
    "Monitor": frozenset("Election Ceasefire Independent Rights".split()),
    "Channel": frozenset("English Bristol North Suez".split()),
    "Dispatch": frozenset("Emergency Police Fire".split()),
    "Bulletin": frozenset("Weather Police Security Health Official".split()),
    "Courier": frozenset("Diplomatic Drug".split()),
    "Press": frozenset("University Bench".split()),
    "Gazette": frozenset("Official Government Federal".split()),
    "Guardian": frozenset("Legal".split()),
    "Times": frozenset("End Modern Hard".split()),
    "Wire": frozenset("Barbed".split()),
    "News": frozenset("Fake Good Bad Breaking".split()),
}
# Broadcasters' call signs ("WXYZ", "KSL-TV") and television acronyms ("CCTV", "NTV").
_CALL_SIGN = re.compile(r"[KW][A-Z]{3}(?:-(?:TV|FM|AM|DT))?|[KW][A-Z]{2}-(?:TV|FM|AM|DT)|[A-Z]{1,4}TV")
_NOT_CALL_SIGNS = frozenset("KPMG WIPO WADA KFOR WWII WMATA WHOI".split())
# A lowercase word before a name that says it is a news organisation: "the Russian daily X".
_DESCRIPTOR = (
    r"(?:newspaper|daily|weekly|tabloid|magazine|broadcaster|newswire|"
    r"news\s+(?:agency|site|website|outlet|portal|service|channel|network|wire)|"
    r"(?:television|TV|radio)\s+(?:station|channel|network)|wire\s+service)"
)
# Titles that start a person's name or an office: "President Obama", "Police Chief Smith".
_TITLES = frozenset(
    """Mr Mrs Ms Miss Dr Prof Professor Sen Senator Rep Representative Congressman Congresswoman Gov
    Governor Mayor President Vice Minister Premier Judge Justice Pope King Queen Prince Princess
    Sheikh Chancellor Chairman Chairwoman Chair Secretary Director Commissioner Ambassador Officer
    Detective Sheriff Chief Coach Gen General Col Colonel Capt Captain Lt Lieutenant Sgt Sergeant Adm
    Admiral Rev Reverend Father Sister Brother Lord Lady Sir Dame Attorney Prosecutor Spokesman
    Spokeswoman Spokesperson Deputy Acting Rabbi Imam Bishop Cardinal Archbishop Speaker Leader
    Inspector Agent Trooper Constable Superintendent Dean Councilman Councilwoman Councillor Saint St
    Police""".split()
)
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sen|Rep|Gov|Gen|Col|Capt|Lt|Sgt|Adm|Rev|Hon)\.?\s*$")
# A lowercase word right before a name that makes it a person: "spokesman Jimmy Sun said".
_ROLE_BEFORE = re.compile(
    r"\b(?:\w+(?:man|woman|person|ist|ian)|analyst|director|official|executive|officer|editor|reporter|"
    r"correspondent|writer|author|founder|owner|president|minister|secretary|senator|lawmaker|governor|"
    r"mayor|judge|lawyer|attorney|professor|researcher|expert|adviser|advisor|aide|chief|head|leader|"
    r"manager|coach|player|actor|singer|witness|resident|neighbou?r|friend|wife|husband|son|daughter|"
    r"mother|father|brother|sister|victim|suspect|detective|sergeant|colonel|general|captain|commander|"
    r"deputy|candidate|chair|trader|investor|partner|producer|host|anchor|star|fan|student|teacher|"
    r"doctor|nurse|worker|employee|owner|CEO|chef)\s*$"
)
# Head words of places: "the United States", "the Gulf Coast", "the Netherlands".
_PLACE_WORDS = frozenset(
    """States Kingdom Republic Emirates Islands Island Coast Valley Bay East West North South Region
    County Province State City Strait Straits Sea Ocean Gulf Mountains River Lake Desert Peninsula
    Basin Delta Territory Territories Netherlands Philippines Bahamas Gambia Congo Sudan Caribbean
    Balkans Baltics Midwest Americas Arctic Antarctic Antarctica Alps Himalayas Bronx Hague Ukraine
    Crimea Levant Sahara Sahel Riviera Highlands Plains Hills Heights Square Street Avenue Road Strip
    Border Front Union Isles Lowlands Andes Amazon""".split()
)
# Words a name does not start with (it started earlier in the sentence) or end with.
_LEADING_NOISE = frozenset(
    """A An And But Or So Yet Nor On In At By For From To With As After Before When While Since
    Meanwhile However Also Still Now Then Today Yesterday Tonight Earlier Later Last This That These
    Those Separately Elsewhere Overnight Instead Indeed Moreover Furthermore Although Though If
    Because Where Whereas Why How What Which Who Asked Speaking Updated Update Breaking Exclusive
    Photo Video Watch Read Source Sources Here There Both Even Only Just Already Again Once Recently
    Previously Initially Finally AM PM EST EDT CST CDT MST MDT PST PDT GMT UTC BST CET CEST ET PT""".split()
)
_DATE_WORDS = frozenset(
    """Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    AM PM EST EDT CST CDT MST MDT PST PDT GMT UTC BST CET CEST ET PT""".split()
)
# Words that describe what follows them: "Hong Kong-based Phoenix TV".
_DESCRIBED_SUFFIXES = tuple("-based -owned -run -funded -backed -affiliated -controlled -linked".split())
_CONNECTORS = frozenset("of and & de du des del der di da".split())
_HEAD_CONNECTORS = frozenset("of de du des del der di da".split())

_SEP = r"[^\S\n]+"
_WORD = (
    r"(?:(?:St|Ft|Mt)\.|[A-Z](?:\.[A-Z])+\.?|(?<=Channel )\d{1,2}\b|"
    r"[A-ZÀ-ÖØ-Þ]\w*(?:[-'’](?!s\b)\w+)*)"
)
_NAME = rf"(?:[Tt]he{_SEP})?{_WORD}(?:{_SEP}(?:(?:of|and|&|de|du|des|del|der|di|da){_SEP})?{_WORD}){{0,7}}"
_STRONG_BEFORE = (
    r"as\s+(?:first\s+|originally\s+|previously\s+|earlier\s+)?reported\s+(?:in|by)"
    r"|first\s+reported\s+by"
    r"|(?:citing|according\s+to|in)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:report|story|article|investigation|expos[eé])s?"
    r"(?:\s+(?:published|released|aired|posted|broadcast|first\s+published))?\s+(?:in|by|from)"
)
_UNKNOWN_BEFORE = re.compile(
    rf"(?<![\w-])(?:(?P<strong>(?i:{_STRONG_BEFORE}))|(?i:{_CUE_BEFORE})){_SEP}"
    rf"(?P<desc>(?:(?:the|a|an){_SEP}(?:[\w-]+{_SEP}){{0,3}}?)?{_DESCRIPTOR}{_SEP})?"
    rf"(?P<full>{_NAME})"
)
_UNKNOWN_AFTER = re.compile(rf"(?<![\w-])(?P<full>{_NAME}){_BETWEEN}\s+(?P<cue>{_CUE_AFTER})")
_UNKNOWN_POSSESSIVE = re.compile(
    rf"(?<![\w-])(?P<full>{_NAME})['’]s{_SEP}(?:report|reporting|story|article|investigation)\b"
)
_STRONG_AFTER = re.compile(
    r"\b(?:(?:first|originally)\s+(?:reported|reports|revealed|disclosed|published)|"
    r"broke\s+the\s+(?:story|news)|first\s+to\s+report)\b"
)
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_REPORTED_THAT = re.compile(
    rf"(?:\s+(?:on\s+)?(?:{_DAY}|today|yesterday|earlier|late\s+\w+|last\s+\w+|this\s+\w+))?\s+that\b"
)
_SPEAKS = re.compile(r"[^\S\n]+(?:said|says|told|added|explained|noted|wrote|argued|insisted|stated)\b")
_DESCRIPTOR_BEFORE = re.compile(rf"\b{_DESCRIPTOR}{_SEP}$")
# Cheap tests for a sentence that may cite an unknown outlet, as substrings (``in`` is much faster
# than a regular expression of the same words): a media word (capitalised), the lowercase words of
# the strong contexts and of the descriptors ("the daily"), or a call sign.
_MEDIA_HINTS = _MEDIA_WORDS | _MEDIA_ANYWHERE
_CONTEXT_HINTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("report", "reports", "reported", "reporting"), ("report",)),
    **dict.fromkeys(("article", "articles"), ("article",)),
    **dict.fromkeys(("investigation", "investigations"), ("investigation",)),
    **dict.fromkeys(("expose", "exposé"), ("expos",)),
    **{w: (w,) for w in ("broke", "story", "stories", "newspaper", "tabloid", "magazine", "broadcaster")},
    **{w: (w + " ",) for w in ("daily", "weekly", "newswire", "television", "radio")},
    "news": tuple(
        "news " + w for w in "agency site website outlet portal service channel network wire".split()
    ),
    "wire": ("wire service",),
}


def _unknown_hints(text: str, words: set[str]) -> list[int]:
    """Sorted offsets in ``text`` of the substrings of which a sentence must hold one to be searched
    for unknown outlets; ``words`` are the text's words."""
    hints = {h for w in words & _CONTEXT_HINTS.keys() for h in _CONTEXT_HINTS[w]}
    hints.update(words & _MEDIA_HINTS)
    for w in filter(str.isupper, words):
        if (len(w) in (3, 4) and w[0] in "KW") or (w.endswith("TV") and len(w) <= 6):
            hints.add(w)  # "WXYZ", "CCTV"
    offsets = []
    for h in hints:
        i = text.find(h)
        while i >= 0:
            offsets.append(i)
            i = text.find(h, i + 1)
    offsets.sort()
    return offsets


@dataclass(frozen=True, slots=True)
class Citation:
    """An outlet named as a source, with the text that names it and where that text is."""

    name: str
    evidence: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def canonical_outlet(name: str) -> str:
    """The canonical form of an outlet name: 'WSJ' and 'the Wall Street Journal' both give
    'The Wall Street Journal'; names not in the table are returned trimmed."""
    key = re.sub(r"^the\s+", "", name.strip(), flags=re.IGNORECASE).casefold()
    for canonical, aliases in _OUTLETS.items():
        names = (canonical, *aliases)
        if any(re.sub(r"^the\s+", "", n, flags=re.IGNORECASE).casefold() == key for n in names):
            return canonical
    return name.strip()


def _alias_table(extra: Iterable[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in _OUTLETS.items():
        for alias in (canonical, *aliases):
            table[alias] = canonical
    for name in extra:
        name = name.strip()
        if name:
            table.setdefault(re.sub(r"^[Tt]he\s+", "", name), canonical_outlet(name))
    return table


@lru_cache(maxsize=8)
def _outlet_tables(
    outlets: tuple[str, ...],
) -> tuple[dict[str, str], list[tuple[str, re.Pattern[str], str]]]:
    """The alias table for a set of extra outlet names, and each alias of the outlets that
    ``_CONTEXT_ALIASES`` name with a compiled pattern for it (only their presence is ever asked).
    Built once per set of outlets: the engine calls ``find_citations`` with the same set for every
    article."""
    table = _alias_table(outlets)
    needed = set(_CONTEXT_ALIASES.values())
    return table, [
        (alias, re.compile(rf"\b{re.escape(alias)}\b"), canonical)
        for alias, canonical in table.items()
        if canonical in needed
    ]


@lru_cache(maxsize=64)
def _name_keys(names_key: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The first word of each name (after a leading "the"), lower case. A citation pattern matches a
    name at a word boundary and ending at one, so its first word is a whole word of the text."""
    keys = set()
    for alias, _ in names_key:
        pieces = re.findall(r"\w+", alias.lower())
        if pieces:
            keys.add(pieces[1] if pieces[0] == "the" and len(pieces) > 1 else pieces[0])
    return frozenset(keys)


@lru_cache(maxsize=64)
def _citation_patterns(names_key: tuple[tuple[str, str], ...]) -> list[re.Pattern[str]]:
    names = dict(names_key)
    alternatives = "|".join(re.escape(a) for a in sorted(names, key=len, reverse=True))
    name_re = (
        rf"(?P<full>(?:[Tt]he\s+)?(?:U\.?S\.?\s+|American\s+|British\s+)?(?P<name>{alternatives}))(?![\w-])"
    )
    return [
        re.compile(rf"\b{_CUE_BEFORE}\s+{name_re}", re.IGNORECASE),
        re.compile(rf"(?<![\w-]){name_re}{_BETWEEN}\s+{_CUE_AFTER}"),
        re.compile(
            rf"(?<![\w-]){name_re}(?:'s|\u2019s)\s+(?:report|reporting|story|article|investigation)\b"
        ),
        re.compile(rf":\s*{name_re}\s*$", re.MULTILINE),  # a headline credit: "...: WSJ"
    ]


def find_citations(text: str, outlets: Iterable[str] = ()) -> list[Citation]:
    """Outlets ``text`` names as its source, in order of first citation, one entry per outlet.

    ``outlets`` adds names (the outlets of the other articles in the corpus) to the built-in table.
    Names in neither are found too, in the contexts described above ``_MEDIA_WORDS``; they are
    given without a leading "the" ("the Prairie State Wire" and "Prairie State Wire" are one source).
    """
    table, alias_patterns = _outlet_tables(tuple(sorted(set(outlets))))
    # Which outlets with a context alias ("the Journal") the text names in full: one search per
    # alias of those few outlets, not one per outlet in the table, and only where the alias is a
    # substring (a pattern starting with \b is searched at every position, ``in`` is not).
    present = {
        canonical for alias, pattern, canonical in alias_patterns if alias in text and pattern.search(text)
    }
    names = dict(table)
    for alias, canonical in _CONTEXT_ALIASES.items():
        if canonical in present:
            names.setdefault(alias, canonical)
    names_key = tuple(names.items())
    patterns = _citation_patterns(names_key)
    # Every pattern needs a name: only sentences with a name's first word (in any case) are searched.
    raw_words = set(re.findall(r"\w+", text))
    words = set(map(str.lower, raw_words))
    keys = _name_keys(names_key) & words
    named: list[tuple[int, int]] = []
    if keys:
        key_re = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(keys, key=len, reverse=True)))})\b", re.I)
        named = [(m.start(), m.end()) for m in key_re.finditer(text)]
    # Names not in the table: only sentences with a media word or the words of a context.
    hints = _unknown_hints(text, raw_words)
    if not named and not hints:
        return []
    found: dict[str, Citation] = {}
    previous_is_headline: dict[str, bool] = {}
    sentences = split_sentences(text)
    starts = [s.start for s in sentences]
    # The sentences holding a name's first word or a hint, by the offsets: not every sentence.
    known_at = {bisect.bisect_right(starts, p) - 1 for span in named for p in (span[0], span[1] - 1)}
    unknown_at = {bisect.bisect_right(starts, p) - 1 for p in hints}
    for i in sorted((known_at | unknown_at) - {-1}):
        sentence = sentences[i]
        known_here = i in known_at and _touches(named, sentence.start, sentence.end)
        k = bisect.bisect_left(hints, sentence.start)
        unknown_here = k < len(hints) and hints[k] < sentence.end
        if not known_here and not unknown_here:
            continue
        chunk = text[sentence.start : sentence.end]
        hits = []
        taken: list[tuple[int, int]] = []  # where the names of the table's outlets cited here stand
        for rank, pattern in enumerate(patterns if known_here else ()):
            for m in pattern.finditer(chunk):
                matched = _match_alias(m.group("name"), names)
                if matched is None or not _case_ok(m.group("name"), matched):
                    continue
                if _part_of_a_name(chunk, m.start("full")):
                    continue
                taken.append(m.span("full"))
                hits.append(
                    (
                        rank == len(patterns) - 1,
                        sentence.start + m.start(),
                        m.end() - m.start(),
                        names[matched],
                    )
                )
        if unknown_here:
            hits.extend(_unknown_hits(text, chunk, sentence.start, taken, names))
        for headline_only, start, length, canonical in hits:
            citation = Citation(canonical, text[start : start + length].strip(), start, start + length)
            previous = found.get(canonical)
            # Prose cues beat a headline credit; otherwise the first citation stands.
            if previous is None or (previous_is_headline.get(canonical, False) and not headline_only):
                found[canonical] = citation
                previous_is_headline[canonical] = headline_only
            elif not headline_only and start < previous.start and not previous_is_headline[canonical]:
                found[canonical] = citation
    return sorted(found.values(), key=lambda c: c.start)


def _touches(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether one of ``spans`` (sorted, not overlapping) overlaps [start, end)."""
    k = bisect.bisect_right(spans, (start, -1))
    return any(s < end and start < e for s, e in spans[max(k - 1, 0) : k + 1])


def _unknown_hits(
    text: str, chunk: str, offset: int, taken: list[tuple[int, int]], names: dict[str, str]
) -> list[tuple[bool, int, int, str]]:
    """Citations in the sentence ``chunk`` (at ``offset`` in ``text``) of outlets not in the table,
    as ``find_citations`` collects hits. Names overlapping ``taken`` (table outlets cited) are
    skipped: "told Fox News Digital" is Fox News. A name that is an alias in ``names`` after all
    gets its canonical form there ("The Example Gazette" for a corpus outlet so called)."""
    out: list[tuple[bool, int, int, str]] = []
    for kind, pattern in (
        ("before", _UNKNOWN_BEFORE),
        ("after", _UNKNOWN_AFTER),
        ("own", _UNKNOWN_POSSESSIVE),
    ):
        if kind == "own" and "'s" not in chunk and "\u2019s" not in chunk:
            continue  # no "X's report" (cheaper than trying the pattern at every capital)
        for m in pattern.finditer(chunk):
            fs, fe = m.span("full")
            if any(s < fe and fs < e for s, e in taken):
                continue
            described = False
            if kind == "before":
                strong = m.group("strong") is not None
                described = m.group("desc") is not None
            elif kind == "after":
                strong = bool(_STRONG_AFTER.search(chunk, fe, m.end())) or (
                    m.group("cue").endswith(("reported", "reports"))
                    and _REPORTED_THAT.match(chunk, m.end()) is not None
                )
            else:
                strong = True
            got = _unknown_outlet(text, chunk, fs, fe, strong, described)
            if got is None:
                continue
            name, name_start, name_end = got
            start, end = (m.start(), name_end) if kind == "before" else (name_start, m.end())
            taken.append((name_start, name_end))
            out.append((False, offset + start, end - start, names.get(name) or canonical_outlet(name)))
    return out


def _unknown_outlet(
    text: str, chunk: str, start: int, end: int, strong: bool, described: bool
) -> tuple[str, int, int] | None:
    """The outlet named by the capitalised phrase ``chunk[start:end]`` that a pattern took, trimmed
    (no leading "the", no "Yesterday" before it or "Monday" after it), with the span of the name as
    cited ("the" included); None when it names a person, an institution, a place, or nothing that
    looks like a news organisation where only a strong context would do."""
    words = [(m.group(), start + m.start(), start + m.end()) for m in re.finditer(r"\S+", chunk[start:end])]
    has_the = words[0][0] in ("the", "The")
    if has_the:
        words = words[1:]
    else:
        while words and (words[0][0] in _LEADING_NOISE or words[0][0] in _DATE_WORDS):
            words = words[1:]
    while words and (words[-1][0] in _DATE_WORDS or words[-1][0] in _CONNECTORS):
        words = words[:-1]
    # "Hong Kong-based Phoenix TV", "the Kremlin-backed Ostrov TV": the name follows the description.
    described_at = [i for i, (w, _, _) in enumerate(words) if w.endswith(_DESCRIBED_SUFFIXES)]
    if described_at:
        words = words[described_at[-1] + 1 :]
    # "Prairie Wire and Meadow News": the name stops before "and" when what precedes is an outlet.
    for i, (word, _, _) in enumerate(words):
        if word in ("and", "&") and _media_name([w for w, _, _ in words[:i]]):
            words = words[:i]
            break
    if not words or words[0][0] in _CONNECTORS:
        return None
    names = [w for w, _, _ in words]
    content = [w for w in names if w not in _CONNECTORS]
    if len(content) > 6 or content[0].rstrip(".") in _TITLES:
        return None
    if len(content) == 1 and (content[0] in _MEDIA_WORDS or content[0] in _MEDIA_ANYWHERE):
        return None  # "the Post", "the Times": which one? (as "the Journal" alone in the table)
    name_start = start if has_the else words[0][1]
    before = chunk[:name_start]
    if _TITLE_BEFORE.search(before):
        return None
    if described or _DESCRIPTOR_BEFORE.search(before):
        pass  # "the Russian daily Kommersant"
    elif _media_name(names):
        if not has_the and (
            _ROLE_BEFORE.search(before) or (len(content) > 1 and _called_by_surname(text, content[-1]))
        ):
            return None  # "spokesman Jimmy Sun said", or "Sun said" elsewhere
    else:
        # Named like anything else: only in a strong context, and only as "the X", which persons,
        # most places and companies are not called; institutions and places by their head words.
        if not (strong and has_the):
            return None
        if any(w in _INSTITUTION_WORDS or w in _PLACE_WORDS or w in _TITLES for w in content):
            return None
        head = content[-1]
        if any(w.isupper() and len(w) > 1 for w in content) or head.endswith(("s", "ese", "ish", "ch")):
            return None  # "the FBI", "the Houthis", "the French"
    return " ".join(names), name_start, words[-1][2]


def _media_name(names: list[str]) -> bool:
    """Whether a name (its words, "of" and "and" included, no leading "the") is named like a news
    organisation: its head (the last word, or the last before "of") is a media word ("Prairie State
    Wire", "Times of Malta"), a media head after a media word ("Meadowland News Service"), or a call
    sign ("KXYZ-TV"), or it holds "News", "Radio", "Television" and the like, and its head is not
    an institution's ("Ministry of Information and Broadcasting")."""
    content = [w for w in names if w not in _CONNECTORS]
    k = next((i for i, w in enumerate(names) if w in _HEAD_CONNECTORS), len(names))
    head_part = [w for w in names[:k] if w not in _CONNECTORS and not w.isdigit()]
    if not head_part:
        return False
    head = head_part[-1]
    prev = head_part[-2] if len(head_part) > 1 else ""
    if len(content) == 1 and (head in _MEDIA_WORDS or head in _MEDIA_ANYWHERE):
        return False  # "the Post", "the Times": which one?
    if head in _MEDIA_HEADS:
        return prev in _MEDIA_HEADS[head]
    if head in _INSTITUTION_WORDS or prev in _NOT_MEDIA_BEFORE.get(head, ()):
        return False
    if head in _MEDIA_WORDS:
        return True
    parts = head.split("-")  # "Post-Dispatch", "Times-Picayune", not "All-Star"
    if (
        len(parts) > 1
        and parts[0] not in _NOT_MEDIA_BEFORE.get(parts[-1], ())
        and any(p in _MEDIA_WORDS for p in parts)
    ):
        return True
    if _CALL_SIGN.fullmatch(head) and head not in _NOT_CALL_SIGNS:
        return True
    return any(w in _MEDIA_ANYWHERE for w in content)


def _called_by_surname(text: str, word: str) -> bool:
    """Whether ``word`` is used in ``text`` as a person's surname: "Mr. Sun", or "Sun said" with no
    capitalised word or "the" before it."""
    for m in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
        before = text[max(m.start() - 40, 0) : m.start()]
        if _TITLE_BEFORE.search(before):
            return True
        prev = re.search(r"([A-Za-z][\w'’-]*)\s*$", before)
        if prev is not None and (prev.group(1)[:1].isupper() or prev.group(1) == "the"):
            continue
        if _SPEAKS.match(text, m.end()):
            return True
    return False


def _part_of_a_name(text: str, start: int) -> bool:
    """Whether a capitalised word stands right before ``start``: "Michael Bloomberg said" is a
    person, not the news agency ("The", acronyms and a sentence's first word when it is one of
    ``_LEADING_NOISE`` or a date, "Yesterday Bloomberg reported", don't count)."""
    before = text[:start].rstrip()
    if len(before) == len(text[:start]):
        return False  # no space before the name
    word = re.search(r"([A-Za-z][\w.'\u2019-]*)$", before)
    if word is None or not word.group(1)[:1].isupper() or word.group(1) in ("The", "A", "An"):
        return False
    if word.group(1).isupper() or any(ch.isdigit() for ch in word.group(1)):
        return False  # "EST", "AP", "4:33": a dateline or an acronym, not a first name
    preceding = before[: word.start()].rstrip()
    if preceding and preceding[-1] not in '.!?:"\u201c':
        return True
    # The sentence's first word: "Michael Bloomberg said" is a person, "Yesterday Bloomberg said" not.
    return word.group(1) not in _LEADING_NOISE and word.group(1) not in _DATE_WORDS


def _match_alias(matched: str, names: dict[str, str]) -> str | None:
    for alias in names:
        if alias.casefold() == matched.casefold():
            return alias
    return None


def _case_ok(matched: str, alias: str) -> bool:
    """Names must keep their capitals ('told the Post', not 'told the post'); short all-caps
    forms (AP, FT) must be all caps."""
    if alias.isupper():
        return matched == alias
    return matched[:1].isupper()
