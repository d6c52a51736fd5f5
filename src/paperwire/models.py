"""The paper record and the rules every source must satisfy before anything is stored."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

# Limits on what one record may hold. A record over a limit is reported and skipped whole:
# truncating would store a paper that is not what the source said.
MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_AUTHORS = 5_000
MAX_FIELD_CHARS = 5_000
MAX_ID_CHARS = 200
# How far ahead of today (UTC) a listing, submission or update date may lie. arXiv lists papers
# at most a day ahead of UTC and sources round times to days; anything further is a wrong date,
# and a single one would otherwise become the latest day and take over the home page.
MAX_FUTURE_DAYS = 3

# \A...\Z, not ^...$: '$' also matches before a trailing newline
ISO_DAY = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
ISO_DAY_TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}[T ]")

# arXiv identifiers: new style (0704.0001, 2503.11731) and old style (hep-ph/0601001, math.AG/0101001).
NEW_ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
OLD_ARXIV_ID = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")
# Ids of papers from other sources: "source:local-id", printable, no spaces or slashes at the ends.
OTHER_ID = re.compile(r"^[a-z][a-z0-9_\-]*:[A-Za-z0-9][A-Za-z0-9._:/\-]*$")
BAD_CHARS = re.compile("[\x00\ufffd\ud800-\udfff]")  # NUL, undecodable bytes, lone surrogates
ARXIV_URL_PREFIX = re.compile(r"^(?:https?://)?(?:export\.)?arxiv\.org/(?:abs|pdf)/", re.I)


class RecordError(ValueError):
    """A record that cannot be stored; the message says why, for the ingest report."""


_HOST = re.compile(
    r"\A(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?\Z"
)


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL that parses: a host name (an IDN in its ASCII
    form) or an IP literal, a valid port, no spaces or control characters. Starting with
    'https://' is not enough: 'https://' alone, 'https://exa mple.org' or 'https://[::1' would
    be stored and linked as they are."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    if parts.netloc.rsplit("@", 1)[-1].startswith("["):
        return True  # an IPv6 literal: urlsplit checked it
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_HOST.match(ascii_host))


def split_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """'2503.11731v2' -> ('2503.11731', 2); 'arXiv:hep-th/9901001' -> ('hep-th/9901001', None)."""
    s = ARXIV_URL_PREFIX.sub("", raw.strip())
    if s.lower().startswith("arxiv:"):
        s = s[6:]
    s = s.removesuffix(".pdf")
    for pattern in (NEW_ARXIV_ID, OLD_ARXIV_ID):
        m = pattern.match(s)
        if m:
            return m.group(1), int(m.group(2)) if m.group(2) else None
    return None


def normalize_id(raw: str, default_prefix: str | None = None) -> tuple[str, int | None]:
    """Return (stable id, version) for a raw id, or raise RecordError.

    arXiv ids lose their version; anything else must look like ``source:local-id``, or gets
    ``default_prefix:`` put in front when the source names one.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise RecordError("invalid id: empty")
    raw = raw.strip()
    if len(raw) > MAX_ID_CHARS:
        raise RecordError(f"invalid id: longer than {MAX_ID_CHARS} characters")
    arxiv = split_arxiv_id(raw)
    if arxiv:
        return arxiv
    candidate = raw if ":" in raw or default_prefix is None else f"{default_prefix}:{raw}"
    if OTHER_ID.match(candidate) and not candidate.lower().startswith("arxiv:"):
        return candidate, None
    raise RecordError(f"invalid id {raw[:80]!r}: not an arXiv id (2503.11731, hep-th/9901001) nor source:local-id")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar_day(value, what: str = "date") -> str:
    """'YYYY-MM-DD' of a real calendar day (surrounding whitespace removed), else RecordError."""
    s = value.strip() if isinstance(value, str) else None
    if s is None or not ISO_DAY.match(s):
        raise RecordError(f"invalid {what} {str(value)[:40]!r}: not a date written YYYY-MM-DD")
    try:
        date.fromisoformat(s)
    except ValueError:
        raise RecordError(f"invalid {what} {s!r}: no such day") from None
    return s


