"""The audit trail: every manual change to money records who, what, why, before and after; zamio-status lists it.

The world is built through the real scripts: ``import-catalog`` (Joy FM, class_a in Accra, UTC+0;
Odo with contributors Ama Ghana 60 % and Kojo Beats 40 %) → ``import-playlogs`` (Odo 03-02 12:00
for 200 s: 0.015 × 200 = 30,000 units; an unknown recording 03-06 12:00 for 80 s: 0.015 × 80 =
12,000 units held in suspense) → ``calculate-royalty-distributions`` → ``process-royalty-cycle``
2026-03.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from tests.support import Project

STATIONS = ("station_ref,name,city,region,station_class,stream_url,timezone\n"
            "JOY,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n")
TRACKS = "track_ref,title,artist,audio_path\nT-ODO,Odo,Ama Ghana,\n"
SHARES = "track_ref,name,role,share_percent\nT-ODO,Ama Ghana,composer,{ama}\nT-ODO,Kojo Beats,producer,{kojo}\n"
PLAYS = ("station_ref,started_at,duration_seconds,track_ref,isrc\n"
         "JOY,2026-03-02T12:00:00Z,200,T-ODO,\nJOY,2026-03-06T12:00:00Z,80,,GHXYZ2600001\n")
RATES = ("territory,station_class,period,rate_per_second,multiplier,currency,effective_from\n"
         "GH,class_a,regular,{rate},1.0,GHS,2027-01-01\n")


def write(project: Project, name: str, text: str) -> str:
    path = project.tmp_path / "input" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(project: Project, name: str, *args: str, code: int = 0, **env: str) -> str:
    result = project.script(name, *args, env=project.env(**env) if env else None)
    assert result.returncode == code, f"{name} {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    return result.stdout + result.stderr


def entries(project: Project, action: str) -> list:
    return project.query("SELECT actor, entity, entity_id, reason, before_json, after_json FROM audit_log "
                         "WHERE action = :a ORDER BY id", a=action)


def test_each_manual_change_of_money_is_recorded_with_who_why_before_and_after(project: Project) -> None:
    run(project, "import-catalog", "--stations", write(project, "stations.csv", STATIONS),
        "--tracks", write(project, "tracks.csv", TRACKS),
        "--contributors", write(project, "shares.csv", SHARES.format(ama=60, kojo=40)),
        "--by", "catalog.team", "--reason", "first load")
    run(project, "import-playlogs", write(project, "plays.csv", PLAYS))
    run(project, "calculate-royalty-distributions")
    run(project, "process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(project.tmp_path / "cycles" / "2026-03"))

    # Reference data: a shares row set, then changed (Ama 60 → 50, Kojo 40 → 50); a rate card added, then
    # corrected in place while no play is priced by it (0.02 → 0.021).
    shares = entries(project, "reference.added")
    assert [(e.actor, e.entity, e.reason) for e in shares] == [("catalog.team", "contributors", "first load")] * 2
    assert json.loads(shares[0].after_json) | {"publisher_id": None} == {
        "track_ref": "T-ODO", "party_ref": "ama-ghana", "role": "composer", "share_percent": "60", "publisher": None,
        "publisher_id": None}
    run(project, "import-catalog", "--contributors", write(project, "shares.csv", SHARES.format(ama=50, kojo=50)),
        "--by", "catalog.team", "--reason", "split agreed 50/50 on 2026-04-02")
    run(project, "import-catalog", "--rate-cards", write(project, "rates.csv", RATES.format(rate="0.02")),
        "--by", "tariff.board", "--reason", "2027 tariff")
    run(project, "import-catalog", "--rate-cards", write(project, "rates.csv", RATES.format(rate="0.021")),
        "--by", "tariff.board", "--reason", "2027 tariff as published")
    run(project, "import-catalog", "--rate-cards", write(project, "rates.csv", RATES.format(rate="0.021")))
    changed = entries(project, "reference.corrected")
    assert [(e.actor, e.entity) for e in changed] == [("catalog.team", "contributors")] * 2 + [
        ("tariff.board", "rate_cards")]
    assert (json.loads(changed[0].before_json)["share_percent"], json.loads(changed[0].after_json)["share_percent"]) \
        == ("60", "50")
    card = json.loads(changed[2].before_json), json.loads(changed[2].after_json)
    assert (card[0]["rate_per_second"], card[1]["rate_per_second"]) == ("0.02", "0.021")
    assert card[1]["row"] == "the rate card GH class_a regular from 2027-01-01"
    assert changed[2].reason == "2027 tariff as published"  # the same file loaded again records nothing
    assert len(entries(project, "reference.added")) == 3  # the two shares and the card

    # A recalculation after the share change: Odo's 30,000 moves from 18,000 / 12,000 to 15,000 / 15,000.
    run(project, "calculate-royalty-distributions", "--recalculate", "--by", "finance.lead", "--reason",
        "shares corrected")
    [recalculated] = entries(project, "pricing.recalculate")
    assert (recalculated.actor, recalculated.reason) == ("finance.lead", "shares corrected")
    assert json.loads(recalculated.after_json) == {"reissued": {"priced": 1}, "unchanged": 1,
                                                    "gross_moved": {"GHS": 0}}
    # The March files regenerated although the shares changed: refused, then written anyway, recorded.
    folder = str(project.tmp_path / "cycles" / "2026-03")
    refused = run(project, "process-royalty-cycle", "--name", "2026-03", "--regenerate", "--out", folder, code=65)
    assert "changed since it was locked" in refused and not entries(project, "cycle.files_despite_changed_inputs")
    run(project, "process-royalty-cycle", "--name", "2026-03", "--regenerate", "--despite-changed-inputs",
        "--out", folder, "--by", "auditor", "--reason", "the files as paid, for the March audit")
    [regenerated] = entries(project, "cycle.files_despite_changed_inputs")
    assert (regenerated.actor, regenerated.entity, regenerated.entity_id) == ("auditor", "cycle", "2026-03")
    assert json.loads(regenerated.after_json)["changes"][0].startswith("share tables of the works paid")
    # The unknown recording's 12,000 units, held since March 2026, are past the 3-year limit in 2030: the
    # person is the OS user named by the environment (no --by), the reason the limit and the day.
    run(project, "suspense-report", "--as-of", "2030-01-15", "--declare", LOGNAME="kofi")
    [declared] = entries(project, "suspense.declare")
    assert declared.actor == "kofi"
    assert declared.reason.startswith("held in suspense past the 3-year non-distributable limit on 2030-01-15")
    held = json.loads(declared.before_json)
    assert held["status"] == "suspense" and [p["accounts"] for p in held["plays"]] == [
        {"unidentified:isrc:GHXYZ2600001": 12_000}]
    assert json.loads(declared.after_json)["status"] == "non_distributable"

    # zamio-status lists them by UTC day; the day after lists none.
    today = datetime.now(UTC).date()
    listed = run(project, "zamio-status", "--audit", "--since", str(today), "--until", str(today))
    count = project.scalar("SELECT count(*) FROM audit_log")
    assert f"audit log from {today} 00:00:00 to {today + timedelta(days=1)} 00:00:00 UTC: {count} entries" in listed
    assert "finance.lead  pricing.recalculate  royalty_pricings" in listed and "reason: shares corrected" in listed
    tomorrow = str(today + timedelta(days=1))
    assert ": 0 entries" in run(project, "zamio-status", "--audit", "--since", tomorrow)
    rows = list(csv.DictReader(io.StringIO(project.script("zamio-status", "--audit", "--csv").stdout)))
    assert len(rows) == count and rows[-1]["action"] == "suspense.declare" and rows[-1]["actor"] == "kofi"
    listing = json.loads(project.script("zamio-status", "--audit", "--json").stdout)
    assert listing[-1]["before"] == held
    assert "go with --audit" in run(project, "zamio-status", "--since", str(today), code=2)
    assert "--by and --reason go with --declare" in run(project, "suspense-report", "--by", "x", code=2)


def facts(rows: int, added: list[str] | None = None, changed: dict | None = None) -> dict:
    """A table's part of a ``catalog.imported`` entry's after: its rows, the rows added, the values changed."""
    return {"rows": rows, "added": len(added or []), "changed": len(changed or {}), "added_rows": added or [],
            "changed_rows": changed or {}}


#: Before any import: the 17 societies the migrations know, nothing else.
EMPTY = {"artists": {"rows": 0, "changed_rows": {}}, "partner_repertoire": {"rows": 0, "changed_rows": {}},
         "partner_societies": {"rows": 17, "changed_rows": {}}, "stations": {"rows": 0, "changed_rows": {}},
         "tracks": {"rows": 0, "changed_rows": {}}}


def test_an_import_that_changes_what_decides_money_is_one_entry_naming_the_rows(project: Project) -> None:
    """Tracks, artists, stations, repertoire and societies have no entry per row: an import that adds or changes
    what in them decides money or names who is paid (a track's publisher, an artist's default publisher, a
    station's class, a claim's share, a society's name or currency) gets one entry naming the rows added, and
    the values each changed row had and has; an import that changes none of it (the same files again, a track's
    title, a society's e-mail) gets none."""
    stations, tracks = write(project, "stations.csv", STATIONS), write(project, "tracks.csv", TRACKS)
    run(project, "import-catalog", "--stations", stations, "--tracks", tracks, "--by", "catalog.team")
    [first] = entries(project, "catalog.imported")
    assert (first.actor, first.entity, first.entity_id) == ("catalog.team", "catalog", "tracks.csv, stations.csv")
    assert first.reason == "loaded from tracks.csv, stations.csv"
    assert json.loads(first.before_json) == EMPTY
    assert json.loads(first.after_json) == {"artists": facts(1, ["ama-ghana"]), "partner_repertoire": facts(0),
                                            "partner_societies": facts(17),
                                            "stations": facts(1, ["JOY"]), "tracks": facts(1, ["T-ODO"])}
    run(project, "import-catalog", "--stations", stations, "--tracks", tracks)
    retitled = write(project, "retitled.csv", "track_ref,title,artist,audio_path\nT-ODO,Odo (radio edit),Ama Ghana,\n")
    run(project, "import-catalog", "--tracks", retitled)
    assert len(entries(project, "catalog.imported")) == 1
    published = write(project, "published.csv",
                      "track_ref,title,artist,audio_path,publisher\nT-ODO,Odo,Ama Ghana,,Sika Music\n")
    run(project, "import-catalog", "--tracks", published, "--by", "catalog.team", "--reason", "Sika publishes Odo")
    second = entries(project, "catalog.imported")[-1]
    assert second.reason == "Sika publishes Odo"
    assert json.loads(second.before_json)["tracks"] == {"rows": 1, "changed_rows": {"T-ODO": {"publisher": None}}}
    assert json.loads(second.after_json)["tracks"] == facts(1, changed={"T-ODO": {"publisher": "Sika Music"}})
    signed = write(project, "artists.csv", "artist,email,publisher\nAma Ghana,ama@example.com,Pub X\n")
    run(project, "import-catalog", "--artists", signed, "--by", "catalog.team", "--reason", "Ama signs with Pub X")
    signing = entries(project, "catalog.imported")[-1]
    assert signing.reason == "Ama signs with Pub X"
    assert json.loads(signing.before_json)["artists"] == {"rows": 1, "changed_rows": {"ama-ghana": {"publisher": None}}}
    assert json.loads(signing.after_json)["artists"] == facts(1, changed={"ama-ghana": {"publisher": "Pub X"}})

    # PRS renamed, and paid in euros from now on; a society of its own added with a claim; the claim's share then
    # corrected.  An e-mail address alone decides nothing: no entry.
    societies = ("code,name,short_name,currency,country,email\n"
                 "052,PRS for Music Ltd,PRSM,{currency},GB,{email}\n901,Sika Rights,SIKA,GHS,GH,\n")
    run(project, "import-catalog", "--societies", write(project, "societies.csv", societies.format(
        currency="EUR", email="")), "--repertoire", write(project, "claims.csv", "society_code,isrc,share_percent\n"
                                                          "901,GHA012600001,50\n"),
        "--by", "ama", "--reason", "PRS's new name and bank")
    third = entries(project, "catalog.imported")[-1]
    assert (third.actor, third.reason) == ("ama", "PRS's new name and bank")
    before, after = json.loads(third.before_json), json.loads(third.after_json)
    assert before["partner_societies"] == {"rows": 17, "changed_rows": {
        "052": {"name": "Performing Right Society (PRS for Music)", "short_name": "PRS", "currency": "GBP"}}}
    assert after["partner_societies"] == facts(18, ["901"], {
        "052": {"name": "PRS for Music Ltd", "short_name": "PRSM", "currency": "EUR"}})
    assert after["partner_repertoire"] == facts(1, ["901 GHA012600001"])
    run(project, "import-catalog", "--societies", write(project, "societies.csv", societies.format(
        currency="EUR", email="rights@prs.example")))
    assert len(entries(project, "catalog.imported")) == 4
    run(project, "import-catalog", "--repertoire", write(project, "claims.csv", "society_code,isrc,share_percent\n"
                                                         "901,GHA012600001,62.5\n"), "--by", "ama")
    fourth = entries(project, "catalog.imported")[-1]
    assert json.loads(fourth.before_json)["partner_repertoire"]["changed_rows"] == {
        "901 GHA012600001": {"share_percent": "50"}}
    assert json.loads(fourth.after_json)["partner_repertoire"] == facts(1, changed={
        "901 GHA012600001": {"share_percent": "62.5"}})
