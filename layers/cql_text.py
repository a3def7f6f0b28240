"""CQL2 text (OGC 21-065r2) read into pygeofilter's syntax tree, with the precedence and forms CQL2 1.0 defines.

pygeofilter (0.4) is the maintained parser of the OGC filter languages and planmap reads CQL2 JSON with it as it
is.  Its CQL2 *text* grammar, though, reads `a OR b AND c` as `(a OR b) AND c` (CQL2 gives AND the higher
precedence: a silently different answer), cannot negate a parenthesised condition (`NOT (a OR b)`), writes the
temporal functions infix (`x T_AFTER y` instead of `T_AFTER(x, y)`) without T_STARTS, T_FINISHES, T_DISJOINT…,
reads T_INTERSECTS as T_OVERLAPS, has no `BBOX(…)` literal, no `''` inside a string and no `%`, `div`, `^`.  So
the grammar below is CQL2 1.0's, written for lark (the parser generator pygeofilter itself uses), and its tree is
built by pygeofilter's own transformer — the same AST nodes, WKT geometries and dates the JSON reader gives.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pygeofilter.parsers
from lark import Lark, Token, v_args
from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

from geo.errors import BadRequest

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr _OR and_expr                                          -> or_
?and_expr: not_expr
         | and_expr _AND not_expr                                       -> and_
?not_expr: primary
         | _NOT not_expr                                                -> not_
?primary: predicate
        | "(" or_expr ")"

?predicate: expression COMPARISON expression                            -> comparison
          | expression _LIKE expression                                 -> like
          | expression _NOT _LIKE expression                            -> not_like
          | expression _ILIKE expression                                -> ilike
          | expression _BETWEEN expression _AND expression              -> between
          | expression _NOT _BETWEEN expression _AND expression         -> not_between
          | expression _IN "(" expression ("," expression)* ")"         -> in_
          | expression _NOT _IN "(" expression ("," expression)* ")"    -> not_in
          | expression _IS _NULL                                        -> null
          | expression _IS _NOT _NULL                                   -> not_null
          | SPATIAL_FUNCTION "(" expression "," expression ")"          -> spatial
          | TEMPORAL_FUNCTION "(" expression "," expression ")"         -> temporal
          | DISTANCE_FUNCTION "(" expression "," expression "," expression ("," NAME)? ")" -> distance

?expression: sum
?sum: product
    | sum "+" product                                                   -> add
    | sum "-" product                                                   -> sub
?product: unary
        | product "*" unary                                             -> mul
        | product "/" unary                                             -> div
        | product "%" unary                                             -> mod
        | product _DIV unary                                            -> intdiv
?unary: power
      | "-" unary                                                       -> neg
?power: atom
      | atom "^" unary                                                  -> pow
?atom: literal
     | NAME                                                             -> attribute
     | QUOTED_NAME                                                      -> attribute
     | NAME "(" [expression ("," expression)*] ")"                      -> function
     | "(" expression ")"

?literal: NUMBER                                                        -> number
        | STRING                                                        -> string
        | BOOLEAN                                                       -> boolean
        | _DATE "(" STRING ")"                                          -> date
        | _TIMESTAMP "(" STRING ")"                                     -> timestamp
        | _INTERVAL "(" interval_end "," interval_end ")"               -> interval
        | _BBOX "(" signed "," signed "," signed "," signed ("," signed "," signed)? ")" -> bbox
        | ewkt_geometry                                                 -> geometry
?interval_end: STRING
             | NAME                                                     -> attribute
             | QUOTED_NAME                                              -> attribute
?signed: NUMBER                                                         -> number
       | "-" NUMBER                                                     -> negative

_OR.2: /OR\b/i
_AND.2: /AND\b/i
_NOT.2: /NOT\b/i
_LIKE.2: /LIKE\b/i
_ILIKE.2: /ILIKE\b/i
_BETWEEN.2: /BETWEEN\b/i
_IN.2: /IN\b/i
_IS.2: /IS\b/i
_NULL.2: /NULL\b/i
_DIV.2: /DIV\b/i
_DATE.2: /DATE(?=\s*\()/i
_TIMESTAMP.2: /TIMESTAMP(?=\s*\()/i
_INTERVAL.2: /INTERVAL(?=\s*\()/i
_BBOX.2: /BBOX(?=\s*\()/i
BOOLEAN.2: /(TRUE|FALSE)\b/i
SPATIAL_FUNCTION.3: /S_(INTERSECTS|EQUALS|DISJOINT|TOUCHES|WITHIN|OVERLAPS|CROSSES|CONTAINS)\b/i
TEMPORAL_FUNCTION.3: /T_(TEMPORAL_NAMES)\b/i
DISTANCE_FUNCTION.3: /S_DWITHIN\b/i
COMPARISON: "<>" | "<=" | ">=" | "=" | "<" | ">" | "!="
NAME: /[A-Za-z_][A-Za-z0-9_:.]*/
QUOTED_NAME: /"(?:[^"]|"")+"/
STRING: /'(?:[^']|'')*'/
NUMBER: /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/

%import wkt.ewkt_geometry
%import common.WS
%ignore WS
""".replace("TEMPORAL_NAMES", "AFTER|BEFORE|CONTAINS|DISJOINT|DURING|EQUALS|FINISHEDBY|FINISHES|INTERSECTS|MEETS|METBY|"
                              "OVERLAPPEDBY|OVERLAPS|STARTEDBY|STARTS")

