"""The invented names the corpus is dressed in, and the relation each kind of derivation expects."""

from __future__ import annotations

DEFAULT_SIZE = 90

Paragraphs = list[list[str]]

EXPECTED: dict[str, str] = {
    "verbatim": "DUPLICATE",
    "reordered": "DUPLICATE",
    "light_edit": "DUPLICATE",
    "trimmed": "WHOLLY_DERIVED",
    "update": "WHOLLY_DERIVED",
    "rewrite": "PARTIALLY_DERIVED",
    "cites_corpus": "PARTIALLY_DERIVED",
    "stitched": "PARTIALLY_DERIVED",
    "roundup": "PARTIALLY_DERIVED",
}
"""Expected pair relation between a derived article and its parent, by how it was made."""

# Invented outlets. None contains a name of dedup's outlet table (Times, Post, Journal, ...).
OUTLETS = (
    "Northgate Courier", "Lakeside Gazette", "Eastbrook Ledger", "Silverton Herald", "Coastal Dispatch",
    "Redfield Chronicle", "Pinecrest Tribune", "Marlow Sentinel", "Ashford Observer", "Kestrel Bay Bulletin",
    "Granite City Examiner", "Willowmere Messenger", "Harrow Valley Beacon", "Oakridge Register",
    "Brightwater Mercury", "Fenwick Evening Star", "Stonebridge Review", "Clearwater Advocate",
    "Thornbury Wire", "Elmstead Daily", "Copper Falls Press", "Juniper Coast News", "Ravensworth Argus",
    "Millbrook Clarion",
)  # fmt: skip
# Sources outside the corpus: wires dedup's table knows, and invented ones it cannot know.
EXTERNAL_RECOGNISED = (
    "Reuters", "The Associated Press", "Bloomberg", "Agence France-Presse", "Xinhua", "Kyodo News",
    "Yonhap", "Interfax", "Anadolu Agency",
)  # fmt: skip
EXTERNAL_UNLISTED = (
    "Prairie State Wire", "Meadowland News Service", "Cinder Coast Newswire", "Blue Harbor Wire Service",
)  # fmt: skip
NO_ARTICLE = frozenset(EXTERNAL_RECOGNISED) - {"The Associated Press"}

FIRST_NAMES = (
    "Ana", "Tom", "Priya", "Marcus", "Elena", "David", "Grace", "Omar", "Lena", "Samuel", "Hannah", "Jonah",
    "Keiko", "Rafael", "Nora", "Victor", "Imani", "Peter", "Sofia", "Liam",
)  # fmt: skip
LAST_NAMES = (
    "Ruiz", "Alder", "Okafor", "Lindqvist", "Brennan", "Castillo", "Whitfield", "Haddad", "Novak", "Price",
    "Mbeki", "Sorensen", "Tanaka", "Delgado", "Ferris", "Kowalski", "Osei", "Marsh", "Varga", "Quinn",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
