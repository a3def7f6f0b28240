"""The refusal of a whole file: why, in English and Vietnamese, with a machine-readable code.

A stage raises `ImportRefused` when nothing of the file can be used; a problem with single features goes into the
report instead (report.py).  It is planmap's one error type (geo/errors.py), so the API and the CLI show it like
any other refusal.
"""

from __future__ import annotations

from geo.errors import Unprocessable


class ImportRefused(Unprocessable):
    """The whole file is refused: `code` says what kind of refusal, `en`/`vi` explain it to the planner.

    Always 422 (the upload was received but cannot be used), except 413 for a file over the size limit."""

    def __init__(self, code: str, en: str, vi: str, status: int = 422, details: dict | None = None) -> None:
        super().__init__(en, vi, status=413 if status == 413 else 422, code=code,
                         details={"outcome": "refused", **({"details": details} if details else {})})
