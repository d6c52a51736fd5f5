"""The API's reference pages, /docs (Swagger UI) and /redoc (ReDoc), from vendored files.

FastAPI's own pages load both from a CDN (blank offline) with inline scripts, and link web fonts
their CSP refused. Here the bundles are files under static/vendor (fingerprinted, cached for a
year), started by static/api_docs.js, so scripts stay 'self' only. ReDoc writes its styles into
<style> elements (styled-components): they carry a per-request nonce, which ReDoc takes as its
``nonce`` option (two it writes earlier are allowed by hash), instead of allowing 'unsafe-inline'.
ReDoc's search runs in a Worker made from a blob: URL; measured in Chromium, with worker-src 'none'
the page renders but its search finds nothing, so blob: workers (only) are allowed on /redoc.
Neither needs 'unsafe-eval'. ReDoc's footer logo is an image from its CDN: refused by img-src, it
hides itself.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request

router = APIRouter(include_in_schema=False)

SWAGGER = "vendor/swagger-ui-dist-5.35.0"
REDOC = "vendor/redoc-2.5.4"

_BASE = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI's styles are its stylesheet; its inline style attributes are set from script (CSSOM),
# which style-src does not govern
CSP_SWAGGER = _BASE + "; style-src 'self'; worker-src 'none'"


# the two <style> elements the ReDoc bundle writes when it loads, before it knows the nonce (an empty
# one, and perfect-scrollbar's rules); Chromium names the hash of any other it refuses
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)


def csp_redoc(nonce: str) -> str:
    return _BASE + f"; style-src 'self' 'nonce-{nonce}' {' '.join(REDOC_STYLE_HASHES)}; worker-src blob:"


def _page(request: Request, tool: str, csp: str, nonce: str = ""):
    templates = request.app.state.templates
    resp = templates.TemplateResponse(
        request,
        "api_docs.html",
        {
            "tool": tool,
            "openapi_url": request.app.openapi_url,
            "nonce": nonce,
            "swagger": SWAGGER,
            "redoc": REDOC,
        },
    )
    resp.headers["Content-Security-Policy"] = csp  # the middleware keeps a CSP the route set
    return resp


@router.get("/docs")
def swagger_ui(request: Request):
    return _page(request, "swagger", CSP_SWAGGER)


@router.get("/redoc")
def redoc(request: Request):
    nonce = secrets.token_urlsafe(16)
    return _page(request, "redoc", csp_redoc(nonce), nonce)
