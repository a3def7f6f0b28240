"""The coverage table in the data export (coverage_<network>.csv in the zip) and in the printed plan map (a table
panel with the distance kind and the indicative note), through the real server and read back as a reader would."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pytest

from tests import pdf
from web.printmap import render_map


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def _expected(client, network: str, distance: float) -> dict:
    return client.get("/analysis/coverage", params={"network": network, "distance_m": distance,
                                                    "overlay": "false"}).json()


def test_the_data_export_carries_the_coverage_table(client, tmp_path):
    resp = client.get("/exports/data", params={"collections": "fuel_stations", "format": "gpkg",
                                               "coverage": "fuel", "coverage_distance_m": 4000})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/zip"  # the GeoPackage and the table travel together
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    names = archive.namelist()
    assert any(n.endswith(".gpkg") for n in names) and "coverage_fuel.csv" in names
    assert "coverage_fuel.csv" in archive.read("README.txt").decode()
    text = archive.read("coverage_fuel.csv").decode("utf-8-sig")
    assert "D = 4000 m" in text and "đường chim bay / straight-line" in text and "Indicative" in text
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    expected = _expected(client, "fuel", 4000)
    communes = {r["code"]: r for r in rows if r["level"] == "commune"}
    assert len(communes) == len(expected["communes"])
    for c in expected["communes"]:
        row = communes[c["code"]]
        want = c["before"]["population_beyond"]
        assert row["population_beyond_before"] == ("" if want is None else str(want))
    # without the option the export is what it always was: one plain file
    plain = client.get("/exports/data", params={"collections": "fuel_stations", "format": "gpkg"})
    assert plain.status_code == 200 and plain.headers["content-type"] != "application/zip"


def test_a_bad_coverage_option_is_refused(client):
    for params in ({"coverage": "water"}, {"coverage": "fuel", "coverage_distance_m": 10}):
        resp = client.get("/exports/data", params={"collections": "fuel_stations", "format": "csv", **params})
        assert resp.status_code == 400, resp.text
        resp = client.get("/exports/map", params={"size": "A4", "dpi": 72, **params})
        assert resp.status_code == 400, resp.text


def test_the_printed_map_has_the_coverage_table(client):
    resp = client.get("/exports/map", params={"size": "A4", "orientation": "landscape", "dpi": 72,
                                              "coverage": "lpg", "coverage_distance_m": 2000})
    assert resp.status_code == 200, resp.text
    text = pdf.text(resp.content)
    assert "ĐỘ PHỦ MẠNG LƯỚI: Cửa hàng kinh doanh LPG, D = 2 km" in text
    assert "Khoảng cách: đường chim bay" in text and "tham khảo" in text
    expected = _expected(client, "lpg", 2000)
    top = max(expected["communes"], key=lambda c: c["before"]["population_beyond"] or -1)
    people = f"{top['before']['population_beyond']:,}".replace(",", " ")
    assert f"{top['name']} {people}" in text
    assert f"({expected['stations']['before']['count']} cửa hàng)" in text


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_the_table_is_printed_in_english_in_both_orientations(dataset, orientation):
    body = render_map(dataset, size="A4", orientation=orientation, fmt="pdf", dpi=72, lang="en",
                      coverage=("fuel", 3000))
    text = pdf.text(body)
    assert "NETWORK COVERAGE: Fuel stations, D = 3 km" in text and "Distance: straight-line" in text
    assert "Indicative" in text  # the caveats are never left out, whatever rows fit
    assert "NETWORK COVERAGE" not in pdf.text(render_map(dataset, size="A4", fmt="pdf", dpi=72, lang="en"))
