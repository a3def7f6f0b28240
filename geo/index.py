"""A spatial index over a layer's bounding boxes, answering in stable row order.

Built from the boxes alone (an n×4 array, which may be memory-mapped), so a layer can be served without one
shapely object per feature: a regular grid holds each row in the cells its box touches.  A query rectangle
settles most rows on their boxes — a point, or a box inside the rectangle, is a hit with no geometry test — and
only the rows whose box straddles the rectangle's edge are tested exactly, on geometries fetched for them alone.
A query that covers most of the layer scans the boxes linearly instead (the result is then already in row
order: a whole-province bbox costs a comparison per row, not a sort of the matches).

An edit changes a few rows of a layer that may hold hundreds of thousands, so an index can be *updated*: the grid
stays, rows it holds that were removed are masked out, and the boxes added since are tested directly.  Once
those extras grow past `MAX_EXTRAS` the next update builds a fresh grid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely import STRtree

# Boxes tested one by one beside the grid before it is rebuilt: a few thousand cost a few microseconds per
# query (vectorised), while a rebuild of a large layer costs tens of milliseconds.
MAX_EXTRAS = 2048
# Rows per grid cell on average: small enough that a small bbox reads few candidates, large enough that the
# cell table stays a fraction of the layer.
ROWS_PER_CELL = 4
# A row whose box covers more cells than this is kept in a short list tested on every query instead (an admin
# boundary over a grid of parcels would otherwise be copied into thousands of cells).
MAX_CELLS_PER_ROW = 64
# When the cells a query touches hold more than this share of the rows, a linear scan of the boxes is cheaper
# than gathering, de-duplicating and sorting candidates.
SCAN_SHARE = 0.25

# Exact tests against one query geometry from which preparing it (GEOS's indexed form) pays off.
PREPARE_FROM = 16

GeometriesOf = Callable[[np.ndarray], np.ndarray]


class _Grid:
    """Rows bucketed by the grid cells their boxes touch (CSR: `starts[cell]`…`starts[cell+1]` in `rows`)."""

    def __init__(self, bounds: np.ndarray) -> None:
        bounds = np.asarray(bounds)
        self.bounds = bounds
        n = len(bounds)
        valid = np.isfinite(bounds).all(axis=1) if n else np.zeros(0, dtype=bool)
        if valid.any():
            b = bounds[valid]
            x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
            x1, y1 = float(b[:, 2].max()), float(b[:, 3].max())
        else:
            x0 = y0 = 0.0
            x1 = y1 = 1.0
        width, height = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
        cells = max(1, n // ROWS_PER_CELL)
        nx = max(1, int(round(np.sqrt(cells * width / height))))
        ny = max(1, int(round(cells / nx)))
        self.origin, self.size, self.shape = (x0, y0), (width / nx, height / ny), (nx, ny)
        rows = np.flatnonzero(valid)
        cx0, cy0, cx1, cy1 = self._cells(bounds[rows])
        span = (cx1 - cx0 + 1) * (cy1 - cy0 + 1)
        big = span > MAX_CELLS_PER_ROW
        self.big = rows[big]
        rows, cx0, cy0, cx1, cy1, span = rows[~big], cx0[~big], cy0[~big], cx1[~big], cy1[~big], span[~big]
        if len(span) and span.max() > 1:  # rows over several cells: one entry per cell
            owner = np.repeat(np.arange(len(rows)), span)
            step = np.arange(len(owner)) - np.repeat(np.cumsum(span) - span, span)
            w = (cx1 - cx0 + 1)[owner]
            cell = (cy0[owner] + step // w) * nx + cx0[owner] + step % w
            rows = rows[owner]
        else:
            cell = cy0 * nx + cx0
        order = np.lexsort((rows, cell))
        self.rows = rows[order]
        self.cell_bounds = np.ascontiguousarray(bounds[self.rows])  # the rows' boxes in the same (cell) order
        self.starts = np.searchsorted(cell[order], np.arange(nx * ny + 1)).astype(np.int64)
        self.multi = bool(len(span) and span.max() > 1)

    def _cells(self, b: np.ndarray) -> tuple[np.ndarray, ...]:
        (x0, y0), (w, h), (nx, ny) = self.origin, self.size, self.shape
        cx0 = np.clip(((b[:, 0] - x0) // w).astype(np.int64), 0, nx - 1)
        cy0 = np.clip(((b[:, 1] - y0) // h).astype(np.int64), 0, ny - 1)
        cx1 = np.clip(((b[:, 2] - x0) // w).astype(np.int64), 0, nx - 1)
        cy1 = np.clip(((b[:, 3] - y0) // h).astype(np.int64), 0, ny - 1)
        return cx0, cy0, cx1, cy1

    def candidates(self, box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows that may touch `box` (unsorted, possibly repeated) and their boxes, or None when a linear scan is
        cheaper.  The boxes come from a copy kept in cell order: a query reads them from a few contiguous runs of
        memory, not from one place per candidate all over the layer's box array."""
        (x0, y0), (w, h), (nx, ny) = self.origin, self.size, self.shape
        if box[2] < x0 or box[3] < y0 or box[0] > x0 + w * nx or box[1] > y0 + h * ny:
            return self.big, self.bounds[self.big]
        cx0, cx1 = (min(max(int((v - x0) // w), 0), nx - 1) for v in (box[0], box[2]))
        cy0, cy1 = (min(max(int((v - y0) // h), 0), ny - 1) for v in (box[1], box[3]))
        starts = self.starts[[cy * nx + cx for cy in range(cy0, cy1 + 1) for cx in (cx0, cx1 + 1)]].tolist()
        spans = list(zip(starts[::2], starts[1::2], strict=True))
        if sum(b - a for a, b in spans) > SCAN_SHARE * len(self.bounds):
            return None
        rows = [self.rows[a:b] for a, b in spans]
        boxes = [self.cell_bounds[a:b] for a, b in spans]
        if len(self.big):
            rows.append(self.big)
            boxes.append(self.bounds[self.big])
        if len(rows) == 1:
            return rows[0], boxes[0]
        return np.concatenate(rows), np.concatenate(boxes)


class SpatialIndex:
    """Rows whose geometry intersects a query, sorted so that paging is stable.

    `bounds`: each row's (minx, miny, maxx, maxy), NaN for a missing geometry; `geometries_of(rows)`: the shapely
    geometries of some rows, fetched only for the exact tests a box cannot settle."""

    def __init__(self, bounds: np.ndarray, geometries_of: GeometriesOf) -> None:
        self._grid = _Grid(bounds)
        self._bounds = np.asarray(bounds)  # per current row (a plain view of a memory map: cheaper to index)
        self._grid_rows: np.ndarray | None = None  # grid row → current row, -1 when removed (None: identity)
        self._extra_rows = np.empty(0, dtype=np.int64)  # rows added since the grid was built
        self._geometries_of = geometries_of
        self._tree: STRtree | None = None  # for nearest(), built when first needed
        self.size = len(bounds)

    def updated(self, bounds: np.ndarray, geometries_of: GeometriesOf, new_row_of_old: np.ndarray,
                added_rows: np.ndarray) -> SpatialIndex:
        """The index after an edit: `bounds` per new row, `new_row_of_old[i]` the new row of old row i (-1: removed
        or its geometry replaced), `added_rows` the rows whose geometry is new."""
        if len(self._extra_rows) + len(added_rows) > MAX_EXTRAS:
            return SpatialIndex(bounds, geometries_of)
        index = SpatialIndex.__new__(SpatialIndex)
        index._grid = self._grid
        grid_rows = self._grid_rows if self._grid_rows is not None else np.arange(len(self._grid.bounds))
        index._grid_rows = _remap(grid_rows, new_row_of_old)
        kept = _remap(self._extra_rows, new_row_of_old)
        index._extra_rows = np.concatenate([kept[kept >= 0], added_rows.astype(np.int64)])
        index._bounds = np.asarray(bounds)
        index._geometries_of = geometries_of
        index._tree = None
        index.size = len(bounds)
        return index

    def intersecting(self, query: shapely.Geometry | tuple[float, float, float, float],
                     rectangle: bool = False) -> np.ndarray:
        """Rows (ascending) whose geometry intersects `query` — a geometry, or a (minx, miny, maxx, maxy) box;
        `rectangle`: the geometry is an axis-aligned box (a tuple always is), so rows whose box lies inside it
        (points among them) need no exact test."""
        if isinstance(query, tuple):
            box, rectangle = list(query), True
        else:
            box = shapely.bounds(query).tolist()
        x0, y0, x1, y1 = box
        found = self._grid.candidates(box)
        if found is None:  # most of the layer: scan every current row's box, already in row order
            b = self._bounds
            rows = np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))
            b = b[rows]
            settled = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1) if rectangle \
                else np.zeros(len(rows), dtype=bool)
        else:
            rows, b = found
            touch = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
            rows, b = rows[touch], b[touch]
            if self._grid_rows is not None:  # rows renumbered by edits since the grid was built (-1: gone)
                rows = self._grid_rows[rows]
                live = rows >= 0
                rows, b = rows[live], b[live]
            if len(self._extra_rows):
                e = self._bounds[self._extra_rows]
                touch = (e[:, 0] <= x1) & (e[:, 2] >= x0) & (e[:, 1] <= y1) & (e[:, 3] >= y0)
                rows, b = np.concatenate([rows, self._extra_rows[touch]]), np.concatenate([b, e[touch]])
            settled = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1) if rectangle \
                else np.zeros(len(rows), dtype=bool)
            repeated = self._grid.multi or len(self._extra_rows) or len(self._grid.big) or self._grid_rows is not None
            if settled.all():  # every box inside the rectangle (points always): sort the rows alone
                rows.sort()
                if repeated and len(rows) > 1:
                    rows = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]  # a row may be in several cells
                return rows
            order = np.argsort(rows, kind="stable")
            rows, settled = rows[order], settled[order]
            if repeated and len(rows) > 1:
                first = np.concatenate(([True], rows[1:] != rows[:-1]))
                rows, settled = rows[first], settled[first]
        if settled.all():
            return rows
        unsure = rows[~settled]
        geometry = shapely.box(*box) if isinstance(query, tuple) else query
        if len(unsure) > PREPARE_FROM:
            shapely.prepare(geometry)
        hit = shapely.intersects(self._geometries_of(unsure), geometry)
        keep = settled.copy()
        keep[~settled] = hit
        return rows[keep]

    def nearest(self, geoms: np.ndarray, max_distance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each input geometry, the row of the nearest indexed geometry and the distance to it."""
        if self._tree is None:
            self._tree = STRtree(self._geometries_of(np.arange(self.size)))
        (inp, rows), dist = self._tree.query_nearest(geoms, max_distance=max_distance, return_distance=True,
                                                     all_matches=False)
        return np.column_stack([inp, rows]), dist


def _remap(rows: np.ndarray, new_row_of_old: np.ndarray) -> np.ndarray:
    """Rows renumbered after an edit; removed ones (and ones already removed) become -1."""
    out = np.full(len(rows), -1, dtype=np.int64)
    live = rows >= 0
    out[live] = new_row_of_old[rows[live]]
    return out
