"""Turning a cell of the file into a value of a field's JSON type, the way Vietnamese planners write them:
decimal commas ("12,5"), thousands dots ("1.234,5"), units after numbers ("110 kV"), "có"/"không"."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

from layers.text import fold

_TRUE = {"true", "t", "1", "yes", "y", "co", "dung", "x"}
_FALSE = {"false", "f", "0", "no", "n", "khong", "sai"}
_UNITS = {"_kv": "kv", "_ha": "ha", "_mw": "mw", "_kg": "kg", "_km2": "km2", "_m": "m"}
EN_TYPE = {"integer": "an integer", "number": "a number", "boolean": "true/false", "string": "text"}
VI_TYPE = {"integer": "số nguyên", "number": "số", "boolean": "đúng/sai", "string": "văn bản"}


def clean(v):
    """A cell as a plain Python value: None for every kind of missing, NFC text, ISO dates."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, str):
        return unicodedata.normalize("NFC", v)
    return v


def parse_number(value) -> tuple[float | None, bool]:
    """A number from a cell; the flag says a decimal comma was read."""
    if value is None:
        return None, False
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        f = float(value)
        return (None if math.isnan(f) else f), False
    s = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None, False
    comma = False
    if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+", s):  # 1.234,5 (Vietnamese thousands and decimal)
        s, comma = s.replace(".", "").replace(",", "."), True
    elif re.fullmatch(r"[+-]?\d+,\d+", s):
        s, comma = s.replace(",", "."), True
    try:
        f = float(s)
    except ValueError:
        return None, False
    return (f if math.isfinite(f) else None), comma


def convert(raw, jtype: str, target: str):
    """(value, ok, note) converting a source value to the field's JSON type; note "comma" for a decimal comma."""
    v = clean(raw)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, True, None
    if jtype == "string":
        if isinstance(v, float) and v.is_integer():
            return str(int(v)), True, None
        return str(v).strip() if isinstance(v, str) else str(v), True, None
    if jtype == "boolean":
        return _boolean(v)
    if isinstance(v, bool):
        return None, False, None
    if isinstance(v, str):
        s = v.strip()
        for suffix, unit in _UNITS.items():  # "110 kV" into voltage_kv, "12,5 ha" into area_ha
            if target.endswith(suffix) and fold(s).replace(" ", "").endswith(unit):
                s = s[: len(s) - len(unit)].strip()
                break
        f, comma = parse_number(s)
    else:
        f, comma = parse_number(v)
    if f is None:
        return None, False, None
    if jtype == "integer":
        if not float(f).is_integer():
            return None, False, None
        return int(f), True, ("comma" if comma else None)
    return float(f), True, ("comma" if comma else None)


def _boolean(v):
    if isinstance(v, bool):
        return v, True, None
    key = fold(str(v))
    if key in _TRUE:
        return True, True, None
    if key in _FALSE:
        return False, True, None
    return None, False, None


def typed(series: pd.Series, jtype: str) -> pd.Series:
    """A column in the pandas dtype of its JSON type (nullable, so missing values stay missing)."""
    if jtype == "integer":
        return series.astype("Int64")
    if jtype == "number":
        return series.astype("float64")
    if jtype == "boolean":
        return series.astype("boolean")
    return series.astype(object)
