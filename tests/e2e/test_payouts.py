"""Payouts: the domestic commission and withholding tax a cycle deducts, the minimum payout carried forward,
the payment files of bin/payouts and the bank's answers, on a per-second and a pool cycle.

Joy FM is class_a in Accra: GHS 0.015 a second at regular hours (10-16 h, × 1.0).  Amounts are units of
GHS 0.0001.  The society keeps a domestic commission of 10 % from 2026-01-01; tax is withheld from artists
at 10 % (resident) and 20 % (non-resident), from publishers at 10 % (resident), paid to GRA.  MIN_PAYOUT is
GHS 2.00.  Ama Ghana is a non-resident artist paid by MTN mobile money; Efua Mensah a resident artist paid by
bank; Sika Music (publisher of Harmattan) has no payment details at first; PRS (052, GBP) is paid by bank.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.support import Project
from tests.world import World, run
from zamio import cache
from zamio.db.tables import cache_entries
from zamio.demo.summary import owed_by_cycle, payment_files, payout_lines
from zamio.royalties.payouts.balances import Balance, recipient_balance

MARCH, APRIL = "2026-03", "2026-04"


def world(project: Project, april: tuple[str, ...] = ("T-HAR", "T-ODO"), emails: dict[str, str] | None = None
          ) -> World:
    """README's example; ``april``: the works Joy FM plays in April, 100 s each from the 2nd, one a day;
    ``emails``: artists' addresses, by name."""
    (project.var_dir / "test.env").write_text("MIN_PAYOUT=GHS=2.00\n")
    money = World(project)
    for name, email in (emails or {}).items():
        money.artist(name, email=email)
    joy = money.station("JOY", "class_a", name="Joy FM")
    odo = money.track("T-ODO", "Odo", "Ama Ghana")
    kente = money.track("T-KEN", "Kente", "Efua Mensah")
    harmattan = money.track("T-HAR", "Harmattan", "Kojo", publisher="Sika Music")
    money.society("052", "Performing Right Society", "PRS", "GBP")
    money.agreement("052", "15", "2025-01-01")
    london = money.track("T-LON", "London", "UK Artist", society="052")
    money.commission_rate("10", "2026-01-01")
    money.withholding_rate("artist", "resident", "10", "2026-01-01")
    money.withholding_rate("artist", "non_resident", "20", "2026-01-01")
    money.withholding_rate("publisher", "resident", "10", "2026-01-01", authority="GRA")
    money.payee("artist", "ama-ghana", name="Ama Ghana", residency="non_resident", mobile=("+233 24 123 4567", "mtn"))
    money.payee("artist", "efua-mensah", name="Efua Mensah", bank=("GCB Bank", "1234567890", "010101"))
    money.payee("society", "052", name="PRS", bank=("Barclays", "GB29NWBK60161331926819", "20-00-00"))
    for at, seconds, track in (("2026-03-02 12:00", 200, odo), ("2026-03-03 12:00", 200, kente),
                               ("2026-03-04 12:00", 123, harmattan), ("2026-03-05 12:00", 100, london)):
        money.play(joy, at, seconds, track=track)
    works = {"T-ODO": odo, "T-KEN": kente, "T-HAR": harmattan, "T-LON": london}
    for day, ref in enumerate(april, start=2):
        money.play(joy, f"2026-04-{day:02d} 12:00", 100, track=works[ref])
    money.licence_fee(joy, "2026-04-01", "2026-04-30", "10.00")
    money.load()
    return money


def balance(project: Project, cycle: str, kind: str, ref: str) -> Balance | None:
    with project.engine.connect() as conn:
        cycle_id = conn.exec_driver_sql(f"SELECT id FROM royalty_cycles WHERE name = '{cycle}'").scalar_one()
        return recipient_balance(conn, cycle_id, kind, ref)


