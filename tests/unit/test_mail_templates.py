"""Every e-mail template, rendered with contexts like the ones zamio queues, leaves the server's layout behind."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pytest

from zamio.mail import TEMPLATES, TemplateError, render
from zamio.royalties.cycles.notices import statement_url

OUT = "/var/lib/zamio/cycles/2026-03"
#: An absolute path under a folder a server keeps files in, or the cycle's own folder.
SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:tmp|var|opt|home|srv|usr|etc|root|run|mnt|data)/|" + re.escape(OUT))

STATEMENT = {"cycle": "2026-03", "amount_units": 18_000, "currency": "GHS", "recipient_name": "Ama Ghana"}
CONTEXTS = {
    "statement_ready": [
        {**STATEMENT, "statement_url": "https://portal.example.org/statements/2026-03/statements/"
                                       "contributor-ama-ghana.GHS.html"},
        {**STATEMENT, "attached": True, "contact": "royalties@society.example"},
        {**STATEMENT, "contact": "royalties@society.example"},
        {**STATEMENT, "contact": None},
    ],
    "stream_down": [{"station": "Joy FM", "url": "http://dj:s3cret@radio.example:8000/live/stream.mp3",
                     "since": datetime(2026, 3, 1, 6, 30, tzinfo=UTC), "failures": 5,
                     "last_reason": "http_503"}],
    "job_failing": [
        {"job": "process-royalty-cycle", "state": "failing", "since": datetime(2026, 3, 1, tzinfo=UTC),
         "last_error": f"cannot write the files of cycle 2026-03 in {OUT}: Permission denied "
                       f"({OUT}/statements.csv); the cycle is locked"},
        {"job": "backup", "state": "overdue", "since": "it was first scheduled (it never succeeded)",
         "last_error": "cannot read /opt/zamio/.env or /tmp/zamio-backup/part.sql.gz"},
    ],
    "weekly_station_summary": [{"station": "Joy FM", "plays": 412, "coverage": 0.97, "week": "2026-W10",
                                "top_tracks": [{"title": "Odo", "artist": "Ama Ghana", "plays": 12},
                                               {"title": "AC/DC covers", "artist": "Efua Mensah", "plays": 3}]}],
}


def test_every_template_has_realistic_contexts_here() -> None:
    assert set(CONTEXTS) == set(TEMPLATES)


@pytest.mark.parametrize(("template", "context"),
                         [(name, context) for name, contexts in CONTEXTS.items() for context in contexts])
def test_no_message_carries_a_path_on_the_server(template: str, context: dict) -> None:
    message = render(template, context)
    for part in (message.subject, message.text, message.html):
        assert not SERVER_PATH.search(part), part


def test_an_error_quoted_in_an_alert_keeps_the_last_name_of_its_paths() -> None:
    text = render("job_failing", CONTEXTS["job_failing"][0]).text
    assert "in …/2026-03: Permission denied (…/statements.csv)" in text


def test_the_statement_e_mail_says_where_the_statement_is() -> None:
    linked, attached, too_large, no_contact = (render("statement_ready", c).text for c in CONTEXTS["statement_ready"])
    assert ("Read your statement here: https://portal.example.org/statements/2026-03/statements/"
            "contributor-ama-ghana.GHS.html") in linked
    assert "Your statement is attached" in attached and "attached" not in linked
    assert "available from the society; write to royalties@society.example for a copy" in too_large
    assert "available from the society; ask the society for a copy" in no_contact
    assert "GHS 1.80" in linked  # 18,000 units of GHS 0.0001


def test_a_statement_link_must_be_a_web_address() -> None:
    with pytest.raises(TemplateError, match="statement_url"):
        render("statement_ready", {**STATEMENT, "statement_url": f"{OUT}/statements/contributor-ama-ghana.GHS.html"})


def test_a_statement_link_quotes_the_cycle_and_the_file() -> None:
    assert statement_url("https://portal.example.org/s/", "2026 H1", PurePosixPath("statements/artist-a b.GHS.html")) \
        == "https://portal.example.org/s/2026%20H1/statements/artist-a%20b.GHS.html"
    assert statement_url("https://portal.example.org/s", "2026/07", PurePosixPath("statements/x.GHS.html")) \
        == "https://portal.example.org/s/2026%2F07/statements/x.GHS.html"
