"""The web map's symbols for GIS clients: web/styles.json rendered as SLD 1.1 / SE 1.1 and as QGIS QML.

One source of truth: the symbols the web map draws (web/styles.json: a base style per layer, a class per value of
its `by` field — status, voltage, mineral area type — and plan phases that change the line weight) and the
bilingual value labels of web/labels.json.  `layer_style` resolves them the way planmap-layers.js does (Leaflet's
defaults, the geometry's fallback, the base, the class, the phase), and the writers below only spell that result
in each format: a categorised rule per value, titled in Vietnamese (English as the abstract, or `lang=en`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WEB = Path(__file__).resolve().parent
STYLES = json.loads((WEB / "styles.json").read_text(encoding="utf-8"))
LABELS = json.loads((WEB / "labels.json").read_text(encoding="utf-8"))

STYLE_ID = "planmap"  # the one style planmap has: the web map's symbols
STYLE_TITLE = {"vi": "Ký hiệu bản đồ planmap", "en": "planmap web map symbols"}
SLD11_MEDIA = "application/vnd.ogc.sld+xml;version=1.1"
QML_MEDIA = "application/vnd.qgis.qml"
# the QGIS release whose files these are written as (Debian 12's, which the tests open them with); newer QGIS
# reads them too
QGIS_VERSION = "3.22.16-Białowieża"

# Leaflet's own path defaults (L.Path and L.CircleMarker options), under every style of the web map
LEAFLET_DEFAULTS = {"stroke": True, "color": "#3388ff", "weight": 3, "opacity": 1.0, "fillOpacity": 0.2,
                    "dashArray": None}
LEAFLET_CIRCLE_RADIUS = 10  # px, L.CircleMarker's default radius
KINDS = ("point", "line", "polygon")
# what a plan phase may change of its class's symbol: the line weight (QML carries it as a data-defined width)
PHASE_OPTIONS = {"weight"}
# planmap-layers.js: a geometry type naming a point is drawn as points, a line as lines, anything else as areas
_UNIT = re.compile(r"\(([^()]+)\)\s*$")  # "Điện áp (kV)" → the unit shown after a bare number: "500 kV"

NS = {"sld": "http://www.opengis.net/sld", "se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc",
      "xlink": "http://www.w3.org/1999/xlink", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
for _prefix, _uri in NS.items():
    ET.register_namespace("" if _prefix == "sld" else _prefix, _uri)
SLD_SCHEMA = "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"


def geometry_kind(geometry_type: str) -> str:
    """point, line or polygon, as the web map decides from a collection's geometry type."""
    name = (geometry_type or "").lower()
    return "point" if "point" in name else "line" if "line" in name else "polygon"


@dataclass(frozen=True)
class Symbol:
    """One resolved symbol: what Leaflet draws with a style's options (colours as #rrggbb, sizes in pixels)."""

    kind: str
    stroke: str | None  # None: no outline
    stroke_opacity: float
    width: float
    dash: tuple[float, ...]
    fill: str | None  # None: not filled
    fill_opacity: float
    radius: float

    @classmethod
    def of(cls, kind: str, options: dict) -> Symbol:
        o = {**LEAFLET_DEFAULTS, **options}
        dash = tuple(float(v) for v in re.split(r"[\s,]+", str(o.get("dashArray") or "").strip()) if v)
        filled = o.get("fill", kind != "line") is not False  # Leaflet fills areas and circles, never lines
        return cls(kind=kind, stroke=o["color"] if o["stroke"] is not False else None,
                   stroke_opacity=float(o["opacity"]), width=float(o["weight"]), dash=dash,
                   fill=o.get("fillColor", o["color"]) if filled else None, fill_opacity=float(o["fillOpacity"]),
                   radius=float(o.get("radius", LEAFLET_CIRCLE_RADIUS)))


@dataclass(frozen=True)
class Category:
    """A value of the classifying field, its bilingual label and symbol."""

    value: str
    label: dict[str, str]
    symbol: Symbol


@dataclass(frozen=True)
class Phase:
    """A plan phase: a value of a second field, its label and the line weight it gives every class."""

    value: str
    label: dict[str, str]
    width: float


