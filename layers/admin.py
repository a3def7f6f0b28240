"""The two administrative versions of the province: which units and which outline are in force on a date.

On 1 July 2025 Thái Nguyên was merged with Bắc Kạn and the district level was abolished (Resolution
202/2025/QH15 on provinces; Resolution 1683/NQ-UBTVQH15 on Thái Nguyên's communes).  The plans were written per
pre-2025 district, so both versions stay in the data with `valid_from`/`valid_to`; this module is the one place
that answers "which outline / which units are in force on this day".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from layers.dataset import Dataset

REFORM_DATE = dt.date(2025, 7, 1)  # the merged province and its communes are in force from this day
LAST_DAY_OF_DISTRICTS = REFORM_DATE - dt.timedelta(days=1)  # the pre-2025 districts are the units until then

PROVINCE = "province"
DISTRICTS = "districts"  # pre-2025 district-level units: the plans' own units
COMMUNES = "communes"  # the commune-level units since the reform


def outline_day(day: dt.date | None = None) -> dt.date:
    """The day whose outline applies: `day`, or today."""
    return day or dt.date.today()


def province_outline(dataset: Dataset, day: dt.date | None = None) -> shapely.Geometry | None:
    """The province's outline in force on `day` (CRS84), or None when the dataset has no province layer.

    Falls back to every province feature when none is dated to cover the day (a planner's undated layer)."""
    layer = dataset.get(PROVINCE)
    if layer is None or len(layer) == 0:
        return None
    rows = np.flatnonzero(layer.valid_on(outline_day(day)))
    geoms = layer.frame.geometry.to_numpy()
    return shapely.union_all(geoms[rows] if len(rows) else geoms)


def commune_day(day: dt.date) -> dt.date:
    """The day on which to look a site's commune up: communes exist from the reform on."""
    return max(day, REFORM_DATE)


def district_day(day: dt.date) -> dt.date:
    """The day on which to look a site's pre-2025 district up: districts exist until the reform."""
    return min(day, LAST_DAY_OF_DISTRICTS)
