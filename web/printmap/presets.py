"""The named maps (presets) of web/print_styles.json, and where the style files are.

Presets are data so a planner can add a map without touching code; a missing or broken file gives no presets
rather than a service that cannot start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent
STYLES = WEB / "styles.json"
PRINT_STYLES = WEB / "print_styles.json"
LABELS = WEB / "labels.json"


@dataclass(frozen=True)
class MapPreset:
    """A named map: title, the layers it draws (drawing order), its default extent and paper."""

    id: str
    title: dict[str, str]
    subtitle: dict[str, str]
    base: tuple[str, ...]  # always drawn (when the dataset has them)
    collections: tuple[str, ...]  # thematic layers drawn unless the caller chooses others
    extent: dict = field(default_factory=dict)  # {"layer", "field", "value"}: features whose bounds frame the map
    size: str = "A3"
    orientation: str = "landscape"
    stats: dict[str, str] = field(default_factory=dict)  # layer → area field summed in the legend
    filters: dict[str, dict[str, list]] = field(default_factory=dict)  # layer → {field: [values drawn]}


def read_json(path: Path) -> dict:
    """The file's object, or {} when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_presets(path: Path = PRINT_STYLES) -> dict[str, MapPreset]:
    out = {}
    for pid, p in (read_json(path).get("presets") or {}).items():
        out[pid] = MapPreset(id=pid, title=dict(p["title"]), subtitle=dict(p.get("subtitle") or {}),
                             base=tuple(p.get("base") or ()), collections=tuple(p.get("collections") or ()),
                             extent=dict(p.get("extent") or {}), size=p.get("size", "A3"),
                             orientation=p.get("orientation", "landscape"), stats=dict(p.get("stats") or {}),
                             filters=dict(p.get("filters") or {}))
    return out


PRESETS: dict[str, MapPreset] = load_presets()
