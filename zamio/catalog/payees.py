"""CSV loaders for what payouts read: the domestic commission, withholding tax rates, and payees.

Dispatched to by ``bin/import-catalog`` (``--commission-rates``, ``--withholding-rates``,
``--payees``); each file sets money, so it loads whole or not at all
(``zamio.catalog.imports.MONEY_FILES``), and a key given on two lines of one file refuses it.

* **commission rates** (``territory, commission_percent, effective_from``): the percentage the
  local society keeps from domestic distributions.  Effective-dated like a rate card: a cycle
  applies the row in force on its last day.  A row a locked cycle applied (its ledger lines name
  it) is never changed in place: load the change with its own ``effective_from``.
* **withholding tax rates** (``territory, recipient_type, residency, tax_percent, effective_from``
  + ``authority``): the tax withheld from a payee's payable amount, per recipient type
  (contributor, artist, publisher) and residency (resident, non_resident), effective-dated the
  same way; ``authority`` is the reference of the tax authority the tax is paid to (``GRA``).
* **payees** (``recipient_type, recipient`` + ``name, residency, payment_method, bank_name,
  account_number, branch_code, mobile_money_number, mobile_money_network``): a recipient as
  ``statements.csv`` names it (type and reference), its residency (resident unless said) and how
  it is paid: ``bank`` (bank name and account number required, branch or sort code optional) or
  ``mobile_money`` (number and network required).  Without a method its payments are held.

Every row added or changed is recorded in the audit log (``reference.added``,
``reference.corrected``) by whoever loads it: a payee's bank account is money's address.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, insert, or_, select, update

from zamio.catalog.reference import HUNDRED, NEW_ROW, keep_or_correct, record_reference
from zamio.db.audit import Who
from zamio.db.engine import StoredRow, utcnow
from zamio.db.tables import (
    domestic_commission_rates,
    partner_societies,
    payees,
    royalty_ledger,
    withholding_tax_rates,
)
from zamio.files.csvread import ImportReport, Loader, Row, RowError, RowKey, choice, decimal, iso_date, load_rows, text
from zamio.values.decimals import PERCENT

TAXED_TYPES = ("contributor", "artist", "publisher")
PAYEE_TYPES = (*TAXED_TYPES, "society")
RESIDENCIES = ("resident", "non_resident")
METHODS = ("bank", "mobile_money")
DEFAULT_AUTHORITY = "GRA"  # the Ghana Revenue Authority
BANK_COLUMNS = ("bank_name", "account_number", "branch_code")
MOBILE_COLUMNS = ("mobile_money_number", "mobile_money_network")
_MSISDN = re.compile(r"[0-9]{9,15}")  # the digits 0 to 9 only: \d also takes other scripts' digits


def _ledger_names(key: str, value: int) -> ColumnElement[bool]:
    """A condition: a ledger line's details JSON (compact) holds ``"key":value``."""
    d = royalty_ledger.c.details
    return or_(d.like(f'%"{key}":{value},%'), d.like(f'%"{key}":{value}}}%'))


def _used_commission_rate(conn: Connection, row: StoredRow) -> str | None:
    used = conn.execute(select(exists().where(_ledger_names("commission_rate_id", row.id)))).scalar()
    return "was applied by a locked cycle" if used else None


def _used_tax_rate(conn: Connection, row: StoredRow) -> str | None:
    used = conn.execute(select(exists().where(_ledger_names("tax_rate_id", row.id)))).scalar()
    return "was applied by a locked cycle" if used else None


def _required_date(row: Row, name: str) -> Any:
    value = iso_date(row, name)
    if value is None:
        raise RowError(f"{name} is empty; it is required (YYYY-MM-DD)")
    return value


def _percent(row: Row, name: str) -> Decimal:
    return decimal(row, name, minimum=Decimal(0), maximum=HUNDRED, kind=PERCENT, required=True)


def _commission_rate(conn: Connection, row: Row, who: Who | None = None) -> None:
    start = _required_date(row, "effective_from")
    territory = (row.get("territory") or "GH").upper()
    keep_or_correct(conn, domestic_commission_rates, dict(territory=territory, effective_from=start),
                    dict(commission_percent=_percent(row, "commission_percent")), _used_commission_rate,
                    f"the domestic commission of {territory} from {start}", NEW_ROW, who=who)


def _withholding_rate(conn: Connection, row: Row, who: Who | None = None) -> None:
    start = _required_date(row, "effective_from")
    key = dict(territory=(row.get("territory") or "GH").upper(),
               recipient_type=choice(row, "recipient_type", TAXED_TYPES),
               residency=choice(row, "residency", RESIDENCIES), effective_from=start)
    keep_or_correct(conn, withholding_tax_rates, key,
                    dict(tax_percent=_percent(row, "tax_percent"),
                         authority=(row.get("authority") or DEFAULT_AUTHORITY).upper()), _used_tax_rate,
                    f"the withholding tax of {key['territory']} {key['recipient_type']} {key['residency']} from "
                    f"{start}", NEW_ROW, who=who)


