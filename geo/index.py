"""A spatial index over a fixed set of geometries (shapely STRtree), answering in stable row order."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree


class SpatialIndex:
    """Rows whose geometry intersects a query geometry, sorted so that paging is stable."""

    def __init__(self, geoms: np.ndarray) -> None:
        self._tree = STRtree(geoms)
        self.size = len(geoms)

    def intersecting(self, query: shapely.Geometry) -> np.ndarray:
        rows = self._tree.query(query, predicate="intersects")
        rows.sort()
        return rows

    def nearest(self, geoms: np.ndarray, max_distance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each input geometry, the row of the nearest indexed geometry and the distance to it."""
        (inp, rows), dist = self._tree.query_nearest(geoms, max_distance=max_distance, return_distance=True,
                                                     all_matches=False)
        return np.column_stack([inp, rows]), dist
