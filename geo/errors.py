"""The one error type of planmap: a refusal with its reason in English and Vietnamese, an HTTP status and a code.

Every module raises a subclass of `PlanmapError` for input it cannot use (a bad parameter, an unreadable file, a
rule that cannot be read).  The web API turns any of them into one JSON problem document (api/errors.py); the
command line prints both messages and exits non-zero (api/cli.py).  Nobody converts errors by hand.

It lives in `geo/` because it is the lowest package: `geo`, `layers`, `web` and `api` all raise it.
"""

from __future__ import annotations

from typing import ClassVar


class PlanmapError(Exception):
    """A request or input planmap refuses.

    `en`/`vi`: what went wrong, for the person who asked; `status`: the HTTP status it maps to; `code`: a
    machine-readable name (the OGC exception code, or a finer one such as `truncated_zip`); `details`: extra
    members for the problem document; `headers`: extra HTTP headers (e.g. `Retry-After`).
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "InvalidParameterValue"
    title: ClassVar[str] = "Bad Request"

    def __init__(self, en: str, vi: str | None = None, *, status: int | None = None, code: str | None = None,
                 details: dict | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.vi = vi or en
        if status is not None:
            self.status = status  # type: ignore[misc]  # an instance may refine its class's status
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def problem(self) -> dict:
        """The RFC 7807 problem document (with OGC's `code`/`description` and planmap's `detail_vi`)."""
        return {"type": "about:blank", "title": TITLES.get(self.status, self.title), "status": self.status,
                "code": self.code, "detail": self.en, "detail_vi": self.vi, "description": self.en, **self.details}

    def message(self) -> str:
        """Both languages, for a terminal."""
        return self.en if self.vi == self.en else f"{self.en}\n{self.vi}"


class BadRequest(PlanmapError, ValueError):
    """Input that is malformed or out of range (400); a ValueError too, as Python calls bad values."""


class Unauthorized(PlanmapError):
    status = 401
    code = "Unauthorized"
    title = "Unauthorized"


class Forbidden(PlanmapError):
    status = 403
    code = "Forbidden"
    title = "Forbidden"


class NotFound(PlanmapError):
    status = 404
    code = "NotFound"
    title = "Not Found"


class Conflict(PlanmapError):
    status = 409
    code = "Conflict"
    title = "Conflict"


class PreconditionFailed(PlanmapError):
    """A conditional write (`If-Match`) made from a state that is no longer current (412): nothing was changed."""

    status = 412
    code = "PreconditionFailed"
    title = "Precondition Failed"


class PayloadTooLarge(PlanmapError):
    status = 413
    code = "PayloadTooLarge"
    title = "Payload Too Large"


class Unprocessable(PlanmapError, ValueError):
    """Well-formed input whose content cannot be used (an invalid geometry, an unreadable file) (422)."""

    status = 422
    code = "InvalidValue"
    title = "Unprocessable Content"


class Unavailable(PlanmapError):
    """The service cannot do this now or here (no store, no rules, every worker busy) (503)."""

    status = 503
    code = "ServiceUnavailable"
    title = "Service Unavailable"


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          406: "Not Acceptable", 409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large",
          415: "Unsupported Media Type",
          422: "Unprocessable Content", 500: "Internal Server Error", 503: "Service Unavailable"}
