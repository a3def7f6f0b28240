"""OGC API – Features documents (landing page, conformance, collections, items) as plain functions.

Route functions stay thin: they validate parameters, call these, and pick the media type.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import quote, urlencode

import orjson

from api.params import RESERVED_ITEM_PARAMS, ItemsParams, crs_param
from api.responses import GEOJSON, HTML, JSON, OPENAPI_JSON
from geo.crs import CRS84_URI, SUPPORTED, SupportedCrs
from geo.errors import BadRequest, NotFound
from layers.catalog import GROUPS
from layers.cql import CONFORMANCE as CQL2_CONFORMANCE
from layers.cql import check_properties, parse_filter
from layers.dataset import Dataset, Layer
from layers.query import ID, FeatureQuery, encode_rows, parse_properties, parse_sortby, select_rows, sort_rows

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    # OGC API – Styles (draft 20-009): /styles, /collections/{id}/styles, SLD 1.1 stylesheets
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/global-styles",
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/collection-styles",
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/sld-11",
    # Part 3 filtering and the CQL2 classes layers/cql.py implements
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    *CQL2_CONFORMANCE,
    # OGC API – Tiles: vector tiles of every collection (api/routers/tiles.py)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
]
CRS_LIST = [c.uri for c in SUPPORTED]

SERVICE_TITLE = {"vi": "Bản đồ quy hoạch ngành Công Thương tỉnh Thái Nguyên",
                 "en": "Industry and Trade planning map of Thái Nguyên province"}
SERVICE_DESCRIPTION = {
    "vi": "Các lớp quy hoạch của Sở Công Thương tỉnh Thái Nguyên (khu, cụm công nghiệp, xăng dầu, LPG, lưới điện, "
          "khoáng sản, hạ tầng thương mại) theo chuẩn OGC API – Features. Dữ liệu mặc định là dữ liệu minh họa, "
          "không phải số liệu chính thức.",
    "en": "Planning layers of the Department of Industry and Trade of Thái Nguyên (industrial parks and clusters, "
          "fuel and LPG retail, power grid, minerals, trade infrastructure) as OGC API – Features. The default "
          "dataset is demonstration data, not official figures.",
}


def link(href: str, rel: str, type_: str, title: str | None = None, **extra: str) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    out.update(extra)
    return out


def landing(base: str, lang: str = "vi") -> dict:
    return {
        "title": SERVICE_TITLE[lang],
        "description": SERVICE_DESCRIPTION[lang],
        "links": [
            link(f"{base}/?f=json", "self", JSON, "Trang này / This document"),
            link(f"{base}/?f=html", "alternate", HTML, "Trang này dạng HTML / This document as HTML"),
            link(f"{base}/api", "service-desc", OPENAPI_JSON, "Định nghĩa API (OpenAPI 3.0) / API definition"),
            link(f"{base}/api?f=html", "service-doc", HTML, "Tài liệu API / API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Lớp phù hợp / Conformance classes"),
            link(f"{base}/collections", "data", JSON, "Các lớp dữ liệu / Collections"),
            link(f"{base}/map", "http://www.opengis.net/def/rel/ogc/1.0/map", HTML, "Bản đồ / Map"),
            link(f"{base}/supervision", "related", HTML,
                 "Thống kê / Giám sát quy hoạch / Supervising the plans: indicators against targets"),
            link(f"{base}/styles?f=json", "http://www.opengis.net/def/rel/ogc/1.0/styles", JSON,
                 "Kiểu ký hiệu (SLD, QML) / Styles"),
            link(f"{base}/exports/qgis-project", "related", "application/zip",
                 "Dự án QGIS có ký hiệu / A styled QGIS project (.qgz)"),
            link(f"{base}/basemaps", "related", JSON, "Nền bản đồ (TileJSON) / Base maps"),
            link(f"{base}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON,
                 "Lưới ô bản đồ / Tile matrix sets"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


def collection_doc(layer: Layer, base: str, lang: str = "vi") -> dict:
    meta = layer.meta
    cid = meta.id
    extent: dict = {"spatial": {"bbox": [list(layer.bounds)], "crs": CRS84_URI}}
    temporal = layer.temporal_extent()
    if temporal is not None:
        extent["temporal"] = {"interval": [temporal], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": cid,
        "title": meta.text("title", lang),
        "description": meta.text("description", lang),
        "itemType": "feature",
        "keywords": list(meta.keywords),
        "extent": extent,
        "crs": CRS_LIST,
        "storageCrs": CRS84_URI,
        "links": [
            link(f"{base}/collections/{cid}?f=json", "self", JSON, meta.text("title", lang)),
            link(f"{base}/collections/{cid}?f=html", "alternate", HTML, meta.text("title", lang)),
            link(f"{base}/collections/{cid}/items?f=json", "items", GEOJSON, "Đối tượng / Features"),
            link(f"{base}/collections/{cid}/items?f=html", "items", HTML, "Đối tượng (HTML) / Features as HTML"),
            link(f"{base}/collections/{cid}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 "application/schema+json", "Thuộc tính lọc được / Queryables"),
            link(f"{base}/collections/{cid}/styles?f=json", "http://www.opengis.net/def/rel/ogc/1.0/styles", JSON,
                 "Kiểu ký hiệu (SLD, QML) / Styles"),
            link(f"{base}/collections/{cid}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON,
                 "Ô bản đồ vector / Vector tilesets"),
        ],
        # planmap's own fields: bilingual texts, provenance and data honesty
        "titles": dict(meta.title),
        "descriptions": dict(meta.description),
        "group": meta.group,
        "groupTitle": GROUPS.get(meta.group, GROUPS["other"])[lang],
        "license": meta.license,
        "attribution": meta.attribution,
        "provenance": dict(meta.provenance),
        "geometryType": layer.geometry_type,
        "numberOfFeatures": len(layer),
        "accuracy": layer.accuracy_mix(),
    }


def collections_doc(dataset: Dataset, base: str, lang: str = "vi") -> dict:
    return {
        "links": [
            link(f"{base}/collections?f=json", "self", JSON, "Các lớp dữ liệu / Collections"),
            link(f"{base}/collections?f=html", "alternate", HTML, "Các lớp dữ liệu (HTML) / Collections as HTML"),
        ],
        "collections": [collection_doc(layer, base, lang) for layer in dataset],
        "crs": CRS_LIST,
    }


def queryables_doc(layer: Layer, base: str) -> dict:
    props: dict[str, dict] = {"geometry": {"title": "geometry", "format": _geometry_format(layer.geometry_type)}}
    dates = layer.date_properties()
    for name, kind in layer.queryables().items():
        props[name] = {"title": name, "type": kind, **({"format": "date"} if name in dates else {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{layer.id}/queryables",
        "type": "object",
        "title": layer.meta.text("title"),
        "properties": props,
        "additionalProperties": False,
    }


def _geometry_format(geometry_type: str) -> str:
    """OGC API – Features Part 3 geometry formats (no remote schema $ref, so offline validators work)."""
    name = geometry_type.lower()
    return f"geometry-{name}" if name != "unknown" else "geometry-any"


def build_query(layer: Layer, params: ItemsParams) -> tuple[FeatureQuery, SupportedCrs]:
    """Turn validated parameters into a FeatureQuery, rejecting property filters the layer cannot answer."""
    filters = params.property_filters()
    queryables = layer.queryables()
    unknown = [k for k in filters if k not in queryables]
    if unknown:
        allowed = ", ".join(sorted(RESERVED_ITEM_PARAMS | set(queryables)))
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}",
                         f"Tham số không xác định: {', '.join(unknown)}")
    query = params.query(filters)
    if params.filter is not None:
        cql = parse_filter(params.filter, params.filter_lang or "cql2-text", crs_param(params.filter_crs,
                                                                                        "filter-crs"))
        check_properties(layer, cql)
        query = dataclasses.replace(query, filter=cql)
    return query, crs_param(params.crs)


def _output(layer: Layer, params: ItemsParams) -> tuple[tuple[str, ...] | None, bool]:
    """(the properties to return, None for all; whether to return geometries)."""
    names = None if params.properties is None else parse_properties(params.properties, layer)
    return names, not params.skip_geometry


def _page_hrefs(base: str, cid: str, params: ItemsParams):
    """A function (offset, format) → the link to that page of the same query: the query is encoded once."""
    query = {k: (str(v).lower() if isinstance(v, bool) else v)
             for k, v in params.model_dump(by_alias=True, exclude_none=True).items()
             if k not in ("offset", "f", "lang") and k in RESERVED_ITEM_PARAMS}
    if params.bbox is not None:
        query["bbox"] = ",".join(repr(float(v)) for v in params.box)
    query.update(params.property_filters())
    start = f"{base}/collections/{cid}/items?{urlencode(query)}{'&' if query else ''}offset="
    lang = f"&lang={quote(params.lang)}" if params.lang != "vi" else ""
    return lambda offset, fmt: f"{start}{offset}&f={fmt}{lang}"


def items_page(layer: Layer, params: ItemsParams, base: str) -> tuple[bytes, SupportedCrs, dict]:
    """A GeoJSON FeatureCollection page as bytes, its CRS, and the page facts (for HTML rendering)."""
    query, crs = build_query(layer, params)
    sortby = () if params.sortby is None else parse_sortby(params.sortby, [ID, *layer.queryables()])
    properties, geometry = _output(layer, params)
    rows = sort_rows(layer, select_rows(layer, query), sortby)
    matched = len(rows)
    page = rows[params.offset: params.offset + params.limit]
    cid = layer.id
    href = _page_hrefs(base, cid, params)
    links = [
        link(href(params.offset, "json"), "self", GEOJSON, "Trang này / This page"),
        link(href(params.offset, "html"), "alternate", HTML, "Trang này (HTML)"),
        link(f"{base}/collections/{cid}", "collection", JSON, layer.meta.text("title", params.lang)),
    ]
    if params.offset + len(page) < matched:
        links.append(link(href(params.offset + params.limit, "json"), "next", GEOJSON,
                          "Trang sau / Next page"))
    if params.offset > 0:
        links.append(link(href(max(0, params.offset - params.limit), "json"), "prev",
                          GEOJSON, "Trang trước / Previous page"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(page),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    body = orjson.dumps(head)[:-1] + b',"features":[' + encode_rows(layer, page, crs, properties, geometry) + b"]}"
    return body, crs, {"rows": page, "matched": matched, "links": links, "properties": properties}


def feature(layer: Layer, fid: str, crs: SupportedCrs, base: str) -> bytes:
    try:
        row = layer.row_of(int(fid))
    except ValueError:
        row = None
    if row is None:
        raise NotFound(f"feature {fid!r} does not exist in collection {layer.id!r}",
                       f"Không có đối tượng {fid!r} trong lớp {layer.id!r}")
    cid = layer.id
    links = [
        link(f"{base}/collections/{cid}/items/{fid}?f=json", "self", GEOJSON, "Đối tượng này / This feature"),
        link(f"{base}/collections/{cid}/items/{fid}?f=html", "alternate", HTML, "Đối tượng này (HTML)"),
        link(f"{base}/collections/{cid}", "collection", JSON, layer.meta.text("title")),
    ]
    body = encode_rows(layer, [row], crs)
    return body[:-1] + b',"links":' + orjson.dumps(links) + b"}"
