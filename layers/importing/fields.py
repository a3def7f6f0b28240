"""Mapping the file's fields to the layer's and converting their values; every feature's `source` and `accuracy`.

A field goes to a layer field by the planner's `field_map`, else by the same name, else by a Vietnamese (or
English) synonym ("Tên", "Diện tích (ha)", "Trạng thái"…), and a CAD driver's bookkeeping field ("Text", "Layer")
only when nothing better maps.  For a new layer (no schema) the file's fields are kept as they are.  A value that
does not fit its field's type rejects the feature or, with `on_bad_value="null"`, is emptied — reported either way.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from layers.importing.context import ImportContext
from layers.importing.errors import ImportRefused
from layers.importing.values import EN_TYPE, VI_TYPE, clean, convert
from layers.provenance import ACCURACY, DEFAULT_ACCURACY
from layers.text import fold

PROVENANCE = ("source", "accuracy")  # every layer has them; filled in for every feature

# Drivers' own bookkeeping fields: never mapped by their name alone, dropped for a new layer when empty.
_DRIVER_FIELDS = {
    "dxf": {"Layer", "PaperSpace", "SubClasses", "Linetype", "EntityHandle", "Text"},
    "dgn": {"Type", "Level", "GraphicGroup", "ColorIndex", "Weight", "Style", "EntityNum", "MSLink", "Text", "ULink"},
    "kml": {"id", "Name", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
            "visibility", "drawOrder", "icon", "snippet"},
}

# Common Vietnamese (and English) field names → the planmap field they mean.  Keys are folded and compacted:
# lower case, no diacritics, no separators ("Diện tích" → "dientich").
_SYNONYMS: dict[str, str] = {}
for _target, _names in {
    "name": "ten tên name ten_goi tendoituong ten_cong_trinh ten_ccn ten_kcn ten_cum ten_khu ten_cua_hang ten_chxd "
            "ten_tram ten_mo ten_nha_may ten_duong ten_dia_danh label nhan",
    "name_en": "ten_tieng_anh ten_en english_name",
    "status": "trang_thai trangthai tinh_trang hien_trang state",
    "area_ha": "dien_tich dientich dien_tich_ha dt dt_ha dtich s_ha area area_ha",
    "area_km2": "dien_tich_km2 dt_km2 area_km2",
    "code": "ma ma_so maso ma_xa ma_dvhc ma_hanh_chinh code id_code",
    "kind": "loai loai_hinh phan_loai loai_cong_trinh type kind",
    "voltage_kv": "dien_ap cap_dien_ap cap_da u_kv kv voltage voltage_kv",
    "note": "ghi_chu ghichu mo_ta mota chu_thich description notes remark note",
    "source": "nguon nguon_du_lieu nguon_goc nguon_so_lieu source",
    "accuracy": "do_chinh_xac chinh_xac accuracy",
    "commune": "xa phuong xa_phuong ten_xa ten_phuong commune ward",
    "district": "huyen quan_huyen ten_huyen district",
    "province": "tinh ten_tinh province",
    "legal_basis": "can_cu can_cu_phap_ly quyet_dinh so_quyet_dinh van_ban legal_basis",
    "operator": "don_vi_quan_ly don_vi_kinh_doanh doanh_nghiep operator",
    "owner": "chu_dau_tu chu_so_huu owner",
    "capacity_mw": "cong_suat cong_suat_mw capacity capacity_mw",
    "capacity_kg": "suc_chua suc_chua_kg capacity_kg",
    "population": "dan_so population",
    "mineral": "khoang_san loai_khoang_san mineral",
    "area_type": "loai_khu_vuc area_type",
    "plan_phase": "giai_doan ky_quy_hoach plan_phase",
    "start_year": "nam_van_hanh nam_hoat_dong start_year",
    "grade": "cap cap_cua_hang hang grade",
    "valid_from": "hieu_luc_tu tu_ngay valid_from",
    "valid_to": "het_hieu_luc den_ngay valid_to",
}.items():
    for _n in _names.split():
        _SYNONYMS.setdefault(re.sub(r"[^a-z0-9]", "", fold(_n)), _target)
_WEAK_SYNONYMS = {"text": "name", "layer": "kind"}  # DXF/DGN fields: used only when nothing better maps

_ACCURACY_WORDS = {"chinh xac": "exact", "gan dung": "approximate", "uoc tinh": "approximate",
                   "so do": "schematic", "tong hop": "synthetic", "minh hoa": "synthetic"}


def map_fields(ctx: ImportContext, attrs: pd.DataFrame) -> dict[str, list]:
    """The layer's columns (target field → one value per feature, `source` and `accuracy` last); records the
    mapping, unmapped and missing fields in the report."""
    source_cols = [str(c) for c in attrs.columns]
    mapping = _mapping(ctx, source_cols)
    ctx.report.field_mapping = mapping
    ctx.report.unmapped_fields = [c for c in source_cols if c not in mapping]
    if ctx.schema is None:
        values = _new_layer_values(ctx, attrs, mapping)
    else:
        mapped_targets = set(mapping.values())
        ctx.report.missing_fields = [f for f in ctx.schema if f not in mapped_targets and f not in PROVENANCE]
        values = _schema_values(ctx, attrs, mapping)
    values["source"] = _sources(ctx, _provenance_column(attrs, mapping, "source"))
    values["accuracy"] = _accuracies(ctx, _provenance_column(attrs, mapping, "accuracy"))
    return values


def _new_layer_values(ctx: ImportContext, attrs: pd.DataFrame, mapping: dict[str, str]) -> dict[str, list]:
    """A new layer keeps the file's fields as they are, but for the ones with no value at all."""
    values = {mapping[c]: [clean(v) for v in attrs[c].to_numpy()] for c in map(str, attrs.columns) if c in mapping}
    empty = [t for t, vs in values.items() if t not in PROVENANCE and all(v is None or v == "" for v in vs)]
    if empty:
        for t in empty:
            del values[t]
        ctx.report.note("empty_fields_dropped", f"fields with no value were left out: {', '.join(empty)}",
                        f"Các trường không có giá trị đã được bỏ qua: {', '.join(empty)}")
    return values


