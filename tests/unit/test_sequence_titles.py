"""What stream titles say to the unknown index's sequence evidence (``zamio.recognition.sequence``)."""

from __future__ import annotations

from zamio.recognition.sequence import SAME_AIRING_SECONDS, Pair, announced_change
from zamio.recognition.titles import title_key

DAY = 86_400.0


def change(station: int, song_start: float, first: str, then: str) -> Pair:
    """A pair of consecutive captures under two titles each naming an item."""
    return Pair(station, song_start, 30.0, "different", (title_key(first), title_key(then)))


def test_titles_compare_without_case_or_extra_blanks() -> None:
    assert title_key("  Ama Ghana -  Sunrise ") == title_key("AMA GHANA - sunrise") == "ama ghana - sunrise"
    assert title_key("   ") is None and title_key(None) is None


def test_the_same_change_of_title_on_two_airings_is_an_announced_segue() -> None:
    pairs = [change(1, 0.0, "Kofi Kinaata - Confession", "Ama Ghana - Sunrise"),
             change(2, DAY, "Kofi Kinaata - Confession", "AMA GHANA - Sunrise")]
    assert announced_change(pairs)


def test_a_change_to_a_different_next_title_on_each_airing_announces_nothing() -> None:
    """A capture across the end of a song carries whatever followed it: one airing's next item, not the song's."""
    pairs = [change(1, 0.0, "Kofi Kinaata - Confession", "Ama Ghana - Sunrise"),
             change(2, DAY, "Kofi Kinaata - Confession", "Kojo Antwi - Mr Music Man")]
    assert not announced_change(pairs)


def test_one_airing_heard_twice_is_one_airing_and_titles_said_the_same_are_no_change() -> None:
    again = [change(1, 0.0, "A - One", "B - Two"), change(1, SAME_AIRING_SECONDS / 2, "A - One", "B - Two")]
    assert not announced_change(again)
    same = [Pair(1, 0.0, 30.0, "same", ("a - one", "a - one")), Pair(2, DAY, 30.0, "same", ("a - one", "a - one"))]
    assert not announced_change(same)
