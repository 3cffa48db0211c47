"""A closed cycle's statement e-mails, delivered by bin/send-emails to a real SMTP server, on SQLite and PostgreSQL.

The world is money_world's March (real imports, pricing and close), with e-mail addresses for the
contributors Ama Ghana and Yaw Tetteh.  Each e-mail links to the statement (a public base URL is
set), or carries it (HTML and CSV, byte for byte the files of the cycle), or, over the size cap,
says whom to ask; none names a place on the server.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests import money_world as world
from tests.smtpserver import SmtpServer
from tests.support import Project
from zamio.mail import message_id_for

#: Ama and Yaw have addresses; Kojo, paid through Sika Music, has none.
EMAILS = {"Ama Ghana": "ama@example.com", "Yaw Tetteh": "yaw@example.com"}
AMA, YAW = "contributor-ama-ghana.GHS", "contributor-yaw-tetteh.GHS"
BASE = "https://portal.example.org/statements"


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


def close_march(project: Project, **settings: str) -> Path:
    """Load the world (contributors with addresses), price it and close March with ``settings``; return its folder."""
    money = world.world(project, emails=EMAILS)
    money.price()
    out = money.cycle_folder(world.MARCH)
    closed = project.script("process-royalty-cycle", "--name", world.MARCH, "--from", "2026-03-01",
                            "--to", "2026-03-31", "--out", str(out), env=project.env(**settings))
    assert closed.returncode == 0, closed.stderr
    assert "2 statement e-mail(s) queued" in closed.stdout
    return out


def send(project: Project, server: SmtpServer, *args: str, code: int = 0) -> None:
    result = project.script("send-emails", "--no-alerts", *args, env=project.env(**server.env()))
    assert result.returncode == code, result.stderr


def delivered(server: SmtpServer) -> dict[str, EmailMessage]:
    return {m.recipients[0]: m.message for m in server.messages}


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def assert_no_server_path(project: Project, server: SmtpServer) -> None:
    for received in server.messages:
        raw = received.raw.decode("ascii")
        plain = text_of(received.message) + received.message.get_body(("html",)).get_content()
        for whole in (raw, plain, str(received.message["Subject"])):
            assert str(project.tmp_path) not in whole and not re.search(r"(?<![\w:/.])/(tmp|var|opt)/", whole)


def test_with_a_public_base_url_the_e_mail_links_to_the_statement(project: Project, smtp_server: SmtpServer) -> None:
    out = close_march(project, STATEMENTS_PUBLIC_BASE_URL=BASE + "/")
    send(project, smtp_server)
    mails = delivered(smtp_server)
    assert sorted(mails) == ["ama@example.com", "yaw@example.com"]
    for address, stem in (("ama@example.com", AMA), ("yaw@example.com", YAW)):
        message = mails[address]
        link = f"{BASE}/2026-03/statements/{stem}.html"
        assert f"Read your statement here: {link}" in text_of(message)
        assert f'{link}' in message.get_body(("html",)).get_content()
        assert (out / "statements" / f"{stem}.html").is_file()  # the link names a file the cycle wrote
        assert list(message.iter_attachments()) == []
        assert message.get_content_type() == "multipart/alternative"
    assert "GHS 1.80" in text_of(mails["ama@example.com"])  # 18,000 units
    assert "GHS 0.92" in text_of(mails["yaw@example.com"])  # 9,225 units, to the cedi's two decimals, half-even
    assert_no_server_path(project, smtp_server)


def test_without_it_the_statement_is_attached_byte_for_byte(project: Project, smtp_server: SmtpServer) -> None:
    out = close_march(project)
    smtp_server.replies = ["451 4.3.0 try again later"] * 2  # both wait for a second attempt
    send(project, smtp_server)
    assert smtp_server.messages == []
    # Regenerated files of a locked cycle are the same bytes: the waiting messages still go.
    regenerated = project.script("process-royalty-cycle", "--name", world.MARCH, "--regenerate", "--out", str(out))
    assert regenerated.returncode == 0, regenerated.stderr
    project.execute("UPDATE email_outbox SET next_attempt_at = NULL")
    send(project, smtp_server)
    mails = delivered(smtp_server)
    assert sorted(mails) == ["ama@example.com", "yaw@example.com"]
    for address, stem in (("ama@example.com", AMA), ("yaw@example.com", YAW)):
        message = mails[address]
        assert message["Message-ID"] == message_id_for(f"statement_ready:2026-03:contributor:{stem[12:-4]}:GHS")
        assert message.get_content_type() == "multipart/mixed"
        assert "Your statement is attached" in text_of(message)
        files = {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
                 for part in message.iter_attachments()}
        assert files == {
            f"2026-03-{stem}.html": ("text/html", (out / "statements" / f"{stem}.html").read_bytes()),
            f"2026-03-{stem}.csv": ("text/csv", (out / "statements" / f"{stem}.csv").read_bytes()),
        }
    assert_no_server_path(project, smtp_server)


def test_a_changed_statement_is_not_sent(project: Project, smtp_server: SmtpServer) -> None:
    out = close_march(project)
    csv = out / "statements" / f"{YAW}.csv"
    before = csv.read_bytes()
    csv.write_bytes(before.replace(b"Sunrise", b"Sunset"))
    assert csv.read_bytes() != before
    send(project, smtp_server, code=1)
    assert sorted(delivered(smtp_server)) == ["ama@example.com"]
    row = project.query("SELECT status, last_error FROM email_outbox WHERE recipient = 'yaw@example.com'")[0]
    assert row.status == "failed"
    assert f"2026-03-{YAW}.csv" in row.last_error and "changed since the message was queued" in row.last_error


def test_over_the_cap_nothing_is_attached_and_the_contact_is_named(project: Project,
                                                                    smtp_server: SmtpServer) -> None:
    out = close_march(project, STATEMENT_ATTACHMENT_MAX_BYTES="1000", STATEMENTS_CONTACT="royalties@society.example",
                      ZAMIO_OPERATOR_EMAIL="ops@example.org")
    sizes = {stem: sum((out / "statements" / f"{stem}.{kind}").stat().st_size for kind in ("html", "csv"))
             for stem in (AMA, YAW)}
    assert min(sizes.values()) > 1000  # so neither is attached
    send(project, smtp_server)
    mails = delivered(smtp_server)
    assert sorted(mails) == ["ama@example.com", "yaw@example.com"]
    for message in mails.values():
        assert list(message.iter_attachments()) == []
        text = text_of(message)
        assert "too large to send by e-mail: it is available from the society; write to royalties@society.example" \
               in text
        assert "ops@example.org" not in text and "statements/" not in text
    assert_no_server_path(project, smtp_server)
