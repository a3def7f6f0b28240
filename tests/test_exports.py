"""Data exports opened again with a real reader (GDAL through pyogrio): CRS, counts, Vietnamese text, coordinates."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from tests import pdf
from tests.test_ogc_api import read_layer

WGS84 = "http://www.opengis.net/def/crs/EPSG/0/4326"
VN2000 = "http://www.opengis.net/def/crs/EPSG/0/9213"
UTM48 = "http://www.opengis.net/def/crs/EPSG/0/3405"
COLLECTIONS = ["industrial_parks", "fuel_stations"]


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def download(client, tmp_path: Path, **params) -> Path:
    resp = client.get("/exports/data", params=params)
    assert resp.status_code == 200, resp.text
    name = resp.headers["content-disposition"].split("filename=")[1].strip('"')
    path = tmp_path / name
    path.write_bytes(resp.content)
    return path


def open_layers(path: Path, fmt: str) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of an export, read by GDAL (inside the zip when zipped)."""
    if fmt == "dxf":
        pyogrio.set_gdal_config_options({"DXF_ENCODING": "UTF-8"})  # DXF R2010 text is UTF-8 by the DXF spec
    if path.suffix == ".zip":
        names = [n for n in zipfile.ZipFile(path).namelist()
                 if n.rsplit(".", 1)[-1] in ("shp", "geojson", "csv", "fgb", "dxf") and not n.endswith("_fields.csv")]
        out = {n.rsplit(".", 1)[0]: pyogrio.read_dataframe(f"/vsizip/{path}/{n}") for n in names}
        if fmt == "shp":
            listing = zipfile.ZipFile(path).read
            out = {k: _join_continued(v, listing(f"{k}_fields.csv").decode()) for k, v in out.items()}
        return out
    out = {}
    for name, _ in pyogrio.list_layers(path):
        frame = pyogrio.read_dataframe(path, layer=str(name), fid_as_index=True)
        if "fid" not in frame.columns:  # GeoPackage keeps the feature id as the table's own fid
            frame["fid"] = frame.index
        frame.index.name = None
        out[str(name)] = frame
    return out


def _join_continued(frame: gpd.GeoDataFrame, listing: str) -> gpd.GeoDataFrame:
    """Undo the shapefile naming: full names back, long text re-joined from its continuation fields."""
    rows = [line.split(",") for line in listing.splitlines()[1:]]
    frame = frame.rename(columns={short: full for full, short, _ in rows})
    for whole in {part_of for _, _, part_of in rows if part_of}:
        parts = [full for full, _, part_of in rows if part_of == whole]
        frame[whole] = frame[parts].fillna("").astype(str).agg("".join, axis=1).replace("", None)
        frame = frame.drop(columns=[p for p in parts if p != whole])
    return frame


def expected_crs(frame: gpd.GeoDataFrame, fmt: str) -> int | None:
    if fmt == "csv":
        return int(frame["crs"].iloc[0].split(":")[1])
    return frame.crs.to_epsg() if frame.crs is not None else None


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "kml", "geojson", "csv", "fgb"])
@pytest.mark.parametrize("crs", [WGS84, VN2000, UTM48])
def test_every_format_round_trips_crs_counts_text_and_coordinates(client, tmp_path, fmt, crs):
    if fmt == "kml" and crs != WGS84:
        resp = client.get("/exports/data", params={"collections": "fuel_stations", "format": "kml", "crs": crs})
        assert resp.status_code == 400 and "WGS84" in resp.json()["detail"]
        return
    path = download(client, tmp_path, collections=",".join(COLLECTIONS), format=fmt, crs=crs)
    layers = open_layers(path, fmt)
    epsg = int(crs.rsplit("/", 1)[1])
    for cid in COLLECTIONS:
        got = layers[cid]
        want = read_layer(cid)
        assert len(got) == len(want), (fmt, cid)
        if fmt == "csv":
            got = gpd.GeoDataFrame(got, geometry=gpd.GeoSeries.from_wkt(got["wkt"]), crs=got["crs"].iloc[0])
        assert expected_crs(got, fmt) == epsg
        got = got.assign(fid=got["fid"].astype(int)).sort_values("fid").reset_index(drop=True)  # FlatGeobuf reorders
        assert got["fid"].tolist() == want.index.tolist()
        name_col = "Name" if fmt == "kml" else "name"
        assert got[name_col].fillna("").tolist() == want["name"].fillna("").tolist()  # Vietnamese names intact
        assert any(any(ord(ch) > 127 for ch in n) for n in got[name_col].dropna())
        assert got["source"].tolist() == want["source"].tolist()
        assert got["accuracy"].tolist() == want["accuracy"].tolist()
        back = got.set_crs(f"EPSG:{epsg}", allow_override=True).to_crs("EPSG:9213")
        ref = want.to_crs("EPSG:9213")
        a = shapely.get_coordinates(back.geometry.to_numpy())
        b = shapely.get_coordinates(ref.geometry.to_numpy())
        assert a.shape == b.shape and np.abs(a - b).max() < 0.01, fmt


