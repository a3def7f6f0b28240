"""CQL2 filters (OGC API – Features Part 3) evaluated on a layer as boolean masks, never feature by feature.

The text (`cql2-text`) or JSON (`cql2-json`) is parsed by pygeofilter, the maintained parser of the OGC filter
languages, into its syntax tree; this module evaluates that tree over the selected rows of a layer, one vectorized
operation per node: numpy comparisons on number, date and boolean columns, pandas' string methods on text (LIKE
becomes one anchored regular expression), `isin` for IN, numpy arithmetic, and for the spatial functions the layer's
spatial index (`layer.index.intersecting`) to find the candidate rows and shapely's vectorized predicates on those
rows only.  Distances (S_DWITHIN) are measured in metres in VN-2000 / TM-3 106°30′ (EPSG:9213).

Truth is three-valued as CQL2 says: a comparison with an empty value (NULL, a missing geometry) is *unknown*, and
NOT of unknown is unknown; a feature is selected only when the whole filter is true.  Each condition is therefore
evaluated to two masks, (true, false); unknown is neither.

A filter is bounded before any work (layers/limits.py): its length, its nesting and its number of terms.  Every
mistake — a malformed filter, an unknown property, a text compared with a number — is a 400 naming it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import orjson
import pandas as pd
import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json

from geo.crs import (
    CRS84,
    VIETNAM_BOUNDS,
    SupportedCrs,
    bbox_domain,
    parse_crs,
    transform_bbox,
    transform_geometries,
)
from geo.errors import BadRequest, PayloadTooLarge, PlanmapError
from layers.cql_text import parse as parse_cql2_text
from layers.dataset import Layer
from layers.limits import MAX_FILTER_CHARS, MAX_FILTER_DEPTH, MAX_FILTER_JSON_DEPTH, MAX_FILTER_TERMS

LANGUAGES = ("cql2-text", "cql2-json", "cql-text")  # cql-text: the drafts' name, which GDAL sends
GEOMETRY = "geometry"  # the name of a feature's geometry in filters, as the queryables list it
ID = "id"  # the feature id, which filters may use like a number property
VN2000 = parse_crs("EPSG:9213")  # where S_DWITHIN measures its metres

# What this module implements, as CQL2 conformance classes (the API's /conformance lists them).
CONFORMANCE = [
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
]

# Parsed filters kept: a GIS client sends the same filter with every page it reads.
PARSED_FILTERS_KEPT = 256
# Exact tests against one literal geometry from which preparing it (GEOS's indexed form) pays off.
PREPARE_FROM = 16

_NS_MIN, _NS_MAX = np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max  # open ends of an interval (NaT is min)
_DATE_TEXT = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}")  # text compared with a date must read as one


@dataclass(frozen=True)
class Filter:
    """A parsed CQL2 filter and the CRS its geometry literals are written in (`filter-crs`)."""

    node: object
    crs: SupportedCrs = CRS84
    text: str = ""


def parse_filter(text: str, lang: str = "cql2-text", crs: SupportedCrs = CRS84) -> Filter:
    """The filter `text` in `lang`, parsed and bounded: 413 when longer or more complex than layers/limits.py
    allows, 400 naming what is wrong when it is not CQL2."""
    if lang not in LANGUAGES:
        raise BadRequest(f"filter-lang {lang!r} is not supported; use one of: {', '.join(LANGUAGES)}",
                         f"filter-lang {lang!r} không được hỗ trợ; dùng một trong: {', '.join(LANGUAGES)}")
    if len(text) > MAX_FILTER_CHARS:
        raise PayloadTooLarge(f"filter has {len(text):,} characters; at most {MAX_FILTER_CHARS:,} are accepted",
                              f"filter có {_vi(len(text))} ký tự; chỉ nhận tối đa {_vi(MAX_FILTER_CHARS)} ký tự",
                              code="FilterTooLarge", details={"limit": MAX_FILTER_CHARS})
    if not text.strip():
        raise BadRequest("filter is empty", "filter để trống")
    return Filter(_parsed(text, "cql2-text" if lang == "cql-text" else lang), crs, text)


@lru_cache(maxsize=PARSED_FILTERS_KEPT)
def _parsed(text: str, lang: str) -> object:
    if lang == "cql2-json":
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"filter is not JSON: {exc}", f"filter không phải JSON: {exc}") from None
        if _json_depth(document) > MAX_FILTER_JSON_DEPTH:
            raise _too_complex(f"its JSON nests more than {MAX_FILTER_JSON_DEPTH} levels",
                               f"JSON lồng nhau quá {MAX_FILTER_JSON_DEPTH} cấp")
        if not isinstance(document, dict):
            raise BadRequest("filter in cql2-json must be a JSON object", "filter cql2-json phải là một đối tượng JSON")
        parse: Callable[[object], object] = parse_cql2_json
        source: object = _as_pygeofilter_reads_it(document)
    else:
        parse, source = parse_cql2_text, text
    try:
        with _PARSER_LOCK:
            node = parse(source)
    except PlanmapError:
        raise
    except Exception as exc:  # noqa: BLE001 - the parser's errors (lark's, ValueError, KeyError…) all mean bad input
        raise _malformed(getattr(exc, "orig_exc", None) or exc, lang) from None
    if isinstance(node, PlanmapError):
        raise node
    if node is None or isinstance(node, (str, int, float, bool, list, dict)):
        raise BadRequest(f"filter is not a {lang} condition", f"filter không phải một điều kiện {lang}")
    depth, terms = _complexity(node)
    if depth > MAX_FILTER_DEPTH:
        raise _too_complex(f"it nests {depth} levels deep; at most {MAX_FILTER_DEPTH} are accepted",
                           f"lồng nhau {depth} cấp; tối đa {MAX_FILTER_DEPTH}")
    if terms > MAX_FILTER_TERMS:
        raise _too_complex(f"it has {terms} terms; at most {MAX_FILTER_TERMS} are accepted",
                           f"có {terms} thành phần; tối đa {MAX_FILTER_TERMS}")
    return node


# pygeofilter's text parser is one lark parser shared by the module: one parse at a time (a parse takes well under
# a millisecond, and parsed filters are kept).
_PARSER_LOCK = threading.Lock()


def _malformed(exc: Exception, lang: str) -> BadRequest:
    """A parser's complaint as a sentence that says where the filter went wrong."""
    column = getattr(exc, "column", None)
    token = getattr(exc, "token", None) or getattr(exc, "char", None)
    if column is not None and column != -1:
        near = f" near {str(token)!r}" if token is not None else ""
        near_vi = f" gần {str(token)!r}" if token is not None else ""
        return BadRequest(f"filter is not valid {lang}: unexpected input at character {column}{near}",
                          f"filter không đúng cú pháp {lang}: lỗi ở ký tự thứ {column}{near_vi}")
    reason = str(getattr(exc, "orig_exc", None) or exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return BadRequest(f"filter is not valid {lang}: {reason}", f"filter không đúng cú pháp {lang}: {reason}")


# CQL2 JSON as CQL2 1.0 writes it → as pygeofilter 0.4's reader takes it: `between` with its bounds as a pair, a
# `bbox` as the polygon it is (the reader mixes up its corners), the functions it does not know by name as
# `function` nodes, and the temporal functions by the drafts' names (T_INTERSECTS is "not disjoint").
_JSON_FUNCTIONS = {"accenti": "accenti", "s_dwithin": "s_dwithin", "%": "mod", "div": "div", "^": "pow"}
_JSON_TEMPORAL = {"t_starts": "t_begins", "t_startedby": "t_begunby", "t_finishes": "t_ends",
                  "t_finishedby": "t_endedby"}


def _as_pygeofilter_reads_it(node: object) -> object:
    if isinstance(node, list):
        return [_as_pygeofilter_reads_it(n) for n in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("bbox"), list) and len(node) == 1 and len(node["bbox"]) in (4, 6):
        box = node["bbox"] if len(node["bbox"]) == 4 else [node["bbox"][i] for i in (0, 1, 3, 4)]
        x0, y0, x1, y1 = box
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    op, args = node.get("op"), node.get("args")
    if not isinstance(op, str) or not isinstance(args, list):
        return {k: _as_pygeofilter_reads_it(v) for k, v in node.items()}
    args = _as_pygeofilter_reads_it(args)
    name = op.lower()
    if name == "between" and len(args) == 3:
        return {"op": "between", "args": [args[0], [args[1], args[2]]]}
    if name in _JSON_FUNCTIONS:
        return {"function": {"name": _JSON_FUNCTIONS[name], "arguments": args}}
    if name in _JSON_TEMPORAL:
        return {"op": _JSON_TEMPORAL[name], "args": args}
    if name in ("t_disjoint", "t_intersects"):
        disjoint = {"op": "or", "args": [{"op": "t_before", "args": args}, {"op": "t_after", "args": args}]}
        return disjoint if name == "t_disjoint" else {"op": "not", "args": [disjoint]}
    return {**node, "op": name if name in ("and", "or", "not", "like", "in", "between", "casei") else op,
            "args": args}


def _too_complex(en: str, vi: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"filter is too complex: {en}", f"filter quá phức tạp: {vi}", code="FilterTooComplex",
                           details={"max_depth": MAX_FILTER_DEPTH, "max_terms": MAX_FILTER_TERMS})


def _json_depth(document: object) -> int:
    """How deep a parsed JSON document nests (iteratively: the document may be hostile)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_FILTER_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def _children(node: object) -> list:
    """The operands of a node that are themselves evaluated (an IN list's values and a geometry count once)."""
    if isinstance(node, ast.In):
        return [node.lhs]
    if isinstance(node, ast.Node):
        return [c for c in node.get_sub_nodes() if c is not None]
    return []


def _complexity(node: object) -> tuple[int, int]:
    """(nesting depth, number of terms — predicates, functions and arithmetic, each a pass over the rows); a chain
    of ANDs (or of ORs) is one level, however long."""
    deepest, terms, stack = 0, 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, ast.Node) and not isinstance(item, (ast.Attribute, ast.And, ast.Or, ast.Not)):
            terms += 1
        deepest = max(deepest, depth)
        if terms > MAX_FILTER_TERMS or depth > MAX_FILTER_DEPTH:
            break
        for child in _children(item):
            same_chain = isinstance(item, (ast.And, ast.Or)) and type(child) is type(item)
            stack.append((child, depth if same_chain else depth + 1))
    return deepest, terms


# --------------------------------------------------------------------------------------------- properties used
def check_properties(layer: Layer, cql: Filter) -> None:
    """400 naming every property the filter uses that the layer does not have (before any work)."""
    known = _typed_names(layer)
    unknown = sorted({n for n in _attributes(cql.node) if n not in known})
    if unknown:
        names = ", ".join(map(repr, unknown))
        queryables = ", ".join(sorted(known))
        raise BadRequest(f"filter uses unknown propert{'ies' if len(unknown) > 1 else 'y'} {names}; the "
                         f"queryables of {layer.id!r} are: {queryables}",
                         f"filter dùng thuộc tính không có: {names}; lớp {layer.id!r} lọc được theo: {queryables}",
                         code="InvalidParameterValue", details={"unknown_properties": unknown})


def _typed_names(layer: Layer) -> dict[str, str]:
    return {ID: "integer", **layer.queryables(), GEOMETRY: "geometry"}


def _attributes(node: object) -> list[str]:
    out, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Attribute):
            out.append(item.name)
        elif isinstance(item, ast.In):
            stack.append(item.lhs)
            stack.extend(item.sub_nodes)
        elif isinstance(item, values.Interval):
            stack.extend((item.start, item.end))
        elif isinstance(item, ast.Function) and item.name.lower() in _DISTANCE_FUNCTIONS:
            stack.extend(item.arguments[:3])  # the fourth is the unit of the distance, not a property
        elif isinstance(item, ast.Node):
            stack.extend(_children(item))
        elif isinstance(item, list):
            stack.extend(item)
    return out


