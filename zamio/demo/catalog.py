"""The demo's input files: catalog audio and the CSVs an operator would import."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from zamio.demo import synth
from zamio.demo.programme import CATALOG, RATE, UNKNOWN_SONG, render

PUBLISHER = "Gold Coast Music Publishing"

#: (track_ref, name, role, share_percent, publisher, email, ipi) — one split does not sum to 100 %.
CONTRIBUTORS = (
    ("ZM-001", "Ama Serwaa", "composer", "50", PUBLISHER, "ama@example.org", ""),
    ("ZM-001", "Kwesi Arthur-Lamptey", "lyricist", "30", "", "kwesi@example.org", ""),
    ("ZM-001", "Nana Yaa Owusu", "producer", "20", "", "", ""),
    ("ZM-002", "Kojo Mensah", "composer", "100", PUBLISHER, "kojo@example.org", ""),
    ("ZM-003", "Efua Asante", "composer", "60", "", "efua@example.org", ""),
    ("ZM-003", "Kofi Badu", "arranger", "30", "", "", ""),  # 90 % in all: the money goes to suspense
    ("ZM-004", "Kojo Mensah", "composer", "70", PUBLISHER, "kojo@example.org", ""),
    ("ZM-004", "Abena Kyei", "lyricist", "30", "", "", ""),
    ("ZM-005", "Yaw Boateng", "composer", "100", "", "yaw@example.org", ""),
    ("ZM-006", "Ama Serwaa", "composer", "100", PUBLISHER, "ama@example.org", ""),
)

AGREEMENTS = (
    # society_code, territory, admin_fee_percent, effective_from, expires_on, status
    ("052", "GH", "15", "2020-01-01", "", "active"),
)

#: The domestic commission the society keeps: commission_percent, effective_from.
COMMISSION_RATES = (("10", "2020-01-01"),)

#: Withholding tax: recipient_type, residency, tax_percent, effective_from.
WITHHOLDING_RATES = (
    ("contributor", "resident", "8", "2020-01-01"),
    ("publisher", "resident", "8", "2020-01-01"),
)

#: Who is paid and how: recipient_type, recipient, name, payment_method, bank_name, account_number, branch_code,
#: mobile_money_number, mobile_money_network.  The publisher is paid by bank and Yaw Boateng by mobile money;
#: Nana Yaa Owusu, whose 20 % of one song stays below the minimum payout, by mobile money too, but her money is
#: carried forward.  Of the others, those below the minimum are carried forward as well, and those above it are
#: held (no payment details).
PAYEES = (
    ("publisher", "gold-coast-music-publishing", PUBLISHER, "bank", "GCB Bank", "1020304050", "010101", "", ""),
    ("contributor", "yaw-boateng", "Yaw Boateng", "mobile_money", "", "", "", "+233 24 555 0100", "MTN"),
    ("contributor", "nana-yaa-owusu", "Nana Yaa Owusu", "mobile_money", "", "", "", "+233 24 555 0101", "MTN"),
)


def write_catalog(folder: Path) -> dict[str, Path]:
    """Write the recordings and the CSV files into ``folder``; return the CSV paths by kind."""
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    tracks = folder / "tracks.csv"
    with tracks.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["track_ref", "title", "artist", "audio_path", "isrc", "publisher", "category", "society_code"])
        for track in CATALOG:
            synth.write_wav(audio / f"{track.ref}.wav", render(track), RATE)
            publisher = PUBLISHER if track.artist in ("Kojo Mensah", "Ama Serwaa") else ""
            out.writerow([track.ref, track.title, track.artist, f"audio/{track.ref}.wav", track.isrc or "",
                          publisher, track.category, track.society_code or ""])
    contributors = folder / "contributors.csv"
    _write(contributors, ["track_ref", "name", "role", "share_percent", "publisher", "email", "ipi"], CONTRIBUTORS)
    agreements = folder / "agreements.csv"
    _write(agreements, ["society_code", "territory", "admin_fee_percent", "effective_from", "expires_on", "status"],
           AGREEMENTS)
    commission, withholding, payees = folder / "commission-rates.csv", folder / "withholding-rates.csv", \
        folder / "payees.csv"
    _write(commission, ["commission_percent", "effective_from"], COMMISSION_RATES)
    _write(withholding, ["recipient_type", "residency", "tax_percent", "effective_from"], WITHHOLDING_RATES)
    _write(payees, ["recipient_type", "recipient", "name", "payment_method", "bank_name", "account_number",
                    "branch_code", "mobile_money_number", "mobile_money_network"], PAYEES)
    return {"tracks": tracks, "contributors": contributors, "agreements": agreements,
            "commission-rates": commission, "withholding-rates": withholding, "payees": payees}


#: The shares of the song the catalog lacks, registered once it has been heard, held and identified.
UNKNOWN_SONG_CONTRIBUTORS = (
    (UNKNOWN_SONG.ref, "Adjoa Frimpong", "composer", "60", "", "adjoa@example.org", ""),
    (UNKNOWN_SONG.ref, "Kwame Nkansah", "producer", "40", "", "", ""),
)


def write_unknown_song(folder: Path) -> dict[str, Path]:
    """Write the registration of the song the catalog lacked (its audio, track and shares) into ``folder``;
    return the CSV paths by kind."""
    song = UNKNOWN_SONG
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    synth.write_wav(folder / "audio" / f"{song.ref}.wav", render(song), RATE)
    tracks = folder / "registered-tracks.csv"
    _write(tracks, ["track_ref", "title", "artist", "audio_path", "isrc", "category"],
           [(song.ref, song.title, song.artist, f"audio/{song.ref}.wav", song.isrc or "", song.category)])
    contributors = folder / "registered-contributors.csv"
    _write(contributors, ["track_ref", "name", "role", "share_percent", "publisher", "email", "ipi"],
           UNKNOWN_SONG_CONTRIBUTORS)
    return {"tracks": tracks, "contributors": contributors}


def write_stations(folder: Path, urls: dict[str, str]) -> Path:
    """The stations CSV; ``urls`` maps station refs that stream to their URL (the others upload recordings)."""
    rows = [
        ("GOLD-FM", "Accra Gold FM", "Accra", "Greater Accra", "class_a",
         urls.get("GOLD-FM", ""), "Africa/Accra", "studio@goldfm.example"),
        ("KUMASI-VIBES", "Kumasi Vibes", "Kumasi", "Ashanti", "class_b",
         urls.get("KUMASI-VIBES", ""), "Africa/Accra", ""),
        ("TAKORADI-COMMUNITY", "Takoradi Community Radio", "Takoradi", "Western", "community",
         "", "Africa/Accra", "desk@tcr.example"),
    ]
    path = folder / "stations.csv"
    _write(path, ["station_ref", "name", "city", "region", "station_class", "stream_url", "timezone", "contact_email"],
           rows)
    return path


def _write(path: Path, header: list[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
