"""One indicator over the years: its province-wide value at each year end from the plans' first year to a day.

The supervision page's chart of change over time.  Each point is layers/indicators.py's `compute` for that day
(the layers as they were then, from the store's revisions and `valid_from`/`valid_to`), so every point can be
traced like any GET /indicators answer; the number of points is bounded before any is computed.
"""

from __future__ import annotations

import datetime as dt

from geo.errors import NotFound, PayloadTooLarge
from layers.indicators import IndicatorBook, compute
from layers.limits import MAX_INDICATOR_SERIES_POINTS

# The plans supervised are those of the 2021–2030 period (Decision 222/QĐ-TTg, the provincial plan 2021–2030):
# the series starts at the end of its first year.
PLAN_FIRST_YEAR = 2021


def series_days(day: dt.date, first_year: int = PLAN_FIRST_YEAR) -> list[dt.date]:
    """Each year end from `first_year` before `day`, then `day` itself (a year end too when it is 31 December)."""
    return [dt.date(y, 12, 31) for y in range(first_year, day.year)] + [day]


def check_series(day: dt.date, first_year: int = PLAN_FIRST_YEAR) -> list[dt.date]:
    """The days of the series, refused (413) before any work when there are more than the bound."""
    days = series_days(day, first_year)
    if len(days) > MAX_INDICATOR_SERIES_POINTS:
        raise PayloadTooLarge(f"a series from {first_year} to {day.isoformat()} has {len(days)} points; at most "
                       f"{MAX_INDICATOR_SERIES_POINTS} are computed",
                       f"Chuỗi từ {first_year} đến {day.isoformat()} có {len(days)} điểm; tối đa "
                       f"{MAX_INDICATOR_SERIES_POINTS} điểm")
    return days


def one_indicator(book: IndicatorBook, indicator_id: str) -> IndicatorBook:
    """A book holding only `indicator_id` (and its plan): the series computes nothing else."""
    found = next((i for i in book.indicators if i.id == indicator_id), None)
    if found is None:
        raise NotFound(f"no indicator {indicator_id!r}", f"Không có chỉ tiêu {indicator_id!r}")
    plans = [p for p in book.plans if p.id == found.plan]
    return IndicatorBook.model_construct(plans=plans, indicators=[found])


def indicator_series(source, book: IndicatorBook, indicator_id: str, day: dt.date, lang: str = "vi",
                     sees_internal: bool = False, first_year: int = PLAN_FIRST_YEAR) -> dict:
    """The indicator's province-wide figure on each day of the series: {"indicator": <its document on `day`>,
    "points": [{"day", "value", "accuracy", "indicative", "revisions"}]}."""
    days = check_series(day, first_year)
    single = one_indicator(book, indicator_id)
    points = []
    last = None
    for when in days:
        doc = compute(source, single, when, by="province", lang=lang, sees_internal=sees_internal)
        found = next((i for i in doc["indicators"] if i["id"] == indicator_id), None)
        points.append({"day": when.isoformat(), "value": found["value"] if found else None,
                       "accuracy": found["accuracy"] if found else None,
                       "indicative": found["indicative"] if found else None,
                       "revisions": doc["inputs"].get("revisions_on_date")})
        last = found or last
    return {"indicator": last, "points": points}
