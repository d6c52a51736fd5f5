"""Validation and normalisation of everything a subscriber sends: address, preferences, queries.

Every function raises ``InvalidInput`` with a message per field; nothing is stored before all of
a request is valid.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from ..search.match import DEFAULT_STRICTNESS, STRICTNESS

MAX_EMAIL = 254
MAX_LOCAL = 64
MAX_QUERY = 500
MAX_SAVED_SEARCHES = 50
MAX_CATEGORIES = 30
MAX_FIELD = 2000  # any other single field

FREQUENCIES = ("daily", "weekly")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_LOCAL_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")
# arXiv categories: cs.CL, math.AG, astro-ph.GA, q-bio.NC, stat.ML, and archives without a dot: hep-th
_CATEGORY = re.compile(r"^(?=[a-z-]{2,}(?:\.|$))[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2,}(?:-[A-Za-z]+)?)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidInput(ValueError):
    """One or more fields are invalid: ``errors`` maps field name -> a message for people."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def one_line(name: str, value: Any, limit: int = MAX_FIELD) -> str:
    """A field's text: no line breaks or other control characters (header injection), bounded."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput({name: "must be text"})
    if "\r" in value or "\n" in value:
        raise InvalidInput({name: "must be one line (line breaks are not allowed)"})
    if _CONTROL.search(value):
        raise InvalidInput({name: "contains control characters"})
    if len(value) > limit:
        raise InvalidInput({name: f"is too long ({len(value)} characters; at most {limit})"})
    return value


def normalise_email(value: Any) -> str:
    """A deliverable-looking address, the domain lower-cased (IDNA-encoded), else InvalidInput."""
    text = one_line("email", value, limit=MAX_EMAIL + 64).strip()
    if not text:
        raise InvalidInput({"email": "enter your email address"})
    if len(text) > MAX_EMAIL:
        raise InvalidInput({"email": f"is too long ({len(text)} characters; at most {MAX_EMAIL})"})
    if text.count("@") != 1:
        raise InvalidInput({"email": "is not an email address like name@example.org"})
    local, domain = text.split("@")
    if not local or not domain:
        raise InvalidInput({"email": "is not an email address like name@example.org"})
    if len(local) > MAX_LOCAL:
        raise InvalidInput({"email": f"the part before @ is too long (at most {MAX_LOCAL} characters)"})
    if not _LOCAL_ATOM.match(local):
        raise InvalidInput({"email": "the part before @ holds characters we cannot send to"})
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower() if not domain.isascii() else domain.lower()
    except UnicodeError:
        raise InvalidInput({"email": "the domain is not valid"}) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        raise InvalidInput({"email": "the domain is not valid (like example.org)"})
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL:
        raise InvalidInput({"email": f"is too long (at most {MAX_EMAIL} characters)"})
    return address


def rate_key(email: str) -> str:
    """The rate-limit identity of an address: case-insensitive, so 'A@x.org' and 'a@x.org' count
    together."""
    return email.lower()


def normalise_query(value: Any) -> str:
    """A saved-search query: one line, at most MAX_QUERY characters, spaces collapsed."""
    text = one_line("query", value, limit=MAX_FIELD * 8)
    text = " ".join(text.split())
    if not text:
        raise InvalidInput({"query": "enter a search query"})
    if len(text) > MAX_QUERY:
        raise InvalidInput({"query": f"is too long ({len(text)} characters; at most {MAX_QUERY})"})
    return text


def parse_strictness(value: Any) -> str:
    """A saved search's strictness: broad, normal or strict (None or empty: normal)."""
    if value is None:
        return DEFAULT_STRICTNESS
    text = one_line("strictness", value, limit=20).strip().lower()
    if not text:
        return DEFAULT_STRICTNESS
    if text not in STRICTNESS:
        raise InvalidInput({"strictness": "must be broad, normal or strict"})
    return text


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _int_in(name: str, value: Any, lo: int, hi: int, message: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput({name: message})
    if isinstance(value, str):
        one_line(name, value, limit=10)
        value = value.strip()
        if not re.fullmatch(r"-?\d{1,3}", value):
            raise InvalidInput({name: message})
    if not isinstance(value, (int, str)):
        raise InvalidInput({name: message})
    n = int(value)
    if not lo <= n <= hi:
        raise InvalidInput({name: message})
    return n


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = one_line(name, value, limit=10).strip().lower()
        if v in ("1", "true", "on", "yes"):
            return True
        if v in ("0", "false", "off", "no", ""):
            return False
    if isinstance(value, int):
        return bool(value)
    raise InvalidInput({name: "must be on or off"})


def parse_categories(value: Any) -> list[str]:
    """A list (API) or a comma/space separated string (form) of arXiv categories like cs.CL."""
    if value is None:
        return []
    if isinstance(value, str):
        items = one_line("categories", value).replace(",", " ").split()
    elif isinstance(value, (list, tuple)):
        items = []
        for v in value:
            items.extend(one_line("categories", v, limit=40).replace(",", " ").split())
    else:
        raise InvalidInput({"categories": "must be a list of arXiv categories like cs.CL"})
    out: list[str] = []
    for item in items:
        if len(item) > 40 or not _CATEGORY.match(item):
            raise InvalidInput({"categories": f"{item[:40]!r} is not an arXiv category like cs.CL or hep-th"})
        if item not in out:
            out.append(item)
    if len(out) > MAX_CATEGORIES:
        raise InvalidInput({"categories": f"at most {MAX_CATEGORIES} categories"})
    return out


def is_category(value: str) -> bool:
    """An arXiv category (cs.CL, hep-th) or archive (cs), as saved searches accept them."""
    return len(value) <= 40 and bool(_CATEGORY.match(value))


@dataclass
class Preferences:
    frequency: str = "daily"
    send_hour: int = 7
    send_weekday: int = 0
    timezone: str = "UTC"
    trending: bool = True
    categories: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def parse_preferences(
    data: Mapping[str, Any], *, base: Preferences | None = None, checkbox_trending: bool = False
) -> Preferences:
    """Preferences from a form or JSON body; fields left out keep ``base``'s values (defaults
    when None). ``checkbox_trending``: an HTML form leaves an unchecked box out, meaning off."""
    p = Preferences(**(base.as_dict() if base else {}))
    errors: dict[str, str] = {}

    def attempt(name, fn):
        if name in data and data[name] is not None:
            try:
                setattr(p, name, fn(data[name]))
            except InvalidInput as e:
                errors.update(e.errors)

    def frequency(v):
        v = one_line("frequency", v, limit=20).strip().lower()
        if v not in FREQUENCIES:
            raise InvalidInput({"frequency": "must be daily or weekly"})
        return v

    def tz(v):
        v = one_line("timezone", v, limit=64).strip()
        if v not in time_zones():
            raise InvalidInput({"timezone": f"{v[:64]!r} is not a time zone name like Europe/Berlin or UTC"})
        return v

    attempt("frequency", frequency)
    attempt("send_hour", lambda v: _int_in("send_hour", v, 0, 23, "must be an hour from 0 to 23"))
    attempt(
        "send_weekday", lambda v: _int_in("send_weekday", v, 0, 6, "must be a weekday from 0 (Monday) to 6 (Sunday)")
    )
    attempt("timezone", tz)
    if checkbox_trending:
        try:
            p.trending = _bool("trending", data.get("trending") or "")
        except InvalidInput as e:
            errors.update(e.errors)
    else:
        attempt("trending", lambda v: _bool("trending", v))
    attempt("categories", parse_categories)
    if errors:
        raise InvalidInput(errors)
    return p
