"""The audit trail: one append-only row per manual change to money or plays (``audit_log``, sql/0020).

Every manual action that changes money or plays writes one entry here, in the
transaction of the change itself (so the entry exists exactly when the change does):

* ``bin/correct-plays`` (``play.void``, ``play.reassign``, ``play.retime``, ``play.add``,
  ``play.merge``, ``play.split``; entity ``play``);
* ``bin/suspense-report --declare`` (``suspense.declare``; entity ``royalty_pricings``);
* ``bin/calculate-royalty-distributions --recalculate`` (``pricing.recalculate``);
* ``bin/process-royalty-cycle --despite-changed-inputs`` when the inputs did change
  (``cycle.files_despite_changed_inputs``; entity ``cycle``, its name);
* ``bin/import-catalog`` adding or correcting a money reference row (``reference.added``,
  ``reference.corrected``; entity: the table, with the row's id; payees and their payment details
  too), and one entry per import that adds or changes tracks, stations, partner repertoire or
  partner societies in what decides money or names who is paid (``catalog.imported``; entity
  ``catalog``, the files; the rows added by reference, and the changed columns of each row
  changed, before and after);
* ``bin/disputes`` opening and resolving a dispute (``dispute.open``, ``dispute.resolve``; entity
  ``dispute``, its label ``D-000001``);
* ``bin/payouts --mark-sent`` and ``--mark-settled`` recording a confirmation file
  (``payment.confirmed``; entity ``payments``, the file's name);
* ``bin/cleanup-old-data --retired-host NAME`` releasing the audio references of the
  captures a host out of service kept (``capture.audio_released``; entity ``host``, its
  name; one entry per batch, listing each capture and the path released).

An entry says who (``actor``: the person named by ``--by``, by default the OS user),
what (``action``, ``entity``, ``entity_id``), why (``reason``: required, never empty)
and the state before and after (``before_json``, ``after_json``: canonical JSON, keys
sorted, instants in ISO 8601, exact decimals as text).  ``details`` holds where it was
done (the job's run id).  Rows are never changed or removed: the database refuses it
(triggers on both databases), and retention never touches the table.

``event_key`` is unique: a caller that may retry the same change (a correction sent
again) gives a key derived from the change, and a second write of it adds nothing;
without one, every entry gets a key of its own.  This module is the table's one writer
(``tests/shape/test_ownership.py``): every stage may import it, the database layer being
below them all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select

from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import audit_log
from zamio.runtime.errors import DataError

_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                              default=lambda value: _plain(value))
CSV_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "reason", "before", "after", "details")


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # by value: PostgreSQL's 0.0150000000 is SQLite's 0.015
        return format(value.normalize(), "f")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not written to the audit log")


def to_json(value: object) -> str | None:
    """Given a JSON-able value (instants, dates and Decimals allowed), return its canonical JSON; None stays None."""
    return None if value is None else _CANONICAL.encode(value)


#: The actor of an entry written by a library call that named no person (a person always uses a job's --by).
UNATTRIBUTED = "unattributed"


class MissingReason(DataError):
    """A manual change was about to be recorded without a reason or without who made it: nothing was changed."""


@dataclass(frozen=True)
class Who:
    """Who makes a manual change, and why: the person (``--by``) and the reason given."""

    actor: str
    reason: str
    run_id: str | None = None  # the job run it was made in, kept in the entry's details

    def because(self, reason: str) -> Who:
        """The same person and run, for another reason (a row of a file of corrections)."""
        return Who(self.actor, reason, self.run_id)


@dataclass(frozen=True)
class Change:
    """What a manual change did: the action, the entity it changed and its state before and after (JSON-able)."""

    action: str
    entity: str
    entity_id: str | None
    before: object = None
    after: object = None


@dataclass(frozen=True)
class Entry:
    """One row of the audit log, as read (``before`` and ``after`` are JSON text)."""

    id: int
    event_key: str
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    reason: str | None
    before: str | None
    after: str | None
    details: str | None

    def as_json(self) -> dict[str, object]:
        """The entry as a JSON object, its before and after as JSON values."""
        return {"id": self.id, "event_key": self.event_key, "at": self.at.isoformat(), "actor": self.actor,
                "action": self.action, "entity": self.entity, "entity_id": self.entity_id, "reason": self.reason,
                "before": json.loads(self.before) if self.before else None,
                "after": json.loads(self.after) if self.after else None,
                "details": json.loads(self.details) if self.details else None}

    def csv_row(self) -> list[str | int]:
        """The entry as a row of ``CSV_COLUMNS``."""
        return [self.id, self.at.isoformat(), self.actor, self.action, self.entity, self.entity_id or "",
                self.reason or "", self.before or "", self.after or "", self.details or ""]


def check(who: Who) -> Who:
    """Given who makes a change, return it with the actor and reason stripped; raise MissingReason if either is
    empty (the change is then not made)."""
    actor, reason = (who.actor or "").strip(), (who.reason or "").strip()
    if not actor:
        raise MissingReason("a manual change needs the person making it: give --by NAME")
    if not reason:
        raise MissingReason("a manual change needs a reason, kept in the audit log: give --reason TEXT "
                            "(in a file, the reason column)")
    return Who(actor, reason, who.run_id)


def record(conn: Connection, who: Who, change: Change, *, event_key: str | None = None,
           at: datetime | None = None) -> int:
    """Given who made a change and what it did, append its entry in ``conn``'s transaction; return the entry's id.

    With an ``event_key`` already recorded, nothing is added and that entry's id is returned.  Raise
    MissingReason if the actor or the reason is empty.
    """
    who = check(who)
    key = event_key or f"{change.action}:{uuid.uuid4()}"
    found = find(conn, key)
    if found is not None:
        return found.id
    details = {"run_id": who.run_id} if who.run_id else None
    result = conn.execute(insert(audit_log).values(
        event_key=key, at=at or utcnow(), actor=who.actor, action=change.action, entity=change.entity,
        entity_id=change.entity_id, reason=who.reason, before_json=to_json(change.before),
        after_json=to_json(change.after), details=to_json(details)))
    primary = result.inserted_primary_key
    assert primary is not None  # a single-row INSERT returns its key
    return int(primary[0])


def _entry(row: StoredRow) -> Entry:
    return Entry(row.id, row.event_key, row.at, row.actor, row.action, row.entity, row.entity_id, row.reason,
                 row.before_json, row.after_json, row.details)


def find(conn: Connection, event_key: str) -> Entry | None:
    """Given an event key, return its entry, or None."""
    row = conn.execute(select(audit_log).where(audit_log.c.event_key == event_key)).first()
    return _entry(row) if row is not None else None


def entry(conn: Connection, entry_id: int) -> Entry | None:
    """Given an entry id, return the entry, or None."""
    row = conn.execute(select(audit_log).where(audit_log.c.id == entry_id)).first()
    return _entry(row) if row is not None else None


def entries(conn: Connection, since: datetime | None = None, until: datetime | None = None,
            actions: Sequence[str] = ()) -> list[Entry]:
    """Given a period [since, until) (either end open when None) and optionally action names (or prefixes
    ending in a dot, ``play.``), return its entries in the order they were written."""
    query = select(audit_log).order_by(audit_log.c.at, audit_log.c.id)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    found = [_entry(row) for row in conn.execute(query)]
    if actions:
        found = [e for e in found if any(e.action == a or (a.endswith(".") and e.action.startswith(a))
                                         for a in actions)]
    return found
