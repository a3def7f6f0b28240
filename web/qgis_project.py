"""A QGIS project (.qgz) that opens every public layer of a planmap server over OGC API – Features.

The project is in VN-2000 / TM-3 106°30′ (EPSG:9213) with planar measurements in metres and hectares, as planmap
measures; its layers are grouped as on the web map (the catalog's groups, in the panel's order, Vietnamese names),
switched on as the web map's defaults, drawn in the web map's order (areas, then lines, then points on top), and
each carries the web map's style (web/gis_styles.py) embedded.  QGIS 3.22's OAPIF provider reads features in
WGS84 only, so the layers are declared in EPSG:4326 and QGIS projects them on the fly (newer QGIS does the same).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pyproj import CRS

from geo.crs import CRS84, METRIC_CRS, parse_crs, transform_bbox
from geo.errors import BadRequest
from layers.dataset import Dataset
from web.gis_styles import GEOMETRY_CODES, LABELS, QGIS_VERSION, STYLES, LayerStyle, layer_style, renderer

PROJECT_CRS = METRIC_CRS  # the province's official CRS
LAYER_CRS = "EPSG:4326"  # what QGIS 3.22's OAPIF provider delivers (it asks for no other CRS)
QGS_NAME = "planmap.qgs"  # the project inside the .qgz archive
# the web map's panes (planmap-layers.js PANES): what is drawn on top of what
PANE_ORDER = {"admin": 405, "polygon": 410, "line": 420, "point": 430}
GEOMETRY_NAMES = {"point": "Point", "line": "Line", "polygon": "Polygon"}
VECTOR_SCALE_LIMIT = "100000000"  # QGIS's "no minimum scale" for a layer
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the archive member's date: the same layers give the same bytes


@dataclass(frozen=True)
class ProjectLayer:
    """One collection as a layer of the project."""

    collection: str
    title: str
    group: str
    wkb_type: str
    style: LayerStyle
    visible: bool

    @property
    def layer_id(self) -> str:
        return f"planmap_{self.collection}"


def server_url(url: str) -> str:
    """The planmap landing page's URL as QGIS will reach it: http(s)://host[:port][/path], no query."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadRequest(f"--url must be the server's address, e.g. http://10.0.0.5:8000 (got {url!r})",
                         f"--url phải là địa chỉ máy chủ, vd. http://10.0.0.5:8000 (nhận được {url!r})")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise BadRequest(f"--url has an invalid port: {url!r}", f"--url có cổng không hợp lệ: {url!r}") from None
    return url.strip().rstrip("/")


def project_layers(dataset: Dataset, lang: str = "vi") -> list[ProjectLayer]:
    """The dataset's collections as project layers, group by group in the web map's order."""
    groups = list(LABELS["groups"])
    defaults = set(STYLES.get("defaults") or ())
    out = []
    for group in groups:
        for layer in dataset:
            meta = layer.meta
            if (meta.group if meta.group in groups else "other") != group:
                continue
            style = layer_style(layer.id, layer.geometry_type, meta.text("title", "vi"), meta.text("title", "en"))
            out.append(ProjectLayer(layer.id, meta.text("title", lang), group, _wkb_type(layer.geometry_type,
                                                                                        style.kind),
                                    style, layer.id in defaults))
    return out


def _wkb_type(geometry_type: str, kind: str) -> str:
    known = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
    return geometry_type if geometry_type in known else {"point": "MultiPoint", "line": "MultiLineString",
                                                         "polygon": "MultiPolygon"}[kind]


def _text(parent: ET.Element, name: str, text: str, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, name, attrs)
    node.text = text
    return node


def _spatialrefsys(parent: ET.Element, code: str) -> None:
    """A CRS the way QGIS writes one (WKT first: QGIS 3 reads the definition from it)."""
    crs = CRS.from_user_input(code)
    node = ET.SubElement(parent, "spatialrefsys", {"nativeFormat": "Wkt"})
    _text(node, "wkt", crs.to_wkt())
    with warnings.catch_warnings():  # a PROJ string is lossy: QGIS reads the WKT, older readers this
        warnings.simplefilter("ignore", UserWarning)
        _text(node, "proj4", crs.to_proj4())
    _text(node, "srid", code.split(":")[1])
    _text(node, "authid", code)
    _text(node, "description", crs.name)
    method = crs.coordinate_operation.method_name.lower() if crs.coordinate_operation else ""
    _text(node, "projectionacronym", "tmerc" if "transverse mercator" in method else "longlat")
    ident = crs.ellipsoid.to_json_dict().get("id", {}) if crs.ellipsoid else {}
    _text(node, "ellipsoidacronym", f"{ident['authority']}:{ident['code']}" if ident else "")
    _text(node, "geographicflag", "true" if crs.is_geographic else "false")


def _datasource(base_url: str, collection: str) -> str:
    """The OAPIF provider's data source: QgsDataSourceUri key='value' pairs (quotes and backslashes escaped)."""
    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return f"pagingEnabled='true' preferCoordinatesForWfsT11='false' restrictToRequestBBOX='0' " \
           f"typename={quoted(collection)} url={quoted(base_url)}"


def _extent(parent: ET.Element, name: str, box: tuple[float, float, float, float], **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, name, attrs)
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
        _text(node, key, repr(value))
    return node


