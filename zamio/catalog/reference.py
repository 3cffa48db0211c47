"""CSV loaders for the royalty reference data, dispatched to by ``bin/import-catalog``.

``LOADERS[name](conn, path, report)`` for ``societies``, ``agreements``,
``repertoire``, ``rate_cards``, ``exchange_rates`` and ``licence_fees``.  Each
row is checked and written in its own savepoint (``zamio.files.csvread.load_rows``):
a bad row is reported with its line number and reason.  These files set money,
so ``bin/import-catalog`` loads each whole or not at all (``zamio.catalog.imports.MONEY_FILES``):
one bad row, whatever its reason, refuses the import.  Numbers are read by
``zamio.values.decimals.parse_decimal`` (a point or a comma before the decimals, no
thousands separator) and refused, never rounded, beyond the digits their kind
keeps.  Rows are keyed by their natural key, so loading a file twice changes nothing; a
file giving one key on two lines is refused whole, the later line naming the earlier.

**A reference row used by money is history, never edited.**  Rate cards,
agreements and societies' default admin fees are effective-dated: a change is a
new row with the day it applies from (``effective_from``; for a society's fee
``fee_effective_from``), and the row in force on a play's station-local date is
the latest one starting on or before it.  A row with the same key and other
values is a correction in place only while no pricing has used it (the
pricing row names its rate card, and its details the agreement and default fee
row); once used, it is refused (``UsedReferenceChanged``, the job exits 65) with
a message naming the row and telling to load the change with a new effective
date, so ``--trace`` always shows the row that produced an amount.  A licence
fee that a pool cycle has spread days of is refused the same way.  Columns that
move no money (an agreement's reporting frequency, a society's name or e-mail)
are updated in place.  Every money row added or corrected is recorded in the audit log
(``zamio.db.audit``: ``reference.added``, ``reference.corrected``; who loaded it and why, its
values before and after).  A correction of a past period is a new row dated back,
which ``calculate-royalty-distributions --recalculate`` turns into reversals and
new ledger lines.

Columns (required first, then optional):

* societies: ``code, name, short_name, currency`` + ``country, default_admin_fee_percent, email,
  fee_effective_from`` (an empty fee keeps the society's fees; a new society's first fee, 15 % if
  empty, is in force since always, or from ``fee_effective_from``)
* agreements: ``society_code, effective_from, status`` + ``territory (GH), admin_fee_percent,
  expires_on, reporting_frequency``
* repertoire: ``society_code, isrc`` + ``iswc, title, artist, share_percent``
* rate_cards: ``territory, station_class, period, rate_per_second, multiplier, currency,
  effective_from`` + ``effective_to``
* exchange_rates: ``from_currency, to_currency, rate, effective_from`` + ``source``
* licence_fees: ``station_ref, period_from, period_to, amount, currency`` (amount in major units)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, Table, and_, exists, insert, or_, select, update

from zamio.catalog.identifiers import InvalidIdentifier, normalise_iswc, require_identifier, validate_iswc
from zamio.db import audit
from zamio.db.audit import Who
from zamio.db.engine import StoredRow, upsert, utcnow
from zamio.db.tables import (
    exchange_rates,
    licence_fee_parts,
    partner_repertoire,
    partner_societies,
    rate_cards,
    reciprocal_agreements,
    royalty_cycles,
    royalty_pricings,
    society_admin_fees,
    station_licence_fees,
    stations,
)
from zamio.files.csvread import (
    ImportReport,
    Loader,
    Row,
    RowError,
    RowKey,
    choice,
    decimal,
    email,
    iso_date,
    load_rows,
    station_class,
    text,
)
from zamio.runtime.errors import EXIT_DATA
from zamio.values.decimals import AMOUNT, EXCHANGE_RATE, MULTIPLIER, PERCENT, RATE
from zamio.values.money import currency_exponent, to_units

PERIODS = ("prime", "regular", "off_peak")
AGREEMENT_STATUSES = ("active", "draft", "suspended", "terminated")
FREQUENCIES = ("quarterly", "semiannual", "annual", "custom")
HUNDRED = Decimal(100)
DEFAULT_ADMIN_FEE = Decimal(15)
SINCE_ALWAYS = date(1900, 1, 1)  # a society's first default fee is in force from here (sql/0017)



class UsedReferenceChanged(RowError):
    """A row would change a reference row that money was already computed from: refused (the run exits 65)."""

    reason = "used_reference_changed"
    exit_code = EXIT_DATA


# --- which rows money used -----------------------------------------------------

# These look through royalty_pricings without an index (the pricing path stays lean): a scan, made only
# for a loaded row whose values differ from the stored ones.

def _details_name(key: str, value: int) -> ColumnElement[bool]:
    """A condition: a pricing's details JSON (compact, zamio.royalties.pricing.price) holds ``"key":value``."""
    d = royalty_pricings.c.details
    return or_(d.like(f'%"{key}":{value},%'), d.like(f'%"{key}":{value}}}%'))


