"""What a correction by hand asks (``bin/correct-plays``): the action and its fields, read and checked.

One parser serves the command line and the rows of a file of corrections (``FILE_COLUMNS``);
each names the fields as its source does (``--track`` or ``track_ref``), so a refusal
names the field the person wrote, its value and what is accepted.  Making the correction
is ``zamio.playlogs.corrections``' concern.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from zamio.catalog.identifiers import normalise_isrc, validate_isrc
from zamio.db import audit
from zamio.playlogs.terms import ACTIONS
from zamio.runtime.errors import ItemError
from zamio.values.decimals import SECONDS, NumberFormatError, decimal_places, parse_decimal
from zamio.values.instants import BadPlayTime, read_play_time

MAX_PLAY_SECONDS = Decimal(6 * 3600)  # as bin/import-playlogs: longer than any airing of one recording

#: How each field is named where a correction comes from: on the command line and as a CSV column.
OPTION_NAMES = {"play_ids": "PLAY_ID", "track_ref": "--track", "isrc": "--isrc", "start": "--start",
                "seconds": "--seconds", "station_ref": "--station", "evidence": "--evidence", "at": "--at",
                "reason": "--reason"}
FILE_COLUMNS = ("action", "play_ids", "track_ref", "isrc", "start", "seconds", "station_ref", "evidence", "at",
                "reason")
COLUMN_NAMES = {name: name for name in FILE_COLUMNS}

#: What each action takes besides its reason: (play ids: "one", "several" or "none", required fields, optional).
SHAPES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "void": ("one", (), ()),
    "reassign": ("one", (), ("track_ref", "isrc")),
    "retime": ("one", (), ("start", "seconds")),
    "add": ("none", ("station_ref", "start", "seconds", "evidence"), ("track_ref", "isrc")),
    "merge": ("several", (), ()),
    "split": ("one", ("at",), ()),
}


class BadCorrection(ItemError):
    """A correction is not well formed (a missing or unexpected field, a value that cannot be read)."""

    reason = "bad_correction"


@dataclass(frozen=True)
class Request:
    """One correction as asked: the action and its fields, read and checked (``parse_request``)."""

    action: str
    play_ids: tuple[int, ...] = ()
    track_ref: str | None = None
    isrc: str | None = None
    start: datetime | None = None
    seconds: Decimal | None = None
    station_ref: str | None = None
    evidence: str | None = None
    at: datetime | None = None
    unknown_ref: str | None = None  # reassign to an unknown recording (U-000001): bin/identify-unknown's merge

    def asked(self) -> dict[str, object]:
        """The fields given, as JSON-able values."""
        fields = {"action": self.action, "play_ids": list(self.play_ids), "track_ref": self.track_ref,
                  "isrc": self.isrc, "start": self.start, "seconds": self.seconds, "station_ref": self.station_ref,
                  "evidence": self.evidence, "at": self.at, "unknown_ref": self.unknown_ref}
        return {name: value for name, value in fields.items() if value not in (None, [])}

    def event_key(self, reason: str) -> str:
        """The audit event key of this correction made for ``reason``: the same request sent again has it."""
        text = audit.to_json({"asked": self.asked(), "reason": reason.strip()}) or ""
        return f"correct-plays:{hashlib.sha256(text.encode()).hexdigest()[:32]}"

    def phrase(self) -> str:
        """The correction in a few words: ``retime play 12``, ``merge plays 12, 15``, ``add on JOY``."""
        if self.action == "add":
            return f"add a play on {self.station_ref}"
        if len(self.play_ids) > 1:
            return f"{self.action} plays {', '.join(map(str, self.play_ids))}"
        return f"{self.action} play {self.play_ids[0]}"


def parse_request(fields: Mapping[str, str | None], now: datetime, names: Mapping[str, str] = OPTION_NAMES
                  ) -> Request:
    """Given a correction's fields as text (``FILE_COLUMNS`` but the reason; empty ones None or absent), the current
    instant and how each field is named where it came from, return the request; raise BadCorrection naming the
    field, its value and what is accepted."""
    action = (fields.get("action") or "").strip().lower()
    if action not in ACTIONS:
        shown = f"{action!r} is not" if action else "no action is"
        raise BadCorrection(f"{shown} a correction: give one of {', '.join(ACTIONS)}")
    ids, required, optional = SHAPES[action]
    given = {name for name in OPTION_NAMES if name not in ("play_ids", "reason") and fields.get(name)}
    unexpected = sorted(given - set(required) - set(optional), key=list(OPTION_NAMES).index)
    if unexpected:
        raise BadCorrection(f"{action} takes no {', '.join(names[n] for n in unexpected)}: "
                            f"{_usage(action, names)}")
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise BadCorrection(f"{action} needs {', '.join(names[n] for n in missing)}: {_usage(action, names)}")
    play_ids = _play_ids(fields.get("play_ids"), ids, action, names)
    if action in ("reassign", "add") and bool(fields.get("track_ref")) == bool(fields.get("isrc")):
        raise BadCorrection(f"{action} needs the recording, as one of {names['track_ref']} REF or "
                            f"{names['isrc']} ISRC: {_usage(action, names)}")
    if action == "retime" and not (fields.get("start") or fields.get("seconds")):
        raise BadCorrection(f"retime needs {names['start']} and/or {names['seconds']}: {_usage(action, names)}")
    return Request(
        action, play_ids, track_ref=_text(fields.get("track_ref")), isrc=_isrc(fields.get("isrc"), names),
        start=_instant(fields.get("start"), "start", now, names), seconds=_seconds(fields.get("seconds"), names),
        station_ref=_text(fields.get("station_ref")), evidence=_text(fields.get("evidence")),
        at=_instant(fields.get("at"), "at", now, names))


def _usage(action: str, names: Mapping[str, str]) -> str:
    ids, required, optional = SHAPES[action]
    parts = [action] + {"one": [names["play_ids"]], "several": [f"{names['play_ids']} {names['play_ids']}..."],
                        "none": []}[ids]
    parts += [f"{names[n]} ..." for n in required]
    if optional:
        parts.append(" | ".join(f"{names[n]} ..." for n in optional) if action != "retime"
                     else f"[{names['start']} ...] [{names['seconds']} ...]")
    return f"write {' '.join(parts)} {names['reason']} ..."


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _play_ids(raw: str | None, wanted: str, action: str, names: Mapping[str, str]) -> tuple[int, ...]:
    words = (raw or "").replace(",", " ").replace(";", " ").split()
    ids = []
    for word in words:
        if not word.isdigit():
            raise BadCorrection(f"{names['play_ids']} {word!r} is not a play id (a whole number, the play_id "
                                "column of bin/export-playlogs)")
        ids.append(int(word))
    if len(set(ids)) != len(ids):
        raise BadCorrection(f"{action} names play {next(i for i in ids if ids.count(i) > 1)} twice")
    if wanted == "none" and ids:
        raise BadCorrection(f"add takes no {names['play_ids']}: it makes a new play; {_usage(action, names)}")
    if wanted == "one" and len(ids) != 1:
        raise BadCorrection(f"{action} takes one {names['play_ids']} (given {len(ids)}): {_usage(action, names)}")
    if wanted == "several" and len(ids) < 2:
        raise BadCorrection(f"merge takes two or more {names['play_ids']} (given {len(ids)}): "
                            f"{_usage(action, names)}")
    return tuple(ids)


def _isrc(raw: str | None, names: Mapping[str, str]) -> str | None:
    if not raw or not raw.strip():
        return None
    isrc = normalise_isrc(raw)
    problem = validate_isrc(isrc)
    if problem:
        raise BadCorrection(f"{names['isrc']} {raw!r}: {problem}")
    return isrc


def _instant(raw: str | None, field_name: str, now: datetime, names: Mapping[str, str]) -> datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        return read_play_time(names[field_name], raw.strip(), now)
    except BadPlayTime as error:
        raise BadCorrection(str(error)) from None


def _seconds(raw: str | None, names: Mapping[str, str]) -> Decimal | None:
    if not raw or not raw.strip():
        return None
    name = names["seconds"]
    try:
        value = parse_decimal(raw.strip())
    except NumberFormatError as error:
        raise BadCorrection(f"{name} {raw!r} {error}") from None
    if not value.is_finite() or decimal_places(value) > SECONDS.places:
        raise BadCorrection(f"{name} {raw!r}: give seconds with at most {SECONDS.places} decimal places")
    if not Decimal(0) < value <= MAX_PLAY_SECONDS:
        raise BadCorrection(f"{name} {raw!r} is outside the accepted range: more than 0 and at most "
                            f"{MAX_PLAY_SECONDS} (six hours); to remove a play, void it")
    return value
