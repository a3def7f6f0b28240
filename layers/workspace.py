"""The layers being served: the shipped dataset overlaid with the store's revisions, and every change to them.

A change is committed to the store first (one transaction), then the affected layer is rebuilt and a new
immutable Dataset is published; requests in flight keep the snapshot they started with.  Another process writing
the same store (e.g. `planmap import` while the server runs) is picked up within a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import geopandas as gpd

from geo.errors import BadRequest, Conflict, NotFound, Unavailable
from layers.access import Principal
from layers.catalog import default_meta
from layers.checks import CheckEngine
from layers.dataset import Dataset, Layer, layer_from_frame
from layers.features import append_features
from layers.revisions import Revision, StaleHead, Store
from layers.rules import RuleBook


class Workspace:
    """Base dataset + store → the current Dataset, its public view and their check engines."""

    REFRESH_SECONDS = 1.0

    def __init__(self, base: Dataset, store: Store | None = None, rules: RuleBook | None = None) -> None:
        self.base = base
        self.store = store
        self.rules = rules
        self._lock = threading.RLock()
        self._built: dict[tuple[str, int], Layer] = {}
        self._checked_at = 0.0
        self._version = -1
        self.dataset = base
        self._compose()

    # -- publishing ---------------------------------------------------------------------------------------------
    def _compose(self) -> None:
        with self._lock:
            if self.store is None:
                return
            version = self.store.version()
            if version == self._version:
                return
            layers = dict(self.base.layers)
            for layer_id in self.store.layers_with_revisions():
                head = self.store.head(layer_id)
                key = (layer_id, head)
                if key not in self._built:
                    frame = self.store.snapshot(head)
                    base = self.base.get(layer_id)
                    meta = base.meta if base else self.base.catalog.get(layer_id) or default_meta(layer_id)
                    self._built[key] = layer_from_frame(meta, frame, base.geometry_type if base and len(frame)
                                                        else None)
                layers[layer_id] = self._built[key]
            self.dataset = Dataset(layers, self.base.source, frozenset(self.store.internal_layers()),
                                   catalog=self.base.catalog)
            self._version = version

    def refresh_due(self) -> bool:
        """Whether `refresh` would look at the store now (at most once a second): callers on an event loop then run
        it in a thread, and otherwise read the snapshot without any I/O."""
        return self.store is not None and time.monotonic() - self._checked_at >= self.REFRESH_SECONDS

    def refresh(self) -> None:
        """Pick up changes committed by other processes (checked at most once a second)."""
        if self.refresh_due():
            self._checked_at = time.monotonic()
            self._compose()

    def snapshot(self, sees_internal: bool) -> Dataset:
        """The current layers as they are (no store access): all of them, or the public view."""
        dataset = self.dataset
        return dataset if sees_internal else dataset.public_view()

    def view(self, principal: Principal) -> Dataset:
        """The layers `principal` may see (internal layers only for planners and admins)."""
        return self.view_for(principal.sees_internal)

    def view_for(self, sees_internal: bool) -> Dataset:
        self.refresh()
        return self.snapshot(sees_internal)

    def engine(self, dataset: Dataset) -> CheckEngine | None:
        """The check engine over exactly what this person may see (internal layers never leak into evidence)."""
        if self.rules is None:
            return None
        rules = self.rules
        return dataset.derived("check_engine", lambda ds: CheckEngine(ds, rules))

    # -- changes ------------------------------------------------------------------------------------------------
    def _require_store(self) -> Store:
        if self.store is None:
            raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
        return self.store

    def current_frame(self, layer_id: str) -> gpd.GeoDataFrame | None:
        layer = self.dataset.get(layer_id)
        return None if layer is None else layer.frame.copy()

    def modify(self, layer_id: str, change: Callable[[gpd.GeoDataFrame | None], gpd.GeoDataFrame], *, author: str,
               action: str, source_file: str | None = None, report: dict | None = None) -> Revision:
        """Apply `change` to the layer's latest features and commit the result as one revision.

        Read-modify-write is guarded twice: a lock within this process, and the store's head check across
        processes (a CLI import while the server runs) — a change computed from a stale head is redone.
        """
        store = self._require_store()
        for _ in range(5):
            with self._lock:
                self._compose()
                head = store.head(layer_id)
                before = self.current_frame(layer_id)
                after = change(before)
                try:
                    revision = store.commit_snapshot(layer_id, after, author=author, action=action,
                                                     source_file=source_file, report=report,
                                                     counts=_diff_counts(before, after), expected_head=head)
                except StaleHead:
                    self._version = -1  # force a re-read of the store
                    continue
                self._compose()
                return revision
        raise Conflict("the layer is being changed by others; try again",
                       "Lớp đang được người khác sửa; hãy thử lại")

    def commit(self, layer_id: str, frame: gpd.GeoDataFrame, *, author: str, action: str,
               source_file: str | None = None, report: dict | None = None) -> Revision:
        """Store `frame` as the layer's new revision, whatever it held before."""
        return self.modify(layer_id, lambda _: frame, author=author, action=action, source_file=source_file,
                           report=report)

    def replace_layer(self, layer_id: str, frame: gpd.GeoDataFrame, *, author: str, source_file: str,
                      report: dict, append: bool = False) -> Revision:
        """An import: the file's features become the layer (or are appended to it), as one revision."""
        frame = frame.to_crs("OGC:CRS84") if frame.crs is not None else frame.set_crs("OGC:CRS84")
        frame = frame.reset_index(drop=True)

        def change(current: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
            return append_features(current if append else None, frame)[0]

        return self.modify(layer_id, change, author=author, action="import", source_file=source_file, report=report)

    def rollback(self, layer_id: str, revision_id: int, author: str) -> Revision:
        store = self._require_store()
        try:
            target = store.revision(revision_id)
        except KeyError:
            raise NotFound(f"revision {revision_id} does not exist", f"Không có phiên bản {revision_id}") from None
        if target.layer != layer_id:
            raise BadRequest(f"revision {revision_id} belongs to layer {target.layer!r}",
                             f"Phiên bản {revision_id} thuộc lớp {target.layer!r}")
        return self.commit(layer_id, store.snapshot(revision_id), author=author, action="rollback",
                           report={"rolled_back_to": revision_id})

    def history(self, layer_id: str) -> list[Revision]:
        return self.store.history(layer_id) if self.store is not None else []

    def set_internal(self, layer_id: str, internal: bool, author: str) -> None:
        self._require_store().set_internal(layer_id, internal, author)
        self._compose()


def _diff_counts(before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame) -> tuple[int, int, int]:
    """(added, changed, removed) feature counts between two versions of a layer, by feature id."""
    if before is None:
        return len(after), 0, 0
    old, new = set(before.index), set(after.index)
    common = sorted(old & new)
    changed = 0
    if common:
        a = before.loc[common]
        b = after.loc[common]
        cols = [c for c in a.columns if c in b.columns and c != a.geometry.name]
        props_diff = (a[cols].astype(str) != b[cols].astype(str)).any(axis=1) if cols else False
        geom_diff = ~a.geometry.geom_equals(b.geometry)
        changed = int((props_diff | geom_diff).sum())
    return len(new - old), changed, len(old - new)
