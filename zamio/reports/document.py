"""The shape of a report document: what ``zamio.reports.data.build`` computes, the JSON file, and what the
CSV files and the HTML page are drawn from.

Sections taken from a fresh dashboard cache entry (``plays_by_day``, the top lists) have the same
shape, read back from its JSON.  A key named ``from`` is a Python keyword, so the shapes holding one
are written in the functional form.
"""

from __future__ import annotations

from typing import TypedDict

from zamio.cache.aggregates import Gap, TopItem
from zamio.cache.families import Coverage
from zamio.royalties.statements.earnings import KindFigure, RecipientFigure

Meta = TypedDict("Meta", {
    "type": str, "ref": str, "name": str, "from": str, "to": str,  # the days, YYYY-MM-DD, in ``timezone``
    "timezone": str, "generated_at": str,
    "sources": dict[str, str],  # section → the cache entry it was taken from
})

ConfidenceBin = TypedDict("ConfidenceBin", {"from": float, "to": float, "detections": int})


class DayPlays(TypedDict):
    date: str
    plays: int
    seconds: float


class HourPlays(TypedDict):
    hour: int
    plays: int
    seconds: float


class Confidence(TypedDict):
    bins: list[ConfidenceBin]
    unknown: int  # detections without a confidence
    by_source: dict[str, int]


class StationGap(Gap):
    station_id: int
    station: str | None  # its name


class MoneyTotal(TypedDict):
    currency: str
    amount_units: int
    amount: str


class Totals(TypedDict):
    plays: int
    seconds: float
    recordings_listed: int
    stations_listed: int
    detections: int
    earnings: list[MoneyTotal]


class Figures(TypedDict):
    """A report's figures, before their totals."""

    report: Meta
    plays_by_day: list[DayPlays]
    plays_by_hour: list[HourPlays]
    top_tracks: list[TopItem]
    top_stations: list[TopItem]
    earnings: list[RecipientFigure] | list[KindFigure]  # an artist's or publisher's, else a station's or all
    confidence: Confidence
    coverage_gaps: list[StationGap]
    coverage: Coverage | None  # a station's only


class Report(Figures):
    """The whole report document."""

    totals: Totals
