"""The check a planner asks for: one proposal (a GeoJSON Feature) in, its compliance report out."""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely
from shapely.geometry import shape

from geo.crs import CRS84, parse_crs, transform_geometries
from layers.checks import CheckEngine
from layers.proposals import from_feature
from layers.report import build_reports


def check_feature(engine: CheckEngine, feature: object, *, crs: str | None = None, as_of: dt.date | None = None,
                  lang: str = "vi") -> dict:
    """Validate a proposal Feature (in `crs`, CRS84 by default) and build its report, with the rules in force on
    `as_of` (else the Feature's own `as_of` property, else today).  Raises ProposalError (422) for bad input."""
    out_crs = parse_crs(crs)
    proposals, feature_day = from_feature(feature, crs)
    day = as_of or feature_day or dt.date.today()
    return build_reports(engine, proposals, day, lang, out_crs)[0]


def report_geometry84(report: dict) -> shapely.Geometry:
    """The proposal's geometry of a report (given in the report's CRS) back in CRS84, to be stored."""
    geom = shape(report["proposal"]["geometry"])
    source = parse_crs(report["crs"])
    return geom if source == CRS84 else transform_geometries(np.array([geom], dtype=object), source, CRS84)[0]