def figures(found: Balance | None) -> tuple[int, int, int, int, int, int]:
    assert found is not None
    return (found.gross, found.commission, found.withholding_tax, found.brought_forward, found.net_payable,
            found.carried_forward)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def pay(project: Project, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    return run(project, "payouts", *args, codes=codes).stdout


def answer(project: Project, name: str, text: str) -> Path:
    path = project.tmp_path / name
    path.write_text(text)
    return path


def test_commission_tax_minimum_payments_and_a_failed_payment_on_a_per_second_and_a_pool_cycle(
        project: Project) -> None:
    money = world(project)
    march = money.close_cycle(MARCH).stdout
    # Ama: 200 s × 0.015 = 30,000; commission 10 % 3,000; tax 20 % (non-resident) of 27,000 = 5,400; 21,600.
    # Efua: 30,000; commission 3,000; tax 10 % of 27,000 = 2,700; 24,300.
    # Sika Music: 123 s = 18,450; commission 1,845; tax 10 % of 16,605 = 1,660.5 → 1,660 (half-even); 14,945,
    #   GHS 1.4945: below GHS 2.00, carried forward whole.
    # PRS: 100 s = 15,000; admin fee 15 % 2,250 (per play, no domestic commission, no tax); 12,750.
    # Gross 93,450 = payees 73,595 (21,600 + 24,300 + 14,945 + 12,750) + admin fees 2,250
    #   + commission 7,845 (3,000 + 3,000 + 1,845) + tax 9,760 (5,400 + 2,700 + 1,660).
    assert "GHS gross priced                    9.3450" in march, march
    assert "GHS payees                          7.3595" in march
    assert "GHS domestic commission             0.7845" in march
    assert "GHS withholding tax                 0.9760" in march
    assert "GHS payees + suspense + admin fees + domestic commission + withholding tax = gross priced: exact" in march
    assert figures(balance(project, MARCH, "artist", "ama-ghana")) == (30_000, 3_000, 5_400, 0, 21_600, 0)
    assert figures(balance(project, MARCH, "artist", "efua-mensah")) == (30_000, 3_000, 2_700, 0, 24_300, 0)
    assert figures(balance(project, MARCH, "publisher", "sika-music")) == (18_450, 1_845, 1_660, 0, 0, 14_945)
    # PRS's remittance: 12,750 GHS units × 0.13 = 1,657.5 → 1,658 GBP units; paid £0.16, 58 carried (no GBP minimum).
    assert figures(balance(project, MARCH, "society", "052")) == (1_658, 0, 0, 0, 1_600, 58)
    # The statement row of a payee: gross before, the commission as its admin fee, net after both.
    statements = (money.cycle_folder(MARCH) / "statements.csv").read_text().splitlines()
    assert "artist,ama-ghana,Ama Ghana,GHS,1,200.000,3.00,0.30,2.16" in statements
    assert "domestic_commission,285,GHAMRO,GHS,0,0.000,0.78,0.00,0.78" in statements
    assert "tax_authority,GRA,GRA,GHS,0,0.000,0.98,0.00,0.98" in statements
    lines = (money.cycle_folder(MARCH) / "statements" / "artist-ama-ghana.GHS.csv").read_text()
    assert sum(1 for _ in lines.splitlines()) == 4  # header, the play, the commission, the tax

    out = pay(project, "--cycle", MARCH)
    folder = project.var_dir / "payouts" / MARCH
    bank, mobile = rows(folder / "bank-transfers.csv"), rows(folder / "mobile-money-MTN.csv")
    assert [(r["recipient"], r["currency"], r["amount"], r["account_number"]) for r in bank] == [
        ("efua-mensah", "GHS", "2.43", "1234567890"), ("052", "GBP", "0.16", "GB29NWBK60161331926819")]
    assert [(r["msisdn"], r["amount"], r["currency"], r["name"]) for r in mobile] == [
        ("233241234567", "2.16", "GHS", "Ama Ghana")]
    assert rows(folder / "held.csv") == []  # Sika's money was carried forward, not held
    # The files reconcile to the cycle's net payable: GHS 2.16 + 2.43 = 4.59; GBP 0.16.
    assert "cycle 2026-03 GHS net payable 4.59 = bank transfers 2.43 + mobile money 2.16: exact" in out, out
    assert "cycle 2026-03 GBP net payable 0.16 = bank transfers 0.16: exact" in out
    assert project.scalar("SELECT status FROM partner_remittances") == "prepared"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = pay(project, "--cycle", MARCH)
    assert "0 payment(s) prepared now, 3 before, 0 held" in again
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert project.scalar("SELECT count(*) FROM payments") == 3
    assert project.scalar("SELECT count(*) FROM payment_events") == 3

    pay(project, "--mark-sent", str(folder / "bank-transfers.csv"))
    assert project.scalar("SELECT status FROM partner_remittances") == "sent"
    ama, efua, prs = (r["reference"] for r in (*mobile, *bank))
    # The bank's answer: Efua and PRS settled, Ama's wallet refused; two bad rows are refused with their reason
    # (an unknown reference, and Efua's reference a second time) while the others are recorded (exit 1).
    reply = answer(project, "answer.csv", f"reference,status,reason\n{efua},settled,\n{ama},failed,wallet blocked\n"
                                          f"ZP999-0000000000,settled,\n{efua},failed,bounced\n{prs},settled,\n")
    out = pay(project, "--mark-settled", str(reply), "--reason", "GCB statement", codes=(1,))
    assert "line 4: refused: reference 'ZP999-0000000000' is no payment prepared by bin/payouts" in out, out
    assert f"line 5: refused: reference '{efua}' is already on line 2" in out, out
    assert "answer.csv: 1 failed, 2 settled recorded, 2 row(s) refused" in out, out
    assert project.scalar("SELECT status FROM partner_remittances") == "settled"
    late = answer(project, "late.csv", f"reference,status,reason\n{efua},failed,bounced\n")
    out = pay(project, "--mark-settled", str(late), codes=(1,))
    assert f"payment {efua} was settled already; it cannot be failed too" in out, out
    assert balance(project, MARCH, "artist", "ama-ghana").payment_status == "failed"  # type: ignore[union-attr]

    april = money.close_cycle(APRIL, method="pool").stdout
    # The licence fee GHS 10.00 = 100,000 over two plays of 100 s at regular hours: 50,000 each.
    # Sika: 50,000; commission 5,000; tax 10 % of 45,000 = 4,500; 40,500 + 14,945 brought forward = 55,445:
    #   paid GHS 5.54 (55,400), 45 carried.
    # Ama: 50,000; commission 5,000; tax 20 % of 45,000 = 9,000; 36,000 + her failed 21,600 = 57,600: GHS 5.76.
    # PRS: nothing earned; 58 GBP units brought forward, below a penny: carried again.
    assert "GHS payees + suspense + admin fees + domestic commission + withholding tax = gross priced: exact" in april
    assert figures(balance(project, APRIL, "publisher", "sika-music")) == (50_000, 5_000, 4_500, 14_945, 55_400, 45)
    assert figures(balance(project, APRIL, "artist", "ama-ghana")) == (50_000, 5_000, 9_000, 21_600, 57_600, 0)
    assert figures(balance(project, APRIL, "society", "052")) == (0, 0, 0, 58, 0, 58)
    assert balance(project, APRIL, "artist", "efua-mensah") is None

    out = pay(project, "--cycle", APRIL)
    april_folder = project.var_dir / "payouts" / APRIL
    assert [(r["recipient"], r["amount"]) for r in rows(april_folder / "held.csv")] == [("sika-music", "5.54")]
    assert "held: publisher sika-music GHS 5.54: no payment details" in out
    assert "cycle 2026-04 GHS net payable 11.30 = mobile money 5.76 + held 5.54: exact" in out, out
    money.payee("publisher", "sika-music", name="Sika Music", mobile=("233201112222", "vodafone"))
    money.load()
    out = pay(project, "--cycle", APRIL)
    assert "1 payment(s) prepared now, 1 before, 0 held" in out, out
    assert [(r["msisdn"], r["amount"]) for r in rows(april_folder / "mobile-money-VODAFONE.csv")] == [
        ("233201112222", "5.54")]
    assert rows(april_folder / "held.csv") == []
    assert "cycle 2026-04 GHS net payable 11.30 = mobile money 11.30: exact" in out, out


def test_payouts_run_twice_at_once_prepare_each_payment_once(project: Project) -> None:
    world(project).close_cycle(MARCH)
    procs = [project.popen("payouts", "--cycle", MARCH) for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    for p in procs:
        p.communicate()
    assert codes in ([0, 0], [0, 75]), codes  # the second waits for the lock's holder, or is turned away
    pay(project, "--cycle", MARCH)
    # Ama, Efua and PRS: one payment each, one prepared event each.
    assert project.scalar("SELECT count(*) FROM payments") == 3
    assert [tuple(r) for r in project.query("SELECT status, count(*) FROM payment_events GROUP BY status")] == [
        ("prepared", 3)]


def test_a_bad_payee_refuses_the_import_and_an_applied_commission_is_never_changed(project: Project) -> None:
    money = world(project)
    payees = answer(project, "payees.csv", "recipient_type,recipient,payment_method,bank_name,account_number,"
                                           "mobile_money_number,mobile_money_network\n"
                                           "artist,abena,bank,GCB Bank,2233,,\n"
                                           "artist,kojo,bank,GCB Bank,,,\n"
                                           "contributor,yaw,mobile_money,,,12ab,MTN\n")
    refused = run(project, "import-catalog", "--payees", str(payees), codes=(65,))
    said = refused.stdout + refused.stderr
    assert "line 3: payment_method bank needs account_number" in said, said
    assert "line 4: mobile_money_number '12ab' is not a mobile number" in said, said
    assert project.scalar("SELECT count(*) FROM payees WHERE recipient_ref = 'abena'") == 0  # whole or nothing
    money.close_cycle(MARCH)  # applies the 10 % commission in force from 2026-01-01
    rate = answer(project, "commission.csv", "commission_percent,effective_from\n12,2026-01-01\n")
    refused = run(project, "import-catalog", "--commission-rates", str(rate), codes=(65,))
    assert "the domestic commission of GH from 2026-01-01 (row 1) was applied by a locked cycle" in refused.stdout \
        + refused.stderr
    later = answer(project, "later.csv", "commission_percent,effective_from\n12,2026-04-01\n")
    run(project, "import-catalog", "--commission-rates", str(later))
    assert project.scalar("SELECT count(*) FROM audit_log WHERE action = 'reference.added' "
                          "AND entity = 'domestic_commission_rates'") == 2


def test_an_artists_figure_through_her_publisher_bears_its_part_of_the_deductions(project: Project) -> None:
    money = world(project)
    sunrise = money.track("T-SUN", "Sunrise", "Esi", publisher="Sika Music")
    money.play("JOY", "2026-03-06 12:00", 77, track=sunrise)
    money.close_cycle(MARCH)
    money.close_cycle(APRIL, method="pool")
    assert project.script("warm-cache", "--only", "artist").returncode == 0
    assert project.script("warm-cache", "--only", "publisher").returncode == 0

    def shown(kind: str, ref: str) -> dict[tuple[str, str], int]:
        key = f"{kind}:{project.scalar(f'SELECT id FROM {kind}s WHERE {kind}_ref = :r', r=ref)}"
        return {(row["cycle"], row["recipient"]): row["amount_units"]
                for row in cache.get(project.engine, key)["earnings_by_cycle"]}  # type: ignore[index]

    # March: Sika Music is paid for Kojo's Harmattan, 123 s × 0.015 = 18,450, and Esi's Sunrise, 77 s = 11,550:
    #   gross 30,000; commission 10 % 3,000; tax 10 % of 27,000 = 2,700; deducted 5,700; net 24,300.
    # Kojo's part of the 5,700: 5,700 × 18,450 / 30,000 = 3,505.5 → 3,506 (half-even); 18,450 − 3,506 = 14,944.
    # Esi's: 5,700 × 11,550 / 30,000 = 2,194.5 → 2,194; 11,550 − 2,194 = 9,356.  14,944 + 9,356 = 24,300.
    # April (pool): Sika is paid for Harmattan alone, 50,000; commission 5,000, tax 4,500: Kojo's 40,500 is Sika's net.
    sika = shown("publisher", "sika-music")
    assert sika == {(MARCH, "sika-music"): 24_300, (APRIL, "sika-music"): 40_500}
    assert shown("artist", "kojo") == {(MARCH, "sika-music"): 14_944, (APRIL, "sika-music"): 40_500}
    assert shown("artist", "esi") == {(MARCH, "sika-music"): 9_356}
    statements = (money.cycle_folder(MARCH) / "statements.csv").read_text().splitlines()
    assert [line for line in statements if line.startswith("publisher,sika-music,")][0].endswith(",2.43")
    with project.engine.begin() as conn:  # one key computed alone gives the same figures
        conn.execute(cache_entries.delete())
    assert shown("artist", "kojo") == {(MARCH, "sika-music"): 14_944, (APRIL, "sika-music"): 40_500}


def test_the_demo_summary_reconciles_the_payment_files_to_the_statements(project: Project) -> None:
    world(project).close_cycle(MARCH)
    pay(project, "--cycle", MARCH)
    with project.engine.connect() as conn:
        owed = owed_by_cycle(conn)
    lines, ok = payout_lines(owed, payment_files(project.var_dir / "payouts" / MARCH))
    # Statements' net, GHS: Ama 21,600 + Efua 24,300 + Sika 14,945 = 60,845 = bank 24,300 (Efua) + mobile money
    # 21,600 (Ama) + carried forward 14,945 (Sika, below GHS 2.00).  GBP: PRS's remittance 1,658 = bank 1,600 + 58.
    assert lines == [
        "  GBP statements' net 0.1658 = bank transfers 0.1600 + mobile money 0.0000 + held 0.0000 + carried forward "
        "0.0058: exact",
        "  GHS statements' net 6.0845 = bank transfers 2.4300 + mobile money 2.1600 + held 0.0000 + carried forward "
        "1.4945: exact"] and ok
    # A payment file that lost a row no longer accounts for the net payable.
    bank = project.var_dir / "payouts" / MARCH / "bank-transfers.csv"
    bank.write_text("\n".join(bank.read_text().splitlines()[:-1]) + "\n")
    lines, ok = payout_lines(owed, payment_files(bank.parent))
    assert not ok and lines[0].endswith("carried forward 0.0058: MISMATCH")
