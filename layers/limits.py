"""Every bound on the size of one piece of work, in one place: request bodies, vertices, batches.

A request is refused (413, with a problem document naming the limit) before any of its work is done: body sizes
are counted while the body streams in (api/app.py), vertices are counted from the GeoJSON before a geometry is
built (geo/geojson.py `vertex_count`).  How much heavy work runs at once is bounded by the lanes of api/work.py.

Anonymous callers — anyone on the intranet — get lower limits than the department's planners: a site drawn on the
map has a few dozen vertices and a surveyed boundary a few thousand, while a check with a PDF report of a
40,000-vertex outline costs ~4 s of a core (docs/reliability-load.md).
"""

from __future__ import annotations

import os

from geo.errors import PayloadTooLarge


def _bytes_from_env(name: str, default: int) -> int:
    """An operator's override of a byte limit (a positive whole number), else the default."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"{name} must be a positive number of bytes, not {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------- request bodies
MAX_BODY_BYTES = 5_000_000  # any request body unless its route allows more (imports) or less (checks)
MAX_QUERY_STRING_BYTES = 16_384  # a URL's query: a bbox, filters and paging take a few hundred bytes
MAX_PROPOSAL_BYTES = 2_000_000  # a proposal (POST /checks, /proposals) is one feature, not a dataset
MAX_FEATURE_BYTES = 5_000_000  # one feature written to a layer (Part 4 create / replace)
# A status change, a layer setting, a user or a token request: a few dozen bytes of JSON, read on the event loop
# before its job decodes it, so no more than this is ever read for them.
MAX_SMALL_BODY_BYTES = 16_384
# An imported file; PLANMAP_MAX_UPLOAD_BYTES changes it for a deployment (and lets tests reach it cheaply).
MAX_UPLOAD_BYTES = _bytes_from_env("PLANMAP_MAX_UPLOAD_BYTES", 200_000_000)
FORM_OVERHEAD_BYTES = 1_000_000  # the multipart form around an uploaded file: boundaries and the other fields

# ------------------------------------------------------------------------------------------------------ vertices
MAX_CHECK_VERTICES_ANONYMOUS = 10_000  # a proposal checked by a caller who is not a planner (PDF ≈ 1.5 s)
MAX_CHECK_VERTICES_PLANNER = 100_000  # a proposal checked or saved by a planner (about all 2 MB of JSON holds)
MAX_FEATURE_VERTICES = 100_000  # one feature written to a layer (the largest shipped one, the province, has 4,706)
MAX_BATCH_VERTICES = 5_000_000  # all proposals of one batch file (`planmap check`) together


# ------------------------------------------------------------------------------------------------------- queries
# A CQL2 filter (`filter=`, text or JSON), in characters: what a planner asks takes a few hundred, a polygon literal
# of ~400 vertices fits; the whole query string is bounded anyway (MAX_QUERY_STRING_BYTES).
# Analysis grids (site suggestions, coverage, terrain; geo/grid.py): the whole merged province (≈ 120 × 180 km) at
# 100 m is ≈ 2.2 million cells; a few float32 surfaces of that size are tens of MB and take about a second.
MAX_GRID_CELLS = 4_000_000
# A distance transform runs on its grid padded by how far off-grid shapes still count (geo/grid.py distance_to):
# the province at 100 m padded by 50 km is ≈ 6.2 M cells (≈ 1.5 s, ≈ 200 MB while it runs).
MAX_DISTANCE_GRID_CELLS = 8_000_000
MAX_FILTER_CHARS = 8_000
# Nesting of a filter's expressions (NOT, comparisons, functions, arithmetic; a chain of ANDs or ORs is one level):
# real filters nest three or four levels.  A CQL2 JSON document may nest deeper than its expression (arguments,
# coordinates): its JSON is refused beyond MAX_FILTER_JSON_DEPTH before the parser walks it.
MAX_FILTER_DEPTH = 20
MAX_FILTER_JSON_DEPTH = 64
# Predicates, functions and arithmetic of one filter (an IN list counts once): each is one vectorized pass over the
# selected rows, so this bounds the work of a filter on the largest layer to well under a second.
MAX_FILTER_TERMS = 200
# Keys of one `sortby`: each is a pass of the sort over the selected rows.
MAX_SORT_KEYS = 8

# -------------------------------------------------------------------------------------------------------- reports
# The yearly supervision report (layers/yearly.py) is of one year from the plans' first year — the plans supervised
# are those of 2021–2030 (Decision 222/QĐ-TTg): no earlier year has a target to report against — to this year.
FIRST_REPORT_YEAR = 2021
# The last year a request may name before the date is looked at (the plans' horizon, 2050 — Decision 222/QĐ-TTg's
# vision); a year after the current one is refused by layers/yearly.py `report_dates`.
LAST_REPORT_YEAR_BOUND = 2050


def check_vertices(count: int, limit: int, what_en: str, what_vi: str) -> None:
    """Refuse (413) a geometry of more than `limit` vertices, saying the limit, before any work is done on it."""
    if count > limit:
        raise PayloadTooLarge(f"{what_en} has {count:,} vertices; at most {limit:,} are accepted",
                              f"{what_vi} có {_vi(count)} đỉnh; chỉ nhận tối đa {_vi(limit)} đỉnh",
                              code="TooManyVertices", details={"vertices": count, "limit": limit})


def _vi(number: int) -> str:
    """A whole number as Vietnamese writes it: 10.000."""
    return f"{number:,}".replace(",", ".")

# ------------------------------------------------------------------------------------------------- vector tiles
MIN_TILE_ZOOM = 0  # WebMercatorQuad's first tile matrix: the whole world in one tile
# The deepest zoom served: a z22 tile is ~10 m across at this latitude (4096 units: 2.4 mm each), finer than any
# plan; clients draw deeper zooms from z22 tiles (overzoom).
MAX_TILE_ZOOM = 22
# Features in one tile: beyond, the tile holds the first ones in id order and says how many it left out (header
# `Planmap-Features-Omitted`). The densest z12 tile of the 200,000-parcel benchmark layer (bench/tiles.py) holds
# 29,178; a province-wide tile of a layer that large is a job for thinning, not for one tile.
MAX_TILE_FEATURES = 50_000
# Vertices of the features (before clipping) one tile may read: bounds the clipping and simplifying work of a
# tile (~2 M vertices ≈ 0.5 s of GEOS on this machine) whatever the layer holds.
MAX_TILE_VERTICES = 2_000_000
# Tiles kept per serving process, in bytes (least recently used dropped first): a few thousand typical tiles,
# small beside the prepared layers the process maps.
TILE_CACHE_BYTES = 64_000_000

# ------------------------------------------------------------------------------------------------- indicators
# Points of an indicator's series over the years (GET /indicators/chart?kind=series): each point is a whole
# computation of the indicator on one day (from the store's revisions); 2021 to 2035 is the plan period and five
# years past it.
MAX_INDICATOR_SERIES_POINTS = 15
