"""Reading instants written by people and devices: ISO 8601 with a UTC offset, returned as aware UTC."""

from __future__ import annotations

from datetime import datetime, timezone


class NoOffset(ValueError):
    """The time has no UTC offset, so the instant it names is unknown."""


def parse_instant(text: str) -> datetime:
    """Given ISO 8601 text with a UTC offset (``Z`` allowed), return the aware UTC instant.

    Raise :class:`NoOffset` when the offset is missing and ``ValueError`` when the text is not a time.
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise NoOffset(f"{text!r} has no UTC offset; write it like 2026-03-02T14:00:00Z")
    return moment.astimezone(timezone.utc)