# T_… functions of CQL2 1.0 as pygeofilter's nodes (its names are those of the drafts: BEGINS for STARTS…);
# T_INTERSECTS is "not disjoint", which keeps CQL2's unknown for empty values.
TEMPORAL = {"t_after": ast.TimeAfter, "t_before": ast.TimeBefore, "t_contains": ast.TimeContains,
            "t_disjoint": ast.TimeDisjoint, "t_during": ast.TimeDuring, "t_equals": ast.TimeEquals,
            "t_finishedby": ast.TimeEndedBy, "t_finishes": ast.TimeEnds, "t_meets": ast.TimeMeets,
            "t_metby": ast.TimeMetBy, "t_overlappedby": ast.TimeOverlappedBy, "t_overlaps": ast.TimeOverlaps,
            "t_startedby": ast.TimeBegunBy, "t_starts": ast.TimeBegins}
COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "!=": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
               ">": ast.GreaterThan, ">=": ast.GreaterEqual}


@v_args(inline=True)
class _Transformer(CQLTransformer):
    """pygeofilter's CQL transformer (WKT, nodes), with the rules of the grammar above."""

    def or_(self, lhs, rhs):
        return ast.Or(lhs, rhs)

    def and_(self, lhs, rhs):
        return ast.And(lhs, rhs)

    def comparison(self, lhs, op: Token, rhs):
        return COMPARISONS[str(op)](lhs, rhs)

    def like(self, lhs, pattern):  # CQL2: `%` any run, `_` one character, `\` escapes
        return ast.Like(lhs, pattern, False, "%", "_", "\\", False)

    def not_like(self, lhs, pattern):
        return ast.Like(lhs, pattern, False, "%", "_", "\\", True)

    def ilike(self, lhs, pattern):  # not CQL2, but what GDAL sends for an ILIKE of its own SQL
        return ast.Like(lhs, pattern, True, "%", "_", "\\", False)

    def spatial(self, name: Token, lhs, rhs):
        return SPATIAL_PREDICATES_MAP[str(name).lower()](lhs, rhs)

    def temporal(self, name: Token, lhs, rhs):
        name = str(name).lower()
        if name == "t_intersects":
            return ast.Not(ast.TimeDisjoint(lhs, rhs))
        return TEMPORAL[name](lhs, rhs)

    def distance(self, _name: Token, lhs, rhs, distance, units: Token | None = None):
        return ast.DistanceWithin(lhs, rhs, distance, None if units is None else str(units))

    def attribute(self, name: Token):
        text = str(name)
        return ast.Attribute(text[1:-1].replace('""', '"') if text.startswith('"') else text)

    def function(self, name: Token, *arguments):
        return ast.Function(str(name).lower(), [a for a in arguments if a is not None])

    def mod(self, lhs, rhs):
        return ast.Function("mod", [lhs, rhs])

    def intdiv(self, lhs, rhs):
        return ast.Function("div", [lhs, rhs])

    def pow(self, lhs, rhs):
        return ast.Function("pow", [lhs, rhs])

    def neg(self, value):
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else ast.Sub(0, value)

    def negative(self, token: Token):
        return -self.number(token)

    def number(self, token: Token):
        text = str(token)
        return float(text) if any(c in text for c in ".eE") else int(text)

    def string(self, token: Token):
        return str(token)[1:-1].replace("''", "'")

    def boolean(self, token: Token):
        return str(token).lower() == "true"

    def date(self, token: Token):
        return parse_date(self.string(token))

    def timestamp(self, token: Token):
        return parse_timestamp(self.string(token))

    def interval(self, start, end):  # each end: a date or time as text, '..' (open), or a property
        return values.Interval(*(t if isinstance(t, ast.Attribute) else parse_instant(self.string(t))
                                 for t in (start, end)))

    def bbox(self, *numbers):
        if len(numbers) == 6:  # with heights: minx, miny, minz, maxx, maxy, maxz
            numbers = (numbers[0], numbers[1], numbers[3], numbers[4])
        minx, miny, maxx, maxy = numbers
        return values.Geometry({"type": "Polygon", "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy],
                                                                      [minx, maxy], [minx, miny]]]})


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else _not_a_date(text)
    except ValueError:
        return _not_a_date(text)


def parse_timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadRequest(f"TIMESTAMP({text!r}) is not an RFC 3339 date-time, e.g. '2025-07-01T00:00:00Z'",
                         f"TIMESTAMP({text!r}) không phải ngày giờ RFC 3339, ví dụ '2025-07-01T00:00:00Z'") from None
    if "T" not in text.upper():
        raise BadRequest(f"TIMESTAMP({text!r}) needs a time of day", f"TIMESTAMP({text!r}) cần có giờ")
    return value


def parse_instant(text: str) -> dt.date | dt.datetime | None:
    """An end of an INTERVAL: a date, a date-time, or '..' (open)."""
    if text == "..":
        return None
    return parse_date(text) if len(text) == 10 else parse_timestamp(text)


def _not_a_date(text: str):
    raise BadRequest(f"DATE({text!r}) is not a date YYYY-MM-DD", f"DATE({text!r}) không phải ngày YYYY-MM-DD")


_PARSER = Lark(GRAMMAR, parser="lalr", transformer=_Transformer(), maybe_placeholders=False,
               import_paths=[Path(pygeofilter.parsers.__file__).parent])


def parse(text: str) -> object:
    """The CQL2 text as pygeofilter's syntax tree (lark's exceptions, or a BadRequest, for a malformed one)."""
    return _PARSER.parse(text)