# ------------------------------------------------------------------------------------------------ evaluation
def filter_mask(layer: Layer, cql: Filter, rows: np.ndarray) -> np.ndarray:
    """Which of `rows` (row numbers of `layer`) the filter selects: true, not false or unknown."""
    check_properties(layer, cql)
    with np.errstate(all="ignore"):
        true, _ = _Evaluation(layer, rows, cql.crs).condition(cql.node)
    return np.broadcast_to(true, (len(rows),)).copy()


@dataclass
class _Value:
    """An operand: per row (an array) or one value (a literal), its kind, which rows have none, and how to name
    it in a message."""

    kind: str  # number, text, boolean, time, interval, geometry
    value: object
    missing: object  # bool array, or a bool for a literal
    name: str
    is_property: bool = False  # varies per row (a property, or computed from one)
    column: str | None = None  # the property it is, as it is


_KIND_WORDS = {"number": ("a number", "số"), "text": ("text", "chuỗi"), "boolean": ("true/false", "đúng/sai"),
               "time": ("a date or time", "ngày/giờ"), "interval": ("an interval", "khoảng thời gian"),
               "geometry": ("a geometry", "hình học")}

_COMPARE = {ast.Equal: np.equal, ast.NotEqual: np.not_equal, ast.LessThan: np.less, ast.LessEqual: np.less_equal,
            ast.GreaterThan: np.greater, ast.GreaterEqual: np.greater_equal}
