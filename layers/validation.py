"""What a written feature may hold, checked against its layer before anything is written.

Edits (layers/features.py), the proposals register (layers/register.py) and imports (layers/importing/rules.py)
apply these rules, so that whatever is stored can be served, exported in every format and printed:

* **geometry** — of the layer's family (point, line or polygon), never a GeometryCollection.  A single geometry
  goes into a Multi layer as a one-part multi, and a one-part multi into a single-type layer as its part (nothing
  is lost either way, and imports do the same); a multi of several parts cannot go into a single-type layer.  A
  layer whose features are of several families (a new layer imported from a mixed file) takes any of them; the
  proposals register says itself which types it takes (points and areas).
* **properties** — only the layer's own fields; integers are whole numbers (1.0 is 1), numbers are finite numbers,
  booleans are true/false, dates (the catalog's `temporal_fields` and date columns) are ISO dates YYYY-MM-DD, text
  is text without control characters and at most MAX_TEXT_CHARS long (but the register's generated report);
  the catalog's `required` fields must have a value.  Text is stored in Unicode NFC, as imports store it.

A refusal is a 400 naming the field, in English and Vietnamese, with the field in the problem's `field` member.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import shapely

from geo.errors import BadRequest
from layers.catalog import CollectionMeta

if TYPE_CHECKING:
    from layers.dataset import Dataset, Layer
    from layers.workspace import Workspace

# The longest text a field takes.  Long enough for real notes (the longest text in the shipped data is 361
# characters), short enough for every export format: Excel opens CSV cells of at most 32,767 characters; a
# Shapefile keeps text in dBase fields of 254 bytes, at most 255 fields — a 4,000-character Vietnamese text (≤ 3
# bytes a character in UTF-8) continues over at most 48 of them; AutoCAD keeps at most 16 KB of XDATA per entity
# (4,000 characters ≤ 12 KB); GeoPackage, GeoJSON, FlatGeobuf and KML have no practical limit.
MAX_TEXT_CHARS = 4_000
# The largest integer every format and client keeps exactly (JSON numbers are doubles in browsers and QGIS).
MAX_INTEGER = 2**53 - 1

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "any")  # "any": a field of a new layer
FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
          "Polygon": "polygon", "MultiPolygon": "polygon"}
_MULTI = {"point": shapely.MultiPoint, "line": shapely.MultiLineString, "polygon": shapely.MultiPolygon}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# C0 controls but tab, line feed and carriage return, and DEL: XML (KML) cannot hold them, dBase cuts at NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EN_TYPE = {"integer": "a whole number", "number": "a number", "boolean": "true or false",
            "date": "a date YYYY-MM-DD", "string": "text", "any": "text, a number or true/false"}
_VI_TYPE = {"integer": "một số nguyên", "number": "một số", "boolean": "true hoặc false",
            "date": "một ngày dạng YYYY-MM-DD", "string": "văn bản", "any": "văn bản, số hoặc true/false"}
_VI_GEOMETRY = {"Point": "điểm", "MultiPoint": "đa điểm", "LineString": "đường", "MultiLineString": "đa đường",
                "Polygon": "vùng", "MultiPolygon": "đa vùng", "GeometryCollection": "tập hợp hình"}


class InvalidValue(BadRequest):
    """A written value its field cannot take (400), naming the field."""

    code = "InvalidFeature"

    def __init__(self, field: str, en: str, vi: str) -> None:
        super().__init__(f"{field}: {en}", f"{field}: {vi}", details={"field": field})
        self.field = field
        self.reason_en, self.reason_vi = en, vi


@dataclass(frozen=True)
class FieldRules:
    """The rules of one layer's written features."""

    layer_id: str
    types: dict[str, str] | None  # field → one of FIELD_TYPES; None: a new layer, any fields
    required: tuple[str, ...] = ()
    long_text: frozenset[str] = frozenset()  # generated text the limit does not bound (the register's report)
    geometry_types: tuple[str, ...] | None = None  # None: any type (never a GeometryCollection)

    def type_of(self, name: str) -> str:
        return "any" if self.types is None else self.types.get(name, "any")


def rules_for(layer_id: str, layer: Layer | None, meta: CollectionMeta | None = None) -> FieldRules:
    """The rules of a layer; for one that does not exist yet (`layer` None), what the catalog's `meta` says."""
    meta = layer.meta if layer is not None else meta
    types = field_types(layer, meta) if layer is not None and layer.property_columns else None
    return FieldRules(layer_id, types, meta.required if meta else (), geometry_types=_layer_geometry_types(layer))


FIELD_RULES = "field_rules"  # the key of a layer's rules in its cache (layers.dataset carries it across edits)


