"""Secrets, signed expiring tokens and CSRF tokens.

* The secret key is ``settings.secret_key`` or, when that is unset, a random key generated once
  into ``settings.data_dir/secret_key`` (mode 0600) and reused by every process afterwards.
* Tokens are ``itsdangerous.URLSafeTimedSerializer`` signatures of a small JSON payload; each
  purpose ('confirm', 'preferences', 'unsubscribe', 'csrf', ...) has its own salt, so a token made
  for one purpose is never accepted for another. ``unsign`` checks the age.
* CSRF: signed double-submit. A random value lives in an HttpOnly, SameSite=Strict cookie; every
  form carries ``csrf_token(settings, cookie)`` (that value signed with the 'csrf' salt, expiring).
  A POST is accepted only when the form's token unsigns to the cookie's value.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import SecretKeyError

log = logging.getLogger("paperwire.security")

SECRET_FILE = "secret_key"
SALT_PREFIX = "paperwire."
CSRF_COOKIE = "pw_csrf"
CSRF_MAX_AGE = 4 * 3600  # a form left open for longer asks to be reloaded

_keys: dict[str, str] = {}
_keys_lock = threading.Lock()


class BadToken(ValueError):
    """A token that is malformed, forged, for another purpose, or too old (``expired``)."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def secret_key(settings) -> str:
    """The key that signs every token: settings.secret_key, else the one in data_dir/secret_key
    (created on first use, readable by its owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    with _keys_lock:
        key = _keys.get(str(path))
        if not key:
            key = _keys[str(path)] = _load_or_create(path)
        return key


def _load_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise SecretKeyError(
                f"{path} is empty; delete it (every emailed link stops working) or set PAPERWIRE_SECRET_KEY"
            ) from None
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; chmod 600 it", path)
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def _serializer(settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt=SALT_PREFIX + purpose)


def sign(settings, purpose: str, payload: Any) -> str:
    """A URL-safe token holding ``payload`` (JSON-able), signed for ``purpose`` and timestamped."""
    return _serializer(settings, purpose).dumps(payload)


def unsign(settings, purpose: str, token: str | None, max_age: float) -> Any:
    """The payload of a token made by ``sign`` for the same purpose at most max_age seconds ago;
    raises BadToken otherwise."""
    if not token or not isinstance(token, str) or len(token) > 2000:
        raise BadToken("missing or malformed token")
    try:
        return _serializer(settings, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadToken("the link has expired", expired=True) from None
    except BadSignature:
        raise BadToken("the link is not valid") from None


# -- CSRF ---------------------------------------------------------------------------------


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(settings, cookie_value: str) -> str:
    """The token a form carries for the browser holding ``cookie_value`` in its CSRF cookie."""
    return sign(settings, "csrf", cookie_value)


def check_csrf(settings, cookie_value: str | None, token: str | None, max_age: float = CSRF_MAX_AGE) -> bool:
    if not cookie_value or not token:
        return False
    try:
        value = unsign(settings, "csrf", token, max_age)
    except BadToken:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, cookie_value)


__all__ = ["BadToken", "CSRF_COOKIE", "check_csrf", "csrf_token", "new_csrf_cookie", "secret_key", "sign", "unsign"]
