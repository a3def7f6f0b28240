"""A standalone offline copy of the web map: a zip whose index.html opens from disk, with no server and no internet.

The copy holds the page (the same scripts, web/page.py's BASE_PARTS, without the tools that need the server), the
vendor assets, the relief image and the chosen layers' features as `data/<id>.js` scripts that set
`window.PLANMAP_DATA[id]` — pages opened from file:// may load scripts but not fetch JSON.  Layers, styles, legend,
popups, the accuracy note and a search over the embedded names work; checks and exports do not (they need the
server).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from web import assets
from web.page import BASE_PARTS, MapSettings, render_map_page

OWN = (*BASE_PARTS, "planmap.css")  # the tools (TOOL_PARTS: checks, exports, sign-in) are not part of the copy
SKIP_VENDOR = ("leaflet-draw/", "protomaps-leaflet/")  # the tools' drawing; vector base maps (served tiles only)

README = """planmap — bản đồ ngoại tuyến / offline map ({created})

Mở index.html bằng trình duyệt (Chrome, Edge, Firefox) — không cần máy chủ, không cần Internet.
Open index.html in a browser — no server and no internet needed.

Các lớp / layers: {layers}
{skipped}
Dữ liệu minh họa/gần đúng — không phải số liệu chính thức: xem ghi chú màu vàng trên bản đồ.
Demonstration/approximate data — not official figures: see the yellow note on the map.
Licences: see each layer's attribution on the map and data/sources/SOURCES.md of planmap.
"""


def data_script(layer_id: str, feature_collection: bytes) -> bytes:
    """A script that registers one layer's GeoJSON (JSON is JavaScript; the id is a JSON string)."""
    key = json.dumps(layer_id)
    return (b"window.PLANMAP_DATA = window.PLANMAP_DATA || {};\nwindow.PLANMAP_DATA[" + key.encode() + b"] = "
            + feature_collection + b";\n")


def offline_map_zip(settings: MapSettings, collections: list[dict], features: dict[str, bytes],
                    hillshade_png: bytes | None = None, skipped: list[str] | None = None) -> bytes:
    """The zip: index.html, static/ (vendor and own assets, relief), data/<id>.js per collection.

    `collections`: the collection documents (as GET /collections gives them) of the layers to include;
    `features`: each one's FeatureCollection (GeoJSON bytes, CRS84), by id.
    """
    created = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    scripts = [f"data/{c['id']}.js" for c in collections]
    if hillshade_png is None:
        settings = MapSettings(home=settings.home, hillshade_bounds=None, osm_tiles=None)
    else:
        settings = MapSettings(home=settings.home, hillshade_bounds=settings.hillshade_bounds, osm_tiles=None)
    page = render_map_page(settings, offline={"collections": collections, "scripts": scripts, "created": created})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.html", page)
        for path in sorted(assets.VENDOR_FILES):
            if path.startswith(SKIP_VENDOR):
                continue
            file = assets.vendor_file(path)
            if file is not None:
                zf.write(file, "static/vendor/" + path)
        for name in OWN:
            zf.write(assets.STATIC / name, "static/" + name)
        if hillshade_png is not None:
            zf.writestr("static/hillshade.png", hillshade_png)
        for c in collections:
            zf.writestr(f"data/{c['id']}.js", data_script(c["id"], features[c["id"]]))
        note = f"Không gồm (lớp nội bộ) / left out (internal layers): {', '.join(skipped)}\n" if skipped else ""
        zf.writestr("README.txt", README.format(created=created, layers=", ".join(c["id"] for c in collections),
                                                skipped=note))
    return buf.getvalue()
