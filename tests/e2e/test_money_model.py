"""The money path over random histories: the real scripts driven by a hypothesis state machine.

Each example is a fresh database and a history of steps a society's systems go through:
partners reporting airings (one to three of them, with clock jitter, re-sent rows under new
references and corrected durations), detections converted into plays, pricing runs (some
killed mid-run, some ``--recalculate``), share changes, new rate cards, a recording held in
suspense until the catalog learns it, suspense declared non-distributable, plays corrected by
hand, disputes opened (over a station's days, a play, a recording) and resolved (rejected,
upheld with a reassignment, or voiding what they cover), and cycles closed.
After every step the invariants people are paid by are checked against the database and the
files, with sums computed here from the rows, never by the code's own queries:

* an airing is billed at most once, and after a completed pricing run exactly once;
* a locked cycle reconciles: the gross of the pricings it pays equals its ledger lines, its
  line items and its statements file, to the minor unit;
* every licence fee is spread by days (pro rata, by cumulative rounding) or still pending, never lost;
* money an open dispute holds is never paid: after a completed pricing run every covered play's
  priced money stands in the account of the oldest open dispute covering it, and no pool cycle
  closed while a dispute was open paid a play it covers to anyone;
* a resolved dispute's account comes back to zero: its pricing lines once a pricing run has
  completed, its pool lines once a pool cycle was closed after the resolution;
* a reference row that priced a play never changes;
* regenerating a cycle's files gives the same bytes;
* every artist's dashboard and report show, per cycle, what her statements pay.

Two drivers share the steps and invariants: seeded histories of exactly ``ZAMIO_MODEL_STEPS``
steps (always long, always ending priced and closed, then with every open dispute decided and
one more pool cycle closed, which releases what the pools held), and hypothesis's own exploration, which
shrinks a failing history to its shortest form.  CI runs a few derandomised examples per
database (``ZAMIO_MODEL_EXAMPLES``, default 3, of ``ZAMIO_MODEL_STEPS`` steps, default 10); a
longer run sets them higher, and ``ZAMIO_MODEL_RANDOM=1`` draws new histories each time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.support import (
    Project,
    create_postgres_database,
    drop_postgres_database,
    migrated_sqlite_url,
    postgres_problem,
)
from tests.world import T0, CaptureWorld
from zamio.royalties.statements.earnings import NOT_IN_A_CYCLE

EXAMPLES = int(os.environ.get("ZAMIO_MODEL_EXAMPLES", "3"))
STEPS = int(os.environ.get("ZAMIO_MODEL_STEPS", "10"))
UNITS = Decimal(10_000)  # money is stored in ten-thousandths of the currency unit

HEADER = "station_ref,started_at,duration_seconds,track_ref,isrc,title,artist,source,confidence,import_ref\n"
#: The airings of the history: (station, track, day of March 2026), each at 12:00 UTC (Accra time).
AIRINGS = [("joy", "t0", 2), ("joy", "t1", 3), ("peace", "t2", 4), ("peace", "t0", 6), ("joy", "t1", 9),
           ("peace", "t1", 12), ("joy", "t3", 14), ("joy", "t1", 33), ("peace", "t0", 40)]
#: t3 is not in the catalog until a step registers it: its plays wait in suspense, then are released.
TRACKS = {"t0": "GHA012600001", "t1": "GHA012600002", "t2": "GBAYE0601498", "t3": "GHA012600099"}
PARTNERS = ["monitor", "station-log", "society"]
#: Per-second cycles pay March's plays; pool cycles spread the licence fees over April's and May's.
CYCLES = {"2026-03-a": ("2026-03-01", "2026-03-05", "per_second"),
          "2026-03-b": ("2026-03-06", "2026-03-31", "per_second"),
          "2026-04": ("2026-04-01", "2026-04-30", "pool"), "2026-05": ("2026-05-01", "2026-05-31", "pool")}
#: The pool cycle a seeded history ends with, once its open disputes are decided: it releases what they held.
LAST_CYCLES = {**CYCLES, "2026-06": ("2026-06-01", "2026-06-30", "pool")}
#: An annual fee, and an awkward one whose days cross the pool cycles (GHS 10.00 over 61 days).
LICENCE_FEES = "station_ref,period_from,period_to,amount,currency\n" \
               "joy,2026-01-01,2026-12-31,365.00,GHS\npeace,2026-03-15,2026-05-14,10.00,GHS\n"
AIRING_SECONDS = 200
#: What a dispute step disputes: a station's days, one play, a recording's shares or its identity.
DISPUTE_SCOPES = ["days", "play", "shares", "identity"]
#: How a dispute step resolves the oldest open dispute.
RESOLUTIONS = {"rejected": ["--decision", "rejected"], "upheld": ["--decision", "upheld", "--reassign-to", "t2"],
               "void": ["--decision", "partly", "--void"]}
#: The plays a dispute covers (the scope as docs/royalties.md and bin/disputes state it), written here.
COVERED = ("SELECT d.id AS dispute_id, p.id AS play_id FROM disputes d JOIN play_logs p ON ("
           " (d.station_id = p.station_id AND p.started_at >= d.starts_at AND p.started_at < d.ends_at)"
           " OR (d.track_id IS NOT NULL AND p.track_id = d.track_id) OR (d.isrc IS NOT NULL AND p.isrc = d.isrc)"
           " OR EXISTS (SELECT 1 FROM dispute_plays x WHERE x.dispute_id = d.id AND x.play_key = p.play_key))")


def catalog_files(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "stations.csv": "station_ref,name,city,region,station_class,stream_url,timezone\n"
                        "joy,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n"
                        "peace,Peace FM,Accra,Greater Accra,class_b,,Africa/Accra\n",
        "tracks.csv": "track_ref,title,artist,audio_path,isrc,duration_seconds,society_code\n"
                      "t0,Odo,Ama,,GHA012600001,240,\n"
                      "t1,Sika,Kofi,,GHA012600002,240,\n"
                      "t2,London,UK Artist,,GBAYE0601498,240,052\n",
        "agreements.csv": "society_code,effective_from,status,admin_fee_percent\n052,2025-01-01,active,15\n",
        "fees.csv": LICENCE_FEES,
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return ["--stations", str(folder / "stations.csv"), "--tracks", str(folder / "tracks.csv"),
            "--agreements", str(folder / "agreements.csv"), "--licence-fees", str(folder / "fees.csv")]


def shares_file(folder: Path, n: int, ama_percent: int) -> str:
    path = folder / f"contributors-{n}.csv"
    path.write_text("track_ref,name,role,share_percent\n"
                    f"t0,Ama,composer,{ama_percent}\nt0,Yaw,lyricist,{100 - ama_percent}\n"
                    "t1,Kofi,composer,100\n")
    return str(path)


class MoneyHistory(RuleBasedStateMachine):
    """One random history on one fresh database (``database_kind`` set by the test)."""

    database_kind = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(os.environ["ZAMIO_MODEL_TMP"]) / uuid.uuid4().hex[:10]
        self.root.mkdir(parents=True)
        self.pg_name: str | None = None
        self.project = Project(self._database_url(), self.root)
        self.files = 0
        self.priced_completely = False  # the last pricing step ran to its end with nothing reported since
        self.used_rates: dict[int, tuple] = {}
        self.closed: dict[str, Path] = {}
        self.detected: set[int] = set()
        self.disputes = 0
        self.open_at_close: dict[str, set[int]] = {}  # a pool cycle: the disputes open when it was locked
        self.resolved_at_close: dict[str, set[int]] = {}  # a pool cycle: the disputes resolved before it was locked

    def _database_url(self) -> str:
        if self.database_kind == "sqlite":
            return migrated_sqlite_url(self.root / "zamio.db")
        self.pg_name, url = create_postgres_database()
        return url

    def teardown(self) -> None:
        self.project.engine.dispose()
        if self.pg_name:
            drop_postgres_database(self.pg_name)

    def run(self, name: str, *args: str) -> str:
        result = self.project.script(name, *args, timeout=300)
        assert result.returncode in (0, 1), f"{name} {args}: exit {result.returncode}\n{result.stderr}"
        return result.stdout

    # --- the history ----------------------------------------------------------------------

    @initialize()
    def load_catalog(self) -> None:
        self.run("import-catalog", *catalog_files(self.root / "catalog"))
        self.run("import-catalog", "--contributors", shares_file(self.root / "catalog", 0, 50))
        self.world = CaptureWorld(self.project)
        for table, ref, target in (("stations", "station_ref", self.world.stations),
                                   ("tracks", "track_ref", self.world.tracks)):
            for row in self.project.query(f"SELECT id, {ref} FROM {table}"):
                target[row[1]] = row[0]

    @rule(airing=st.integers(0, len(AIRINGS) - 1), partner=st.integers(0, len(PARTNERS) - 1),
          jitter=st.integers(-20, 20), resent_as_new=st.booleans(), cut=st.sampled_from([0, 0, 15]))
    def partner_reports(self, airing: int, partner: int, jitter: int, resent_as_new: bool, cut: int) -> None:
        """A partner reports an airing (by track for one, by ISRC for the others), perhaps again."""
        station, track, day = AIRINGS[airing]
        start = T0 + timedelta(days=day - 2, seconds=jitter)
        reference = f"{airing}-{'bis' if resent_as_new else 'a'}"
        by_track = partner == 0 and track in self.world.tracks
        row = (f"{station},{start:%Y-%m-%dT%H:%M:%SZ},{AIRING_SECONDS - cut},{track if by_track else ''},"
               f"{'' if by_track else TRACKS[track]},,,{PARTNERS[partner]},,{reference}\n")
        self.files += 1
        path = self.root / f"report-{self.files}.csv"
        path.write_text(HEADER + row)
        self.run("import-playlogs", str(path))
        self.priced_completely = False

    @rule(airing=st.integers(0, len(AIRINGS) - 1))
    def station_detects(self, airing: int) -> None:
        """The scanner hears an airing (two captures two minutes apart) and the converter runs."""
        if airing in self.detected or AIRINGS[airing][1] not in self.world.tracks:
            return
        self.detected.add(airing)
        station, track, day = AIRINGS[airing]
        begin = (day - 2) * 86400.0
        self.world.programme(station, [(track, begin, AIRING_SECONDS)], T0 + timedelta(seconds=begin + 10), 2)
        self.run("convert-matches", "--as-of", "2026-04-30T00:00:00Z")
        self.priced_completely = False

    @rule(recalculate=st.booleans())
    def price(self, recalculate: bool) -> None:
        result = self.project.script("calculate-royalty-distributions", *(["--recalculate"] if recalculate else []),
                                     timeout=300)
        assert result.returncode in (0, 1), result.stderr
        self.priced_completely = result.returncode == 0

    @rule(after=st.floats(0.05, 1.5))
    def pricing_killed(self, after: float) -> None:
        process = self.project.popen("calculate-royalty-distributions")
        time.sleep(after)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        self.priced_completely = False

    @rule()
    def catalog_learns_track(self) -> None:
        """The society registers t3, whose plays were held in suspense; the next pricing releases them."""
        if "t3" in self.world.tracks:
            return
        folder = self.root / "catalog"
        (folder / "t3.csv").write_text("track_ref,title,artist,audio_path,isrc,duration_seconds\n"
                                       "t3,Nkwa,Esi,,GHA012600099,240\n")
        (folder / "t3-shares.csv").write_text("track_ref,name,role,share_percent\nt3,Esi,composer,100\n")
        self.run("import-catalog", "--tracks", str(folder / "t3.csv"), "--contributors", str(folder / "t3-shares.csv"))
        self.world.tracks["t3"] = self.project.scalar("SELECT id FROM tracks WHERE track_ref = 't3'")
        self.priced_completely = False

    @rule()
    def suspense_declared(self) -> None:
        """Years later, what is still held is declared non-distributable."""
        self.run("suspense-report", "--declare", "--as-of", "2030-01-15")

    @rule(ama=st.sampled_from([40, 50, 75]))
    def shares_change(self, ama: int) -> None:
        self.files += 1
        self.run("import-catalog", "--contributors", shares_file(self.root / "catalog", self.files, ama))
        self.priced_completely = False

    @rule(multiplier=st.sampled_from(["1.0", "1.25", "2"]), day=st.integers(3, 20))
    def new_rate_card(self, multiplier: str, day: int) -> None:
        self.files += 1
        path = self.root / f"rates-{self.files}.csv"
        path.write_text("territory,station_class,period,rate_per_second,multiplier,currency,effective_from\n"
                        f"GH,class_a,regular,0.015,{multiplier},GHS,2026-03-{day:02d}\n")
        self.project.script("import-catalog", "--rate-cards", str(path), timeout=300)  # a refusal is fine
        self.priced_completely = False

    @rule(pick=st.integers(0, 40), seconds=st.sampled_from([120, 185]))
    def play_corrected(self, pick: int, seconds: int) -> None:
        """A play's length corrected by hand from the station's log (a new version of the play)."""
        ids = [row[0] for row in self.project.query("SELECT id FROM play_logs WHERE status = 'final' ORDER BY id")]
        if ids:
            self.run("correct-plays", "retime", str(ids[pick % len(ids)]), "--seconds", str(seconds),
                     "--reason", "station log")
            self.priced_completely = False

    @rule(scope=st.sampled_from(DISPUTE_SCOPES), day=st.integers(2, 14))
    def dispute_opened(self, scope: str, day: int) -> None:
        """Joy FM disputes plays: its days, one play, a recording's shares or identity (refused: none covered)."""
        if scope == "days":
            what = ["--station", "joy", "--from", f"2026-03-{day:02d}", "--to", f"2026-03-{day + 7:02d}"]
        elif scope == "play":
            ids = [row[0] for row in self.project.query("SELECT id FROM play_logs WHERE status = 'final' "
                                                        "ORDER BY id")]
            if not ids:
                return
            what = ["--plays", str(ids[day % len(ids)])]
        else:
            what = ["--recording", "t0", "--shares"] if scope == "shares" else \
                ["--recording", TRACKS["t1"], "--identity"]
        self.disputes += 1
        self.run("disputes", "open", "--claimant-type", "station", "--claimant", "joy", *what,
                 "--reason", f"claim {self.disputes}")
        self.priced_completely = False

    @rule(decision=st.sampled_from(sorted(RESOLUTIONS)))
    def dispute_resolved(self, decision: str) -> None:
        """The oldest open dispute is decided: rejected, upheld reassigning its plays to t2, or its plays voided."""
        oldest = self.project.scalar("SELECT min(id) FROM disputes WHERE status = 'open'")
        if oldest is not None:
            self.run("disputes", "resolve", f"D-{oldest:06d}", *RESOLUTIONS[decision], "--reason", "decided")
            self.priced_completely = False

    @rule(name=st.sampled_from(sorted(CYCLES)))
    def close_cycle(self, name: str) -> None:
        first, last, method = LAST_CYCLES[name]
        out = self.root / "cycles" / name
        locked_before = self._locked(name)
        statuses = {row[0]: row[1] for row in self.project.query("SELECT id, status FROM disputes")}
        self.run("process-royalty-cycle", "--name", name, "--from", first, "--to", last, "--method", method,
                 "--out", str(out))
        if self._locked(name):
            self.closed[name] = out
            if not locked_before and method == "pool":
                self.open_at_close[name] = {i for i, status in statuses.items() if status == "open"}
                self.resolved_at_close[name] = {i for i, status in statuses.items() if status == "resolved"}
        self.priced_completely = False  # closing prices pending plays, but later reports wait
        self.figures_people_read_agree()

    # --- the invariants -------------------------------------------------------------------

    @invariant()
    def each_airing_billed_at_most_once(self) -> None:
        if not hasattr(self, "world"):
            return
        plays = self.project.query(
            "SELECT p.id, p.station_id, p.started_at, p.status FROM play_logs p "
            "WHERE p.status IN ('final', 'duplicate')")
        standing = {row[0] for row in self.project.query(
            "SELECT r.play_id FROM royalty_pricings r WHERE r.status <> 'reversed' AND NOT EXISTS ("
            " SELECT 1 FROM royalty_pricings n WHERE n.play_id = r.play_id AND n.version > r.version)")}
        voided = {(row.station_id, _as_date(row.started_at)) for row in self.project.query(  # by a dispute
            "SELECT p.station_id, p.started_at FROM play_logs p JOIN audit_log a ON a.entity_id = "
            "CAST(p.id AS TEXT) WHERE a.action = 'play.void'")}
        by_airing: dict[tuple, list] = defaultdict(list)
        for play in plays:  # the history's airings are on distinct days, each reported within 20 s of noon
            by_airing[(play.station_id, _as_date(play.started_at))].append(play)
        for airing, reports in by_airing.items():
            billed = [p for p in reports if p.status == "final"]
            if airing in voided and not billed:  # no version of it stands; a report under a new reference may
                continue
            assert len(billed) == 1, f"airing {airing}: {len(billed)} billed plays among {len(reports)} reports"
            priced = [p for p in reports if p.id in standing]
            assert len(priced) <= 1, f"airing {airing} priced {len(priced)} times"
            if self.priced_completely:
                assert [p.id for p in priced] == [billed[0].id], f"airing {airing}: the billed play is not priced"

    @invariant()
    def locked_cycles_reconcile(self) -> None:
        """A per-second cycle pays its pricings' gross; a pool cycle the licence fee parts it spread.
        Either way the ledger, the line items and statements.csv show that money, to the minor unit; statements.csv
        lists the payees paid nothing by the cycle that have a balance of it too."""
        for name, out in self.closed.items():
            cycle_id = self.project.scalar("SELECT id FROM royalty_cycles WHERE name = :n", n=name)
            if LAST_CYCLES[name][2] == "per_second":
                pricings = self.project.query(
                    "SELECT r.gross, r.previous_gross FROM royalty_pricings r JOIN cycle_pricings c "
                    "ON c.play_id = r.play_id AND c.version = r.version WHERE c.cycle_id = :c", c=cycle_id)
                owed = sum(row.gross - row.previous_gross for row in pricings)
                paid = sum(row[0] for row in self.project.query(
                    "SELECT l.amount FROM royalty_ledger l JOIN cycle_pricings c "
                    "ON c.play_id = l.play_id AND c.version = l.version "
                    # A pool cycle's lines name the plays its fee was spread over, not their pricing's cycle.
                    "WHERE c.cycle_id = :c AND l.cycle_id IS NULL", c=cycle_id))
            else:
                owed = sum(row[0] for row in self.project.query(
                    "SELECT amount FROM licence_fee_parts WHERE cycle_id = :c", c=cycle_id))
                paid = sum(row[0] for row in self.project.query(
                    "SELECT amount FROM royalty_ledger WHERE cycle_id = :c", c=cycle_id))
            items = self.project.query(
                "SELECT recipient_type, recipient_ref, currency, net, admin_fee FROM cycle_line_items "
                "WHERE cycle_id = :c", c=cycle_id)
            assert paid == owed, f"{name}: ledger {paid} != owed {owed}"
            assert sum(item.net for item in items) == owed, f"{name}: line items do not add up to {owed}"
            written = {(row["recipient_type"], row["recipient"], row["currency"]): row["net"]
                       for row in csv.DictReader(io.StringIO((out / "statements.csv").read_text()))}
            expected = {(item.recipient_type, item.recipient_ref, item.currency): _shown(item.net) for item in items}
            # A domestic payee with a balance of the cycle (a fraction brought forward) but no line: a row of zeros.
            for kind, ref, currency in self.project.query(
                    "SELECT recipient_type, recipient_ref, currency FROM payout_balances "
                    "WHERE cycle_id = :c AND recipient_type <> 'society'", c=cycle_id):
                expected.setdefault((kind, ref, currency), "0.00")
            assert written == expected, f"{name}: statements.csv disagrees with the line items and balances"

    @invariant()
    def every_fee_is_spread_by_days_or_pending(self) -> None:
        """Each licence fee's parts cover distinct days from its first day on, each worth the fee's days pro
        rata by cumulative rounding (computed here), and together never more than the fee."""
        for fee_id, first, last, amount in self.project.query(
                "SELECT id, period_from, period_to, amount FROM station_licence_fees"):
            first, last = _as_date(first), _as_date(last)
            days = (last - first).days + 1
            parts = sorted((_as_date(a), _as_date(b), n) for a, b, n in self.project.query(
                "SELECT day_from, day_to, amount FROM licence_fee_parts WHERE fee_id = :f", f=fee_id))
            covered = first
            for day_from, day_to, units in parts:
                assert day_from == covered, f"fee {fee_id}: days {covered}..{day_from} skipped or spread twice"
                k1, k2 = (day_from - first).days, (day_to - first).days + 1
                worth = _half_even(Decimal(amount) * k2 / days) - _half_even(Decimal(amount) * k1 / days)
                assert units == worth, f"fee {fee_id}: days {day_from}..{day_to} paid {units}, worth {worth}"
                covered = day_to + timedelta(days=1)
            assert covered <= last + timedelta(days=1) and sum(p[2] for p in parts) <= amount

    @invariant()
    def held_money_is_never_paid(self) -> None:
        """After a completed pricing run, every covered play priced to money (not ineligible, unpriced or
        declared) stands whole in the account of the oldest open dispute covering it; a pool cycle never pays
        (a share or an admin fee) a play covered by a dispute open when it was locked."""
        covered = self.project.query(COVERED)
        opened = {row[0] for row in self.project.query("SELECT id FROM disputes WHERE status = 'open'")}
        if self.priced_completely:
            holder: dict[int, int] = {}  # play → the oldest open dispute covering it
            for dispute_id, play_id in covered:
                if dispute_id in opened:
                    holder[play_id] = min(holder.get(play_id, dispute_id), dispute_id)
            for play_id, dispute_id in holder.items():
                latest = self.project.query(
                    "SELECT r.version, r.status, r.reason, r.gross FROM royalty_pricings r JOIN play_logs p "
                    "ON p.id = r.play_id WHERE r.play_id = :p AND p.status = 'final' ORDER BY r.version DESC",
                    p=play_id)
                if not latest or latest[0].status in ("ineligible", "unpriced", "non_distributable"):
                    continue
                version = latest[0].version
                assert (latest[0].status, latest[0].reason) == ("suspense", "disputed"), \
                    f"play {play_id} covered by open D-{dispute_id:06d} is priced {latest[0].status}"
                lines = self.project.query(
                    "SELECT recipient_ref, amount FROM royalty_ledger WHERE play_id = :p AND version = :v "
                    "AND cycle_id IS NULL AND kind <> 'reversal'", p=play_id, v=version)
                assert [(ref, amount) for ref, amount in lines] == [(f"dispute:D-{dispute_id:06d}", latest[0].gross)], \
                    f"play {play_id}: its money is not all held by D-{dispute_id:06d}: {lines}"
        by_play: dict[int, set[int]] = defaultdict(set)
        for dispute_id, play_id in covered:
            by_play[play_id].add(dispute_id)
        for name, held_by in self.open_at_close.items():
            for play_id, ref in self.project.query(
                    "SELECT l.play_id, l.recipient_ref FROM royalty_ledger l JOIN royalty_cycles c "
                    "ON c.id = l.cycle_id WHERE c.name = :n AND l.kind IN ('share', 'admin_fee')", n=name):
                assert not by_play.get(play_id, set()) & held_by, \
                    f"{name} paid {ref} for play {play_id}, held by D-{min(by_play[play_id] & held_by):06d}"

    @invariant()
    def resolved_disputes_release_everything(self) -> None:
        """A resolved dispute's account holds nothing: no pricing line once a pricing run has completed, no pool
        line once a pool cycle was locked after the resolution."""
        resolved = {row[0] for row in self.project.query("SELECT id FROM disputes WHERE status = 'resolved'")}
        released_by_pool = set().union(*self.resolved_at_close.values()) if self.resolved_at_close else set()
        for dispute_id in resolved:
            account = f"dispute:D-{dispute_id:06d}"
            if self.priced_completely:
                held = self.project.scalar("SELECT coalesce(sum(amount), 0) FROM royalty_ledger "
                                           "WHERE recipient_ref = :a AND cycle_id IS NULL", a=account)
                assert held == 0, f"{account} still holds {held} pricing units after a completed pricing run"
            if dispute_id in released_by_pool:
                held = self.project.scalar("SELECT coalesce(sum(amount), 0) FROM royalty_ledger "
                                           "WHERE recipient_ref = :a AND cycle_id IS NOT NULL", a=account)
                assert held == 0, f"{account} still holds {held} pool units after a later pool cycle"

    @invariant()
    def used_reference_rows_never_change(self) -> None:
        rows = self.project.query(
            "SELECT id, territory, station_class, period, rate_per_second, multiplier, currency, effective_from "
            "FROM rate_cards WHERE id IN (SELECT rate_card_id FROM royalty_pricings)")
        for row in rows:
            values = tuple(str(v) for v in row[1:])
            assert self.used_rates.setdefault(row.id, values) == values, f"rate card {row.id} changed after use"

    @invariant()
    def regeneration_is_byte_identical(self) -> None:
        for name, out in self.closed.items():
            again = self.root / "regenerated" / name
            result = self.project.script("process-royalty-cycle", "--name", name, "--regenerate",
                                         "--despite-changed-inputs", "--out", str(again), timeout=300)
            assert result.returncode == 0, result.stderr
            assert _files(again) == _files(out), f"{name}: regenerated files differ"

    def figures_people_read_agree(self) -> None:
        """Every artist's dashboard and report shows, per cycle, what her statements pay: the cycle's line
        item for a locked cycle, and for money not yet in a cycle the sum of those ledger lines, summed here."""
        self.run("warm-cache")
        items = {(row.name, row.recipient_type, row.recipient_ref): int(row.net) for row in self.project.query(
            "SELECT c.name, i.recipient_type, i.recipient_ref, i.net FROM cycle_line_items i "
            "JOIN royalty_cycles c ON c.id = i.cycle_id")}
        pending: dict[tuple, int] = defaultdict(int)
        for row in self.project.query(
                "SELECT l.recipient_type, l.recipient_ref, l.amount FROM royalty_ledger l WHERE l.cycle_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM cycle_pricings c "
                "WHERE c.play_id = l.play_id AND c.version = l.version)"):
            pending[(NOT_IN_A_CYCLE, row.recipient_type, row.recipient_ref)] += int(row.amount)
        for artist_id, ref in self.project.query("SELECT id, artist_ref FROM artists"):
            dashboard = json.loads(self.project.scalar("SELECT value FROM cache_entries WHERE key = :k",
                                                       k=f"artist:{artist_id}"))["earnings_by_cycle"]
            report = self._report_earnings(ref)
            assert _by_key(dashboard) == _by_key(report), f"artist {ref}: dashboard and report disagree"
            for key, units in _by_key(dashboard).items():
                if key[1] in ("artist", "contributor"):  # her own accounts: the whole statement line
                    expected = pending.get(key, 0) if key[0] == NOT_IN_A_CYCLE else items.get(key, 0)
                    assert units == expected, f"artist {ref}: {key} shows {units}, statements pay {expected}"

    def _report_earnings(self, ref: str) -> list[dict]:
        out = self.root / "reports"
        result = self.project.script("generate-analytics-report", "--type", "artist", "--ref", ref, "--from",
                                     "2026-01-01", "--to", "2026-12-31", "--format", "json", "--out", str(out))
        assert result.returncode == 0, result.stderr
        return json.loads(Path(result.stdout.strip()).read_text())["earnings"]

    def _locked(self, name: str) -> bool:
        return self.project.scalar("SELECT status FROM royalty_cycles WHERE name = :n", n=name) == "locked"


