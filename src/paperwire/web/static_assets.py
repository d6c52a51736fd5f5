"""Static files under fingerprinted names: ``static_url('style.css')`` -> ``/static/style.<hash>.css``.

The name carries a digest of the file's bytes, so a browser may keep it for a year without asking
again (``Cache-Control: immutable``): a changed file gets a new name, and the pages that link it
(rendered with the new name) fetch it once. Names without the current digest (a plain
``/static/style.css``, or a page rendered before a deploy asking for the old digest) are still
served, but with ``no-cache``, so they are revalidated instead of kept stale.

The digests are computed once per process from the files shipped in ``web/static`` (a few MB,
~10 ms); every template links its assets through ``static_url``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/static/"
DIGEST_CHARS = 12
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# name.<digest>.ext: the digest sits before the last suffix
_FINGERPRINTED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_CHARS}}})(?P<ext>\.[A-Za-z0-9]+)?$")

_manifest: dict[str, str] | None = None
_lock = threading.Lock()


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:DIGEST_CHARS]


def manifest() -> dict[str, str]:
    """Every shipped static file (path relative to web/static, '/'-separated) -> its digest."""
    global _manifest
    if _manifest is None:
        with _lock:
            if _manifest is None:
                _manifest = {
                    p.relative_to(STATIC_DIR).as_posix(): _digest(p)
                    for p in sorted(STATIC_DIR.rglob("*"))
                    if p.is_file()
                }
    return _manifest


def fingerprinted(name: str) -> str:
    """``vendor/x/a.b.js`` -> ``vendor/x/a.b.<digest>.js`` (KeyError for a file that is not shipped,
    so a typo in a template fails its test instead of linking a 404)."""
    digest = manifest()[name]
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    if not dot:  # no suffix: the digest goes last
        stem, ext = base, ""
    return (folder + "/" if folder else "") + f"{stem}.{digest}" + (f".{ext}" if ext else "")


def static_url(name: str) -> str:
    """The URL templates link a static file by."""
    return PREFIX + fingerprinted(name)


def resolve(path: str) -> tuple[str, bool]:
    """A requested path under /static/ -> (the file's real name, whether the digest is current)."""
    folder, _, base = path.rpartition("/")
    m = _FINGERPRINTED.match(base)
    if not m:
        return path, False
    real = (folder + "/" if folder else "") + m.group("stem") + (m.group("ext") or "")
    return real, manifest().get(real) == m.group("digest")


class FingerprintedStaticFiles(StaticFiles):
    """StaticFiles that also answers fingerprinted names, with the cache lifetime they allow."""

    def __init__(self, directory: Path = STATIC_DIR, **kwargs):
        super().__init__(directory=directory, **kwargs)

    async def get_response(self, path: str, scope):
        real, current = resolve(path)
        response = await super().get_response(real, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


__all__ = ["FingerprintedStaticFiles", "fingerprinted", "manifest", "resolve", "static_url"]