_TEXT_COMPARE = {ast.Equal: "__eq__", ast.NotEqual: "__ne__", ast.LessThan: "__lt__", ast.LessEqual: "__le__",
                 ast.GreaterThan: "__gt__", ast.GreaterEqual: "__ge__"}
_ARITHMETIC = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mul: np.multiply, ast.Div: np.true_divide}
# CQL2's `%`, `div` and `^`, which pygeofilter's tree has no nodes for: functions of two numbers
_ARITHMETIC_FUNCTIONS = {"mod": np.fmod, "div": np.floor_divide, "pow": np.power}

# CQL2's spatial functions, as shapely's vectorized predicates of (feature geometry, literal)
_SPATIAL = {ast.GeometryIntersects: shapely.intersects, ast.GeometryEquals: shapely.equals,
            ast.GeometryTouches: shapely.touches, ast.GeometryWithin: shapely.within,
            ast.GeometryOverlaps: shapely.overlaps, ast.GeometryCrosses: shapely.crosses,
            ast.GeometryContains: shapely.contains}
_CONVERSE = {ast.GeometryWithin: ast.GeometryContains, ast.GeometryContains: ast.GeometryWithin}

# The temporal functions over (start, end) of each operand — an instant is an interval of no length.
_TEMPORAL: dict[type, Callable] = {
    ast.TimeBefore: lambda a0, a1, b0, b1: a1 < b0,
    ast.TimeAfter: lambda a0, a1, b0, b1: a0 > b1,
    ast.TimeMeets: lambda a0, a1, b0, b1: a1 == b0,
    ast.TimeMetBy: lambda a0, a1, b0, b1: a0 == b1,
    ast.TimeOverlaps: lambda a0, a1, b0, b1: (a0 < b0) & (b0 < a1) & (a1 < b1),
    ast.TimeOverlappedBy: lambda a0, a1, b0, b1: (b0 < a0) & (a0 < b1) & (b1 < a1),
    ast.TimeBegins: lambda a0, a1, b0, b1: (a0 == b0) & (a1 < b1),
    ast.TimeBegunBy: lambda a0, a1, b0, b1: (a0 == b0) & (a1 > b1),
    ast.TimeDuring: lambda a0, a1, b0, b1: (a0 > b0) & (a1 < b1),
    ast.TimeContains: lambda a0, a1, b0, b1: (a0 < b0) & (a1 > b1),
    ast.TimeEnds: lambda a0, a1, b0, b1: (a0 > b0) & (a1 == b1),
    ast.TimeEndedBy: lambda a0, a1, b0, b1: (a0 < b0) & (a1 == b1),
    ast.TimeEquals: lambda a0, a1, b0, b1: (a0 == b0) & (a1 == b1),
    ast.TimeDisjoint: lambda a0, a1, b0, b1: (a1 < b0) | (a0 > b1),
}


