"""The map page: a folium-built Leaflet page whose scripts and styles are all served by planmap itself.

folium writes the page (map, relief overlay, fullscreen control); planmap's own scripts (web/static: BASE_PARTS,
plus TOOL_PARTS on the served page) then fill it from planmap's own API.  Every CDN link folium would add is
replaced by a local URL: the rendered HTML names no other host.  URLs are relative, so the page also works behind
a reverse proxy under a path prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import folium
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import CustomPane
from folium.plugins import Fullscreen
from folium.raster_layers import ImageOverlay
from folium.template import Template

from layers import admin
from web import assets

WEB = Path(__file__).resolve().parent
LABELS = json.loads((WEB / "labels.json").read_text(encoding="utf-8"))
STYLES = json.loads((WEB / "styles.json").read_text(encoding="utf-8"))


# planmap's scripts in web/static, in the order they load: planmap.js (the namespace and app shell) first, then the
# parts it sets up in that order (each registers itself with planmap.part).  Classic scripts: the offline copy
# opens from file://.
BASE_PARTS = ("planmap.js", "planmap-layers.js", "planmap-basemaps.js", "planmap-popups.js", "planmap-search.js",
              "planmap-measure.js", "planmap-coordinates.js", "planmap-note.js", "planmap-legend.js",
              "planmap-panel.js")
# the served page's tools (check a site and its report, exports, sign in, planners' editing and decisions on
# proposals, network coverage, site suggestions); the offline copy has none of them
TOOL_PARTS = ("planmap-tools.js", "planmap-tools-check.js", "planmap-tools-report.js", "planmap-tools-export.js",
              "planmap-tools-auth.js", "planmap-tools-edit.js", "planmap-terrain.js", "planmap-tools-coverage.js",
              "planmap-tools-suggest.js")


def _scripts(names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name.removesuffix(".js"), "static/" + name) for name in names]


def _local(url: str) -> str:
    """A page-relative URL for an absolute planmap path."""
    return url.lstrip("/")


@dataclass(frozen=True)
class MapSettings:
    """What the page needs to know about the service it is served by."""

    home: tuple[float, float, float, float]  # west, south, east, north of the initial view (CRS84)
    hillshade_bounds: tuple[float, float, float, float] | None = None
    hillshade_url: str = "static/hillshade.png"
    osm_tiles: str | None = None  # an online tile URL template, offered as an optional background
    osm_attribution: str = "© OpenStreetMap contributors"
    # the office's own backgrounds (`--basemap`): each one's TileJSON-like description with a page-relative `url`
    basemaps: tuple[dict, ...] = ()


class MapFigure(Figure):
    """A branca Figure whose page says its language and title."""

    _template = Template(
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>{{ this.title }}</title>\n<link rel=\"icon\" href=\"data:,\">\n"
        "{{ this.header.render(**kwargs) }}\n</head>\n<body>\n{{ this.html.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n</body>\n</html>\n"
    )


class LocalFullscreen(Fullscreen):
    """folium's fullscreen control, with leaflet.fullscreen 5 (npm) served locally."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            new L.Control.FullScreen({{ this.options|tojavascript }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = [("Control.FullScreen.js", _local(assets.vendor("leaflet.fullscreen/dist/Control.FullScreen.umd.js")))]
    default_css = [("Control.FullScreen.css", _local(assets.vendor("leaflet.fullscreen/dist/Control.FullScreen.css")))]


class RelativeImageOverlay(ImageOverlay):
    """An image overlay whose image is a URL of this service (folium would read a local path into the page)."""

    def __init__(self, url: str, bounds, **kwargs) -> None:
        super().__init__("http://localhost/placeholder.png", bounds, **kwargs)
        self.url = url


