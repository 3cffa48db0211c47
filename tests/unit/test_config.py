"""Configuration: one validated object, every variable documented, secrets never echoed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT
from zamio.runtime import config
from zamio.runtime.errors import ConfigError


def variables_read_by_config() -> set[str]:
    source = (ROOT / "zamio" / "runtime" / "config.py").read_text()
    return set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source)) - {"NAME"}


def test_every_variable_is_documented_in_env_example_and_readme() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in variables_read_by_config():
        assert name in example, f"{name} is missing from .env.example"
        assert name in readme, f"{name} is missing from the README"


def test_defaults_need_nothing(tmp_path: Path) -> None:
    loaded = config.load_config({"ZAMIO_VAR_DIR": str(tmp_path)})
    assert loaded.database_url == f"sqlite:///{tmp_path / 'zamio.db'}"
    assert loaded.is_sqlite and loaded.inbox_dir == tmp_path / "inbox"


@pytest.mark.parametrize(
    "name, value",
    [("SMTP_PORT", "x-secret-1"), ("SCAN_CONCURRENCY", "0"), ("SMTP_SECURITY", "tls-secret"),
     ("ZAMIO_PING_URL", "ftp://secret"), ("DATABASE_URL", "mysql://secret"), ("SCAN_ALLOW_PRIVATE_ADDRESSES", "maybe")],
)
def test_invalid_values_name_the_variable_not_the_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load_config({name: value})
    assert name in str(caught.value) and "secret" not in str(caught.value) and value not in str(caught.value)


def test_scan_slots_go_up_to_512() -> None:
    assert config.load_config({"SCAN_CONCURRENCY": "512"}).scan_concurrency == 512
    with pytest.raises(ConfigError, match="SCAN_CONCURRENCY"):
        config.load_config({"SCAN_CONCURRENCY": "513"})


def test_secrets_may_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2\n")
    loaded = config.load_config({"SMTP_PASSWORD_FILE": str(tmp_path / "pw")})
    assert loaded.smtp_password == "hunter2" and "hunter2" not in repr(loaded)


def test_half_configured_acrcloud_is_refused() -> None:
    with pytest.raises(ConfigError, match="ACRCLOUD_ACCESS_SECRET"):
        config.load_config({"ACRCLOUD_HOST": "h", "ACRCLOUD_ACCESS_KEY": "k"})


def test_missing_env_file_named_explicitly_is_an_error() -> None:
    with pytest.raises(ConfigError, match="ZAMIO_ENV_FILE"):
        config.load_config({"ZAMIO_ENV_FILE": "/nonexistent/zamio.env"})


def test_an_inline_comment_in_env_is_not_part_of_the_value(tmp_path: Path) -> None:
    """Cron and the systemd timers alike read .env through this one parser (the units name no EnvironmentFile)."""
    env_file = tmp_path / "zamio.env"
    env_file.write_text("SMTP_PORT=587 # the submission port\nSMTP_HOST='mail.example.org'  # quoted\n")
    loaded = config.load_config({"ZAMIO_ENV_FILE": str(env_file)})
    assert loaded.smtp_port == 587 and loaded.smtp_host == "mail.example.org"


def test_a_postgresql_url_without_its_driver_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from zamio.db.url import parse_database_url

    for name in ("psycopg2", "psycopg2.extensions"):
        monkeypatch.setitem(__import__("sys").modules, name, None)  # as on a host installed without it
    with pytest.raises(ConfigError) as refused:
        parse_database_url("postgresql://zamio:secret@db.example/zamio")
    message = str(refused.value)
    assert "psycopg2 is not installed" in message and ".[postgres]" in message and ".[postgres-source]" in message
    assert "secret" not in message
    assert parse_database_url("sqlite:///var/zamio.db").libpq_dsn is None  # SQLite needs no driver


PRIMARY = "postgresql://zamio:primary-secret@db.example:5432/zamio"


def test_fingerprint_replicas_are_read_from_a_comma_separated_list(tmp_path: Path) -> None:
    loaded = config.load_config({"ZAMIO_VAR_DIR": str(tmp_path), "DATABASE_URL": PRIMARY,
                                 "FINGERPRINT_DATABASE_URL": " postgresql://zamio:p%2Cw@replica-1/zamio , "
                                                             "postgres://zamio@replica-2:5433/zamio"})
    assert [url.display for url in loaded.fingerprint_replicas] == [
        "postgresql://zamio@replica-1/zamio", "postgresql://zamio@replica-2:5433/zamio"]
    assert loaded.fingerprint_replicas[0].sqlalchemy_url.password == "p,w"  # a comma in a password is %2C
    assert "p%2Cw" not in repr(loaded) and "p,w" not in repr(loaded)
    unset = config.load_config({"ZAMIO_VAR_DIR": str(tmp_path), "DATABASE_URL": PRIMARY})
    assert unset.fingerprint_replicas == ()


@pytest.mark.parametrize(
    "primary, replicas, message",
    [("sqlite:///zamio.db", "postgresql://zamio:replica-secret@replica-1/zamio",
      "FINGERPRINT_DATABASE_URL names read replicas of PostgreSQL, but DATABASE_URL names a SQLite database"),
     (PRIMARY, "postgresql://zamio:replica-secret@replica-1/zamio,,postgresql://replica-2/zamio",
      "FINGERPRINT_DATABASE_URL has an empty URL between its commas"),
     (PRIMARY, "sqlite:///replica-secret.db", "FINGERPRINT_DATABASE_URL names a SQLite database"),
     (PRIMARY, "postgresql://zamio:replica-secret@replica-1:99999/zamio",
      "FINGERPRINT_DATABASE_URL has a port that is not a number from 1 to 65535"),
     (PRIMARY, "mysql://zamio:replica-secret@replica-1/zamio",
      "FINGERPRINT_DATABASE_URL names a database zamio does not support")],
)
def test_a_wrong_fingerprint_replicas_setting_is_refused_naming_it(tmp_path: Path, primary: str, replicas: str,
                                                                   message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load_config({"ZAMIO_VAR_DIR": str(tmp_path), "DATABASE_URL": primary,
                            "FINGERPRINT_DATABASE_URL": replicas})
    assert message in str(caught.value) and "secret" not in str(caught.value)