def _used_rate_card(conn: Connection, row: StoredRow) -> str | None:
    priced = conn.execute(select(exists().where(royalty_pricings.c.rate_card_id == row.id))).scalar()
    return "has priced plays" if priced else None


def _used_agreement(conn: Connection, row: StoredRow) -> str | None:
    priced = conn.execute(select(exists().where(_details_name("agreement_id", row.id)))).scalar()
    return "has paid plays" if priced else None


def _used_society_fee(conn: Connection, row: StoredRow) -> str | None:
    """A default fee row is used by the pricings that name it; pricings made before the rows were dated
    (sql/0017) name only their agreement, and used the society's first row."""
    if conn.execute(select(exists().where(_details_name("society_fee_id", row.id)))).scalar():
        return "has paid plays"
    first = conn.execute(select(society_admin_fees.c.id).where(society_admin_fees.c.society_id == row.society_id)
                         .order_by(society_admin_fees.c.effective_from).limit(1)).scalar()
    if first != row.id:
        return None
    feeless = conn.execute(select(reciprocal_agreements.c.id).where(
        reciprocal_agreements.c.society_id == row.society_id,
        reciprocal_agreements.c.admin_fee_percent.is_(None))).scalars().all()
    if not feeless:
        return None
    undated = and_(~royalty_pricings.c.details.like('%"society_fee_id"%'),
                   or_(*[_details_name("agreement_id", a) for a in feeless]))
    return "has paid plays" if conn.execute(select(exists().where(undated))).scalar() else None


def _used_licence_fee(conn: Connection, row: StoredRow) -> str | None:
    cycles = conn.execute(select(royalty_cycles.c.name).join(licence_fee_parts,
                                                             licence_fee_parts.c.cycle_id == royalty_cycles.c.id)
                          .where(licence_fee_parts.c.fee_id == row.id).distinct()
                          .order_by(royalty_cycles.c.name)).scalars().all()
    return f"was spread in part by pool cycle {', '.join(cycles)}" if cycles else None


def _same(stored: object, loaded: object) -> bool:
    return stored == loaded  # Decimals compare by value: PostgreSQL's 0.0150000000 is 0.015


def keep_or_correct(conn: Connection, table: Table, key: Mapping[str, object], values: Mapping[str, object],
                    used: Callable[[Connection, StoredRow], str | None], what: str, remedy: str,
                    free: Mapping[str, object] | None = None, who: Who | None = None) -> None:
    """Given a reference table, a row's natural key, its money columns (``values``) and the columns that move
    no money (``free``), store the row.

    A new key is inserted, with a creation time.  An existing row is updated in its ``free`` columns; its
    ``values`` are left alone when equal, corrected in place while ``used`` finds nothing, and otherwise
    refused: UsedReferenceChanged names ``what``, the row, the change and the ``remedy``.  A row added, or
    whose money columns were corrected, gets an audit entry by ``who`` (``record_reference``).
    """
    free = free or {}
    stored = conn.execute(select(table).where(*[table.c[k] == v for k, v in key.items()])).first()
    if stored is None:
        result = conn.execute(insert(table).values(**key, **values, **free, created_at=utcnow()))
        primary = result.inserted_primary_key
        assert primary is not None  # a single-row INSERT returns its key
        record_reference(conn, who, table, int(primary[0]), what, None, {**key, **values})
        return
    moved = {c: v for c, v in values.items() if not _same(getattr(stored, c), v)}
    if moved:
        use = used(conn, stored)
        if use:
            change = ", ".join(f"{c} {_shown(getattr(stored, c))} → {_shown(v)}" for c, v in moved.items())
            raise UsedReferenceChanged(f"{what} (row {stored.id}) {use}: it is never changed in place (refused: "
                                       f"{change}); {remedy}")
        record_reference(conn, who, table, stored.id, what, {**key, **{c: getattr(stored, c) for c in values}},
                         {**key, **values})
    if moved or free:
        conn.execute(update(table).where(table.c.id == stored.id).values(**moved, **free))


