"""The FastAPI application: pages, JSON API and feeds over the store and the search engine.

The web layer only translates HTTP into calls on the store and the engine; it holds no SQL and no
search logic. Templates are Jinja2 with autoescape on.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match

from .. import __version__
from ..config import Settings
from ..storage import Store, open_store
from .body_limit import BodyLimitMiddleware
from .errors import error_response, from_validation
from .page_cache import PageCache
from .render import make_templates, render, url_with
from .session import SignInRequired, wants_json
from .static_assets import FingerprintedStaticFiles

log = logging.getLogger("paperwire.web")

HERE = Path(__file__).parent
API_PREFIX = "/api"
GZIP_MIN_BYTES = 500  # below this gzip's header and the CPU cost outweigh the saving

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# /docs and /redoc set their own (api_docs.py): the middleware keeps a CSP a route set


# sent only on answers that came over TLS: over plain http a browser ignores it anyway (RFC 6797
# 8.1), and a self-hosted site first tried on http must not be pinned to https by accident
HSTS = "max-age=31536000"


def security_headers(path: str, scheme: str = "http") -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (works for streaming responses too) adding the security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope.get("path", ""), scope.get("scheme", "http"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in extra.items():
                    if k not in headers:
                        headers[k] = v
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path == API_PREFIX or request.url.path.startswith(API_PREFIX + "/")


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app, scope) -> str:
    """The methods some route answers at this path, for a 405's ``Allow`` (RFC 9110 15.5.6).
    Starlette names only the first route whose path matched, so GET /subscribe beside POST
    /subscribe would answer ``Allow: GET, HEAD``. Each method is tried through the routes' own
    ``matches``, which works for included routers and mounts alike."""
    allowed = []
    for method in HTTP_METHODS:
        probe = {
            "type": "http",
            "path": scope.get("path", ""),
            "root_path": scope.get("root_path", ""),
            "method": method,
            "headers": [],
        }
        if any(route.matches(dict(probe))[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _make_engine(store: Store, settings: Settings):
    try:
        from ..search.hybrid import SearchEngine
    except ImportError as e:  # the search layer is optional for the pages that do not search
        log.warning("search is not available: %s", e)
        return None
    return SearchEngine(store, settings)


def _make_indexer(store: Store, settings: Settings, engine):
    try:
        from ..search.indexer import Indexer
    except ImportError as e:
        log.warning("background indexing is not available: %s", e)
        return None
    return Indexer(store, settings)  # the embedder is shared process-wide (search.embed.get_embedder)


def _limit_request_threads(n: int) -> None:
    """At most ``n`` requests of this process run their (synchronous) route at once; the others wait
    their turn in the event loop. anyio's default is 40 threads: on 2 cores, 32 concurrent home-page
    requests then thrash the GIL (every SQLite call releases and re-takes it): 243 req/s with 32
    connections against 648 with 4, one worker (docs/benchmarks.md, "Web throughput")."""
    if n and n > 0:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = n


def create_app(
    settings: Settings, *, store: Store | None = None, engine=None, indexer=None, background: bool = True
) -> FastAPI:
    """Build the application.

    ``store`` is opened from ``settings.database_url`` when not given (and closed on shutdown).
    ``engine`` (a ``SearchEngine``) and ``indexer`` are built from the store when not given.
    With ``background`` true the indexer follows the store's change feed in a daemon thread
    from startup to shutdown, so newly ingested papers become searchable.
    """
    owns_store = store is None
    if store is None:
        store = open_store(settings.database_url, create_dir=settings.data_dir)
    if engine is None:
        engine = _make_engine(store, settings)
    if indexer is None and background:
        indexer = _make_indexer(store, settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _limit_request_threads(settings.web_threads)
        stop = threading.Event()
        thread = None
        if background and indexer is not None:

            def follow():
                try:
                    indexer.run_background(stop, interval=2.0)
                except Exception:  # never take the site down with the indexer
                    log.exception("background indexer stopped")

            thread = threading.Thread(target=follow, name="paperwire-indexer", daemon=True)
            thread.start()
        app.state.indexer_thread = thread
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)
            if owns_store:
                store.close()

    app = FastAPI(
        title="Paperwire",
        version=__version__,
        description="Research papers: daily listings, search by meaning and words, similar papers, feeds.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,  # served from vendored files by api_docs.py
        openapi_tags=[
            {"name": "search", "description": "Search papers by meaning and words"},
            {"name": "papers", "description": "Papers, daily listings and similar papers"},
            {"name": "service", "description": "Health and index progress"},
        ],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.engine = engine
    app.state.indexer = indexer
    app.state.templates = make_templates()
    app.state.page_cache = PageCache(settings.page_cache)  # anonymous pages (page_cache.py)

    # added first, so inside the security headers: a 413 carries them too
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    # HTML, JSON, Atom, CSS and JS go out gzipped to clients that ask (Accept-Encoding); streamed
    # and file responses are compressed chunk by chunk. Level 1 by default, not Starlette's 9: a
    # page comes out ~15% bigger at a third of the CPU time (bench/compression.py)
    gzip_level = settings.gzip_level
    if gzip_level > 0:
        app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=gzip_level)
    if settings.trusted_proxies:
        # outermost, so that every layer (rate limits, HSTS, Secure cookies) sees the client and
        # scheme the proxy reports. Only these addresses are believed: uvicorn's own default
        # trusts 127.0.0.1, so any local process could pick its own client address (serve turns
        # that off, cli.py)
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.mount("/static", FingerprintedStaticFiles(directory=HERE / "static"), name="static")

    from . import api, api_docs, feeds, pages

    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(feeds.router)
    app.include_router(api_docs.router)
    app.include_router(pages.router)
    from . import accounts, claims, community, follows, library, reader_settings, subscribe, trending_pages

    for module in (subscribe, accounts, claims, community, library, trending_pages, follows, reader_settings):
        app.include_router(module.api_router, prefix=API_PREFIX)
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired):
        if _is_api(request) or wants_json(request):
            return error_response(401, "sign in required", signin=url_with("/signin", next=exc.next_url))
        return RedirectResponse(url_with("/signin", next=exc.next_url), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request.app, request.scope) or headers.get("Allow", "")
        if _is_api(request) or wants_json(request):
            return error_response(exc.status_code, str(exc.detail), getattr(exc, "errors", ()), headers=headers or None)
        resp = render(
            request, "error.html", {"status": exc.status_code, "message": str(exc.detail)}, status_code=exc.status_code
        )
        resp.headers.update(headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = from_validation(exc.errors())
        if _is_api(request):
            return error_response(422, "invalid request", problems)
        message = "; ".join(f"{'.'.join(str(x) for x in p['loc'][1:]) or 'request'}: {p['msg']}" for p in problems)
        return render(request, "error.html", {"status": 400, "message": f"Bad request ({message})."}, status_code=400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # runs in Starlette's outermost middleware, so add the security headers here too
        log.exception("error serving %s", request.url.path)
        headers = security_headers(request.url.path, request.url.scheme)
        if _is_api(request) or wants_json(request):
            return error_response(500, "internal server error", headers=headers)
        resp = render(
            request, "error.html", {"status": 500, "message": "Something went wrong on our side."}, status_code=500
        )
        resp.headers.update(headers)
        return resp

    return app
