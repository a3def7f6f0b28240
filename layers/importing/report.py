"""The report of an import, for the planner: which CRS and encoding were used and why, how fields were mapped,
and every problem per feature (1-based, in source order) and note about the file as a whole."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class ImportReport:
    """What an import did, for the planner: CRS and encoding used and why, field mapping, every problem."""

    file: str
    format: str
    layer: str
    crs_source: str = ""
    crs: str = ""
    encoding: str | None = None
    encoding_source: str | None = None
    field_mapping: dict[str, str] = field(default_factory=dict)
    unmapped_fields: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    features_read: int = 0
    features_imported: int = 0
    features_rejected: int = 0
    problems: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        # the fields as they are (not dataclasses.asdict, which deep-copies every problem of a 200,000-row file)
        plain = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.loads(json.dumps(plain, default=_json_default, ensure_ascii=False))

    def note(self, code: str, en: str, vi: str, severity: str = "info", **extra) -> None:
        self.notes.append({"code": code, "severity": severity, "message": {"vi": vi, "en": en}, **extra})

    def problem(self, feature: int, source_id, severity: str, code: str, en: str, vi: str,
                field_name: str | None = None, **extra) -> None:
        self.problems.append({"feature": feature, "source_id": source_id, "severity": severity, "code": code,
                              "field": field_name, "message": {"vi": vi, "en": en}, **extra})

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["severity"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p["severity"] == "warning"]


def _json_default(value):
    """Values from the file (numpy scalars, raw bytes, dates) as JSON can hold them."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)
