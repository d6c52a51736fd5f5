"""The one limit on request bodies, for every route (PAPERWIRE_MAX_BODY_BYTES).

A pure ASGI middleware, so it runs before any route could read a body whole: a request whose
``Content-Length`` is over the limit is answered 413 at once, without reading a byte of it; a
body without one (chunked) is counted as it arrives and the request is refused the moment the
count passes the limit. Either way the server holds at most the limit plus one network read
of any body, and the 413 says ``Connection: close`` so the rest of it is not read at all.

The refusal is the app's own error answer (its handler for HTTP errors: JSON under /api or when
JSON was asked for, the error page otherwise).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so that a
    route (or FastAPI's body parsing) that is reading it ends in the app's 413 answer."""

    def __init__(self, limit: int):
        super().__init__(
            413, f"The request body is too large (at most {limit:,} bytes).", headers={"Connection": "close"}
        )


class BodyLimitMiddleware:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, BodyTooLarge(limit))
            return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as e:  # read outside any route (a middleware): answer here
            if started:
                raise
            await _refuse(scope, receive, send, e)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed one before the app is called
    return None


async def _refuse(scope, receive, send, error: BodyTooLarge) -> None:
    app = scope.get("app")
    handler = getattr(app, "exception_handlers", {}).get(HTTPException) if app is not None else None
    if handler is None:
        response = PlainTextResponse(str(error.detail) + "\n", status_code=413, headers=error.headers)
    else:
        response = await handler(Request(scope, receive), error)
    await response(scope, receive, send)
