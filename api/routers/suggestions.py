"""Site suggestions (POST /suggestions): where could a site of a kind go in an area, ranked by the planner's
preferences, each candidate checked exactly like POST /checks.

The work (a grid of up to MAX_GRID_CELLS, a few seconds at most) runs in the `analysis` lane; the functions are
layers/suggestions.py's.  Anyone may ask, as for checks; the engine sees only the caller's layers.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from api.deps import Engine, Work
from api.params import BodyOf, JsonBody, QueryOf, SuggestionParams, crs_param
from api.responses import GEOJSON, documented, json_bytes
from geo.cancel import checkpoint
from layers.checks import CheckEngine
from layers.exports import FORMATS, ZIP
from layers.limits import MAX_PROPOSAL_BYTES
from layers.suggestions import SuggestionRequest, candidates_geojson, export_candidates, suggest

router = APIRouter(tags=["Suggestions"])

_RESPONSES = documented(413, 422, 503, model=None,
                        binary=tuple(dict.fromkeys(f.media_type for k, f in FORMATS.items() if k != "geojson"))
                        + (ZIP,))
_RESPONSES[200]["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Suggestions"}},
                              GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
                              **_RESPONSES[200]["content"]}


def suggest_response(checks: CheckEngine, body: JsonBody[SuggestionRequest], params: SuggestionParams) -> Response:
    """The whole of `POST /suggestions` off the event loop: the body, the suggestions, then the answer in the
    format asked for."""
    request = body.parse()
    answer = suggest(checks, request)
    checkpoint()  # the client may have gone while the grid was screened
    fmt = params.f or "json"
    if fmt == "json":
        return json_bytes(orjson.dumps(answer))
    if fmt == "geojson":
        return json_bytes(orjson.dumps(candidates_geojson(answer)), GEOJSON)
    export = export_candidates(answer, fmt, crs_param(params.crs))
    return FileResponse(export.path, media_type=export.media_type, filename=export.filename,
                        background=BackgroundTask(export.cleanup))


@router.post("/suggestions", summary="Gợi ý vị trí / Site suggestions", operation_id="postSuggestions",
             max_body_size=MAX_PROPOSAL_BYTES, responses=_RESPONSES,
             description="Các vị trí đạt mọi quy tắc đánh giá được, xếp theo ưu tiên, mỗi vị trí kèm báo cáo kiểm tra "
                         "như POST /checks; mang tính tham khảo / sites passing every rule that can be assessed, "
                         "ranked by preference, each with the POST /checks report; indicative")
async def post_suggestions(params: QueryOf[SuggestionParams], checks: Engine, work: Work,
                           body: BodyOf[SuggestionRequest]):
    return await work["analysis"].run(suggest_response, checks, body, params)
