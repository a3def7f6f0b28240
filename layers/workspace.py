"""The layers being served: the shipped dataset overlaid with the store's revisions, and every change to them.

Readers never wait on writers.  A request takes the current `Dataset` (an immutable snapshot) without any lock.
A change is committed to the store first (one transaction), then the affected layer is updated — incrementally
for an edit, built anew for an import — outside any lock a reader takes, and the new Dataset is published by one
reference swap; requests in flight keep the snapshot they started with.  Another process writing the same store
(e.g. `planmap import` while the server runs, another worker of `planmap serve --workers N`, or another host on a
PostGIS store) is picked up by the watcher thread (`start_watching`) as soon as the store's version changes (a
PostGIS store notifies; SQLite is polled), or else within a second by whichever request finds the check due; the
others go on with the snapshot they have.  Workers of one host also share a `VersionBoard`: a commit posts the
store's new version there, and a request of another worker that finds itself behind catches up before it reads
(waiting at most CATCH_UP_WAIT_SECONDS), so whoever saved a change reads it back whichever worker answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import geopandas as gpd
import numpy as np

from geo.errors import BadRequest, Conflict, NotFound, Unavailable
from geo.memory import give_back_free_memory
from geo.terrain import Terrain
from layers.access import Principal
from layers.catalog import default_meta
from layers.checks import CheckEngine
from layers.dataset import Dataset, Edit, Layer, layer_from_frame
from layers.features import next_fid, numbered
from layers.prepared import PreparedCache
from layers.revisions import Revision, RevisionStore, StaleHead
from layers.rules import RuleBook
from layers.terrain import TerrainSource

log = logging.getLogger("planmap")

# The watcher's wait for a change of the store: how soon it notices it is told to stop (it is not waited for).
WATCH_TIMEOUT_SECONDS = 0.5
# How long a request of a worker that is behind the board waits for the catch-up: a one-feature edit takes
# milliseconds to apply; a whole imported layer may take seconds to build, and meanwhile reads are not held longer.
CATCH_UP_WAIT_SECONDS = 1.0
# After the store failed to answer (a disk error, a store being restored): wait this long before asking again,
# rather than logging the same error in a tight loop.
WATCH_RETRY_SECONDS = 5.0


class VersionBoard(Protocol):
    """The latest store version committed by any process of this host (shared memory: see api/server.py)."""

    def latest(self) -> int: ...

    def post(self, version: int) -> None: ...


class Workspace:
    """Base dataset + store → the current Dataset, its public view and their check engines."""

    REFRESH_SECONDS = 1.0

    def __init__(self, base: Dataset, store: RevisionStore | None = None, rules: RuleBook | None = None,
                 cache: PreparedCache | None = None, terrain: Terrain | None = None) -> None:
        self.base = base
        self.store = store
        self.rules = rules
        # the elevation model checks measure sites on: a planner's upload in the store, else the service's own
        self.terrain_source = TerrainSource(terrain, store)
        self.cache = cache  # prepared layers on disk: a whole-layer revision is prepared once, by one process
        self._write_lock = threading.RLock()  # one writer of this process at a time (never taken by readers)
        self._sync_lock = threading.Lock()  # one thread at a time catches up with the store
        self._publish_lock = threading.Lock()  # held only for the swap of the published Dataset
        self._heads: dict[str, int] = {}  # layer → the store revision the published layer is at
        self._writing: set[str] = set()  # layers this process is committing and will publish itself
        self._checked_at = 0.0
        self._version = -1
        self._watcher: tuple[threading.Thread, threading.Event] | None = None
        self._board: VersionBoard | None = None
        self.dataset = base
        self._sync(blocking=True)

    # -- publishing ---------------------------------------------------------------------------------------------
    def _publish(self, updates: dict[str, tuple[int | None, int, Layer | None]], internal: frozenset[str] | None
                 ) -> None:
        """Swap in new layers: layer → (head it was computed from, new head, new Layer).  An update computed from
        a head that is no longer the published one (someone published a newer one meanwhile) is dropped."""
        with self._publish_lock:
            layers = dict(self.dataset.layers)
            changed = False
            for layer_id, (was, head, layer) in updates.items():
                if self._heads.get(layer_id) != was:
                    continue
                if layer is None:
                    layers.pop(layer_id, None)
                else:
                    layer.cache["revision"] = head  # what analyses record as their input (layers/inputs.py)
                    layers[layer_id] = layer
                self._heads[layer_id] = head
                changed = True
            if changed or (internal is not None and internal != self.dataset.internal):
                self.dataset = Dataset(layers, self.base.source,
                                       self.dataset.internal if internal is None else internal,
                                       catalog=self.base.catalog)
        if changed:  # the replaced layer's arrays are freed: give the pages back (geo/memory.py)
            give_back_free_memory()

    def _sync(self, blocking: bool = False, timeout: float = -1) -> None:
        """Catch up with revisions committed to the store (by any process).  Without `blocking`, a thread that
        finds another one already catching up goes on with the published snapshot; with a `timeout`, it waits
        that long for it."""
        if self.store is None or not self._sync_lock.acquire(blocking=blocking, timeout=timeout if blocking else -1):
            return
        try:
            version = self.store.version()
            if version == self._version:
                return
            updates = {}
            skipped = False
            for layer_id, head in self.store.heads().items():
                was = self._heads.get(layer_id)
                if was != head and layer_id in self._writing:
                    skipped = True  # its writer publishes it when done; look again next time
                elif was != head:
                    updates[layer_id] = (was, head, self._layer_at(layer_id, head, was))
            self._publish(updates, frozenset(self.store.internal_layers()))
            if not skipped:
                self._version = version
        finally:
            self._sync_lock.release()

    def _layer_at(self, layer_id: str, head: int, known: int | None) -> Layer:
        """The layer as of revision `head`: the published layer with the deltas since `known` applied when that is
        possible, else built from the store's snapshot."""
        store = self.store
        current = self.dataset.get(layer_id)
        if known is not None and current is not None:
            chain = store.lineage(head, since=known)
            if chain and chain[0][2] == known and not any(full for _, full, _ in chain):
                layer = current
                for revision, _, _ in chain:
                    change = store.changes(revision)
                    layer = layer.updated(change.puts if len(change.puts) else None, change.deleted)
                return layer
        return self.layer_at(layer_id, head)

    def layer_at(self, layer_id: str, revision: int) -> Layer:
        """The layer as it was at `revision`: its last full revision (or the shipped layer) with the deltas since
        applied — through `Layer.updated`, so a feature untouched since is served byte for byte as shipped."""
        store = self._require_store()
        base = self.base.get(layer_id)
        meta = base.meta if base else self.base.catalog.get(layer_id) or default_meta(layer_id)
        layer = None
        for rev, full, _ in store.lineage(revision):
            if full:
                layer = self._prepared(layer_id, rev, meta, lambda rev=rev: self._layer_of_rows(
                    meta, base, store.changes(rev).puts))
                continue
            change = store.changes(rev)
            if layer is None and base is None:
                frame = change.puts
                layer = layer_from_frame(meta, frame, base.geometry_type if base and len(frame) else None)
                if change.deleted:
                    layer = layer.updated(None, change.deleted)
                continue
            layer = (layer or base).updated(change.puts if len(change.puts) else None, change.deleted)
        return layer if layer is not None else base

    @staticmethod
    def _layer_of_rows(meta, base: Layer | None, rows: gpd.GeoDataFrame) -> Layer:
        return layer_from_frame(meta, rows, base.geometry_type if base and len(rows) else None)

    def _prepared(self, layer_id: str, revision: int, meta, build: Callable[[], Layer]) -> Layer:
        """The layer a whole-layer revision stored: from the prepared cache when there is one (built and written
        there by whichever process needs it first), else built (`build`) from the store's rows."""
        if self.cache is None:
            return build()
        made = self.store.revision(revision)
        where = self.store.spec  # the store (a folder or a database URL): revision ids are its own
        key = self.cache.key("revision", where, layer_id, revision, made.created, made.feature_count)
        return self.cache.get_or_build(key, meta, build)

    def share_versions(self, board: VersionBoard) -> None:
        """Post this process's commits on `board`, and catch up before reading when another process posted one."""
        self._board = board

    def behind(self) -> bool:
        """Whether another worker of this host committed a change this process has not caught up with (a read of
        shared memory: no I/O)."""
        return self._board is not None and self._board.latest() > self._version

    def catch_up(self) -> None:
        """Catch up with the store now (waiting for a catch-up already running, at most CATCH_UP_WAIT_SECONDS)."""
        self._sync(blocking=True, timeout=CATCH_UP_WAIT_SECONDS)

    def _announce(self) -> None:
        if self._board is not None and self.store is not None:
            self._board.post(self.store.version())

    def refresh_due(self) -> bool:
        """Whether `refresh` would look at the store now (behind the board, or at most once a second): callers on
        an event loop then run it in a thread, and otherwise read the snapshot without any I/O."""
        return self.store is not None and (self.behind()
                                           or time.monotonic() - self._checked_at >= self.REFRESH_SECONDS)

    def refresh(self, wait: bool = True) -> None:
        """Pick up changes committed by other processes (checked at most once a second; never waiting for another
        thread that is already at it).  Without `wait`, the catching up runs in a thread of its own, so that no
        request pays for rebuilding a layer another process replaced."""
        if wait and self.behind():
            self.catch_up()
            return
        if not self.refresh_due():
            return
        self._checked_at = time.monotonic()
        if wait:
            self._sync()
        elif not self._sync_lock.locked():
            threading.Thread(target=self._sync, name="planmap-refresh", daemon=True).start()

    def start_watching(self) -> None:
        """Catch up with the store in a thread of this process as soon as another process commits (started by the
        app's lifespan, so in each worker after fork, never in the parent that forks them)."""
        if self.store is None or self._watcher is not None:
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._watch, args=(stop,), name="planmap-watch", daemon=True)
        self._watcher = (thread, stop)
        thread.start()

    def stop_watching(self) -> None:
        """Tell the watcher to stop (it does at the end of its current wait, within WATCH_TIMEOUT_SECONDS)."""
        if self._watcher is not None:
            _, stop = self._watcher
            self._watcher = None
            stop.set()

    def _watch(self, stop: threading.Event) -> None:
        seen = self._version
        while not stop.is_set():
            try:
                current = self.store.wait_changed(seen, WATCH_TIMEOUT_SECONDS)
                if current != seen and not stop.is_set():
                    self._sync(blocking=True)
                    seen = current
            except Exception:  # noqa: BLE001 - the watcher must outlive a failing store; requests still refresh
                if stop.is_set():
                    return
                log.exception("cannot follow the store's changes; trying again in %s s", WATCH_RETRY_SECONDS)
                stop.wait(WATCH_RETRY_SECONDS)

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

    @property
    def terrain(self) -> Terrain | None:
        """The elevation model in force now (a planner's upload is picked up by every process at its next ask)."""
        return self.terrain_source.current()

    def engine(self, dataset: Dataset) -> CheckEngine | None:
        """The check engine over exactly what this person may see (internal layers never leak into evidence), on
        the elevation model in force."""
        if self.rules is None:
            return None
        rules, terrain = self.rules, self.terrain
        key = "check_engine" if terrain is None else f"check_engine:{terrain.path}:{id(terrain)}"
        return dataset.derived(key, lambda ds: CheckEngine(ds, rules, terrain))

    # -- changes ------------------------------------------------------------------------------------------------
    def _require_store(self) -> RevisionStore:
        if self.store is None:
            raise Unavailable("this server has no writable store", "Máy chủ không có kho dữ liệu ghi được")
        return self.store

    def current_frame(self, layer_id: str) -> gpd.GeoDataFrame | None:
        layer = self.dataset.get(layer_id)
        return None if layer is None else layer.frame.copy()

    def edit(self, layer_id: str, change: Callable[[Layer | None], Edit], *, author: str, action: str,
             source_file: str | None = None, report: dict | None = None) -> Revision:
        """Compute an Edit from the layer's latest state, commit it as one revision, publish the updated layer.

        Writers of this process take turns (a lock readers never take); across processes (a CLI import while
        the server runs) the store's head check makes a change computed from a stale head be redone.
        """
        store = self._require_store()
        for _ in range(5):
            with self._write_lock:
                self._sync(blocking=True)
                was = self._heads.get(layer_id)
                current = self.dataset.get(layer_id)
                edit = change(current)
                counts = _counts(current, edit)
                count = len(edit.puts) if edit.full else (len(current) if current is not None else 0) \
                    + counts[0] - counts[2]
                self._writing.add(layer_id)
                try:
                    if edit.full:  # a whole new layer: build it first, and store the properties it encoded
                        edit = Edit(puts=edit.puts.sort_index(), full=True)
                        updated = self._apply(layer_id, current, edit)
                        properties = updated.properties_json()
                    else:
                        updated, properties = None, None
                    revision = store.commit_changes(layer_id, edit.puts, edit.deleted, full=edit.full,
                                                    feature_count=count, author=author, action=action,
                                                    source_file=source_file, report=report, counts=counts,
                                                    expected_head=was, properties=properties)
                    if updated is None:
                        updated = self._apply(layer_id, current, edit)
                    elif self.cache is not None:  # prepared once, here; other processes map the same files
                        updated = self._prepared(layer_id, revision.id, updated.meta, lambda built=updated: built)
                    self._publish({layer_id: (was, revision.id, updated)}, None)
                    self._announce()
                except StaleHead:
                    continue
                finally:
                    self._writing.discard(layer_id)
                return revision
        raise Conflict("the layer is being changed by others; try again",
                       "Lớp đang được người khác sửa; hãy thử lại")

    def _apply(self, layer_id: str, current: Layer | None, edit: Edit) -> Layer:
        if current is not None and not edit.full:
            return current.updated(edit.puts, list(edit.deleted))
        base = self.base.get(layer_id)
        meta = base.meta if base else self.base.catalog.get(layer_id) or default_meta(layer_id)
        frame = edit.puts.sort_index()
        return layer_from_frame(meta, frame, base.geometry_type if base and len(frame) else None)

    def replace_layer(self, layer_id: str, frame: gpd.GeoDataFrame, *, author: str, source_file: str,
                      report: dict, append: bool = False) -> Revision:
        """An import: the file's features become the layer (or are appended to it), as one revision."""
        frame = frame.to_crs("OGC:CRS84") if frame.crs is not None else frame.set_crs("OGC:CRS84")
        frame = frame.reset_index(drop=True)
        frame.attrs = {}  # the importer's notes stay in its report, not in every copy pandas makes

        def change(current: Layer | None) -> Edit:
            if append and current is not None:
                return Edit(puts=numbered(frame, next_fid(current)))
            return Edit(puts=numbered(frame, 1), full=True)

        return self.edit(layer_id, change, author=author, action="import", source_file=source_file, report=report)

    def rollback(self, layer_id: str, revision_id: int, author: str) -> Revision:
        """A new revision that brings the layer back to what it was at `revision_id` (a delta of what differs)."""
        store = self._require_store()
        try:
            target = store.revision(revision_id)
        except KeyError:
            raise NotFound(f"revision {revision_id} does not exist", f"Không có phiên bản {revision_id}") from None
        if target.layer != layer_id:
            raise BadRequest(f"revision {revision_id} belongs to layer {target.layer!r}",
                             f"Phiên bản {revision_id} thuộc lớp {target.layer!r}")
        then = self.layer_at(layer_id, revision_id)

        def change(current: Layer | None) -> Edit:
            if current is None:
                return Edit(puts=then.frame, full=True)
            rows = np.minimum(np.searchsorted(current.fids, then.fids), max(len(current.fids) - 1, 0))
            present = (current.fids[rows] == then.fids) if len(current.fids) else np.zeros(len(then), dtype=bool)
            same = np.zeros(len(then), dtype=bool)
            same[present] = [then.feature(a) == current.feature(b)
                             for a, b in zip(np.flatnonzero(present).tolist(), rows[present].tolist(), strict=True)]
            deleted = tuple(int(f) for f in np.setdiff1d(current.fids, then.fids))
            return Edit(puts=then.frame[~same], deleted=deleted)

        return self.edit(layer_id, change, author=author, action="rollback", report={"rolled_back_to": revision_id})

    def history(self, layer_id: str) -> list[Revision]:
        return self.store.history(layer_id) if self.store is not None else []

    def set_internal(self, layer_id: str, internal: bool, author: str) -> None:
        self._require_store().set_internal(layer_id, internal, author)
        self._sync(blocking=True)
        self._announce()


def _counts(current: Layer | None, edit: Edit) -> tuple[int, int, int]:
    """(added, changed, removed): the features the edit adds, replaces and removes — counted from the edit itself,
    so they are true whatever the layer's size.  An import that replaces the layer removes all it had."""
    if current is None:
        return (len(edit.puts) if edit.puts is not None else 0), 0, 0
    if edit.full:
        return len(edit.puts), 0, len(current)
    puts = edit.puts.index.to_numpy(dtype="int64") if edit.puts is not None else np.empty(0, dtype="int64")
    existing = np.isin(puts, current.fids)
    removed = int(np.isin(np.asarray(edit.deleted, dtype="int64"), current.fids).sum())
    return int((~existing).sum()), int(existing.sum()), removed
