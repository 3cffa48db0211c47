"""The weekly summaries, queued by bin/send-weekly-summaries and delivered by bin/send-emails to a real SMTP server,
on SQLite and PostgreSQL.

The world (tests.world: the catalog, artists and play files loaded by the real imports, priced by
bin/calculate-royalty-distributions, the week before closed by bin/process-royalty-cycle) is dated from
the last ISO week that has ended in Accra (UTC+0 all year): Monday M 00:00 to Monday M+7 00:00 UTC.

Stations (class_a, the seeded rate card: GHS 0.015 a second, × 1.5 prime 06-10 h, × 1.0 regular 10-16 h,
× 0.7 off-peak 00-06 h, local time; amounts in units of GHS 0.0001):

* Joy FM (JOY), Accra, joy@example.org, no stream: it is heard only through the plays it reports;
* Capital Nairobi (NRB), Africa/Nairobi (UTC+3 all year), nrb@example.org, a stream that answers 503; its
  link last succeeded on Thursday M+3 at 14:00 Nairobi time (11:00 UTC), and the scan that finds it down
  opens a coverage gap from then;
* Obuasi FM (OBU), Accra, obu@example.org, weekly_summary "no".

Artists: Ama Ghana (ama@example.com; Odo and Sunrise, no contributors: 100 % hers), Efua Mensah
(efua@example.com, weekly_summary "no"; Kente), Kojo Beats (no address; Harmattan).

Plays (UTC):

* p0  JOY  M-7 12:00  Odo      100 s regular  0.015 × 100 = 1.50     15,000  (the week before; closed in a cycle)
* p6  NRB  M-1 21:30  Kente     60 s          (Monday M 00:30 in Nairobi: NRB's week, not Accra's)
* p1  JOY  M   12:00  Odo      200 s regular  0.015 × 200 = 3.00     30,000
* p2  JOY  M+1 07:00  Odo      100 s prime    0.015 × 1.5 × 100      22,500
* p3  JOY  M+2 12:00  Sunrise  123 s regular  0.015 × 123 = 1.845    18,450
* p7  JOY  M+3 12:00  Kente    100 s
* p4  NRB  M+3 09:00  Odo      150 s regular  (12:00 in Nairobi)     22,500
* p5  NRB  M+6 22:30  Sunrise   60 s off-peak (01:30 Monday in Nairobi: NRB's next week) 0.015 × 0.7 × 60 = 6,300
* p8  JOY  M+7 00:00  Odo      100 s off-peak (the next week: aired after the week's end) 10,500

Ama's summary (Accra's week): p1 p2 p3 on Joy FM (3), p4 p5 on Capital Nairobi (2): 5 plays; Odo 3 (p1 p2 p4),
Sunrise 2; earnings not yet in a cycle, of plays aired before M+7 00:00 UTC: 30,000 + 22,500 + 18,450 + 22,500 +
6,300 = 99,750 units = GHS 9.975, which is 997.5 pesewas, half-even to 998: "GHS 9.98" (p0 is paid by the closed
cycle, p8 aired after the week).
Joy FM's summary: p1 p2 p3 p7 = 4 plays.  Capital Nairobi's (Nairobi's week: M-1 21:00 to M+6 21:00 UTC): p6 and
p4 = 2 plays; its gap from Thursday 14:00 to the week's end, Monday 00:00 (Nairobi time), is 3 days 10 h =
82 h = 295,200 s of 604,800: coverage 1 − 295,200 / 604,800 = 0.5119… = "51.2%".
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest

from tests.scan_helpers import scan, set_links
from tests.smtpserver import SmtpServer
from tests.streamserver import StatusRoute, StreamServer
from tests.support import Project
from tests.world import World, run
from zamio.db.tables import stream_links
from zamio.mail import message_id_for


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


def last_monday() -> date:
    """The Monday of the last ISO week that has ended in Accra (UTC): a week before this week's Monday."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 7)


