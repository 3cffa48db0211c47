"""The demo's broadcast day airs the song the catalog lacks so that every airing's snippet hears the same
seconds of it (the unknown index joins them), and one airing 2 % fast (which only the catalog's matcher,
once the song is registered, recognises)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zamio.demo.programme import SONGS, UNKNOWN_SONG, day_schedule

DAY = datetime(2026, 11, 29, tzinfo=UTC)


def test_the_unknown_song_airs_at_its_hours_each_time_just_before_a_snippet() -> None:
    slots = day_schedule(DAY)
    airings = [slot for slot in slots if slot.track == UNKNOWN_SONG]
    assert [(slot.start.hour, slot.speed_percent) for slot in airings] == [(9, 0), (13, 0), (17, 0), (20, 2)]
    for slot in airings:
        # Snippets start every 120 s from midnight: the song starts 3 s before one, and lasts 100 s (98.04 s
        # played 2 % fast), so that snippet alone lies wholly inside it, hearing its seconds 3 to 15.
        assert (slot.start - DAY + timedelta(seconds=3)).total_seconds() % 120 == 0, slot.start
        assert round(slot.seconds, 2) == (100.0 if slot.speed_percent == 0 else 98.04)
    # The day goes on as before around it: back to back, the catalog's songs in every other hour.
    assert all(a.start + timedelta(seconds=a.seconds) == b.start for a, b in zip(slots, slots[1:]))
    assert UNKNOWN_SONG not in SONGS and {slot.track for slot in slots if slot.track} >= set(SONGS)