def record_reference(conn: Connection, who: Who | None, table: Table, row_id: int, what: str,
                     before: Mapping[str, object] | None, after: Mapping[str, object]) -> None:
    """Given who loads reference data (None: no entry, as when a loader is called outside a job), the table, the
    row's id, what it is in words and its money columns before (None: a new row) and after, record the change in
    the audit log (``reference.added`` or ``reference.corrected``, entity the table)."""
    if who is None:
        return
    audit.record(conn, who, audit.Change(
        "reference.added" if before is None else "reference.corrected", table.name, str(row_id),
        before=None if before is None else {"row": what, **before}, after={"row": what, **after}))


def _shown(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "empty" if value is None else str(value)


NEW_ROW = ("to change it, load the new values as a row of their own with the day they apply from as "
           "effective_from (the row in force on a day is the latest starting on or before it)")


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


def _required_date(row: Row, name: str) -> date:
    value = iso_date(row, name)
    if value is None:
        raise RowError(f"{name} is empty; it is required (YYYY-MM-DD)")
    return value


def _society(conn: Connection, row: Row, who: Who | None = None) -> None:
    code = require_identifier("society_code", row.get("code"))
    fee = decimal(row, "default_admin_fee_percent", minimum=Decimal(0), maximum=HUNDRED, kind=PERCENT)
    since = iso_date(row, "fee_effective_from")
    if since is not None and fee is None:
        raise RowError("fee_effective_from is given without default_admin_fee_percent; give the fee that applies "
                       "from that day")
    known = conn.execute(select(partner_societies.c.id).where(partner_societies.c.code == code)).scalar()
    values = dict(name=text(row, "name"), short_name=text(row, "short_name").upper(),
                  country=(row.get("country") or "").upper() or None, currency=_currency(row, "currency"),
                  email=email(row, "email"))
    if known is None:
        fee = fee if fee is not None else DEFAULT_ADMIN_FEE
        upsert(conn, partner_societies, [dict(code=code, default_admin_fee_percent=fee, created_at=utcnow(),
                                              **values)], ["code"], update=list(values))
        known = conn.execute(select(partner_societies.c.id).where(partner_societies.c.code == code)).scalar_one()
    else:
        conn.execute(update(partner_societies).where(partner_societies.c.id == known).values(**values))
    if fee is not None:
        _society_fee(conn, known, code, fee, since, who)


def _society_fee(conn: Connection, society_id: int, code: str, fee: Decimal, since: date | None,
                 who: Who | None = None) -> None:
    """Store a society's default fee from ``since`` (None: its latest fee row, else since always), then keep
    ``partner_societies.default_admin_fee_percent`` the latest fee."""
    fees = society_admin_fees
    if since is None:
        since = conn.execute(select(fees.c.effective_from).where(fees.c.society_id == society_id)
                             .order_by(fees.c.effective_from.desc()).limit(1)).scalar() or SINCE_ALWAYS
    keep_or_correct(conn, fees, dict(society_id=society_id, effective_from=since),
                    dict(admin_fee_percent=fee), _used_society_fee,
                    f"the default admin fee of society {code} from {since}",
                    "to change it, add fee_effective_from (YYYY-MM-DD, the first day of the new fee) to the row; "
                    "the fee in force on a day is the latest starting on or before it", who=who)
    latest = conn.execute(select(fees.c.admin_fee_percent).where(fees.c.society_id == society_id)
                          .order_by(fees.c.effective_from.desc()).limit(1)).scalar_one()
    conn.execute(update(partner_societies).where(partner_societies.c.id == society_id)
                 .values(default_admin_fee_percent=latest))


def _agreement(conn: Connection, row: Row, who: Who | None = None) -> None:
    start, end = _required_date(row, "effective_from"), iso_date(row, "expires_on")
    if end is not None and end <= start:
        raise RowError(f"expires_on {end} is not after effective_from {start}")
    code = require_identifier("society_code", row.get("society_code"))
    territory = (row.get("territory") or "GH").upper()
    key = dict(society_id=_society_id(conn, row), territory=territory, effective_from=start)
    keep_or_correct(
        conn, reciprocal_agreements, key,
        dict(admin_fee_percent=decimal(row, "admin_fee_percent", minimum=Decimal(0), maximum=HUNDRED, kind=PERCENT),
             expires_on=end, status=choice(row, "status", AGREEMENT_STATUSES)),
        _used_agreement, f"the agreement of society {code} for {territory} from {start}", NEW_ROW,
        free=dict(reporting_frequency=choice(row, "reporting_frequency", FREQUENCIES, default="quarterly")), who=who)


def _repertoire(conn: Connection, row: Row, who: Who | None = None) -> None:
    isrc = require_identifier("isrc", row.get("isrc"))
    iswc = normalise_iswc(row.get("iswc"))
    if iswc is not None and validate_iswc(iswc):
        raise InvalidIdentifier(f"{validate_iswc(iswc)}; correct it in the source data")
    upsert(conn, partner_repertoire, [dict(
        society_id=_society_id(conn, row), isrc=isrc, iswc=iswc, title=row.get("title"), artist=row.get("artist"),
        share_percent=decimal(row, "share_percent", minimum=Decimal(0), maximum=HUNDRED, kind=PERCENT),
        created_at=utcnow(),
    )], ["society_id", "isrc"], update=["iswc", "title", "artist", "share_percent"])


def _rate_card(conn: Connection, row: Row, who: Who | None = None) -> None:
    start, end = _required_date(row, "effective_from"), iso_date(row, "effective_to")
    if end is not None and end <= start:
        raise RowError(f"effective_to {end} is not after effective_from {start}")
    key = dict(territory=text(row, "territory").upper(),
               station_class=station_class(row),
               period=choice(row, "period", PERIODS), effective_from=start)
    keep_or_correct(conn, rate_cards, key, dict(
        rate_per_second=decimal(row, "rate_per_second", minimum=Decimal(0), kind=RATE, required=True),
        multiplier=decimal(row, "multiplier", minimum=Decimal(0), kind=MULTIPLIER, required=True),
        currency=_currency(row, "currency"),
        effective_to=end), _used_rate_card,
        f"the rate card {key['territory']} {key['station_class']} {key['period']} from {start}", NEW_ROW, who=who)


def _exchange_rate(conn: Connection, row: Row, who: Who | None = None) -> None:
    rate = decimal(row, "rate", minimum=Decimal(0), kind=EXCHANGE_RATE, required=True)
    if not rate:
        raise RowError(f"rate {row['rate']!r} is zero; it must be a positive number")
    key = dict(from_currency=_currency(row, "from_currency"), to_currency=_currency(row, "to_currency"),
               effective_from=_required_date(row, "effective_from"))
    stored = conn.execute(select(exchange_rates).where(*[exchange_rates.c[k] == v for k, v in key.items()])).first()
    upsert(conn, exchange_rates, [dict(**key, rate=rate, source=row.get("source"))],
           ["from_currency", "to_currency", "effective_from"], update=["rate", "source"])
    if stored is None or not _same(stored.rate, rate):
        row_id = stored.id if stored is not None else conn.execute(
            select(exchange_rates.c.id).where(*[exchange_rates.c[k] == v for k, v in key.items()])).scalar_one()
        what = f"the exchange rate {key['from_currency']} to {key['to_currency']} from {key['effective_from']}"
        record_reference(conn, who, exchange_rates, row_id, what,
                         None if stored is None else {**key, "rate": stored.rate}, {**key, "rate": rate})


def _licence_fee(conn: Connection, row: Row, who: Who | None = None) -> None:
    ref = text(row, "station_ref")
    station = conn.execute(select(stations.c.id).where(stations.c.station_ref == ref)).scalar()
    if station is None:
        raise RowError(f"station_ref {ref!r} is not a known station; load it with --stations first")
    start, end = _required_date(row, "period_from"), _required_date(row, "period_to")
    if end < start:
        raise RowError(f"period_to {end} is before period_from {start}")
    units = to_units(decimal(row, "amount", minimum=Decimal(0), kind=AMOUNT, required=True))
    keep_or_correct(conn, station_licence_fees, dict(station_id=station, period_from=start, period_to=end),
                    dict(amount=units, currency=_currency(row, "currency")), _used_licence_fee,
                    f"the licence fee of station {ref} for {start} to {end}",
                    "a fee spread is never changed (its parts sum to it): load the correction as a fee of its own "
                    "period, which pool cycles spread like any other", who=who)


# --- the key of each file's rows: the same key twice in one file refuses the file -----
# Each reads its columns as the loader does, so two spellings of one key ("A" and "class_a") meet;
# a key that cannot be read raises, and the loader refuses that row naming the field.

def _society_key(row: Row) -> str:
    # One society may come on several lines of dated fees: the fee's day is part of its key.
    since = iso_date(row, "fee_effective_from")
    return f"society {require_identifier('society_code', row.get('code'))}" + (
        f" with fee_effective_from {since}" if since else "")


def _agreement_key(row: Row) -> str:
    code = require_identifier("society_code", row.get("society_code"))
    return (f"the agreement of society {code} for {(row.get('territory') or 'GH').upper()} "
            f"from {_required_date(row, 'effective_from')}")


def _repertoire_key(row: Row) -> str:
    code = require_identifier("society_code", row.get("society_code"))
    return f"isrc {require_identifier('isrc', row.get('isrc'))} of society {code}"


def _rate_card_key(row: Row) -> str:
    return (f"the rate card {text(row, 'territory').upper()} {station_class(row)} {choice(row, 'period', PERIODS)} "
            f"from {_required_date(row, 'effective_from')}")


def _exchange_rate_key(row: Row) -> str:
    return (f"the exchange rate {text(row, 'from_currency').upper()} to {text(row, 'to_currency').upper()} "
            f"from {_required_date(row, 'effective_from')}")


def _licence_fee_key(row: Row) -> str:
    return (f"the licence fee of station {text(row, 'station_ref')!r} for {_required_date(row, 'period_from')} "
            f"to {_required_date(row, 'period_to')}")


def _loader(handler: Callable[[Connection, Row, Who | None], None], key: RowKey, required: tuple[str, ...],
            optional: tuple[str, ...] = ()) -> Loader:
    def load(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
        load_rows(conn, path, report, lambda c, row: handler(c, row, who), required, optional, key=key)

    load.__doc__ = f"Load {handler.__name__.strip('_')} rows from CSV: columns {', '.join(required)}" + (
        f" (optional: {', '.join(optional)})" if optional else "") + "."
    return load


LOADERS: dict[str, Loader] = {
    "societies": _loader(_society, _society_key, ("code", "name", "short_name", "currency"),
                         ("country", "default_admin_fee_percent", "email", "fee_effective_from")),
    "agreements": _loader(_agreement, _agreement_key, ("society_code", "effective_from", "status"),
                          ("territory", "admin_fee_percent", "expires_on", "reporting_frequency")),
    "repertoire": _loader(_repertoire, _repertoire_key, ("society_code", "isrc"),
                          ("iswc", "title", "artist", "share_percent")),
    "rate_cards": _loader(_rate_card, _rate_card_key, ("territory", "station_class", "period", "rate_per_second",
                                                       "multiplier", "currency", "effective_from"), ("effective_to",)),
    "exchange_rates": _loader(_exchange_rate, _exchange_rate_key,
                              ("from_currency", "to_currency", "rate", "effective_from"), ("source",)),
    "licence_fees": _loader(_licence_fee, _licence_fee_key,
                            ("station_ref", "period_from", "period_to", "amount", "currency")),
}