def _schema_values(ctx: ImportContext, attrs: pd.DataFrame, mapping: dict[str, str]) -> dict[str, list]:
    """Every field of the layer's schema, converted to its type (empty where nothing maps to it)."""
    assert ctx.schema is not None
    by_target = {t: s for s, t in mapping.items()}
    values: dict[str, list] = {}
    for target, jtype in ctx.schema.items():
        if target in PROVENANCE:
            continue
        src = by_target.get(target)
        if src is None:
            values[target] = [None] * len(attrs)
            continue
        values[target], commas = _convert_column(ctx, attrs[src], src, target, jtype)
        if commas:
            ctx.report.note("decimal_comma", f"{commas} values of {target} used a decimal comma (read as a "
                            "decimal point)", f"{commas} giá trị của trường {target} dùng dấu phẩy thập phân "
                            "(đã đọc như dấu chấm)", field=target)
    return values


def _convert_column(ctx: ImportContext, column: pd.Series, src: str, target: str, jtype: str) -> tuple[list, int]:
    """The column's values in the field's type, and how many had a decimal comma; a bad value is reported."""
    reject = ctx.on_bad_value == "reject"
    out: list = []
    commas = 0
    for i, raw in enumerate(column.to_numpy()):
        value, ok, note = convert(raw, jtype, target)
        commas += note == "comma"
        if not ok:
            ctx.problem(i, "error" if reject else "warning", "bad_type",
                        f"{src} = {raw!r} is not {EN_TYPE[jtype]} (field {target})"
                        + ("; feature rejected" if reject else "; value emptied"),
                        f"{src} = {raw!r} không phải {VI_TYPE[jtype]} (trường {target})"
                        + ("; đối tượng bị loại" if reject else "; giá trị bị để trống"),
                        field_name=target, value=clean(raw))
            value = None
        out.append(value)
    return out, commas


# ------------------------------------------------------------------------------------------------- mapping
def _mapping(ctx: ImportContext, source_cols: list[str]) -> dict[str, str]:
    """Source field → layer field: the planner's field map first, then by name (new layer) or by rule."""
    targets = list(ctx.schema) if ctx.schema is not None else None
    mapping: dict[str, str] = {}
    for src, dst in ctx.field_map.items():
        if src not in source_cols:
            raise ImportRefused("bad_field_map", f"field_map names a field {src!r} that {ctx.name} does not have; "
                                f"its fields: {', '.join(source_cols)}", f"Bảng ánh xạ trường nêu trường {src!r} "
                                f"không có trong {ctx.name}; các trường: {', '.join(source_cols)}")
        if targets is not None and dst not in targets:
            raise ImportRefused("bad_field_map", f"field_map maps {src!r} to {dst!r}, which is not a field of "
                                f"layer {ctx.layer_id} ({', '.join(targets)})", f"Bảng ánh xạ trường gán {src!r} "
                                f"vào {dst!r}, không phải trường của lớp {ctx.layer_id}")
        mapping[src] = dst
    if targets is None:
        _map_as_named(source_cols, mapping)
    else:
        _map_by_rules(source_cols, targets, _DRIVER_FIELDS.get(ctx.fmt, set()), mapping)
    return mapping