def layer_rules(dataset: Dataset, layer_id: str) -> FieldRules:
    """The rules of `layer_id` in this dataset snapshot: computed once per layer, and kept by the layers an edit
    derives from it (an edit changes rows, never the fields or their types)."""
    layer = dataset.get(layer_id)
    if layer is None:
        return dataset.derived(("field_rules", layer_id),
                               lambda ds: rules_for(layer_id, None, ds.catalog.get(layer_id)))
    if FIELD_RULES not in layer.cache:
        layer.cache[FIELD_RULES] = rules_for(layer_id, layer, dataset.catalog.get(layer_id))
    return layer.cache[FIELD_RULES]


def field_types(layer: Layer, meta: CollectionMeta | None = None) -> dict[str, str]:
    """Each field's type: the column's dtype, the Python type of its values when the dtype is `object` (a column
    with missing values read back from the store), "date" for the catalog's temporal fields and date columns."""
    frame = layer.frame
    temporal = set((meta or layer.meta).temporal_fields)
    out = dict(layer.queryables())
    for name in out:
        column = frame[name]
        if name in temporal or column.dtype.kind == "M":
            out[name] = "date"
        elif column.dtype == object:
            out[name] = _type_of_values(column.dropna().to_numpy())
    return out


_INFERRED = {"empty": "any", "boolean": "boolean", "integer": "integer", "floating": "number",
             "mixed-integer-float": "number"}


def _type_of_values(values) -> str:
    """The field type of an object column's values (pandas' C inference: one pass, no Python loop)."""
    return _INFERRED.get(pd.api.types.infer_dtype(values, skipna=True), "string")


def _layer_geometry_types(layer: Layer | None) -> tuple[str, ...] | None:
    """The layer's geometry type; for a layer of several types, those of its family, or None (any) when mixed."""
    if layer is None or len(layer) == 0:
        return None
    if layer.geometry_type in FAMILY:
        return (layer.geometry_type,)
    present = {g.geom_type for g in layer.frame.geometry.to_numpy() if g is not None}
    families = {FAMILY.get(t) for t in present}
    if len(families) != 1 or None in families:
        return None
    family = families.pop()
    return tuple(t for t, f in FAMILY.items() if f == family)


# ---------------------------------------------------------------------------------------------------- geometry

