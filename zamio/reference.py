"""CSV loaders for the royalty reference data, dispatched to by ``bin/import-catalog``.

``LOADERS[name](conn, path, report)`` for ``societies``, ``agreements``,
``repertoire``, ``rate_cards``, ``exchange_rates`` and ``licence_fees``.  Each
row is checked and written in its own savepoint (``zamio.csvimport.load_rows``):
a bad row is reported with its line number and reason, the others load.  Rows
are keyed by their natural key, so loading a file twice changes nothing; a
row with the same key replaces the stored values (a correction), which a
``--recalculate`` run then turns into reversals and new ledger lines.

Columns (required first, then optional):

* societies: ``code, name, short_name, currency`` + ``country, default_admin_fee_percent, email``
* agreements: ``society_code, effective_from, status`` + ``territory (GH), admin_fee_percent,
  expires_on, reporting_frequency``
* repertoire: ``society_code, isrc`` + ``iswc, title, artist, share_percent``
* rate_cards: ``territory, station_class, period, rate_per_second, multiplier, currency,
  effective_from`` + ``effective_to``
* exchange_rates: ``from_currency, to_currency, rate, effective_from`` + ``source``
* licence_fees: ``station_ref, period_from, period_to, amount, currency`` (amount in major units)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, select

from zamio.csvimport import ImportReport, Row, RowError, choice, decimal, email, iso_date, load_rows, text
from zamio.db import upsert, utcnow
from zamio.identifiers import InvalidIdentifier, normalise_iswc, require_identifier, validate_iswc
from zamio.money import currency_exponent, to_units
from zamio.config import normalise_station_class
from zamio.tables import (exchange_rates, partner_repertoire, partner_societies, rate_cards, reciprocal_agreements,
                          station_licence_fees, stations)

PERIODS = ("prime", "regular", "off_peak")
AGREEMENT_STATUSES = ("active", "draft", "suspended", "terminated")
FREQUENCIES = ("quarterly", "semiannual", "annual", "custom")
HUNDRED = Decimal(100)
Loader = Callable[[Connection, Path, ImportReport], None]


def _currency(row: Row, name: str) -> str:
    code = text(row, name).upper()
    try:
        currency_exponent(code)
    except ValueError as error:
        raise RowError(f"{name}: {error}") from None
    return code


def _society_id(conn: Connection, row: Row) -> int:
    code = require_identifier("society_code", row.get("society_code"))
    found = conn.execute(select(partner_societies.c.id).where(partner_societies.c.code == code)).scalar()
    if found is None:
        raise RowError(f"society_code {code} is not a known society; load it with --societies first")
    return found


def _required_date(row: Row, name: str):  # noqa: ANN202
    value = iso_date(row, name)
    if value is None:
        raise RowError(f"{name} is empty; it is required (YYYY-MM-DD)")
    return value


def _society(conn: Connection, row: Row) -> None:
    code = require_identifier("society_code", row.get("code"))
    fee = decimal(row, "default_admin_fee_percent", minimum=Decimal(0), maximum=HUNDRED)
    upsert(conn, partner_societies, [dict(
        code=code, name=text(row, "name"), short_name=text(row, "short_name").upper(),
        country=(row.get("country") or "").upper() or None, currency=_currency(row, "currency"),
        default_admin_fee_percent=fee if fee is not None else Decimal(15), email=email(row, "email"),
        created_at=utcnow())], ["code"], update=["name", "short_name", "country", "currency",
                                                 "default_admin_fee_percent", "email"])


def _agreement(conn: Connection, row: Row) -> None:
    start, end = _required_date(row, "effective_from"), iso_date(row, "expires_on")
    if end is not None and end <= start:
        raise RowError(f"expires_on {end} is not after effective_from {start}")
    upsert(conn, reciprocal_agreements, [dict(
        society_id=_society_id(conn, row), territory=(row.get("territory") or "GH").upper(),
        admin_fee_percent=decimal(row, "admin_fee_percent", minimum=Decimal(0), maximum=HUNDRED),
        effective_from=start, expires_on=end, status=choice(row, "status", AGREEMENT_STATUSES),
        reporting_frequency=choice(row, "reporting_frequency", FREQUENCIES, default="quarterly"),
        created_at=utcnow())], ["society_id", "territory", "effective_from"],
        update=["admin_fee_percent", "expires_on", "status", "reporting_frequency"])


def _repertoire(conn: Connection, row: Row) -> None:
    isrc = require_identifier("isrc", row.get("isrc"))
    iswc = normalise_iswc(row.get("iswc"))
    if iswc is not None and validate_iswc(iswc):
        raise InvalidIdentifier(f"{validate_iswc(iswc)}; correct it in the source data")
    upsert(conn, partner_repertoire, [dict(
        society_id=_society_id(conn, row), isrc=isrc, iswc=iswc, title=row.get("title"), artist=row.get("artist"),
        share_percent=decimal(row, "share_percent", minimum=Decimal(0), maximum=HUNDRED), created_at=utcnow(),
    )], ["society_id", "isrc"], update=["iswc", "title", "artist", "share_percent"])


def _rate_card(conn: Connection, row: Row) -> None:
    start, end = _required_date(row, "effective_from"), iso_date(row, "effective_to")
    if end is not None and end <= start:
        raise RowError(f"effective_to {end} is not after effective_from {start}")
    upsert(conn, rate_cards, [dict(
        territory=text(row, "territory").upper(), station_class=normalise_station_class(text(row, "station_class")),
        period=choice(row, "period", PERIODS),
        rate_per_second=decimal(row, "rate_per_second", minimum=Decimal(0)),
        multiplier=decimal(row, "multiplier", minimum=Decimal(0)), currency=_currency(row, "currency"),
        effective_from=start, effective_to=end, created_at=utcnow(),
    )], ["territory", "station_class", "period", "effective_from"],
        update=["rate_per_second", "multiplier", "currency", "effective_to"])


def _exchange_rate(conn: Connection, row: Row) -> None:
    rate = decimal(row, "rate", minimum=Decimal(0))
    if not rate:
        raise RowError("rate is empty or zero; it must be a positive number")
    upsert(conn, exchange_rates, [dict(
        from_currency=_currency(row, "from_currency"), to_currency=_currency(row, "to_currency"), rate=rate,
        effective_from=_required_date(row, "effective_from"), source=row.get("source"),
    )], ["from_currency", "to_currency", "effective_from"], update=["rate", "source"])


def _licence_fee(conn: Connection, row: Row) -> None:
    ref = text(row, "station_ref")
    station = conn.execute(select(stations.c.id).where(stations.c.station_ref == ref)).scalar()
    if station is None:
        raise RowError(f"station_ref {ref!r} is not a known station; load it with --stations first")
    start, end = _required_date(row, "period_from"), _required_date(row, "period_to")
    if end < start:
        raise RowError(f"period_to {end} is before period_from {start}")
    try:
        units = to_units(decimal(row, "amount", minimum=Decimal(0)) or Decimal(0))
    except ValueError as error:
        raise RowError(f"amount: {error}") from None
    upsert(conn, station_licence_fees, [dict(
        station_id=station, period_from=start, period_to=end, amount=units, currency=_currency(row, "currency"),
        created_at=utcnow())], ["station_id", "period_from", "period_to"], update=["amount", "currency"])


def _loader(handler: Callable[[Connection, Row], None], required: tuple[str, ...],
            optional: tuple[str, ...] = ()) -> Loader:
    def load(conn: Connection, path: Path, report: ImportReport) -> None:
        load_rows(conn, path, report, handler, required, optional)

    load.__doc__ = f"Load {handler.__name__.strip('_')} rows from CSV: columns {', '.join(required)}" + (
        f" (optional: {', '.join(optional)})" if optional else "") + "."
    return load


LOADERS: dict[str, Loader] = {
    "societies": _loader(_society, ("code", "name", "short_name", "currency"),
                         ("country", "default_admin_fee_percent", "email")),
    "agreements": _loader(_agreement, ("society_code", "effective_from", "status"),
                          ("territory", "admin_fee_percent", "expires_on", "reporting_frequency")),
    "repertoire": _loader(_repertoire, ("society_code", "isrc"), ("iswc", "title", "artist", "share_percent")),
    "rate_cards": _loader(_rate_card, ("territory", "station_class", "period", "rate_per_second", "multiplier",
                                       "currency", "effective_from"), ("effective_to",)),
    "exchange_rates": _loader(_exchange_rate, ("from_currency", "to_currency", "rate", "effective_from"),
                              ("source",)),
    "licence_fees": _loader(_licence_fee, ("station_ref", "period_from", "period_to", "amount", "currency")),
}
