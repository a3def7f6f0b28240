"""The supervision page ("Thống kê / Giám sát quy hoạch"): the plans' indicators against their targets, beside the map.

A plain HTML page (no folium: it has one small Leaflet map of its own, for the choropleth) whose script,
web/static/planmap-supervision.js, fills it from GET /indicators and the server's SVG charts
(GET /indicators/chart).  Everything it loads is served by planmap (Leaflet from the npm whitelist, planmap.js for
the shared DOM helpers); URLs are relative, so it also works behind a reverse proxy under a path prefix.
"""

from __future__ import annotations

import datetime as dt
import html
import json

from layers import admin
from web import assets
from web.page import LABELS

PAGE_SCRIPTS = ("planmap.js", "planmap-supervision.js")  # planmap.js: the namespace and DOM helpers only


def _json_for_script(value: object) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def render_supervision_page(home: tuple[float, float, float, float], today: dt.date) -> str:
    """The whole HTML page; `home` frames the map at first (west, south, east, north), `today` is the default date."""
    west, south, east, north = home
    config = {
        "home": [[south, west], [north, east]],
        "labels": {"ui": LABELS["ui"]},
        "reformDate": admin.REFORM_DATE.isoformat(),
        "today": today.isoformat(),
    }
    title = html.escape(LABELS["ui"]["vi"]["supTitle"])
    css = [assets.vendor("leaflet/dist/leaflet.css").lstrip("/"), "static/planmap-supervision.css"]
    js = [assets.vendor("leaflet/dist/leaflet.js").lstrip("/"), *(f"static/{name}" for name in PAGE_SCRIPTS)]
    links = "\n".join(f'<link rel="stylesheet" href="{href}">' for href in css)
    scripts = "\n".join(f'<script src="{src}"></script>' for src in js)
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
{links}
</head>
<body class="sup-body">
<header class="sup-header">
  <h1 id="sup-title">{title}</h1>
  <nav class="sup-nav">
    <a id="sup-map-link" class="sup-button" href="map"></a>
    <a id="sup-api-link" class="sup-button" href="api?f=html">API</a>
    <button id="sup-lang" class="sup-button" type="button"></button>
  </nav>
</header>
<section class="sup-controls" id="sup-controls"></section>
<p class="sup-status" id="sup-status" aria-live="polite"></p>
<main class="sup-main">
  <section class="sup-tables" id="sup-tables"></section>
  <section class="sup-side">
    <div class="sup-map-box"><div id="sup-map"></div></div>
    <div class="sup-chart" id="sup-chart-series"></div>
    <div class="sup-chart sup-chart-scroll" id="sup-chart-units"></div>
  </section>
</main>
<footer class="sup-footer" id="sup-footer"></footer>
<script type="application/json" id="sup-config">{_json_for_script(config)}</script>
{scripts}
</body>
</html>
"""