def _map_as_named(source_cols: list[str], mapping: dict[str, str]) -> None:
    """A new layer: each field keeps its name, but for the words for source and accuracy."""
    taken = set(mapping.values())
    for c in source_cols:
        if c in mapping:
            continue
        syn = _SYNONYMS.get(_compact(c))
        dst = syn if syn in PROVENANCE and syn not in taken else c
        if dst in taken:
            continue
        mapping[c] = dst
        taken.add(dst)


def _map_by_rules(source_cols: list[str], targets: list[str], driver: set[str], mapping: dict[str, str]) -> None:
    """An existing layer: same name first, then a synonym, then a driver field's weak synonym — each layer field
    taken once, by the first source field (in file order) of the strongest rule."""
    taken = set(mapping.values())
    by_key = {_compact(t): t for t in targets}
    for rule in ("exact", "synonym", "weak"):
        for c in source_cols:
            if c in mapping:
                continue
            key = _compact(c)
            if rule == "exact":
                dst = by_key.get(key) if c not in driver or key in ("name",) else None
            elif rule == "synonym":
                dst = _SYNONYMS.get(key) if c not in driver else None
            else:
                dst = _WEAK_SYNONYMS.get(key)
            if dst and dst in targets and dst not in taken:
                mapping[c] = dst
                taken.add(dst)


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(str(name)))


# ------------------------------------------------------------------------------------------------- provenance
def _provenance_column(attrs: pd.DataFrame, mapping: dict[str, str], target: str) -> list:
    """The cleaned values of the source field mapped to `target`; all None when no field maps to it."""
    src = next((s for s, t in mapping.items() if t == target), None)
    return [clean(v) for v in attrs[src].to_numpy()] if src else [None] * len(attrs)


def _sources(ctx: ImportContext, col: list) -> list[str]:
    """Each feature's source: the file's, else the declared one, else "planmap: imported on <date>" (with a note).

    Not the file's name: features are read by everyone, the file's name only by planners (in the revision)."""
    default = ctx.source or f"planmap: imported on {dt.date.today().isoformat()}"
    if any(v in (None, "") for v in col):
        ctx.report.note("source_default", f"features without a source were given source = {default!r}",
                        f"Các đối tượng không có nguồn được ghi nguồn = {default!r}")
    return [str(v) if v not in (None, "") else default for v in col]


def _accuracies(ctx: ImportContext, col: list) -> list[str]:
    """Each feature's accuracy: the file's (English or Vietnamese words), else the declared one, else the
    default — never "exact" unless somebody said so."""
    default = ctx.accuracy or DEFAULT_ACCURACY
    out, defaulted = [], 0
    for i, v in enumerate(col):
        value = None
        if v not in (None, ""):
            key = fold(str(v)).replace("_", " ")
            value = key if key in ACCURACY else _ACCURACY_WORDS.get(key)
            if value is None:
                ctx.problem(i, "warning", "bad_value", f"accuracy {v!r} is not one of {', '.join(ACCURACY)}; "
                            f"{default!r} used", f"Độ chính xác {v!r} không thuộc {', '.join(ACCURACY)}; đã dùng "
                            f"{default!r}", field_name="accuracy", value=v)
        if value is None:
            value = default
            defaulted += 1
        out.append(value)
    if defaulted and ctx.accuracy:
        ctx.report.note("accuracy_declared", f"{defaulted} features take the declared accuracy {ctx.accuracy!r}",
                        f"{defaulted} đối tượng lấy độ chính xác được khai báo {ctx.accuracy!r}")
    elif defaulted:
        ctx.report.note("accuracy_default", f"the accuracy of {defaulted} features was not declared; they "
                        f"are marked {DEFAULT_ACCURACY!r} (not 'exact') — declare it if it is known",
                        f"Độ chính xác của {defaulted} đối tượng không được khai báo; ghi là "
                        f"{DEFAULT_ACCURACY!r} (không phải 'exact') — hãy khai báo nếu biết", "warning")
    return out