def week_name(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def at(day: date, days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` after ``day`` at hour:minute UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(days=days)


def build(project: Project, monday: date, stream_url: str, more_stations: int = 0) -> World:
    """The world of the module's docstring, loaded, priced, the week before closed; NRB's stream found down.
    ``more_stations``: as many more stations with a contact and no play (S01, S02 …)."""
    world = World(project)
    for n in range(1, more_stations + 1):
        world.station(f"S{n:02d}", name=f"Station {n}", email=f"s{n:02d}@example.org")
    joy = world.station("JOY", "class_a", "Africa/Accra", name="Joy FM", email="joy@example.org")
    nrb = world.station("NRB", "class_a", "Africa/Nairobi", name="Capital Nairobi", email="nrb@example.org",
                        stream_url=stream_url)
    world.station("OBU", "class_b", "Africa/Accra", name="Obuasi FM", email="obu@example.org", weekly_summary="no")
    odo, sunrise = world.track("T-ODO", "Odo", "Ama Ghana"), world.track("T-SUN", "Sunrise", "Ama Ghana")
    kente = world.track("T-KEN", "Kente", "Efua Mensah")
    world.track("T-HAR", "Harmattan", "Kojo Beats")
    world.artist("Ama Ghana", email="ama@example.com")
    world.artist("Efua Mensah", email="efua@example.com", weekly_summary="no")
    world.play(joy, at(monday, -7, 12), 100, track=odo)
    world.play(nrb, at(monday, -1, 21, 30), 60, track=kente)
    world.play(joy, at(monday, 0, 12), 200, track=odo)
    world.play(joy, at(monday, 1, 7), 100, track=odo)
    world.play(joy, at(monday, 2, 12), 123, track=sunrise)
    world.play(joy, at(monday, 3, 12), 100, track=kente)
    world.play(nrb, at(monday, 3, 9), 150, track=odo)
    world.play(nrb, at(monday, 6, 22, 30), 60, track=sunrise)
    world.play(joy, at(monday, 7, 0), 100, track=odo)
    world.price()
    world.close_cycle("week-before", str(monday - timedelta(days=7)), str(monday - timedelta(days=1)))
    set_links(project, stream_links.c.url == stream_url, last_success_at=at(monday, 3, 11))
    assert scan(project, "--only", "streams").returncode == 1  # the stream answers 503: a failed item
    return world


def summaries(project: Project, *args: str, code: int = 0) -> str:
    return run(project, "send-weekly-summaries", *args, codes=(code,)).stdout


def send(project: Project, server: SmtpServer) -> None:
    result = project.script("send-emails", "--no-alerts", env=project.env(**server.env()))
    assert result.returncode == 0, result.stderr


def delivered(server: SmtpServer) -> dict[str, EmailMessage]:
    """The weekly summaries delivered, by recipient (the closed cycle's statement e-mails aside)."""
    found: dict[str, EmailMessage] = {}
    for received in server.messages:
        if str(received.message["Subject"]).startswith("Your royalty statement"):
            continue
        assert received.recipients[0] not in found, f"{received.recipients[0]} got two summaries"
        found[received.recipients[0]] = received.message
    return found


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def test_the_week_summaries_arrive_once_with_the_figures_of_the_week(project: Project,
                                                                     smtp_server: SmtpServer) -> None:
    monday = last_monday()
    week = week_name(monday)
    with StreamServer({"/live": StatusRoute(503)}) as streams:
        build(project, monday, streams.url("/live"))
    out = summaries(project, "--week", week)
    assert f"1 artist and 2 station summaries queued for {week}, 0 already queued, 2 unsubscribed" in out
    assert "0 artist and 0 station summaries queued, 3 already queued, 2 unsubscribed" \
           in summaries(project, "--week", week)
    send(project, smtp_server)
    mails = delivered(smtp_server)
    assert sorted(mails) == ["ama@example.com", "joy@example.org", "nrb@example.org"]  # not Efua, not Obuasi FM

    ama = mails["ama@example.com"]
    assert ama["Subject"] == f"Your week on air: {week}"
    assert ama["Message-ID"] == message_id_for(f"weekly_summary:{week}:artist:ama-ghana")
    text = text_of(ama)
    sunday = monday + timedelta(days=6)
    assert f"5 plays of your music were logged in {week}, {monday} to {sunday} on 2 stations." in text
    assert "Most played: Odo (3 plays)." in text
    assert "Estimated earnings not yet in a royalty cycle: GHS 9.98." in text
    rows = [line.split() for line in text.split("Plays by station")[1].strip().splitlines()[:3]]
    assert rows == [["Station", "Plays"], ["Joy", "FM", "3"], ["Capital", "Nairobi", "2"]]

    joy = text_of(mails["joy@example.org"])
    assert mails["joy@example.org"]["Subject"] == f"Weekly summary for Joy FM ({week})"
    assert f"Joy FM: 4 plays logged in {week}, {monday} to {sunday}." in joy
    assert "Monitoring coverage: none, zamio has no stream of this station to listen to." in joy
    assert "Longest outages" not in joy

    nrb = text_of(mails["nrb@example.org"])
    assert f"Capital Nairobi: 2 plays logged in {week}" in nrb
    assert "Monitoring coverage: 51.2% of the week; 1 outage, 82 h 00 min without coverage in all." in nrb
    outage = nrb.split("Longest outages (Africa/Nairobi time)")[1].strip().splitlines()[1].split("  ")
    thursday, next_monday = monday + timedelta(days=3), monday + timedelta(days=7)
    assert [cell.strip() for cell in outage if cell.strip()] == [
        f"{thursday} 14:00", f"{next_monday} 00:00", "82 h 00 min", "http_503"]
    assert f"<td style=\"padding:4px 8px;border-top:1px solid #e4e7eb\">{thursday} 14:00</td>" in html_of(
        mails["nrb@example.org"])
    for message in mails.values():
        whole = text_of(message) + html_of(message)
        assert str(project.tmp_path) not in whole and "/var/" not in whole

    before = len(smtp_server.messages)
    send(project, smtp_server)  # nothing more to send
    assert len(smtp_server.messages) == before


def queued_of(project: Project, week: str) -> int:
    return project.scalar("SELECT count(*) FROM weekly_summaries WHERE week = :week", week=week)


def test_two_runs_at_once_and_runs_killed_midway_queue_each_summary_once(project: Project) -> None:
    monday = last_monday()
    more = 30  # stations S01 … S30: the run queues 33 summaries, long enough to be killed between two of them
    with StreamServer({"/live": StatusRoute(503)}) as streams:
        build(project, monday, streams.url("/live"), more_stations=more)
    weeks = [week_name(monday - timedelta(days=7 * n)) for n in range(4)]
    both = [project.popen("send-weekly-summaries", "--week", weeks[0]) for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in both)
    assert codes in ([0, 0], [0, 75]), [p.communicate() for p in both]  # 75: the other run held the lock
    partial = []
    for week in weeks[1:]:
        killed = project.popen("send-weekly-summaries", "--week", week)
        deadline = time.monotonic() + 60
        while queued_of(project, week) == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(killed.pid, signal.SIGKILL)  # as soon as its first summary is committed
        killed.wait(timeout=30)
        partial.append(queued_of(project, week))
        summaries(project, "--week", week)
        summaries(project, "--week", week)
    assert any(0 < n < 3 + more for n in partial), partial  # a run was killed with summaries left to queue
    # Each week: Ama, Joy FM, Capital Nairobi and S01 … S30 once (Efua and Obuasi FM unsubscribed), whatever ran.
    queued = project.query("SELECT dedupe_key, recipient FROM email_outbox WHERE template LIKE 'weekly%' "
                           "ORDER BY dedupe_key")
    recipients = [("artist", "ama-ghana", "ama@example.com"), ("station", "JOY", "joy@example.org"),
                  ("station", "NRB", "nrb@example.org")]
    recipients += [("station", f"S{n:02d}", f"s{n:02d}@example.org") for n in range(1, more + 1)]
    expected = sorted((f"weekly_summary:{week}:{kind}:{ref}", address)
                      for week in weeks for kind, ref, address in recipients)
    assert [(row.dedupe_key, row.recipient) for row in queued] == expected
    recorded = project.query("SELECT dedupe_key FROM weekly_summaries ORDER BY dedupe_key")
    assert [row.dedupe_key for row in recorded] == [key for key, _ in expected]


def test_a_run_without_week_summarises_the_last_week_ended_and_unsubscribing_holds(project: Project) -> None:
    monday = last_monday()
    world = World(project)
    joy = world.station("JOY", name="Joy FM", email="joy@example.org")
    odo = world.track("T-ODO", "Odo", "Ama Ghana")
    world.artist("Ama Ghana", email="ama@example.com", weekly_summary="no")
    world.play(joy, at(monday, 2, 12), 100, track=odo)
    world.load()
    out = summaries(project)
    assert f"0 artist and 1 station summaries queued for {week_name(monday)}, 0 already queued, 1 unsubscribed" in out
    # The files loaded again without the column keep Ama unsubscribed; Joy FM now says no too.
    world.artist("Ama Ghana", email="ama@example.com")
    world.station("JOY", name="Joy FM", email="joy@example.org", weekly_summary="no")
    world.load()
    earlier = week_name(monday - timedelta(days=7))
    assert "0 artist and 0 station summaries queued, 0 already queued, 2 unsubscribed" \
           in summaries(project, "--week", earlier)
    assert [r.dedupe_key for r in project.query("SELECT dedupe_key FROM email_outbox")] == [
        f"weekly_summary:{week_name(monday)}:station:JOY"]


def test_a_week_not_over_or_mistyped_is_refused_by_name(project: Project) -> None:
    this_week = week_name(last_monday() + timedelta(days=7))
    refused = project.script("send-weekly-summaries", "--week", this_week)
    assert refused.returncode == 2 and f"--week {this_week} is not over yet" in refused.stderr
    mistyped = project.script("send-weekly-summaries", "--week", "2026-48")
    assert mistyped.returncode == 2 and "write it as 2026-W48" in mistyped.stderr
