"""Typed errors shared by every layer.

The library raises these; only the job runner (``zamio.runtime.runner``) turns them into
process exit codes (sysexits), so the mapping lives in exactly one place.

``ItemError`` and its subclasses describe a problem with one item of a batch
(a track, a stream link, a detection, a CSV row): the job records the reason on
that item and carries on with the rest.  The other classes describe a problem
with the whole run.
"""

from __future__ import annotations

# Exit codes (sysexits.h), decided here and read only by the runner.
EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2
EXIT_DATA = 65
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_CANTCREAT = 73
EXIT_TEMPFAIL = 75
EXIT_CONFIG = 78


class ZamioError(Exception):
    """Base of every error zamio raises on purpose."""

    exit_code = EXIT_SOFTWARE


class UsageError(ZamioError):
    """The command line was wrong (an unknown option, a missing argument)."""

    exit_code = EXIT_USAGE


class ConfigError(ZamioError):
    """A setting is missing or invalid.  The message names the variable, never its value."""

    exit_code = EXIT_CONFIG


class DataError(ZamioError):
    """The input data of the whole run is unusable (an unreadable CSV, a bad header)."""

    exit_code = EXIT_DATA


class ServiceUnavailable(ZamioError):
    """A service the run needs is unreachable (the database, SMTP, a missing ffmpeg)."""

    exit_code = EXIT_UNAVAILABLE


class CannotWrite(ZamioError):
    """A file the run must write (the SQLite database, its folder, a lock file) is not writable by
    this user.  The message names the file and the permission to give."""

    exit_code = EXIT_CANTCREAT


class TemporaryFailure(ZamioError):
    """A fault that the next run will probably not meet (a busy lock, a rate limit)."""

    exit_code = EXIT_TEMPFAIL


class LockHeld(TemporaryFailure):
    """Another run of the same job holds its lock."""


class ItemError(ZamioError):
    """One item of a batch failed; the reason is recorded on the item and the batch goes on.

    ``reason`` is a short stable code (``corrupt_audio``, ``http_404``) that is stored
    in the database and can be grouped in reports; the message is for people.
    """

    exit_code = EXIT_ITEMS_FAILED
    reason = "item_failed"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
