"""The import pipeline: every format in WGS84 and VN-2000 lands in the right place, hostile files are refused
clearly, legacy Vietnamese encodings are recognised.  All source files are made here, in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from layers.importing import ImportRefused, read_import
from layers.importing import encodings as vn

# A small province stand-in around Thái Nguyên city (CRS84), and the points the tests put into files.
PROVINCE = shapely.box(105.4, 21.3, 106.3, 22.7)
NAMES = ["Cây xăng Tân Thịnh", "Cụm công nghiệp Điềm Thụy", "Trạm Gia Sàng"]
POINTS = [(105.8, 21.6), (105.9123, 21.5432), (105.8456, 21.5987)]
CLUSTERS_SCHEMA = {"name": "string", "status": "string", "area_ha": "number", "note": "string",
                   "source": "string", "accuracy": "string"}
STATIONS_SCHEMA = {"name": "string", "status": "string", "grade": "integer", "source": "string",
                   "accuracy": "string"}
VN2000_TM3_PROJ4 = ("+proj=tmerc +lat_0=0 +lon_0=106.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m "
                    "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278")
TO_TM3 = Transformer.from_crs("OGC:CRS84", "EPSG:9213", always_xy=True)


def _points(crs: str = "OGC:CRS84", names: list[str] | None = None) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"name": names or NAMES, "status": ["existing", "planned", "existing"],
                              "grade": [1, 2, 3]}, geometry=[shapely.Point(p) for p in POINTS], crs="OGC:CRS84")
    return frame.to_crs(crs) if crs != "OGC:CRS84" else frame


def _assert_at(frame: gpd.GeoDataFrame, expected=POINTS, tol_m: float = 1.0) -> None:
    """Each imported point within tol_m of where pyproj puts the expected lon/lat (measured in TM-3 metres)."""
    assert len(frame) == len(expected)
    got = np.array([(g.x, g.y) for g in frame.geometry])
    ex, ey = TO_TM3.transform(*np.array(expected).T)
    gx, gy = TO_TM3.transform(got[:, 0], got[:, 1])
    dist = np.hypot(gx - ex, gy - ey)
    assert dist.max() <= tol_m, dist


def _zip(path: Path, files: list[Path], names: list[str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, f in enumerate(files):
            z.write(f, names[i] if names else f.name)
    return path


def _shapefile_zip(tmp: Path, frame: gpd.GeoDataFrame, drop: tuple[str, ...] = (), **kw) -> Path:
    folder = tmp / "shp"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "data.shp", **kw)
    files = [f for f in sorted(folder.iterdir()) if f.suffix not in drop]
    return _zip(tmp / "data.zip", files)


def _imp(path: Path, schema=STATIONS_SCHEMA, **kw):
    kw.setdefault("geometry_type", "Point")
    return read_import(path, "fuel_stations", schema, PROVINCE, **kw)


# ------------------------------------------------------------------------------------------------- encodings
VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
WORDS = ("Thái Nguyên Bắc Kạn Đại Từ Phổ Yên Sông Công Đồng Hỷ Võ Nhai Phú Lương Định Hóa Phú Bình Tích Lương "
         "Quyết Thắng Điềm Thụy Khuyến Nguyễn Trãi Đặng Bằng Nẵng kỹ thuật mỹ thuật Hợp tác Xuân Phương "
         "trường học bệnh viện cửa hàng xăng dầu khu công nghiệp cụm trạm biến áp đường dây ngoằn ngoèo "
         "khuỷu tay chuyện nguyệt quạ ỷ lại yểu điệu").split()


@pytest.mark.parametrize("codec", ["tcvn3", "vni", "cp1258"])
def test_every_vowel_and_tone_round_trips(codec):
    letters = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES] + ["đ", "Đ"]
    capitals = [unicodedata.normalize("NFC", v.upper() + t) for v in VOWELS for t in TONES]
    titled = [w.capitalize() for w in WORDS]
    if codec == "tcvn3":  # TCVN3 has no capital letters with tones (Á, Ố…), only Ă Â Ê Ô Ơ Ư Đ
        titled = [w for w in titled if w[0].isascii() or w[0] in "ĂÂÊÔƠƯĐ"]
    for text in letters + WORDS + titled:
        assert vn.decode(vn.encode(text, codec), codec) == text, (codec, text)
    if codec == "tcvn3":  # no capitals with tones in TCVN3: an all-capital text is written with the ".VnTimeH" font
        text = " ".join("X" + c for c in capitals)
        assert vn.decode(vn.encode(text, codec), codec) == text
    else:
        for c in capitals:
            assert vn.decode(vn.encode(c, codec), codec) == c


def test_known_legacy_spellings():
    assert vn.decode_tcvn3(b"Th\xb8i Nguy\xaan") == "Thái Nguyên"
    assert vn.decode_tcvn3("Céng hßa x· héi chñ nghÜa ViÖt Nam".encode("latin1")) == \
        "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert vn.decode_vni("Thaùi Nguyeân".encode("cp1252")) == "Thái Nguyên"
    assert vn.decode_vni("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam".encode("cp1252")) == \
        "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert vn.decode_vni("Ñaø Naüng, Bình Döông, Thöøa Thieân Hueá".encode("cp1252")) == \
        "Đà Nẵng, Bình Dương, Thừa Thiên Huế"
    assert vn.decode_cp1258("Tha\u0301i Nguyên".encode("cp1258")) == "Thái Nguyên"


@pytest.mark.parametrize("codec", ["tcvn3", "vni", "cp1258"])
def test_detection_picks_the_encoding(codec):
    det = vn.detect([vn.encode(n, codec) for n in NAMES + ["Xã Tân Cương", "Phường Túc Duyên"]])
    assert det.encoding == codec, det.scores
    assert vn.detect([n.encode("utf-8") for n in NAMES]).encoding == "utf-8"


# ------------------------------------------------------------------------------------------------- formats
@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_shapefile_zip(tmp_path, crs):
    frame, report = _imp(_shapefile_zip(tmp_path, _points(crs)))
    _assert_at(frame)
    assert report.crs_source == "file" and report.format == "ESRI Shapefile"
    assert report.crs == ("OGC:CRS84" if crs == "OGC:CRS84" else "EPSG:9213")
    assert list(frame["name"]) == NAMES and list(frame["grade"]) == [1, 2, 3]
    assert report.encoding_source == "cpg" and report.encoding == "utf-8"
    assert list(frame.columns) == ["name", "status", "grade", "source", "accuracy", "geometry"]
    assert set(frame["source"]) == {f"planmap: imported on {dt.date.today().isoformat()}"}  # not the file's name
    assert set(frame["accuracy"]) == {"approximate"}
    assert any(n["code"] == "accuracy_default" for n in report.notes)
    assert report.features_read == report.features_imported == 3 and not report.problems
    json.dumps(report.to_dict())


@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_geopackage(tmp_path, crs):
    path = tmp_path / "f.gpkg"
    pyogrio.write_dataframe(_points(crs), path, layer="cay_xang")
    frame, report = _imp(path, accuracy="exact")
    _assert_at(frame)
    assert report.crs_source == "file" and set(frame["accuracy"]) == {"exact"}


def test_geopackage_several_layers(tmp_path):
    path = tmp_path / "f.gpkg"
    pyogrio.write_dataframe(_points(), path, layer="a")
    pyogrio.write_dataframe(_points(), path, layer="b", append=False)
    with pytest.raises(ImportRefused) as err:
        _imp(path)
    assert err.value.code == "several_layers" and "a (3)" in err.value.en and "b (3)" in err.value.en
    frame, _ = _imp(path, source_layer="b")
    _assert_at(frame)


def test_kml(tmp_path):
    path = tmp_path / "f.kml"
    pyogrio.write_dataframe(_points().rename(columns={"name": "Name"}), path, driver="KML")
    frame, report = _imp(path)
    _assert_at(frame)
    assert list(frame["name"]) == NAMES and report.crs == "OGC:CRS84" and report.crs_source == "file"


def test_kmz(tmp_path):
    kml = tmp_path / "doc.kml"
    pyogrio.write_dataframe(_points(), kml, driver="KML")
    frame, report = _imp(_zip(tmp_path / "f.kmz", [kml]))
    _assert_at(frame)
    assert report.format == "KML"


@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_dxf_has_no_crs(tmp_path, crs):
    path = tmp_path / "f.dxf"
    pyogrio.write_dataframe(_points(crs)[["geometry"]], path, driver="DXF")
    frame, report = _imp(path)
    _assert_at(frame)
    expected = "assumed_wgs84" if crs == "OGC:CRS84" else "assumed_vn2000_tm3"
    assert report.crs_source == expected
    note = next(n for n in report.notes if n["code"] == "crs_assumed")
    if crs == "EPSG:9213":
        assert "Đã giả định VN-2000 múi 3° kinh tuyến trục 106°30′" in note["message"]["vi"]
        assert report.crs == "EPSG:9213"


def test_dxf_with_prj_in_zip(tmp_path):
    dxf = tmp_path / "ban_ve.dxf"
    pyogrio.write_dataframe(_points("EPSG:9213")[["geometry"]], dxf, driver="DXF")
    prj = tmp_path / "ban_ve.prj"
    prj.write_text(pyogrio.read_info(_shapefile_zip(tmp_path, _points("EPSG:9213")).parent / "shp" / "data.shp")
                   ["crs"])
    frame, report = _imp(_zip(tmp_path / "cad.zip", [dxf, prj]))
    _assert_at(frame)
    assert report.crs_source == "file" and report.crs == "EPSG:9213"


@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_dgn_v7(tmp_path, crs):
    path = tmp_path / "f.dgn"
    pyogrio.write_dataframe(_points(crs)[["geometry"]], path, driver="DGN")
    frame, report = _imp(path)
    _assert_at(frame)  # DGN v7 writes points as zero-length lines: read back as points
    assert report.crs_source == ("assumed_wgs84" if crs == "OGC:CRS84" else "assumed_vn2000_tm3")
    assert any(n["code"] == "geometry_zero_line_as_point" for n in report.notes)


@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_mapinfo_tab_zip(tmp_path, crs):
    folder = tmp_path / "tab"
    folder.mkdir()
    frame = _points(crs)
    if crs == "EPSG:9213":  # as VN-2000 TAB files are made: TM-3 106°30′ with the datum's 7 parameters
        frame = frame.set_crs(VN2000_TM3_PROJ4, allow_override=True)
    pyogrio.write_dataframe(frame, folder / "cayxang.tab", driver="MapInfo File")
    frame, report = _imp(_zip(tmp_path / "tab.zip", sorted(folder.iterdir())))
    _assert_at(frame)
    assert report.crs_source == "file" and list(frame["name"]) == NAMES


@pytest.mark.parametrize("crs", ["OGC:CRS84", "EPSG:9213"])
def test_geojson(tmp_path, crs):
    path = tmp_path / "f.geojson"
    pyogrio.write_dataframe(_points(crs), path, driver="GeoJSON")  # writes a "crs" member for EPSG:9213
    frame, report = _imp(path)
    _assert_at(frame)
    assert report.crs_source == "file"


def test_geojson_metres_without_crs_member(tmp_path):
    m = _points("EPSG:9213")
    features = [{"type": "Feature", "properties": {"ten": n}, "geometry": {"type": "Point",
                                                                          "coordinates": [g.x, g.y]}}
                for n, g in zip(m["name"], m.geometry, strict=True)]
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    frame, report = _imp(path)
    _assert_at(frame)
    assert report.crs_source == "assumed_vn2000_tm3" and report.field_mapping == {"ten": "name"}


def test_csv_lonlat_and_vn2000_xy(tmp_path):
    path = tmp_path / "lonlat.csv"
    rows = ["kinh_do;vi_do;Tên;Trạng thái;Cấp"] + [f"{x:.6f};{y:.6f};{n};existing;1".replace(".", ",")
                                                    for (x, y), n in zip(POINTS, NAMES, strict=True)]
    path.write_text("\n".join(rows), encoding="utf-8")
    frame, report = _imp(path)
    _assert_at(frame)
    assert list(frame["name"]) == NAMES and report.crs_source == "assumed_wgs84"
    assert report.field_mapping == {"Tên": "name", "Trạng thái": "status", "Cấp": "grade"}
    assert any(n["code"] == "decimal_comma" for n in report.notes)
    # VN-2000 in the surveying order: X = northing, Y = easting
    m = _points("EPSG:9213")
    path = tmp_path / "xy.csv"
    path.write_text("X,Y,ten\n" + "\n".join(f"{g.y:.3f},{g.x:.3f},{n}" for g, n in zip(m.geometry, NAMES,
                                                                                       strict=True)))
    frame, report = _imp(path)
    _assert_at(frame)
    assert report.crs_source == "assumed_vn2000_tm3" and "X = northing" in report.notes[0]["message"]["en"]


def test_csv_wkt_declared_crs(tmp_path):
    path = tmp_path / "wkt.csv"
    pyogrio.write_dataframe(_points("EPSG:9213"), path, driver="CSV", layer_options={"GEOMETRY": "AS_WKT"})
    frame, report = _imp(path, crs="http://www.opengis.net/def/crs/EPSG/0/9213")
    _assert_at(frame)
    assert report.crs_source == "declared" and report.crs == "EPSG:9213"


# ------------------------------------------------------------------------------------------------- hostile files
def test_truncated_zip(tmp_path):
    good = _shapefile_zip(tmp_path, _points())
    bad = tmp_path / "cut.zip"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ImportRefused) as err:
        _imp(bad)
    assert err.value.code == "truncated_zip" and "tải lên lại" in err.value.vi


def test_missing_prj(tmp_path):
    frame, report = _imp(_shapefile_zip(tmp_path, _points("EPSG:9213"), drop=(".prj",)))
    _assert_at(frame)
    assert report.crs_source == "assumed_vn2000_tm3"


def test_missing_prj_utm_is_ambiguous(tmp_path):
    with pytest.raises(ImportRefused) as err:
        _imp(_shapefile_zip(tmp_path, _points("EPSG:3405"), drop=(".prj",)))
    assert err.value.code == "ambiguous_crs" and "EPSG:3405" in err.value.en
    frame, report = _imp(_shapefile_zip(tmp_path, _points("EPSG:3405"), drop=(".prj",)), crs="EPSG:3405")
    _assert_at(frame)


def test_wrong_crs(tmp_path):
    metres_as_wgs84 = _points("EPSG:9213").set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(ImportRefused) as err:
        _imp(_shapefile_zip(tmp_path, metres_as_wgs84))
    assert err.value.code == "wrong_crs" and "EPSG:9213" in err.value.en and "mét VN-2000" in err.value.vi
    degrees_as_vn2000 = _points().set_crs("EPSG:9213", allow_override=True)
    path = tmp_path / "d.gpkg"
    pyogrio.write_dataframe(degrees_as_vn2000, path)
    with pytest.raises(ImportRefused) as err:
        _imp(path)
    assert err.value.code == "wrong_crs" and "degrees" in err.value.en
    with pytest.raises(ImportRefused) as err:  # declared, but the file is in metres
        _imp(_shapefile_zip(tmp_path, _points("EPSG:9213")), crs="EPSG:4326")
    assert err.value.code == "wrong_crs"


def test_declared_crs_overrides_file_with_note(tmp_path):
    wrong_label = _points("EPSG:9213").set_crs("EPSG:3405", allow_override=True)
    frame, report = _imp(_shapefile_zip(tmp_path, wrong_label), crs="EPSG:9213")
    _assert_at(frame)
    assert any(n["code"] == "declared_crs_overrides_file" for n in report.notes)
    # without the declaration the same file lands ~160 km off: flagged outside the province
    frame, report = _imp(_shapefile_zip(tmp_path, wrong_label))
    assert {p["code"] for p in report.problems} == {"outside_province"}
    assert any(n["code"] == "all_outside_province" for n in report.notes)


def test_empty_file_and_zero_features(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(ImportRefused) as err:
        _imp(empty)
    assert err.value.code == "empty_file"
    gpkg = tmp_path / "none.gpkg"
    pyogrio.write_dataframe(_points().iloc[:0], gpkg)
    with pytest.raises(ImportRefused) as err:
        _imp(gpkg)
    assert err.value.code == "no_features"
    fc = tmp_path / "none.geojson"
    fc.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ImportRefused) as err:
        _imp(fc)
    assert err.value.code == "no_features"


def test_junk_and_unknown(tmp_path):
    junk = tmp_path / "x.bin"
    junk.write_bytes(os.urandom(1000))
    with pytest.raises(ImportRefused) as err:
        _imp(junk)
    assert err.value.code == "unknown_format"
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(2000))
    with pytest.raises(ImportRefused) as err:
        _imp(bad)
    assert err.value.code == "unreadable"


def test_zip_with_several_datasets(tmp_path):
    a, b = tmp_path / "a.geojson", tmp_path / "b.kml"
    pyogrio.write_dataframe(_points(), a)
    pyogrio.write_dataframe(_points(), b, driver="KML")
    with pytest.raises(ImportRefused) as err:
        _imp(_zip(tmp_path / "two.zip", [a, b]))
    assert err.value.code == "several_datasets" and "a.geojson" in err.value.en and "b.kml" in err.value.en


def test_too_large(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as f:  # 100 MB of junk: refused before any parsing
        f.write(b"PK\x03\x04")
        f.truncate(100_000_000)
    with pytest.raises(ImportRefused) as err:
        _imp(big, max_bytes=50_000_000)
    assert err.value.code == "too_large" and err.value.status == 413
    huge = tmp_path / "huge.geojson"
    with open(huge, "wb") as f:
        f.truncate(250_000_000)
    with pytest.raises(ImportRefused) as err:
        _imp(huge)  # the default limit, 200 MB
    assert err.value.code == "too_large"
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.geojson", b" " * 60_000_000)
    with pytest.raises(ImportRefused) as err:
        _imp(bomb, max_bytes=50_000_000)
    assert err.value.code == "too_large"


def test_real_100mb_file_within_the_default_limit(tmp_path):
    path = tmp_path / "padded.geojson"
    body = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Point", "coordinates": list(p)}}
        for n, p in zip(NAMES, POINTS, strict=True)]}, ensure_ascii=False).encode()
    with open(path, "wb") as f:
        f.write(body[:-1] + b" " * 100_000_000 + body[-1:])
    assert path.stat().st_size > 100_000_000
    frame, report = _imp(path)
    _assert_at(frame)
    assert list(frame["name"]) == NAMES


def test_invalid_geometries(tmp_path):
    bowtie = shapely.Polygon([(105.80, 21.60), (105.81, 21.61), (105.81, 21.60), (105.80, 21.61), (105.80, 21.60)])
    good = shapely.box(105.82, 21.58, 105.83, 21.59)
    frame = gpd.GeoDataFrame({"ten": ["Nơ", "Tốt", "Rỗng"], "dien_tich": ["12,5", "3", "x"]},
                             geometry=[bowtie, good, None], crs="OGC:CRS84")
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(frame, path, geometry_type="Polygon")
    out, report = read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, geometry_type="MultiPolygon")
    assert len(out) == 2 and report.features_rejected == 1
    assert list(out["area_ha"]) == [12.5, 3.0] and list(out.attrs["source_features"]) == [1, 2]
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in out.geometry)
    repaired = [p for p in report.problems if p["code"] == "invalid_geometry_repaired"]
    assert [p["feature"] for p in repaired] == [1] and repaired[0]["severity"] == "warning"
    assert "Self-intersection" in repaired[0]["message"]["en"] and "tự cắt" in repaired[0]["message"]["vi"]
    assert [p["feature"] for p in report.problems if p["code"] == "empty_geometry"] == [3]
    assert report.missing_fields == ["status", "note"]
    out, report = read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, geometry_type="MultiPolygon",
                              repair=False)
    assert len(out) == 1 and report.features_rejected == 2
    assert [(p["feature"], p["code"]) for p in report.errors] == [
        (1, "invalid_geometry"), (3, "empty_geometry"), (3, "bad_type")]  # every problem of a feature is listed


def test_bad_types_and_geometry_types(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A", "B", "C"], "grade": ["1", "hai", "3.5"]},
                             geometry=[shapely.Point(105.8, 21.6), shapely.Point(105.81, 21.6),
                                       shapely.LineString([(105.8, 21.6), (105.9, 21.7)])], crs="OGC:CRS84")
    path = tmp_path / "t.geojson"
    pyogrio.write_dataframe(frame, path)
    out, report = _imp(path)
    assert list(out["name"]) == ["A"]
    codes = {(p["feature"], p["code"]) for p in report.errors}
    assert codes == {(2, "bad_type"), (3, "geometry_type"), (3, "bad_type")}  # 3.5 is not an integer either
    out, report = _imp(path, on_bad_value="null")
    assert list(out["name"]) == ["A", "B"] and out["grade"].isna().tolist() == [False, True]


def test_outside_province_and_vietnam(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["in", "Hà Nội", "Bangkok"]}, geometry=[
        shapely.Point(105.8, 21.6), shapely.Point(105.85, 21.03), shapely.Point(100.5, 13.75)], crs="OGC:CRS84")
    path = tmp_path / "o.geojson"
    pyogrio.write_dataframe(frame, path)
    out, report = _imp(path)
    assert list(out["name"]) == ["in", "Hà Nội"]
    assert [(p["feature"], p["code"], p["severity"]) for p in report.problems] == [
        (2, "outside_province", "warning"), (3, "outside_vietnam", "error")]


@pytest.mark.parametrize("codec,source", [("tcvn3", "detected_tcvn3"), ("vni", "detected_vni"),
                                          ("cp1258", "detected_cp1258")])
def test_legacy_encoded_shapefile(tmp_path, codec, source):
    """A .dbf holding TCVN3/VNI/Windows-1258 bytes, no .cpg: detected, names (and field names) converted."""
    legacy = [vn.encode(n, codec).decode("latin1") for n in NAMES]
    frame = _points(names=legacy).rename(columns={"name": vn.encode("Tên", codec).decode("latin1")})
    path = _shapefile_zip(tmp_path, frame, drop=(".cpg",), encoding="latin1")
    out, report = _imp(path)
    assert list(out["name"]) == NAMES
    assert report.encoding == codec and report.encoding_source == source
    assert report.field_mapping[unicodedata.normalize("NFC", "Tên")] == "name"
    # declared wins
    out, report = _imp(path, encoding={"tcvn3": "TCVN3", "vni": "vni", "cp1258": "windows-1258"}[codec])
    assert list(out["name"]) == NAMES and report.encoding_source == "declared"


def test_tcvn3_text_in_a_utf8_file(tmp_path):
    """TCVN3 typed into a GeoJSON/KML (the ".VnTime" font shows it right, Unicode shows "Th¸i Nguyªn")."""
    legacy = [vn.encode_tcvn3(n).decode("cp1252") for n in NAMES]
    path = tmp_path / "l.geojson"
    pyogrio.write_dataframe(_points(names=legacy), path)
    out, report = _imp(path)
    assert list(out["name"]) == NAMES and report.encoding_source == "detected_tcvn3"


def test_ambiguous_encoding_refused(tmp_path):
    frame = _points(names=["\xb8\xe9\xf5", "\xaa\xfc\xe2", "\xd0\xd1\xcc"])
    with pytest.raises(ImportRefused) as err:
        _imp(_shapefile_zip(tmp_path, frame, drop=(".cpg",), encoding="latin1"))
    assert err.value.code == "ambiguous_encoding" and "tcvn3" in err.value.vi


def test_field_mapping_by_vietnamese_names_and_explicit(tmp_path):
    frame = gpd.GeoDataFrame({"TEN_CCN": ["Cụm A"], "Trạng_thái": ["planned"], "DIENTICH": [12.5],
                              "Ghi chú": ["thử"], "Nguồn": ["Sở Công Thương 2024"], "do_chinh_xac": ["gần đúng"],
                              "khac": ["x"]}, geometry=[shapely.box(105.8, 21.6, 105.81, 21.61)], crs="OGC:CRS84")
    path = tmp_path / "m.gpkg"
    pyogrio.write_dataframe(frame, path)
    out, report = read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, geometry_type="MultiPolygon")
    assert report.field_mapping == {"TEN_CCN": "name", "Trạng_thái": "status", "DIENTICH": "area_ha",
                                    "Ghi chú": "note", "Nguồn": "source", "do_chinh_xac": "accuracy"}
    assert report.unmapped_fields == ["khac"] and report.missing_fields == []
    row = out.iloc[0]
    assert (row["name"], row["area_ha"], row["source"], row["accuracy"]) == \
        ("Cụm A", 12.5, "Sở Công Thương 2024", "approximate")
    out, report = read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, field_map={"khac": "note"})
    assert out.iloc[0]["note"] == "x" and "Ghi chú" in report.unmapped_fields
    with pytest.raises(ImportRefused) as err:
        read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, field_map={"nope": "note"})
    assert err.value.code == "bad_field_map"


def test_new_layer_keeps_source_fields(tmp_path):
    path = tmp_path / "n.geojson"
    pyogrio.write_dataframe(_points(), path)
    out, report = read_import(path, "new_layer", None, PROVINCE)
    assert list(out.columns) == ["name", "status", "grade", "source", "accuracy", "geometry"]
    assert report.missing_fields == [] and report.unmapped_fields == []


def test_report_is_json(tmp_path):
    bowtie = shapely.Polygon([(105.80, 21.60), (105.81, 21.61), (105.81, 21.60), (105.80, 21.61), (105.80, 21.60)])
    path = tmp_path / "r.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"ten": ["Nơ"]}, geometry=[bowtie], crs="EPSG:4326"), path)
    _, report = read_import(path, "industrial_clusters", CLUSTERS_SCHEMA, PROVINCE, geometry_type="MultiPolygon")
    d = report.to_dict()
    text = json.dumps(d, ensure_ascii=False)
    assert d["problems"][0]["feature"] == 1 and d["problems"][0]["message"]["vi"]
    assert "Hình học không hợp lệ đã được sửa" in text and set(d) >= {"crs_source", "notes", "field_mapping"}