class _Evaluation:
    """One filter over some rows of one layer."""

    def __init__(self, layer: Layer, rows: np.ndarray, crs: SupportedCrs) -> None:
        self.layer, self.rows, self.crs = layer, np.asarray(rows, dtype=np.int64), crs
        self.n = len(self.rows)
        self.types = _typed_names(layer)

    # ---------------------------------------------------------------------------------------------- conditions
    def condition(self, node: object) -> tuple[np.ndarray | bool, np.ndarray | bool]:
        """(true, false) of a condition per row; unknown rows are in neither."""
        if isinstance(node, (ast.And, ast.Or)):
            return self._chain(node)
        if isinstance(node, ast.Not):
            true, false = self.condition(node.sub_node)
            return false, true
        if isinstance(node, bool):  # a literal TRUE / FALSE as a whole condition
            return node, not node
        if hasattr(ast, "Include") and isinstance(node, ast.Include):
            return not node.not_, node.not_
        if isinstance(node, ast.Attribute) and self.types.get(node.name) == "boolean":
            value = self.value(node)
            return self._known(value.value, value.missing)
        if type(node) in _COMPARE:
            return self._compare(type(node), self.value(node.lhs), self.value(node.rhs))
        if isinstance(node, ast.Between):
            value = self.value(node.lhs)
            low = self._compare(ast.GreaterEqual, value, self.value(node.low))
            high = self._compare(ast.LessEqual, value, self.value(node.high))
            result = (low[0] & high[0], low[1] | high[1])
            return result[::-1] if node.not_ else result
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.IsNull):
            missing = np.broadcast_to(np.asarray(self.value(node.lhs).missing, dtype=bool), (self.n,))
            return (~missing, missing) if node.not_ else (missing, ~missing)
        if type(node) in _SPATIAL or isinstance(node, ast.GeometryDisjoint):
            return self._spatial(type(node), node.lhs, node.rhs)
        if hasattr(ast, "DistanceWithin") and isinstance(node, ast.DistanceWithin):
            return self._within_distance(node.lhs, node.rhs, node.distance, getattr(node, "units", None))
        if type(node) in _TEMPORAL:
            return self._temporal(_TEMPORAL[type(node)], node.lhs, node.rhs)
        if isinstance(node, ast.Function):
            return self._function_condition(node)
        raise _unsupported(node)

    def _chain(self, node: ast.And | ast.Or) -> tuple:
        """A chain of ANDs (or ORs) combined in one pass over its operands, however long it is."""
        kind, operands, stack = type(node), [], [node]
        while stack:
            item = stack.pop()
            if type(item) is kind:
                stack.extend((item.rhs, item.lhs))
            else:
                operands.append(item)
        results = [self.condition(op) for op in operands]
        if kind is ast.And:
            return _all([t for t, _ in results]), _any([f for _, f in results])
        return _any([t for t, _ in results]), _all([f for _, f in results])

    def _known(self, truth, missing) -> tuple:
        """(true, false) of a per-row truth value, unknown where a value is missing."""
        present = ~np.asarray(missing, dtype=bool)
        truth = np.asarray(truth, dtype=bool)
        return truth & present, ~truth & present

    def _compare(self, op: type, a: _Value, b: _Value) -> tuple:
        a, b = self._comparable(a, b)
        if a.kind == "boolean" and op not in (ast.Equal, ast.NotEqual):
            raise BadRequest(f"{a.name} and {b.name} are true/false: compare them with = or <>",
                             f"{a.name} và {b.name} là đúng/sai: chỉ so sánh bằng = hoặc <>")
        truth = _text_compare(op, a.value, b.value) if a.kind == "text" else _COMPARE[op](a.value, b.value)
        return self._known(truth, np.asarray(a.missing) | np.asarray(b.missing))

    def _comparable(self, a: _Value, b: _Value) -> tuple[_Value, _Value]:
        """Both operands of one kind, or a 400 saying which does not fit (a date property stored as text compared
        with a date becomes a date)."""
        for v in (a, b):
            if v.kind in ("geometry", "interval"):
                en, vi = _KIND_WORDS[v.kind]
                raise BadRequest(f"{v.name} is {en}: use the S_… (spatial) or T_… (temporal) functions, not a "
                                 "comparison", f"{v.name} là {vi}: dùng các hàm S_… hoặc T_…, không so sánh trực tiếp")
        if a.kind == b.kind:
            return a, b
        if "time" in (a.kind, b.kind):
            return self._as_time(a), self._as_time(b)
        raise _mismatch(a, b)

    def _like(self, node: ast.Like) -> tuple:
        value = self.value(node.lhs)
        pattern = node.pattern if isinstance(node.pattern, str) else self.value(node.pattern)
        if isinstance(pattern, _Value):
            if pattern.kind != "text" or pattern.is_property or isinstance(pattern.value, np.ndarray):
                raise BadRequest("LIKE takes a text pattern, e.g. name LIKE 'CCN%'",
                                 "LIKE cần một mẫu chuỗi, ví dụ name LIKE 'CCN%'")
            pattern = pattern.value
        if value.kind != "text":
            raise _mismatch(value, _Value("text", pattern, False, repr(pattern)))
        regex = like_regex(pattern, getattr(node, "escapechar", None) or "\\", bool(getattr(node, "nocase", False)))
        truth = _text_series(value.value, self.n).str.contains(regex, regex=True, na=False).to_numpy(dtype=bool)
        result = self._known(truth, value.missing)
        return result[::-1] if node.not_ else result

    def _in(self, node: ast.In) -> tuple:
        if not isinstance(node.sub_nodes, list):
            raise BadRequest("IN takes a list of values, e.g. status IN ('planned', 'expanding')",
                             "IN cần một danh sách giá trị, ví dụ status IN ('planned', 'expanding')")
        value = self.value(node.lhs)
        options = [self.value(v) for v in node.sub_nodes]
        if any(isinstance(o.value, np.ndarray) for o in options):
            truth: np.ndarray | bool = False
            for option in options:  # a list with properties in it: a comparison per member
                truth = truth | self._compare(ast.Equal, value, option)[0]
            result = self._known(truth, value.missing)
        else:
            pairs = [self._comparable(value, o) for o in options]
            value = pairs[0][0] if pairs else value
            wanted = [b.value for _, b in pairs]
            if value.kind == "text":
                truth = _text_series(value.value, self.n).isin(wanted).to_numpy(dtype=bool)
            else:
                truth = np.isin(np.broadcast_to(value.value, (self.n,)), np.asarray(wanted))
            result = self._known(truth, value.missing)
        return result[::-1] if node.not_ else result

    # -------------------------------------------------------------------------------------------------- space
    def _spatial(self, kind: type, lhs: object, rhs: object) -> tuple:
        if self._is_geometry_property(rhs) and not self._is_geometry_property(lhs):
            lhs, rhs, kind = rhs, lhs, _CONVERSE.get(kind, kind)
        if not self._is_geometry_property(lhs) or self._is_geometry_property(rhs):
            raise BadRequest(f"a spatial function compares the property {GEOMETRY!r} with a geometry literal, e.g. "
                             f"S_INTERSECTS({GEOMETRY}, POINT(105.84 21.59))",
                             f"hàm không gian so sánh thuộc tính {GEOMETRY!r} với một hình học, ví dụ "
                             f"S_INTERSECTS({GEOMETRY}, POINT(105.84 21.59))")
        literal = self._literal_geometry(rhs)
        touching = self.layer.index.intersecting(literal)  # every predicate but disjoint implies intersecting
        if kind is ast.GeometryDisjoint or kind is ast.GeometryIntersects:
            hits = touching
        else:
            test = _SPATIAL[kind]
            if len(touching) > PREPARE_FROM:
                shapely.prepare(literal)
            hits = touching[test(self.layer.geometries(touching), literal)] if len(touching) else touching
        hit = self._rows_in(hits)
        present = ~self._geometry_missing()
        if kind is ast.GeometryDisjoint:
            return present & ~hit, hit
        return hit, present & ~hit

    def _within_distance(self, lhs: object, rhs: object, distance: object, units: object) -> tuple:
        """S_DWITHIN(geometry, literal, metres): measured in VN-2000 metres, candidates from the index."""
        if self._is_geometry_property(rhs):
            lhs, rhs = rhs, lhs
        if not self._is_geometry_property(lhs):
            raise BadRequest("S_DWITHIN compares the property 'geometry' with a geometry literal and a distance "
                             "in metres, e.g. S_DWITHIN(geometry, POINT(105.84 21.59), 500)",
                             "S_DWITHIN so sánh thuộc tính 'geometry' với một hình học và khoảng cách (mét), ví dụ "
                             "S_DWITHIN(geometry, POINT(105.84 21.59), 500)")
        metres = _metres(distance, units)
        literal = self._literal_geometry(rhs)
        lon0, lat0, lon1, lat1 = VIETNAM_BOUNDS
        x0, y0, x1, y1 = shapely.bounds(literal).tolist()
        if not (lon0 <= x0 and x1 <= lon1 and lat0 <= y0 and y1 <= lat1):
            raise BadRequest("S_DWITHIN measures metres in VN-2000, which holds within Vietnam only; the geometry "
                             "lies outside", "S_DWITHIN đo mét theo VN-2000, chỉ dùng được trong lãnh thổ Việt Nam; "
                             "hình học nằm ngoài")
        literal_m = transform_geometries(np.array([literal]), CRS84, VN2000)[0]
        mx0, my0, mx1, my1 = shapely.bounds(literal_m).tolist()
        reach = transform_bbox((mx0 - metres, my0 - metres, mx1 + metres, my1 + metres), VN2000, CRS84)
        candidates = self.layer.index.intersecting(reach)
        if len(candidates):
            near = shapely.dwithin(transform_geometries(self.layer.geometries(candidates), CRS84, VN2000),
                                   literal_m, metres)
            candidates = candidates[near]
        hit = self._rows_in(candidates)
        return hit, ~self._geometry_missing() & ~hit

    def _rows_in(self, hits: np.ndarray) -> np.ndarray:
        """Which of the evaluated rows are among `hits` (rows of the whole layer)."""
        inside = np.zeros(len(self.layer), dtype=bool)
        inside[hits] = True
        return inside[self.rows]

    def _geometry_missing(self) -> np.ndarray:
        return ~np.isfinite(self.layer.bounds_array[self.rows]).all(axis=1)

    def _is_geometry_property(self, node: object) -> bool:
        return isinstance(node, ast.Attribute) and node.name == GEOMETRY

    def _literal_geometry(self, node: object) -> shapely.Geometry:
        """A geometry literal (WKT, GeoJSON or BBOX, in `filter-crs`) in CRS84, valid and within reach."""
        if isinstance(node, values.Envelope):
            geometry = shapely.box(min(node.x1, node.x2), min(node.y1, node.y2), max(node.x1, node.x2),
                                   max(node.y1, node.y2))
        elif isinstance(node, values.Geometry):
            try:
                geometry = shapely.geometry.shape(node.geometry)
            except Exception as exc:  # noqa: BLE001 - a malformed literal is the client's mistake
                raise BadRequest(f"filter geometry cannot be read: {exc}",
                                 f"không đọc được hình học trong filter: {exc}") from None
        else:
            raise BadRequest(f"{_name(node)} is not a geometry; spatial functions take a WKT or GeoJSON geometry or "
                             "a BBOX", f"{_name(node)} không phải hình học; hàm không gian cần hình học WKT, GeoJSON "
                             "hoặc BBOX")
        if geometry.is_empty:
            raise BadRequest("filter geometry is empty", "hình học trong filter rỗng")
        if self.crs != CRS84:
            minx, miny, maxx, maxy = bbox_domain(self.crs)
            x0, y0, x1, y1 = shapely.bounds(geometry).tolist()
            if x1 < minx or x0 > maxx or y1 < miny or y0 > maxy:
                raise BadRequest(f"filter geometry lies outside the area {self.crs.code} is used for",
                                 f"hình học trong filter nằm ngoài vùng sử dụng của {self.crs.code}")
            geometry = transform_geometries(np.array([geometry]), self.crs, CRS84)[0]
        if not np.isfinite(shapely.get_coordinates(geometry)).all():
            raise BadRequest(f"filter geometry lies outside the area {self.crs.code} is used for",
                             f"hình học trong filter nằm ngoài vùng sử dụng của {self.crs.code}")
        if not shapely.is_valid(geometry):
            reason = shapely.is_valid_reason(geometry)
            raise BadRequest(f"filter geometry is not valid: {reason}", f"hình học trong filter không hợp lệ: {reason}")
        return geometry

    # --------------------------------------------------------------------------------------------------- time
    def _temporal(self, test: Callable, lhs: object, rhs: object) -> tuple:
        a0, a1, a_missing = self._span(lhs)
        b0, b1, b_missing = self._span(rhs)
        return self._known(test(a0, a1, b0, b1), np.asarray(a_missing) | np.asarray(b_missing))

    def _span(self, node: object) -> tuple:
        """(start, end, missing) in nanoseconds: an instant is a span of no length, an open end is unbounded."""
        if isinstance(node, values.Interval):
            return (*(self._end(e, open_end) for e, open_end in ((node.start, _NS_MIN), (node.end, _NS_MAX))), False)
        value = self._as_time(self.value(node))
        return value.value, value.value, value.missing

    def _end(self, end: object, open_end: int) -> np.ndarray | int:
        """One end of an interval: a date or time, open (None or '..'), or a date property — whose empty values
        are open ends, as the layer's validity dates are (`valid_to` empty: still in force)."""
        if not isinstance(end, ast.Attribute):
            return _instant(end, open_end)
        value = self._as_time(self.value(end))
        return np.where(np.asarray(value.missing, dtype=bool), open_end, value.value)

    def _as_time(self, v: _Value) -> _Value:
        """A date/time operand as nanoseconds; a text property holding dates (e.g. `valid_from`) is read as dates
        (each layer's text parsed once), a text literal must be a date."""
        if v.kind == "time":
            return v
        if v.kind == "text" and v.column is not None:
            ns, missing = _dates_of(self.layer, v.column)
            return _Value("time", ns[self.rows], missing[self.rows], v.name, True)
        if v.kind == "text" and isinstance(v.value, str) and _DATE_TEXT.match(v.value):
            return _Value("time", _instant(v.value, 0), False, v.name)
        en, vi = _KIND_WORDS[v.kind]
        raise BadRequest(f"{v.name} is {en}, not a date: write DATE('2025-07-01') or TIMESTAMP('2025-07-01T00:00:00Z')",
                         f"{v.name} là {vi}, không phải ngày: viết DATE('2025-07-01') hoặc "
                         "TIMESTAMP('2025-07-01T00:00:00Z')")

    # ------------------------------------------------------------------------------------------------- values
    def value(self, node: object) -> _Value:
        """An operand per row or as one literal value."""
        if isinstance(node, ast.Attribute):
            return self._property(node.name)
        if isinstance(node, bool):
            return _Value("boolean", node, False, str(node).upper())
        if isinstance(node, (int, float)):
            return _Value("number", float(node), False, repr(node))
        if isinstance(node, str):
            return _Value("text", node, False, repr(node))
        if isinstance(node, (dt.date, dt.datetime)):
            return _Value("time", _instant(node, 0), False, node.isoformat())
        if isinstance(node, values.Interval):
            return _Value("interval", node, False, "INTERVAL(…)")
        if isinstance(node, (values.Geometry, values.Envelope)):
            return _Value("geometry", node, False, "a geometry")
        if type(node) in _ARITHMETIC:
            return self._arithmetic(node)
        if isinstance(node, ast.Function):
            return self._function_value(node)
        raise _unsupported(node)

    def _property(self, name: str) -> _Value:
        kind = self.types.get(name)
        if kind is None:
            raise BadRequest(f"filter uses unknown property {name!r}", f"filter dùng thuộc tính không có: {name!r}")
        if kind == "geometry":
            return _Value("geometry", None, self._geometry_missing(), name, True)
        kind, values_, missing = _typed_column(self.layer, name, kind)
        return _Value(kind, values_[self.rows], missing[self.rows], name, True, name if kind == "text" else None)

    def _arithmetic(self, node, ufunc: Callable | None = None) -> _Value:
        a, b = (self.value(node.lhs), self.value(node.rhs)) if ufunc is None else \
            (self.value(node.arguments[0]), self.value(node.arguments[1]))
        for v in (a, b):
            if v.kind != "number":
                en, vi = _KIND_WORDS[v.kind]
                raise BadRequest(f"arithmetic needs numbers; {v.name} is {en}",
                                 f"phép tính cần số; {v.name} là {vi}")
        result = (ufunc or _ARITHMETIC[type(node)])(a.value, b.value)
        missing = np.asarray(a.missing) | np.asarray(b.missing) | ~np.isfinite(result)
        return _Value("number", result, missing, f"({a.name} … {b.name})", a.is_property or b.is_property)

    def _function_value(self, node: ast.Function) -> _Value:
        name = node.name.lower()
        if name in _ARITHMETIC_FUNCTIONS and len(node.arguments) == 2:
            return self._arithmetic(node, _ARITHMETIC_FUNCTIONS[name])
        if name in ("casei", "lower", "accenti") and len(node.arguments) == 1:
            v = self.value(node.arguments[0])
            if v.kind != "text":
                en, vi = _KIND_WORDS[v.kind]
                raise BadRequest(f"{name.upper()} takes text; {v.name} is {en}", f"{name.upper()} cần chuỗi; "
                                 f"{v.name} là {vi}")
            fold = casei if name in ("casei", "lower") else accenti
            if isinstance(v.value, np.ndarray):
                folded = _fold_array(v.value, v.missing, fold)
            else:
                folded = fold(v.value)
            return _Value("text", folded, v.missing, f"{name.upper()}({v.name})", v.is_property)
        raise _unsupported(node)

    def _function_condition(self, node: ast.Function) -> tuple:
        name = node.name.lower()
        args = node.arguments
        if name in _DISTANCE_FUNCTIONS and len(args) in (3, 4):
            return self._within_distance(args[0], args[1], args[2], args[3] if len(args) == 4 else None)
        raise _unsupported(node)


