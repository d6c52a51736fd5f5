"""Templates (Jinja2, autoescape on), their filters, and small helpers shared by the routes."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from .. import __version__
from .highlight import highlight, snippet
from .static_assets import static_url
from .tex import has_math

HERE = Path(__file__).parent
MAX_AUTHORS_SHOWN = 5


def paper_path(paper_id: str) -> str:
    """The page of a paper; ids keep their '/' and ':' (hep-th/9901001, local:abc)."""
    return "/papers/" + quote(paper_id, safe="/:")


def clipped(value: str, limit: int = 60) -> str:
    """``value`` quoted for an error message, cut to ``limit`` characters: a 404 must not echo a
    100 kB path back (a cheap amplifier, and a page nobody can read)."""
    value = str(value)
    return repr(value if len(value) <= limit else value[:limit] + "…")


def base_url(request: Request) -> str:
    """settings.base_url when set, else the URL the request came in on; no trailing slash."""
    configured = request.app.state.settings.base_url
    return (configured or str(request.base_url)).rstrip("/")


def authors_short(authors: list[str], limit: int = MAX_AUTHORS_SHOWN) -> dict:
    return {"shown": authors[:limit], "more": max(0, len(authors) - limit), "total": len(authors)}


def nice_date(value: str | None, long: bool = False) -> str:
    if not value:
        return ""
    try:
        d = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return d.strftime("%A, %-d %B %Y" if long else "%-d %b %Y")


def nice_datetime(value: str | None) -> str:
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return dt.strftime("%-d %b %Y, %H:%M UTC")


def stars(n: int | None) -> str:
    """A star count the way repository pages show it: 950, 1.2k, 12k."""
    if n is None:
        return ""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{round(n / 1000)}k"


def pagination(total: int, page: int, size: int, make_url) -> dict | None:
    """Page links: previous/next and a window of numbers around the current page."""
    pages = max(1, math.ceil(total / size)) if total else 1
    if pages <= 1 and page <= 1:
        return None
    window = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items: list[dict] = []
    last = 0
    for n in window:
        if n - last > 1:
            items.append({"gap": True})
        items.append({"n": n, "url": make_url(n), "current": n == page})
        last = n
    return {
        "page": page,
        "pages": pages,
        "items": items,
        "prev": make_url(page - 1) if page > 1 else None,
        "next": make_url(page + 1) if page < pages else None,
    }


def url_with(path: str, **params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(clean) if clean else "")


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(
        highlight=highlight,
        snippet=snippet,
        paper_path=paper_path,
        authors_short=authors_short,
        nice_date=nice_date,
        nice_datetime=nice_datetime,
        stars=stars,
    )
    env.tests["math"] = has_math  # {% if text is math %}: the element gets class "tex" (static/math.js)
    env.globals.update(version=__version__, url_with=url_with, static_url=static_url)
    return Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict | None = None, status_code: int = 200, cache_key: bytes | None = None
):
    """Render a page. Every page gets ``account`` (the signed-in account or None) and ``csrf``
    (the token its forms and scripts send back; the CSRF cookie is set when missing).

    ``cache_key``: a fingerprint of everything the page shows (web/page_cache.py); when given and
    nobody is signed in, the rendered HTML is reused for the next request with the same key."""
    from ..security import CSRF_COOKIE, csrf_token, new_csrf_cookie
    from .page_cache import CSRF_PLACEHOLDER
    from .session import current_account

    templates: Jinja2Templates = request.app.state.templates
    cookie = request.cookies.get(CSRF_COOKIE)
    new = None
    if not cookie or len(cookie) > 100:
        cookie = new = new_csrf_cookie()
    try:
        account = current_account(request)
    except Exception:  # a page must render even when the session lookup fails
        account = None
    csrf = csrf_token(request.app.state.settings, cookie)
    cache = getattr(request.app.state, "page_cache", None)
    if cache_key is not None and account is None and cache is not None and cache.enabled:
        key = (name, status_code, request.url.path, request.url.query, cache_key)
        html = cache.get(key)
        if html is None:
            ctx = {"request": request, "q": "", "account": None, **(context or {}), "csrf": CSRF_PLACEHOLDER}
            html = templates.get_template(name).render(ctx)
            cache.put(key, html)
        resp = HTMLResponse(html.replace(CSRF_PLACEHOLDER, csrf), status_code=status_code)
    else:
        ctx = {"request": request, "q": "", "account": account, "csrf": csrf, **(context or {})}
        resp = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if new:
        resp.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https"
        )
    if account is not None:
        resp.headers["Cache-Control"] = "private, no-store"
    return resp
