"""Running the stages of an import in order over one context, and assembling the frame the layer receives.

    check_size → locate → read → decode_text → check_geometries → decide_crs → to_crs84 → map_fields →
    check_rules → assemble

Each stage is a function of the `ImportContext` (context.py) and of the features it works on; it records what it
finds in the context and the report, rejects single features through `ctx.problem`, and raises `ImportRefused`
when the file as a whole cannot be imported.  Writing the result as a revision of the layer is not done here: the
service layer does it with the frame and report returned.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.importing.context import ImportContext, source_id
from layers.importing.crs import decide_crs, to_crs84
from layers.importing.errors import ImportRefused
from layers.importing.fields import PROVENANCE, map_fields
from layers.importing.geometry import check_geometries, norm_geometry_type
from layers.importing.locate import check_size, locate
from layers.importing.read import read
from layers.importing.report import ImportReport
from layers.importing.rules import check_rules
from layers.importing.text import decode_text
from layers.importing.values import typed
from layers.provenance import ACCURACY
from layers.validation import FieldRules


def read_import(path: Path, layer_id: str, schema: dict[str, str] | None, province: shapely.Geometry | None, *,
                crs: str | None = None, encoding: str | None = None, field_map: dict[str, str] | None = None,
                repair: bool = True, max_bytes: int = 200_000_000, accuracy: str | None = None,
                source: str | None = None, geometry_type: str | None = None, source_layer: str | None = None,
                filename: str | None = None, on_bad_value: str = "reject", rules: FieldRules | None = None,
                workdir: Path | None = None
                ) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read a planner's file for layer `layer_id` and check it feature by feature.

    schema: the layer's fields → JSON type ("string", "integer", "number", "boolean"); None for a new layer
        (source fields are kept).  province: the province outline in CRS84, to flag features outside it.
    crs / encoding: declared by the user; they win over the file.  field_map: source field → layer field.
    repair: invalid geometries are repaired (warning) rather than rejected (error).  accuracy / source: the
        provenance of features whose file gives none (accuracy defaults to "approximate", with a note).
    geometry_type: the layer's geometry type ("Point", "LineString", "MultiPolygon", …).
    source_layer: which layer of a multi-layer GeoPackage.  filename: the name the user gave the file.
    on_bad_value: "reject" (default) rejects a feature whose value does not fit the field's type; "null"
        imports it with the value emptied.  Either way the feature and value are reported.
    rules: the layer's rules for written features (layers/validation.py: required fields, text length, dates);
        None applies the text rules to the schema's fields only.
    workdir: where the import's private temp folder (an unpacked zip) goes — the store's scratch folder
        (layers/scratch.py); the system's temp folder when None.

    Returns the features in OGC:CRS84 (columns: the schema's fields, `source`, `accuracy`, geometry; rows in
    source order, rejected ones left out; `frame.attrs["source_features"]` gives each row's 1-based source
    feature number) and the report.  Raises ImportRefused when the file as a whole cannot be imported.
    """
    path = Path(path)
    if on_bad_value not in ("reject", "null"):
        raise ValueError("on_bad_value must be 'reject' or 'null'")
    if accuracy is not None and accuracy not in ACCURACY:
        raise ImportRefused("bad_accuracy", f"accuracy must be one of {', '.join(ACCURACY)}",
                            f"Độ chính xác phải là một trong: {', '.join(ACCURACY)}")
    with tempfile.TemporaryDirectory(prefix="planmap-import-", dir=workdir) as tmp:
        ctx = ImportContext(path=path, name=filename or path.name, layer_id=layer_id, schema=schema,
                            province=province, tmp=Path(tmp), declared_crs=crs, declared_encoding=encoding,
                            field_map=field_map or {}, repair=repair, max_bytes=max_bytes, accuracy=accuracy,
                            source=source, geometry_type=norm_geometry_type(geometry_type),
                            source_layer=source_layer, on_bad_value=on_bad_value, rules=rules)
        with warnings.catch_warnings():  # GDAL's and shapely's complaints about the file are in the report
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            return _run(ctx), ctx.report


def _run(ctx: ImportContext) -> gpd.GeoDataFrame:
    """The stages in order; each may refuse the file."""
    check_size(ctx)
    locate(ctx)
    frame = read(ctx)
    ctx.report.features_read = len(frame)
    if len(frame) == 0:
        raise ImportRefused("no_features", f"{ctx.name} holds no features", f"{ctx.name} không có đối tượng nào")
    frame = decode_text(ctx, frame)
    ctx.source_ids = [source_id(fid) for fid in frame.index.to_numpy()]
    geoms = check_geometries(ctx, frame.geometry.to_numpy())
    decide_crs(ctx, geoms)
    geoms = to_crs84(ctx, geoms)
    values = check_rules(ctx, map_fields(ctx, pd.DataFrame(frame.drop(columns=frame.geometry.name))))
    return _assemble(ctx, values, geoms)


def _assemble(ctx: ImportContext, values: dict[str, list], geoms: np.ndarray) -> gpd.GeoDataFrame:
    """The features not rejected, columns in the schema's order (typed) then source and accuracy; the report's
    counts, and its problems sorted by feature, errors first."""
    keep = [i for i in range(len(geoms)) if i not in ctx.rejected]
    data = {k: [v[i] for i in keep] for k, v in values.items()}
    frame = gpd.GeoDataFrame(data, geometry=[geoms[i] for i in keep], crs="OGC:CRS84")
    if ctx.schema is not None:
        for target, jtype in ctx.schema.items():
            if target in frame.columns and target not in PROVENANCE:
                frame[target] = typed(frame[target], jtype)
    order = ([c for c in ctx.schema if c in frame.columns] if ctx.schema is not None
             else [c for c in values if c not in PROVENANCE])
    order += [c for c in PROVENANCE if c not in order]
    frame = frame[order + ["geometry"]]
    # an array, not a list: pandas deep-copies `attrs` on every operation, and a list of 200,000 ints costs seconds
    frame.attrs["source_features"] = np.asarray(keep, dtype=np.int64) + 1
    ctx.report.features_imported = len(keep)
    ctx.report.features_rejected = len(ctx.rejected)
    ctx.report.problems.sort(key=lambda p: (p["feature"], p["severity"] != "error"))
    return frame