def iso_datetime(value: str | datetime | date | None) -> str | None:
    """Normalise the date formats sources use to ISO 8601 in UTC ('2007-04-02T19:18:42Z'); a date
    that is not a real calendar date and time raises RecordError."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=UTC)
            # isoformat, not strftime: %Y does not pad years before 1000 to four digits
            return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        if isinstance(value, date):
            return value.isoformat() + "T00:00:00Z"
        s = str(value).strip()
        if ISO_DAY.match(s):
            return calendar_day(s) + "T00:00:00Z"
        if ISO_DAY_TIME.match(s):
            return iso_datetime(datetime.fromisoformat(s.replace("Z", "+00:00")))
        return iso_datetime(parsedate_to_datetime(s))  # RFC 2822: 'Mon, 2 Apr 2007 19:18:42 GMT'
    except (ValueError, TypeError, IndexError, OverflowError):  # OverflowError: out of range in UTC
        raise RecordError(f"invalid date {str(value).strip()[:40]!r}") from None


def not_in_future(iso: str | None, what: str, *, now: datetime | None = None) -> str | None:
    """``iso`` (a date or ISO time) unless its day is more than MAX_FUTURE_DAYS after today (UTC)."""
    if iso is None:
        return None
    limit = ((now or datetime.now(UTC)) + timedelta(days=MAX_FUTURE_DAYS)).date().isoformat()
    if iso[:10] > limit:
        raise RecordError(f"{what} {iso[:10]} is in the future: more than {MAX_FUTURE_DAYS} days after today")
    return iso


def _clean_text(value, field_name: str, limit: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise RecordError(f"missing {field_name}")
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field_name} must be a string, got {type(value).__name__}")
    if BAD_CHARS.search(value):
        raise RecordError(f"{field_name} holds invalid characters (NUL, undecodable bytes or lone surrogates)")
    text = " ".join(value.split())
    if required and not text:
        raise RecordError(f"missing {field_name}")
    if len(text) > limit:
        raise RecordError(f"{field_name} too long: {len(text):,} characters, the limit is {limit:,}")
    return text or None


@dataclass
class Paper:
    id: str
    title: str
    abstract: str = ""
    version: int | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    submitted: str | None = None  # first version, ISO 8601 UTC
    updated: str | None = None  # latest version, ISO 8601 UTC
    announced: str | None = None  # the day the paper is listed under, YYYY-MM-DD
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    source: str = "unknown"

    @property
    def is_arxiv(self) -> bool:
        return split_arxiv_id(self.id) is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Paper:
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in d.items() if k in names})

    def content_hash(self) -> str:
        body = {k: v for k, v in self.to_dict().items() if k != "source"}
        return hashlib.sha1(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def text_hash(self) -> str:
        return hashlib.sha1((self.title + "\n" + self.abstract).encode()).hexdigest()

    @property
    def day(self) -> str | None:
        return self.announced or (self.submitted or "")[:10] or None


def validated(p: Paper, *, now: datetime | None = None) -> Paper:
    """Check and normalise a paper built by a source; raise RecordError with the reason. ``now``
    (default: the clock) is what "in the future" is measured from."""
    p.title = _clean_text(p.title, "title", MAX_TITLE_CHARS, required=True)
    p.abstract = _clean_text(p.abstract, "abstract", MAX_ABSTRACT_CHARS) or ""
    for name in ("doi", "journal_ref", "comments", "abs_url", "pdf_url", "code_url", "primary_category"):
        setattr(p, name, _clean_text(getattr(p, name), name, MAX_FIELD_CHARS))
    if not isinstance(p.authors, list) or not all(isinstance(a, str) for a in p.authors):
        raise RecordError("authors must be a list of names")
    if len(p.authors) > MAX_AUTHORS:
        raise RecordError(f"too many authors: {len(p.authors):,}, the limit is {MAX_AUTHORS:,}")
    p.authors = [a for a in (_clean_text(a, "author", MAX_FIELD_CHARS) for a in p.authors) if a]
    if not isinstance(p.categories, list) or not all(isinstance(c, str) for c in p.categories):
        raise RecordError("categories must be a list of strings")
    p.categories = list(dict.fromkeys(c for c in (_clean_text(c, "category", MAX_ID_CHARS) for c in p.categories) if c))
    if p.primary_category and p.primary_category not in p.categories:
        p.categories.insert(0, p.primary_category)
    if not p.primary_category and p.categories:
        p.primary_category = p.categories[0]
    p.submitted = not_in_future(iso_datetime(p.submitted), "submitted date", now=now)
    p.updated = not_in_future(iso_datetime(p.updated), "updated date", now=now) or p.submitted
    if p.announced not in (None, ""):
        p.announced = not_in_future(calendar_day(p.announced, "listing date"), "listing date", now=now)
    else:
        p.announced = None
    for name in ("abs_url", "pdf_url", "code_url"):
        url = getattr(p, name)
        if url and not is_http_url(url):
            raise RecordError(f"{name} must be an http(s) URL, not {url[:80]!r}")
    if p.version is not None and (not isinstance(p.version, int) or p.version < 1):
        raise RecordError(f"invalid version {p.version!r}")
    if p.is_arxiv:
        p.abs_url = p.abs_url or f"https://arxiv.org/abs/{p.id}"
        p.pdf_url = p.pdf_url or f"https://arxiv.org/pdf/{p.id}"
    return p


# -- GitHub star counts ---------------------------------------------------------------------
# A time series: every check of a repository adds a point (repo, observed_at, stars), a "304 not
# modified" one included, so the stars gained over a window are computable; ``repos`` holds the
# latest state of each (storage/stars.py). Times are ISO 8601 UTC text ('2026-11-25T14:00:00Z').
STATUS_OK = "ok"
STATUS_GONE = "gone"  # 404 / 410: deleted, renamed away without a redirect, or private
STATUS_UNAVAILABLE = "unavailable"  # 451 (legal takedown) or 403 "access blocked"


@dataclass(frozen=True)
class RepoState:
    repo: str  # 'owner/name', lower case
    etag: str | None  # for If-None-Match on the next check
    stars: int | None  # the latest count; None once the repository is gone
    status: str  # STATUS_OK | STATUS_GONE | STATUS_UNAVAILABLE
    checked_at: str  # the latest observation


# -- the job queue (storage/jobs.py, paperwire/jobs) ------------------------------------------
JOB_STATUSES = ("queued", "running", "done", "failed")


@dataclass
class Job:
    id: int
    kind: str
    key: str | None
    payload: dict = field(default_factory=dict)
    status: str = "queued"
    attempts: int = 0  # claims so far, this one included once claimed
    max_attempts: int = 5
    run_at: float = 0.0
    lease_until: float | None = None
    worker: str | None = None
    last_error: str | None = None
    result: dict | None = None
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
