"""The demo: the whole pipeline on the embedded SQLite database, through the real scripts.

Three stations: two stream live from a local radio server (a few scan ticks),
the third uploads recordings of a whole simulated day (the last Sunday, UTC, so
that its week has ended and is summarised) into the snippet inbox.  Every job
runs as cron would run it (``bin/<job>`` in a child process), in the order of
the data flow; then the detected plays are compared with the schedule and the
money is reconciled.  The demo works in ``var/demo`` and starts clean every time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.db.engine import open_engine
from zamio.demo import catalog, programme, synth, unknown
from zamio.demo.mailsink import MailSink
from zamio.demo.server import Channel, DemoRadio
from zamio.demo.summary import Cycle, summarise, weekly_summaries
from zamio.runtime.config import PROJECT_ROOT
from zamio.values.money import format_amount

if TYPE_CHECKING:
    import numpy as np

DEMO_DIR = PROJECT_ROOT / "var" / "demo"
SNIPPET_SECONDS = 12.0
SNIPPET_EVERY = timedelta(minutes=2)
LIVE_TICKS = 3
TICK_SECONDS = 20
DAY_STATION = "TAKORADI-COMMUNITY"
MIN_PAYOUT = "20.00"  # GHS: below it a payee's money is carried forward to the next cycle
SOCIETY_ADDRESS = "12 Liberation Road; Airport Residential Area; Accra, Ghana"  # on the statements' letterhead


class Demo:
    def __init__(self, folder: Path = DEMO_DIR) -> None:
        self.folder = folder
        self.started = time.monotonic()
        self.step_no = 0
        self.env = dict(os.environ)
        self.env.update(ZAMIO_VAR_DIR=str(folder), ZAMIO_ENV_FILE=str(folder / "demo.env"), ZAMIO_NO_REEXEC="1")
        self.env.pop("DATABASE_URL", None)

    def say(self, text: str) -> None:
        self.step_no += 1
        print(f"[{time.monotonic() - self.started:6.1f}s] {self.step_no:2d}. {text}", flush=True)

    def job(self, name: str, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        """Run ``bin/<name>`` as cron would and show its one-line summary."""
        result = subprocess.run([sys.executable, str(PROJECT_ROOT / "bin" / name), *args], env=self.env,
                                cwd="/", capture_output=True, text=True, timeout=600)
        last = (result.stderr.strip().splitlines() or [""])[-1]
        print(f"           bin/{name} {' '.join(args)} -> exit {result.returncode}  {last.split(' ', 3)[-1]}")
        if result.returncode not in ok:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            raise SystemExit(f"bin/{name} failed with exit {result.returncode}")
        return result

    def prepare(self) -> None:
        self.say(f"starting clean in {self.folder}")
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "inbox").mkdir(parents=True)

    def configure(self, smtp_port: int) -> None:
        (self.folder / "demo.env").write_text(
            "SCAN_ALLOW_PRIVATE_ADDRESSES=true\nSCAN_INTERVAL_SECONDS=15\nSCAN_CAPTURE_SECONDS=10\n"
            f"ZAMIO_OPERATOR_EMAIL=operator@zamio.example\nSMTP_HOST=127.0.0.1\nSMTP_PORT={smtp_port}\n"
            f"MIN_PAYOUT=GHS={MIN_PAYOUT}\nSOCIETY_ADDRESS={SOCIETY_ADDRESS}\n"
        )

    def run(self) -> int:
        self.prepare()
        with MailSink(self.folder / "mail") as sink:
            self.configure(sink.port)
            return self.pipeline(sink)

    def pipeline(self, sink: MailSink) -> int:
        self.say("building the demo catalog: 7 generated songs, 1 jingle, contributors, a partner-society agreement, "
                 "the commission and withholding tax, three payees")
        files = catalog.write_catalog(self.folder / "catalog")
        self.job("migrate", "-q")
        now = datetime.now(UTC).replace(microsecond=0)
        live = {
            "GOLD-FM": programme.live_schedule(now, programme.SONGS[:3], 5),
            "KUMASI-VIBES": programme.live_schedule(now, programme.SONGS[3:6], 5),
        }
        renderer = programme.Renderer()
        channels = {ref.lower(): Channel(ref, renderer.window(slots, now, 5 * 60), now) for ref, slots in live.items()}
        with DemoRadio(channels) as radio:
            stations = catalog.write_stations(self.folder / "catalog", {ref: radio.url(ref.lower()) for ref in live})
            self.say("importing the catalog, the stations, the agreement, the deduction rates and the payees")
            self.job("import-catalog", "--tracks", str(files["tracks"]), "--contributors", str(files["contributors"]),
                     "--stations", str(stations), "--agreements", str(files["agreements"]),
                     "--commission-rates", str(files["commission-rates"]),
                     "--withholding-rates", str(files["withholding-rates"]), "--payees", str(files["payees"]))
            self.say("fingerprinting the catalog")
            self.job("auto-fingerprint-new-tracks")
            self.live_ticks(renderer)
            day = (now - timedelta(days=now.isoweekday())).replace(hour=0, minute=0, second=0)  # the last Sunday
            schedule = programme.day_schedule(day)
            self.simulated_day(renderer, schedule, day)
        return self.downstream(schedule, day, sink)

    def live_ticks(self, renderer: programme.Renderer) -> None:
        self.say(f"scanning the two live streams for {LIVE_TICKS} ticks, and one snippet dropped into the inbox")
        snippet_at = datetime.now(UTC).replace(microsecond=0)
        slots = programme.live_schedule(snippet_at - timedelta(seconds=40), programme.SONGS[5:], 5)
        self.drop_snippet(renderer.window(slots, snippet_at, SNIPPET_SECONDS), snippet_at, "live")
        for tick in range(LIVE_TICKS):
            began = time.monotonic()
            self.job("scan-station-streams", ok=(0, 1))
            if tick < LIVE_TICKS - 1:
                time.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - began)))

    def simulated_day(self, renderer: programme.Renderer, schedule: list[programme.Slot], day: datetime) -> None:
        count = int(timedelta(days=1) / SNIPPET_EVERY)
        self.say(f"{DAY_STATION} uploads a whole day of recordings "
                 f"({count} snippets of {SNIPPET_SECONDS:.0f} s, {day:%Y-%m-%d})")
        for n in range(count):
            at = day + n * SNIPPET_EVERY
            self.drop_snippet(renderer.window(schedule, at, SNIPPET_SECONDS), at, f"day-{n:04d}")
        self.say("scanning the inbox")
        while any((self.folder / "inbox").glob("*.json")):
            self.job("scan-station-streams", ok=(0, 1))

    def drop_snippet(self, samples: np.ndarray, at: datetime, name: str) -> None:
        inbox = self.folder / "inbox"
        stem = f"{DAY_STATION.lower()}-{name}"
        synth.write_wav(inbox / f"{stem}.wav", samples, programme.RATE)
        sidecar = {"station_ref": DAY_STATION, "chunk_id": stem, "started_at": at.isoformat()}
        (inbox / f"{stem}.json").write_text(json.dumps(sidecar))

    def downstream(self, schedule: list[programme.Slot], day: datetime, sink: MailSink) -> int:
        date = f"{day:%Y-%m-%d}"
        self.say("building play logs from the detections")
        self.job("convert-matches")
        self.say("mapping ISRCs to partner societies, pricing and splitting the plays")
        self.job("update-pro-mappings")
        self.job("calculate-royalty-distributions")
        self.identify_unknown_song(schedule)
        self.say("closing a royalty cycle for the simulated day")
        cycle_dir, payouts = self.folder / "cycle", self.folder / "payouts"
        self.job("process-royalty-cycle", "--name", f"DEMO-{date}", "--from", date, "--to", date,
                 "--out", str(cycle_dir))
        self.say(f"preparing the cycle's payments: bank and mobile-money files (minimum payout GHS {MIN_PAYOUT})")
        self.job("payouts", "--cycle", f"DEMO-{date}", "--out", str(payouts))
        self.say("warming the dashboard cache and writing a report")
        self.job("warm-cache")
        reports = self.folder / "reports"
        self.job("generate-analytics-report", "--type", "station", "--ref", DAY_STATION, "--from", date, "--to", date,
                 "--format", "csv,json,html", "--out", str(reports))
        week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
        self.say(f"queueing the weekly summaries of {week} to the artists and stations with an address")
        artists = self.folder / "catalog" / "artists.csv"
        artists.write_text("artist,email\nKojo Mensah,kojo@artists.example\nAma Serwaa,ama@artists.example\n")
        self.job("import-catalog", "--artists", str(artists))
        self.job("send-weekly-summaries", "--week", week)
        self.say("delivering the e-mail outbox (statements ready, weekly summaries) to a local mail sink")
        self.job("send-emails")
        print(f"           {sink.count} e-mail(s) delivered ({weekly_summaries(sink.folder)} weekly summaries), "
              f"filed in {sink.folder}")
        self.say("job health")
        print(self.job("zamio-status").stdout)
        self.say("reading the largest payee's statement in headless Chromium, and the money, the payments and the "
                 "e-mails against the ledger")
        return summarise(self.folder, schedule, day, DAY_STATION, Cycle(f"DEMO-{date}", cycle_dir), reports, payouts,
                         week)


    def identify_unknown_song(self, schedule: list[programme.Slot]) -> None:
        """The song the catalog lacks, heard and held: register it and name its unknown recording, so that the
        cycle pays its parties."""
        engine = open_engine(f"sqlite:///{self.folder / 'zamio.db'}")
        try:
            with engine.connect() as conn:
                held = unknown.unknown_money(conn, schedule)
        finally:
            engine.dispose()
        song = programme.UNKNOWN_SONG
        if held.ref is None:
            self.say(f"{song.title!r}, a song the catalog lacks, was not filed as an unknown recording")
            return
        self.say(f"{song.title!r}, not in the catalog, became unknown recording {held.ref}: {held.heard} plays, "
                 f"{format_amount(held.held, 'GHS')} held in suspense; registering the song: fingerprinting it "
                 "names the recording from the catalog")
        files = catalog.write_unknown_song(self.folder / "catalog")
        self.job("import-catalog", "--tracks", str(files["tracks"]), "--contributors", str(files["contributors"]))
        self.job("auto-fingerprint-new-tracks")
        self.job("identify-unknown", held.ref, "--track", song.ref, "--by", "demo",
                 "--reason", f"{song.title} by {song.artist}: registered with its shares")
        self.job("convert-matches")
        self.job("calculate-royalty-distributions")


def main() -> int:
    return Demo().run()


if __name__ == "__main__":
    raise SystemExit(main())
