"""OGC API – Styles: the web map's symbols as SLD 1.1 and QGIS QML, and a QGIS project of the public layers.

planmap has one style, `planmap` (web/styles.json, rendered by web/gis_styles.py): `/styles` lists it for the
whole dataset (one SLD with a NamedLayer per collection), `/collections/{id}/styles` for one collection (SLD or
QML).  Access is as for items: a collection the caller may not see has no styles either (404).
`/exports/qgis-project` is a .qgz opening every public layer from this server (web/qgis_project.py).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api import html
from api.deps import BaseUrl, Collection, VisibleDataset
from api.models import StyleMetadata, StyleSet
from api.ogc import link
from api.params import CommonParams, QgisProjectParams, QueryOf, StyleParams, negotiate
from api.responses import HTML, JSON, documented, json_bytes
from api.routers.map import home_bounds
from geo.errors import BadRequest, NotFound
from layers.dataset import Dataset, Layer
from web.gis_styles import QML_MEDIA, SLD11_MEDIA, STYLE_ID, STYLE_TITLE, LayerStyle, layer_style, qml, sld11

router = APIRouter(tags=["Styles"])
STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"
QGZ = "application/zip"  # a .qgz is a zip archive holding the .qgs project
SE_SPEC = "http://www.opengis.net/doc/IS/se/1.1"
QML_SPEC = "https://docs.qgis.org/latest/en/docs/user_manual/introduction/general_tools.html#styles"
StyleId = Annotated[str, Path(alias="styleId", description="Mã kiểu ký hiệu / style id (planmap has one: `planmap`)")]


def style_of(layer: Layer) -> LayerStyle:
    meta = layer.meta
    return layer_style(layer.id, layer.geometry_type, meta.text("title", "vi"), meta.text("title", "en"))


def _check_style(style_id: str) -> None:
    if style_id != STYLE_ID:
        raise NotFound(f"style {style_id!r} does not exist; planmap's style is {STYLE_ID!r}",
                       f"Không có kiểu ký hiệu {style_id!r}; kiểu của planmap là {STYLE_ID!r}")


def _stylesheet_links(prefix: str, qml_too: bool) -> list[dict]:
    """The stylesheet links of a style at `prefix` (…/styles/planmap), and its metadata."""
    out = [link(f"{prefix}?f=sld11", "stylesheet", SLD11_MEDIA, "SLD 1.1 / SE 1.1")]
    if qml_too:
        out.append(link(f"{prefix}?f=qml", "stylesheet", QML_MEDIA, "QGIS QML"))
    out.append(link(f"{prefix}/metadata", "describedby", JSON, "Thông tin kiểu ký hiệu / Style metadata"))
    return out


def style_set(prefix: str, qml_too: bool, lang: str) -> dict:
    """The style set at `prefix` (…/styles): planmap's one style, its stylesheets and metadata."""
    return {"styles": [{"id": STYLE_ID, "title": STYLE_TITLE[lang],
                        "links": _stylesheet_links(f"{prefix}/{STYLE_ID}", qml_too)}],
            "default": STYLE_ID,
            "links": [link(f"{prefix}?f=json", "self", JSON, "Các kiểu ký hiệu / Styles"),
                      link(f"{prefix}?f=html", "alternate", HTML, "Các kiểu ký hiệu (HTML) / Styles as HTML")]}


def _layer_entry(layer: Layer, base: str) -> dict:
    style = style_of(layer)
    entry = {"id": layer.id, "type": style.kind,
             "sampleData": link(f"{base}/collections/{layer.id}/items?f=json", "start", "application/geo+json",
                                layer.meta.text("title"))}
    if style.field:  # planmap's own members: the classes the legend shows, in both languages
        entry["classifiedBy"] = style.field
        entry["classes"] = [{"value": c.value, "title": c.label} for c in style.categories]
    if style.phase_field:
        entry["phaseField"] = style.phase_field
        entry["phases"] = [{"value": p.value, "title": p.label, "width": p.width} for p in style.phases]
    return entry


def style_metadata(prefix: str, layers: list[Layer], base: str, qml_too: bool, lang: str) -> dict:
    links = _stylesheet_links(prefix, qml_too)
    sheets = [{"title": "SLD 1.1 / Symbology Encoding 1.1", "version": "1.1", "specification": SE_SPEC,
               "native": False, "link": links[0]}]
    if qml_too:
        sheets.append({"title": "QGIS QML", "version": "3.22", "specification": QML_SPEC, "native": False,
                       "link": links[1]})
    other = "en" if lang == "vi" else "vi"
    return {"id": STYLE_ID, "title": STYLE_TITLE[lang],
            "description": {"vi": "Ký hiệu của bản đồ web planmap (web/styles.json): theo hiện trạng/quy hoạch, giai "
                                  "đoạn, cấp điện áp, loại khu vực khoáng sản; chú giải tiếng Việt.",
                            "en": "The planmap web map's symbols (web/styles.json): by status, plan phase, voltage "
                                  "and mineral area type; legend in Vietnamese."}[lang],
            "titles": {lang: STYLE_TITLE[lang], other: STYLE_TITLE[other]},
            "keywords": ["planmap", "SLD", "QML", "Thái Nguyên"], "scope": "style", "stylesheets": sheets,
            "layers": [_layer_entry(layer, base) for layer in layers],
            "links": [link(f"{prefix}/metadata?f=json", "self", JSON, "Thông tin kiểu ký hiệu / Style metadata"),
                      *links[:-1]]}


