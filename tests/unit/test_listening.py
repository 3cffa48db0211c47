"""Cutting a long capture where its stream title changed (zamio.scanning.listening.pieces)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zamio.scanning.listening import CHANGE_MARGIN_SECONDS, MIN_PIECE_SECONDS, Span, first_window, pieces, spans_of
from zamio.streams.model import HeardTitle


def titled(*heard: tuple[float, str]) -> list[HeardTitle]:
    return [HeardTitle(at, title) for at, title in heard]


def test_a_change_of_title_cuts_the_capture_with_eight_seconds_left_out_either_side():
    assert pieces(60.0, titled((0.5, "A"), (32.0, "B"))) == [Span(0.0, 24.0, "A"), Span(40.0, 60.0, "B")]


def test_a_capture_under_one_title_is_one_piece_and_one_without_titles_too():
    assert pieces(60.0, titled((0.5, "A"))) == [Span(0.0, 60.0, "A")]
    assert pieces(60.0, []) == [Span(0.0, 60.0, None)]
    assert pieces(60.0, titled((0.5, "A"), (60.5, "B"))) == [Span(0.0, 60.0, "A")]  # heard after its end


def test_parts_shorter_than_ten_seconds_are_left_out():
    # 0-2 s before the first change, 18-22 s between the next two, none between two changes 6 s apart.
    assert pieces(60.0, titled((0.5, "A"), (10.0, "B"), (30.0, "C"), (36.0, "D"))) == [Span(44.0, 60.0, "D")]


def test_the_first_window_is_what_an_ordinary_capture_hears():
    assert first_window(60.0, titled((0.5, "A"), (8.0, "B"), (30.0, "C")), 20.0) == Span(0.0, 20.0, "B")
    assert first_window(12.0, [], 20.0) == Span(0.0, 12.0, None)


def test_a_long_capture_with_no_title_or_no_piece_long_enough_is_heard_as_an_ordinary_one():
    assert spans_of(60.0, [], 20.0) == [Span(0.0, 20.0, None)]  # a backup stream sending no titles
    assert spans_of(60.0, titled((0.5, "A"), (12.0, "B"), (24.0, "C"), (36.0, "D"), (48.0, "E")), 20.0) == [
        Span(0.0, 20.0, "B")]
    assert spans_of(60.0, titled((0.5, "A"), (32.0, "B")), 20.0) == [Span(0.0, 24.0, "A"), Span(40.0, 60.0, "B")]


@settings(max_examples=200, deadline=None, database=None)
@given(seconds=st.floats(min_value=1.0, max_value=75.0),
       changes=st.lists(st.floats(min_value=0.3, max_value=80.0), max_size=8))
def test_no_piece_comes_near_a_change_and_each_carries_the_title_in_force(seconds, changes):
    heard = [HeardTitle(0.2, "T0"), *(HeardTitle(at, f"T{n + 1}") for n, at in enumerate(sorted(changes)))]
    found = pieces(seconds, heard)
    inside = [h for h in heard[1:] if 0.0 < h.at_seconds < seconds]
    for span in found:
        assert 0.0 <= span.start < span.end <= seconds + 0.001
        assert span.end - span.start >= MIN_PIECE_SECONDS - 0.001
        assert all(h.at_seconds <= span.start - CHANGE_MARGIN_SECONDS + 0.001
                   or h.at_seconds >= span.end + CHANGE_MARGIN_SECONDS - 0.001 for h in inside)
        before = [h.title for h in inside if h.at_seconds <= span.start]
        assert span.title == (before[-1] if before else "T0")
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    # Where nothing changes for long enough, a piece is found: the longest stretch clear of every change.
    edges = [0.0, *(x for h in inside for x in (h.at_seconds - CHANGE_MARGIN_SECONDS,
                                                h.at_seconds + CHANGE_MARGIN_SECONDS)), seconds]
    clear = max((b - a for a, b in zip(edges[::2], edges[1::2], strict=True)), default=0.0)
    assert bool(found) == (clear >= MIN_PIECE_SECONDS)


def test_a_run_starts_at_most_fifteen_long_captures_a_core_and_only_where_one_fits(tmp_path):
    from zamio.scanning.job import _Scan
    from zamio.scanning.links import Link
    from zamio.scanning.listening import LONG_CAPTURES_PER_CORE
    from zamio.scanning.settings import ScanSettings

    settings = ScanSettings(capture_seconds=20.0, listen_seconds=60.0, concurrency=8, interval_seconds=120,
                            alert_after=3, allow_private=False, inbox=tmp_path, snippets_dir=tmp_path,
                            snippets=False, cores=2)
    scan = _Scan(None, None, settings, None, owner="test", dry_run=True)  # type: ignore[arg-type]
    links = [Link(n, n, f"st{n}", f"Station {n}", None, f"http://radio.example/{n}", 0, 0, None, None)
             for n in range(40)]
    scan.listening = {link.station_id for link in links if link.id != 3}  # station 3 plays a catalog song
    whole = settings.listen_limits.total_timeout  # 60 s and the ordinary capture's slack: 70 s
    assert whole == 70.0
    assert not scan._listens_to(links[3], whole)
    assert not scan._listens_to(links[0], whole - 1)  # the time left would cut it short: an ordinary one
    started = [scan._listens_to(link, whole) for link in links if link.id != 3]
    assert LONG_CAPTURES_PER_CORE == 15 and started == [True] * 30 + [False] * 9
