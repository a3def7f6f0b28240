"""planmap's styles for GIS clients (OGC API – Styles: SLD 1.1 and QGIS QML) and the QGIS project, checked against
web/styles.json and web/labels.json read here on their own, and opened by a real QGIS (Debian's python3-qgis)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from pyproj import Transformer

from api import models
from tests.conftest import DATA
from tests.test_web_map import keep_screenshot

REPO = Path(__file__).resolve().parent.parent
STYLES = json.loads((REPO / "web" / "styles.json").read_text(encoding="utf-8"))
LABELS = json.loads((REPO / "web" / "labels.json").read_text(encoding="utf-8"))
NS = {"sld": "http://www.opengis.net/sld", "se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc"}
SLD11 = "application/vnd.ogc.sld+xml;version=1.1"
QML = "application/vnd.qgis.qml"
STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"
QGIS_PYTHON = Path("/usr/bin/python3")  # Debian's Python, where python3-qgis installs the qgis module
PLANMAP = [sys.executable, "-m", "api.cli"]
KINDS = {"point": "Point", "line": "LineString", "polygon": "MultiPolygon"}


def expected(cid: str, kind: str, value: str | None = None) -> dict:
    """The web map's options for a class of a layer: the geometry's fallback, the base, the class."""
    spec = STYLES["layers"].get(cid, {})
    return {**STYLES["fallback"][kind], **spec.get("base", {}), **spec.get("classes", {}).get(value, {})}


def rgba(colour: str, opacity: float = 1.0) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{round(opacity * 255)}"


def label(field: str, value: str) -> str:
    return LABELS["values"].get(field, {}).get(value, {}).get("vi", value)


# -------------------------------------------------------------------------------- the API (in-process, small world)

def test_conformance_and_landing_page_advertise_the_styles(api_client):
    classes = api_client.get("/conformance").json()["conformsTo"]
    for name in ("core", "global-styles", "collection-styles", "sld-11"):
        assert f"http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/{name}" in classes
    links = api_client.get("/?f=json").json()["links"]
    styles = [lk for lk in links if lk["rel"] == STYLES_REL]
    assert len(styles) == 1
    doc = api_client.get(styles[0]["href"]).json()
    models.StyleSet.model_validate(doc)
    assert [s["id"] for s in doc["styles"]] == ["planmap"] and doc["default"] == "planmap"
    assert any(lk["href"].endswith("/exports/qgis-project") for lk in links)


def test_every_collection_links_its_styles_and_every_stylesheet_link_answers(api_client):
    collections = api_client.get("/collections").json()["collections"]
    assert collections
    for collection in collections:
        [styles_link] = [lk for lk in collection["links"] if lk["rel"] == STYLES_REL]
        doc = api_client.get(styles_link["href"]).json()
        models.StyleSet.model_validate(doc)
        [style] = doc["styles"]
        sheets = {lk["type"]: lk["href"] for lk in style["links"] if lk["rel"] == "stylesheet"}
        assert set(sheets) == {SLD11, QML}
        for media, href in sheets.items():
            resp = api_client.get(href)
            assert resp.status_code == 200, (href, resp.text)
            assert resp.headers["content-type"] == media
            ET.fromstring(resp.content)  # well-formed XML
        meta = api_client.get(next(lk["href"] for lk in style["links"] if lk["rel"] == "describedby"))
        doc = models.StyleMetadata.model_validate(meta.json())
        assert [layer["id"] for layer in doc.layers] == [collection["id"]]
        assert {s.link.type for s in doc.stylesheets} == {SLD11, QML}


def rules_of(sld: bytes, cid: str) -> list[ET.Element]:
    root = ET.fromstring(sld)
    assert root.tag == f"{{{NS['sld']}}}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    [layer] = [n for n in root.findall("sld:NamedLayer", NS) if n.findtext("se:Name", namespaces=NS) == cid]
    [user] = layer.findall("sld:UserStyle", NS)
    [fts] = user.findall("se:FeatureTypeStyle", NS)
    return fts.findall("se:Rule", NS)


def svg(node: ET.Element, name: str) -> str | None:
    found = node.find(f"se:SvgParameter[@name='{name}']", NS)
    return None if found is None else found.text


def test_sld_has_a_rule_per_status_titled_in_vietnamese_and_an_else_rule(api_client):
    resp = api_client.get("/collections/fuel_stations/styles/planmap", params={"f": "sld11"})
    assert resp.status_code == 200 and resp.headers["content-type"] == SLD11
    rules = rules_of(resp.content, "fuel_stations")
    classes = STYLES["layers"]["fuel_stations"]["classes"]
    assert len(rules) == len(classes) + 1
    for rule, value in zip(rules, classes, strict=False):
        equal = rule.find("ogc:Filter/ogc:PropertyIsEqualTo", NS)
        assert equal.findtext("ogc:PropertyName", namespaces=NS) == "status"
        assert equal.findtext("ogc:Literal", namespaces=NS) == value
        assert rule.findtext("se:Description/se:Title", namespaces=NS) == label("status", value)
        assert rule.findtext("se:Description/se:Abstract", namespaces=NS) == LABELS["values"]["status"][value]["en"]
        mark = rule.find("se:PointSymbolizer/se:Graphic/se:Mark", NS)
        assert mark.findtext("se:WellKnownName", namespaces=NS) == "circle"
        options = expected("fuel_stations", "point", value)
        assert svg(mark.find("se:Fill", NS), "fill") == options["fillColor"]
        assert svg(mark.find("se:Stroke", NS), "stroke") == options["color"]
        assert float(rule.findtext("se:PointSymbolizer/se:Graphic/se:Size", namespaces=NS)) == 2 * options["radius"]
    # the other values (and none): an explicit filter, since QGIS reads se:ElseFilter as "every feature"
    other = rules[-1].find("ogc:Filter/ogc:Or", NS)
    assert other.findtext("ogc:PropertyIsNull/ogc:PropertyName", namespaces=NS) == "status"
    excluded = other.findall("ogc:Not/ogc:Or/ogc:PropertyIsEqualTo", NS)
    assert [e.findtext("ogc:Literal", namespaces=NS) for e in excluded] == list(classes)
    assert rules[-1].findtext("se:Description/se:Title", namespaces=NS) == LABELS["ui"]["vi"]["other"]
    english = api_client.get("/collections/fuel_stations/styles/planmap", params={"f": "sld11", "lang": "en"})
    titles = [r.findtext("se:Description/se:Title", namespaces=NS) for r in rules_of(english.content, "fuel_stations")]
    assert titles[:2] == [LABELS["values"]["status"][v]["en"] for v in classes]


def test_qml_is_a_categorised_renderer_of_the_web_maps_classes(api_client):
    resp = api_client.get("/collections/power_lines/styles/planmap", params={"f": "qml"})
    assert resp.status_code == 200 and resp.headers["content-type"] == QML
    assert resp.content.startswith(b"<!DOCTYPE qgis")
    renderer = ET.fromstring(resp.content).find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "voltage_kv"
    classes = STYLES["layers"]["power_lines"]["classes"]
    categories = renderer.findall("categories/category")
    assert [c.get("value") for c in categories] == [*classes, ""]  # "": QGIS's "all other values"
    assert [c.get("label") for c in categories][:-1] == [f"{v} kV" for v in classes]
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for category in categories[:-1]:
        symbol = symbols[category.get("symbol")]
        assert symbol.get("type") == "line"
        props = {p.get("k"): p.get("v") for p in symbol.findall("layer/prop")}
        options = expected("power_lines", "line", category.get("value"))
        assert props["line_color"] == rgba(options["color"], options.get("opacity", 1))
        assert float(props["line_width"]) == options["weight"]
        assert props["use_custom_dash"] == ("1" if options.get("dashArray") else "0")
    assert ET.fromstring(resp.content).findtext("layerGeometryType") == "1"


def test_the_accept_header_chooses_qml_and_sld_is_the_default(api_client):
    assert api_client.get("/collections/power_lines/styles/planmap",
                          headers={"Accept": QML}).headers["content-type"] == QML
    assert api_client.get("/collections/power_lines/styles/planmap").headers["content-type"] == SLD11


def test_the_dataset_style_has_a_named_layer_per_collection_the_caller_sees(api_client, planner):
    def named(headers: dict) -> list[str]:
        resp = api_client.get("/styles/planmap", params={"f": "sld11"}, headers=headers)
        assert resp.status_code == 200
        return [n.findtext("se:Name", namespaces=NS) for n in ET.fromstring(resp.content).findall("sld:NamedLayer", NS)]

    public = [c["id"] for c in api_client.get("/collections").json()["collections"]]
    assert named({}) == public and "draft_plan" not in public
    assert "draft_plan" in named(planner)
    meta = api_client.get("/styles/planmap/metadata").json()
    assert [layer["id"] for layer in models.StyleMetadata.model_validate(meta).layers] == public


def test_an_internal_layer_has_no_styles_for_anonymous_users(api_client, planner):
    for path in ("/collections/draft_plan/styles", "/collections/draft_plan/styles/planmap",
                 "/collections/draft_plan/styles/planmap/metadata"):
        assert api_client.get(path).status_code == 404, path
        assert api_client.get(path, headers=planner).status_code == 200, path


@pytest.mark.parametrize(("path", "params", "status", "word"), [
    ("/collections/fuel_stations/styles/night", {}, 404, "night"),
    ("/styles/night", {}, 404, "night"),
    ("/styles/night/metadata", {}, 404, "night"),
    ("/collections/nowhere/styles", {}, 404, "nowhere"),
    ("/styles/planmap", {"f": "qml"}, 400, "QML"),
    ("/collections/fuel_stations/styles/planmap", {"f": "mapbox"}, 400, "f"),
    ("/collections/fuel_stations/styles/planmap", {"lang": "fr"}, 400, "lang"),
    ("/exports/qgis-project", {"crs": "EPSG:9213"}, 400, "crs"),
])
def test_bad_style_requests_get_a_problem_naming_what_is_wrong(api_client, path, params, status, word):
    resp = api_client.get(path, params=params)
    assert resp.status_code == status, resp.text
    body = models.Problem.model_validate(resp.json())
    assert word in body.detail and body.detail_vi


def test_the_project_holds_public_layers_only_even_for_a_planner_and_speaks_english_when_asked(api_client, planner):
    public = [c["id"] for c in api_client.get("/collections").json()["collections"]]
    for headers in ({}, planner):
        resp = api_client.get("/exports/qgis-project", headers=headers)
        assert resp.status_code == 200
        assert 'filename="planmap.qgz"' in resp.headers["content-disposition"]
        root = qgs_of(resp.content)
        ids = [m.findtext("id") for m in root.findall("projectlayers/maplayer")]
        assert sorted(ids) == sorted(f"planmap_{c}" for c in public) and "planmap_draft_plan" not in ids
        base = str(api_client.base_url).rstrip("/")
        assert all(f"url='{base}'" in m.findtext("datasource") for m in root.findall("projectlayers/maplayer"))
    english = qgs_of(api_client.get("/exports/qgis-project", params={"lang": "en"}).content)
    assert [g.get("name") for g in english.findall("layer-tree-group/layer-tree-group")] == ["Other"]
    assert {m.findtext("layername") for m in english.findall("projectlayers/maplayer")} == \
        {f"Layer {c}" for c in public}
    fuel = next(m for m in english.findall("projectlayers/maplayer") if m.findtext("id") == "planmap_fuel_stations")
    assert [c.get("label") for c in fuel.findall("renderer-v2/categories/category")] == ["Existing", "Planned", "Other"]


def test_style_lists_and_metadata_read_in_a_browser(api_client):
    for path in ("/styles", "/styles/planmap/metadata", "/collections/fuel_stations/styles",
                 "/collections/fuel_stations/styles/planmap/metadata"):
        resp = api_client.get(path, headers={"Accept": "text/html"})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), path
        assert "planmap" in resp.text


def test_every_layer_of_styles_json_renders_in_both_formats():
    """Every layer styles.json describes (and a layer it does not) gives well-formed SLD and QML, each class a
    rule and a category."""
    from web.gis_styles import layer_style, qml, sld11

    for cid, spec in {**STYLES["layers"], "unknown_layer": {}}.items():
        for kind, geometry in KINDS.items():
            style = layer_style(cid, geometry, cid, cid)
            assert style.kind == kind
            rules = rules_of(sld11([style]), cid)
            phases = len(spec.get("phase", {}).get("classes", {}))
            classes = len(spec.get("classes", {}))
            assert len(rules) == (classes * (phases + 1) + 1 if classes else 1), cid
            renderer = ET.fromstring(qml(style)).find("renderer-v2")
            assert len(renderer.findall("categories/category")) == (classes + 1 if classes else 0), cid


def test_a_phase_changing_more_than_the_weight_is_refused():
    from web.gis_styles import check_styles

    check_styles(STYLES)
    bad = json.loads(json.dumps(STYLES))
    bad["layers"]["industrial_clusters"]["phase"]["classes"]["2026-2030"]["color"] = "#000000"
    with pytest.raises(ValueError, match="industrial_clusters"):
        check_styles(bad)


# ---------------------------------------------------------------------------------- the shipped data, served

def test_cluster_rules_cross_status_and_plan_phase_with_the_phase_weight(server):
    resp = httpx.get(f"{server.url}/collections/industrial_clusters/styles/planmap?f=sld11")
    spec = STYLES["layers"]["industrial_clusters"]
    rules = {r.findtext("se:Name", namespaces=NS): r for r in rules_of(resp.content, "industrial_clusters")}
    for status in spec["classes"]:
        for phase, override in spec["phase"]["classes"].items():
            rule = rules[f"{status} {phase}"]
            equal = {e.findtext("ogc:PropertyName", namespaces=NS): e.findtext("ogc:Literal", namespaces=NS)
                     for e in rule.findall("ogc:Filter/ogc:And/ogc:PropertyIsEqualTo", NS)}
            assert equal == {"status": status, "plan_phase": phase}
            stroke = rule.find("se:PolygonSymbolizer/se:Stroke", NS)
            assert float(svg(stroke, "stroke-width")) == override["weight"]
            assert svg(stroke, "stroke") == expected("industrial_clusters", "polygon", status)["color"]
            assert label("plan_phase", phase) in rule.findtext("se:Description/se:Title", namespaces=NS)
    qml = ET.fromstring(httpx.get(f"{server.url}/collections/industrial_clusters/styles/planmap?f=qml").content)
    expression = qml.find(".//Option[@name='outlineWidth']/Option[@name='expression']").get("value")
    assert "\"plan_phase\" = '2026-2030' THEN 2.6" in expression


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PLANMAP, *args], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, **env})


@pytest.mark.parametrize(("args", "words"), [
    (["--url", "ftp://example/"], ["--url"]),
    (["--url", "http://127.0.0.1:99999"], ["port"]),
    (["--url", "127.0.0.1:8000"], ["--url"]),
])
def test_export_qgis_project_refuses_a_bad_url_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "p.qgz"
    result = run_cli("export", "qgis-project", *args, "--out", str(out), "--data", str(DATA),
                     PLANMAP_STORE=str(tmp_path / "store"))
    assert result.returncode != 0
    assert all(w in result.stderr for w in words), result.stderr
    assert list(tmp_path.glob("p.qgz*")) == [] and list(tmp_path.glob(".p.qgz*")) == []


def test_export_qgis_project_needs_a_qgz_name(tmp_path):
    result = run_cli("export", "qgis-project", "--url", "http://127.0.0.1:8000", "--out", str(tmp_path / "p.qgs"))
    assert result.returncode != 0 and ".qgz" in result.stderr


def qgs_of(data: bytes) -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["planmap.qgs"]
        return ET.fromstring(archive.read("planmap.qgs"))


def test_the_cli_and_the_route_write_the_same_project(server, tmp_path):
    out = tmp_path / "planmap.qgz"
    result = run_cli("export", "qgis-project", "--url", server.url, "--out", str(out), "--data", str(DATA),
                     PLANMAP_STORE=str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["planmap.qgz"]  # no temporary file left
    resp = httpx.get(f"{server.url}/exports/qgis-project")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    assert out.read_bytes() == resp.content
    root = qgs_of(resp.content)
    public = [c["id"] for c in httpx.get(f"{server.url}/collections").json()["collections"]]
    sources = [m.findtext("datasource") for m in root.findall("projectlayers/maplayer")]
    assert sorted(sources) == sorted(f"pagingEnabled='true' preferCoordinatesForWfsT11='false' "
                                     f"restrictToRequestBBOX='0' typename='{c}' url='{server.url}'" for c in public)
    assert {m.findtext("provider") for m in root.findall("projectlayers/maplayer")} == {"oapif"}
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:9213"


# ---------------------------------------------------------------------------------- a real QGIS

def qgis_python() -> Path:
    """Debian's Python with QGIS; the test fails (never skips) when it is missing, saying what to install."""
    probe = subprocess.run([str(QGIS_PYTHON), "-c", "import qgis.core"], capture_output=True, text=True) \
        if QGIS_PYTHON.exists() else None
    if probe is None or probe.returncode != 0:
        pytest.fail("QGIS's Python module is missing: apt-get install python3-qgis "
                    f"({probe.stderr.strip()[-300:] if probe else QGIS_PYTHON})")
    return QGIS_PYTHON