def test_shapefile_zip_has_cpg_prj_and_lists_shortened_field_names(client, tmp_path):
    path = download(client, tmp_path, collections="communes", format="shp", crs=VN2000)
    zf = zipfile.ZipFile(path)
    names = set(zf.namelist())
    assert {"communes.shp", "communes.shx", "communes.dbf", "communes.prj", "communes.cpg",
            "communes_fields.csv"} <= names
    assert zf.read("communes.cpg").decode().strip() == "UTF-8"
    assert "TM-3" in zf.read("communes.prj").decode() or "106" in zf.read("communes.prj").decode()
    listing = {line.split(",")[0]: line.split(",")[1]
               for line in zf.read("communes_fields.csv").decode().splitlines()[1:]}
    assert listing["former_districts"] == "former_dis" and listing["former_province"] == "former_pro"
    got = pyogrio.read_dataframe(f"/vsizip/{path}/communes.shp")
    assert set(listing.values()) == set(got.columns) - {"geometry"}
    got = _join_continued(got, zf.read("communes_fields.csv").decode())
    assert got["formed_from"].tolist() == read_layer("communes")["formed_from"].tolist()


def test_dxf_has_cad_layers_and_labels_in_vietnamese(client, tmp_path):
    path = download(client, tmp_path, collections="industrial_parks,industrial_clusters", format="dxf", crs=VN2000)
    zf = zipfile.ZipFile(path)
    assert {"planmap.dxf", "planmap.prj", "README.txt"} <= set(zf.namelist())
    dxf = open_layers(path, "dxf")["planmap"]
    labels = set(dxf["Text"].dropna())
    assert set(read_layer("industrial_parks")["name"]) <= labels
    assert {"Khu công nghiệp", "Cụm công nghiệp"} <= set(dxf["Layer"])
    ref = read_layer("industrial_parks").to_crs("EPSG:9213")
    assert np.allclose(dxf.total_bounds[:2], np.minimum(ref.total_bounds[:2], dxf.total_bounds[:2]))
    minx, miny, maxx, maxy = dxf.total_bounds
    assert 380_000 < minx < maxx < 520_000 and 2_300_000 < miny < maxy < 2_600_000  # VN-2000 metres


def test_single_collection_geojson_is_a_plain_file_and_a_selection_works(client, tmp_path):
    parks = read_layer("industrial_parks")
    planned = parks[parks["status"] == "planned"]
    path = download(client, tmp_path, collections="industrial_parks", format="geojson", status="planned")
    assert path.suffix == ".geojson"
    got = pyogrio.read_dataframe(path)
    assert got["name"].tolist() == planned["name"].tolist()
    bbox = "105.70,21.40,105.95,21.60"
    facilities = read_layer("public_facilities")
    inside = facilities[facilities.intersects(shapely.box(105.70, 21.40, 105.95, 21.60))]
    path = download(client, tmp_path, collections="public_facilities", format="gpkg", bbox=bbox)
    assert len(pyogrio.read_dataframe(path)) == len(inside) > 0


