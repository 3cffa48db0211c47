"""A small royalty world made the way production makes it, and its money computed by hand (no tests here).

Written with ``tests.world``; ``build`` runs the real jobs: ``import-catalog`` (a station, four
works, their contributors, a licence fee) → ``import-playlogs`` (nine plays) → ``calculate-royalty-distributions`` →
``process-royalty-cycle`` 2026-03 (per second) → ``process-royalty-cycle`` 2026-04 (pool).  A May
play is priced and left for a later cycle.

Joy FM is ``class_a`` in Accra (UTC+0): GHS 0.015 a second, × 1.5 in prime time (06-10 h),
× 1.0 regular (10-16 h), × 0.7 off-peak (00-06 h).  Amounts are units of GHS 0.0001.

Works (artist; who is owed):

* Odo (Ama Ghana): contributors Ama Ghana 60 % (no IPI: party ``ama-ghana``, her artist
  reference), Kojo Beats 40 % through Sika Music;
* Harmattan (Ama Ghana, published by Sika Music): no contributors, so 100 % to the artist,
  paid through the work's publisher, Sika Music;
* Kente (Efua Mensah): no contributors, no publisher: 100 % to the artist ``efua-mensah``;
* Sunrise (Ama Ghana): contributors Ama Ghana 50 % (IPI 00014107338) through Sika Music,
  Yaw Tetteh 50 %;
* an unknown recording (ISRC GHXYZ2600001): nobody to pay, suspense ``unidentified``.

March, per second (the pricings are the money):

* Odo, 03-02 12:00, 200 s regular: 0.015 × 1.0 × 200 = 3.00 → 30,000: Ama 60 % 18,000, Sika (Kojo) 12,000;
* Harmattan, 03-03 07:00, 100 s prime: 0.015 × 1.5 × 100 = 2.25 → 22,500 to Sika (for Ama);
* Kente, 03-04 03:00, 150 s off-peak: 0.015 × 0.7 × 150 = 1.575 → 15,750 to Efua;
* Sunrise, 03-05 12:00, 123 s regular: 0.015 × 123 = 1.845 → 18,450: Sika (Ama) 9,225, Yaw 9,225;
* unknown, 03-06 12:00, 80 s regular: 0.015 × 80 = 1.20 → 12,000 to suspense.

  Gross 98,700 = Ama 18,000 + Sika 43,725 (12,000 + 22,500 + 9,225) + Efua 15,750 + Yaw 9,225
  + suspense 12,000.

April, pool: Joy FM's licence fee GHS 100.00 = 1,000,000 spread over weighted seconds (seconds
× multiplier): Odo 04-02 12:00 200 s × 1.0 = 200, Kente 04-03 07:00 100 s × 1.5 = 150, unknown
04-04 12:00 50 s × 1.0 = 50; Σ 400.  Odo 1,000,000 × 200/400 = 500,000 (Ama 300,000, Sika
200,000), Kente 375,000 to Efua, unknown 125,000 to suspense.  Those three plays' per-second
prices (30,000 + 22,500 + 7,500 = 60,000) were only the pool's weights and are paid to no one.

May: Kente 05-04 12:00, 100 s regular: 0.015 × 100 = 1.50 → 15,000 to Efua, not yet in a cycle.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import Project
from tests.world import World

MARCH, APRIL = "2026-03", "2026-04"
SUSPENSE_ACCOUNT = "unidentified:isrc:GHXYZ2600001"

#: What each cycle pays each recipient (units), from the arithmetic above: its statement's net.
PAID = {
    MARCH: {("contributor", "ama-ghana"): 18_000, ("publisher", "sika-music"): 12_000 + 22_500 + 9_225,
            ("artist", "efua-mensah"): 15_750, ("contributor", "yaw-tetteh"): 9_225,
            ("suspense", SUSPENSE_ACCOUNT): 12_000},
    APRIL: {("contributor", "ama-ghana"): 300_000, ("publisher", "sika-music"): 200_000,
            ("artist", "efua-mensah"): 375_000, ("suspense", SUSPENSE_ACCOUNT): 125_000},
}
NOT_YET = {("artist", "efua-mensah"): 15_000}  # the May play
#: Ama's money: as contributor (both cycles), and what Sika Music is paid for her alone in March:
#: Harmattan 22,500 (a work of hers without contributors) + her Sunrise share 9,225.  Sika's Odo
#: lines are Kojo's (March 12,000, April 200,000), not hers.
AMA = {(MARCH, "contributor", "ama-ghana"): 18_000, (MARCH, "publisher", "sika-music"): 22_500 + 9_225,
       (APRIL, "contributor", "ama-ghana"): 300_000}
EFUA = {(MARCH, "artist", "efua-mensah"): 15_750, (APRIL, "artist", "efua-mensah"): 375_000,
        (None, "artist", "efua-mensah"): 15_000}
SIKA = {(MARCH, "publisher", "sika-music"): 43_725, (APRIL, "publisher", "sika-music"): 200_000}


def world(project: Project, emails: dict[str, str] | None = None) -> World:
    """The world above, not loaded yet; ``emails`` gives contributors (by name) an e-mail address."""
    address = (emails or {}).get
    money = World(project, project.tmp_path / "money")
    joy = money.station("JOY", "class_a", "Africa/Accra", name="Joy FM", city="Accra", region="Greater Accra")
    odo = money.track("T-ODO", "Odo", "Ama Ghana")
    money.track("T-HAR", "Harmattan", "Ama Ghana", publisher="Sika Music")
    kente = money.track("T-KEN", "Kente", "Efua Mensah")
    sunrise = money.track("T-SUN", "Sunrise", "Ama Ghana")
    money.contributor(odo, "Ama Ghana", "60", email=address("Ama Ghana"))
    money.contributor(odo, "Kojo Beats", "40", role="producer", publisher="Sika Music", email=address("Kojo Beats"))
    money.contributor(sunrise, "Ama Ghana", "50", publisher="Sika Music", ipi="00014107338", email=address("Ama Ghana"))
    money.contributor(sunrise, "Yaw Tetteh", "50", role="lyricist", email=address("Yaw Tetteh"))
    money.licence_fee(joy, "2026-04-01", "2026-04-30", "100.00")
    for at, seconds, track in (("2026-03-02 12:00", 200, odo), ("2026-03-03 07:00", 100, "T-HAR"),
                               ("2026-03-04 03:00", 150, kente), ("2026-03-05 12:00", 123, sunrise),
                               ("2026-03-06 12:00", 80, None), ("2026-04-02 12:00", 200, odo),
                               ("2026-04-03 07:00", 100, kente), ("2026-04-04 12:00", 50, None),
                               ("2026-05-04 12:00", 100, kente)):
        money.play(joy, at, seconds, track=track, isrc=None if track else "GHXYZ2600001")
    return money


def load(project: Project, codes: tuple[int, ...] = (0,)) -> None:
    """Import the catalog and the plays, and price them (``codes``: the pricing's accepted exit codes)."""
    world(project).price(codes=codes)


def cycle_folder(project: Project, name: str) -> Path:
    return World(project).cycle_folder(name)


def close_march(project: Project, codes: tuple[int, ...] = (0,)) -> str:
    """Close March per second; return what the job printed."""
    return World(project).close_cycle(MARCH, codes=codes).stdout


def close_april(project: Project, codes: tuple[int, ...] = (0,)) -> str:
    """Close April as a pool cycle; return what the job printed."""
    return World(project).close_cycle(APRIL, method="pool", codes=codes).stdout


def build(project: Project, codes: tuple[int, ...] = (0,)) -> None:
    """The whole world: loaded, priced, March and April closed."""
    load(project, codes)
    assert "GHS gross priced             9.8700" in close_march(project, codes)
    assert "GHS gross priced           100.0000" in close_april(project, codes)


def entity_id(project: Project, kind: str, ref: str) -> int:
    """The database id of an artist, publisher or station, by its reference."""
    return project.scalar(f"SELECT id FROM {kind}s WHERE {kind}_ref = :ref", ref=ref)


def figures(rows: list[dict], none_label: str | None = None) -> dict[tuple, int]:
    """Earnings rows of a dashboard or report → {(cycle, recipient type, recipient): units}."""
    found: dict[tuple, int] = {}
    for row in rows:
        assert row["currency"] == "GHS", row
        cycle = None if row["cycle"] == none_label else row["cycle"]
        key = (cycle, row.get("recipient_type"), row.get("recipient"))
        assert key not in found, f"{key} shown twice"
        found[key] = row["amount_units"]
    return found
