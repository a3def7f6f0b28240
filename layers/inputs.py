"""What an analysis rested on, recorded in its output so that it can be reproduced and audited.

Each layer is named with its store revision (None: the shipped dataset as loaded) and a fingerprint of its
features (ids and extents), so two results computed from the same data say so even without a store; the rules
in force are named with a fingerprint of their values.  Parameters are recorded as the analysis understood them
(after defaults), not as they were typed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import metadata

import orjson

from layers.dataset import Dataset, Layer
from layers.rules import Rule

FINGERPRINT_BYTES = 8  # 16 hex digits: enough to tell two versions of a layer apart, short enough to read


def layer_fingerprint(layer: Layer) -> str:
    """A short hash of the layer's feature ids and extents (computed once per layer revision)."""
    if "fingerprint" not in layer.cache:
        digest = hashlib.blake2b(digest_size=FINGERPRINT_BYTES)
        digest.update(layer.fids.tobytes())
        digest.update(layer.bounds_array.tobytes())
        layer.cache["fingerprint"] = digest.hexdigest()
    return layer.cache["fingerprint"]


def layer_input(layer: Layer, day: dt.date) -> dict:
    """How a result names one layer it used."""
    return {"id": layer.id, "revision": layer.cache.get("revision"), "fingerprint": layer_fingerprint(layer),
            "features": len(layer), "in_force_on_day": int(layer.valid_on(day).sum()),
            "accuracy": layer.accuracy_mix()}


def rules_input(rules: list[Rule]) -> dict:
    """The rules an analysis applied: their ids and one fingerprint of all their values."""
    dumped = [r.model_dump(mode="json", by_alias=True) for r in rules]
    digest = hashlib.blake2b(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS), digest_size=FINGERPRINT_BYTES)
    return {"ids": [r.id for r in rules], "fingerprint": digest.hexdigest()}


def inputs_record(dataset: Dataset, layer_ids: list[str], day: dt.date, parameters: dict,
                  rules: list[Rule] | None = None, rasters: list[dict] | None = None) -> dict:
    """The `inputs` block of an analysis: when and with what it was computed (layers absent from the dataset are
    listed as missing, never silently left out)."""
    layers = []
    for layer_id in dict.fromkeys(layer_ids):
        layer = dataset.get(layer_id)
        layers.append(layer_input(layer, day) if layer is not None else {"id": layer_id, "missing": True})
    out = {"as_of": day.isoformat(), "computed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "planmap_version": _version(), "dataset": dataset.source.name if dataset.source else None,
           "layers": layers, "parameters": parameters}
    if rules is not None:
        out["rules"] = rules_input(rules)
    if rasters:
        out["rasters"] = rasters
    return out


def _version() -> str:
    try:
        return metadata.version("planmap")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"
