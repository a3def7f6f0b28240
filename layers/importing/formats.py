"""The formats planmap imports, and recognising a file's format by its first bytes rather than trusting its name."""

from __future__ import annotations

import re
from pathlib import Path

FORMATS = {
    "shapefile": "ESRI Shapefile", "gpkg": "GeoPackage", "kml": "KML", "dxf": "AutoCAD DXF",
    "dgn": "MicroStation DGN (v7)", "mapinfo": "MapInfo TAB/MIF", "geojson": "GeoJSON", "csv": "CSV",
}
SUPPORTED_EN = ("Shapefile (zip with .shp, .shx, .dbf, .prj), GeoPackage, KML/KMZ, DXF, DGN (v7), "
                "MapInfo TAB (zip with .tab, .dat, .map, .id), GeoJSON, CSV with coordinate columns")
SUPPORTED_VI = ("Shapefile (nén zip gồm .shp, .shx, .dbf, .prj), GeoPackage, KML/KMZ, DXF, DGN (v7), "
                "MapInfo TAB (nén zip gồm .tab, .dat, .map, .id), GeoJSON, CSV có cột tọa độ")
EXT_FORMAT = {
    ".shp": "shapefile", ".gpkg": "gpkg", ".kml": "kml", ".dxf": "dxf", ".dgn": "dgn", ".tab": "mapinfo",
    ".mif": "mapinfo", ".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".txt": "csv",
}


def sniff(path: Path) -> str | None:
    """The format from the content (first bytes), falling back to the extension; None if unknown.

    Besides the keys of FORMATS: "zip" (an archive, KMZ included) and "ole" (a DGN v8 or another OLE document)."""
    with open(path, "rb") as f:
        head = f.read(8192)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if len(head) >= 4 and head[0] in (0x08, 0xC8) and head[1] == 0x09 and head[2] == 0xFE and head[3] == 0x02:
        return "dgn"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"AutoCAD Binary DXF") or re.match(rb"(999\s*\r?\n.*\r?\n\s*)?0\s*\r?\n\s*SECTION", text):
        return "dxf"
    low = text[:4096].lower()
    if low.startswith(b"<") and b"<kml" in low:
        return "kml"
    if low.startswith(b"!table"):
        return "mapinfo"
    if low.startswith(b"version ") and b"columns" in low:
        return "mapinfo"  # MIF
    if low.startswith(b"{") and (b'"type"' in low or b'"features"' in low):
        return "geojson"
    ext = path.suffix.lower()
    if ext in (".zip", ".kmz"):
        return "zip"
    fmt = EXT_FORMAT.get(ext)
    if fmt in ("csv", "shapefile"):
        return fmt
    if fmt is not None and head.strip():
        return fmt  # the extension's format; the reader will say if the content does not fit
    return None

