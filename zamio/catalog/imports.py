"""The catalog from CSV: tracks (with artists and publishers), artists, stations (with stream links), contributors.

Each ``load_*`` function is a loader of ``zamio.files.csvread`` (``loader(conn,
path, report)``).  Re-importing a file is an idempotent upsert by the row's
reference (``track_ref``, ``station_ref``, (track, party, role)); artists and
publishers are created from their names (reference: a slug of the name).  A file
giving one reference twice has the later line refused, naming the earlier one.

The artists file gives what the tracks file cannot: an artist's e-mail address,
whether she receives the weekly summary (``weekly_summary`` yes or no) and her
default publisher (``publisher``: the publisher paid for her works that name none of
their own; empty for none).  The weekly summary column, in the artists and the
stations file, keeps what is stored when it is empty or absent (yes for a new row),
so an older file loaded again never subscribes anyone back; a file without the
publisher column keeps the publisher stored.

A re-imported track whose ``audio_path`` changed is queued again in
``fingerprint_work``, so ``auto-fingerprint-new-tracks`` fingerprints the new
audio; its old rows stay searchable until the new set replaces them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Select, and_, select, update

from zamio.catalog.identifiers import (
    normalise_ipi_name,
    normalise_isrc,
    normalise_iswc,
    normalise_society_code,
    validate_ipi_name,
    validate_isrc,
    validate_iswc,
)
from zamio.db import audit
from zamio.db.audit import Who
from zamio.db.engine import insert_ignore, upsert, utcnow
from zamio.db.tables import (
    artists,
    contributors,
    fingerprint_work,
    partner_repertoire,
    partner_societies,
    publishers,
    stations,
    stream_links,
    tracks,
)
from zamio.files import csvread as cv
from zamio.files.csvread import ImportReport, Loader, Row, RowError
from zamio.runtime.errors import EXIT_DATA, DataError, UsageError
from zamio.runtime.progress import Progress, Transactions
from zamio.streams.errors import StreamRefused
from zamio.streams.safety import parse_target
from zamio.values.decimals import PERCENT, SECONDS

CATEGORIES = ("music", "jingle", "ad", "ident")

TRACK_COLUMNS = ("track_ref", "title", "artist", "audio_path")
TRACK_OPTIONAL = ("isrc", "iswc", "album", "duration_seconds", "publisher", "category", "society_code")
STATION_COLUMNS = ("station_ref", "name", "city", "region", "station_class", "stream_url")
STATION_OPTIONAL = ("backup_stream_url", "timezone", "contact_email", "weekly_summary")
ARTIST_COLUMNS = ("artist",)
ARTIST_OPTIONAL = ("email", "weekly_summary", "publisher")
CONTRIBUTOR_COLUMNS = ("track_ref", "name", "role", "share_percent")
CONTRIBUTOR_OPTIONAL = ("publisher", "email", "ipi")


def load_tracks(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
    """Load a tracks CSV (``TRACK_COLUMNS`` + ``TRACK_OPTIONAL``); a relative
    ``audio_path`` is taken relative to the CSV's folder and stored absolute."""
    folder = Path(path).resolve().parent
    cv.load_rows(conn, path, report, lambda c, row: upsert_track(c, row, folder), TRACK_COLUMNS, TRACK_OPTIONAL,
                 key=_reference_key("track_ref"))