def _by_key(rows: list[dict]) -> dict[tuple, int]:
    """Earnings rows → {(cycle, recipient type, recipient): units}; dashboards name no cycle with null."""
    return {(row["cycle"] or NOT_IN_A_CYCLE, row["recipient_type"], row["recipient"]): int(row["amount_units"])
            for row in rows}


def _half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _as_date(value) -> date:  # noqa: ANN001  (a datetime, or SQLite's text)
    return value.date() if hasattr(value, "date") else date.fromisoformat(str(value)[:10])


def _shown(units: int) -> str:
    """An amount as the statements show it: currency units with two decimals."""
    return str((Decimal(units) / UNITS).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "summary.txt"}


def _machine(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[MoneyHistory]:
    if kind == "postgresql":
        problem = postgres_problem()
        if problem and os.environ.get("ZAMIO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but unreachable: {problem}")
        if problem:
            pytest.skip(f"no PostgreSQL server reachable ({problem})")
    monkeypatch.setenv("ZAMIO_MODEL_TMP", str(tmp_path))
    return type(f"MoneyHistory_{kind}", (MoneyHistory,), {"database_kind": kind})


#: A step of a seeded history: the rule and a drawer of its arguments.
STEP_KINDS = [
    (MoneyHistory.partner_reports, lambda r: dict(airing=r.randrange(len(AIRINGS)), partner=r.randrange(3),
                                                  jitter=r.randint(-20, 20), resent_as_new=r.random() < 0.3,
                                                  cut=r.choice([0, 0, 15]))),
    (MoneyHistory.partner_reports, lambda r: dict(airing=r.randrange(len(AIRINGS)), partner=r.randrange(3),
                                                  jitter=r.randint(-20, 20), resent_as_new=False, cut=0)),
    (MoneyHistory.station_detects, lambda r: dict(airing=r.randrange(len(AIRINGS)))),
    (MoneyHistory.price, lambda r: dict(recalculate=r.random() < 0.3)),
    (MoneyHistory.pricing_killed, lambda r: dict(after=r.uniform(0.05, 1.5))),
    (MoneyHistory.shares_change, lambda r: dict(ama=r.choice([40, 50, 75]))),
    (MoneyHistory.new_rate_card, lambda r: dict(multiplier=r.choice(["1.0", "1.25", "2"]), day=r.randint(3, 20))),
    (MoneyHistory.close_cycle, lambda r: dict(name=r.choice(sorted(CYCLES)))),
    (MoneyHistory.catalog_learns_track, lambda r: {}),
    (MoneyHistory.suspense_declared, lambda r: {}),
    (MoneyHistory.play_corrected, lambda r: dict(pick=r.randrange(40), seconds=r.choice([120, 185]))),
    (MoneyHistory.dispute_opened, lambda r: dict(scope=r.choice(DISPUTE_SCOPES), day=r.randint(2, 14))),
    (MoneyHistory.dispute_opened, lambda r: dict(scope=r.choice(DISPUTE_SCOPES), day=r.randint(2, 14))),
    (MoneyHistory.dispute_resolved, lambda r: dict(decision=r.choice(sorted(RESOLUTIONS)))),
]
INVARIANTS = [MoneyHistory.each_airing_billed_at_most_once, MoneyHistory.locked_cycles_reconcile,
              MoneyHistory.every_fee_is_spread_by_days_or_pending, MoneyHistory.held_money_is_never_paid,
              MoneyHistory.resolved_disputes_release_everything,
              MoneyHistory.used_reference_rows_never_change, MoneyHistory.regeneration_is_byte_identical]


def replay_seeded_history(machine: type[MoneyHistory], seed: int, steps: int) -> list[str]:
    """Run one history of exactly ``steps`` steps drawn from ``seed``, checking every invariant after each."""
    import random

    draw = random.Random(seed)
    history = machine()
    done = []
    try:
        history.load_catalog()
        for _ in range(steps):
            step, arguments = draw.choice(STEP_KINDS)
            kwargs = arguments(draw)
            done.append(f"{step.__name__}({kwargs})")
            step(history, **kwargs)
            for check in INVARIANTS:
                check(history)
        history.price(recalculate=False)  # every history ends priced and closed: the strictest state
        for name in sorted(CYCLES):
            history.close_cycle(name)
        for check in INVARIANTS:
            check(history)
        # Then every dispute still open is decided, and the last pool cycle releases what the pools held.
        for _ in range(int(history.project.scalar("SELECT count(*) FROM disputes WHERE status = 'open'"))):
            decision = draw.choice(sorted(RESOLUTIONS))
            done.append(f"dispute_resolved({decision!r})")
            history.dispute_resolved(decision)
        history.price(recalculate=False)
        history.close_cycle("2026-06")
        for check in INVARIANTS:
            check(history)
    except AssertionError as failure:
        raise AssertionError(f"seed {seed} after steps:\n  " + "\n  ".join(done) + f"\n{failure}") from failure
    finally:
        history.teardown()
    return done


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_money_invariants_hold_over_seeded_histories(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    machine = _machine(kind, tmp_path, monkeypatch)
    for seed in range(EXAMPLES):
        replay_seeded_history(machine, seed, STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_money_invariants_hold_over_histories_hypothesis_explores(kind: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """Hypothesis draws and shrinks histories; CI runs few of them, a longer run many."""
    run_state_machine_as_test(_machine(kind, tmp_path, monkeypatch), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        derandomize=not os.environ.get("ZAMIO_MODEL_RANDOM"), suppress_health_check=list(HealthCheck)))
