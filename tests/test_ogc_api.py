"""OGC API – Features behaviour as an HTTP client sees it, checked against the GeoPackage read independently."""

from __future__ import annotations

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from tests.conftest import DATA

CONTRACT_IDS = [
    "province", "districts", "communes", "places", "public_facilities", "industrial_parks", "industrial_clusters",
    "fuel_stations", "lpg_stations", "power_plants", "substations", "power_lines", "mines", "mineral_areas", "roads",
]
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def read_layer(layer: str) -> gpd.GeoDataFrame:
    """The layer straight from the GeoPackage, not through planmap."""
    return gpd.read_file(DATA, layer=layer, fid_as_index=True, engine="pyogrio")


def test_landing_page_links_to_api_conformance_and_data(client):
    doc = client.get("/").json()
    rels = {link["rel"]: link for link in doc["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert "Thái Nguyên" in doc["title"]


def test_conformance_declares_core_geojson_and_crs(client):
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_every_contract_collection_is_described_in_both_languages(client):
    doc = client.get("/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(CONTRACT_IDS) <= set(by_id)
    for cid in CONTRACT_IDS:
        c = by_id[cid]
        assert c["titles"]["vi"] and c["titles"]["en"] and c["titles"]["vi"] != c["titles"]["en"], cid
        assert c["descriptions"]["vi"] and c["descriptions"]["en"], cid
        assert c["license"] and c["attribution"] and c["provenance"]["vi"] and c["provenance"]["en"], cid
        assert c["crs"][0] == CRS84 and EPSG + "9213" in c["crs"] and EPSG + "3405" in c["crs"], cid
        assert c["storageCrs"] == CRS84
        minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
        assert 105 < minx < maxx < 107 and 21 < miny < maxy < 23, cid
        assert c["numberOfFeatures"] == len(read_layer(cid)), cid
        assert set(c["accuracy"]) <= {"exact", "approximate", "schematic", "synthetic"}, cid
    assert by_id["province"]["extent"]["temporal"]["interval"] == [[None, None]]
    english = client.get("/collections/communes?lang=en").json()
    assert english["title"] == by_id["communes"]["titles"]["en"]


def test_paging_walks_every_feature_once(client):
    expected = read_layer("communes")
    seen: list[int] = []
    url = "/collections/communes/items?limit=25"
    pages = 0
    while url:
        doc = client.get(url).json()
        assert doc["numberMatched"] == len(expected)
        assert doc["numberReturned"] == len(doc["features"]) <= 25
        seen += [f["id"] for f in doc["features"]]
        nxt = [lk["href"] for lk in doc["links"] if lk["rel"] == "next"]
        url = nxt[0] if nxt else None
        pages += 1
        if pages > 1:
            assert any(lk["rel"] == "prev" for lk in doc["links"])
    assert pages == 4
    assert sorted(seen) == sorted(expected.index.tolist()) and len(seen) == len(set(seen))


def test_default_limit_is_100_and_maximum_10000(client):
    doc = client.get("/collections/public_facilities/items").json()
    assert doc["numberReturned"] == min(100, doc["numberMatched"])
    assert client.get("/collections/public_facilities/items?limit=10000").status_code == 200
    assert client.get("/collections/public_facilities/items?limit=10001").status_code == 400


def test_bbox_returns_exactly_the_intersecting_features(client):
    bbox = (105.75, 21.50, 105.90, 21.65)
    expected = read_layer("public_facilities")
    hits = expected[expected.intersects(shapely.box(*bbox))]
    doc = client.get("/collections/public_facilities/items",
                     params={"bbox": ",".join(map(str, bbox)), "limit": 10000}).json()
    assert len(hits) > 0
    assert sorted(f["id"] for f in doc["features"]) == sorted(hits.index.tolist())
    assert doc["numberMatched"] == len(hits)


def test_property_equality_filter(client):
    clusters = read_layer("industrial_clusters")
    planned = clusters[clusters["status"] == "planned"]
    doc = client.get("/collections/industrial_clusters/items", params={"status": "planned", "limit": 1000}).json()
    assert len(planned) > 0 and doc["numberMatched"] == len(planned)
    assert {f["properties"]["status"] for f in doc["features"]} == {"planned"}


def test_datetime_selects_the_administrative_version_in_force(client):
    before = client.get("/collections/province/items", params={"datetime": "2024-01-01"}).json()
    after = client.get("/collections/province/items", params={"datetime": "2026-01-01"}).json()
    assert [f["properties"]["version"] for f in before["features"]] == ["pre2025"]
    assert [f["properties"]["version"] for f in after["features"]] == ["2025"]
    districts = client.get("/collections/districts/items", params={"datetime": "2025-07-01/.."}).json()
    assert districts["numberMatched"] == 0


@pytest.mark.parametrize("crs", ["9213", "3405", "3857"])
def test_crs_output_matches_pyproj_within_a_centimetre(client, crs):
    places = read_layer("places").head(50)
    resp = client.get("/collections/places/items", params={"crs": EPSG + crs, "limit": 50})
    assert resp.headers["content-crs"] == f"<{EPSG}{crs}>"
    to = Transformer.from_crs("OGC:CRS84", f"EPSG:{crs}", always_xy=True)
    got = {f["id"]: f["geometry"]["coordinates"] for f in resp.json()["features"]}
    for fid, geom in places.geometry.items():
        x, y = to.transform(geom.x, geom.y)
        assert np.hypot(got[fid][0] - x, got[fid][1] - y) < 0.01


def test_epsg_4326_is_latitude_first(client):
    place = read_layer("places").iloc[0]
    fid = int(read_layer("places").index[0])
    doc = client.get(f"/collections/places/items/{fid}", params={"crs": EPSG + "4326"}).json()
    lat, lon = doc["geometry"]["coordinates"]
    assert (lat, lon) == pytest.approx((place.geometry.y, place.geometry.x), abs=1e-9)


def test_bbox_crs_in_vn2000_metres(client):
    to = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)
    x0, y0 = to.transform(105.75, 21.50)
    x1, y1 = to.transform(105.90, 21.65)
    doc = client.get("/collections/places/items", params={
        "bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": EPSG + "9213", "crs": EPSG + "9213", "limit": 1000}).json()
    places = read_layer("places").to_crs("EPSG:9213")
    hits = places[places.intersects(shapely.box(x0, y0, x1, y1))]
    assert len(hits) > 0
    assert sorted(f["id"] for f in doc["features"]) == sorted(hits.index.tolist())


def test_one_feature_has_links_and_matches_the_file(client):
    parks = read_layer("industrial_parks")
    fid = int(parks.index[0])
    resp = client.get(f"/collections/industrial_parks/items/{fid}")
    assert resp.headers["content-type"] == "application/geo+json"
    doc = resp.json()
    assert doc["properties"]["name"] == parks.loc[fid, "name"]
    assert shape(doc["geometry"]).equals_exact(parks.loc[fid, "geometry"], 1e-9)
    assert {lk["rel"] for lk in doc["links"]} >= {"self", "alternate", "collection"}


def test_queryables_list_the_filterable_properties(client):
    doc = client.get("/collections/industrial_clusters/queryables").json()
    assert {"status", "plan_phase", "name", "accuracy", "source"} <= set(doc["properties"])
    assert doc["properties"]["area_ha"]["type"] == "number"


def test_queryables_mark_the_date_properties(client):
    """Text properties holding only YYYY-MM-DD dates (or nothing) are `format: date`, so GIS clients type them."""
    for layer_id in CONTRACT_IDS:
        doc = client.get(f"/collections/{layer_id}/queryables").json()
        frame = read_layer(layer_id)
        for name, prop in doc["properties"].items():
            if name == "geometry":
                continue
            values = frame[name].dropna().astype(str)
            values = values[values != ""]
            is_date = prop["type"] == "string" and len(values) > 0 \
                and values.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").all()
            assert (prop.get("format") == "date") == bool(is_date), (layer_id, name, prop)
    province = client.get("/collections/province/queryables").json()["properties"]
    assert province["valid_from"]["format"] == "date" and "format" not in province["name"]


def test_openapi_is_version_3_0_and_self_contained(client):
    resp = client.get("/api")
    doc = resp.json()
    assert doc["openapi"].startswith("3.0")
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs and all(r.startswith("#/") for r in refs)
    for cid in CONTRACT_IDS:
        assert f"/collections/{cid}/items" in doc["paths"]


def test_html_views_for_people(client):
    for url in ["/", "/collections", "/collections/communes", "/collections/communes/items?limit=5", "/api"]:
        resp = client.get(url, headers={"Accept": "text/html,application/xhtml+xml"})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), url
    assert client.get("/collections?f=html").text.count("<tr>") >= len(CONTRACT_IDS)
    assert client.get("/collections", headers={"Accept": "application/json"}).headers["content-type"] == \
        "application/json"


@pytest.mark.parametrize("url", [
    "/collections/places/items?bbox=1,2,3",
    "/collections/places/items?bbox=a,b,c,d",
    "/collections/places/items?bbox=106,22,105,21",
    "/collections/places/items?bbox=105,21,200,22",
    "/collections/places/items?limit=0",
    "/collections/places/items?limit=unlimited",
    "/collections/places/items?offset=-1",
    "/collections/places/items?crs=EPSG:1234",
    "/collections/places/items?bbox-crs=urn:nothing&bbox=1,2,3,4",
    "/collections/places/items?ooga=booga",
    "/collections/places/items?datetime=yesterday",
    "/collections/places/items?limit=5&limit=6",
    "/collections/places/items?f=xml",
    "/collections/places/items/1?crs=nonsense",
    "/collections?unknown=1",
])
def test_bad_input_is_a_400_problem_that_names_the_parameter(client, url):
    resp = client.get(url)
    assert resp.status_code == 400, url
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 400 and body["detail"] and body["detail_vi"]
    name = url.split("?")[1].split("=")[0]
    assert name in body["detail"], body


@pytest.mark.parametrize("url", ["/collections/nothing", "/collections/nothing/items", "/collections/places/items/0",
                                 "/collections/places/items/abc", "/no/such/path"])
def test_unknown_resources_are_404_problems(client, url):
    resp = client.get(url)
    assert resp.status_code == 404
    assert resp.json()["status"] == 404
