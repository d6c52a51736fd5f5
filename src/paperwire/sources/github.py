"""The GitHub client: repository star counts, checked politely (trending/stars.py records them over
time, for "stars gained").

One ``GET /repos/{owner}/{repo}`` per repository, as GitHub's REST API guide asks:

* conditional requests: the stored ``ETag`` goes out as ``If-None-Match``; a ``304 Not Modified``
  means the count is unchanged and (sent with a token) costs nothing of the rate limit;
* primary rate limit (60 requests an hour without a token, 5,000 with ``PAPERWIRE_GITHUB_TOKEN``):
  when ``X-RateLimit-Remaining`` reaches 0 the client waits until ``X-RateLimit-Reset`` (epoch
  seconds), but never longer than ``max_wait``: beyond that the batch stops with a message saying
  when to run again;
* secondary rate limits (403/429): ``Retry-After`` is honoured; without it the client waits at
  least a minute, doubling on each further refusal;
* 404/410/451 mean the repository is gone or unavailable: recorded as such, not an error;
* 5xx, time-outs and cut connections are retried with exponential backoff.

Repositories are named ``owner/name`` in lower case (GitHub's names are case-insensitive), so
the same repository linked from two papers in different spellings is counted once.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from ..config import Settings
from ..models import STATUS_GONE, STATUS_OK, STATUS_UNAVAILABLE
from .http import HarvestError, HttpError, fetch, parse_retry_after, user_agent

log = logging.getLogger(__name__)

DEFAULT_MAX_WAIT = 900.0  # longest single wait (rate limit, Retry-After, backoff), seconds
SECONDARY_BACKOFF = 60.0  # first wait after a 403/429 that says nothing about how long
GONE_STATUSES = {404: STATUS_GONE, 410: STATUS_GONE, 451: STATUS_UNAVAILABLE}
REPO_BODY_BYTES = 1 << 20  # the most of one repository's answer read (it is a few kB)

_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_HOSTS = {"github.com", "www.github.com"}
# first path segments of github.com pages that are not owners
_NOT_OWNERS = {
    "about",
    "apps",
    "collections",
    "contact",
    "customer-stories",
    "enterprise",
    "events",
    "explore",
    "features",
    "login",
    "marketplace",
    "new",
    "notifications",
    "orgs",
    "organizations",
    "pricing",
    "pulls",
    "issues",
    "search",
    "settings",
    "site",
    "sponsors",
    "topics",
    "trending",
    "users",
}


class InvalidRepo(ValueError):
    """Not a GitHub repository URL nor ``owner/name``."""


class GitHubRateLimited(HarvestError):
    """GitHub's rate limit asks for a longer wait than this run accepts: the batch stopped.
    ``retry_at`` is when to run again (epoch seconds); ``counts`` what the batch did before."""

    def __init__(self, message: str, *, retry_at: float):
        super().__init__(message)
        self.retry_at = retry_at
        self.counts: dict[str, int] = {}


class GitHubAuthError(HarvestError):
    """401: the token is wrong or expired (every further request would fail the same way)."""


def parse_repo(url_or_slug: str) -> str:
    """'owner/name' (lower case) from a GitHub repository URL or an 'owner/name' slug.

    Accepts https://github.com/owner/name (http, www, no scheme), a '.git' suffix, trailing paths
    (/tree/main/src, /issues/3), query and fragment, git@github.com:owner/name.git and owner/name.
    Raises InvalidRepo for anything else (another host, an owner alone, a github.com page that is
    not a repository, characters GitHub does not allow).
    """
    if not isinstance(url_or_slug, str) or not url_or_slug.strip():
        raise InvalidRepo("empty repository: expected https://github.com/owner/name or owner/name")
    raw = url_or_slug.strip()
    shown = raw[:200]
    if raw.startswith("git@"):
        host, _, path = raw[4:].partition(":")
        parts = [p for p in path.split("/") if p]
    elif "://" in raw or raw.lower().startswith(("github.com/", "www.github.com/")):
        split = urlsplit(raw if "://" in raw else "https://" + raw)
        host = (split.hostname or "").lower()
        if split.scheme.lower() not in ("http", "https", "git", "ssh"):
            raise InvalidRepo(f"{shown!r}: not a GitHub repository URL (scheme {split.scheme!r})")
        parts = [p for p in split.path.split("/") if p]
    else:
        host = "github.com"
        parts = raw.split("/")
        if len(parts) != 2:
            raise InvalidRepo(f"{shown!r}: expected https://github.com/owner/name or owner/name")
    if host.lower() not in _HOSTS:
        raise InvalidRepo(f"{shown!r}: not a github.com repository (host {host!r})")
    if len(parts) < 2:
        raise InvalidRepo(f"{shown!r}: names no repository (expected github.com/owner/name)")
    owner, name = parts[0], parts[1]
    if name.lower().endswith(".git"):
        name = name[:-4]
    if owner.lower() in _NOT_OWNERS:
        raise InvalidRepo(f"{shown!r}: a github.com page ({owner}/...), not a repository")
    if not _OWNER.match(owner):
        raise InvalidRepo(f"{shown!r}: {owner!r} is not a valid GitHub user or organisation name")
    if not _NAME.match(name) or name in (".", ".."):
        raise InvalidRepo(f"{shown!r}: {name!r} is not a valid GitHub repository name")
    return f"{owner}/{name}".lower()


@dataclass(frozen=True)
class StarResult:
    repo: str  # 'owner/name' as asked (lower case)
    stars: int | None  # None: not modified (304) or gone
    etag: str | None  # for the next conditional request
    not_modified: bool  # 304: the count is the one stored
    status: int  # the HTTP status of the final answer
    full_name: str | None = None  # GitHub's spelling (differs after a rename that redirected)

    @property
    def state(self) -> str:
        """What the store records: 'ok', 'gone' or 'unavailable'."""
        if self.status == 403:  # a refusal that is no rate limit ("Repository access blocked")
            return STATUS_UNAVAILABLE
        return GONE_STATUSES.get(self.status, STATUS_OK)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


class GitHubClient:
    """One client per batch. ``token``: a GitHub token (default: ``settings.github_token``).

    ``max_wait``: the longest single wait accepted (rate limit reset, Retry-After, backoff);
    a longer one stops the batch (GitHubRateLimited). ``secondary_backoff``: the first wait after a
    403/429 that gives no Retry-After and no exhausted limit (GitHub asks for >= 60 s); it doubles
    each time. ``backoff``: the first wait after a 5xx or a time-out. ``reset_margin``: seconds
    added to a rate-limit reset time for clock differences. Tests make all of these tiny.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None = None,
        max_wait: float | None = None,
        secondary_backoff: float | None = None,
        backoff: float | None = None,
        reset_margin: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ):
        extra = settings.extra
        self.api_url = settings.github_api_url.rstrip("/")
        self.token = token if token is not None else settings.github_token
        self.retries = max(0, int(settings.http_retries))
        self.timeout = float(settings.http_timeout)
        self.max_wait = float(max_wait if max_wait is not None else extra.get("github_max_wait", DEFAULT_MAX_WAIT))
        self.secondary_backoff = float(
            secondary_backoff
            if secondary_backoff is not None
            else extra.get("github_secondary_backoff", SECONDARY_BACKOFF)
        )
        self.backoff = float(backoff if backoff is not None else extra.get("http_backoff", 1.0))
        self.reset_margin = float(reset_margin)
        headers = {
            "User-Agent": user_agent().split(" (", 1)[0] + " (self-hosted research-paper search; star counts)",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Accept-Encoding": "gzip",  # what http.read_capped decompresses a bounded piece at a time
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout), follow_redirects=True, transport=transport, headers=headers
        )
        self.rate_remaining: int | None = None  # from the latest response
        self.rate_reset: float | None = None  # epoch seconds
        self.requests = 0
        self.waits: list[tuple[str, float]] = []  # (why, seconds) for every wait

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- waiting -----------------------------------------------------------------------
    def _limit_message(self, wait: float, retry_at: float, why: str) -> str:
        if self.token:
            hint = "The token's limit is 5,000 requests an hour; conditional requests answered 304 do not count."
        else:
            hint = (
                "Without a token GitHub allows 60 requests an hour: set PAPERWIRE_GITHUB_TOKEN "
                "(any GitHub token, no scopes needed) to raise the limit to 5,000."
            )
        return (
            f"GitHub rate limit: {why}; that is {wait:.0f} s from now, longer than the {self.max_wait:g} s "
            f"this run waits. Star counts checked so far are saved; run again after {_iso(retry_at)}. {hint}"
        )

    def _sleep(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait:
            retry_at = time.time() + seconds
            raise GitHubRateLimited(self._limit_message(seconds, retry_at, why), retry_at=retry_at)
        if seconds > 0:
            self.waits.append((why, seconds))
            time.sleep(seconds)

    def _wait_for_primary_limit(self) -> None:
        """Before a request: if the latest answer said no requests are left, wait for the reset."""
        if self.rate_remaining == 0 and self.rate_reset is not None:
            wait = self.rate_reset - time.time()
            if wait > -self.reset_margin:  # not obviously past (the reset may be a second late)
                wait = max(0.0, wait) + self.reset_margin
                if wait > self.max_wait:
                    retry_at = self.rate_reset + self.reset_margin
                    raise GitHubRateLimited(
                        self._limit_message(
                            wait, retry_at, f"no requests left until the reset at {_iso(self.rate_reset)}"
                        ),
                        retry_at=retry_at,
                    )
                self._sleep(wait, f"X-RateLimit-Remaining: 0, reset at {_iso(self.rate_reset)}")
            self.rate_remaining = None

    def _note_rate(self, response: httpx.Response) -> None:
        remaining = _int_header(response, "X-RateLimit-Remaining")
        reset = _int_header(response, "X-RateLimit-Reset")
        if remaining is not None:
            self.rate_remaining = remaining
            self.rate_reset = float(reset) if reset is not None else None

    def _backoff(self, base: float, n: int) -> float:
        return base * (2 ** (n - 1)) * (1 + random.uniform(0, 0.25))

    # -- one repository ------------------------------------------------------------------
    def fetch_stars(self, repo: str, etag: str | None = None) -> StarResult:
        """The star count of one repository (``repo``: a URL or owner/name). With ``etag`` the
        request is conditional: an unchanged repository answers 304 (``not_modified``, stars
        None). Raises GitHubRateLimited when the limit asks for a wait beyond ``max_wait``,
        GitHubAuthError for a rejected token, HttpError when retries are exhausted."""
        repo = parse_repo(repo)
        url = f"{self.api_url}/repos/{repo}"
        headers = {"If-None-Match": etag} if etag else {}
        failures = 0  # 5xx, time-outs, broken answers
        limited = 0  # secondary rate-limit refusals
        problem = ""
        while True:
            self._wait_for_primary_limit()
            try:
                try:
                    response = fetch(self._client, url, headers=headers, limit=REPO_BODY_BYTES)
                finally:
                    self.requests += 1
            except httpx.TimeoutException:
                problem = f"no complete answer within {self.timeout:g} s"
                response = None
            except httpx.TransportError as e:
                problem = f"connection failed or was cut ({type(e).__name__}: {e})"
                response = None
            except httpx.DecodingError as e:
                problem = str(e)
                response = None
            if response is not None:
                self._note_rate(response)
                status = response.status_code
                if status == 200:
                    try:
                        data = response.json()
                        stars = int(data["stargazers_count"])
                    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                        problem = "HTTP 200 without a readable stargazers_count"
                    else:
                        return StarResult(
                            repo,
                            stars,
                            response.headers.get("ETag"),
                            False,
                            200,
                            data.get("full_name") if isinstance(data, dict) else None,
                        )
                elif status == 304:
                    return StarResult(repo, None, response.headers.get("ETag") or etag, True, 304)
                elif status in GONE_STATUSES:
                    return StarResult(repo, None, None, False, status)
                elif status == 401:
                    raise GitHubAuthError(
                        f"{url}: HTTP 401: GitHub rejected the token (PAPERWIRE_GITHUB_TOKEN): it is wrong, "
                        "expired or revoked. Make a new one, or unset the variable to go without (60 requests an hour)."
                    )
                elif status in (403, 429):
                    message = _message(response)
                    if (
                        status == 403
                        and message
                        and "rate limit" not in message.lower()
                        and response.headers.get("Retry-After") is None
                        and self.rate_remaining != 0
                    ):
                        # a plain refusal ("Repository access blocked"), not a limit: not retried
                        return StarResult(repo, None, None, False, status)
                    limited += 1
                    if limited > self.retries + 1:
                        retry_at = time.time() + self._backoff(self.secondary_backoff, limited)
                        raise GitHubRateLimited(
                            f"GitHub keeps refusing requests (HTTP {status}: {message or 'rate limit'}; "
                            f"{limited} times in a row). Star counts checked so far are saved; run again "
                            f"after {_iso(retry_at)}.",
                            retry_at=retry_at,
                        )
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if retry_after is not None:
                        self._sleep(retry_after, f"HTTP {status}, Retry-After {response.headers['Retry-After']}")
                    elif (
                        self.rate_remaining == 0
                        and self.rate_reset is not None
                        and self.rate_reset + self.reset_margin > time.time()
                    ):
                        pass  # the primary limit: _wait_for_primary_limit waits for the reset
                    else:
                        self._sleep(
                            self._backoff(self.secondary_backoff, limited),
                            f"HTTP {status} without Retry-After (secondary rate limit)",
                        )
                    continue
                elif status >= 500:
                    problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                else:
                    raise HttpError(
                        url,
                        f"{url}: HTTP {status} {response.reason_phrase}: not retried.",
                        status=status,
                        body=response.content,
                    )
            failures += 1
            if failures > self.retries:
                raise HttpError(
                    url,
                    f"{url}: {problem} (gave up after {failures} attempts). GitHub is slow or "
                    "failing; run again later (raise PAPERWIRE_HTTP_TIMEOUT if it is slow).",
                )
            wait = min(self._backoff(self.backoff, failures), self.max_wait)
            self._sleep(wait, problem)


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return ""
    return str(data.get("message") or "") if isinstance(data, dict) else ""
