"""Configuration: read once, validated, passed explicitly.

Sources, highest first: the process environment, then one ``.env`` file.  The
file is found by a rule that does not depend on the current directory (cron
starts jobs in ``/`` or ``$HOME``): ``ZAMIO_ENV_FILE`` if set, else the
``.env`` beside the installation (the folder holding ``bin/`` and ``zamio/``).
A secret may also come from ``NAME_FILE`` (a path whose content is the value),
as systemd credentials and container secrets provide them.

A missing or invalid setting raises ``ConfigError`` naming the variable, never
its value, before the database or the network is touched.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from zamio.db.url import DatabaseUrl, parse_database_url, parse_replica_urls
from zamio.runtime.errors import ConfigError
from zamio.runtime.install import home
from zamio.values.decimals import NumberFormatError, parse_decimal
from zamio.values.money import currency_exponent, to_units

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Number = TypeVar("Number", int, float)

#: Variables that may be given as ``NAME_FILE`` instead of ``NAME``.
SECRET_VARIABLES = ("DATABASE_URL", "FINGERPRINT_DATABASE_URL", "SMTP_PASSWORD", "ACRCLOUD_ACCESS_SECRET")

#: The station classes, one vocabulary for stations and rate cards.  Each is read in any case, with a
#: space or hyphen for the underscore ("Class A", "class-a"), and A, B, C alone name class_a, class_b, class_c.
STATION_CLASSES = ("class_a", "class_b", "class_c", "online", "community")
STATION_CLASS_ALIASES = {"a": "class_a", "b": "class_b", "c": "class_c"}
#: The images a letterhead's logo may be, told by their first bytes (the logo is embedded in every statement).
IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))
LOGO_MAX_BYTES = 256 * 1024
#: The most capture slots a scan run may have: each is a thread reading one stream (about 16 KB/s, and
#: up to a capture's audio in memory: 320 KB for 20 s of MP3 at 128 kbit/s); a slot holds a 20 s capture
#: about 17 s of real time, so 512 slots take some 2,000 captures in a tick (bench/results/scanning.md).
MAX_SCAN_CONCURRENCY = 512
# A long capture (SCAN_LISTEN_SECONDS) must end, with its slack (10 s) and the run's margin (8 s),
# within a run of --max-seconds (96 by default): ticks come every two minutes and never overlap.
MAX_LISTEN_SECONDS = 75.0
STATION_CLASS_SPELLINGS = ("class_a, class_b, class_c, online, community (any case, a space or hyphen for the "
                           "underscore; A, B and C alone for class_a, class_b and class_c)")


def normalise_station_class(raw: str | None) -> str:
    """Given a station class as written ("Class A", "class-a", "A", "online"), return its key (``class_a``)."""
    text = (raw or "").strip().lower().replace("-", "_").replace(" ", "_")
    return STATION_CLASS_ALIASES.get(text, text)


@dataclass(frozen=True)
class Config:
    """Every setting of zamio.  Built by :func:`load_config`; never read from the environment elsewhere."""

    database_url: str
    var_dir: Path
    host_name: str
    sqlite_busy_timeout_ms: int = 30_000
    #: FINGERPRINT_DATABASE_URL: hot standbys of the PostgreSQL database that serve fingerprint lookups
    fingerprint_database_url: str | None = field(default=None, repr=False)
    ping_url: str | None = None
    ping_timeout_seconds: float = 10.0
    operator_email: str | None = None
    mail_from: str = "zamio <no-reply@localhost>"
    statements_public_base_url: str | None = None
    statement_attachment_max_bytes: int = 5 * 1024 * 1024
    statements_contact: str | None = None
    society_name: str | None = None
    society_address: tuple[str, ...] = ()
    society_logo_file: Path | None = None
    templates_dir: Path | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout_seconds: float = 30.0
    acrcloud_host: str | None = None
    acrcloud_access_key: str | None = None
    acrcloud_access_secret: str | None = field(default=None, repr=False)
    acrcloud_daily_budget: int = 1000
    acrcloud_run_budget: int = 60
    capture_seconds: float = 20.0
    listen_seconds: float = 60.0  # SCAN_LISTEN_SECONDS: a station playing unknown music under titles (0: as any)
    scan_concurrency: int = 192
    scan_interval_seconds: int = 120
    allow_private_streams: bool = False
    snippet_inbox: Path | None = None
    reports_folder: Path | None = None  # REPORTS_DIR: None for var/reports
    statements_folder: Path | None = None  # STATEMENTS_DIR: None for var/cycles
    stream_failure_alert_after: int = 5
    recognition_cache_mb: int = 256
    fingerprint_index_covering: bool = True
    evidence_dispute_window_days: int = 365
    unknown_retention_days: int = 90  # music with no match heard once is forgotten after it (cleanup-old-data)
    #: UNKNOWN_AUTO_NAMING: the fingerprinting jobs name an unknown recording its captures show to be a new track
    unknown_auto_naming: bool = True
    min_payout: tuple[tuple[str, int], ...] = ()  # (currency, units): below it a payee's money is carried forward

    @property
    def database(self) -> DatabaseUrl:
        """``database_url`` parsed (checked by :func:`load_config`)."""
        return parse_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database.is_sqlite

    @property
    def fingerprint_replicas(self) -> tuple[DatabaseUrl, ...]:
        """``fingerprint_database_url`` parsed: the replicas' URLs, none when unset (checked by :func:`load_config`)."""
        return parse_replica_urls(self.fingerprint_database_url, self.database)

    @property
    def inbox_dir(self) -> Path:
        return self.snippet_inbox or self.var_dir / "inbox"

    def reports_dir(self) -> Path:
        """Where reports go without ``--out``: ``REPORTS_DIR``, else ``var/reports``; ConfigError if the folder set is
        missing (a folder inside a shared mount that is not mounted: nothing goes to the local disk instead)."""
        return _existing(self.reports_folder, "REPORTS_DIR") or self.var_dir / "reports"

    def cycles_dir(self) -> Path:
        """Where each cycle's folder of statements goes without ``--out``: ``STATEMENTS_DIR``, else ``var/cycles``;
        ConfigError if the folder set is missing."""
        return _existing(self.statements_folder, "STATEMENTS_DIR") or self.var_dir / "cycles"

    @property
    def acrcloud_configured(self) -> bool:
        return bool(self.acrcloud_host and self.acrcloud_access_key and self.acrcloud_access_secret)


