"""The JSON answers of the API as pydantic models: the API definition is generated from them and the tests
validate real responses against the same models, so the document and the service cannot drift apart.

Routes return ready-made bytes (features are pre-encoded), so these models describe, they do not serialise.
"""

from __future__ import annotations

from typing import Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from layers import revisions
from layers.access import REDACTED_REVISION_FIELDS


class Open(BaseModel):
    """A document that may carry more members than listed (OGC documents are extensible)."""

    model_config = ConfigDict(extra="allow")


class Link(Open):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Problem(Open):
    """RFC 7807 problem document, with OGC's `code`/`description` and planmap's Vietnamese `detail_vi`."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    detail_vi: str
    description: str


class LandingPage(Open):
    title: str
    description: str
    links: list[Link]


class Conformance(Open):
    conformsTo: list[str]  # noqa: N815 - the OGC member name


class Extent(Open):
    spatial: dict
    temporal: dict | None = None


class Collection(Open):
    id: str
    title: str
    description: str
    itemType: Literal["feature"]  # noqa: N815
    extent: Extent
    crs: list[str]
    storageCrs: str  # noqa: N815
    links: list[Link]
    titles: dict[str, str]
    license: str
    attribution: str
    accuracy: dict[str, int] = Field(description="Số đối tượng theo độ chính xác / features per accuracy class")
    numberOfFeatures: int  # noqa: N815


class Collections(Open):
    links: list[Link]
    collections: list[Collection]
    crs: list[str]


class Queryables(Open):
    properties: dict[str, dict]
    type: Literal["object"]


class Feature(Open):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict | None
    properties: dict | None
    links: list[Link] | None = None


class FeatureCollection(Open):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    links: list[Link] | None = None
    numberMatched: int | None = Field(None, ge=0)  # noqa: N815
    numberReturned: int | None = Field(None, ge=0)  # noqa: N815
    timeStamp: str | None = None  # noqa: N815


class Role(Open):
    vi: str
    en: str
    style: dict


class Rules(Open):
    as_of: str
    kinds: dict[str, str]
    kind_labels: dict[str, dict[str, str]] = Field(description="Tên loại đề xuất / kind labels in vi and en")
    rules: list[dict]
    roles: dict[str, Role] = Field(description="Vai trò của hình học bằng chứng / evidence roles and their styles")


class EvidenceFeature(Open):
    layer: str
    id: int
    name: str | None = None
    accuracy: str | None = None
    source: str | None = None


class RuleResult(Open):
    rule: str
    status: Literal["pass", "fail", "warn", "unknown", "not_applicable"]
    evidence_accuracy: Literal["exact", "approximate", "schematic", "synthetic"] | None = Field(
        description="Độ chính xác yếu nhất của các đối tượng quyết định kết quả / the weakest accuracy among the "
                    "features that decided the result (null when none did)")
    evidence_features: list[EvidenceFeature] = Field(description="Các đối tượng quyết định / the deciding features")
    evidence_searched: dict | None = Field(None, description="Lớp đã tìm khi kết quả dựa trên sự vắng mặt / the "
                                                             "layer searched when the result rests on an absence")
    measured: float | None
    threshold: float | list[float | None] | None
    unit: str
    message: str
    features: list[dict]
    evidence: dict
    legal_basis: list[dict]
    confidence: str


class CheckReport(Open):
    verdict: Literal["pass", "fail", "warn", "unknown"]
    assessed: bool = Field(
        description="Có quy tắc riêng của loại đề xuất đánh giá được / a rule of the kind assessed it"
    )
    indicative: bool = Field(description="Dựa trên dữ liệu sơ đồ/minh họa / rests on schematic or synthetic data")
    evidence_accuracy: str | None
    verdict_note: str | None
    not_in_force: list[dict]
    disclaimer: str
    kind: str
    as_of: str
    crs: str
    results: list[RuleResult]
    summary: dict[str, int]
    context: dict
    proposal: dict


class CoverageResult(Open):
    """GET /analysis/coverage: distances to the nearest station and who is beyond the distance D."""

    network: str
    as_of: str
    distance_m: float
    cell_m: float
    distance_kind: dict = Field(description="Cách đo khoảng cách và lý do / which distance is used and why")
    indicative: dict
    notes: dict
    summary: dict
    stations: dict
    communes: list[dict]
    districts: list[dict]
    inputs: dict = Field(description="Dữ liệu và tham số đã dùng / the layers, revisions and parameters used")
    legend: list[dict]


# A revision as the store records it (layers/revisions.py), without its import report (listed on its own route).
# Who made it and from which file are for planners and admins: null for everyone else (layers/access.py).
_REDACTED = Field(description="Chỉ cán bộ quy hoạch và quản trị thấy; null với người khác / planners and admins "
                              "only; null for everyone else")
Revision = create_model("Revision", __base__=Open, __doc__="One revision of a layer: who, when, what changed.",
                        **{name: ((kind | None, _REDACTED) if name in REDACTED_REVISION_FIELDS else (kind, ...))
                           for name, kind in get_type_hints(revisions.Revision).items() if name != "report"})


class Revisions(Open):
    collection: str
    revisions: list[Revision]


class ImportResult(Open):
    outcome: Literal["imported"]
    revision: Revision
    report: dict


class Written(Open):
    """A feature written by Part 4: its id and the revision that holds the change."""

    id: int
    revision: int


class ProposalSaved(Written):
    verdict: str
    status: str


class LayerSettingsDoc(Open):
    collection: str
    internal: bool


class UserCreated(Open):
    name: str
    role: str
    token: str = Field(description="Chỉ hiện một lần / shown once: only its hash is kept")
    expires: str = Field(description="Hết hạn (UTC) / when the token expires (UTC, ISO 8601)")


class TokenIssued(Open):
    name: str
    token: str = Field(description="Chỉ hiện một lần; mã cũ hết hiệu lực / shown once; the old token stops working")
    expires: str


class User(Open):
    """An account as admins see it (never its token)."""

    name: str
    role: str
    created: str
    created_by: str | None
    expires: str
    expired: bool
    disabled: bool
    token_issued: str | None


class Users(Open):
    users: list[User]


class SearchHit(Open):
    collection: str
    id: int
    name: str
    bbox: list[float]


class SearchResults(Open):
    query: str
    numberReturned: int  # noqa: N815
    results: list[SearchHit]


class StyleEntry(Open):
    id: str
    title: str
    links: list[Link]


class StyleSet(Open):
    """OGC API – Styles: the styles of the dataset or of one collection."""

    styles: list[StyleEntry]
    default: str | None = None
    links: list[Link]


class Stylesheet(Open):
    title: str
    version: str
    specification: str
    native: bool
    link: Link


class StyleMetadata(Open):
    """OGC API – Styles: what a style is, its stylesheets and the layers (collections) it styles."""

    id: str
    title: str
    description: str
    scope: Literal["style"]
    stylesheets: list[Stylesheet]
    layers: list[dict]
class Basemap(Open):
    """A base map as TileJSON 3.0, with planmap's `id`, `title`, `kind` and `format`."""

    tilejson: str
    id: str
    title: str
    name: str
    attribution: str
    kind: Literal["raster", "vector"]
    format: str = Field(description="png | jpg | webp | avif | pbf (Mapbox Vector Tiles)")
    bounds: list[float] = Field(min_length=4, max_length=4, description="west, south, east, north (CRS84)")
    minzoom: int = Field(ge=0)
    maxzoom: int = Field(ge=0)
    scheme: Literal["xyz"]
    tiles: list[str]
    vector_layers: list[dict] | None = None


