"""The one shape of every error answer of the JSON API, and its description in the OpenAPI document.

Every error of /api (400, 401, 403, 404, 413, 415, 422, 429, 500, 503) is an ``ErrorOut``:
``{"error": "for people", "status": 422, "errors": [{"loc": ["query", "limit"], "msg": "...",
"type": "..."}]}``. ``errors`` lists the problems with the request's parts in FastAPI's
``loc``/``msg``/``type`` form (empty when the problem is not one part's); ``signin`` is set on a
401 only. Routes list their statuses with ``responses(...)`` so the document names every answer.

422 means the request does not match the document (a missing or mistyped parameter, a number out
of range, an unknown field); 400 means it matches but is refused (an address that cannot be
mailed, a query with nothing to search for, an unknown time zone).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MAX_ERRORS = 50  # a body with thousands of bad fields gets the first ones, not an echo of all
MAX_MSG = 300


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(
        description="where: the part ('query', 'path', 'body'), then the parameter or field (and list index)"
    )
    msg: str = Field(description="what is wrong with it, for people")
    type: str = Field(description="a stable name for the kind of problem, e.g. 'missing', 'int_parsing', 'value_error'")


class ErrorOut(BaseModel):
    error: str = Field(description="what went wrong, for people")
    status: int = Field(description="the HTTP status code of the answer")
    errors: list[ErrorItem] = Field(
        default_factory=list, description="the problems with parts of the request, when that was the cause"
    )
    signin: str | None = Field(None, description="401 only: the sign-in page, which comes back to this request")


DESCRIPTIONS = {
    400: "The request matches this document but is refused (see ``errors``)",
    401: "Sign in first (the ``pw_session`` cookie is missing or expired)",
    403: "Not allowed for this account, or the CSRF token is missing or expired",
    404: "Not found",
    413: "The request body is too large",
    415: "The request body is not application/json",
    422: "The request does not match this document (see ``errors``)",
    429: "Too many requests: wait as long as Retry-After says",
    500: "Unexpected failure on the server (it is logged)",
    503: "Search is not available on this server yet",
}


def responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """``responses=`` for a route: each status with ErrorOut (500 is added to every route)."""
    return {s: {"model": ErrorOut, "description": DESCRIPTIONS[s]} for s in sorted({*statuses, 500})}


def item(loc: Iterable[str | int], msg: str, type: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": str(msg)[:MAX_MSG], "type": type}


def from_validation(problems: Iterable[dict]) -> list[dict[str, Any]]:
    """pydantic/FastAPI validation errors without their ``input`` and ``ctx`` (which would echo
    whatever was sent back, at any size)."""
    out = []
    for e in problems:
        loc = [x if isinstance(x, int) else str(x)[:100] for x in e.get("loc", ())]
        out.append(item(loc, e.get("msg", ""), str(e.get("type", "value_error"))))
        if len(out) >= MAX_ERRORS:
            break
    return out


def error_response(
    status: int,
    message: str,
    errors: Iterable[dict] = (),
    *,
    headers: dict[str, str] | None = None,
    signin: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "status": status, "errors": list(errors)[:MAX_ERRORS]}
    if signin is not None:
        body["signin"] = signin
    return JSONResponse(body, status_code=status, headers=headers)


class RequestRefused(HTTPException):
    """An HTTPException that names the parts of the request it refuses (``errors``, as
    ``item()`` builds them); pages show only the message."""

    def __init__(self, status: int, message: str, errors: Iterable[dict] = ()):
        super().__init__(status, message)
        self.errors = list(errors)


def refuse_param(name: str, message: str, *, where: str = "query", status: int = 400) -> RequestRefused:
    return RequestRefused(status, message, [item([where, name], message)])
