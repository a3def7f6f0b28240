"""The proposals register: a checked proposal saved with its report and a status, as the internal `proposals` layer.

Planners file what they checked so the department keeps a record: the proposal's geometry, kind, name, the verdict
and the whole report (JSON), who checked it and when, and a status a planner moves from `submitted` to `approved`
or `rejected`.  The layer is internal from its first moment and stays so: proposals are drafts, not plans, and
the register names the staff who checked them.  A proposal's row is checked like any written feature
(layers/validation.py: its name's length, the catalog's required fields) before it is saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import geopandas as gpd
import orjson
import shapely

from geo.errors import BadRequest, Conflict
from layers.dataset import Edit, Layer
from layers.features import STORAGE_CRS, next_fid, numbered, set_property
from layers.proposals import ALLOWED_GEOMETRIES
from layers.provenance import ACCURACY, DEFAULT_ACCURACY
from layers.revisions import Revision
from layers.validation import FieldRules, check_feature, layer_rules
from layers.workspace import Workspace

LAYER = "proposals"
STATUSES = ("submitted", "approved", "rejected")


def check_status(status: object) -> str:
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}",
                         f"Trạng thái phải là một trong: {', '.join(STATUSES)}")
    return str(status)


def check_visibility(layer_id: str, internal: bool) -> None:
    """The register may not be made public: it names the staff who checked each proposal (409)."""
    if layer_id == LAYER and not internal:
        raise Conflict("the proposals register names the staff who checked each proposal and stays internal",
                       "Sổ đề xuất ghi tên cán bộ kiểm tra nên luôn là lớp nội bộ")


def proposal_row(report: dict, status: str, author: str) -> dict:
    """The register's row for a checked proposal."""
    props = report["proposal"]["properties"]
    context = report["context"]
    return {
        "name": props.get("name"), "kind": report["kind"], "status": check_status(status),
        "verdict": report["verdict"], "as_of": report["as_of"], "checked_by": author,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commune": (context.get("commune") or {}).get("name"),
        "district_pre2025": (context.get("district_pre2025") or {}).get("name"),
        "report": orjson.dumps(report).decode(),
        "source": "planmap proposals register", "accuracy": _accuracy(props.get("accuracy")),
    }


def _accuracy(value: object) -> str:
    if value is None:
        return DEFAULT_ACCURACY
    if value not in ACCURACY:
        raise BadRequest(f"accuracy must be one of {', '.join(ACCURACY)}",
                         f"accuracy phải là một trong: {', '.join(ACCURACY)}")
    return str(value)


def register_rules(ws: Workspace) -> FieldRules:
    """The rules of the register's rows: the layer's (its fields, the catalog's required ones), and what the
    register itself writes — a point or an area (what a check takes) and the report as JSON of any length."""
    rules = layer_rules(ws.dataset, LAYER)
    return replace(rules, geometry_types=ALLOWED_GEOMETRIES, long_text=rules.long_text | {"report"})


def save_proposal(ws: Workspace, report: dict, geometry84: shapely.Geometry, status: str, author: str
                  ) -> tuple[int, Revision]:
    """Append one checked proposal (geometry in CRS84) to the register; returns its id and the revision."""
    row, geometry84 = check_feature(register_rules(ws), proposal_row(report, status, author), geometry84)
    if ws.dataset.get(LAYER) is None:  # internal before it exists, so it is never public for a moment
        ws.set_internal(LAYER, True, author)
    created: list[int] = []

    def change(current: Layer | None) -> Edit:
        fid = next_fid(current)
        created[:] = [fid]
        return Edit(puts=numbered(gpd.GeoDataFrame([row], geometry=[geometry84], crs=STORAGE_CRS), fid))

    revision = ws.edit(LAYER, change, author=author, action="create")
    return created[0], revision


def set_status(ws: Workspace, proposal_id: int, status: str, author: str, if_match: str | None = None) -> Revision:
    """Approve or reject (or resubmit) a saved proposal — refused (412) if it changed since `if_match` was read."""
    return set_property(ws, LAYER, proposal_id, "status", check_status(status), author, if_match=if_match)
