"""The yearly supervision report's document: the indicators at a year's end against the previous year's end, by
2025 commune and by pre-2025 district, and everything they were computed from.

The department reports each year what was achieved against the plans.  The figures are those of GET /indicators
(layers/indicators.py `compute`), never recomputed here: the report only chooses the dates and gathers, for its
traceability appendix, every layer's revision and fingerprint on both dates, the indicators file's fingerprint
and planmap's version.  web/yearly renders the document as PDF and XLSX.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib

import orjson

from geo.errors import BadRequest
from layers.history import dataset_on, province_today
from layers.indicators import IndicatorBook, compute
from layers.inputs import FINGERPRINT_BYTES
from layers.limits import FIRST_REPORT_YEAR


def report_dates(year: int, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The report's data date (31/12 of `year`; today for the current year, the report so far) and comparison
    date (31/12 of the year before).  A year outside the plans' period or not yet begun is refused before any
    work is done."""
    today = today or province_today()
    if not FIRST_REPORT_YEAR <= year <= today.year:
        raise BadRequest(f"year must be between {FIRST_REPORT_YEAR} (the plans' first year) and {today.year} "
                         f"(this year); {year} is not",
                         f"Năm báo cáo phải từ {FIRST_REPORT_YEAR} (năm đầu của kỳ quy hoạch) đến {today.year} "
                         f"(năm nay); không nhận năm {year}", code="YearOutOfRange",
                         details={"year": year, "first": FIRST_REPORT_YEAR, "last": today.year})
    return min(dt.date(year, 12, 31), today), dt.date(year - 1, 12, 31)


def book_fingerprint(book: IndicatorBook) -> str:
    """A short hash of the indicators' definitions and targets as they were applied (as rules are named in
    layers/inputs.py), so a report says which version of the indicators file its figures come from."""
    dumped = book.model_dump(mode="json", by_alias=True)
    return hashlib.blake2b(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS), digest_size=FINGERPRINT_BYTES
                           ).hexdigest()


def _layers(source, result: dict, sees_internal: bool) -> list[dict]:
    """Each layer the figures rest on, at both dates: revision (None: the shipped data), fingerprint, features,
    accuracy, and where its data comes from."""
    inputs = result["inputs"]
    since = {x["id"]: x for x in inputs.get("since_layers") or []}
    current = dataset_on(source, dt.date.fromisoformat(result["date"]), sees_internal).dataset
    out = []
    for entry in inputs["layers"]:
        if entry.get("missing"):
            continue
        layer_id = entry["id"]
        layer = current.get(layer_id)
        meta = layer.meta if layer is not None else None
        before = since.get(layer_id) or {}
        out.append({
            "id": layer_id, "title": dict(meta.title) if meta else {"vi": layer_id, "en": layer_id},
            "attribution": meta.attribution if meta else "", "license": meta.license if meta else "",
            "accuracy": entry.get("accuracy") or {}, "features": entry["features"],
            "in_force_on_day": entry.get("in_force_on_day"),
            "revision": (inputs.get("revisions_on_date") or {}).get(layer_id),
            "fingerprint": entry["fingerprint"],
            "revision_since": (inputs.get("revisions_on_since") or {}).get(layer_id),
            "fingerprint_since": before.get("fingerprint"),
        })
    return out


def month_ends(day: dt.date, since: dt.date) -> list[dt.date]:
    """The dates of the course over the year: the comparison date, each month's last day before `day`, and `day`."""
    out = [since]
    for month in range(1, day.month + 1):
        end = dt.date(day.year, month, calendar.monthrange(day.year, month)[1])
        out.append(min(end, day))
    return out


def course(source, book: IndicatorBook, day: dt.date, since: dt.date, sees_internal: bool = False) -> dict:
    """The province's indicators at each month's end of the year (GET /indicators?date=… for each), and the
    revision of every layer on each of those dates, so that each point of the report's charts can be traced."""
    dates = month_ends(day, since)
    values: dict[str, list[float | None]] = {}
    revisions: dict[str, list[int | None]] = {}
    for k, when in enumerate(dates):
        doc = compute(source, book, when, by="province", sees_internal=sees_internal)
        for ind in doc["indicators"]:
            values.setdefault(ind["id"], [None] * len(dates))[k] = ind["value"]
        for layer_id, revision in doc["inputs"]["revisions_on_date"].items():
            revisions.setdefault(layer_id, [None] * len(dates))[k] = revision
    return {"dates": [d.isoformat() for d in dates], "values": values, "revisions": revisions}


def yearly_report(source, book: IndicatorBook, year: int, *, today: dt.date | None = None,
                  book_name: str = "indicators.yaml", sees_internal: bool = False) -> dict:
    """The report's document for `year`: `communes` and `districts` are GET /indicators' answers (by 2025 commune
    and by pre-2025 district, with the change since the previous year's end); `layers` the traceability rows.

    `course`: the province's figures at each month's end (see `course`).

    `source`: a Workspace (each date sees the layers at their revision of that day) or a Dataset."""
    today = today or province_today()
    day, since = report_dates(year, today)
    communes = compute(source, book, day, by="commune", since=since, lang="vi", sees_internal=sees_internal)
    districts = compute(source, book, day, by="district", since=since, lang="vi", sees_internal=sees_internal)
    return {"year": year, "date": day.isoformat(), "since": since.isoformat(), "made": today.isoformat(),
            "communes": communes, "districts": districts,
            "book": {"name": book_name, "fingerprint": book_fingerprint(book)},
            "layers": _layers(source, communes, sees_internal),
            "course": course(source, book, day, since, sees_internal)}
