"""A spatial index over a layer's geometries (shapely STRtree), answering in stable row order.

An edit changes a few rows of a layer that may hold hundreds of thousands: rebuilding the tree for each (≈60 ms
for 200k geometries) would make every edit cost the whole layer.  So an index can be *updated*: the tree stays,
rows it holds that were removed are masked out, and the few geometries added since it was built are tested
directly.  Once those extras grow past `MAX_EXTRAS` the next update builds a fresh tree.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely import STRtree

# Geometries tested one by one beside the tree before the tree is rebuilt: a few thousand cost well under a
# millisecond per query (vectorised), while a rebuild of a large layer costs tens of milliseconds.
MAX_EXTRAS = 2048


class SpatialIndex:
    """Rows whose geometry intersects a query geometry, sorted so that paging is stable."""

    def __init__(self, geoms: np.ndarray) -> None:
        self._tree = STRtree(geoms)
        self._tree_rows = np.arange(len(geoms), dtype=np.int64)  # tree item → current row, -1 when removed
        self._extra_rows = np.empty(0, dtype=np.int64)  # rows added since the tree was built …
        self._extra_geoms = np.empty(0, dtype=object)  # … and their geometries
        self._all_geoms = lambda: geoms
        self._full: STRtree | None = None  # a tree over exactly the current rows, built when first needed
        self.size = len(geoms)

    def updated(self, all_geoms: Callable[[], np.ndarray], new_row_of_old: np.ndarray, added_rows: np.ndarray,
                added_geoms: np.ndarray) -> SpatialIndex:
        """The index after an edit: `new_row_of_old[i]` is the new row of old row i (-1: removed or its geometry
        replaced), `added_rows` (ascending) the rows whose geometry `added_geoms` is new; `all_geoms` gives every
        row's geometry when the tree has to be rebuilt."""
        if len(self._extra_rows) + len(added_rows) > MAX_EXTRAS:
            return SpatialIndex(all_geoms())
        index = SpatialIndex.__new__(SpatialIndex)
        index._tree = self._tree
        index._tree_rows = _remap(self._tree_rows, new_row_of_old)
        kept = _remap(self._extra_rows, new_row_of_old)
        alive = kept >= 0
        index._extra_rows = np.concatenate([kept[alive], added_rows.astype(np.int64)])
        index._extra_geoms = np.concatenate([self._extra_geoms[alive], added_geoms]) if len(added_rows) \
            else self._extra_geoms[alive]
        index._all_geoms = all_geoms
        index._full = None
        index.size = int(max(index._tree_rows.max(initial=-1), index._extra_rows.max(initial=-1)) + 1)
        return index

    def intersecting(self, query: shapely.Geometry) -> np.ndarray:
        items = self._tree.query(query, predicate="intersects")
        rows = self._tree_rows[items]
        rows = rows[rows >= 0]
        if len(self._extra_rows):
            rows = np.concatenate([rows, self._extra_rows[shapely.intersects(self._extra_geoms, query)]])
        rows.sort()
        return rows

    def nearest(self, geoms: np.ndarray, max_distance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each input geometry, the row of the nearest indexed geometry and the distance to it."""
        if self._full is None:
            self._full = self._tree if self._is_exact() else STRtree(self._all_geoms())
        (inp, rows), dist = self._full.query_nearest(geoms, max_distance=max_distance, return_distance=True,
                                                     all_matches=False)
        return np.column_stack([inp, rows]), dist

    def _is_exact(self) -> bool:
        return len(self._extra_rows) == 0 and bool(np.array_equal(self._tree_rows, np.arange(self.size)))


def _remap(rows: np.ndarray, new_row_of_old: np.ndarray) -> np.ndarray:
    """Rows renumbered after an edit; removed ones (and ones already removed) become -1."""
    out = np.full(len(rows), -1, dtype=np.int64)
    live = rows >= 0
    out[live] = new_row_of_old[rows[live]]
    return out