def fit_geometry(rules: FieldRules, geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry as the layer stores it (single ↔ one-part multi), or a 400 saying why it does not fit."""
    gtype = geometry.geom_type
    if gtype not in FAMILY:
        raise InvalidValue("geometry", f"a {gtype} cannot be stored; send a point, line or polygon (or multi-part)",
                           f"không lưu được {_VI_GEOMETRY.get(gtype, gtype)}; hãy gửi điểm, đường hoặc vùng")
    allowed = rules.geometry_types
    if allowed is None or gtype in allowed:
        return geometry
    family = FAMILY[gtype]
    same = [t for t in allowed if FAMILY[t] == family]
    for target in same:
        if target.startswith("Multi") and not gtype.startswith("Multi"):
            return _MULTI[family]([geometry])
        if not target.startswith("Multi") and gtype.startswith("Multi") and len(geometry.geoms) == 1:
            return geometry.geoms[0]
    layer_types = ", ".join(allowed)
    vi_types = ", ".join(_VI_GEOMETRY[t] for t in allowed)
    if same:
        parts = len(geometry.geoms)
        raise InvalidValue("geometry", f"a {gtype} of {parts} parts cannot go into layer {rules.layer_id!r} of "
                           f"{layer_types}; send one geometry per feature",
                           f"{_VI_GEOMETRY[gtype]} gồm {parts} phần không đưa được vào lớp {rules.layer_id!r} kiểu "
                           f"{vi_types}; mỗi đối tượng một hình")
    raise InvalidValue("geometry", f"a {gtype} cannot go into layer {rules.layer_id!r} of {layer_types}",
                       f"kiểu {_VI_GEOMETRY[gtype]} không phù hợp với lớp {rules.layer_id!r} kiểu {vi_types}")


# ---------------------------------------------------------------------------------------------------- values

def _refuse(name: str, jtype: str, value: object) -> InvalidValue:
    shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:40] + "…")
    return InvalidValue(name, f"expected {_EN_TYPE[jtype]}, got {shown}", f"cần {_VI_TYPE[jtype]}, nhận được {shown}")


def check_value(rules: FieldRules, name: str, value: object) -> object:
    """The value as stored (NFC text, 1.0 → 1 in an integer field), or InvalidValue naming the field."""
    if value is None:
        return None
    jtype = rules.type_of(name)
    if jtype == "any":
        if isinstance(value, str):
            return check_text(rules, name, value)
        if isinstance(value, bool) or (isinstance(value, int) and abs(value) <= MAX_INTEGER):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        raise _refuse(name, jtype, value)
    if jtype == "string":
        if not isinstance(value, str):
            raise _refuse(name, jtype, value)
        return check_text(rules, name, value)
    if jtype == "boolean":
        if not isinstance(value, bool):
            raise _refuse(name, jtype, value)
        return value
    if jtype == "date":
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise _refuse(name, jtype, value)
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise _refuse(name, jtype, value) from None
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _refuse(name, jtype, value)
    if jtype == "integer":
        if not float(value).is_integer():
            raise _refuse(name, jtype, value)
        value = int(value)
    if abs(value) > MAX_INTEGER:
        raise InvalidValue(name, f"{value} is beyond ±{MAX_INTEGER} (what every format keeps exactly)",
                           f"{value} vượt quá ±{MAX_INTEGER}")
    return value


def check_text(rules: FieldRules, name: str, text: str) -> str:
    """Text as stored: NFC, no control characters, at most MAX_TEXT_CHARS (unless one of `rules.long_text`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(name, "the text is not valid Unicode (a lone surrogate)",
                           "văn bản không phải Unicode hợp lệ") from None
    text = unicodedata.normalize("NFC", text)
    found = _CONTROL.search(text)
    if found:
        raise InvalidValue(name, f"the text holds a control character (U+{ord(found.group()):04X}) that files "
                           "cannot carry", f"văn bản chứa ký tự điều khiển (U+{ord(found.group()):04X}) không "
                           "ghi được ra tệp")
    if len(text) > MAX_TEXT_CHARS and name not in rules.long_text:
        raise InvalidValue(name, f"the text is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,} are "
                           "taken (so that every export format holds it)",
                           f"văn bản dài {len(text):,} ký tự; tối đa {MAX_TEXT_CHARS:,} ký tự (để mọi định dạng "
                           "xuất giữ được)")
    return text


def is_empty(value: object) -> bool:
    """No value: None, NaN, or text with nothing but spaces."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def check_required(rules: FieldRules, properties: dict) -> None:
    for name in rules.required:
        if is_empty(properties.get(name)):
            raise InvalidValue(name, f"layer {rules.layer_id!r} needs a value in {name!r} (its symbols and checks "
                               "depend on it)", f"lớp {rules.layer_id!r} bắt buộc có giá trị {name!r} (ký hiệu bản "
                               "đồ và kiểm tra dựa vào trường này)")


def check_properties(rules: FieldRules, properties: object) -> dict:
    """The properties as stored, or InvalidValue naming the first field that is wrong."""
    if not isinstance(properties, dict):
        raise BadRequest("properties must be an object", "properties phải là một đối tượng")
    if rules.types is not None:
        unknown = [k for k in properties if k not in rules.types]
        if unknown:
            raise InvalidValue(unknown[0], f"layer {rules.layer_id!r} has no field {unknown[0]!r}; its fields: "
                               f"{', '.join(rules.types)}", f"lớp {rules.layer_id!r} không có trường {unknown[0]!r}; "
                               f"các trường: {', '.join(rules.types)}")
    out = {str(k): check_value(rules, str(k), v) for k, v in properties.items()}
    check_required(rules, out)
    return out


def check_feature(rules: FieldRules, properties: object, geometry: shapely.Geometry
                  ) -> tuple[dict, shapely.Geometry]:
    """A written feature (properties, geometry in CRS84) as its layer stores it; a 400 naming the field if not."""
    return check_properties(rules, properties), fit_geometry(rules, geometry)


def edited_source() -> str:
    """The `source` of a feature edited without one: who edited it is in the revision, which only planners see."""
    return f"planmap: edited on {dt.date.today().isoformat()}"


def check_write(ws: Workspace, layer_id: str, properties: object, geometry: shapely.Geometry,
                sees_internal: bool = True) -> tuple[dict, shapely.Geometry]:
    """A Part 4 create or replace checked against the current layer, before any lock is taken.

    A layer the editor may not see is left to the caller's 404.  A feature sent without `source` gets
    `edited_source()`, so no user name is written into the data that everyone reads."""
    dataset = ws.view_for(sees_internal)
    if dataset.get(layer_id) is None:
        return properties, geometry  # type: ignore[return-value]
    rules = layer_rules(dataset, layer_id)
    props, geometry = check_feature(rules, properties, geometry)
    if rules.types is not None and "source" in rules.types:
        props.setdefault("source", edited_source())
    return props, geometry
