"""The e-mail outbox and bin/send-emails, against a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.smtpserver import SmtpServer, closed_port
from tests.support import Project
from zamio.db.tables import email_outbox
from zamio.mail import TemplateError, message_id_for, queue_email
from zamio.mail.queue import InvalidRecipient


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


def queue(project: Project, key: str, recipient: str = "artist@example.org", template: str = "job_failing",
          **context) -> bool:
    context = context or {"job": "warm-cache", "since": datetime(2026, 3, 1, tzinfo=UTC), "last_error": "boom"}
    with project.engine.begin() as conn:
        return queue_email(conn, dedupe_key=key, recipient=recipient, template=template, context=context)


def outbox(project: Project, key: str):
    with project.engine.connect() as conn:
        return conn.execute(select(email_outbox).where(email_outbox.c.dedupe_key == key)).one()


def send(project: Project, server_env: dict[str, str] | None, *args: str, **env: str):
    return project.script("send-emails", "--no-alerts", *args, env=project.env(**(server_env or {}), **env))


def make_due(project: Project) -> None:
    project.execute("UPDATE email_outbox SET next_attempt_at = NULL")


def test_queue_renders_escapes_redacts_and_dedupes(project: Project) -> None:
    context = {"station": "<script>alert(1)</script> FM", "url": "http://dj:s3cret@radio.example:8000/live",
               "since": datetime(2026, 3, 1, 6, 30, tzinfo=UTC), "failures": 7, "last_reason": "http_503"}
    assert queue(project, "stream_down:1:2026-03-01", template="stream_down", **context) is True
    assert queue(project, "stream_down:1:2026-03-01", template="stream_down", **context) is False
    row = outbox(project, "stream_down:1:2026-03-01")
    assert "<script>" not in row.body_html and "&lt;script&gt;alert(1)&lt;/script&gt; FM" in row.body_html
    assert "s3cret" not in row.body_text + row.body_html and "http://radio.example:8000/live" in row.body_text
    assert row.subject == "Stream down: <script>alert(1)</script> FM"
    assert row.status == "queued" and row.message_id == message_id_for("stream_down:1:2026-03-01")
    with pytest.raises(TemplateError, match="failures"):
        queue(project, "x", template="stream_down", station="A", url="http://a", since="now", last_reason="r")
    with pytest.raises(TemplateError, match="unknown e-mail template"):
        queue(project, "y", template="no_such_template", a=1)
    with pytest.raises(InvalidRecipient):
        queue(project, "z", recipient="someone@example.org\r\nBcc: x@example.org")
    assert project.scalar("SELECT count(*) FROM email_outbox") == 1


def test_delivers_text_and_html_with_stable_message_id(project: Project, smtp_server: SmtpServer) -> None:
    queue(project, "statement_ready:2026-Q1:artist:A1", template="statement_ready", cycle="2026-Q1",
          amount_units=1234567, currency="GHS", statement="var/statements/2026-Q1/A1.pdf", recipient_name="Ama & Kofi")
    queue(project, "job_failing:warm-cache:2026-03-01", recipient="ops@example.org")
    result = send(project, smtp_server.env())
    assert result.returncode == 0, result.stderr
    assert "2 e-mail(s) sent" in result.stderr
    by_to = {m.recipients[0]: m for m in smtp_server.messages}
    statement = by_to["artist@example.org"].message
    assert statement["Message-ID"] == message_id_for("statement_ready:2026-Q1:artist:A1")
    assert statement["Subject"] == "Your royalty statement for 2026-Q1 is ready"
    assert statement["Auto-Submitted"] == "auto-generated" and statement.get_content_type() == "multipart/alternative"
    text = statement.get_body(("plain",)).get_content()
    html = statement.get_body(("html",)).get_content()
    assert "GHS 123.46" in text and "Dear Ama & Kofi," in text and "Ama &amp; Kofi" in html
    assert {r.status for r in project.query("SELECT status FROM email_outbox")} == {"sent"}
    assert project.scalar("SELECT count(*) FROM email_outbox WHERE sent_at IS NULL") == 0
    again = send(project, smtp_server.env())
    assert again.returncode == 0 and len(smtp_server.messages) == 2


def test_temporary_failure_backs_off_then_succeeds(project: Project, smtp_server: SmtpServer) -> None:
    queue(project, "k1")
    smtp_server.replies = ["451 4.3.0 mailbox busy, try later"]
    first = send(project, smtp_server.env())
    assert first.returncode == 0, first.stderr
    row = outbox(project, "k1")
    assert row.status == "queued" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC)
    assert send(project, smtp_server.env()).returncode == 0 and smtp_server.messages == []  # not due yet
    make_due(project)
    assert send(project, smtp_server.env()).returncode == 0
    assert outbox(project, "k1").status == "sent" and len(smtp_server.messages) == 1


def test_permanent_failure_is_failed_at_once_with_the_server_reason(project: Project, smtp_server: SmtpServer) -> None:
    queue(project, "bad", recipient="nobody@example.org")
    queue(project, "good", recipient="somebody@example.org")
    smtp_server.reject_rcpt["nobody@example.org"] = "550 5.1.1 no such user here"
    result = send(project, smtp_server.env())
    assert result.returncode == 1, result.stderr
    bad = outbox(project, "bad")
    assert bad.status == "failed" and bad.attempts == 1 and "550 5.1.1 no such user here" in bad.last_error
    assert outbox(project, "good").status == "sent"
    status = project.script("zamio-status")
    assert "e-mails undeliverable" in status.stdout


def test_server_down_exits_69_and_keeps_the_message(project: Project) -> None:
    queue(project, "k1")
    result = send(project, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(closed_port())})
    assert result.returncode == 69 and "SMTP_HOST" in result.stderr
    row = outbox(project, "k1")
    assert row.status == "queued" and row.attempts == 1 and row.lease_owner is None and row.next_attempt_at


def test_cap_marks_failed_after_max_attempts(project: Project, smtp_server: SmtpServer) -> None:
    queue(project, "k1")
    smtp_server.replies = ["421 4.7.0 too busy"] * 5
    assert send(project, smtp_server.env(), "--max-attempts", "2").returncode == 0
    make_due(project)
    result = send(project, smtp_server.env(), "--max-attempts", "2")
    assert result.returncode == 1 and "undeliverable after 2 attempt(s)" in result.stderr
    assert outbox(project, "k1").status == "failed" and smtp_server.messages == []


def test_no_smtp_host_is_fine_with_nothing_queued_and_78_with_mail(project: Project) -> None:
    idle = send(project, None)
    assert idle.returncode == 0 and "no e-mail to send" in idle.stderr
    queue(project, "k1")
    result = send(project, None)
    assert result.returncode == 78 and "SMTP_HOST is not set" in result.stderr
    dry = send(project, None, "--dry-run")
    assert dry.returncode == 78


def test_two_senders_at_once_deliver_each_message_once(project: Project, smtp_server: SmtpServer) -> None:
    keys = [f"bulk:{n}" for n in range(40)]
    for key in keys:
        queue(project, key, recipient=f"r{key.split(':')[1]}@example.org")
    smtp_server.on_accept = lambda _m: time.sleep(0.02)  # keep both sessions busy at the same time
    senders = [project.popen("send-emails", "--no-alerts",
                             env=project.env(ZAMIO_HOST_NAME=f"host{n}", **smtp_server.env())) for n in (1, 2)]
    for sender in senders:
        assert sender.wait(timeout=90) == 0, sender.stderr.read()
    ids = smtp_server.message_ids()
    assert sorted(ids) == sorted(message_id_for(k) for k in keys)
    assert project.scalar("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 40


def test_kill_after_server_accepted_never_resends_automatically(project: Project, smtp_server: SmtpServer) -> None:
    queue(project, "once")
    victim = project.popen("send-emails", "--no-alerts", "--lease-seconds", "1", env=project.env(**smtp_server.env()))
    smtp_server.on_accept = lambda _m: os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert len(smtp_server.messages) == 1 and outbox(project, "once").status == "transmitting"
    smtp_server.on_accept = None
    time.sleep(1.2)  # the dead sender's lease expires
    after = send(project, smtp_server.env())
    assert after.returncode == 1 and "marked unknown" in after.stderr
    row = outbox(project, "once")
    assert row.status == "unknown" and "may have been delivered" in row.last_error
    assert len(smtp_server.messages) == 1  # not resent
    unclear = send(project, smtp_server.env(), "--requeue", "soon")
    assert unclear.returncode == 2 and "--requeue takes a message id, 'unknown' or 'failed'" in unclear.stderr
    assert outbox(project, "once").status == "unknown"
    assert send(project, smtp_server.env(), "--requeue", str(row.id)).returncode == 0
    assert send(project, smtp_server.env()).returncode == 0
    assert smtp_server.message_ids() == [message_id_for("once")] * 2  # a person chose to resend: same Message-ID


def test_failing_job_alerts_the_operator_once_a_day(project: Project, smtp_server: SmtpServer) -> None:
    """A scheduled import (the operator's own crontab line) fails: one alert a day, naming the row at fault."""
    tracks = project.tmp_path / "tracks.csv"
    tracks.write_text("track_ref,title,artist,audio_path,isrc\n"
                      "T1,Odo,Ama Ghana,,GHA012600001\nT2,Kente,Efua,,not-an-isrc\n")
    failed = project.script("import-catalog", "--tracks", str(tracks), env=project.env(ZAMIO_STARTED_BY="schedule"))
    assert failed.returncode == 1, failed.stderr  # one row loaded, one refused
    env = {**smtp_server.env(), "ZAMIO_OPERATOR_EMAIL": "ops@example.org"}
    for _ in range(2):
        result = project.script("send-emails", env=project.env(**env))
        assert result.returncode == 0, result.stderr
    alerts = [m for m in smtp_server.messages if m.recipients == ["ops@example.org"]]
    assert len(alerts) == 1
    assert alerts[0].message["Subject"] == "zamio job failing: import-catalog"
    assert "tracks.csv line 3" in alerts[0].message.get_body(("plain",)).get_content()


def test_a_run_by_hand_that_fails_alerts_no_one(project: Project, smtp_server: SmtpServer) -> None:
    tracks = project.tmp_path / "tracks.csv"
    tracks.write_text("track_ref,title,artist,audio_path,isrc\nT2,Kente,Efua,,not-an-isrc\n")
    assert project.script("import-catalog", "--tracks", str(tracks)).returncode == 1
    result = project.script("send-emails", env=project.env(**smtp_server.env(), ZAMIO_OPERATOR_EMAIL="ops@example.org"))
    assert result.returncode == 0, result.stderr
    assert smtp_server.messages == []


def test_a_login_sent_in_clear_is_warned_of_once_without_the_password(project: Project) -> None:
    for n in range(21):  # more than one batch: two connections, two logins, one warning
        queue(project, f"k{n}", recipient=f"ops{n}@example.org")
    with SmtpServer(login=True) as server:
        result = send(project, server.env(), SMTP_USER="mailer", SMTP_PASSWORD="pa55-w0rd-in-clear")
        assert result.returncode == 0, result.stderr
        assert len(server.messages) == 21 and len(server.logins) == 2
        assert server.logins[0] == ("mailer", "pa55-w0rd-in-clear")  # the login crossed unencrypted
        warnings = [line for line in result.stderr.splitlines() if "sent in clear" in line]
        assert len(warnings) == 1, result.stderr
        assert "SMTP_SECURITY" in warnings[0] and "starttls" in warnings[0]
        assert "pa55-w0rd-in-clear" not in result.stderr + result.stdout
        queue(project, "after")
        without_login = send(project, server.env())
        assert without_login.returncode == 0, without_login.stderr
        assert len(server.messages) == 22 and "sent in clear" not in without_login.stderr


def failing_import(project: Project) -> None:
    """A scheduled import fails on a row of a file under the test's folder: bin/send-emails alerts the operator."""
    tracks = project.tmp_path / "tracks.csv"
    tracks.write_text("track_ref,title,artist,audio_path,isrc\nT2,Kente,Efua,,not-an-isrc\n")
    failed = project.script("import-catalog", "--tracks", str(tracks), env=project.env(ZAMIO_STARTED_BY="schedule"))
    assert failed.returncode == 1, failed.stderr


def test_a_template_in_templates_dir_changes_the_e_mail_sent(project: Project, smtp_server: SmtpServer) -> None:
    """The society's own subject and text of the job alert, and its HTML layout extending the shipped one."""
    own = project.tmp_path / "society-templates"
    own.mkdir()
    (own / "job_failing.subject.txt.j2").write_text("[GHAMRO ops]\n{{ job }} is {{ state }}\nBcc: x@example.org\n")
    (own / "job_failing.txt.j2").write_text(
        '{% extends "mail_layout.txt.j2" %}\n{% block body %}\nAkwaaba. {{ job }} broke: {{ last_error }}\n'
        "{% endblock %}\n")
    (own / "mail_layout.html.j2").write_text(
        '{% extends "shipped/mail_layout.html.j2" %}\n{% block footer %}<p class="society">Ghana Music Rights '
        "&amp; Co &middot; {{ subject }}</p>{% endblock %}\n")
    failing_import(project)
    env = {**smtp_server.env(), "ZAMIO_OPERATOR_EMAIL": "ops@example.org", "TEMPLATES_DIR": str(own)}
    result = project.script("send-emails", env=project.env(**env))
    assert result.returncode == 0, result.stderr
    [alert] = smtp_server.messages
    # the subject's three lines are one: no header follows it
    assert alert.message["Subject"] == "[GHAMRO ops] import-catalog is failing Bcc: x@example.org"
    assert alert.message["Bcc"] is None and alert.recipients == ["ops@example.org"]
    text = alert.message.get_body(("plain",)).get_content()
    assert text.startswith("Akwaaba. import-catalog broke: ") and "…/tracks.csv line 2" in text
    assert "zamio broadcast monitoring (automatic message" in text  # the shipped layout's signature
    assert str(project.tmp_path) not in text  # the society's template is given the paths cut, like the shipped one
    html = alert.message.get_body(("html",)).get_content()
    assert '<p class="society">Ghana Music Rights &amp; Co &middot; [GHAMRO ops] import-catalog' in html
    assert "<p>The scheduled job import-catalog is failing;" in html  # the shipped HTML body, in the society's layout
    assert "automatic message</p>" not in html


def test_a_broken_template_in_templates_dir_stops_the_run_naming_it(project: Project,
                                                                    smtp_server: SmtpServer) -> None:
    own = project.tmp_path / "society-templates"
    own.mkdir()
    queue(project, "waiting")
    failing_import(project)
    env = {**smtp_server.env(), "ZAMIO_OPERATOR_EMAIL": "ops@example.org", "TEMPLATES_DIR": str(own)}
    (own / "job_failing.txt.j2").write_text("{% if job %}\n{{ job }} is down\n")  # no endif
    unclosed = project.script("send-emails", env=project.env(**env))
    assert unclosed.returncode == 78, unclosed.stderr
    assert f"{own}/job_failing.txt.j2 line 2" in unclosed.stderr and "TEMPLATES_DIR" in unclosed.stderr
    (own / "job_failing.txt.j2").write_text("{{ job }} on {{ station }} since {{ since }}\n")
    unknown = project.script("send-emails", env=project.env(**env))
    assert unknown.returncode == 78, unknown.stderr
    assert f"{own}/job_failing.txt.j2 uses station, which the e-mail is not given" in unknown.stderr
    assert smtp_server.messages == []  # nothing was delivered by a run that stopped at its start


def test_a_template_failing_on_one_alert_is_counted_and_the_outbox_is_delivered(project: Project,
                                                                                smtp_server: SmtpServer) -> None:
    own = project.tmp_path / "society-templates"
    own.mkdir()
    (own / "job_failing.txt.j2").write_text("{{ job }}: {{ last_error.splitlines()[7] }}\n")  # one line only
    queue(project, "waiting")
    failing_import(project)
    env = {**smtp_server.env(), "ZAMIO_OPERATOR_EMAIL": "ops@example.org", "TEMPLATES_DIR": str(own)}
    result = project.script("send-emails", env=project.env(**env))
    assert result.returncode == 1, result.stderr  # the alert failed as an item; the run went on
    assert f"{own}/job_failing.txt.j2 failed" in result.stderr
    assert "job_failing alert of import-catalog" in result.stderr
    assert [m.recipients for m in smtp_server.messages] == [["artist@example.org"]]
    assert project.scalar("SELECT count(*) FROM email_outbox WHERE template = 'job_failing'") == 1  # the waiting one