class Basemaps(Open):
    basemaps: list[Basemap]
    links: list[Link]


# ------------------------------------------------------------------------------- OGC API – Tiles and TileJSON
class TileSetSummary(Open):
    dataType: Literal["vector"]  # noqa: N815
    crs: str
    tileMatrixSetURI: str  # noqa: N815
    links: list[Link]


class TileSets(Open):
    """A collection's tilesets (OGC API – Tiles, tilesets list)."""

    links: list[Link]
    tilesets: list[TileSetSummary]


class TileSet(Open):
    """Tileset metadata (OGC 2D Tile Matrix Set 2.0)."""

    dataType: Literal["vector"]  # noqa: N815
    crs: str
    tileMatrixSetURI: str  # noqa: N815
    tileMatrixSetLimits: list[dict]  # noqa: N815
    layers: list[dict]
    links: list[Link]


class TileJSON(Open):
    """TileJSON 3.0.0 (MapLibre, Leaflet plugins)."""

    tilejson: Literal["3.0.0"]
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    vector_layers: list[dict]


class TileMatrixSets(Open):
    tileMatrixSets: list[dict]  # noqa: N815
    links: list[Link]


class TileMatrixSet(Open):
    """A tile matrix set (OGC 2D Tile Matrix Set 2.0, JSON)."""

    id: str
    uri: str
    crs: str
    tileMatrices: list[dict]  # noqa: N815


class TerrainDoc(Open):
    """GET /terrain: the elevation model in force, its coverage and what it covers."""

    available: bool
    statement: dict[str, str] = Field(description="Vùng phủ của DEM / what the DEM covers, in vi and en")


class SuggestionCandidate(Open):
    rank: int
    score: float
    components: dict
    geometry: dict
    centre: list[float]
    area_ha: float | None
    verdict: Literal["pass", "fail", "warn", "unknown"]
    report: CheckReport
    note: str


class UnassessedRule(Open):
    rule: str
    title: str
    reason: str | None
    verify: str


class Suggestions(Open):
    """POST /suggestions: the candidates with their exact reports, what could not be assessed, the surface."""

    kind: str
    as_of: str
    area: dict
    candidates: list[SuggestionCandidate]
    unassessed_rules: list[UnassessedRule]
    cells: dict[str, float]
    excluded_by_rule: dict[str, int]
    surface: dict
    note: str
    indicative: str
    inputs: dict
    timings: dict[str, float]


class IndicatorsResult(Open):
    """GET /indicators: the plans' indicators on a day against their targets (layers/indicators.py)."""

    date: str
    since: str | None
    by: str
    units: dict | None = Field(description="Đơn vị thống kê / the units figures are grouped by (null: province)")
    plans: list[dict]
    indicators: list[dict] = Field(description="Mỗi chỉ tiêu: giá trị, thay đổi, chỉ tiêu quy hoạch, độ chính xác "
                                               "/ each: value, change, target, progress, accuracy, by_unit")
    inputs: dict = Field(description="Dữ liệu, phiên bản và tham số đã dùng / the layers, revisions and parameters")


class IndicatorDefinitions(Open):
    """GET /indicators/definitions: the indicators file's plans and entries."""

    plans: list[dict]
    indicators: list[dict]
