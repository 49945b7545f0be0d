"""An article as a user gives it: id, text and what is known of it (title, outlet, url, time).

Light on purpose: the client imports it, and a client-only install has no
numpy, no model and no index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from dedup.errors import InvalidArgument

__all__ = ["Article", "Timestamp", "parse_timestamp", "quote_id"]

QUOTED_ID_CHARACTERS = 64
"""Characters of an id quoted in a message: a message must stay small whatever id was sent (gRPC sends
it in a header, and headers are limited)."""


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A publication time and its precision: a date alone ("2022-06-17") only orders by day."""

    value: datetime
    date_only: bool = False

    def before(self, other: Timestamp) -> bool | None:
        """True if surely earlier, False if surely later, None if they cannot be told apart."""
        if self.date_only or other.date_only:
            da, db = self.value.date(), other.value.date()
            return None if da == db else da < db
        return None if self.value == other.value else self.value < other.value

    def isoformat(self) -> str:
        return self.value.date().isoformat() if self.date_only else self.value.isoformat()


def parse_timestamp(value: str) -> Timestamp:
    """Parse an ISO 8601 date or date-time. Times without a zone are taken as UTC."""
    text = value.strip()
    if not text:
        raise InvalidArgument(
            "empty timestamp; give an ISO 8601 date or date-time such as 2022-06-17T14:05:00Z"
        )
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            d = date.fromisoformat(text)
            return Timestamp(datetime(d.year, d.month, d.day, tzinfo=UTC), date_only=True)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidArgument(
            f"cannot parse timestamp {value!r}; "
            "give an ISO 8601 date or date-time such as 2022-06-17T14:05:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Timestamp(parsed)


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as given by the user. ``text`` is never changed: all offsets point into it."""

    id: str
    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published_at: Timestamp | None = None

    def __post_init__(self) -> None:
        # What makes an article at all; the limits on its size are the engine's (``check_article``).
        if not self.id or not self.id.strip():
            raise InvalidArgument("article id is empty; give every article a non-empty id")
        if not self.text or not self.text.strip():
            raise InvalidArgument(f"article {quote_id(self.id)} has an empty text")


def quote_id(doc_id: str) -> str:
    """An id as messages quote it: its repr, cut to ``QUOTED_ID_CHARACTERS`` characters."""
    if len(doc_id) <= QUOTED_ID_CHARACTERS:
        return repr(doc_id)
    return f"{doc_id[:QUOTED_ID_CHARACTERS]!r}... ({len(doc_id)} characters)"
