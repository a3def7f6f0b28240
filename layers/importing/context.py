"""One import's state, declared in one place: what the caller asked for, and what the stages find out.

Every stage takes the context.  The inputs are set when it is made; the findings start at their defaults and are
filled in by the stage named beside each, so a stage reads what an earlier one found without the two knowing of
each other, and a reader sees here everything an import can know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import shapely
from pyproj import CRS

from layers.importing.report import ImportReport
from layers.validation import FieldRules


@dataclass
class ImportContext:
    """The inputs of `read_import` and the findings of its stages."""

    # ------------------------------------------------------------------ inputs (see read_import)
    path: Path
    name: str  # the file's name as the planner gave it: the one every message uses
    layer_id: str
    schema: dict[str, str] | None  # the layer's fields → JSON type; None for a new layer
    province: shapely.Geometry | None  # the province outline in CRS84
    tmp: Path  # a private folder, removed after the import
    declared_crs: str | None = None
    declared_encoding: str | None = None
    field_map: dict[str, str] = field(default_factory=dict)
    repair: bool = True
    max_bytes: int = 200_000_000
    accuracy: str | None = None
    source: str | None = None
    geometry_type: str | None = None  # normalised: "Point", "MultiPolygon", … or None for any
    source_layer: str | None = None
    on_bad_value: str = "reject"
    rules: FieldRules | None = None  # the layer's rules for written features; None: its schema's types only

    # ------------------------------------------------------------------ findings
    report: ImportReport = field(init=False)  # every stage
    fmt: str = field(default="", init=False)  # locate: a key of FORMATS
    dataset: Path | None = field(default=None, init=False)  # locate: the file GDAL or the CSV reader opens
    cpg: str | None = field(default=None, init=False)  # locate: a Shapefile's .cpg encoding name
    file_charset: str | None = field(default=None, init=False)  # locate: a MapInfo file's !charset
    sidecar_prj: Path | None = field(default=None, init=False)  # locate: a .prj beside a DXF, DGN, CSV, GeoJSON
    field_names_csv: Path | None = field(default=None, init=False)  # locate: a planmap export's field name list
    raw_text: bool = field(default=False, init=False)  # read: strings are Latin-1 stand-ins for bytes
    file_crs: CRS | None = field(default=None, init=False)  # read: the CRS the file names, if usable
    source_ids: list = field(default_factory=list, init=False)  # pipeline: each feature's id in the file
    crs: CRS | None = field(default=None, init=False)  # crs: the CRS the coordinates are taken to be in
    swap: bool = field(default=False, init=False)  # crs: the coordinates are (northing, easting)
    rejected: set[int] = field(default_factory=set, init=False)  # geometry, crs, fields: 0-based rows left out

    def __post_init__(self) -> None:
        self.report = ImportReport(file=self.name, format="", layer=self.layer_id)

    def problem(self, i: int, severity: str, code: str, en: str, vi: str, field_name: str | None = None,
                **extra) -> None:
        """Report a problem with the i-th feature (0-based); an error keeps the feature out of the import."""
        self.report.problem(int(i) + 1, self.source_ids[i], severity, code, en, vi, field_name=field_name, **extra)
        if severity == "error":
            self.rejected.add(int(i))


def source_id(fid):
    """A feature's id in the file as the planner knows it: a number when it is one."""
    try:
        return int(fid)
    except (TypeError, ValueError):
        return str(fid)
