"""Reading instants written by people and devices: ISO 8601 with a UTC offset, returned as aware UTC.

A play time given by a person or a device (an imported play, ``detect-audio --at``,
``convert-matches --as-of``, a snippet's side-car) must also be plausible
(:func:`parse_play_time`): no earlier than 1970 and no more than a day ahead of
now.  Anything else is a typing error (a year 9999 or 0001), and such a time
cannot be priced: its station-local date may lie beyond the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST_PLAY = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_ALLOWANCE = timedelta(days=1)  # clocks of devices and partners drift; a day ahead is not a play yet


class NoOffset(ValueError):
    """The time has no UTC offset, so the instant it names is unknown."""


class ImplausibleTime(ValueError):
    """The time lies outside the range a play can have.  The message is a predicate giving the
    accepted range ("is outside the accepted range ..."): the caller names the time before it."""


def parse_instant(text: str) -> datetime:
    """Given ISO 8601 text with a UTC offset (``Z`` allowed), return the aware UTC instant.

    Raise :class:`NoOffset` when the offset is missing, :class:`ImplausibleTime` when the
    instant lies beyond the calendar in UTC (0001-01-01T00:00:00+01:00) and ``ValueError``
    when the text is not a time.
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise NoOffset(f"{text!r} has no UTC offset; write it like 2026-03-02T14:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ImplausibleTime("lies beyond the calendar in UTC") from None


def play_time_range(now: datetime) -> tuple[datetime, datetime]:
    """Given the current instant, return the first and the last instant a play may have."""
    return EARLIEST_PLAY, now + FUTURE_ALLOWANCE


def check_play_time(moment: datetime, now: datetime) -> datetime:
    """Given an aware instant and the current one, return the instant if a play can have it.

    Raise :class:`ImplausibleTime` naming the accepted range if it is before 1970 or more than
    a day ahead of ``now``.
    """
    first, last = play_time_range(now)
    if not first <= moment <= last:
        raise ImplausibleTime(f"is outside the accepted range {accepted_range(now)}")
    return moment


def accepted_range(now: datetime) -> str:
    """Given the current instant, return the range of play times in words, for messages."""
    first, last = play_time_range(now)
    return f"{first:%Y-%m-%dT%H:%M:%SZ} to {last:%Y-%m-%dT%H:%M:%SZ} (from 1970 to a day ahead of now)"


def parse_play_time(text: str, now: datetime) -> datetime:
    """Given the ISO 8601 time of a play and the current instant, return it as aware UTC.

    Raise NoOffset, ValueError as :func:`parse_instant` does, and ImplausibleTime naming the
    accepted range for a time before 1970, more than a day ahead of ``now`` or beyond the calendar.
    """
    try:
        moment = parse_instant(text)
    except ImplausibleTime:
        raise ImplausibleTime(f"is outside the accepted range {accepted_range(now)}") from None
    return check_play_time(moment, now)


class BadPlayTime(ValueError):
    """A play time given by a person cannot be read; the message names the field and the text, and says why."""


def read_play_time(name: str, text: str, now: datetime) -> datetime:
    """Given the field's ``name``, its text and the current instant, return the play time as aware UTC;
    raise :class:`BadPlayTime` saying what is wrong in words for the person who typed it."""
    try:
        return parse_play_time(text, now)
    except NoOffset:
        raise BadPlayTime(f"{name} {text!r} has no UTC offset; add one (Z for UTC, +00:00 in Ghana)") from None
    except ImplausibleTime as error:
        raise BadPlayTime(f"{name} {text!r} {error}") from None
    except ValueError:
        raise BadPlayTime(f"{name} {text!r} is not an ISO 8601 time (2026-03-02T14:05:00+00:00)") from None
