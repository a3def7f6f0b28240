"""The catalog: what each plan layer is, in Vietnamese and English, where it came from and under which licence.

Read from `data/catalog.yaml`, so a planner can retitle or redescribe a layer without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from geo.errors import PlanmapError

GROUPS: dict[str, dict[str, str]] = {
    "base": {"vi": "Nền", "en": "Base"},
    "industry": {"vi": "Công nghiệp", "en": "Industry"},
    "trade": {"vi": "Thương mại", "en": "Trade"},
    "energy": {"vi": "Năng lượng", "en": "Energy"},
    "minerals": {"vi": "Khoáng sản", "en": "Minerals"},
    "other": {"vi": "Khác", "en": "Other"},
}


@dataclass(frozen=True)
class CollectionMeta:
    """Descriptive metadata of one collection (layer)."""

    id: str
    title: dict[str, str]
    description: dict[str, str]
    group: str = "other"
    license: str = ""
    attribution: str = ""
    provenance: dict[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    temporal_fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # fields every written feature must fill (layers/validation.py)

    def text(self, name: str, lang: str = "vi") -> str:
        """A bilingual field in the wanted language, falling back to the other one."""
        value = getattr(self, name)
        return value.get(lang) or value.get("vi") or value.get("en") or ""


def default_meta(layer_id: str) -> CollectionMeta:
    """Metadata for a layer the catalog does not describe (e.g. a planner's own GeoPackage)."""
    return CollectionMeta(id=layer_id, title={"vi": layer_id, "en": layer_id},
                          description={"vi": f"Lớp {layer_id}", "en": f"Layer {layer_id}"})


def _names(entry: dict, key: str) -> tuple[str, ...]:
    """A list of field names in a catalog entry."""
    value = entry.get(key) or ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"catalog entry {entry.get('id')!r}: {key} must be a list of names")
    return tuple(value)


class CatalogError(PlanmapError):
    """The catalog file is not usable."""


def load_catalog(path: Path) -> dict[str, CollectionMeta]:
    """Collections described in a catalog YAML file, in the file's order."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc}") from exc
    out: dict[str, CollectionMeta] = {}
    for entry in doc.get("collections", []):
        try:
            meta = CollectionMeta(
                id=str(entry["id"]),
                title=dict(entry["title"]),
                description=dict(entry.get("description") or {}),
                group=str(entry.get("group", "other")),
                license=str(entry.get("license", "")),
                attribution=str(entry.get("attribution", "")),
                provenance=dict(entry.get("provenance") or {}),
                keywords=tuple(entry.get("keywords") or ()),
                temporal_fields=tuple(entry.get("temporal_fields") or ()),
                required=_names(entry, "required"),
            )
        except (KeyError, TypeError) as exc:
            raise CatalogError(f"catalog entry {entry!r} lacks {exc}") from exc
        if meta.group not in GROUPS:
            raise CatalogError(f"collection {meta.id}: unknown group {meta.group!r}; use one of {list(GROUPS)}")
        out[meta.id] = meta
    return out