@dataclass(frozen=True)
class LayerStyle:
    """The web map's style of one collection, resolved."""

    collection: str
    title: dict[str, str]  # the collection's title
    kind: str
    field: str | None  # the classifying field (None: one symbol for every feature)
    field_label: dict[str, str]
    categories: tuple[Category, ...]
    other: Symbol  # values without a class of their own (and every feature when `field` is None)
    phase_field: str | None = None
    phase_label: dict[str, str] | None = None
    phases: tuple[Phase, ...] = ()

    def symbols(self) -> list[Symbol]:
        return [c.symbol for c in self.categories] + [self.other]


def field_label(field: str) -> dict[str, str]:
    found = LABELS["fields"].get(field) or {}
    return {"vi": found.get("vi") or field, "en": found.get("en") or found.get("vi") or field}


def value_label(field: str, value: str) -> dict[str, str]:
    """A value's label as the web map shows it; a bare number gets its field's unit (500 → "500 kV")."""
    found = (LABELS["values"].get(field) or {}).get(value)
    if found:
        return {"vi": found["vi"], "en": found.get("en") or found["vi"]}
    unit = _UNIT.search(field_label(field)["en"])
    text = f"{value} {unit.group(1)}" if unit and re.fullmatch(r"-?[0-9.]+", value) else value
    return {"vi": text, "en": text}


OTHER_LABEL = {"vi": LABELS["ui"]["vi"]["other"], "en": LABELS["ui"]["en"]["other"]}


@lru_cache(maxsize=256)
def layer_style(collection: str, geometry_type: str, title_vi: str, title_en: str) -> LayerStyle:
    """The web map's style of a collection (a collection styles.json does not list gets its geometry's fallback)."""
    kind = geometry_kind(geometry_type)
    spec = STYLES["layers"].get(collection) or {}
    base = {**STYLES["fallback"][kind], **(spec.get("base") or {})}
    field = spec.get("by") if spec.get("classes") else None
    categories = tuple(Category(str(value), value_label(field, str(value)), Symbol.of(kind, {**base, **override}))
                       for value, override in (spec.get("classes") or {}).items()) if field else ()
    phase = spec.get("phase") or {}
    phases = [Phase(str(value), value_label(phase["field"], str(value)), float(override["weight"]))
              for value, override in (phase.get("classes") or {}).items()]
    return LayerStyle(collection=collection, title={"vi": title_vi, "en": title_en}, kind=kind, field=field,
                      field_label=field_label(field) if field else {"vi": "", "en": ""}, categories=categories,
                      other=Symbol.of(kind, base), phase_field=phase.get("field") if phases else None,
                      phase_label=field_label(phase["field"]) if phases else None, phases=tuple(phases))


def check_styles(styles: dict) -> None:
    """Refuse, when planmap starts, a styles.json these formats cannot carry: a plan phase may change the line
    weight only (QML carries it as a data-defined width)."""
    for collection, spec in styles["layers"].items():
        for value, override in ((spec.get("phase") or {}).get("classes") or {}).items():
            if set(override) != PHASE_OPTIONS:
                raise ValueError(f"web/styles.json: {collection}, phase {value}: a phase sets {sorted(PHASE_OPTIONS)} "
                                 f"and nothing else, not {sorted(override)}")


check_styles(STYLES)


def _other_lang(lang: str) -> str:
    return "en" if lang == "vi" else "vi"


# ------------------------------------------------------------------------------------------------ SLD 1.1 / SE 1.1

def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _sub(parent: ET.Element, prefix: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, _q(prefix, tag), attrs)
    if text is not None:
        node.text = text
    return node


def _number(value: float) -> str:
    return f"{value:g}"


def _description(parent: ET.Element, title: dict[str, str], lang: str) -> None:
    """se:Description: the title in `lang`, the other language as the abstract."""
    node = _sub(parent, "se", "Description")
    _sub(node, "se", "Title", title[lang])
    if title[_other_lang(lang)] != title[lang]:
        _sub(node, "se", "Abstract", title[_other_lang(lang)])