@pytest.mark.parametrize("params, status, words", [
    ({"collections": "industrial_parks", "format": "xls"}, 400, "format"),
    ({"collections": "nothing", "format": "gpkg"}, 404, "nothing"),
    ({"collections": "industrial_parks", "format": "gpkg", "bbox": "0,0,1,1"}, 400, "empty"),
    ({"collections": "industrial_parks", "format": "gpkg", "crs": "EPSG:1"}, 400, "crs"),
    ({"collections": "industrial_parks", "format": "gpkg", "colour": "red"}, 400, "colour"),
    ({"format": "gpkg"}, 400, "collections"),
])
def test_bad_export_requests_say_what_is_wrong(client, params, status, words):
    resp = client.get("/exports/data", params=params)
    assert resp.status_code == status
    assert words in resp.json()["detail"]


def test_map_export_over_http_is_an_a1_pdf_with_the_plan_title(client):
    resp = client.get("/exports/map", params={"preset": "cluster-plan-2030", "size": "A1", "orientation": "landscape",
                                              "f": "pdf", "dpi": 100})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    [(width, height)] = pdf.pages(resp.content)
    assert abs(width - 841 / 25.4 * 72) < 2 and abs(height - 594 / 25.4 * 72) < 2  # A1 landscape
    text = pdf.text(resp.content)
    assert "PHƯƠNG ÁN PHÁT TRIỂN CỤM CÔNG NGHIỆP" in text and "1:" in text and "VN-2000" in text


@pytest.mark.parametrize("params, words", [
    ({"preset": "nothing"}, "preset"), ({"size": "A0"}, "A0"), ({"dpi": 5}, "dpi"), ({"f": "tiff"}, "tiff"),
    ({"collections": "nothing"}, "nothing"), ({"bbox": "0,0,1,1"}, "bbox"),
])
def test_bad_map_requests_are_400_with_a_reason(client, params, words):
    resp = client.get("/exports/map", params=params)
    assert resp.status_code == 400
    assert words in resp.json()["detail"]


def test_a_long_map_export_does_not_block_other_users(client, server):
    import threading
    import time

    done = {}

    def render() -> None:
        with httpx.Client(base_url=server.url, timeout=300) as other:
            done["status"] = other.get("/exports/map", params={"size": "A1", "f": "png", "dpi": 300}).status_code

    worker = threading.Thread(target=render)
    worker.start()
    time.sleep(0.5)  # the render is under way
    waits = []
    while worker.is_alive() and len(waits) < 20:
        start = time.perf_counter()
        assert client.get("/collections/industrial_parks/items", params={"limit": 5}).status_code == 200
        waits.append(time.perf_counter() - start)
        time.sleep(0.1)
    worker.join()
    assert done["status"] == 200
    assert waits and max(waits) < 1.0, waits  # other requests are answered while the map renders


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "fgb", "kml", "csv", "shp", "dxf"])
def test_every_export_carries_the_licence_and_attribution(client, tmp_path, fmt):
    """Licences are honoured: each file says under which licence its data is and whom to credit, inside the file
    itself (layer metadata, KML description, CSV columns) or in the README of the zip."""
    meta = client.get("/collections/fuel_stations").json()
    assert meta["license"] and meta["attribution"]
    path = download(client, tmp_path, collections="fuel_stations", format=fmt)
    if path.suffix == ".zip":
        readme = zipfile.ZipFile(path).read("README.txt").decode("utf-8")
        assert meta["license"] in readme and meta["attribution"] in readme
    elif fmt == "kml":
        text = path.read_text(encoding="utf-8")
        assert meta["license"] in text and meta["attribution"] in text
    elif fmt == "csv":
        table = pd.read_csv(path)
        assert set(table["license"]) == {meta["license"]} and set(table["attribution"]) == {meta["attribution"]}
    else:
        description = pyogrio.read_info(path)["layer_metadata"]["DESCRIPTION"]
        assert meta["license"] in description and meta["attribution"] in description