def _json_or_html(request: Request, doc: dict, f: str | None, title: str, lang: str):
    if negotiate(request, f) == "html":
        rows = [[s["id"], s["title"]] for s in doc.get("styles", [])]
        body = (html.table(["id", "Tên / Title"], rows) if rows else html.definition_table(doc))
        links = [lk for s in doc.get("styles", []) for lk in s["links"]] + doc.get("links", [])
        return html.page(title, body + html.links_list(links), lang)
    return json_bytes(orjson.dumps(doc))


def _stylesheet(styles: list[LayerStyle], fmt: str | None, request: Request, lang: str, name: str) -> Response:
    """SLD 1.1 (several collections or one) or QML (one collection only), chosen by `f` or the Accept header."""
    if fmt is None:
        fmt = "qml" if QML_MEDIA in request.headers.get("accept", "") else "sld11"
    if fmt == "qml":
        if len(styles) != 1:
            raise BadRequest("QML holds one layer's style: ask /collections/{collectionId}/styles/planmap?f=qml",
                             "QML chỉ chứa kiểu của một lớp: dùng /collections/{collectionId}/styles/planmap?f=qml")
        return Response(qml(styles[0], lang), media_type=QML_MEDIA,
                        headers={"Content-Disposition": f'inline; filename="{name}.qml"'})
    return Response(sld11(styles, lang), media_type=SLD11_MEDIA,
                    headers={"Content-Disposition": f'inline; filename="{name}.sld"'})


@router.get("/styles", operation_id="getStyles", summary="Các kiểu ký hiệu / The styles of the dataset",
            responses=documented(model=StyleSet, html=True))
def get_styles(request: Request, params: QueryOf[CommonParams], base: BaseUrl):
    doc = style_set(f"{base}/styles", False, params.lang)
    return _json_or_html(request, doc, params.f, "Các kiểu ký hiệu / Styles", params.lang)


@router.get("/styles/{styleId}", operation_id="getStyle",
            summary="Kiểu ký hiệu của mọi lớp (SLD 1.1) / The style of every collection as SLD 1.1",
            responses=documented(401, 404, binary=(SLD11_MEDIA, QML_MEDIA)))
def get_style(request: Request, params: QueryOf[StyleParams], dataset: VisibleDataset, style_id: StyleId):
    _check_style(style_id)
    return _stylesheet([style_of(layer) for layer in dataset], params.f, request, params.lang, STYLE_ID)


@router.get("/styles/{styleId}/metadata", operation_id="getStyleMetadata",
            summary="Thông tin kiểu ký hiệu / A style's metadata",
            responses=documented(401, 404, model=StyleMetadata, html=True))
def get_style_metadata(request: Request, params: QueryOf[CommonParams], dataset: VisibleDataset, base: BaseUrl,
                       style_id: StyleId):
    _check_style(style_id)
    doc = style_metadata(f"{base}/styles/{STYLE_ID}", list(dataset), base, False, params.lang)
    return _json_or_html(request, doc, params.f, doc["title"], params.lang)


@router.get("/collections/{collectionId}/styles", operation_id="getCollectionStyles",
            summary="Các kiểu ký hiệu của một lớp / A collection's styles",
            responses=documented(401, 404, model=StyleSet, html=True))
def get_collection_styles(request: Request, layer: Collection, params: QueryOf[CommonParams], base: BaseUrl):
    doc = style_set(f"{base}/collections/{layer.id}/styles", True, params.lang)
    doc["links"].append(link(f"{base}/collections/{layer.id}", "collection", JSON, layer.meta.text("title")))
    return _json_or_html(request, doc, params.f, f"{layer.meta.text('title', params.lang)} – styles", params.lang)


@router.get("/collections/{collectionId}/styles/{styleId}", operation_id="getCollectionStyle",
            summary="Kiểu ký hiệu của một lớp (SLD 1.1, QGIS QML) / A collection's style as SLD 1.1 or QML",
            responses=documented(401, 404, binary=(SLD11_MEDIA, QML_MEDIA)))
def get_collection_style(request: Request, layer: Collection, params: QueryOf[StyleParams], style_id: StyleId):
    _check_style(style_id)
    return _stylesheet([style_of(layer)], params.f, request, params.lang, f"{layer.id}-{STYLE_ID}")


@router.get("/collections/{collectionId}/styles/{styleId}/metadata", operation_id="getCollectionStyleMetadata",
            summary="Thông tin kiểu ký hiệu của một lớp / A collection style's metadata",
            responses=documented(401, 404, model=StyleMetadata, html=True))
def get_collection_style_metadata(request: Request, layer: Collection, params: QueryOf[CommonParams], base: BaseUrl,
                                  style_id: StyleId):
    _check_style(style_id)
    doc = style_metadata(f"{base}/collections/{layer.id}/styles/{STYLE_ID}", [layer], base, True, params.lang)
    return _json_or_html(request, doc, params.f, doc["title"], params.lang)


def qgis_project(dataset: Dataset, base: str, lang: str) -> bytes:
    """The .qgz of the public layers for a server at `base` (a few milliseconds: made for each request)."""
    from web.qgis_project import qgz

    public = dataset.public_view()
    return qgz(base, public, home_bounds(public), lang)


@router.get("/exports/qgis-project", operation_id="exportQgisProject",
            summary="Dự án QGIS (.qgz) mở mọi lớp công khai, có ký hiệu / A QGIS project of every public layer, "
                    "styled",
            responses=documented(401, binary=(QGZ,)))
def get_qgis_project(params: QueryOf[QgisProjectParams], dataset: VisibleDataset, base: BaseUrl):
    """QGIS opens every public layer from this server (OGC API – Features), in VN-2000, with the web map's groups
    and symbols.  Internal layers are never in it: QGIS reads the layers without a token."""
    return Response(qgis_project(dataset, base, params.lang), media_type=QGZ,
                    headers={"Content-Disposition": 'attachment; filename="planmap.qgz"'})