class PlanmapApp(JSCSSMixin, MacroElement):
    """Loads planmap's own scripts and styles and starts them on the map with the page's settings."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            window.planmap.init({{ this._parent.get_name() }}, {{ this.config|tojson }}, {
                hillshade: {{ this.hillshade.get_name() if this.hillshade else "null" }}
            });
        {% endmacro %}
        """
    )
    vendor_js = [
        ("markercluster", _local(assets.vendor("leaflet.markercluster/dist/leaflet.markercluster.js"))),
        ("proj4", _local(assets.vendor("proj4/dist/proj4.js"))),
    ]
    default_css = [
        ("markercluster_css", _local(assets.vendor("leaflet.markercluster/dist/MarkerCluster.css"))),
        ("markercluster_default_css", _local(assets.vendor("leaflet.markercluster/dist/MarkerCluster.Default.css"))),
        ("planmap_css", "static/planmap.css"),
    ]
    tools_vendor_js = [("leaflet_draw", _local(assets.vendor("leaflet-draw/dist/leaflet.draw.js")))]
    # draws vector tiles (MVT) on canvas: the served page's layers too large for GeoJSON, and vector base maps; the
    # offline copy (no server, so no tiles) leaves it out
    vector_tiles_js = [("protomaps_leaflet", _local(assets.vendor("protomaps-leaflet/dist/protomaps-leaflet.js")))]
    tools_css = [("leaflet_draw_css", _local(assets.vendor("leaflet-draw/dist/leaflet.draw.css")))]

    def __init__(self, config: dict, hillshade: ImageOverlay | None, tools: bool = True,
                 data_scripts: list[str] | None = None) -> None:
        super().__init__()
        self._name = "PlanmapApp"
        self.config = config
        self.hillshade = hillshade
        vendor_js = [*self.vendor_js]
        if tools or any(b["kind"] == "vector" for b in config.get("basemaps", ())):
            vendor_js += self.vector_tiles_js
        if tools:
            self.default_js = [*vendor_js, *self.tools_vendor_js, *_scripts(BASE_PARTS), *_scripts(TOOL_PARTS)]
            self.default_css = [*self.default_css, *self.tools_css]
        else:
            self.default_js = [*vendor_js, *_scripts(BASE_PARTS)]
        self.default_js += [(f"data_{i}", src) for i, src in enumerate(data_scripts or [])]


def render_map_page(settings: MapSettings, offline: dict | None = None) -> str:
    """The whole HTML page of the map.

    `offline`: render the standalone copy instead (web/offline.py): {"collections": [collection documents],
    "scripts": ["data/<id>.js", …]}; the page then reads the embedded data and has no tools that need the server.
    """
    west, south, east, north = settings.home
    figure = MapFigure(title=LABELS["ui"]["vi"]["title"])
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=9, tiles=None,
                      control_scale=False, zoom_control=True, attribution_control=False)
    fmap.default_js = [("leaflet", _local(assets.vendor("leaflet/dist/leaflet.js")))]
    fmap.default_css = [("leaflet_css", _local(assets.vendor("leaflet/dist/leaflet.css")))]
    figure.add_child(fmap)
    LocalFullscreen(position="topleft", title=LABELS["ui"]["vi"]["fullscreen"],
                    title_cancel=LABELS["ui"]["vi"]["fullscreenExit"]).add_to(fmap)
    hillshade = None
    if settings.hillshade_bounds is not None:
        CustomPane("relief", z_index=250, pointer_events=False).add_to(fmap)
        hw, hs, he, hn = settings.hillshade_bounds
        hillshade = RelativeImageOverlay(settings.hillshade_url, [[hs, hw], [hn, he]], pixelated=False,
                                         name="relief", pane="relief", interactive=False, control=False)
        hillshade.add_to(fmap)
    config = {
        "home": [[south, west], [north, east]],
        "labels": LABELS,
        "groupOrder": list(LABELS["groups"]),  # the template's tojson sorts object keys: keep the order explicit
        "reformDate": admin.REFORM_DATE.isoformat(),  # the province outline shown: in force on it (2025) or before
        "styles": STYLES,
        "osm": {"url": settings.osm_tiles, "attribution": settings.osm_attribution} if settings.osm_tiles else None,
        "basemaps": list(settings.basemaps),
        "vn2000": "+proj=tmerc +lat_0=0 +lon_0=106.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
                  "+towgs84=-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,"
                  "0.252906278 +units=m +no_defs",
    }
    if offline is not None:
        config["offline"] = {"collections": offline["collections"], "created": offline.get("created")}
    PlanmapApp(config, hillshade, tools=offline is None,
               data_scripts=offline["scripts"] if offline is not None else None).add_to(fmap)
    return figure.render()