def _svg(parent: ET.Element, name: str, value: str) -> None:
    _sub(parent, "se", "SvgParameter", value, name=name)


def _se_fill(parent: ET.Element, sym: Symbol) -> None:
    if sym.fill is not None:
        fill = _sub(parent, "se", "Fill")
        _svg(fill, "fill", sym.fill)
        _svg(fill, "fill-opacity", _number(sym.fill_opacity))


def _se_stroke(parent: ET.Element, sym: Symbol, width: float | None = None) -> None:
    if sym.stroke is not None:
        stroke = _sub(parent, "se", "Stroke")
        _svg(stroke, "stroke", sym.stroke)
        _svg(stroke, "stroke-opacity", _number(sym.stroke_opacity))
        _svg(stroke, "stroke-width", _number(sym.width if width is None else width))
        _svg(stroke, "stroke-linejoin", "round")  # Leaflet's lineJoin and lineCap
        _svg(stroke, "stroke-linecap", "round")
        if sym.dash:
            _svg(stroke, "stroke-dasharray", " ".join(_number(v) for v in sym.dash))


def _se_symbolizer(rule: ET.Element, sym: Symbol, width: float | None = None) -> None:
    if sym.kind == "point":
        graphic = _sub(_sub(rule, "se", "PointSymbolizer"), "se", "Graphic")
        mark = _sub(graphic, "se", "Mark")
        _sub(mark, "se", "WellKnownName", "circle")
        _se_fill(mark, sym)
        _se_stroke(mark, sym, width)
        _sub(graphic, "se", "Size", _number(2 * sym.radius))
    elif sym.kind == "line":
        _se_stroke(_sub(rule, "se", "LineSymbolizer"), sym, width)
    else:
        polygon = _sub(rule, "se", "PolygonSymbolizer")
        _se_fill(polygon, sym)
        _se_stroke(polygon, sym, width)


def _equal(parent: ET.Element, field: str, value: str) -> None:
    node = _sub(parent, "ogc", "PropertyIsEqualTo")
    _sub(node, "ogc", "PropertyName", field)
    _sub(node, "ogc", "Literal", value)


def _none_of(parent: ET.Element, field: str, values: list[str]) -> None:
    """A feature whose value has no class of its own: no value, or none of `values` (an explicit filter, not
    se:ElseFilter, which QGIS's SLD reader takes as "every feature")."""
    either = _sub(parent, "ogc", "Or")
    _sub(_sub(either, "ogc", "PropertyIsNull"), "ogc", "PropertyName", field)
    node = _sub(either, "ogc", "Not")
    if len(values) > 1:
        node = _sub(node, "ogc", "Or")
    for value in values:
        _equal(node, field, value)


def _rules(style: LayerStyle):
    """(name, title, conditions, symbol, width) of each rule: a rule per class and one for the other values; with
    plan phases, each class per phase (with the phase's weight) and for a phase without a class of its own.  SE
    rules do not stop at the first match: the rules never overlap, and every feature matches one."""
    if style.field is None:
        return [("all", style.title, [], style.other, None)]
    out = []
    for c in style.categories:
        cond = [(style.field, "=", c.value)]
        for phase in style.phases:
            label = {k: f"{c.label[k]} — {style.phase_label[k]} {phase.label[k]}" for k in ("vi", "en")}
            out.append((f"{c.value} {phase.value}", label, [*cond, (style.phase_field, "=", phase.value)],
                        c.symbol, phase.width))
        if style.phases:
            cond = [*cond, (style.phase_field, "none", [p.value for p in style.phases])]
        out.append((c.value, c.label, cond, c.symbol, None))
    out.append(("other", OTHER_LABEL, [(style.field, "none", [c.value for c in style.categories])], style.other,
                None))
    return out


def _filter(rule: ET.Element, conditions: list) -> None:
    if not conditions:
        return
    node = _sub(rule, "ogc", "Filter")
    if len(conditions) > 1:
        node = _sub(node, "ogc", "And")
    for field, op, value in conditions:
        if op == "=":
            _equal(node, field, value)
        else:
            _none_of(node, field, value)