def load_stations(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
    """Load a stations CSV (``STATION_COLUMNS`` + ``STATION_OPTIONAL``)."""
    cv.load_rows(conn, path, report, upsert_station, STATION_COLUMNS, STATION_OPTIONAL,
                 key=_reference_key("station_ref"))


def load_artists(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
    """Load an artists CSV (``ARTIST_COLUMNS`` + ``ARTIST_OPTIONAL``): each artist's e-mail address, weekly
    summary setting and default publisher; an artist the tracks have not named yet is added."""
    cv.load_rows(conn, path, report, upsert_artist, ARTIST_COLUMNS, ARTIST_OPTIONAL, key=_artist_key)


def load_contributors(conn: Connection, path: Path, report: ImportReport, who: Who | None = None) -> None:
    """Load a contributors CSV (``CONTRIBUTOR_COLUMNS`` + ``CONTRIBUTOR_OPTIONAL``); a share set or changed is
    recorded in the audit log by ``who``."""
    cv.load_rows(conn, path, report, lambda c, row: upsert_contributor(c, row, who), CONTRIBUTOR_COLUMNS,
                 CONTRIBUTOR_OPTIONAL, key=_contributor_key)


def _reference_key(column: str) -> cv.RowKey:
    """The key of a file whose rows are upserted by one reference column."""
    def key(row: Row) -> str | None:
        value = row.get(column)
        return f"{column} {value!r}" if value else None

    return key


def _artist_key(row: Row) -> str | None:
    """The key ``upsert_artist`` stores a row by: the reference its name makes (two spellings of one name clash)."""
    name = row.get("artist")
    try:
        return f"artist {cv.slug(name)!r}" if name else None
    except RowError:  # refused by the row's own handler, with its reason
        return None


def _contributor_key(row: Row) -> str | None:
    """The key ``upsert_contributor`` stores a row by: its track, party and role."""
    ref, name, role = row.get("track_ref"), row.get("name"), row.get("role")
    if not (ref and name and role):
        return None
    ipi = normalise_ipi_name(row.get("ipi"))
    if row.get("ipi") and validate_ipi_name(ipi):
        return None
    return f"contributor {ipi or cv.slug(name)} as {role.lower()} of track_ref {ref!r}"


LOADERS: dict[str, Loader] = {"tracks": load_tracks, "artists": load_artists, "stations": load_stations,
                              "contributors": load_contributors}


def ensure_artist(conn: Connection, name: str) -> int:
    """Return the id of the artist whose reference is the slug of ``name``, creating it."""
    ref = cv.slug(name)
    insert_ignore(conn, artists, [dict(artist_ref=ref, name=name, created_at=utcnow())], ["artist_ref"])
    return conn.execute(select(artists.c.id).where(artists.c.artist_ref == ref)).scalar_one()


def upsert_artist(conn: Connection, row: Row) -> int:
    """Set the e-mail address (empty: none), when given the weekly summary setting and, when the file has the
    column, the default publisher (empty: none) of the artist of one CSV row, adding the artist if the tracks
    have not named her yet; return her id.  Raise RowError on a bad field."""
    values: dict[str, object] = {"email": cv.email(row, "email")}
    subscribed = cv.yes_no(row, "weekly_summary")
    if subscribed is not None:
        values["weekly_summary"] = subscribed
    if "publisher" in row:
        publisher = row["publisher"]
        values["publisher_id"] = ensure_publisher(conn, publisher) if publisher else None
    artist_id = ensure_artist(conn, cv.text(row, "artist"))
    conn.execute(update(artists).where(artists.c.id == artist_id).values(**values))
    return artist_id


def ensure_publisher(conn: Connection, name: str) -> int:
    """Return the id of the publisher whose reference is the slug of ``name``, creating it."""
    ref = cv.slug(name)
    insert_ignore(conn, publishers, [dict(publisher_ref=ref, name=name, created_at=utcnow())], ["publisher_ref"])
    return conn.execute(select(publishers.c.id).where(publishers.c.publisher_ref == ref)).scalar_one()


def upsert_track(conn: Connection, row: Row, folder: Path) -> int:
    """Insert or update the track of one CSV row; return its id.  Raise RowError on a bad field."""
    values = _track_values(conn, row, folder)
    old = conn.execute(select(tracks.c.id, tracks.c.audio_path)
                       .where(tracks.c.track_ref == values["track_ref"])).first()
    now = utcnow()
    upsert(conn, tracks, [dict(values, created_at=now, updated_at=now)], keys=["track_ref"],
           update=[*values, "updated_at"])
    track_id = conn.execute(select(tracks.c.id).where(tracks.c.track_ref == values["track_ref"])).scalar_one()
    if old is not None and old.audio_path != values["audio_path"]:
        _refingerprint(conn, track_id)
    return track_id


def _track_values(conn: Connection, row: Row, folder: Path) -> dict[str, object]:
    audio_path = row.get("audio_path")
    if audio_path and not Path(audio_path).is_absolute():
        audio_path = str(folder / audio_path)
    publisher = row.get("publisher")
    return dict(
        track_ref=cv.text(row, "track_ref"),
        title=cv.text(row, "title"),
        artist_id=ensure_artist(conn, cv.text(row, "artist")),
        publisher_id=ensure_publisher(conn, publisher) if publisher else None,
        society_id=_society_id(conn, row.get("society_code")),
        album=row.get("album"),
        isrc=_checked(row, "isrc", normalise_isrc, validate_isrc),
        iswc=_checked(row, "iswc", normalise_iswc, validate_iswc),
        duration_seconds=cv.number(row, "duration_seconds", minimum=Decimal(0), kind=SECONDS),
        audio_path=audio_path,
        category=cv.choice(row, "category", CATEGORIES, default="music"),
    )


def _checked(row: Row, name: str, normalise: Callable[[str], str | None],
             validate: Callable[[str | None], str | None]) -> str | None:
    raw = row.get(name)
    if raw is None:
        return None
    value = normalise(raw)
    problem = validate(value)
    if problem:
        raise RowError(f"{name} {raw!r}: {problem}")
    return value


def _society_id(conn: Connection, raw: str | None) -> int | None:
    if raw is None:
        return None
    code = normalise_society_code(raw)
    found = conn.execute(select(partner_societies.c.id).where(partner_societies.c.code == code)).scalar()
    if found is None:
        raise RowError(f"society_code {raw!r} is not a partner society here; import it with --societies first")
    return found


def _refingerprint(conn: Connection, track_id: int) -> None:
    # The audio changed: queue the track again.  Its old rows stay searchable until
    # store_fingerprints replaces them with the new file's.
    upsert(conn, fingerprint_work, [dict(track_id=track_id, status="pending", attempts=0, next_attempt_at=None,
                                         last_error=None, updated_at=utcnow())], keys=["track_id"])


def upsert_station(conn: Connection, row: Row) -> int:
    """Insert or update the station of one CSV row and its stream links (primary
    ``stream_url`` priority 0, ``backup_stream_url`` priority 1; other links of the
    station are deactivated); return its id.  An empty ``stream_url`` is a station
    without a public stream, which uploads recordings instead.  Raise RowError on a bad field."""
    values: dict[str, object] = dict(
        station_ref=cv.text(row, "station_ref"),
        name=cv.text(row, "name"),
        city=row.get("city"),
        region=row.get("region"),
        station_class=cv.station_class(row),
        timezone=_timezone(row.get("timezone") or "Africa/Accra"),
        contact_email=cv.email(row, "contact_email"),
    )
    subscribed = cv.yes_no(row, "weekly_summary")
    if subscribed is not None:  # empty: the stored setting stays (a new station: yes)
        values["weekly_summary"] = subscribed
    upsert(conn, stations, [dict(values, created_at=utcnow())], keys=["station_ref"], update=list(values))
    station_id = conn.execute(select(stations.c.id).where(stations.c.station_ref == values["station_ref"])).scalar_one()
    urls = [_stream_url(row, name) for name in ("stream_url", "backup_stream_url") if row.get(name)]
    if not row.get("stream_url") and urls:
        raise RowError("backup_stream_url is given without stream_url; give the primary stream first")
    _set_stream_links(conn, station_id, urls)
    return station_id


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RowError(f"timezone {name!r} is not an IANA time zone such as Africa/Accra") from None
    return name


def _stream_url(row: Row, name: str) -> str:
    """The URL of column ``name``, stored as written; refused here if the scan could not read it either
    (``zamio.streams.safety.parse_target``: no host, a bad port, a host with no IDNA form)."""
    url = cv.text(row, name)
    if not url.lower().startswith(("http://", "https://")):
        raise RowError(f"{name} {url!r} must start with http:// or https://")
    try:
        parse_target(url)
    except StreamRefused as error:
        raise RowError(f"{name}: {error}") from None
    return url


def _set_stream_links(conn: Connection, station_id: int, urls: list[str]) -> None:
    now = utcnow()
    rows = [dict(station_id=station_id, url=url, priority=priority, active=True, created_at=now)
            for priority, url in enumerate(urls)]
    upsert(conn, stream_links, rows, keys=["station_id", "url"], update=["priority", "active"])
    conn.execute(update(stream_links).where(and_(stream_links.c.station_id == station_id,
                                                 stream_links.c.url.not_in(urls))).values(active=False))


def upsert_contributor(conn: Connection, row: Row, who: Who | None = None) -> None:
    """Insert or update one contributor of a track (key: track, party, role), where the
    party is the IPI name number when valid, else a slug of the name; a share set or
    changed (percent or publisher) is recorded in the audit log by ``who``.  Raise
    RowError on a bad field or an unknown track."""
    ref = cv.text(row, "track_ref")
    track_id = conn.execute(select(tracks.c.id).where(tracks.c.track_ref == ref)).scalar()
    if track_id is None:
        raise RowError(f"track_ref {ref!r} is not in the catalog; import it with --tracks first")
    name = cv.text(row, "name")
    ipi = normalise_ipi_name(row.get("ipi")) if row.get("ipi") else None
    if row.get("ipi") and validate_ipi_name(ipi):
        raise RowError(f"ipi {row.get('ipi')!r}: {validate_ipi_name(ipi)}")
    publisher = row.get("publisher")
    values = dict(
        track_id=track_id,
        party_ref=ipi or cv.slug(name),
        name=name,
        role=cv.text(row, "role").lower(),
        share_percent=cv.decimal(row, "share_percent", minimum=Decimal(0), maximum=Decimal(100), kind=PERCENT,
                                 required=True),
        publisher_id=ensure_publisher(conn, publisher) if publisher else None,
        email=cv.email(row, "email"),
        ipi=ipi,
    )
    key = [contributors.c[k] == values[k] for k in ("track_id", "party_ref", "role")]
    stored = conn.execute(select(contributors.c.id, contributors.c.share_percent, contributors.c.publisher_id)
                          .where(*key)).first()
    upsert(conn, contributors, [dict(values, created_at=utcnow())], keys=["track_id", "party_ref", "role"],
           update=["name", "share_percent", "publisher_id", "email", "ipi"])
    share = {"track_ref": ref, "party_ref": values["party_ref"], "role": values["role"],
             "share_percent": values["share_percent"], "publisher": publisher}
    if who is None or (stored is not None and stored.share_percent == values["share_percent"]
                       and stored.publisher_id == values["publisher_id"]):
        return
    before = None if stored is None else {**share, "share_percent": stored.share_percent,
                                          "publisher_id": stored.publisher_id}
    row_id = stored.id if stored is not None else conn.execute(select(contributors.c.id).where(*key)).scalar_one()
    audit.record(conn, who, audit.Change("reference.added" if stored is None else "reference.corrected",
                                         "contributors", str(row_id), before=before,
                                         after={**share, "publisher_id": values["publisher_id"]}))


# --- several files in one import --------------------------------------------------

REFERENCE_FILES = ("societies", "agreements", "repertoire", "rate_cards", "exchange_rates", "licence_fees")
#: What payouts read (zamio.catalog.payees): the domestic commission, withholding tax rates, payees.
PAYOUT_FILES = ("commission_rates", "withholding_rates", "payees")
#: Files that set money (rates, multipliers, fees, exchange rates, shares, and who is owed a recording):
#: each loads whole or not at all, since half a tariff or half a share table prices plays wrongly
#: without anybody noticing.  Tracks and stations load row by row.
MONEY_FILES = (*REFERENCE_FILES, *PAYOUT_FILES, "contributors")


def import_catalog(transactions: Transactions, files: Sequence[tuple[str, Path]], progress: Progress,
                   who: Who | None = None) -> int | None:
    """Given the files to load as (name in ``terms.IMPORT_ORDER``, path), in that order, load them all in
    one transaction (a file that cannot be used at all writes nothing); count each loaded row ok and
    each rejected row failed.  Return ``EXIT_DATA`` (65) if a row was refused as bad data (a change
    to a reference row already used, ``zamio.catalog.reference``), else None: the failed rows make
    the run exit 1.

    A file of ``MONEY_FILES`` loads whole or not at all: one rejected row in any of them,
    whatever its reason, refuses the whole import (DataError, exit 65) after every
    rejected row is listed.  Each money reference row added or corrected, and each
    contributor share set or changed, is recorded in the audit log by ``who``; so is, as one
    entry naming the rows, an import that adds or changes what else decides money (``MONEY_FACTS``).
    """
    loaders = {name: _loader(name) for name, _ in files}
    for name, path in files:
        if not path.is_file():
            raise DataError(f"--{name.replace('_', '-')} {path}: no such file")
    reports = []
    with transactions() as conn:  # an unusable file (DataError) rolls back every file
        before = money_facts(conn)
        for name, path in files:
            reports.append((name, path, ImportReport(name=path.name)))
            loaders[name](conn, path, reports[-1][2], who)
        record_import(conn, who, [path for _, path in files], before, money_facts(conn))
        for _name, path, report in reports:
            for line, reason in report.errors:
                progress.failed(f"{path} line {line}", reason)
        refused = [(path, report) for name, path, report in reports if name in MONEY_FILES and report.errors]
        if refused:
            raise DataError(_refusal(refused))
    for _name, _path, report in reports:
        progress.ok(report.rows_ok)
        progress.note(report.summary)
    return EXIT_DATA if any(report.exit_code == EXIT_DATA for _, _, report in reports) else None


#: The rows that decide money, or name who is paid, and that the per-row entries (reference rows, shares) do not
#: record: a track's artist, publisher, society, ISRC and category; an artist's default publisher; a station's
#: class, time zone and territory; a partner society's claim to an ISRC; a partner society's names (the names its
#: statements and remittances show), country and currency.  Each query gives the row's id, its reference as people
#: write it in the files, then the columns compared.  An import that changes any is recorded as one entry, naming
#: the rows.
MONEY_FACTS: dict[str, Select[Any]] = {
    "tracks": select(tracks.c.id, tracks.c.track_ref.label("ref"), artists.c.name.label("artist"),
                     publishers.c.name.label("publisher"), partner_societies.c.code.label("society"), tracks.c.isrc,
                     tracks.c.category)
    .select_from(tracks.outerjoin(artists, artists.c.id == tracks.c.artist_id)
                 .outerjoin(publishers, publishers.c.id == tracks.c.publisher_id)
                 .outerjoin(partner_societies, partner_societies.c.id == tracks.c.society_id)),
    "artists": select(artists.c.id, artists.c.artist_ref.label("ref"), publishers.c.name.label("publisher"))
    .select_from(artists.outerjoin(publishers, publishers.c.id == artists.c.publisher_id)),
    "stations": select(stations.c.id, stations.c.station_ref.label("ref"), stations.c.station_class,
                       stations.c.timezone, stations.c.country),
    "partner_repertoire": select(partner_repertoire.c.id,
                                 (partner_societies.c.code + " " + partner_repertoire.c.isrc).label("ref"),
                                 partner_repertoire.c.share_percent)
    .select_from(partner_repertoire.join(partner_societies, partner_societies.c.id == partner_repertoire.c.society_id)),
    "partner_societies": select(partner_societies.c.id, partner_societies.c.code.label("ref"),
                                partner_societies.c.name, partner_societies.c.short_name, partner_societies.c.country,
                                partner_societies.c.currency),
}

#: A table's rows by id: (the row's reference, its compared columns by name).
Facts = dict[int, tuple[str, dict[str, object]]]


def money_facts(conn: Connection) -> dict[str, Facts]:
    """The compared columns of every row of the ``MONEY_FACTS`` tables, by table and row id."""
    return {table: {row.id: (str(row.ref), {k: v for k, v in row._mapping.items() if k not in ("id", "ref")})
                    for row in conn.execute(query)}
            for table, query in MONEY_FACTS.items()}


def record_import(conn: Connection, who: Who | None, paths: Sequence[Path],
                  before: dict[str, Facts], after: dict[str, Facts]) -> int | None:
    """Given an import's files and the ``money_facts`` before and after it, record one audit entry
    (``catalog.imported``) when any row was added or changed, and return its id (None when none was).

    Per table, the entry's before holds the row count and, for each changed row (by its reference), the
    values of the columns that changed; its after, the row count, the counts and references of the rows added
    and, for each changed row, the new values of those columns."""
    told_before: dict[str, object] = {}
    told_after: dict[str, object] = {}
    changed = False
    for table in MONEY_FACTS:
        old, new = before[table], after[table]
        added = sorted(new[key][0] for key in new.keys() - old.keys())
        moved = {key: [c for c, v in new[key][1].items() if old[key][1].get(c) != v]
                 for key in sorted(new.keys() & old.keys())}
        moved = {key: columns for key, columns in moved.items() if columns}
        told_before[table] = {"rows": len(old), "changed_rows": {
            old[key][0]: {c: old[key][1][c] for c in columns} for key, columns in moved.items()}}
        told_after[table] = {"rows": len(new), "added": len(added), "changed": len(moved), "added_rows": added,
                             "changed_rows": {new[key][0]: {c: new[key][1][c] for c in columns}
                                              for key, columns in moved.items()}}
        changed = changed or bool(added or moved)
    if not changed:
        return None
    who = who or Who(audit.UNATTRIBUTED, f"loaded from {', '.join(p.name for p in paths)}")
    return audit.record(conn, who, audit.Change(
        "catalog.imported", "catalog", ", ".join(p.name for p in paths), before=told_before, after=told_after))


def _refusal(refused: list[tuple[Path, ImportReport]]) -> str:
    """The message refusing an import with bad rows in money files: each file, and its first bad row."""
    files = "; ".join(f"{path}: {len(report.errors)} bad row{'' if len(report.errors) == 1 else 's'}, the first "
                      f"line {report.errors[0][0]}: {report.errors[0][1]}" for path, report in refused)
    return (f"{files}. Money reference data loads whole or not at all, so nothing was imported: correct every "
            "row listed above and import the files again")


def _loader(name: str) -> Loader:
    if name in PAYOUT_FILES:
        from zamio.catalog.payees import LOADERS as PAYOUT_LOADERS

        return PAYOUT_LOADERS[name]
    if name not in REFERENCE_FILES:
        return LOADERS[name]
    try:
        from zamio.catalog.reference import LOADERS as REFERENCE_LOADERS
    except ImportError:
        raise UsageError(f"--{name.replace('_', '-')} is not available in this installation "
                         "(zamio.catalog.reference is missing)") from None
    if name not in REFERENCE_LOADERS:
        raise UsageError(f"--{name.replace('_', '-')} is not available in this installation")
    return REFERENCE_LOADERS[name]
