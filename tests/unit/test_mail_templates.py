"""Every e-mail template, rendered with contexts like the ones zamio queues, leaves the server's layout behind."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import pytest

from zamio.files.templates import TemplateProblem
from zamio.mail import TEMPLATES, TemplateError, TemplateFailed, load, render
from zamio.mail.templates import SHIPPED, duration, template_names
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
        {**STATEMENT, "amount_units": 0, "balance_only": True, "carried_units": 14_945, "attached": True},
        {**STATEMENT, "amount_units": 21_600, "balance_only": True, "carried_units": 0, "attached": True},
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
    "weekly_station_summary": [
        {"station": "Joy FM", "plays": 412, "coverage": 0.97, "week": "2026-W10",
         "top_tracks": [{"title": "Odo", "artist": "Ama Ghana", "plays": 12},
                        {"title": "AC/DC covers", "artist": "Efua Mensah", "plays": 3}]},
        {"station": "Capital <Nairobi>", "plays": 2, "coverage": 0.5119, "week": "2026-W48",
         "first_day": date(2026, 11, 23), "last_day": date(2026, 11, 29), "timezone": "Africa/Nairobi",
         "stream": True, "captures": 1200, "gap_count": 2, "gap_seconds": 295_200 + 2_700,
         "gaps": [{"from": "2026-11-26 14:00", "to": "2026-11-30 00:00", "seconds": 295_200, "reason": "http_503"},
                  {"from": "2026-11-24 09:10", "to": "2026-11-24 09:55", "seconds": 2_700,
                   "reason": f"cannot read {OUT}/x.mp3"}],
         "top_tracks": [{"title": "Odo", "artist": "Ama Ghana", "plays": 2}]},
        {"station": "Obuasi FM", "plays": 0, "coverage": 0.0, "week": "2026-W48", "stream": False, "captures": 14},
    ],
    "weekly_artist_summary": [
        {"artist": "Ama <Ghana>", "plays": 5, "week": "2026-W48", "first_day": date(2026, 11, 23),
         "last_day": date(2026, 11, 29), "stations": [{"station": "Joy FM", "plays": 3},
                                                     {"station": "Capital Nairobi", "plays": 2}],
         "top_song": {"title": "Odo", "plays": 3},
         "earnings": [{"amount_units": 99_750, "currency": "GHS"}, {"amount_units": 12_345, "currency": "USD"}]},
        {"artist": "Kojo Beats", "plays": 0, "week": "2026-W48"},
    ],
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
    linked, attached, too_large, no_contact = (render("statement_ready", c).text
                                               for c in CONTEXTS["statement_ready"][:4])
    assert ("Read your statement here: https://portal.example.org/statements/2026-03/statements/"
            "contributor-ama-ghana.GHS.html") in linked
    assert "Your statement is attached" in attached and "attached" not in linked
    assert "available from the society; write to royalties@society.example for a copy" in too_large
    assert "available from the society; ask the society for a copy" in no_contact
    assert "GHS 1.80" in linked  # 18,000 units of GHS 0.0001


def test_a_statement_of_a_balance_alone_says_what_is_paid_and_what_is_carried_forward() -> None:
    carried, paid = (render("statement_ready", c) for c in CONTEXTS["statement_ready"][4:])
    assert ("You had no plays in it; your statement shows the balance earlier cycles left you: GHS 0.00 payable "
            "now, and GHS 1.49 carried forward to the next cycle.") in " ".join(carried.text.split())
    assert "You had no plays in it; your statement shows the balance earlier cycles left you: GHS 2.16 payable " \
           "now." in " ".join(paid.text.split())
    assert "carried forward" not in paid.text and "carried forward" in carried.html
    assert "Your statement shows" not in carried.text + paid.text


def test_a_statement_link_must_be_a_web_address() -> None:
    with pytest.raises(TemplateError, match="statement_url"):
        render("statement_ready", {**STATEMENT, "statement_url": f"{OUT}/statements/contributor-ama-ghana.GHS.html"})


def test_a_statement_link_quotes_the_cycle_and_the_file() -> None:
    assert statement_url("https://portal.example.org/s/", "2026 H1", PurePosixPath("statements/artist-a b.GHS.html")) \
        == "https://portal.example.org/s/2026%20H1/statements/artist-a%20b.GHS.html"
    assert statement_url("https://portal.example.org/s", "2026/07", PurePosixPath("statements/x.GHS.html")) \
        == "https://portal.example.org/s/2026%2F07/statements/x.GHS.html"


def test_a_station_summary_gives_its_coverage_and_its_outages_in_its_own_time() -> None:
    measured, unstreamed = (render("weekly_station_summary", c) for c in CONTEXTS["weekly_station_summary"][1:])
    assert measured.subject == "Weekly summary for Capital <Nairobi> (2026-W48)"
    assert "Capital <Nairobi>: 2 plays logged in 2026-W48, 2026-11-23 to 2026-11-29." in measured.text
    # 297,900 s without coverage: 82 h 45 min
    assert "Monitoring coverage: 51.2% of the week; 2 outages, 82 h 45 min without coverage in all." in measured.text
    assert "Longest outages (Africa/Nairobi time)" in measured.text and "cannot read …/x.mp3" in measured.text
    assert "Capital &lt;Nairobi&gt;" in measured.html and "<Nairobi>" not in measured.html
    assert "Monitoring coverage: none, zamio has no stream of this station to listen to; it heard 14 recordings " \
           "the station uploaded." in unstreamed.text
    assert "No recorded music was recognised this week." in unstreamed.text


def test_an_artist_summary_rounds_her_earnings_once_to_minor_units() -> None:
    week, quiet = (render("weekly_artist_summary", c) for c in CONTEXTS["weekly_artist_summary"])
    # 99,750 units = GHS 9.975: 997.5 pesewas, half-even to 998; 12,345 units = USD 1.2345: 123 cents
    assert "Estimated earnings not yet in a royalty cycle: GHS 9.98 and USD 1.23." in week.text
    assert "5 plays of your music were logged in 2026-W48, 2026-11-23 to 2026-11-29 on 2 stations." in week.text
    assert "Most played: Odo (3 plays)." in week.text and "Dear Ama &lt;Ghana&gt;," in week.html
    assert "None of your music was logged in 2026-W48." in quiet.text
    assert "No earnings of yours are waiting for a royalty cycle." in quiet.text
    assert "Plays by station" not in quiet.text


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0 min"), (29, "0 min"), (30, "1 min"), (2_700, "45 min"),
                                                (3_600, "1 h 00 min"), (295_200, "82 h 00 min")])
def test_an_outage_reads_in_hours_and_minutes(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


def test_every_message_ships_its_subject_text_and_html() -> None:
    shipped = {path.name for path in SHIPPED.glob("*.j2")}
    for name in TEMPLATES:
        assert set(template_names(name)) <= shipped, name
    assert {"mail_layout.txt.j2", "mail_layout.html.j2"} <= shipped


def test_the_shipped_templates_read_only_the_values_their_e_mails_are_given(tmp_path: Path) -> None:
    load(tmp_path)  # an override folder with nothing in it: every template is the shipped one, each checked


def test_a_society_template_wins_and_is_escaped_like_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "weekly_artist_summary.html.j2").write_text(
        '{% extends "shipped/weekly_artist_summary.html.j2" %}\n'
        "{% block footer %}<p>{{ artist }} &middot; {{ week }}</p>{% endblock %}\n")
    (tmp_path / "weekly_artist_summary.subject.txt.j2").write_text("Your week, {{ artist }}:\n{{ week }}\n")
    context = CONTEXTS["weekly_artist_summary"][0]
    own, shipped = render("weekly_artist_summary", context, load(tmp_path)), render("weekly_artist_summary", context)
    assert own.subject == "Your week, Ama <Ghana>: 2026-W48" and shipped.subject == "Your week on air: 2026-W48"
    assert "<p>Ama &lt;Ghana&gt; &middot; 2026-W48</p>" in own.html and "automatic message" not in own.html
    assert "<td style=\"padding:4px 8px;border-top:1px solid #e4e7eb\">Joy FM</td>" in own.html  # the shipped body
    assert own.text == shipped.text


def test_a_society_template_naming_a_value_its_e_mail_lacks_is_refused_when_loaded(tmp_path: Path) -> None:
    (tmp_path / "stream_down.txt.j2").write_text("{% set shown = station %}{{ shown }} down; call {{ phone }}\n")
    with pytest.raises(TemplateProblem, match=r"stream_down.txt.j2 uses phone, which the e-mail is not given"):
        load(tmp_path)
    (tmp_path / "stream_down.txt.j2").write_text("{{ station }} down {% for %}\n")
    with pytest.raises(TemplateProblem, match=r"stream_down.txt.j2 line 1 cannot be read"):
        load(tmp_path)


def test_a_society_template_failing_on_one_message_names_itself(tmp_path: Path) -> None:
    (tmp_path / "stream_down.txt.j2").write_text("{{ station }} down: {{ last_reason.nope }}\n")
    with pytest.raises(TemplateFailed, match=r"stream_down.txt.j2 failed: .*nope"):
        render("stream_down", CONTEXTS["stream_down"][0], load(tmp_path))
    with pytest.raises(TemplateError, match="needs context key"):  # a missing key is the caller's, as before
        render("stream_down", {"station": "Joy FM"}, load(tmp_path))