def run_qgis(project: Path, styles: list[dict], tmp_path: Path, picture: Path) -> dict:
    spec = tmp_path / "styles.json"
    spec.write_text(json.dumps(styles), encoding="utf-8")
    home = tmp_path / "qgis-home"  # QGIS writes its settings and caches here, not in the user's home
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(home), "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost"}
    result = subprocess.run([str(qgis_python()), str(REPO / "tests" / "qgis_probe.py"), str(project), str(spec),
                             str(picture)],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def qgis_report(server, tmp_path_factory) -> dict:
    """The project this server writes (and its stylesheets), opened by QGIS against the running server."""
    folder = tmp_path_factory.mktemp("qgis")
    project = folder / "planmap.qgz"
    project.write_bytes(httpx.get(f"{server.url}/exports/qgis-project").content)
    styles = []
    for cid, fmt, geometry, fields in [
        ("industrial_clusters", "qml", "MultiPolygon", {"status": "string", "plan_phase": "string"}),
        ("power_lines", "qml", "LineString", {"voltage_kv": "integer"}),
        ("fuel_stations", "qml", "Point", {"status": "string"}),
        ("industrial_parks", "sld", "MultiPolygon", {"status": "string"}),
        ("substations", "sld", "Point", {"voltage_kv": "integer"}),
    ]:
        path = folder / f"{cid}.{fmt}"
        path.write_bytes(httpx.get(f"{server.url}/collections/{cid}/styles/planmap",
                                   params={"f": "qml" if fmt == "qml" else "sld11"}).content)
        field = STYLES["layers"][cid]["by"]
        values = [int(v) if fields[field] == "integer" else v for v in STYLES["layers"][cid]["classes"]]
        styles.append({"path": str(path), "geometry": geometry, "fields": fields, "collection": cid, "field": field,
                       "values": [*values, 9999 if fields[field] == "integer" else "no such value", None]})
    picture = folder / "qgis-project.png"
    return {"qgis": run_qgis(project, styles, folder, picture), "styles": styles, "picture": picture}


def test_qgis_reads_the_project_in_vn2000_with_the_web_maps_groups(server, qgis_report):
    report = qgis_report["qgis"]
    assert report["read"], report["error"]
    assert report["crs"] == "EPSG:9213" and report["default_view_crs"] == "EPSG:9213"
    assert report["ellipsoid"] == "NONE" and report["area_units"] == "ha" and report["distance_units"] == "meters"
    collections = httpx.get(f"{server.url}/collections").json()["collections"]
    groups: dict[str, list[str]] = {}
    for c in collections:
        groups.setdefault(c["group"], []).append(f"planmap_{c['id']}")
    order = [g for g in LABELS["groups"] if g in groups]
    assert [g["group"] for g in report["tree"]] == [LABELS["groups"][g]["vi"] for g in order]
    for node, group in zip(report["tree"], order, strict=True):
        assert [child["layer"] for child in node["children"]] == groups[group]
        for child in node["children"]:
            assert child["visible"] == (child["layer"].removeprefix("planmap_") in STYLES["defaults"])
    # drawn as the web map stacks its panes: every point layer above every line layer above every area
    kinds = {f"planmap_{c['id']}": c["geometryType"].lower() for c in collections}
    rank = [0 if "point" in kinds[i] else 1 if "line" in kinds[i] else 2 for i in report["custom_order"]]
    assert rank == sorted(rank) and set(report["custom_order"]) == set(kinds)
    # the default view frames the province, in VN-2000 metres
    x0, y0, x1, y1 = report["default_view"]
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    cx, cy = to_vn.transform(105.85, 21.6)  # Thái Nguyên city
    assert x0 < cx < x1 and y0 < cy < y1 and 50_000 < x1 - x0 < 400_000


def test_qgis_loads_every_layer_from_the_running_planmap(server, qgis_report):
    layers = {layer["id"]: layer for layer in qgis_report["qgis"]["layers"]}
    collections = httpx.get(f"{server.url}/collections").json()["collections"]
    assert set(layers) == {f"planmap_{c['id']}" for c in collections}
    to_vn = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    for c in collections:
        layer = layers[f"planmap_{c['id']}"]
        assert layer["valid"], layer
        assert layer["provider"] == "oapif" and f"url='{server.url}'" in layer["source"]
        assert layer["features"] == layer["with_geometry"] == c["numberOfFeatures"], (c["id"], layer)
        assert layer["name"] == c["titles"]["vi"]
        # QGIS put the features where they are: its extent in VN-2000 is the collection's, projected
        w, s, e, n = c["extent"]["spatial"]["bbox"][0]
        x0, y0 = to_vn.transform(w, s)
        x1, y1 = to_vn.transform(e, n)
        got = layer["extent_project_crs"]
        tolerance = 0.02 * max(x1 - x0, y1 - y0, 1_000)  # the corners of a box in degrees move when projected
        assert all(abs(a - b) < tolerance for a, b in zip(got, (x0, y0, x1, y1), strict=True)), (c["id"], got)


def test_qgis_draws_each_layer_with_the_web_maps_classes(server, qgis_report):
    collections = httpx.get(f"{server.url}/collections").json()["collections"]
    layers = {layer["id"]: layer for layer in qgis_report["qgis"]["layers"]}
    categorised = 0
    for c in collections:
        renderer = layers[f"planmap_{c['id']}"]["renderer"]
        spec = STYLES["layers"].get(c["id"], {})
        kind = "point" if "point" in c["geometryType"].lower() else "line" if "line" in c["geometryType"].lower() \
            else "polygon"
        if not spec.get("classes"):
            assert renderer["type"] == "singleSymbol", c["id"]
            continue
        categorised += 1
        assert renderer["type"] == "categorizedSymbol" and renderer["attribute"] == spec["by"], c["id"]
        categories = renderer["categories"]
        assert [x["value"] for x in categories] == [*spec["classes"], ""], c["id"]
        for category in categories[:-1]:
            assert category["label"] == label(spec["by"], category["value"]) or \
                category["label"] == f"{category['value']} kV", (c["id"], category)
            options = expected(c["id"], kind, category["value"])
            symbol = category["symbol"]
            assert symbol["type"] == {"point": "marker", "line": "line", "polygon": "fill"}[kind]
            props = {k: ",".join(v.split(",")[:4]) for k, v in symbol["layers"][0]["props"].items()}  # r,g,b,a
            if kind == "line":
                assert props["line_color"] == rgba(options["color"], options.get("opacity", 1)), c["id"]
            elif options.get("fill", True) is not False:
                assert props["color"] == rgba(options["fillColor"], options["fillOpacity"]), (c["id"], props)
    assert categorised >= 8  # status, voltage, area type, road class, kind
    clusters = layers["planmap_industrial_clusters"]["renderer"]["categories"]
    outline = clusters[0]["symbol"]["layers"][1]
    assert outline["class"] == "SimpleLine" and "plan_phase" in outline["width_expression"]


def test_qgis_reads_the_qml_and_sld_stylesheets_with_its_own_api(qgis_report):
    for style, read in zip(qgis_report["styles"], qgis_report["qgis"]["styles"], strict=True):
        assert read["ok"] and read["valid"], read
        spec = STYLES["layers"][style["collection"]]
        renderer = read["renderer"]
        if style["path"].endswith(".qml"):
            assert renderer["type"] == "categorizedSymbol" and renderer["attribute"] == spec["by"]
            assert [c["value"] for c in renderer["categories"]] == [*spec["classes"], ""]
        else:  # QGIS turns SLD rules into its rule-based renderer, the rule titles becoming the legend
            assert renderer["type"] == "RuleRenderer", renderer
            rules = renderer["rules"]
            labels = [label(spec["by"], v) if spec["by"] != "voltage_kv" else f"{v} kV" for v in spec["classes"]]
            assert [r["label"] for r in rules] == [*labels, LABELS["ui"]["vi"]["other"]]
            for rule, value in zip(rules, spec["classes"], strict=False):
                assert spec["by"] in rule["filter"] and value in rule["filter"], rule
            # every feature is drawn by exactly one rule: its class's, or "Khác" for another value or none
            other = LABELS["ui"]["vi"]["other"]
            assert [m["rules"] for m in read["matches"]] == [[lb] for lb in labels] + [[other], [other]]


def test_qgis_draws_the_project_as_it_opens(qgis_report):
    """QGIS's own rendering of the project's default view: the web map's default layers in their colours (the
    README's picture, kept with PLANMAP_SCREENSHOTS=1)."""
    from PIL import Image

    png = qgis_report["picture"].read_bytes()
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int).reshape(-1, 3)
    drawn = pixels[(pixels != 255).any(axis=1)]
    assert len(drawn) > 0.2 * len(pixels)  # the communes' light fill covers the province
    # an existing industrial cluster: its fill blended over the communes' fill, as QGIS composes them
    cluster = STYLES["layers"]["industrial_clusters"]["classes"]["existing"]
    red = np.array([int(cluster["fillColor"][i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(drawn - red).sum(axis=1) < 120).sum() > 20, "no existing cluster drawn in its red"
    keep_screenshot(REPO / "docs" / "screenshots" / "qgis-project.png", png)
