"""The layers as they were at the end of a day: each at its last store revision committed by then.

A planner's edits and imports are the layers' history (the shipped data has no dated history except the
administrative layers' `valid_from`/`valid_to`).  The dataset of a day takes every layer at its last revision
committed on or before the end of that day in the province's time (UTC+7), or the shipped layer when none was;
which features are in force on the day is then each layer's `valid_on(day)`, left to the caller.  A layer built
from the store is kept per (layer, revision) in a small bounded cache: the same past revision serves every later
question about the days it covers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

from layers.dataset import Dataset, Layer
from layers.workspace import Workspace

# The department's days are Vietnam's (UTC+7, no daylight saving): an edit at 23:30 local time on 31/12 belongs
# to the year it was made in, although it is 16:30 UTC.
PROVINCE_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
# Past layers rebuilt from the store kept in memory: a report compares a handful of days, each layer of those
# days one revision; more than this are rebuilt when asked again (each is a copy of a layer of the data).
CACHED_PAST_LAYERS = 32


@dataclass(frozen=True)
class DayDataset:
    """The layers of one day and the store revision each is at (None: the shipped layer)."""

    day: dt.date
    dataset: Dataset
    revisions: dict[str, int | None]


def end_of_day_utc(day: dt.date) -> str:
    """The last instant of `day` in the province's time, as the store writes its commit times (ISO, UTC, 'Z')."""
    local = dt.datetime.combine(day, dt.time(23, 59, 59), PROVINCE_TZ)
    return local.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def province_today() -> dt.date:
    """Today in the province (a request at 06:00 UTC on 31/12 asks about 31/12, and so does one at 18:00)."""
    return dt.datetime.now(PROVINCE_TZ).date()


def local_day(created: str) -> dt.date:
    """The province's day of a store commit time (ISO, UTC)."""
    return dt.datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(PROVINCE_TZ).date()


class History:
    """Past datasets of one workspace, with the layers rebuilt from the store cached per (layer, revision)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._layers: OrderedDict[tuple[str, int], Layer] = OrderedDict()
        self._times: dict[int, str] = {}  # revision → commit time (never changes once committed)
        self._lock = threading.Lock()

    def on(self, day: dt.date, sees_internal: bool = False) -> DayDataset:
        """The layers the caller may see, as they were at the end of `day`."""
        ws = self.workspace
        current = ws.snapshot(sees_internal)
        store = ws.store
        if store is None:
            return DayDataset(day, current, {k: None for k in current.layers})
        cutoff = end_of_day_utc(day)
        heads = store.heads()
        layers: dict[str, Layer] = {}
        revisions: dict[str, int | None] = {}
        for layer_id in current.layers:  # a layer hidden from this caller is not part of their day either
            head = heads.get(layer_id)
            revision = None if head is None else self._last_by(layer_id, cutoff)
            if revision is None:
                layer = ws.base.get(layer_id)  # none by then: the shipped layer (absent if there is none)
            elif revision == head and current.get(layer_id).cache.get("revision") == head:
                layer = current.get(layer_id)
            else:
                layer = self._layer(layer_id, revision)
            if layer is not None:
                layers[layer_id] = layer
                revisions[layer_id] = revision
        return DayDataset(day, Dataset(layers, current.source, current.internal, catalog=current.catalog), revisions)

    def _last_by(self, layer_id: str, cutoff: str) -> int | None:
        """The layer's last revision committed at or before `cutoff` (None when there is none)."""
        store = self.workspace.store
        for rev in store.revision_ids(layer_id):  # newest first
            created = self._times.get(rev)
            if created is None:
                created = self._times[rev] = store.revision(rev).created
            if created <= cutoff:
                return rev
        return None

    def _layer(self, layer_id: str, revision: int) -> Layer:
        key = (layer_id, revision)
        with self._lock:
            found = self._layers.get(key)
            if found is not None:
                self._layers.move_to_end(key)
                return found
        layer = self.workspace.layer_at(layer_id, revision)
        if layer is not self.workspace.base.get(layer_id):
            layer.cache["revision"] = revision  # what indicators record as their input (layers/inputs.py)
        with self._lock:
            self._layers[key] = layer
            while len(self._layers) > CACHED_PAST_LAYERS:
                self._layers.popitem(last=False)
        return layer


def history_of(workspace: Workspace) -> History:
    """The workspace's History (one per workspace, made on first use)."""
    found = getattr(workspace, "_history", None)
    if found is None:
        found = workspace._history = History(workspace)
    return found


def dataset_on(source: Workspace | Dataset, day: dt.date, sees_internal: bool = False) -> DayDataset:
    """The layers as they were at the end of `day`: from the store's revisions for a Workspace; a Dataset has no
    history, it is taken as it is (its features' `valid_from`/`valid_to` still apply)."""
    if isinstance(source, Workspace):
        return history_of(source).on(day, sees_internal)
    return DayDataset(day, source, {k: source.get(k).cache.get("revision") for k in source.layers})