# ------------------------------------------------------------------------------------------------- helpers
def _typed_column(layer: Layer, name: str, queryable: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(kind, values, missing) of a property over the whole layer, as filters compare it — kept per layer like its
    columns, so a filter asked again costs the comparison alone."""
    key = ("typed", name)
    found = layer.cache.get(key)
    if found is not None:
        return found
    if name == ID and ID not in layer.property_columns:
        found = ("number", layer.fids.astype(np.float64), np.zeros(len(layer), dtype=bool))
    else:
        column = layer.column(name)
        missing = np.asarray(pd.isna(column), dtype=bool)
        if column.dtype.kind == "M":
            found = ("time", column.astype("datetime64[ns]").astype(np.int64), missing)
        elif queryable in ("integer", "number"):
            numbers = column.astype(np.float64) if column.dtype.kind in "iufb" else \
                pd.to_numeric(pd.Series(column, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
            found = ("number", numbers, missing | np.isnan(numbers))
        elif queryable == "boolean":
            found = ("boolean", np.asarray(np.where(missing, False, column), dtype=bool), missing)
        else:
            found = ("text", _as_text(column, missing), missing)
    layer.cache[key] = found
    return found


def like_regex(pattern: str, escape: str = "\\", nocase: bool = False) -> re.Pattern:
    """CQL2's LIKE pattern (`%` any run of characters, `_` one character, `\\` escaping either) as a regular
    expression over the whole value.  Between wildcards, each literal run is matched by an atomic group at its
    first occurrence — where a run can be placed earliest is always a best place for the rest — so the match
    never backtracks: linear in the value, whatever the pattern (no `%a%a%a%…` blow-up)."""
    runs: list[str] = [""]  # literal runs (regex text) between `%`s
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            runs[-1] += re.escape(pattern[i + 1])
            i += 2
            continue
        if ch == "%":
            runs.append("")
        elif ch == "_":
            runs[-1] += "."
        else:
            runs[-1] += re.escape(ch)
        i += 1
    if len(runs) == 1:
        body = runs[0] + r"\Z"
    else:
        body = runs[0] + "".join(f"(?>.*?{run})" for run in runs[1:-1] if run) + f".*{runs[-1]}\\Z"
    return re.compile(r"\A" + body, re.DOTALL | (re.IGNORECASE if nocase else 0))


def casei(text: str) -> str:
    """CQL2 CASEI: Unicode case folding ("Yên Bình" and "YÊN BÌNH" compare equal)."""
    return text.casefold()


_VIETNAMESE_D = str.maketrans("đĐ", "dD")


def accenti(text: str) -> str:
    """CQL2 ACCENTI: without diacritics ("Yên Bình" and "Yen Binh" compare equal); đ is read as d, as Vietnamese
    typed without diacritics writes it."""
    decomposed = unicodedata.normalize("NFD", text.translate(_VIETNAMESE_D))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def _fold_array(text: np.ndarray, missing: np.ndarray, fold: Callable[[str], str]) -> np.ndarray:
    series = pd.Series(text, dtype=object)
    if fold is casei:
        out = series.str.casefold()
    else:
        out = (series.str.translate(_VIETNAMESE_D).str.normalize("NFD")
               .str.replace(r"[\u0300-\u036f]", "", regex=True).str.normalize("NFC"))
    return np.where(missing, None, out.to_numpy(dtype=object))


def _as_text(column: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """A text column as an object array of str (None where empty); values of other kinds written as text."""
    column = np.asarray(column, dtype=object)
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return np.where(missing, None, column)
    return np.where(missing, None, pd.Series(column, dtype=object).astype(str).to_numpy(dtype=object))


def _text_series(value: object, n: int) -> pd.Series:
    return pd.Series(value if isinstance(value, np.ndarray) else [value] * n, dtype=object)


def _text_compare(op: type, a: object, b: object) -> np.ndarray | bool:
    """Text compared per row (pandas' object comparison: an empty value compares false and is masked after)."""
    if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        return bool(getattr(a, _TEXT_COMPARE[op])(b))
    if op in (ast.Equal, ast.NotEqual) and isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
        column, literal = (a, b) if isinstance(a, np.ndarray) else (b, a)
        equal = pd.Series(column, dtype=object).isin([literal]).to_numpy(dtype=bool)  # hashed: ~2× a comparison
        return equal if op is ast.Equal else ~equal
    left = pd.Series(a, dtype=object) if isinstance(a, np.ndarray) else a
    right = pd.Series(b, dtype=object) if isinstance(b, np.ndarray) else b
    if not isinstance(left, pd.Series):  # literal on the left: the reflected comparison
        left, right = right, left
        op = {ast.LessThan: ast.GreaterThan, ast.LessEqual: ast.GreaterEqual, ast.GreaterThan: ast.LessThan,
              ast.GreaterEqual: ast.LessEqual}.get(op, op)
    return np.asarray(getattr(left, _TEXT_COMPARE[op])(right), dtype=bool)


def _dates_of(layer: Layer, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A text property read as dates (nanoseconds, and which rows have none), once per layer."""
    key = ("dates", name)
    found = layer.cache.get(key)
    if found is None:
        parsed = pd.to_datetime(pd.Series(layer.column(name), dtype=object), errors="coerce", format="ISO8601",
                                utc=True).dt.tz_localize(None)
        ns = parsed.to_numpy(dtype="datetime64[ns]")
        found = layer.cache[key] = (ns.astype(np.int64), np.isnat(ns))
    return found


def _instant(value: object, open_end: int) -> int:
    """A date or date-time as nanoseconds (a date at its midnight, UTC); None or '..' is an open end."""
    if value is None or value == "..":
        return open_end
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return int(np.datetime64(value, "ns").astype(np.int64))
    if isinstance(value, dt.date):
        return int(np.datetime64(value, "ns").astype(np.int64))
    if isinstance(value, str):
        parsed = pd.to_datetime(value, errors="coerce", format="ISO8601", utc=True)
        if not pd.isna(parsed):
            return int(parsed.tz_localize(None).to_datetime64().astype("datetime64[ns]").astype(np.int64))
    raise BadRequest(f"{value!r} is not a date or time", f"{value!r} không phải ngày/giờ")


_DISTANCE_FUNCTIONS = ("s_dwithin", "dwithin")  # CQL2 drafts' distance test; CQL2 1.0 left it to extensions
_UNITS = {None: 1.0, "": 1.0, "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "km": 1000.0,
          "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0, "kilometres": 1000.0}


def _metres(distance: object, units: object) -> float:
    unit = units.name if isinstance(units, ast.Attribute) else units
    unit = unit.lower() if isinstance(unit, str) else unit
    if unit not in _UNITS or isinstance(distance, bool) or not isinstance(distance, (int, float)) \
            or not np.isfinite(distance) or distance < 0:
        raise BadRequest("S_DWITHIN needs a distance of zero or more, in metres (or with 'kilometers')",
                         "S_DWITHIN cần khoảng cách không âm, tính bằng mét (hoặc 'kilometers')")
    return float(distance) * _UNITS[unit]


def _all(masks: list) -> np.ndarray | bool:
    out: np.ndarray | bool = True
    for m in masks:
        out = out & m
    return out


def _any(masks: list) -> np.ndarray | bool:
    out: np.ndarray | bool = False
    for m in masks:
        out = out | m
    return out


def _name(node: object) -> str:
    if isinstance(node, ast.Attribute):
        return repr(node.name)
    return repr(node) if isinstance(node, (str, int, float)) else type(node).__name__


def _mismatch(a: _Value, b: _Value) -> BadRequest:
    (ea, va), (eb, vb) = _KIND_WORDS[a.kind], _KIND_WORDS[b.kind]
    return BadRequest(f"{a.name} is {ea} and {b.name} is {eb}: they cannot be compared",
                      f"{a.name} là {va} còn {b.name} là {vb}: không so sánh được")


def _unsupported(node: object) -> BadRequest:
    what = f"function {node.name}()" if isinstance(node, ast.Function) else type(node).__name__
    return BadRequest(f"filter uses {what}, which planmap does not support", f"filter dùng {what}, planmap không hỗ "
                      "trợ")


def _vi(number: int) -> str:
    return f"{number:,}".replace(",", ".")
