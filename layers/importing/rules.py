"""The layer's rules for written features (layers/validation.py), applied to every feature of an import.

After the fields are mapped and converted (fields.py): the catalog's required fields must have a value, text must
fit MAX_TEXT_CHARS and carry no control characters, and dates are ISO dates — a file's 01/07/2025 (Vietnamese day
first) or a date-time at midnight is read as 2025-07-01.  A feature that breaks a rule is reported and left out,
as a value of the wrong type is; with `on_bad_value="null"` a bad text or date is emptied instead (reported too),
but a missing required value always leaves the feature out.
"""

from __future__ import annotations

import datetime as dt
import re

from layers.importing.context import ImportContext
from layers.validation import FieldRules, InvalidValue, check_text, is_empty

_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO_START = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")


def check_rules(ctx: ImportContext, values: dict[str, list]) -> dict[str, list]:
    """The values with dates normalised and bad texts or dates emptied (`on_bad_value="null"`); every feature
    breaking a rule is reported (an error leaves it out of the import)."""
    rules = ctx.rules or FieldRules(ctx.layer_id, ctx.schema)
    reject = ctx.on_bad_value == "reject"
    for name, column in values.items():
        jtype = rules.type_of(name)
        for i, value in enumerate(column):
            if i in ctx.rejected or value is None:
                continue
            try:
                if jtype == "date":
                    column[i] = _date(name, value)
                elif isinstance(value, str):
                    column[i] = check_text(rules, name, value)
            except InvalidValue as exc:
                ctx.problem(i, "error" if reject else "warning", "bad_value",
                            exc.reason_en + ("; feature rejected" if reject else "; value emptied"),
                            exc.reason_vi + ("; đối tượng bị loại" if reject else "; giá trị bị để trống"),
                            field_name=name)
                column[i] = None
    for name in rules.required:
        column = values.get(name)
        for i in range(len(ctx.source_ids)):
            if i not in ctx.rejected and (column is None or is_empty(column[i])):
                ctx.problem(i, "error", "required", f"layer {rules.layer_id!r} needs a value in {name!r}; feature "
                            "rejected", f"lớp {rules.layer_id!r} bắt buộc có giá trị {name!r}; đối tượng bị loại",
                            field_name=name)
    return values


def _date(name: str, value: object) -> str:
    """An ISO date from a file's date: a date, a date-time at midnight, YYYY-MM-DD or D/M/YYYY."""
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    elif isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    iso = _ISO_START.fullmatch(text)
    day_first = _DAY_FIRST.fullmatch(text)
    try:
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if day_first:
            return dt.date(int(day_first[3]), int(day_first[2]), int(day_first[1])).isoformat()
    except ValueError:
        pass
    raise InvalidValue(name, f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)",
                       f"{text!r} không phải ngày (YYYY-MM-DD hoặc DD/MM/YYYY)")