def _named_layer(root: ET.Element, style: LayerStyle, lang: str) -> None:
    layer = _sub(root, "sld", "NamedLayer")
    _sub(layer, "se", "Name", style.collection)
    user = _sub(layer, "sld", "UserStyle")
    _sub(user, "se", "Name", STYLE_ID)
    _description(user, {k: f"{STYLE_TITLE[k]} — {style.title[k]}" for k in ("vi", "en")}, lang)
    _sub(user, "sld", "IsDefault", "true")
    fts = _sub(user, "se", "FeatureTypeStyle")
    for name, title, conditions, sym, width in _rules(style):
        rule = _sub(fts, "se", "Rule")
        _sub(rule, "se", "Name", name)
        _description(rule, title, lang)
        _filter(rule, conditions)
        _se_symbolizer(rule, sym, width)


def sld11(styles: list[LayerStyle], lang: str = "vi") -> bytes:
    """A Styled Layer Descriptor 1.1 with Symbology Encoding 1.1: a NamedLayer (the collection id) per style."""
    root = ET.Element(_q("sld", "StyledLayerDescriptor"), {"version": "1.1.0", _q("xsi", "schemaLocation"): SLD_SCHEMA})
    _sub(root, "se", "Name", STYLE_ID)
    _description(root, STYLE_TITLE, lang)
    for style in styles:
        _named_layer(root, style, lang)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ------------------------------------------------------------------------------------------------------- QGIS QML

SYMBOL_TYPES = {"point": "marker", "line": "line", "polygon": "fill"}
GEOMETRY_CODES = {"point": "0", "line": "1", "polygon": "2"}  # QgsWkbTypes::GeometryType, as QGIS writes it
PIXEL = "Pixel"  # Leaflet's sizes are screen pixels
STROKE_WIDTH_PROPERTY = "outlineWidth"  # QgsSymbolLayer::PropertyStrokeWidth's key in data-defined properties
DATA_DEFINED_EXPRESSION = "3"  # QgsProperty::ExpressionBasedProperty


def _rgba(colour: str | None, opacity: float) -> str:
    """#rrggbb and an opacity as QGIS's "r,g,b,a" (a fully transparent colour when there is none)."""
    if colour is None:
        return "0,0,0,0"
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(max(0.0, min(1.0, opacity)) * 255)}"


def _option(parent: ET.Element, name: str | None, value: str | None = None, kind: str = "QString") -> ET.Element:
    attrs = {"type": kind}
    if name is not None:
        attrs["name"] = name
    if value is not None:
        attrs["value"] = value
    return ET.SubElement(parent, "Option", attrs)


def _properties(parent: ET.Element, props: dict[str, str]) -> None:
    """A symbol layer's properties, written both ways QGIS 3 reads them (an Option map, and the older `prop`s)."""
    options = _option(parent, None, kind="Map")
    for key, value in props.items():
        _option(options, key, value)
    for key, value in props.items():
        ET.SubElement(parent, "prop", {"k": key, "v": value})


def _data_defined(parent: ET.Element, width_expression: str | None) -> None:
    node = ET.SubElement(parent, "data_defined_properties")
    collection = _option(node, None, kind="Map")
    _option(collection, "name", "")
    props = _option(collection, "properties", kind="Map")
    if width_expression:
        width = _option(props, STROKE_WIDTH_PROPERTY, kind="Map")
        _option(width, "active", "true", kind="bool")
        _option(width, "expression", width_expression)
        _option(width, "type", DATA_DEFINED_EXPRESSION, kind="int")
    _option(collection, "type", "collection")


def _line_props(sym: Symbol) -> dict[str, str]:
    return {"line_color": _rgba(sym.stroke, sym.stroke_opacity), "line_width": _number(sym.width),
            "line_width_unit": PIXEL, "line_style": "solid" if sym.stroke is not None else "no",
            "use_custom_dash": "1" if sym.dash else "0",
            "customdash": ";".join(_number(v) for v in sym.dash) if sym.dash else "5;2",
            "customdash_unit": PIXEL, "capstyle": "round", "joinstyle": "round", "offset": "0",
            "offset_unit": PIXEL}