def _existing(folder: Path | None, name: str) -> Path | None:
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"{name} names a folder that does not exist: mount the shared folder it is in (or create "
                          "the folder), or unset it")
    return folder


def find_env_file(environ: Mapping[str, str]) -> Path | None:
    """Return the ``.env`` file to read, or None; raise ConfigError if ``ZAMIO_ENV_FILE`` names a missing file."""
    explicit = environ.get("ZAMIO_ENV_FILE")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("ZAMIO_ENV_FILE names a file that does not exist; fix the path or unset it")
        return path
    default = home(environ) / ".env"
    return default if default.is_file() else None


def gather_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Merge the ``.env`` file under the environment (the environment wins) and resolve ``NAME_FILE`` secrets."""
    environ = dict(os.environ if environ is None else environ)
    settings: dict[str, str] = {}
    env_file = find_env_file(environ)
    if env_file is not None:
        from dotenv import dotenv_values

        settings.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    settings.update(environ)
    for name in SECRET_VARIABLES:
        file_var = f"{name}_FILE"
        if settings.get(file_var) and not settings.get(name):
            try:
                settings[name] = Path(settings[file_var]).read_text().strip()
            except OSError:
                raise ConfigError(f"{file_var} names a file that cannot be read") from None
    return settings


def load_config(environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
    """Build and validate the configuration; ``overrides`` (from command-line flags) win over everything."""
    s = gather_settings(environ)
    reader = _Reader(s)
    var_dir = Path(s.get("ZAMIO_VAR_DIR") or home(s) / "var")
    database_url = s.get("DATABASE_URL") or f"sqlite:///{var_dir / 'zamio.db'}"
    values: dict[str, object] = dict(
        database_url=database_url,
        var_dir=var_dir,
        host_name=s.get("ZAMIO_HOST_NAME") or socket.gethostname(),
        sqlite_busy_timeout_ms=reader.integer("SQLITE_BUSY_TIMEOUT_MS", 30_000, minimum=0),
        fingerprint_database_url=reader.text("FINGERPRINT_DATABASE_URL"),
        ping_url=reader.url("ZAMIO_PING_URL"),
        ping_timeout_seconds=reader.number("ZAMIO_PING_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        operator_email=reader.email("ZAMIO_OPERATOR_EMAIL"),
        mail_from=s.get("ZAMIO_MAIL_FROM") or "zamio <no-reply@localhost>",
        statements_public_base_url=reader.url("STATEMENTS_PUBLIC_BASE_URL"),
        statement_attachment_max_bytes=reader.integer("STATEMENT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=0),
        statements_contact=reader.email("STATEMENTS_CONTACT"),
        society_name=reader.text("SOCIETY_NAME"),
        society_address=reader.lines("SOCIETY_ADDRESS"),
        society_logo_file=reader.image("SOCIETY_LOGO_FILE", LOGO_MAX_BYTES),
        templates_dir=reader.existing_folder("TEMPLATES_DIR"),
        smtp_host=s.get("SMTP_HOST") or None,
        smtp_port=reader.integer("SMTP_PORT", 25, minimum=1, maximum=65535),
        smtp_security=reader.choice("SMTP_SECURITY", "none", ("none", "starttls", "ssl")),
        smtp_user=s.get("SMTP_USER") or None,
        smtp_password=s.get("SMTP_PASSWORD") or None,
        smtp_timeout_seconds=reader.number("SMTP_TIMEOUT_SECONDS", 30.0, minimum=0.1),
        acrcloud_host=s.get("ACRCLOUD_HOST") or None,
        acrcloud_access_key=s.get("ACRCLOUD_ACCESS_KEY") or None,
        acrcloud_access_secret=s.get("ACRCLOUD_ACCESS_SECRET") or None,
        acrcloud_daily_budget=reader.integer("ACRCLOUD_DAILY_BUDGET", 1000, minimum=0),
        acrcloud_run_budget=reader.integer("ACRCLOUD_RUN_BUDGET", 60, minimum=0),
        capture_seconds=reader.number("SCAN_CAPTURE_SECONDS", 20.0, minimum=3.0, maximum=120.0),
        listen_seconds=reader.number("SCAN_LISTEN_SECONDS", 60.0, minimum=0.0, maximum=MAX_LISTEN_SECONDS),
        scan_concurrency=reader.integer("SCAN_CONCURRENCY", 192, minimum=1, maximum=MAX_SCAN_CONCURRENCY),
        scan_interval_seconds=reader.integer("SCAN_INTERVAL_SECONDS", 120, minimum=10),
        allow_private_streams=reader.boolean("SCAN_ALLOW_PRIVATE_ADDRESSES", False),
        snippet_inbox=Path(s["SNIPPET_INBOX"]) if s.get("SNIPPET_INBOX") else None,
        reports_folder=reader.absolute_folder("REPORTS_DIR"),
        statements_folder=reader.absolute_folder("STATEMENTS_DIR"),
        stream_failure_alert_after=reader.integer("STREAM_FAILURE_ALERT_AFTER", 5, minimum=1),
        recognition_cache_mb=reader.integer("RECOGNITION_CACHE_MB", 256, minimum=0),
        fingerprint_index_covering=reader.boolean("FINGERPRINT_INDEX_COVERING", True),
        evidence_dispute_window_days=reader.integer("EVIDENCE_DISPUTE_WINDOW_DAYS", 365, minimum=0),
        unknown_retention_days=reader.integer("UNKNOWN_RETENTION_DAYS", 90, minimum=1),
        unknown_auto_naming=reader.boolean("UNKNOWN_AUTO_NAMING", True),
        min_payout=reader.amounts("MIN_PAYOUT"),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    database = parse_database_url(str(values["database_url"]))  # raises ConfigError naming DATABASE_URL
    parse_replica_urls(values["fingerprint_database_url"], database)  # type: ignore[arg-type]  # str | None
    _check_acrcloud(s)
    return Config(**values)  # type: ignore[arg-type]


def _check_acrcloud(s: Mapping[str, str]) -> None:
    names = ("ACRCLOUD_HOST", "ACRCLOUD_ACCESS_KEY", "ACRCLOUD_ACCESS_SECRET")
    given = [n for n in names if s.get(n)]
    if given and len(given) != len(names):
        missing = ", ".join(n for n in names if n not in given)
        raise ConfigError(f"ACRCloud is half configured: set {missing} as well, or unset all three")


class _Reader:
    """Typed access to raw settings; every failure names the variable and what it expects."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.settings = settings

    def _raw(self, name: str) -> str | None:
        value = self.settings.get(name)
        return value.strip() if value and value.strip() else None

    def integer(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
        return self._bounded(name, value, minimum, maximum)

    def number(self, name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None
        return self._bounded(name, value, minimum, maximum)

    @staticmethod
    def _bounded(name: str, value: Number, minimum: Number | None, maximum: Number | None) -> Number:
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be at most {maximum}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() not in choices:
            raise ConfigError(f"{name} must be one of: {', '.join(choices)}")
        return raw.lower()

    def url(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is not None and not raw.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must be an http:// or https:// URL")
        return raw

    def amounts(self, name: str) -> tuple[tuple[str, int], ...]:
        """``GHS=20.00,USD=10.00``: an amount in major units per currency, as (currency, units) in currency order."""
        raw = self._raw(name)
        if raw is None:
            return ()
        shape = f"{name} must be CURRENCY=AMOUNT pairs separated by commas, e.g. GHS=20.00,USD=10.00"
        found: dict[str, int] = {}
        for item in raw.split(","):
            currency, equals, amount = item.strip().partition("=")
            currency = currency.strip().upper()
            if not equals or currency in found:
                raise ConfigError(shape + (f" (each currency once: {currency} twice)" if equals else ""))
            try:
                currency_exponent(currency)
                value = parse_decimal(amount)
                found[currency] = to_units(value)
            except (ValueError, NumberFormatError):
                raise ConfigError(f"{shape} ({currency or 'an empty currency'}: a known currency code and an amount "
                                  "of at most 4 decimal places)") from None
            if value < 0:
                raise ConfigError(f"{name}: the minimum of {currency} is negative")
        return tuple(sorted(found.items()))

    def absolute_folder(self, name: str) -> Path | None:
        """A folder named by its absolute path (whether it is there is checked by the job that writes in it)."""
        raw = self._raw(name)
        if raw is not None and not Path(raw).is_absolute():
            raise ConfigError(f"{name} must be an absolute path (jobs start in / under cron)")
        return Path(raw) if raw is not None else None

    def email(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is not None and ("@" not in raw or " " in raw):
            raise ConfigError(f"{name} must be an e-mail address")
        return raw

    def text(self, name: str) -> str | None:
        return self._raw(name)

    def lines(self, name: str) -> tuple[str, ...]:
        """Lines of text given on one line, separated by ``;`` (or by line feeds), each stripped."""
        raw = self._raw(name)
        if raw is None:
            return ()
        return tuple(part.strip() for part in raw.replace("\n", ";").split(";") if part.strip())

    def existing_folder(self, name: str) -> Path | None:
        raw = self._raw(name)
        if raw is not None and not Path(raw).is_dir():
            raise ConfigError(f"{name} must name an existing folder")
        return Path(raw) if raw is not None else None

    def image(self, name: str, max_bytes: int) -> Path | None:
        """A readable PNG, JPEG, GIF or SVG file of at most ``max_bytes``."""
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            with open(raw, "rb") as image:
                head = image.read(max_bytes + 1)
        except OSError:
            raise ConfigError(f"{name} names a file that cannot be read") from None
        if len(head) > max_bytes:
            raise ConfigError(f"{name} must be at most {max_bytes // 1024} KiB (it is embedded in every statement)")
        if image_type(head) is None:
            raise ConfigError(f"{name} must be a PNG, JPEG, GIF or SVG image")
        return Path(raw)


def image_type(data: bytes) -> str | None:
    """Given an image file's bytes, return its media type if it is one a letterhead may show, else None."""
    found = next((media for magic, media in IMAGE_TYPES if data.startswith(magic)), None)
    if found is None and data.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "image/svg+xml"
    return found
