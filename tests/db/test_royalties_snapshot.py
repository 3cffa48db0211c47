"""A cycle's input snapshot: recorded at the lock, printed, and checked before its files are regenerated."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from tests.support import Project
from tests.world import World


def close(project: Project, name: str, *args: str) -> tuple[int, str, str, Path]:
    out = project.tmp_path / "cycles" / name
    result = project.script("process-royalty-cycle", "--name", name, *args, "--out", str(out))
    return result.returncode, result.stdout, result.stderr, out


def files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def clear(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()


def scenario(project: Project) -> tuple[World, dict[str, int]]:
    """Class B station, GHS 0.012/s at noon: a PRS work of 240 s (28800 units), a local work of 125 s shared
    50/50 (15000 units) and a 5 s play of it (ineligible, 0 units); loaded; return the world and the ids."""
    world = World(project)
    station = world.station(station_class="class_b")
    world.agreement("052", "15", "2025-01-01")
    prs = world.track("t-prs", "London", "UK Artist", society="052")
    local = world.track("t1", "Odo", "Ama")
    world.contributor(local, "Ama", "50")
    world.contributor(local, "Yaw", "50")
    plays = {"prs": world.play(station, "2026-03-02 12:00", 240, track=prs),
             "local": world.play(station, "2026-03-03 12:00", 125, track=local),
             "short": world.play(station, "2026-03-04 12:00", 5, track=local)}
    world.load()
    return world, {**{name: play.id for name, play in plays.items()},
                   "prs_track": prs.id, "local_track": local.id, "uk": world.artist_id("UK Artist"),
                   "ama": world.artist_id("Ama"), "society": world.society_id("052")}


def test_a_locked_cycle_records_and_prints_its_input_snapshot(project: Project) -> None:
    _, ids = scenario(project)
    code, stdout, stderr, out = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0, stderr
    # The play set: one "play:version:gross" line per pricing paid, in play order.
    plays = hashlib.sha256(f"{ids['prs']}:1:28800\n{ids['local']}:1:15000\n{ids['short']}:1:0\n".encode()).hexdigest()
    # The share tables of the two works paid: track, artist, artist's publisher, track's publisher, society,
    # then each contributor's party, role, share and publisher (a work without contributors: one row).
    rows = [[ids["prs_track"], ids["uk"], None, None, ids["society"], None, None, None, None],
            [ids["local_track"], ids["ama"], None, None, None, "ama", "composer", "50", None],
            [ids["local_track"], ids["ama"], None, None, None, "yaw", "composer", "50", None]]
    shares = hashlib.sha256("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()).hexdigest()
    cycle = project.query("SELECT input_hash, plays_digest, shares_digest, rates_digest, input_snapshot "
                          "FROM royalty_cycles")[0]
    assert cycle.plays_digest == plays and cycle.shares_digest == shares
    snapshot = json.loads(cycle.input_snapshot)
    assert snapshot["cycle"] == {"territory": "GH", "period_from": "2026-03-01", "period_to": "2026-03-31",
                                 "method": "per_second"}
    assert snapshot["plays"] == {"pricings": 3, "gross": 43800, "digest": plays}
    assert snapshot["shares"] == {"works": 2, "rows": 2, "digest": shares}
    seeded = snapshot["tables"]["rate_cards"]
    assert len(seeded["rows"]) == 15 and "created_at" not in seeded["columns"]
    cards = {(c["station_class"], c["period"]): c for c in (dict(zip(seeded["columns"], row))
                                                            for row in seeded["rows"].values())}
    assert cards["class_b", "prime"] == {
        "territory": "GH", "station_class": "class_b", "period": "prime", "rate_per_second": "0.012",
        "multiplier": "1.3", "currency": "GHS", "effective_from": "2024-01-01", "effective_to": None}
    printed = [f"input snapshot {cycle.input_hash}",
               "  period      2026-03-01 to 2026-03-31, per_second, territory GH",
               f"  plays       3 pricings, gross 43,800 units, sha256 {plays}",
               f"  shares      2 works, 2 contributor rows, sha256 {shares}",
               f"  rates       15 rate cards, 5 day periods, 1 eligibility rule, sha256 {cycle.rates_digest}"]
    assert all(line in stdout.splitlines() for line in printed), stdout
    assert all(line in (out / "summary.txt").read_text().splitlines() for line in printed)


def test_regenerating_checks_the_inputs_and_names_each_change(project: Project) -> None:
    world, ids = scenario(project)
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    out = project.tmp_path / "cycles" / "2026-03"
    locked = files(out)
    clear(out)
    code, stdout, stderr, _ = close(project, "2026-03", "--regenerate")
    assert code == 0 and "inputs of cycle 2026-03: unchanged since the lock" in stdout, stderr
    assert files(out) == locked
    # A rate card edited in place by hand (the import refuses to), a tariff added back into the period, a
    # share moved: each is named, and nothing is written.
    card = project.scalar("SELECT id FROM rate_cards WHERE station_class = 'class_b' AND period = 'regular'")
    project.execute("UPDATE rate_cards SET multiplier = :m WHERE id = :i", i=card,
                    m="1.1" if project.is_sqlite else Decimal("1.1"))
    world.rate_card("class_b", "regular", "0.02", "1.0", "2026-03-15")
    world.contributor("t1", "Ama", "60")
    world.load()
    added = project.scalar("SELECT id FROM rate_cards WHERE effective_from = '2026-03-15'")
    clear(out)
    code, stdout, stderr, _ = close(project, "2026-03", "--regenerate")
    assert code == 65, (stdout, stderr)
    assert "the inputs of cycle 2026-03 changed since it was locked; no file was written" in stderr
    assert f"rate_cards row {card} changed: multiplier 1 → 1.1" in stderr
    assert (f"rate_cards row {added} added: territory GH, station_class class_b, period regular, "
            "rate_per_second 0.02, multiplier 1, currency GHS, effective_from 2026-03-15") in stderr
    assert "share tables of the works paid: 2 works with 2 contributor rows then, 2 works with 2 contributor " \
           "rows now" in stderr
    assert "pricings paid" not in stderr and files(out) == {}
    # Written anyway on request: from the ledger, so byte for byte what was locked.
    code, stdout, stderr, _ = close(project, "2026-03", "--regenerate", "--despite-changed-inputs")
    assert code == 0 and f"rate_cards row {card} changed: multiplier 1 → 1.1" in stdout, stderr
    assert files(out) == locked
    assert ids  # the plays themselves did not change


def test_an_altered_play_set_is_named_and_a_dry_run_writes_nothing(project: Project) -> None:
    _, ids = scenario(project)
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    out = project.tmp_path / "cycles" / "2026-03"
    clear(out)
    code, stdout, _, _ = close(project, "2026-03", "--regenerate", "--dry-run")
    assert code == 0 and "unchanged since the lock" in stdout and "were not written" in stdout
    assert files(out) == {}
    project.execute("UPDATE royalty_pricings SET gross = gross + 1 WHERE play_id = :p", p=ids["local"])
    code, _, stderr, _ = close(project, "2026-03", "--regenerate")
    assert code == 65 and "pricings paid: 3 then, 3 now; gross 43,800 units then, 43,801 now" in stderr
    assert files(out) == {}


def test_a_cycle_locked_before_snapshots_is_regenerated_unchecked(project: Project) -> None:
    scenario(project)
    close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    project.execute("UPDATE royalty_cycles SET input_snapshot = NULL, plays_digest = NULL, rates_digest = NULL, "
                    "shares_digest = NULL")
    code, stdout, stderr, out = close(project, "2026-03", "--regenerate")
    assert code == 0, stderr
    assert "locked before input snapshots were recorded: its inputs are not checked" in stdout
    summary = (out / "summary.txt").read_text()
    assert "payees + suspense + admin fees = gross priced: exact" in summary and "input snapshot" not in summary


def test_a_dry_run_close_prints_the_snapshot_it_would_record(project: Project) -> None:
    scenario(project)
    code, stdout, stderr, _ = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31", "--dry-run")
    assert code == 0, stderr
    assert "  plays       3 pricings, gross 43,800 units, sha256 " in stdout
    assert project.scalar("SELECT count(*) FROM royalty_cycles") == 0


def test_the_deduction_rates_are_recorded_and_a_change_to_them_is_named(project: Project) -> None:
    world, ids = scenario(project)
    world.commission_rate("10", "2026-01-01")
    world.withholding_rate("contributor", "resident", "10", "2026-01-01")
    world.withholding_rate("contributor", "non_resident", "20", "2026-01-01")
    world.commission_rate("5", "2026-01-01", territory="NG")  # another territory: not an input of a GH cycle
    world.load()
    code, stdout, stderr, out = close(project, "2026-03", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0, stderr
    # Ama and Yaw, resident contributors, 7,500 units each: commission 10 % = 750, tax 10 % of 6,750 = 675.
    assert "GHS domestic commission             0.1500" in stdout and "GHS withholding tax                 0.1350" \
        in stdout, stdout
    commission = project.scalar("SELECT id FROM domestic_commission_rates WHERE territory = 'GH'")
    taxes = {r.residency: r.id for r in project.query("SELECT id, residency FROM withholding_tax_rates")}
    cycle = project.query("SELECT input_hash, input_snapshot FROM royalty_cycles")[0]
    snapshot = json.loads(cycle.input_snapshot)
    assert snapshot["version"] == 2
    assert snapshot["tables"]["domestic_commission_rates"] == {
        "columns": ["territory", "commission_percent", "effective_from"],
        "rows": {str(commission): ["GH", "10", "2026-01-01"]}}
    assert snapshot["tables"]["withholding_tax_rates"]["rows"] == {
        str(taxes["resident"]): ["GH", "contributor", "resident", "10", "GRA", "2026-01-01"],
        str(taxes["non_resident"]): ["GH", "contributor", "non_resident", "20", "GRA", "2026-01-01"]}
    # The deductions' digest: the SHA-256 of the two tables' rows as recorded, by table name, canonical JSON.
    deducted = {name: snapshot["tables"][name] for name in ("domestic_commission_rates", "withholding_tax_rates")}
    digest = hashlib.sha256(json.dumps(deducted, separators=(",", ":"), sort_keys=True).encode()).hexdigest()
    assert snapshot["digests"]["deductions"] == digest
    digests = snapshot["digests"]
    assert cycle.input_hash == hashlib.sha256(json.dumps([snapshot["cycle"], digests], separators=(",", ":"),
                                                         sort_keys=True).encode()).hexdigest()
    printed = f"  deductions  1 commission rate, 2 withholding tax rates, sha256 {digest}"
    assert printed in stdout.splitlines() and printed in (out / "summary.txt").read_text().splitlines()
    locked = files(out)

    # Through bin/import-catalog: a commission backdated into the period, a tax rate no locked cycle applied
    # (no payee is non-resident) corrected in place, and a change in another territory.
    world.commission_rate("12", "2026-03-15")
    world.withholding_rate("contributor", "non_resident", "25", "2026-01-01")
    world.commission_rate("6", "2026-01-01", territory="NG")
    world.load()
    added = project.scalar("SELECT id FROM domestic_commission_rates WHERE effective_from = '2026-03-15'")
    clear(out)
    code, stdout, stderr, _ = close(project, "2026-03", "--regenerate")
    assert code == 65, (stdout, stderr)
    assert (f"domestic_commission_rates row {added} added: territory GH, commission_percent 12, "
            "effective_from 2026-03-15") in stderr
    assert f"withholding_tax_rates row {taxes['non_resident']} changed: tax_percent 20 → 25" in stderr
    assert "NG" not in stderr and files(out) == {}
    code, stdout, stderr, _ = close(project, "2026-03", "--regenerate", "--despite-changed-inputs")
    assert code == 0, stderr
    assert files(out) == locked
    assert ids