def _msisdn(raw: str) -> str:
    number = re.sub(r"[\s\-()]", "", raw).removeprefix("+")
    if not _MSISDN.fullmatch(number):
        raise RowError(f"mobile_money_number {raw!r} is not a mobile number: write it in international form, "
                       "country code first, 9 to 15 digits (233241234567)")
    return number


def payment_values(row: Row) -> dict[str, str | None]:
    """Given a payees row, return its residency and payment columns, checked; raise RowError naming the column."""
    method = choice(row, "payment_method", METHODS) if row.get("payment_method") else None
    values: dict[str, str | None] = {name: row.get(name) for name in (*BANK_COLUMNS, *MOBILE_COLUMNS)}
    needed = {"bank": ("bank_name", "account_number"), "mobile_money": MOBILE_COLUMNS}
    if method is None:
        given = [name for name, value in values.items() if value]
        if given:
            raise RowError(f"{', '.join(given)} given without payment_method; write bank or mobile_money")
    else:
        missing = [name for name in needed[method] if not values[name]]
        if missing:
            raise RowError(f"payment_method {method} needs {' and '.join(missing)}")
        other = MOBILE_COLUMNS if method == "bank" else BANK_COLUMNS
        stray = [name for name in other if values[name]]
        if stray:
            raise RowError(f"{', '.join(stray)} given with payment_method {method}; leave them empty or change "
                           "the method")
    if values["mobile_money_number"]:
        values["mobile_money_number"] = _msisdn(values["mobile_money_number"])
    if values["mobile_money_network"]:
        values["mobile_money_network"] = values["mobile_money_network"].upper()
    return {"residency": choice(row, "residency", RESIDENCIES, default="resident"), "payment_method": method,
            **values}


def _payee(conn: Connection, row: Row, who: Who | None = None) -> None:
    kind, ref = choice(row, "recipient_type", PAYEE_TYPES), text(row, "recipient")
    if kind == "society" and conn.execute(select(partner_societies.c.id)
                                          .where(partner_societies.c.code == ref)).first() is None:
        raise RowError(f"recipient {ref!r} is not a known society code; load it with --societies first")
    values = payment_values(row)
    now = utcnow()
    stored = conn.execute(select(payees).where(payees.c.recipient_type == kind, payees.c.recipient_ref == ref)).first()
    if stored is None:
        result = conn.execute(insert(payees).values(recipient_type=kind, recipient_ref=ref, name=row.get("name"),
                                                    created_at=now, updated_at=now, **values))
        primary = result.inserted_primary_key
        assert primary is not None  # a single-row INSERT returns its key
        record_reference(conn, who, payees, int(primary[0]), f"the payee {kind} {ref}", None,
                         {"recipient_type": kind, "recipient": ref, **values})
        return
    before = {name: getattr(stored, name) for name in values}
    conn.execute(update(payees).where(payees.c.id == stored.id).values(name=row.get("name") or stored.name,
                                                                        updated_at=now, **values))
    if before != values:
        record_reference(conn, who, payees, stored.id, f"the payee {kind} {ref}",
                         {"recipient_type": kind, "recipient": ref, **before},
                         {"recipient_type": kind, "recipient": ref, **values})


def _commission_key(row: Row) -> str:
    return f"the domestic commission of {(row.get('territory') or 'GH').upper()} from " \
           f"{_required_date(row, 'effective_from')}"


def _withholding_key(row: Row) -> str:
    return (f"the withholding tax of {(row.get('territory') or 'GH').upper()} "
            f"{choice(row, 'recipient_type', TAXED_TYPES)} {choice(row, 'residency', RESIDENCIES)} from "
            f"{_required_date(row, 'effective_from')}")


def _payee_key(row: Row) -> str:
    return f"the payee {choice(row, 'recipient_type', PAYEE_TYPES)} {text(row, 'recipient')}"


def _loader(handler: Any, key: RowKey, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Loader:
    def load(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
        load_rows(conn, path, report, lambda c, row: handler(c, row, who), required, optional, key=key)

    load.__doc__ = f"Load {handler.__name__.strip('_')} rows from CSV: columns {', '.join(required)}" + (
        f" (optional: {', '.join(optional)})" if optional else "") + "."
    return load


LOADERS: dict[str, Loader] = {
    "commission_rates": _loader(_commission_rate, _commission_key, ("commission_percent", "effective_from"),
                                ("territory",)),
    "withholding_rates": _loader(_withholding_rate, _withholding_key,
                                 ("recipient_type", "residency", "tax_percent", "effective_from"),
                                 ("territory", "authority")),
    "payees": _loader(_payee, _payee_key, ("recipient_type", "recipient"),
                      ("name", "residency", "payment_method", *BANK_COLUMNS, *MOBILE_COLUMNS)),
}
