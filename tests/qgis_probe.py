"""What a real QGIS makes of planmap's project and styles — run by Debian's Python with `python3-qgis`, not by
pytest (tests/test_gis_styles.py runs it and checks the answer).

It opens the project headless, makes every layer load its features from the running planmap, and prints one JSON
document: the project's CRS, default view and measurement settings, its groups, and for each layer its validity,
provider, feature count, extent, renderer (type, classification attribute, categories with their symbols).  Then
it loads each given QML and SLD file into a memory layer with QGIS's own API and reports what QGIS read.

usage: QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_probe.py PROJECT.qgz STYLES.json [MAP.png]
STYLES.json: [{"path": "x.qml" or "x.sld", "geometry": "MultiPolygon", "fields": {"status": "string", …},
               "field": "status", "values": ["planned", "no such value", null]}, …]
For a rule-based renderer (what QGIS makes of an SLD) it also reports which rules a feature with each of `values`
in `field` matches.  With MAP.png, it draws the project's visible layers in their order over its default view, as
QGIS shows the project when it opens.
"""

from __future__ import annotations

import json
import sys

from PyQt5.QtCore import QSize
from PyQt5.QtGui import QColor
from qgis.core import (
    QgsApplication,
    QgsCoordinateTransform,
    QgsExpression,
    QgsExpressionContext,
    QgsFeature,
    QgsLayerTreeGroup,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsSymbolLayer,
    QgsUnitTypes,
    QgsVectorLayer,
)

SYMBOL_TYPES = {0: "marker", 1: "line", 2: "fill"}
KEYS = ("color", "outline_color", "line_color", "line_width", "outline_width", "size", "use_custom_dash",
        "customdash", "style", "outline_style", "line_style", "name")


def symbol_doc(symbol) -> dict | None:
    if symbol is None:
        return None
    layers = []
    for sl in symbol.symbolLayers():
        props = {k: str(v) for k, v in sl.properties().items() if k in KEYS}
        width = sl.dataDefinedProperties().property(QgsSymbolLayer.PropertyStrokeWidth)
        layers.append({"class": sl.layerType(), "props": props,
                       "width_expression": width.expressionString() if width.isActive() else None})
    return {"type": SYMBOL_TYPES.get(int(symbol.type()), str(symbol.type())), "layers": layers}


def renderer_doc(renderer) -> dict:
    doc = {"type": renderer.type()}
    if renderer.type() == "categorizedSymbol":
        doc["attribute"] = renderer.classAttribute()
        doc["categories"] = [{"value": "" if c.value() is None else str(c.value()), "label": c.label(),
                              "symbol": symbol_doc(c.symbol())} for c in renderer.categories()]
    elif renderer.type() == "singleSymbol":
        doc["symbol"] = symbol_doc(renderer.symbol())
    elif renderer.type() == "RuleRenderer":
        doc["rules"] = [{"label": r.label(), "filter": r.filterExpression(), "else": r.isElse(),
                         "symbol": symbol_doc(r.symbol())} for r in renderer.rootRule().children()]
    return doc


def group_doc(group: QgsLayerTreeGroup) -> list:
    out = []
    for child in group.children():
        if isinstance(child, QgsLayerTreeGroup):
            out.append({"group": child.name(), "children": group_doc(child)})
        else:
            out.append({"layer": child.layerId(), "name": child.name(), "visible": child.isVisible()})
    return out


def project_doc(path: str) -> dict:
    project = QgsProject.instance()
    read = project.read(path)
    root = project.layerTreeRoot()
    view = project.viewSettings().defaultViewExtent()
    doc = {"read": read, "error": project.error(), "crs": project.crs().authid(), "title": project.title(),
           "ellipsoid": project.ellipsoid(), "area_units": QgsUnitTypes.encodeUnit(project.areaUnits()),
           "distance_units": QgsUnitTypes.encodeUnit(project.distanceUnits()),
           "default_view": [view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum()],
           "default_view_crs": view.crs().authid(), "tree": group_doc(root),
           "custom_order": [layer.id() for layer in root.customLayerOrder()] if root.hasCustomLayerOrder() else None,
           "layers": []}
    for node in root.findLayers():
        layer = node.layer()
        entry = {"id": node.layerId(), "name": node.name(), "valid": bool(layer and layer.isValid())}
        if layer is not None and layer.isValid():
            features = list(layer.getFeatures())
            to_project = QgsCoordinateTransform(layer.crs(), project.crs(), project.transformContext())
            extent = to_project.transformBoundingBox(layer.extent()) if features else None
            entry.update({
                "provider": layer.providerType(), "source": layer.source(), "crs": layer.crs().authid(),
                "features": len(features), "with_geometry": sum(1 for f in features if f.hasGeometry()),
                "extent_project_crs": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
                if extent else None,
                "fields": layer.fields().names(), "renderer": renderer_doc(layer.renderer())})
        doc["layers"].append(entry)
    return doc


def rule_matches(layer: QgsVectorLayer, field: str, values: list) -> list:
    """Which rules (by label) a feature with each value matches: an empty filter matches every feature."""
    out = []
    for value in values:
        feature = QgsFeature(layer.fields())
        feature.setAttribute(field, value)
        context = QgsExpressionContext()
        context.setFields(layer.fields())
        context.setFeature(feature)
        hits = [rule.label() for rule in layer.renderer().rootRule().children()
                if not rule.filterExpression() or QgsExpression(rule.filterExpression()).evaluate(context)]
        out.append({"value": value, "rules": hits})
    return out


def style_docs(spec_path: str) -> list:
    with open(spec_path, encoding="utf-8") as handle:
        specs = json.load(handle)
    out = []
    for spec in specs:
        fields = "".join(f"&field={name}:{kind}" for name, kind in spec["fields"].items())
        layer = QgsVectorLayer(f"{spec['geometry']}?crs=EPSG:4326{fields}", "probe", "memory")
        if spec["path"].endswith(".sld"):
            message, ok = layer.loadSldStyle(spec["path"])
        else:
            message, ok = layer.loadNamedStyle(spec["path"])
        entry = {"path": spec["path"], "ok": ok, "message": message, "valid": layer.isValid(),
                 "renderer": renderer_doc(layer.renderer())}
        if layer.renderer().type() == "RuleRenderer" and spec.get("field"):
            entry["matches"] = rule_matches(layer, spec["field"], spec.get("values") or [])
        out.append(entry)
    return out


MAP_WIDTH_PX = 700  # the picture's width; its height follows the default view's shape


def render(path: str) -> None:
    project = QgsProject.instance()
    root = project.layerTreeRoot()
    shown = {layer.id() for layer in root.checkedLayers()}
    order = root.customLayerOrder() if root.hasCustomLayerOrder() else root.layerOrder()
    view = project.viewSettings().defaultViewExtent()
    settings = QgsMapSettings()
    settings.setLayers([layer for layer in order if layer.id() in shown])
    settings.setDestinationCrs(project.crs())
    settings.setOutputSize(QSize(MAP_WIDTH_PX, round(MAP_WIDTH_PX * view.height() / view.width())))
    settings.setExtent(view)
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(path, "png")


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    try:
        doc = project_doc(sys.argv[1])
        doc["styles"] = style_docs(sys.argv[2]) if len(sys.argv) > 2 else []
        if len(sys.argv) > 3:
            render(sys.argv[3])
        QgsProject.instance().clear()
    finally:
        app.exitQgis()
    print(json.dumps(doc, ensure_ascii=False))


if __name__ == "__main__":
    main()