def _symbol_layer(symbol: ET.Element, cls: str, props: dict[str, str], width_expression: str | None = None) -> None:
    layer = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    _properties(layer, props)
    _data_defined(layer, width_expression)


def _width_expression(style: LayerStyle, sym: Symbol) -> str | None:
    """The line weight by plan phase, as a QGIS expression (None without phases)."""
    if not style.phases:
        return None
    field = style.phase_field.replace('"', '""')
    cases = " ".join(f"WHEN \"{field}\" = '{p.value.replace(chr(39), chr(39) * 2)}' THEN {_number(p.width)}"
                     for p in style.phases)
    return f"CASE {cases} ELSE {_number(sym.width)} END"


def qml_symbol(parent: ET.Element, name: str, style: LayerStyle, sym: Symbol) -> None:
    """One QGIS symbol (<symbol>) drawing what Leaflet draws with `sym`."""
    node = ET.SubElement(parent, "symbol", {"type": SYMBOL_TYPES[sym.kind], "name": name, "alpha": "1",
                                            "clip_to_extent": "1", "force_rhr": "0"})
    width = _width_expression(style, sym)
    if sym.kind == "point":
        _symbol_layer(node, "SimpleMarker", {
            "name": "circle", "color": _rgba(sym.fill, sym.fill_opacity),
            "outline_color": _rgba(sym.stroke, sym.stroke_opacity), "outline_width": _number(sym.width),
            "outline_width_unit": PIXEL,
            "outline_style": ("dash" if sym.dash else "solid") if sym.stroke is not None else "no",
            "size": _number(2 * sym.radius), "size_unit": PIXEL, "joinstyle": "round", "angle": "0",
            "scale_method": "diameter", "offset": "0,0", "offset_unit": PIXEL}, width)
    elif sym.kind == "line":
        _symbol_layer(node, "SimpleLine", _line_props(sym), width)
    else:  # the fill without an outline, then the outline as a line (a custom dash needs a line symbol layer)
        _symbol_layer(node, "SimpleFill", {
            "color": _rgba(sym.fill, sym.fill_opacity), "style": "solid" if sym.fill is not None else "no",
            "outline_style": "no", "outline_width": "0", "outline_width_unit": PIXEL,
            "outline_color": "0,0,0,0", "offset": "0,0", "offset_unit": PIXEL, "joinstyle": "round"})
        if sym.stroke is not None:
            _symbol_layer(node, "SimpleLine", _line_props(sym), width)
    _data_defined(node, None)


def renderer(style: LayerStyle, lang: str = "vi") -> ET.Element:
    """QGIS's renderer-v2 for a style: categorised on its field (a category per class, then "" — QGIS's "all
    other values" — with the base symbol), or a single symbol."""
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0", "referencescale": "-1"}
    if style.field is None:
        node = ET.Element("renderer-v2", {"type": "singleSymbol", **common})
        qml_symbol(ET.SubElement(node, "symbols"), "0", style, style.other)
    else:
        node = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": style.field, **common})
        categories = ET.SubElement(node, "categories")
        symbols = ET.SubElement(node, "symbols")
        entries = [(c.value, c.label[lang], c.symbol) for c in style.categories] + [("", OTHER_LABEL[lang],
                                                                                    style.other)]
        for i, (value, label, sym) in enumerate(entries):
            ET.SubElement(categories, "category", {"value": value, "symbol": str(i), "label": label,
                                                   "render": "true"})
            qml_symbol(symbols, str(i), style, sym)
        qml_symbol(ET.SubElement(node, "source-symbol"), "0", style, style.other)
    ET.SubElement(node, "rotation")
    ET.SubElement(node, "sizescale")
    return node


def qml(style: LayerStyle, lang: str = "vi") -> bytes:
    """A QGIS layer style file (symbology only) for one collection."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology"})
    root.append(renderer(style, lang))
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = GEOMETRY_CODES[style.kind]
    ET.indent(root)
    return b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8")