def _map_layer(parent: ET.Element, layer: ProjectLayer, base_url: str, lang: str) -> None:
    kind = layer.style.kind
    node = ET.SubElement(parent, "maplayer", {
        "type": "vector", "geometry": GEOMETRY_NAMES[kind], "wkbType": layer.wkb_type, "readOnly": "0",
        "hasScaleBasedVisibilityFlag": "0", "minScale": VECTOR_SCALE_LIMIT, "maxScale": "0", "labelsEnabled": "0",
        "autoRefreshEnabled": "0", "autoRefreshTime": "0", "refreshOnNotifyEnabled": "0",
        "refreshOnNotifyMessage": "", "simplifyAlgorithm": "0", "simplifyDrawingHints": "1",
        "simplifyDrawingTol": "1", "simplifyLocal": "1", "simplifyMaxScale": "1", "symbologyReferenceScale": "-1",
        "styleCategories": "AllStyleCategories"})
    _text(node, "id", layer.layer_id)
    _text(node, "datasource", _datasource(base_url, layer.collection))
    keywords = ET.SubElement(node, "keywordList")
    _text(keywords, "value", layer.collection)
    _text(node, "layername", layer.title)
    _spatialrefsys(ET.SubElement(node, "srs"), LAYER_CRS)
    _text(node, "provider", "oapif", encoding="")
    node.append(renderer(layer.style, lang))
    _text(node, "blendMode", "0")
    _text(node, "featureBlendMode", "0")
    _text(node, "layerOpacity", "1")
    _text(node, "layerGeometryType", GEOMETRY_CODES[kind])


def _layer_tree(root: ET.Element, layers: list[ProjectLayer], base_url: str, lang: str) -> None:
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for group in dict.fromkeys(layer.group for layer in layers):
        members = [layer for layer in layers if layer.group == group]
        node = ET.SubElement(tree, "layer-tree-group", {
            "name": LABELS["groups"].get(group, LABELS["groups"]["other"])[lang], "expanded": "1",
            "checked": "Qt::Checked"})
        ET.SubElement(node, "customproperties")
        for layer in members:
            item = ET.SubElement(node, "layer-tree-layer", {
                "id": layer.layer_id, "name": layer.title, "providerKey": "oapif",
                "source": _datasource(base_url, layer.collection), "expanded": "1",
                "checked": "Qt::Checked" if layer.visible else "Qt::Unchecked", "legend_exp": "",
                "patch_size": "-1,-1", "legend_split_behavior": "0"})
            ET.SubElement(item, "customproperties")
    order = ET.SubElement(tree, "custom-order", {"enabled": "1"})
    for layer in drawing_order(layers):
        _text(order, "item", layer.layer_id)


def drawing_order(layers: list[ProjectLayer]) -> list[ProjectLayer]:
    """Top first, as the web map stacks its panes (points over lines over areas over administrative units)."""
    def pane(layer: ProjectLayer) -> int:
        spec = STYLES["layers"].get(layer.collection) or {}
        return PANE_ORDER.get(spec.get("pane") or layer.style.kind, PANE_ORDER[layer.style.kind])

    return sorted(layers, key=pane, reverse=True)  # stable: the panel's order within a pane


def qgs(base_url: str, layers: list[ProjectLayer], home: tuple[float, float, float, float],
        lang: str = "vi") -> bytes:
    """The project file (.qgs XML) for a server at `base_url`, framed on `home` (CRS84)."""
    title = LABELS["ui"][lang]["title"]
    root = ET.Element("qgis", {"projectname": title, "version": QGIS_VERSION})
    _text(root, "homePath", "", path="")
    _text(root, "title", title)
    _spatialrefsys(ET.SubElement(root, "projectCrs"), PROJECT_CRS)
    _layer_tree(root, layers, base_url, lang)
    box = tuple(float(v) for v in transform_bbox(home, CRS84, parse_crs(PROJECT_CRS)).bounds)
    canvas = ET.SubElement(root, "mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    _text(canvas, "units", "meters")
    _extent(canvas, "extent", box)
    _text(canvas, "rotation", "0")
    _spatialrefsys(ET.SubElement(canvas, "destinationsrs"), PROJECT_CRS)
    legend_order = ET.SubElement(root, "layerorder")
    for layer in drawing_order(layers):
        ET.SubElement(legend_order, "layer", {"id": layer.layer_id})
    projectlayers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        _map_layer(projectlayers, layer, base_url, lang)
    props = ET.SubElement(root, "properties")
    # QGIS reads <projectCrs> only with this set (the project transforms its layers into the project CRS)
    _text(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    # measure as planmap does: planar, in the projected CRS, metres and hectares
    _text(ET.SubElement(props, "Measure"), "Ellipsoid", "NONE", type="QString")
    units = ET.SubElement(props, "Measurement")
    _text(units, "DistanceUnits", "meters", type="QString")
    _text(units, "AreaUnits", "ha", type="QString")
    view = ET.SubElement(root, "ProjectViewSettings", {"UseProjectScales": "0"})
    ET.SubElement(view, "Scales")
    default_view = ET.SubElement(view, "DefaultViewExtent", dict(zip(("xmin", "ymin", "xmax", "ymax"),
                                                                     (repr(v) for v in box), strict=True)))
    _spatialrefsys(default_view, PROJECT_CRS)
    ET.indent(root)
    return b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8")


def qgz(base_url: str, dataset: Dataset, home: tuple[float, float, float, float], lang: str = "vi") -> bytes:
    """The .qgz (a zip holding the .qgs) opening every collection of `dataset` from the server at `base_url`."""
    layers = project_layers(dataset, lang)
    if not layers:
        raise BadRequest("there is no public layer to put in a QGIS project", "Không có lớp công khai nào")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        member = zipfile.ZipInfo(QGS_NAME, date_time=ZIP_DATE)
        member.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(member, qgs(base_url, layers, home, lang))
    return buffer.getvalue()


def save(data: bytes, out: Path) -> Path:
    """Write `data` to `out` whole or not at all: a temporary file beside it, then renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
